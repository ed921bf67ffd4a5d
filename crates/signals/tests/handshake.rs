//! Checks `signals/handshake`: the notes' SIGUSR1/SIGUSR2 handshake completes however
//! SIGUSR1 is timed, including the two moments where a `pause()` loses it.

mod common;

use common::run;
use proctest::cpu::busy_wait_or_yield;
use proctest::source::Source;
use proctest::{Demo, Hang, Process, Signals, Snapshot, Syscall};
use std::time::Duration;

const DEMO: &str = env!("CARGO_BIN_EXE_handshake");

/// Runs the demo with `args` and checks the handshake went through: the child was ended
/// by SIGTERM and reaped, nothing is left. Returns the output. When the demo itself names
/// what went wrong (on its error output), that is the verdict.
fn handshake(args: &[&str]) -> String {
    outcome(Demo::new(DEMO).args(args), args).unwrap_or_else(|why| {
        // A handler or a child that breaks the async-signal-safety rules explains the
        // strangest failures (output of its own, a deadlock): that rule comes first.
        the_handler_only_sets_a_flag_and_wait_for_is_safe_in_the_child();
        panic!("{why}")
    })
}

/// What [`handshake`] checks, for `demo` run with `args`: its output, or the failure
/// message.
fn outcome(demo: Demo, args: &[&str]) -> Result<String, String> {
    // A correct handshake never sleeps or computes for long: a process that keeps running
    // (a busy-wait) or keeps sleeping (polling) is called stuck after two timeouts, not
    // after proctest's default cap of 30 s.
    let run = demo
        .timeout(common::WATCHDOG)
        .hard_cap(common::WATCHDOG * 2)
        .run()
        .map_err(|hang| proctest::verdict(&hang, &common::diagnose(&hang)))?;
    let command = format!("handshake {}", args.join(" "));
    if let Some(why) = killed_by_its_own_signal(&run, &command) {
        return Err(why);
    }
    if !run.status.success() || !run.stderr.is_empty() {
        let cause = run.stderr.trim().trim_start_matches("handshake: ");
        let evidence = format!(
            "`{}` {}; its output:\n{}",
            command.trim_end(),
            run.ended(),
            run.stdout.trim_end()
        );
        let cause = if cause.is_empty() {
            "the demo failed without saying why: its output is above.".to_owned()
        } else {
            cause.replace('\n', " ")
        };
        return Err(proctest::verdict(&evidence, &cause));
    }
    if !run.leftovers.is_empty() {
        return Err(run.describe_leftovers());
    }
    if !run
        .stdout
        .ends_with("parent: the child was killed by signal SIGTERM\n")
    {
        return Err(format!(
            "the parent must reap the child and say it was killed by SIGTERM:\n{}",
            run.stdout
        ));
    }
    Ok(run.stdout)
}

/// The diagnosis when the demo itself was killed by SIGUSR1 or SIGUSR2, the signals it
/// handles: at that moment the signal's action was the default one, which ends the
/// process, so its handler was gone.
fn killed_by_its_own_signal(run: &proctest::Finished, command: &str) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    let signal = run.status.signal()?;
    let name = match signal {
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGUSR2 => "SIGUSR2",
        _ => return None,
    };
    let when = if run.stdout.contains("parent: second round") {
        " in the second round, after its handler had run once"
    } else {
        ""
    };
    let evidence = format!(
        "`{}` was killed by {name}; its output:\n{}",
        command.trim_end(),
        run.stdout.trim_end()
    );
    let why = format!(
        "the demo was killed by {name}{when}: when it arrived, its action was the default \
         one, which ends the process, so the handler install_handlers set was gone.\nA \
         handler installed with SA_RESETHAND is one-shot: the kernel resets the action to \
         the default on its first delivery. Install the handler for good (no \
         SA_RESETHAND): a signal may come more than once. A one-shot handler."
    );
    Some(proctest::verdict(&evidence, &why))
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
fn sigusr2_between_the_childs_look_and_its_sleep_is_not_lost() {
    // The child waits with the same wait_for: SIGUSR2 must be blocked in the child too
    // (install_handlers blocks both before the fork; the child inherits the mask).
    let out = handshake(&["--answer-after-check"]);
    insta::assert_snapshot!("handshake_answer_after_check", out);
}

#[test]
fn a_stray_sigusr2_does_not_end_the_wait_for_sigusr1() {
    // sigsuspend returns after any handler ran: wait_for returns only once its flag is set.
    let out = handshake(&["--stray-signal"]);
    insta::assert_snapshot!("handshake_stray_signal", out);
}

#[test]
fn a_signal_the_caller_blocked_stays_blocked_while_waiting() {
    // The mask install_handlers returns is the one it found, without SIGUSR1 and SIGUSR2:
    // the demo's SIGINT, blocked before, must stay pending through the wait.
    let out = handshake(&["--sigint-blocked"]);
    insta::assert_snapshot!("handshake_sigint_blocked", out);
}

#[test]
fn a_caller_that_blocked_sigusr1_and_sigusr2_still_gets_them() {
    // The mask install_handlers returns is the one it found *without* SIGUSR1 and SIGUSR2:
    // a caller that had blocked them itself must still be woken by them.
    let out = handshake(&["--usr-blocked"]);
    insta::assert_snapshot!("handshake_usr_blocked", out);
}

#[test]
fn another_handled_signal_does_not_end_the_wait() {
    // A SIGALRM handler runs while the parent waits for SIGUSR1, whatever mask wait_for
    // sleeps with (the caller left SIGALRM unblocked): wait_for must sleep again.
    let out = handshake(&["--other-signal"]);
    insta::assert_snapshot!("handshake_other_signal", out);
}

#[test]
fn the_handlers_stay_for_a_second_round() {
    // Each side waits for its signal twice: the handler must still be there the second
    // time.
    let out = handshake(&["--two-rounds"]);
    insta::assert_snapshot!("handshake_two_rounds", out);
}

#[test]
fn handshake_completes_whenever_the_scheduler_delivers_sigusr1() {
    for _ in 0..10 {
        let out = handshake(&[]);
        insta::assert_snapshot!("handshake_natural", out);
    }
}

/// The CPU work each side does before it signals the other, under `--slow`.
const SLOW_WORK: Duration = signals::work::SLOW_WORK;

#[test]
fn each_side_sleeps_while_the_other_works() {
    // Under --slow, the child computes before it sends SIGUSR1 and the parent before it
    // answers: a wait_for that keeps looking at its flag burns the CPU meanwhile.
    let run = run(Demo::new(DEMO).arg("--slow"));
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "`handshake --slow` {}:\n{}\n{}",
        run.ended(),
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
        if let Some(spin) = busy_wait_or_yield(
            report.own,
            report.preempted,
            SLOW_WORK,
            report.wall.max(run.elapsed),
        ) {
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
                "usage: handshake [--signal-early | --signal-after-check | --answer-after-check",
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

/// A process of a synthetic hang: `pid`, its parent, blocked in `call`, with these signal
/// masks (for the oracles of the diagnosis, which reads them).
fn process(pid: i32, ppid: i32, call: &str, blocked: u64, pending: u64) -> Process {
    Process {
        pid,
        ppid,
        name: "handshake".to_owned(),
        state: 'S',
        blocked_in: Some(Syscall {
            name: call.to_owned(),
            fd: None,
            args: [0; 6],
        }),
        fds: Vec::new(),
        cpu: Duration::ZERO,
        system_cpu: Duration::ZERO,
        children_cpu: Duration::ZERO,
        age: Duration::from_secs(4),
        signals: Signals {
            blocked,
            pending,
            caught: 0,
            ignored: 0,
        },
    }
}

fn hang_of(processes: Vec<Process>) -> Hang {
    Hang {
        command: "handshake".to_owned(),
        after: Duration::from_secs(4),
        budget: Duration::from_secs(4),
        snapshot: Snapshot { processes },
        stdout: String::new(),
        stderr: String::new(),
    }
}

/// The bit of `signal` in a /proc mask.
fn bit(signal: i32) -> u64 {
    1 << (signal - 1)
}

#[test]
fn oracle_a_sigsuspend_mask_that_blocks_the_signal_is_named_from_the_masks() {
    let usr = bit(libc::SIGUSR1) | bit(libc::SIGUSR2);
    let hang = hang_of(vec![
        process(100, 1, "rt_sigsuspend", usr, bit(libc::SIGUSR1)),
        process(101, 100, "rt_sigsuspend", usr, 0),
    ]);
    let why = common::diagnose(&hang);
    assert!(
        why.contains("with a mask that still blocks SIGUSR1")
            && why.contains("SIGUSR1 is pending")
            && why.ends_with("The mask blocks the signal."),
        "{why}"
    );
}

#[test]
fn oracle_a_signal_delivered_before_sigsuspend_is_a_lost_wake_up_not_a_mask() {
    // Nothing blocked, nothing pending: the signal came and went before the wait.
    let hang = hang_of(vec![
        process(100, 1, "rt_sigsuspend", 0, 0),
        process(101, 100, "pause", 0, 0),
    ]);
    let why = common::diagnose(&hang);
    assert!(
        why.contains("neither blocked nor pending") && why.ends_with("A lost wake-up."),
        "{why}"
    );
    assert!(!why.contains("mask that still blocks"), "{why}");
}

#[test]
fn alternatives_a_signalfd_and_a_self_pipe_handler_are_accepted() {
    let right = r#"
        static WAKE: AtomicI32 = AtomicI32::new(-1);
        extern "C" fn on_signal(signo: libc::c_int) {
            let saved = Errno::last_raw();
            if signo == Signal::SIGUSR1 as libc::c_int { GOT_USR1.set(); } else { GOT_USR2.set(); }
            let fd = WAKE.load(Ordering::SeqCst);
            if fd >= 0 {
                // SAFETY: write() is async-signal-safe.
                unsafe { libc::write(fd, b"!".as_ptr().cast(), 1) };
            }
            Errno::set_raw(saved);
        }
        pub fn install_handlers() -> nix::Result<SigSet> {
            let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::SA_RESTART, SigSet::empty());
            unsafe { sigaction(Signal::SIGUSR1, &action) }?;
            SigSet::thread_get_mask()
        }
        pub fn wait_for(flag: &SignalFlag, mask: &SigSet) -> nix::Result<()> {
            let _ = mask;
            let signal = if std::ptr::eq(flag, &GOT_USR1) { Signal::SIGUSR1 } else { Signal::SIGUSR2 };
            let mut set = SigSet::empty();
            set.add(signal);
            let mut fd = SignalFd::new(&set)?;
            while !flag.is_set() {
                if let Some(info) = fd.read_signal()? {
                    if info.ssi_signo == signal as u32 {
                        flag.set();
                    }
                }
            }
            Ok(())
        }
    "#;
    let source = Source::parse("09_signals/handshake.rs", right).expect("valid Rust");
    let mut found = source.signal_handlers();
    found.extend(source.runs_in_child("wait_for"));
    proctest::source::assert_none(&found);
}

/// sigwait (nix's `SigSet::wait`) and sigwaitinfo take a blocked signal too, but neither is
/// on POSIX's list of async-signal-safe functions, and the demo's child runs `wait_for`.
#[test]
fn a_sigwait_loop_in_the_child_is_rejected() {
    let sigwait = r#"
        pub fn wait_for(flag: &SignalFlag, mask: &SigSet) -> nix::Result<()> {
            let _ = mask;
            let mut set = SigSet::empty();
            set.add(Signal::SIGUSR1);
            while !flag.is_set() {
                if set.wait()? == Signal::SIGUSR1 {
                    flag.set();
                }
            }
            Ok(())
        }
    "#;
    let source = Source::parse("09_signals/handshake.rs", sigwait).expect("valid Rust");
    let found = source.runs_in_child("wait_for");
    assert!(
        found
            .iter()
            .any(|v| v.to_string().contains("sigwait (nix's SigSet::wait)")),
        "{found:?}"
    );
}

const ORACLES: &str = env!("CARGO_BIN_EXE_handshake_oracles");

/// Runs the `oracles` binary's `fixture` (a wrong or right solution) in the handshake demo
/// with `args`.
fn oracle(fixture: &str, args: &[&str]) -> Result<String, String> {
    outcome(Demo::new(ORACLES).arg(fixture).args(args), args)
}

/// The order each wrong fixture fails in, and the words its verdict must hold.
const WRONG: &[(&str, &str, &[&str])] = &[
    (
        "handshake-if-wait",
        "--stray-signal",
        &[
            "GOT_USR1 is not set",
            "SIGUSR2's handler ran",
            "a loop, not an `if`",
        ],
    ),
    (
        "handshake-usr1-only",
        "--answer-after-check",
        &[
            "the child is blocked in sigsuspend()",
            "SIGUSR2 is neither blocked nor pending",
        ],
    ),
    (
        "handshake-empty-mask",
        "--sigint-blocked",
        &[
            "the mask install_handlers returned lets it in",
            "not an empty set",
        ],
    ),
    (
        "handshake-setmask",
        "--sigint-blocked",
        &["install_handlers unblocked it", "SIG_SETMASK"],
    ),
];

#[test]
fn oracle_each_wrong_wait_fails_in_the_order_that_exposes_it_with_its_cause() {
    for (fixture, args, words) in WRONG {
        let why = oracle(fixture, &[args]).expect_err(fixture);
        let words_of = why.split_whitespace().collect::<Vec<_>>().join(" ");
        for word in *words {
            assert!(words_of.contains(word), "{fixture}: no {word:?} in\n{why}");
        }
        assert!(why.lines().all(|l| l.len() <= 100), "{fixture}:\n{why}");
        let error = why
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_default();
        assert!(!error.is_empty(), "{fixture}: no error line in\n{why}");
    }
}

#[test]
fn oracle_right_alternatives_pass_every_order() {
    // Waiting with a mask that lets only the awaited signal in, and taking the signals
    // with sigwait (no handler runs; the wait sets the flag itself), are right too.
    for fixture in ["handshake-own-mask", "handshake-sigwait"] {
        for args in [
            &[][..],
            &["--signal-early"],
            &["--signal-after-check"],
            &["--answer-after-check"],
            &["--stray-signal"],
            &["--sigint-blocked"],
        ] {
            if let Err(why) = oracle(fixture, args) {
                panic!("{fixture} {args:?} is right but failed:\n{why}");
            }
        }
    }
}
