//! `memory [INITIAL CHANGED]`: a variable `x` holds INITIAL (100 by default); the child of
//! a fork sets its `x` to CHANGED (200 by default). Both processes report the value and
//! the virtual address they see (step `fork/memory`): the same address, two values.
//!
//! `memory --child-stops [INITIAL CHANGED]` is for the tests: the child stops itself
//! (SIGSTOP) as soon as it is forked, before any of `observe`'s child code runs, so that
//! the test can kill it before it reports: `observe` must then fail (EIO), not wait forever
//! and not make up the child's view.
//!
//! `memory --fail-at-exit [INITIAL CHANGED]` is for the tests too: the child writes its
//! whole report, then exits with status 3 where it asks for 0 (see
//! `proctest::faults::children_fail_at_exit`): `observe` must fail with EIO all the same.

use fork::memory;
use fork::sys::Audit;
use std::process::ExitCode;

const USAGE: &str = "memory [--child-stops | --fail-at-exit] [INITIAL CHANGED]
       (two different whole numbers, 0..=18446744073709551615; default 100 200)
example: memory 100 200   (this demo belongs to step fork/memory: `just check fork/memory`)";

/// What the tests make the child do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trial {
    /// Nothing special.
    None,
    /// The child stops at birth (`--child-stops`).
    Stops,
    /// The child fails at exit, after its report (`--fail-at-exit`).
    FailsAtExit,
}

/// Reads `[--child-stops | --fail-at-exit] [INITIAL CHANGED]`, or exits with the usage
/// error.
fn parse() -> (u64, u64, Trial) {
    let mut args = proctest::args::Args::from_env("memory", USAGE);
    let stops = args.flag("--child-stops");
    let fails = args.flag("--fail-at-exit");
    let trial = match (stops, fails) {
        (true, true) => args.fail("--child-stops and --fail-at-exit exclude each other"),
        (true, false) => Trial::Stops,
        (false, true) => Trial::FailsAtExit,
        (false, false) => Trial::None,
    };
    let given: Vec<String> = std::iter::from_fn(|| args.positional()).collect();
    args.clone().finish();
    let number = |text: &String| {
        text.parse::<u64>().unwrap_or_else(|_| {
            args.fail(&format!(
                "{text:?} is not a whole number from 0 to {}",
                u64::MAX
            ))
        })
    };
    let (initial, changed) = match given.as_slice() {
        [] => (100, 200),
        [initial, changed] => {
            let (initial, changed) = (number(initial), number(changed));
            if initial == changed {
                args.fail(&format!(
                    "INITIAL and CHANGED are both {initial}: the child must change the value"
                ));
            }
            (initial, changed)
        }
        _ => args.fail(&format!("expected no argument or two, got {}", given.len())),
    };
    (initial, changed, trial)
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let audit = Audit::start();
    let (initial, changed, trial) = parse();
    if trial == Trial::Stops {
        if let Err(err) = proctest::faults::children_stop_at_birth() {
            eprintln!("memory: cannot make the child stop at birth: {err}");
            return ExitCode::FAILURE;
        }
    }
    if trial == Trial::FailsAtExit {
        if let Err(err) = proctest::faults::children_fail_at_exit() {
            eprintln!("memory: cannot make the child fail at exit: {err}");
            return ExitCode::FAILURE;
        }
    }
    let mut ok = true;
    match memory::observe(initial, changed) {
        Ok(views) => {
            let (child, parent) = (views.child, views.parent);
            println!("x = {initial} before the fork; the child sets it to {changed}");
            println!(
                "child  (pid {}): x = {} at {:#x}",
                child.pid, child.value, child.address
            );
            println!(
                "parent (pid {}): x = {} at {:#x}",
                parent.pid, parent.value, parent.address
            );
            let same_address = child.address == parent.address;
            println!(
                "same virtual address: {}; same value: {}",
                if same_address { "yes" } else { "no" },
                if child.value == parent.value {
                    "yes"
                } else {
                    "no"
                }
            );
            if same_address && child.value != parent.value {
                println!("one address, two values: each process has its own copy of x");
            }
        }
        Err(err) => {
            ok = false;
            eprintln!("memory: observe failed: {err}");
        }
    }
    for problem in audit.problems() {
        ok = false;
        eprintln!("memory: before exiting, the parent found {problem}");
    }
    if ok {
        println!("audit: every child waited for, no descriptor left open");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
