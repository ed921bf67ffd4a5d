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

use crate::sys::{Line, exit_now, stdout_fd, write_all};
use nix::unistd::{ForkResult, Pid, fork};

/// Converts degrees Fahrenheit to degrees Celsius.
///
/// # Examples
///
/// ```
/// assert_eq!(format!("{:.6}", fork::spawn::celsius(110.0)), "43.333333");
/// ```
pub fn celsius(fahrenheit: f64) -> f64 {
    // The notes wrote `5.0/9.5`, a typo: their printed output was made with 5/9.
    (fahrenheit - 32.0) * 5.0 / 9.0
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
        // Everything that allocates happens before the fork: the child only appends its
        // pid to a line on the stack.
        let text = format!("{fahrenheit:.6} F is {:.6} C (pid ", celsius(fahrenheit));
        let line = Line::new().text(text.as_bytes());
        // SAFETY: after the fork the child only calls async-signal-safe functions
        // (getpid, write, _exit) and touches memory it owns (`line`, on its stack), so
        // forking is sound even if another thread held a lock at that moment.
        match unsafe { fork() }? {
            ForkResult::Parent { child } => pids.push(child),
            ForkResult::Child => {
                // One write(2) for the whole line, so no other child's output can land
                // inside it; then _exit, so the child never returns into the parent's
                // loop or `main`, and flushes no buffer it inherited.
                let line = line.pid().text(b")\n");
                let code = match write_all(stdout_fd(), line.as_bytes()) {
                    Ok(()) => 0,
                    Err(_) => 1,
                };
                exit_now(code)
            }
        }
    }
    // ANCHOR_END: loop
    Ok(pids)
}
