//! Fork, step 4: the child's memory is a copy.
//!
//! Task: `observe` forks a child that changes a variable; both processes then report the
//! variable's value and its virtual address. The child's report must come from the child
//! itself, sent back to the parent through a pipe: after `fork` the parent cannot see the
//! child's memory, even at the very same address.
//! Invariant: both processes see `x` at the same virtual address; the child sees
//! `changed`, the parent still sees `initial`.
//! Time budget: each check gives the demo 5 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine.
//! Done when `just check fork/memory` (or `cargo course check fork/memory`) passes.

use crate::sys::{exit_now, read_full, write_all};
use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, pipe};

/// What one process saw of the variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    /// Which process looked.
    pub pid: Pid,
    /// The value it read.
    pub value: u64,
    /// The virtual address of the variable in that process.
    pub address: usize,
}

/// What the child and the parent saw of the same variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Views {
    /// The child's view, after it set the variable to `changed`.
    pub child: View,
    /// The parent's view, after the child exited.
    pub parent: View,
}

/// Bytes the child sends: value (8), address (8), pid (4), native byte order.
const REPORT: usize = 20;

/// Sets a variable to `initial`, forks a child that sets it to `changed`, and returns what
/// each process then saw. The child has been waited for when it returns.
///
/// # Errors
///
/// The error of `pipe`, `fork`, `read` or `waitpid`; `EIO` when the child's report is
/// incomplete or it did not exit with status 0.
pub fn observe(initial: u64, changed: u64) -> nix::Result<Views> {
    let mut x = initial;
    let (read_end, write_end) = pipe()?;
    // SAFETY: the child only writes to its own stack, then calls getpid, write and _exit,
    // all async-signal-safe.
    match unsafe { fork() }? {
        ForkResult::Child => {
            drop(read_end);
            x = changed;
            // The child's report must travel through the pipe: the parent cannot read the
            // child's `x`, even at the same address, because it is another copy.
            let x = std::hint::black_box(&x);
            let mut report = [0u8; REPORT];
            report[..8].copy_from_slice(&x.to_ne_bytes());
            report[8..16].copy_from_slice(&(&raw const *x as usize).to_ne_bytes());
            report[16..].copy_from_slice(&getpid().as_raw().to_ne_bytes());
            let code = if write_all(&write_end, &report).is_ok() {
                0
            } else {
                1
            };
            exit_now(code)
        }
        ForkResult::Parent { child } => {
            drop(write_end);
            let mut report = [0u8; REPORT + 1];
            let got = read_full(&read_end, &mut report)?;
            let status = loop {
                match waitpid(child, None) {
                    Err(Errno::EINTR) => continue,
                    other => break other?,
                }
            };
            if got != REPORT || status != WaitStatus::Exited(child, 0) {
                return Err(Errno::EIO);
            }
            let word = |range: std::ops::Range<usize>| -> [u8; 8] {
                report[range].try_into().unwrap_or_default()
            };
            let pid: [u8; 4] = report[16..REPORT].try_into().unwrap_or_default();
            let x = std::hint::black_box(&x);
            Ok(Views {
                child: View {
                    pid: Pid::from_raw(i32::from_ne_bytes(pid)),
                    value: u64::from_ne_bytes(word(0..8)),
                    address: usize::from_ne_bytes(word(8..16)),
                },
                parent: View {
                    pid: getpid(),
                    value: *x,
                    address: &raw const *x as usize,
                },
            })
        }
    }
}
