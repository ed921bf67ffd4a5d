//! `temperatures N`: the demo of the notes. Forks N children (step `fork/spawn`); child i
//! converts `100 + 10 * i` degrees Fahrenheit (i from 1) and prints its line; the parent
//! prints `Spawned N processes from PID` at once, as the notes' parent does, so its line
//! may come before, between or after the children's.
//!
//! `temperatures N --report`: after its `Spawned` line, the parent waits for each pid
//! `spawn_children` returned, in the order returned, and prints how it ended: `child 2
//! (pid 4243): exited with status 0`. So a test can tell which child each pid is (the
//! values' order) and that each exited with status 0.
//!
//! `temperatures N --fork-fails`: every fork fails with EAGAIN, as when the process limit
//! is reached (see `proctest::faults::forks_fail`): `spawn_children` must return that
//! error, and the demo reports it and exits with 1. `--fork-fails-after K` lets K forks
//! succeed first (`proctest::faults::forks_fail_after`), as when the limit is reached
//! part-way: the error must be returned all the same, with K children already started.

use fork::{cli, fahrenheit_values, spawn};
use nix::errno::Errno;
use nix::sys::wait::{wait, waitpid};
use nix::unistd::{Pid, getpid};
use proctest::args::Args;
use std::process::ExitCode;

const OPTIONS: &str = " [--report] [--fork-fails | --fork-fails-after K]";

/// Makes forks fail as the command line asks: every one, or every one after the first
/// `successes`.
fn make_forks_fail(successes: Option<u32>) -> std::io::Result<()> {
    match successes {
        None => proctest::faults::forks_fail(),
        Some(k) => proctest::faults::forks_fail_after(k),
    }
}

/// The fault asked for: `None` without one, `Some(None)` for `--fork-fails`,
/// `Some(Some(k))` for `--fork-fails-after K`. Read before the count, so that K is never
/// taken for N.
fn fault(args: &mut Args) -> Option<Option<u32>> {
    let every = args.flag("--fork-fails");
    let last = u32::try_from(*cli::COUNTS.end()).expect("a count of at most 64") - 1;
    let after = args.number("--fork-fails-after", "K", 0..=last);
    match (every, after) {
        (true, Some(_)) => args.fail("--fork-fails and --fork-fails-after exclude each other"),
        (true, None) => Some(None),
        (false, Some(k)) => Some(Some(k)),
        (false, None) => None,
    }
}

/// Waits for each of `pids` in order and prints how it ended.
fn report(pids: &[Pid]) {
    for (i, &pid) in pids.iter().enumerate() {
        let status = loop {
            match waitpid(pid, None) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        };
        match status {
            Ok(status) => println!(
                "child {} (pid {pid}): {}",
                i + 1,
                fork::sys::describe(&status)
            ),
            Err(err) => println!("child {} (pid {pid}): cannot be waited for ({err})", i + 1),
        }
    }
}

/// Waits for whatever children are left, so that every line is written before the demo
/// exits and none is left a zombie. wait() fails with ECHILD once no child is left
/// (EINTR: a signal interrupted it).
fn wait_for_the_rest() {
    while matches!(wait(), Ok(_) | Err(Errno::EINTR)) {}
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = cli::args("temperatures", OPTIONS, "fork/spawn");
    let report_each = args.flag("--report");
    let fault = fault(&mut args);
    let count = cli::count(&mut args);
    if let Some(Some(k)) = fault {
        if usize::try_from(k).map_or(true, |k| k >= count) {
            args.fail(&format!(
                "--fork-fails-after {k}: K must be below N ({count}), so that a fork fails"
            ));
        }
    }
    args.finish();
    if let Some(successes) = fault {
        if let Err(err) = make_forks_fail(successes) {
            eprintln!("temperatures: cannot make fork fail here: {err}");
            return ExitCode::FAILURE;
        }
        match successes {
            None => println!("temperatures: from now on, every fork fails with EAGAIN"),
            Some(k) => println!("temperatures: after {k} fork(s), every fork fails with EAGAIN"),
        }
    }
    let pids = match spawn::spawn_children(&fahrenheit_values(count)) {
        Ok(pids) => pids,
        Err(err) => {
            eprintln!("temperatures: fork failed: {err}");
            wait_for_the_rest();
            return ExitCode::FAILURE;
        }
    };
    println!("Spawned {} processes from {}", pids.len(), getpid());
    // The notes' parent returns here without waiting. This demo still waits for whatever
    // children it has (waiting properly, and reporting how each child ended, is step
    // `fork/reap`).
    if report_each {
        report(&pids);
    }
    wait_for_the_rest();
    ExitCode::SUCCESS
}
