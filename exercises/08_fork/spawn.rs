//! Fork, step 1: one child per temperature.
//!
//! Task: for each value, `fork` a child that converts it from Fahrenheit to Celsius and
//! prints `110.000000 F is 43.333333 C (pid 4242)`, as the demo of the notes does. The
//! parent returns the children's pids (the demo then prints `Spawned 4 processes from
//! 4241`).
//! Invariant: exactly one line per child, whole, whether standard output is a terminal,
//! a pipe or a file; a child never runs the parent's code after its line.
//! Time budget: each check gives the demo 5 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine.
//! Done when `just check fork/spawn` (or `cargo course check fork/spawn`) passes.

use nix::unistd::{ForkResult, Pid, fork, getpid};

/// Converts degrees Fahrenheit to degrees Celsius.
///
/// # Examples
///
/// ```
/// assert_eq!(format!("{:.6}", fork::spawn::celsius(110.0)), "43.333333");
/// ```
pub fn celsius(fahrenheit: f64) -> f64 {
    // TODO: this is the notes' formula, `five_ninths = 5.0/9.5`. Check it against the
    // output the notes print for 110 F.
    (fahrenheit - 32.0) * 5.0 / 9.5
}

/// Forks one child per value. Child `i` writes `"{F:.6} F is {C:.6} C (pid {PID})\n"` for
/// `values[i]` to standard output and exits with status 0. Returns the children's pids in
/// the order of `values`; it does not wait for them.
///
/// # Errors
///
/// The error of `fork` (EAGAIN when the process limit is reached). The children forked
/// before the error keep running and nobody waits for them.
pub fn spawn_children(values: &[f64]) -> nix::Result<Vec<Pid>> {
    let mut pids = Vec::with_capacity(values.len());
    // ANCHOR: loop
    for &fahrenheit in values {
        // SAFETY: fork is sound only if the child sticks to async-signal-safe functions
        // until it exits. TODO: this child does not: `println!` locks stdout and formats.
        match unsafe { fork() }? {
            ForkResult::Parent { child } => pids.push(child),
            ForkResult::Child => {
                // TODO: prepare the line before the fork (see `crate::sys::Line`), write it
                // with one write(2) (`crate::sys::write_all(crate::sys::stdout_fd(), ..)`),
                // and leave with `crate::sys::exit_now`. Returning here sends this child
                // back into the parent's code.
                println!(
                    "{fahrenheit:.6} F is {:.6} C (pid {})",
                    celsius(fahrenheit),
                    getpid()
                );
                return Ok(Vec::new()); // a child has no children of its own
            }
        }
    }
    // ANCHOR_END: loop
    Ok(pids)
}
