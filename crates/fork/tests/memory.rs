//! Checks `fork/memory`: after fork, the child's variable is at the same virtual address
//! as the parent's, but it is a separate copy.

mod common;

use common::{WATCHDOG, diagnose, once_blocked_on_stopped_child, redact_pids};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use proctest::Demo;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const DEMO: &str = env!("CARGO_BIN_EXE_memory");

/// A view line `child  (pid 4243): x = 200 at 0x7ffc...` → `(pid, value, address)`.
fn parse_view(line: &str) -> Option<(i32, u64, String)> {
    let rest = line.split_once("(pid ")?.1;
    let (pid, rest) = rest.split_once("): x = ")?;
    let (value, address) = rest.split_once(" at ")?;
    Some((pid.parse().ok()?, value.parse().ok()?, address.to_owned()))
}

fn run_memory(args: &[&str]) -> proctest::Finished {
    Demo::new(DEMO)
        .args(args)
        .timeout(WATCHDOG)
        .run()
        .unwrap_or_else(|hang| panic!("{}", proctest::verdict(&hang, &diagnose(&hang))))
}

/// Runs `memory --hold-pieces ARGS` and checks that the child's view is CHANGED, the
/// parent's INITIAL, at one address. With `--hold-pieces`, a child that writes its report
/// in several pieces has its second piece held until the parent reads the empty pipe or
/// waits: a parent that takes the report with one read() gets the first piece only, in
/// every run.
fn check_copy(initial: u64, changed: u64, args: &[&str]) -> String {
    let args: Vec<&str> = std::iter::once("--hold-pieces")
        .chain(args.iter().copied())
        .collect();
    let args = &args[..];
    let run = run_memory(args);
    if !run.status.success() || !run.stderr.is_empty() {
        let said = run.stderr.trim();
        let pieces = said
            .lines()
            .find_map(|l| l.strip_prefix("memory: the child writes its report in pieces: "));
        let why = if let (Some(pieces), true) = (pieces, said.contains("observe failed: EIO")) {
            let how = if pieces.contains("held") {
                "the test held the child's second piece until the parent read again or \
                 waited, and one read() then got the first piece only"
            } else {
                "one read() got the first piece only, before the child had written the next"
            };
            format!(
                "observe failed with EIO while the child was sending its report in pieces \
                 ({pieces}).\nA read() on a pipe returns what has arrived so far, as little as \
                 one piece of what the child writes, not the whole report: {how} (the \
                 scheduler can do the same in any run). \
                 The report is incomplete only if end of file comes before all of its bytes: \
                 read until you have them all or reach end of file (crate::sys::read_full), \
                 then judge. A short read taken for an incomplete report."
            )
        } else if said.contains("never waited for") {
            format!(
                "{}: observe returned without reaping its child, which stays a zombie, and \
                 its exit status was never checked. End of file on the pipe only says the \
                 child closed it: wait for the child (waitpid) before returning. A child \
                 never waited for.",
                said.trim_start_matches("memory: ")
                    .lines()
                    .next()
                    .unwrap_or(said)
            )
        } else if said.contains("observe failed: EIO") && changed == u64::MAX {
            format!(
                "observe failed with EIO when the child set its x to {changed}, u64::MAX, the \
                 largest value: EIO says the report was incomplete or the child failed. A \
                 report must carry every u64 whole: send the value's 8 bytes (to_ne_bytes) \
                 and read them back with u64::from_ne_bytes (a text report parsed as an i64, \
                 or a value cut to fewer bytes, loses this one). EIO for the largest value."
            )
        } else if said.is_empty() {
            format!("the demo failed ({}) without saying why.", run.status)
        } else {
            // The demo's own sentence, ended once.
            format!(
                "{}.",
                said.trim_start_matches("memory: ")
                    .replace('\n', " ")
                    .trim_end_matches('.')
            )
        };
        let evidence = format!(
            "`memory {}` printed:\n{}",
            args.join(" "),
            run.stdout.trim_end()
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    let view = |who: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(who))
            .and_then(parse_view)
            .unwrap_or_else(|| panic!("no `{who} (pid N): x = V at 0x...` line:\n{}", run.stdout))
    };
    let (child_pid, child_value, child_address) = view("child ");
    let (parent_pid, parent_value, parent_address) = view("parent ");
    assert_ne!(
        child_pid, parent_pid,
        "two processes report:\n{}",
        run.stdout
    );
    if child_value != changed {
        let why = if child_value == initial {
            "that view was read by the parent from its own copy. The child must send its own \
             value (and address) back through a pipe."
                .to_owned()
        } else if child_value == changed & u64::from(u32::MAX) {
            format!(
                "{child_value} is {changed} cut to its low 32 bits: the value lost half of its \
                 bytes on the way from the child. Send and read all 8 bytes of the u64."
            )
        } else {
            "that is neither the child's value nor the parent's: the report was garbled on \
             its way through the pipe. Check which bytes the child writes for the value and \
             which the parent reads back."
                .to_owned()
        };
        let evidence = format!("`memory {}` printed:\n{}", args.join(" "), run.stdout);
        panic!(
            "{}",
            proctest::verdict(
                &evidence,
                &format!(
                    "the child set its x to {changed}, yet its view says {child_value}: {why}"
                )
            )
        );
    }
    assert_eq!(
        parent_value, initial,
        "the parent never changed its x: it must still read {initial}, since the child \
         changed only its own copy.\n{}",
        run.stdout
    );
    assert!(
        child_address.starts_with("0x") && child_address == parent_address,
        "the child's x and the parent's x are at the same virtual address (fork copies the \
         address space as it is): {child_address} vs {parent_address}\n{}",
        run.stdout
    );
    let mut text = redact_pids(&run.stdout);
    text = text.replace(&child_address, "[ADDR]");
    text
}

#[test]
fn same_virtual_address_different_values() {
    let text = check_copy(100, 200, &[]);
    insta::assert_snapshot!("memory_default", text);
}

#[test]
fn same_address_different_values_for_other_numbers() {
    check_copy(7, u64::MAX, &["7", "18446744073709551615"]);
    check_copy(1, 0, &["1", "0"]);
}

#[test]
fn bad_arguments_are_rejected_before_forking() {
    for args in [
        &["abc", "1"][..],
        &["1"],
        &["-3", "4"],
        &["5", "5"],
        &["1", "2", "3"],
        &["--child-stops", "--fail-at-exit"],
        &["--report-lost", "--child-stops"],
    ] {
        let run = run_memory(args);
        assert_eq!(run.code(), Some(2), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("usage: memory [--child-stops | --fail-at-exit | --report-lost]")
                && run.stderr.contains("fork/memory"),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{args:?}");
    }
}

#[test]
fn the_child_calls_only_async_signal_safe_functions_and_leaves_with_exit() {
    let source = proctest::source::Source::read(proctest::step_file!("08_fork/memory.rs"))
        .unwrap_or_else(|err| panic!("{err}"));
    proctest::source::assert_none(&source.fork_children());
}

#[test]
fn a_child_that_reports_then_fails_is_an_error() {
    // The child writes its whole report, then exits with status 3 where it asks for 0
    // (--fail-at-exit): only its status tells the parent that it failed.
    let run = run_memory(&["--fail-at-exit"]);
    let evidence = format!(
        "`memory --fail-at-exit`, its child made to exit with status {} after its report, \
         printed:\n{}{}",
        proctest::faults::FAILED_EXIT,
        run.stdout,
        run.stderr.trim_end()
    );
    if run.status.success() {
        let why = format!(
            "the child exited with status {}, yet observe returned its view: a child that \
             does not exit with status 0 failed, however complete its report looks, and \
             observe must then fail with EIO, as its doc says.\nCheck the status waitpid \
             returns: anything but WaitStatus::Exited(child, 0) is EIO. A failed child taken \
             for a success.",
            proctest::faults::FAILED_EXIT
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    if !run.stderr.contains("observe failed: EIO") {
        let why = format!(
            "the child wrote its whole report and exited with status {}: observe must fail \
             with EIO (a child that did not exit with status 0), as its doc says. The wrong \
             error.",
            proctest::faults::FAILED_EXIT
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
}

#[test]
fn a_child_killed_before_its_report_is_an_error_not_a_view() {
    // The child stops at birth (--child-stops) and the test kills it there, once the
    // parent is blocked waiting for it (in a read of its pipe, or in waitpid): it never
    // writes its report. observe must see end of file on the pipe (it holds no write end
    // itself), reap the killed child, and fail with EIO. A parent that took the stop for
    // an end (WUNTRACED) has returned by then, and left the child behind.
    let killed = Arc::new(AtomicBool::new(false));
    let watcher = {
        let killed = Arc::clone(&killed);
        once_blocked_on_stopped_child(move |child, _| {
            killed.store(
                kill(Pid::from_raw(child), Signal::SIGKILL).is_ok(),
                Ordering::SeqCst,
            );
        })
    };
    let run = Demo::new(DEMO)
        .arg("--child-stops")
        .timeout(WATCHDOG)
        .watch(watcher)
        .run()
        .unwrap_or_else(|hang| panic!("{}", proctest::verdict(&hang, &diagnose(&hang))));
    if !killed.load(Ordering::SeqCst) {
        let evidence = format!(
            "`memory --child-stops` printed:\n{}{}",
            run.stdout,
            run.stderr.trim_end()
        );
        let why = if run.stderr.contains("never waited for") {
            "observe returned while its child was still stopped at birth, before the test \
             could kill it: that child had neither written its report nor ended, and observe \
             left it behind unreaped (the demo's audit above).\nA stopped child has not \
             ended: wait until it has (waitpid(pid, None); with WUNTRACED, waitpid also \
             reports a stop, which is not an end). A child never waited for."
        } else {
            "the demo ended before the test saw its child stopped at birth, so the child could \
             not be killed before its report: observe returned without waiting for that \
             child to end. Wait for it with waitpid(pid, None). A child never waited for."
        };
        panic!("{}", proctest::verdict(&evidence, why));
    }
    let evidence = format!(
        "`memory --child-stops`, its child killed before it could report, printed:\n{}{}",
        run.stdout,
        run.stderr.trim_end()
    );
    if run.status.success() {
        let view = run
            .stdout
            .lines()
            .find(|l| l.starts_with("child"))
            .unwrap_or("(no view)");
        let why = format!(
            "the child was killed before it sent a byte, yet observe returned its view \
             (`{}`): a view made of nothing. A report shorter than 20 bytes, or a child that \
             did not exit with status 0, is an error: EIO. A made-up view.",
            view.trim()
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    if !run.stderr.contains("EIO") {
        let why = "the child was killed before it sent its report: observe must fail with EIO \
                   (an incomplete report, a child that did not exit with status 0), as its doc \
                   says. The wrong error.";
        panic!("{}", proctest::verdict(&evidence, why));
    }
    assert_reaped_after_the_error(&run, &evidence);
}

#[test]
fn a_report_lost_on_its_way_is_an_error_not_a_view() {
    // Every pipe the child inherits from observe leads to /dev/null from its birth
    // (--report-lost): its writes succeed and it exits with status 0, but the parent
    // receives nothing. A parent that returns a view all the same did not read it from the
    // pipe: it made it up (`changed`, the address of its own x, the pid fork returned, the
    // very values the child would send), or the child sent it another way.
    let run = run_memory(&["--report-lost"]);
    let evidence = format!(
        "`memory --report-lost`, the child's pipes leading to /dev/null, printed:\n{}{}",
        run.stdout,
        run.stderr.trim_end()
    );
    let redirected = run
        .stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix(
                "memory: pipe descriptors of the child made to lead to /dev/null at its birth: ",
            )
        })
        .and_then(|n| n.trim().parse::<u32>().ok())
        .unwrap_or(0);
    if run.status.success() {
        let view = run
            .stdout
            .lines()
            .find(|l| l.starts_with("child"))
            .unwrap_or("(no view)")
            .trim();
        let why = if redirected > 0 {
            format!(
                "observe returned a view of the child that it did not read from the pipe: the \
                 test made the child's pipe lead to /dev/null from its birth, so not a byte of \
                 its report reached the parent (its writes succeeded, it exited with status \
                 0), yet observe returned `{view}`. Whatever the parent made that view of \
                 (`changed`, the address of its own x and the pid fork returned look right in \
                 every normal run), it is not what the child reported.\nBuild the child's \
                 view from the bytes read from the pipe; when fewer than a whole report \
                 arrive, observe fails with EIO. A made-up view."
            )
        } else {
            format!(
                "observe returned a view of the child that did not come through a pipe: the \
                 child held no pipe made by observe (the test would have made it lead to \
                 /dev/null), yet observe returned `{view}`. Either the parent made that view \
                 up (`changed`, the address of its own x, the pid fork returned) or the child \
                 sent it another way (shared memory, a file).\nThe child's report must come \
                 from the child itself, through a pipe made before the fork: the child writes \
                 its value, address and pid into it, and the parent builds the child's view \
                 from the bytes it reads. A view that did not come through a pipe."
            )
        };
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    if !run.stderr.contains("observe failed: EIO") {
        let why = "not a byte of the child's report reached the parent (its pipe led to \
                   /dev/null): observe must fail with EIO (an incomplete report), as its doc \
                   says. The wrong error.";
        panic!("{}", proctest::verdict(&evidence, why));
    }
    assert_reaped_after_the_error(&run, &evidence);
}

/// After observe failed (rightly) with EIO: its child was reaped all the same, and nothing
/// of the demo is left.
fn assert_reaped_after_the_error(run: &proctest::Finished, evidence: &str) {
    if run.stderr.contains("never waited for") {
        let why = "observe failed with EIO, as it should, but returned without reaping its \
                   child, which stays a zombie: the child has been waited for when observe \
                   returns, on an error too. Wait for the child (waitpid) before returning \
                   the error. A child never waited for.";
        panic!("{}", proctest::verdict(&evidence, why));
    }
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
}
