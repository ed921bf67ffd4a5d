//! Checks `fork/ordered`: the children's results come back over pipes and the parent
//! prints them in value order, identically on every run.

mod common;

use common::{
    WATCHDOG, assert_rejected, diagnose, expected_conversions, once_blocked_on_stopped_child,
    parse_conversion, redact_pids, run,
};
use fork::trial;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use proctest::{Demo, StdoutTo, wrap};

const DEMO: &str = env!("CARGO_BIN_EXE_ordered");

/// Runs `ordered N` and checks it succeeded cleanly; returns its output, pids redacted.
fn run_ordered(count: usize, to: StdoutTo) -> String {
    let arg = count.to_string();
    let run = run(DEMO, &[&arg], to);
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "`ordered {count}` {}:\n{}\n{}",
        run.ended(),
        run.stderr,
        run.stdout
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    let parsed: Vec<(String, String, i32)> =
        run.stdout.lines().filter_map(parse_conversion).collect();
    assert_pids_from_the_children(&format!("ordered {count}"), &run.stdout);
    let conversions: Vec<(String, String)> = parsed.into_iter().map(|(f, c, _)| (f, c)).collect();
    assert_eq!(
        conversions,
        expected_conversions(count),
        "the parent must print one line per child, in value order:\n{}",
        run.stdout
    );
    redact_pids(&run.stdout)
}

/// Every conversion line carries a pid of its own, not the parent's (`Spawned N processes
/// from PID`): the pid the child reported.
fn assert_pids_from_the_children(command: &str, stdout: &str) {
    let parent = stdout
        .lines()
        .find_map(common::parse_spawned)
        .map(|(_, pid)| pid);
    let pids: Vec<i32> = stdout
        .lines()
        .filter_map(parse_conversion)
        .map(|(_, _, pid)| pid)
        .collect();
    let mut distinct = pids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        !pids.iter().any(|pid| Some(*pid) == parent) && distinct.len() == pids.len(),
        "{}\n{stdout}",
        wrap(
            &format!(
                "`{command}`: each line must carry the pid of the child that converted the \
                 value, as the child itself reported it (getpid() in the child, sent with the \
                 result), but the lines show the pids {pids:?} and the parent is {}. A pid \
                 read before the fork, or in the parent, is the parent's. Pids not from the \
                 children.",
                parent.map_or("unknown".to_string(), |p| p.to_string())
            ),
            98
        ),
    );
}

#[test]
fn twenty_runs_print_the_same_lines_in_value_order() {
    let first = run_ordered(6, StdoutTo::Pipe);
    for round in 2..=20 {
        let to = if round % 2 == 0 {
            StdoutTo::File
        } else {
            StdoutTo::Pipe
        };
        let again = run_ordered(6, to);
        assert_eq!(
            again, first,
            "run {round} printed something else than run 1"
        );
    }
    insta::assert_snapshot!("ordered_6", first);
}

#[test]
fn sixty_four_children_in_order_and_nothing_left_open() {
    let out = run_ordered(64, StdoutTo::Pipe);
    assert!(
        out.ends_with("audit: every child waited for, no descriptor left open\n"),
        "{out}"
    );
}

#[test]
fn a_child_that_ends_last_still_comes_first_and_the_parent_sleeps_meanwhile() {
    // Child 1's conversion computes for 0.2 s of CPU: it ends after the others. The parent
    // still prints it first, and waits for it in read() without using the CPU.
    let run = run(DEMO, &["4", "--slow", "1"], StdoutTo::Pipe);
    let parsed: Vec<(String, String, i32)> =
        run.stdout.lines().filter_map(parse_conversion).collect();
    assert_pids_from_the_children("ordered 4 --slow 1", &run.stdout);
    let conversions: Vec<(String, String)> = parsed.into_iter().map(|(f, c, _)| (f, c)).collect();
    assert_eq!(
        conversions,
        expected_conversions(4),
        "{}\n{}\n{}",
        wrap(
            "child 1 ended last, yet its line must come first: the parent reads the pipes in \
             the order of the values, not in the order the children end. Out of order.",
            98
        ),
        run.stdout,
        run.stderr
    );
    assert!(run.status.success(), "{}\n{}", run.stderr, run.stdout);
    let report = run
        .cpu_report("convert_in_children")
        .unwrap_or_else(|| panic!("the demo reported no CPU time:\n{}", run.stderr));
    if let Some(spin) = report.busy_wait(trial::SLOW_WORK) {
        panic!(
            "{}",
            spin.explain(
                "The parent, in convert_in_children,",
                "child 1 computed",
                "A read() on a pipe in blocking mode sleeps until the child writes or \
                 closes; so does waitpid without WNOHANG.",
            )
        );
    }
}

#[test]
fn a_child_that_dies_before_writing_is_an_error_and_every_child_is_still_reaped() {
    let args = ["4", "--crash", "2"];
    let run = run(DEMO, &args, StdoutTo::Pipe);
    let printed = format!(
        "`ordered {}` printed:\n{}{}",
        args.join(" "),
        run.stdout,
        run.stderr.trim_end()
    );
    let fail = |why: &str| -> ! { panic!("{}", proctest::verdict(&printed, why)) };
    if run.stdout.contains("Spawned 4 processes") {
        fail(
            "child 2 was killed while converting (the demo makes crate::celsius kill it in a \
             child), yet the parent printed every result: did the conversions run in the \
             children? The children compute, the parent prints. Conversion not in the child.",
        );
    }
    if !run.stderr.contains("convert_in_children failed: EIO") {
        fail(
            "child 2 died before writing its message: the parent's read of its pipe must see \
             end of file with nothing read, and convert_in_children fail with EIO. Missing \
             error.",
        );
    }
    if run.stderr.contains("never waited for") {
        fail(
            "convert_in_children returned its error before waiting for the other children: \
             they are left running or as zombies. Keep the first error, read and reap every \
             child, then return it (an iterator that collects into a Result stops at the \
             first error: go on to the end, then return). Children not reaped.",
        );
    }
    if run.stderr.contains("descriptor(s) still open") {
        fail(run.stderr.trim());
    }
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
}

#[test]
fn results_keep_the_order_of_values_that_decrease() {
    // The values 160, 150, ..., 110 F: the results come back in that order, not sorted.
    let run = run(DEMO, &["6", "--descending"], StdoutTo::Pipe);
    assert!(run.status.success(), "{}\n{}", run.stderr, run.stdout);
    let got: Vec<String> = run
        .stdout
        .lines()
        .filter_map(parse_conversion)
        .map(|(fahrenheit, _, _)| fahrenheit)
        .collect();
    let mut expected: Vec<String> = expected_conversions(6)
        .into_iter()
        .map(|(fahrenheit, _)| fahrenheit)
        .collect();
    expected.reverse();
    if got != expected {
        let place = (0..got.len().max(expected.len()))
            .find(|&i| got.get(i) != expected.get(i))
            .unwrap_or(0);
        let what = match (got.get(place), expected.get(place)) {
            (Some(got), Some(want)) => format!("result {} is {got} F, not {want} F", place + 1),
            _ => format!("{} results for {} values", got.len(), expected.len()),
        };
        let mut sorted = expected.clone();
        sorted.reverse();
        let how = if got == sorted {
            "convert_in_children sorted the results by value instead of keeping that order"
        } else {
            "convert_in_children must return the results in that order"
        };
        let why = format!(
            "{what}: the values were given from {} F down to {} F, and {how}.\nKeep each \
             result at the place of its value (read the pipes in the order of `values`, or \
             store each result by its index), whatever order the children end in. Out of \
             order.",
            expected[0],
            expected[expected.len() - 1]
        );
        panic!(
            "{}",
            proctest::verdict(
                &format!("`ordered 6 --descending` printed:\n{}", run.stdout),
                &why
            )
        );
    }
}

#[test]
fn a_child_that_writes_its_message_then_fails_is_an_error() {
    // Every child writes its whole message, then exits with status 3 where it asks for 0
    // (--fail-at-exit): only the status tells the parent that the children failed.
    let run = run(DEMO, &["4", "--fail-at-exit"], StdoutTo::Pipe);
    let evidence = format!(
        "`ordered 4 --fail-at-exit`, every child made to exit with status {} after its \
         message, printed:\n{}{}",
        proctest::faults::FAILED_EXIT,
        run.stdout,
        run.stderr.trim_end()
    );
    if run.status.success() {
        let why = format!(
            "every child exited with status {}, yet convert_in_children returned their \
             results: a child that does not exit with status 0 failed, however complete its \
             message looks, and convert_in_children must then fail with EIO, as its doc \
             says.\nCheck the status waitpid returns for each child: anything but \
             WaitStatus::Exited(pid, 0) is EIO. A failed child taken for a success.",
            proctest::faults::FAILED_EXIT
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    if !run.stderr.contains("convert_in_children failed: EIO") {
        let why = format!(
            "every child wrote its whole message and exited with status {}: \
             convert_in_children must fail with EIO (a child that did not exit with status \
             0), as its doc says. The wrong error.",
            proctest::faults::FAILED_EXIT
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    assert!(
        !run.stderr.contains("never waited for") && !run.stderr.contains("still open"),
        "{}",
        proctest::verdict(
            &evidence,
            "convert_in_children left children or descriptors behind (the demo's audit \
             above): even when it fails, every child is read and reaped first. Left behind."
        )
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
}

#[test]
fn after_an_error_a_child_that_has_not_ended_yet_is_still_waited_for() {
    // Child 2 dies before writing; child 4 stops itself as it starts converting, and the
    // test continues it only once it is the last child left and the parent blocks
    // waiting for it. A parent that reaps the rest with WNOHANG ("they are done by now")
    // finds child 4 not ended, and leaves it behind.
    let args = ["4", "--crash", "2", "--stopped", "4"];
    let run = Demo::new(DEMO)
        .args(args)
        .timeout(WATCHDOG)
        .hard_cap(WATCHDOG)
        .watch(once_blocked_on_stopped_child(|child, _| {
            let _ = kill(Pid::from_raw(child), Signal::SIGCONT);
        }))
        .run()
        .unwrap_or_else(|hang| panic!("{}", proctest::verdict(&hang, &diagnose(&hang))));
    let command = format!("ordered {}", args.join(" "));
    if run.stderr.contains("never waited for") || !run.leftovers.is_empty() {
        panic!(
            "{}",
            proctest::verdict(
                &format!(
                    "`{command}` printed:\n{}stderr:\n{}{}",
                    run.stdout,
                    run.stderr,
                    run.describe_leftovers()
                ),
                "convert_in_children returned its error while child 4 had not ended, and \
                 left it behind: it was never waited for.\nChild 2 died before writing; \
                 child 4 was stopped then, and the test let it go on only once the parent \
                 blocked. A child that has not ended cannot be collected without waiting \
                 for it: waitpid with WNOHANG returns at once and reaps nothing. After an \
                 error, wait for every remaining child with waitpid(pid, None), which blocks \
                 until it has ended. Children not reaped."
            )
        );
    }
    assert!(
        run.stderr.contains("convert_in_children failed: EIO"),
        "{}\n{}",
        wrap(
            "child 2 died before writing its message: convert_in_children must fail with EIO. \
             Missing error.",
            98
        ),
        run.stderr
    );
    assert!(
        !run.stderr.contains("descriptor(s) still open"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
}

#[test]
fn a_child_holds_no_write_end_of_another_childs_pipe() {
    // Child 4, the last one forked, stops itself as it starts converting; the test looks at
    // its descriptors then, and lets it go on. A write end of an earlier child's pipe that
    // it inherited keeps that pipe from reaching end of file until child 4 ends: the parent,
    // reading the pipes in order, would wait for child 4 while it reads child 1's pipe.
    use std::sync::{Arc, Mutex};
    let args = ["4", "--stopped", "4"];
    let seen: Arc<Mutex<Option<Vec<i32>>>> = Arc::default();
    let found = Arc::clone(&seen);
    let run = Demo::new(DEMO)
        .args(args)
        .timeout(WATCHDOG)
        .hard_cap(WATCHDOG)
        .watch(move |snapshot| {
            let Some(parent) = snapshot.leader() else {
                return true;
            };
            let Some(stopped) = snapshot
                .processes
                .iter()
                .find(|p| p.ppid == parent.pid && p.state == 'T')
            else {
                return true;
            };
            // The write ends of pipes it holds, one descriptor per pipe (0 to 2 are the
            // demo's standard streams).
            let mut pipes: Vec<(u64, i32)> = stopped
                .fds
                .iter()
                .filter(|fd| fd.fd > 2 && fd.writable)
                .filter_map(|fd| Some((fd.pipe_inode()?, fd.fd)))
                .collect();
            pipes.sort_unstable();
            pipes.dedup_by_key(|(inode, _)| *inode);
            *found.lock().unwrap() = Some(pipes.into_iter().map(|(_, fd)| fd).collect());
            let _ = kill(Pid::from_raw(stopped.pid), Signal::SIGCONT);
            false
        })
        .run()
        .unwrap_or_else(|hang| panic!("{}", proctest::verdict(&hang, &diagnose(&hang))));
    let held = seen.lock().unwrap().clone().unwrap_or_default();
    if held.len() > 1 {
        let fds: Vec<String> = held.iter().map(i32::to_string).collect();
        panic!(
            "{}",
            proctest::verdict(
                &format!(
                    "`ordered {}` printed:\n{}{}",
                    args.join(" "),
                    run.stdout,
                    run.stderr
                ),
                &format!(
                    "child 4, converting, held the write ends of {} pipes (descriptors {}): \
                     its own, and {} that it inherited at fork, because the parent still had \
                     it open then. Such a pipe reaches \
                     end of file only when child 4 ends too, so the parent, reading the pipes \
                     in order, waits for a later child while it reads an earlier one. Close \
                     the parent's copy of each write end right after its fork. A write end \
                     inherited by the next child.",
                    held.len(),
                    fds.join(", "),
                    if held.len() == 2 {
                        "the write end of an earlier child's pipe".to_owned()
                    } else {
                        format!(
                            "the write ends of {} earlier children's pipes",
                            held.len() - 1
                        )
                    }
                )
            )
        );
    }
    assert!(run.status.success(), "{}", run.stderr);
}

#[test]
fn bad_counts_are_rejected_before_forking() {
    for args in [
        &["abc"][..],
        &["0"],
        &["-3"],
        &["1000"],
        &[],
        &["4", "5"],
        &["4", "--slow", "5"],
        &["4", "--crash"],
        &["4", "--fail-at-exit", "2"],
        &["4", "--stopped"],
        &["4", "--stopped", "0"],
        &["4", "--crash", "2", "--stopped", "2"],
    ] {
        assert_rejected(DEMO, args, "1..=64", "fork/ordered");
    }
}

#[test]
fn the_child_calls_only_async_signal_safe_functions_and_leaves_with_exit() {
    let source = proctest::source::Source::read(proctest::step_file!("08_fork/ordered.rs"))
        .unwrap_or_else(|err| panic!("{err}"))
        .allow(&["celsius"]);
    proctest::source::assert_none(&source.fork_children());
}
