//! Checks `mmap/shared_counter`: two processes incrementing one counter in an anonymous
//! shared mapping lose no update with your `increment`. The demo binary forks; the test
//! harness never does.

mod common;

use common::{verdict, wrap};
use proctest::{Demo, Finished};

fn run(args: &[&str]) -> Finished {
    Demo::new(env!("CARGO_BIN_EXE_shared_counter"))
        .args(args)
        .run()
        .unwrap_or_else(|hang| {
            panic!(
                "{}",
                proctest::verdict(
                    &hang,
                    "The parent and the child should each finish their loop in well under a \
                     second; they are stuck. `increment` must return at once: it adds 1, it \
                     never waits for the other process. Stuck."
                )
            )
        })
}

/// The total printed by the demo on its `counter = N, expected M` line.
fn total(run: &Finished) -> Result<u64, String> {
    run.stdout
        .lines()
        .find_map(|line| line.strip_prefix("counter = "))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            format!(
                "the demo printed no `counter = N` line (did `increment` panic?):\n{}\n{}",
                run.stdout, run.stderr
            )
        })
}

/// A count per process too small for the two processes to overlap much: an increment
/// lost there is not a race.
const SMALL: u64 = 16;

/// Checks one run of the demo with `iterations` increments per process: it ran to the end,
/// the total is exact, and nothing leaked. The message names what went wrong.
fn check_run(run: &Finished, iterations: u64) -> Result<(), String> {
    if run.code() != Some(0) {
        return Err(format!(
            "the demo failed (exit {:?}, signal {:?}):\n{}{}",
            run.code(),
            run.signal(),
            run.stdout,
            run.stderr
        ));
    }
    let total = total(run)?;
    let expected = 2 * iterations;
    if total < expected && (total == 0 || iterations <= SMALL) {
        return Err(format!(
            "the counter ends at {total}, not {expected}: {} of the increments never reached \
             it. With {iterations} increment{} per process the two hardly overlap, so this is \
             not two processes racing: each call of `increment` must add 1 to the counter in \
             the shared mapping at once, not to a copy in the process or to a batch kept for \
             later, which the other process never sees. Increments that never arrive.",
            expected - total,
            if iterations == 1 { "" } else { "s" }
        ));
    }
    if total < expected {
        return Err(format!(
            "the counter ends at {total}, not {expected}: {} increments were lost. An \
             increment made of two steps lets the other process in between: a `load` then a \
             `store` (or a `swap(load() + 1)`), and both write value + 1; a compare_exchange \
             whose failure is not retried drops that increment; and a Mutex in the program's \
             own memory is copied at fork, so each process locks its own copy and excludes \
             nobody. It needs one indivisible read-modify-write on the shared counter \
             (fetch_add, or a compare_exchange retried until it succeeds). Lost updates.",
            expected - total
        ));
    }
    if total > expected {
        return Err(format!(
            "the counter ends at {total}, not {expected}: two processes calling `increment` \
             {iterations} times each added {} too many. Each call adds exactly 1. Too many \
             increments.",
            total - expected
        ));
    }
    if !run.leftovers.is_empty() {
        return Err(run.describe_leftovers());
    }
    if !run
        .stdout
        .ends_with("no child left behind, no descriptor or mapping leaked\n")
    {
        return Err(format!("the demo found a leak:\n{}", run.stdout));
    }
    Ok(())
}

#[test]
fn two_processes_adding_a_million_each_lose_no_update() {
    // Twice: a lost update is likely on each run of a racy increment, not certain.
    for _ in 0..2 {
        verdict(check_run(&run(&["1000000"]), 1_000_000));
    }
}

#[test]
fn small_and_odd_counts_are_exact_too() {
    // Every call adds at once: a count that is not a round number (1, 12, 100003) ends
    // exact, so increments saved up in the process and added in batches do not.
    for n in [1_u64, 12, 100_003] {
        verdict(check_run(&run(&[&n.to_string()]), n));
    }
}

#[test]
fn the_check_fails_the_racy_load_then_store() {
    // The oracle: the demo's deliberately racy increment (the starter's load then store)
    // loses updates, and the check says so. A race is likely, not certain, on one run: three
    // runs make a miss vanishingly rare.
    let mut messages = Vec::new();
    for _ in 0..3 {
        let run = run(&["--racy", "1000000"]);
        let total = total(&run).unwrap_or_else(|message| panic!("{}", wrap(&message)));
        assert!(
            total <= 2_000_000,
            "two processes adding 1000000 each cannot reach {total}"
        );
        match check_run(&run, 1_000_000) {
            Err(message) => {
                messages.push(message);
                break;
            }
            Ok(()) => messages.push(String::new()),
        }
    }
    let message = messages.last().expect("at least one run");
    assert!(
        message.contains("increments were lost") && message.contains("Lost updates."),
        "three runs of the racy increment lost no update, or the message does not say so: \
         {messages:?}"
    );
}

#[test]
fn bad_arguments_are_usage_errors_and_fork_nothing() {
    for bad in ["abc", "-3", "0", "100000001", "1.5"] {
        run(&[bad]).assert_usage_error(
            &format!("`shared_counter {bad}`"),
            &[&format!("invalid argument `{bad}`"), "from 1 to 100000000"],
        );
    }
    let run_two_numbers = run(&["5", "6"]);
    run_two_numbers.assert_usage_error(
        "two counts, `shared_counter 5 6`",
        &["invalid argument `6`"],
    );
    insta::assert_snapshot!("shared_counter_usage", run_two_numbers.stderr);
}

#[test]
fn increment_calls_only_what_a_forked_child_may_call() {
    // The child of count_together calls `increment` between fork and _exit.
    let source = proctest::source::Source::read(proctest::step_file!("11_mmap/shared_counter.rs"))
        .unwrap_or_else(|err| panic!("{err}"))
        .helpers("crate::child", &["Line", "write_all", "exit"]);
    proctest::source::assert_none(&source.runs_in_child("increment"));
}

#[test]
fn the_source_check_fails_an_increment_that_prints() {
    let code = "pub fn increment(counter: &AtomicU64) {\n\
                    let before = counter.fetch_add(1, Ordering::Relaxed);\n\
                    println!(\"{before}\");\n\
                }";
    let found = proctest::source::Source::parse("shared_counter.rs", code)
        .expect("parse")
        .runs_in_child("increment");
    assert!(
        found.len() == 1 && found[0].to_string().contains("calls `println!`"),
        "{found:?}"
    );
}
