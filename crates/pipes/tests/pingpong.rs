//! Checks `pipes/pingpong`: the socketpair exchange, in strict alternation.

mod common;

use common::{assert_clean, assert_usage_error};
use proctest::{Demo, Finished, Process};

fn role(parent: Option<i32>) -> impl Fn(&Process) -> String {
    move |p: &Process| {
        if Some(p.pid) == parent {
            "the parent".to_owned()
        } else {
            "the child".to_owned()
        }
    }
}

fn pingpong(args: &[&str]) -> Finished {
    let demo = Demo::new(env!("CARGO_BIN_EXE_pingpong")).args(args);
    match demo.timeout(common::WATCHDOG).run() {
        Ok(finished) => finished,
        Err(hang) => {
            let parent = common::leader(&hang.snapshot);
            let waiting: Vec<String> = hang
                .snapshot
                .processes
                .iter()
                .filter(|p| p.blocked_in.as_ref().is_some_and(|s| s.name == "read"))
                .map(|p| format!("{} (pid {})", role(parent)(p), p.pid))
                .collect();
            let why = format!(
                "the exchange is stuck: {} waiting to receive. With strict alternation, \
                 exactly one side sends while the other receives: check that each side \
                 sends after its lines and receives as many counts as the other sends. \
                 Stuck.",
                if waiting.is_empty() {
                    "nobody is".to_owned()
                } else {
                    format!("{} is", waiting.join(" and "))
                }
            );
            panic!("{}", proctest::verdict(&hang, &why))
        }
    }
}

/// The lines the exchange must print for `rounds` rounds, built from the rule (not
/// copied from a run).
fn expected_exchange(rounds: u32) -> String {
    (1..=rounds)
        .rev()
        .flat_map(|n| {
            [
                format!("parent write: {n}\n"),
                format!("child recv: {n}\n"),
                format!("child write: {n}\n"),
                format!("parent recv: {n}\n"),
            ]
        })
        .collect()
}

/// Who is to blame for a line out of turn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Blame {
    /// The line that was due is late: under the demo's strict turns, each send returns
    /// only once the other side has answered, so a line printed after its send comes out
    /// late in every run.
    Late,
    /// The line that came instead is early: the same halves printed in order under strict
    /// turns (no line is printed after its send), so the side that printed it did so
    /// before receiving what it reports.
    Early,
}

/// Checks the output line by line against the rule, and names the first line out of turn,
/// blaming it as `blame` says.
fn assert_exchange(out: &str, rounds: u32, blame: Blame) {
    let expected = format!(
        "{}parent: child exited with status 0\n",
        expected_exchange(rounds)
    );
    let exchanged = out
        .lines()
        .filter(|l| l.contains(" write: ") || l.contains(" recv: "))
        .count();
    if exchanged != 4 * rounds as usize {
        let why = format!(
            "{rounds} round(s) are {} lines (parent write, child recv, child write, parent \
             recv), and the exchange printed {exchanged}: parent_side and child_side must each \
             send and receive {rounds} time(s), printing a line at each step. Lines missing.",
            4 * rounds
        );
        panic!(
            "{}",
            proctest::verdict(&format!("the demo's output:\n{}", out.trim_end()), &why)
        );
    }
    let Some((i, (got, want))) = out
        .lines()
        .zip(expected.lines())
        .enumerate()
        .find(|(_, (got, want))| got != want)
    else {
        assert_eq!(
            out.lines().count(),
            expected.lines().count(),
            "{rounds} round(s) are {} lines, then the child's status:\n{out}",
            4 * rounds
        );
        return;
    };
    let who = |line: &str| {
        if line.starts_with("parent") {
            "the parent"
        } else {
            "the child"
        }
    };
    let other = |side: &str| {
        if side == "the parent" {
            "the child"
        } else {
            "the parent"
        }
    };
    let why = if blame == Blame::Early && expected.lines().skip(i + 1).any(|l| l == got) {
        let received = got
            .split_once(" recv: ")
            .map(|(_, n)| format!(" {n} from {}", other(who(got))))
            .unwrap_or_default();
        format!(
            "line {} is `{got}` where `{want}` was due: {} printed `{got}` before it had \
             received{received} (without the demo's strict turns, {} was slowed down before \
             its send). The same code printed in order under strict turns, so {} is not \
             late. Print a `recv` line once the receive has returned, with the number \
             received. Printed too early.",
            i + 1,
            who(got),
            other(who(got)),
            who(want)
        )
    } else if expected.lines().skip(i + 1).any(|l| l == got) {
        format!(
            "line {} is `{got}` where `{want}` was due: {} printed `{want}` only after the \
             send that let {} go on. Print each line before that send. Out of turn.",
            i + 1,
            who(want),
            other(who(want))
        )
    } else {
        format!(
            "line {} is `{got}` where `{want}` was due: the exchange prints only the four \
             lines of each round (`parent write`, `child recv`, `child write`, `parent recv`), \
             from {rounds} down to 1. Unexpected line.",
            i + 1
        )
    };
    panic!(
        "{}",
        proctest::verdict(&format!("the demo's output:\n{}", out.trim_end()), &why)
    );
}

#[test]
fn ten_rounds_alternate_strictly() {
    let run = pingpong(&[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let exchange = run
        .stdout
        .lines()
        .filter(|l| l.contains(" write: ") || l.contains(" recv: "))
        .count();
    assert_eq!(
        exchange, 40,
        "10 rounds are 40 lines (parent write, child recv, child write, parent recv): \
         parent_side and child_side must each send and receive 10 times. Output:\n{}",
        run.stdout
    );
    assert_exchange(&run.stdout, 10, Blame::Late);
    insta::assert_snapshot!("pingpong", run.stdout);
    assert_clean(&run);
}

#[test]
fn one_round_is_four_lines() {
    let run = pingpong(&["1"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_exchange(&run.stdout, 1, Blame::Late);
    assert_clean(&run);
}

#[test]
fn each_side_sleeps_while_the_other_works() {
    // Under --slow, each send first computes for 0.2 s of CPU: the other side waits for
    // it in read(), asleep, or spinning on a non-blocking socket.
    // First under strict turns, where a line printed after its send is always late; then
    // slowed down, where a line printed before its receive can come early.
    let strict = pingpong(&["2"]);
    assert_exchange(&strict.stdout, 2, Blame::Late);
    let run = pingpong(&["2", "--slow"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_exchange(&run.stdout, 2, Blame::Early);
    let effort = pipes::sys::turns::SLOW_WORK * 4;
    if let Some(spin) = run.busy_wait(effort) {
        panic!(
            "{}",
            spin.explain(
                "The parent and the child, while waiting for each other,",
                "the other side computed",
                "A read() on a socket in blocking mode sleeps until a message arrives; a \
                 loop of non-blocking reads that fail with EAGAIN never sleeps.",
            )
        );
    }
}

#[test]
fn a_child_whose_parent_leaves_fails_instead_of_going_on() {
    // The demo plays the parent for one round, then closes its socket: the child's next
    // receive reads end of file. child_side must return that error (exit status 1).
    let run = pingpong(&["3", "--parent-leaves", "1"]);
    let out = &run.stdout;
    // What the child printed once the parent had left: nothing, since its next receive
    // reads end of file, which ends child_side before it prints.
    let after_leaving = out
        .split_once("closing its socket\n")
        .map_or("", |(_, rest)| rest);
    let went_on: Vec<&str> = after_leaving
        .lines()
        .filter(|l| l.starts_with("child "))
        .collect();
    if !out.ends_with("parent: child exited with status 1\n") || !went_on.is_empty() {
        let ended = out
            .lines()
            .find_map(|l| l.strip_prefix("parent: child "))
            .unwrap_or("never ended");
        let why = match went_on.first() {
            Some(first) => format!(
                "the parent closed its socket after one round, so the child's next receive read \
                 end of file (read() returned 0: no count at all); the child still printed \
                 `{first}`, going on with a count it never received, and {ended}. End of file \
                 is an error for child_side: return it (`?`) before printing. A receive not \
                 checked."
            ),
            None => format!(
                "the parent closed its socket after one round, so the child's next receive \
                 read end of file (read() returned 0); the child {ended}. A failed receive or \
                 send ends child_side with the error (`?`), and the child exits with status 1. \
                 An error swallowed."
            ),
        };
        let evidence = format!(
            "`pingpong 3 --parent-leaves 1` printed:\n{}",
            out.trim_end()
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn a_parent_whose_child_leaves_fails_instead_of_going_on() {
    // The demo plays the child for one round, then closes its socket and exits: the
    // parent's next send fails with EPIPE, or its next receive reads end of file.
    // parent_side must return that error.
    let run = pingpong(&["3", "--child-leaves", "1"]);
    let out = &run.stdout;
    let evidence = format!("`pingpong 3 --child-leaves 1` printed:\n{}", out.trim_end());
    if out.contains("parent: parent_side returned Ok(())") {
        let why = "the child closed its socket after one round of three, so the parent's next \
                   send failed with EPIPE (nobody at the other end) or its next receive read end \
                   of file; parent_side still returned Ok(()), as if every round had been played. \
                   Its doc says a failed send or receive is an error, the child closing its \
                   socket for instance: return it (`?`). An error swallowed.";
        panic!("{}", proctest::verdict(&evidence, why));
    }
    assert!(
        out.contains("parent: parent_side failed with "),
        "parent_side must return an error once the child has left:\n{out}\n{}",
        run.stderr
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

#[test]
fn the_parent_prints_the_count_it_receives() {
    // The demo plays the child, which answers each count N with N + 100: the parent
    // prints what it received (or fails on the odd answer), not its own count again.
    let run = pingpong(&["3", "--child-answers-off"]);
    let out = &run.stdout;
    let evidence = format!(
        "`pingpong 3 --child-answers-off` (the course's child answers N + 100) printed:\n{}",
        out.trim_end()
    );
    if out.contains("parent: parent_side failed with ") {
        return; // A parent that checks the answer may refuse it.
    }
    for n in (1..=3).rev() {
        if out.lines().any(|l| l == format!("parent recv: {n}")) {
            let why = format!(
                "the child answered {} to the parent's {n} (it printed `child write: {}`), \
                 yet the parent printed `parent recv: {n}`: it printed its own count, not the \
                 number it received. Print what receive_count returned. A reply never read.",
                n + 100,
                n + 100
            );
            panic!("{}", proctest::verdict(&evidence, &why));
        }
    }
    let received: Vec<String> = (1..=3)
        .rev()
        .map(|n| format!("parent recv: {}", n + 100))
        .collect();
    let printed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("parent recv: "))
        .collect();
    assert!(
        printed == received,
        "{}",
        proctest::verdict(
            &evidence,
            "the parent's `parent recv:` lines are not the three answers the child sent \
             (103, 102, 101): print each number as receive_count returned it, once per round."
        )
    );
}

#[test]
fn bad_round_counts_are_usage_errors() {
    for bad in ["0", "101", "abc", "-1"] {
        let run = pingpong(&[bad]);
        assert_usage_error(&run, "ROUNDS must be a whole number from 1 to 100");
    }
}

#[test]
fn the_child_side_calls_only_async_signal_safe_functions_and_leaves_with_exit() {
    let source = proctest::source::Source::read(proctest::step_file!("10_pipes/pingpong.rs"))
        .unwrap_or_else(|err| panic!("{err}"));
    proctest::source::assert_none(&source.fork_children());
}
