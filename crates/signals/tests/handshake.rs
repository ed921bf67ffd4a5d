//! Checks `signals/handshake`: the notes' SIGUSR1/SIGUSR2 handshake completes however
//! SIGUSR1 is timed, including the two moments where a `pause()` loses it.

mod common;

use common::run;
use proctest::Demo;
use proctest::cpu::busy_wait;
use proctest::source::Source;
use std::time::Duration;

const DEMO: &str = env!("CARGO_BIN_EXE_handshake");

/// Runs the demo with `args` and checks the handshake went through: the child was ended
/// by SIGTERM and reaped, nothing is left. Returns the output.
fn handshake(args: &[&str]) -> String {
    let run = run(Demo::new(DEMO).args(args));
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "`handshake {}` failed ({:?}):\n{}\n{}",
        args.join(" "),
        run.status,
        run.stderr,
        run.stdout
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert!(
        run.stdout
            .ends_with("parent: the child was killed by signal SIGTERM\n"),
        "the parent must reap the child and say it was killed by SIGTERM:\n{}",
        run.stdout
    );
    run.stdout
}

#[test]
fn sigusr1_sent_before_the_parent_waits_is_not_lost() {
    let out = handshake(&["--signal-early"]);
    insta::assert_snapshot!("handshake_signal_early", out);
}

#[test]
fn sigusr1_between_the_look_at_the_flag_and_the_sleep_is_not_lost() {
    let out = handshake(&["--signal-after-check"]);
    insta::assert_snapshot!("handshake_signal_after_check", out);
}

#[test]
fn handshake_completes_whenever_the_scheduler_delivers_sigusr1() {
    for _ in 0..10 {
        let out = handshake(&[]);
        insta::assert_snapshot!("handshake_natural", out);
    }
}

/// The CPU work each side does before it signals the other, under `--slow`.
const SLOW_WORK: Duration = Duration::from_millis(300);

#[test]
fn each_side_sleeps_while_the_other_works() {
    // Under --slow, the child computes before it sends SIGUSR1 and the parent before it
    // answers: a wait_for that keeps looking at its flag burns the CPU meanwhile.
    let run = run(Demo::new(DEMO).arg("--slow"));
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "`handshake --slow` failed ({:?}):\n{}\n{}",
        run.status,
        run.stderr,
        run.stdout
    );
    for (label, who, other) in [
        (
            "parent_wait_for",
            "The parent, in wait_for(&GOT_USR1),",
            "the child computed",
        ),
        (
            "child_wait_for",
            "The child, in wait_for(&GOT_USR2),",
            "the parent computed",
        ),
    ] {
        let report = run
            .cpu_report(label)
            .unwrap_or_else(|| panic!("the demo reported no CPU time for {label}"));
        if let Some(spin) = busy_wait(report.own, SLOW_WORK, report.wall.max(run.elapsed)) {
            panic!(
                "{}",
                spin.explain(
                    who,
                    other,
                    "sigsuspend sleeps until a signal arrives; a loop that only looks at the \
                     flag never sleeps.",
                )
            );
        }
    }
}

/// The first violation `found`, as the student reads it (unwrapped), after checking that
/// the report of all of them ends with `verdict`.
fn rejected(found: &[proctest::source::Violation], verdict: &str) -> String {
    let report = std::panic::catch_unwind(|| proctest::source::assert_none(found))
        .expect_err("a wrong solution must be rejected")
        .downcast::<String>()
        .expect("a message");
    assert!(report.ends_with(verdict), "{report}");
    assert!(report.lines().all(|l| l.len() <= 100), "{report}");
    found[0].to_string()
}

#[test]
fn a_handler_that_takes_a_lock_is_rejected() {
    // Works in every run (nothing else holds the lock), so only the source shows it.
    let wrong = r#"
        static LOG: Mutex<Vec<i32>> = Mutex::new(Vec::new());
        extern "C" fn on_signal(signo: libc::c_int) {
            LOG.lock().push(signo);
            GOT_USR1.set();
        }
        pub fn install_handlers() -> nix::Result<SigSet> {
            let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_RESTART, SigSet::empty());
            unsafe { sigaction(Signal::SIGUSR1, &action) }?;
            SigSet::thread_get_mask()
        }
    "#;
    let source = Source::parse("09_signals/handshake.rs", wrong).expect("valid Rust");
    let first = rejected(
        &source.signal_handlers(),
        "Not async-signal-safe in a signal handler.",
    );
    assert!(
        first.starts_with(
            "09_signals/handshake.rs:4: in `on_signal`, the signal handler calls `.lock()`: it \
             takes a lock"
        ),
        "{first}"
    );
}

#[test]
fn a_wait_for_that_prints_is_rejected_since_the_child_runs_it() {
    let wrong = r#"
        pub fn wait_for(flag: &SignalFlag, mask: &SigSet) -> nix::Result<()> {
            while !flag.is_set() {
                println!("waiting");
                mask.suspend()?;
            }
            Ok(())
        }
    "#;
    let source = Source::parse("09_signals/handshake.rs", wrong).expect("valid Rust");
    let first = rejected(
        &source.runs_in_child("wait_for"),
        "Not async-signal-safe after fork.",
    );
    assert!(
        first.starts_with(
            "09_signals/handshake.rs:4: in `wait_for` (which runs in the forked child), the \
             child calls `println!`"
        ),
        "{first}"
    );
}

#[test]
fn bad_arguments_are_rejected_before_forking() {
    for args in [
        &["--bogus"][..],
        &["3"],
        &["--signal-early", "--signal-after-check"],
        &["--slow", "--slow"],
    ] {
        run(Demo::new(DEMO).args(args)).assert_usage_error(
            &format!("{args:?}"),
            &[
                "usage: handshake [--signal-early | --signal-after-check | --slow]",
                "signals/handshake",
            ],
        );
    }
}

#[test]
fn the_handler_only_sets_a_flag_and_wait_for_is_safe_in_the_child() {
    let source = proctest::source::Source::read(proctest::step_file!("09_signals/handshake.rs"))
        .unwrap_or_else(|err| panic!("{err}"));
    // The demo's child calls `wait_for` after the fork: it runs there too.
    let mut found = source.signal_handlers();
    found.extend(source.runs_in_child("wait_for"));
    proctest::source::assert_none(&found);
}
