//! `temperatures N`: the demo of the notes. Forks N children (step `fork/spawn`); child i
//! converts `100 + 10 * i` degrees Fahrenheit (i from 1) and prints its line; the parent
//! prints `Spawned N processes from PID` at once, as the notes' parent does, so its line
//! may come before, between or after the children's.
//!
//! `temperatures N --fork-fails`: every fork fails with EAGAIN, as when the process limit
//! is reached (see `proctest::faults::forks_fail`): `spawn_children` must return that
//! error, and the demo reports it and exits with 1.

use fork::{cli, fahrenheit_values, spawn};
use nix::errno::Errno;
use nix::sys::wait::wait;
use nix::unistd::getpid;
use std::process::ExitCode;

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = cli::args("temperatures", " [--fork-fails]", "fork/spawn");
    let count = cli::count(&mut args);
    let fork_fails = args.flag("--fork-fails");
    args.finish();
    if fork_fails {
        if let Err(err) = proctest::faults::forks_fail() {
            eprintln!("temperatures: cannot make fork fail here: {err}");
            return ExitCode::FAILURE;
        }
        println!("temperatures: from now on, every fork fails with EAGAIN");
    }
    let pids = match spawn::spawn_children(&fahrenheit_values(count)) {
        Ok(pids) => pids,
        Err(err) => {
            eprintln!("temperatures: fork failed: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("Spawned {} processes from {}", pids.len(), getpid());
    // The notes' parent returns here without waiting. This demo still waits for whatever
    // children it has, so that every line is written before it exits and none is left a
    // zombie; waiting properly, and reporting how each child ended, is step `fork/reap`.
    // wait() fails with ECHILD once no child is left (EINTR: a signal interrupted it).
    while matches!(wait(), Ok(_) | Err(Errno::EINTR)) {}
    ExitCode::SUCCESS
}
