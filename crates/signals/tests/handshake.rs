//! Checks `signals/handshake`: the notes' SIGUSR1/SIGUSR2 handshake completes however
//! SIGUSR1 is timed, including the two moments where a `pause()` loses it.

mod common;

use common::run;
use proctest::Demo;

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

#[test]
fn bad_arguments_are_rejected_before_forking() {
    for args in [
        &["--bogus"][..],
        &["3"],
        &["--signal-early", "--signal-after-check"],
    ] {
        run(Demo::new(DEMO).args(args)).assert_usage_error(
            &format!("{args:?}"),
            &[
                "usage: handshake [--signal-early | --signal-after-check]",
                "signals/handshake",
            ],
        );
    }
}
