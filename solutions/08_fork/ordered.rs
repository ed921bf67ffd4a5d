//! Fork, step 3: results in order, whatever the scheduler does.
//!
//! Task: the children compute, the parent prints. Each child gets a pipe of its own,
//! writes its result into it (the Celsius value and its pid, 12 bytes) and exits; the
//! parent reads the pipes in the order of the values, waits for each child, and returns
//! the conversions, so the demo prints them in value order on every run. When a child
//! fails, the parent still reads and waits for every child before it returns the error.
//! Invariant: the parent reads each pipe to its end; it sees end-of-file only once every
//! write end of that pipe is closed, in the child and in the parent.
//! Time budget: each check gives the demo 5 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine; a wait must block
//! in the kernel, not spin (the checks compare CPU time with the work waited for).
//! Done when `just check fork/ordered` (or `cargo course check fork/ordered`) passes.

use crate::celsius;
use crate::sys::{exit_now, read_full, write_all};
use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, pipe};
use std::os::fd::OwnedFd;

/// One value converted by one child.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    /// The value the child was given, in degrees Fahrenheit.
    pub fahrenheit: f64,
    /// The value it computed, in degrees Celsius.
    pub celsius: f64,
    /// The child's pid, as the child itself reported it.
    pub pid: Pid,
}

/// Bytes a child sends: its Celsius value (8, native byte order) then its pid (4).
const MESSAGE: usize = 12;

/// Converts each value in a child of its own and returns the results in the order of
/// `values`. Every child has been waited for when it returns, also when it returns an
/// error (a child that died before writing its message, say).
///
/// # Errors
///
/// The error of `pipe`, `fork`, `read` or `waitpid`; `EIO` when a child's message is
/// incomplete or the child did not exit with status 0.
pub fn convert_in_children(values: &[f64]) -> nix::Result<Vec<Conversion>> {
    let mut children: Vec<(Pid, OwnedFd)> = Vec::with_capacity(values.len());
    for &fahrenheit in values {
        let (read_end, write_end) = pipe()?;
        // SAFETY: the child only computes a float, calls getpid, write, close and _exit,
        // all async-signal-safe, on memory it owns.
        match unsafe { fork() }? {
            ForkResult::Child => {
                // The child does not read: close its read end (and it inherited the read
                // ends of the earlier children's pipes, which it never touches).
                drop(read_end);
                let mut message = [0u8; MESSAGE];
                message[..8].copy_from_slice(&celsius(fahrenheit).to_ne_bytes());
                message[8..].copy_from_slice(&getpid().as_raw().to_ne_bytes());
                let code = if write_all(&write_end, &message).is_ok() {
                    0
                } else {
                    1
                };
                exit_now(code)
            }
            ForkResult::Parent { child } => {
                // The parent never writes: close its copy of the write end now, or its
                // read() below never sees end-of-file (and every later child would
                // inherit a copy too).
                drop(write_end);
                children.push((child, read_end));
            }
        }
    }
    let mut conversions = Vec::with_capacity(values.len());
    // The first error is kept and returned once every child has been read and reaped:
    // returning at once would leave the later children unwaited for.
    let mut first_error = None;
    for (&fahrenheit, (pid, read_end)) in values.iter().zip(children) {
        let mut message = [0u8; MESSAGE + 1];
        let got = read_full(&read_end, &mut message);
        drop(read_end);
        let status = loop {
            match waitpid(pid, None) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        };
        match (got, status) {
            (Ok(MESSAGE), Ok(status)) if status == WaitStatus::Exited(pid, 0) => {
                let celsius: [u8; 8] = message[..8].try_into().unwrap_or_default();
                let pid: [u8; 4] = message[8..MESSAGE].try_into().unwrap_or_default();
                conversions.push(Conversion {
                    fahrenheit,
                    celsius: f64::from_ne_bytes(celsius),
                    pid: Pid::from_raw(i32::from_ne_bytes(pid)),
                });
            }
            (Err(err), _) | (_, Err(err)) => {
                first_error.get_or_insert(err);
            }
            // A short message (the child died before writing it all) or a failed child.
            _ => {
                first_error.get_or_insert(Errno::EIO);
            }
        }
    }
    match first_error {
        Some(err) => Err(err),
        None => Ok(conversions),
    }
}
