//! Checks `signals/shutdown`: the worker finishes the unit in progress on SIGTERM, removes
//! its temporary file and exits 0; the parent tells an exit status from a killing signal.

mod common;

use common::run;
use nix::sys::signal::Signal;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use proctest::{Demo, Finished, wrap};
use signals::shutdown::describe;

const DEMO: &str = env!("CARGO_BIN_EXE_shutdown");

/// Runs the demo with its own temporary directory, and checks that nothing is left in it
/// and no process is left behind.
fn shutdown(args: &[&str]) -> Finished {
    let dir = tempfile::tempdir().expect("cannot create a temporary directory for the test");
    let run = run(Demo::new(DEMO).args(args).env("TMPDIR", dir.path()));
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("the test's temporary directory")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.is_empty(),
        "files left in the temporary directory after `shutdown {}`: {left:?}\n{}",
        args.join(" "),
        run.stdout
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    run
}

#[test]
fn sigterm_lets_the_unit_in_progress_finish_then_the_worker_cleans_up_and_exits_0() {
    let run = shutdown(&["4", "--term-at", "2"]);
    assert_clean_shutdown(&run, 2, &["4", "--term-at", "2"]);
    insta::assert_snapshot!("shutdown_4_term_at_2", run.stdout);
}

#[test]
fn a_second_sigterm_finds_the_handler_still_installed() {
    // A worker that blocks SIGTERM during a unit keeps the first one pending until the
    // unit ends: the parent then sends no second one (it would merge with the first).
    let run = shutdown(&["4", "--term-twice-at", "2"]);
    assert_clean_shutdown(&run, 2, &["4", "--term-twice-at", "2"]);
}

#[test]
fn sigterm_during_the_first_unit() {
    let run = shutdown(&["3", "--term-at", "1"]);
    assert_clean_shutdown(&run, 1, &["3", "--term-at", "1"]);
}

#[test]
fn sigterm_before_the_first_unit_lets_no_unit_start() {
    // The worker has installed its handler and waits; SIGTERM is handled before run_worker
    // is called. Looking at STOP only after each unit lets unit 1 start anyway.
    let run = shutdown(&["3", "--term-before-start"]);
    // No snapshot: a worker may rightly skip creating its file when STOP is already set.
    assert_clean_shutdown(&run, 0, &["3", "--term-before-start"]);
}

/// Checks that SIGTERM, sent during unit `unit` (0: before the first), let that unit
/// finish, started no other, and that the worker removed its file and exited with status 0.
fn assert_clean_shutdown(run: &Finished, unit: u32, args: &[&str]) {
    let out = &run.stdout;
    let printed = format!("`shutdown {}` printed:\n{out}", args.join(" "));
    if out.contains("parent: the worker left its temporary file behind") {
        let killed = out.contains("parent: the worker was killed by signal SIGTERM");
        let why = if killed && out.contains("parent: sending SIGTERM again") {
            format!(
                "the second SIGTERM ended the worker in the middle of unit {unit} and its \
                 temporary file stayed behind: the first one ran the handler, which then no \
                 longer was installed (a one-shot handler: SA_RESETHAND, or the old `signal()` \
                 semantics). Install it with sigaction and no SA_RESETHAND, so that every \
                 SIGTERM only sets STOP. Handler reset."
            )
        } else if killed {
            format!(
                "SIGTERM ended the worker in the middle of unit {unit} and its temporary file \
                 stayed behind: SIGTERM still has its default action. Install a handler that \
                 only sets STOP (install_handler), and have run_worker look at STOP between \
                 units, then remove the file and return. The worker was killed."
            )
        } else {
            let ended = out
                .lines()
                .find_map(|l| l.strip_prefix("parent: the worker "))
                .unwrap_or("ended");
            format!(
                "the worker {ended}, yet its temporary file stayed behind: SIGTERM did not \
                 kill it, but the way out skipped the removal. The handler only sets STOP; \
                 once run_worker sees it between units, it still removes the file, then \
                 returns: look for a way out that goes around the removal (a `return` or `?` \
                 from inside the loop, std::process::exit in the handler or the loop). \
                 Cleanup skipped."
            )
        };
        panic!("{}", proctest::verdict(&printed, &why));
    }
    assert!(
        unit == 0 || out.contains(&format!("worker: unit {unit} done\n")),
        "the unit in progress when SIGTERM came ({unit}) must be finished:\n{out}"
    );
    if out.contains(&format!("worker: unit {} started", unit + 1)) {
        let why = if unit == 0 {
            "the worker started unit 1 although SIGTERM had been handled before run_worker \
             began: run_worker must look at STOP before each unit, the first one included, \
             and start none once it is set. A unit started after SIGTERM."
                .to_owned()
        } else {
            format!(
                "the worker went on to unit {} after SIGTERM: run_worker must look at STOP \
                 before each unit and stop once it is set. A unit started after SIGTERM.",
                unit + 1
            )
        };
        panic!("{}", proctest::verdict(&printed, &why));
    }
    assert!(
        out.contains(&format!(
            "worker: SIGTERM received, stopping after unit {unit}\n"
        )) && out.contains("parent: the worker exited with status 0\n"),
        "the worker must say it stops after unit {unit}, and exit with status 0:\n{out}"
    );
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "the demo {}, and said on its standard error:\n{}\n{out}",
        run.ended(),
        run.stderr
    );
}

#[test]
fn without_a_signal_every_unit_is_done_and_the_file_removed() {
    let run = shutdown(&["5"]);
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "`shutdown 5` {}, and said on its standard error:\n{}\n{}",
        run.ended(),
        run.stderr,
        run.stdout
    );
    assert!(
        run.stdout.contains("worker: unit 5 done\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(
            "parent: the worker exited with status 0\nparent: the temporary file is gone\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn the_file_is_removed_even_when_a_unit_fails() {
    // The parent closes the worker's input during unit 2: the unit fails, and run_worker
    // must remove its file on the way out all the same, then return the error.
    let run = shutdown(&["4", "--hangup-at", "2"]);
    let out = &run.stdout;
    assert!(
        !out.contains("parent: the worker left its temporary file behind"),
        "{}\n{out}",
        wrap(
            "unit 2 failed (the parent closed the worker's input), and the worker left \
             without removing its temporary file: run_worker must remove it on every path \
             out, errors included (a `?` skips the rest of the function). File left behind.",
            98
        )
    );
    assert!(
        out.contains("parent: the worker exited with status 1\n"),
        "{}\n{out}\n{}",
        wrap(
            "unit 2 failed: run_worker must return that error (the worker then exits with \
             status 1), not hide it. Error lost.",
            98
        ),
        run.stderr
    );
    assert!(
        !out.contains("worker: unit 3 started"),
        "the worker went on after a failed unit:\n{out}"
    );
}

#[test]
fn sigkill_cannot_be_handled_and_the_parent_says_so() {
    let run = shutdown(&["3", "--kill-at", "2"]);
    assert_eq!(
        run.code(),
        Some(1),
        "the demo exits with 1 when the worker did not exit cleanly"
    );
    let out = &run.stdout;
    if !out.contains("parent: the worker was killed by signal SIGKILL\n") {
        let said = out
            .lines()
            .find_map(|l| l.strip_prefix("parent: the worker "))
            .unwrap_or("(nothing)");
        let why = if said.starts_with("was killed by signal ") {
            format!(
                "the parent says the worker {said:?}, but the header's format names the signal: \
                 \"was killed by signal SIGKILL\". Signal::as_str() gives the name (a signal's \
                 number differs between systems; its name does not). A signal by number."
            )
        } else {
            format!(
                "the parent says the worker {said:?}, but SIGKILL killed it: a process killed by \
                 a signal has no exit status at all (WaitStatus::Signaled, not Exited; 128 + N is \
                 only the shell's way to print it). describe must name the signal: \"was killed \
                 by signal SIGKILL\". A death told as an exit."
            )
        };
        panic!(
            "{}",
            proctest::verdict(&format!("`shutdown 3 --kill-at 2` printed:\n{out}"), &why)
        );
    }
    insta::assert_snapshot!("shutdown_3_kill_at_2", run.stdout);
}

#[test]
fn describe_tells_an_exit_status_from_a_killing_signal() {
    let pid = Pid::from_raw(4242);
    assert_eq!(describe(WaitStatus::Exited(pid, 0)), "exited with status 0");
    assert_eq!(describe(WaitStatus::Exited(pid, 3)), "exited with status 3");
    assert_eq!(
        describe(WaitStatus::Signaled(pid, Signal::SIGTERM, false)),
        "was killed by signal SIGTERM",
        "a process killed by a signal has no exit status: name the signal"
    );
    assert_eq!(
        describe(WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
        "was killed by signal SIGKILL"
    );
}

#[test]
fn bad_arguments_are_rejected_before_starting_the_worker() {
    for args in [
        &["abc"][..],
        &["0"],
        &["-3"],
        &["1000"],
        &[],
        &["4", "--term-at", "5"],
        &["4", "--term-at"],
        &["4", "--bogus", "1"],
        &["4", "--hangup-at", "0"],
        &["--worker"],
    ] {
        run(Demo::new(DEMO).args(args)).assert_usage_error(
            &format!("{args:?}"),
            &["usage: shutdown N", "1..=100", "signals/shutdown"],
        );
    }
}

#[test]
fn the_handler_only_sets_the_flag() {
    let source = proctest::source::Source::read(proctest::step_file!("09_signals/shutdown.rs"))
        .unwrap_or_else(|err| panic!("{err}"));
    proctest::source::assert_none(&source.signal_handlers());
}

/// What the demo would show for a worker that ended as `ended` during unit 2 and left its
/// file behind.
fn left_its_file(ended: &str) -> Finished {
    let stdout = format!(
        "worker: temporary file created\nworker: unit 1 started\nworker: unit 1 done\n\
         worker: unit 2 started\nparent: sending SIGTERM to the worker in the middle of unit 2\n\
         parent: the worker {ended}\n\
         parent: the worker left its temporary file behind; the parent removes it\n"
    );
    Finished {
        status: std::os::unix::process::ExitStatusExt::from_raw(1 << 8),
        stdout,
        stderr: String::new(),
        leftovers: Vec::new(),
        elapsed: std::time::Duration::ZERO,
        cpu: proctest::CpuTime::ZERO,
        cpu_reports: Vec::new(),
    }
}

fn verdict_for(run: &Finished) -> String {
    let message =
        std::panic::catch_unwind(|| assert_clean_shutdown(run, 2, &["4", "--term-at", "2"]))
            .expect_err("a worker that left its file is rejected")
            .downcast::<String>()
            .expect("a message");
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn oracle_a_worker_killed_by_sigterm_kept_the_default_action() {
    let why = verdict_for(&left_its_file("was killed by signal SIGTERM"));
    assert!(
        why.contains("SIGTERM still has its default action")
            && why.contains("The worker was killed."),
        "{why}"
    );
}

#[test]
fn oracle_a_worker_that_exited_0_without_cleanup_is_not_blamed_on_the_default_action() {
    let why = verdict_for(&left_its_file("exited with status 0"));
    assert!(
        why.contains("the worker exited with status 0, yet its temporary file stayed behind")
            && why.contains("Cleanup skipped."),
        "{why}"
    );
    assert!(!why.contains("default action"), "{why}");
}
