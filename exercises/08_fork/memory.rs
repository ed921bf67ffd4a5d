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

use crate::sys::exit_now;
use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid};

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

/// Sets a variable to `initial`, forks a child that sets it to `changed`, and returns what
/// each process then saw. The child has been waited for when it returns.
///
/// # Errors
///
/// The error of `pipe`, `fork`, `read` or `waitpid`; `EIO` when the child's report is
/// incomplete or it did not exit with status 0.
pub fn observe(initial: u64, changed: u64) -> nix::Result<Views> {
    let mut x = initial;
    // SAFETY: the child only writes to its own stack and calls _exit, which is
    // async-signal-safe.
    match unsafe { fork() }? {
        ForkResult::Child => {
            x = changed;
            std::hint::black_box(&x);
            // TODO: the parent cannot look at this `x`. Send the child's view (value,
            // address `&raw const x as usize`, pid) through a pipe made before the fork
            // (`nix::unistd::pipe`, `crate::sys::write_all`), then exit.
            exit_now(0)
        }
        ForkResult::Parent { child } => {
            let status = loop {
                match waitpid(child, None) {
                    Err(Errno::EINTR) => continue,
                    other => break other?,
                }
            };
            if status != WaitStatus::Exited(child, 0) {
                return Err(Errno::EIO);
            }
            let x = std::hint::black_box(&x);
            // TODO: this "child view" is the parent's own `x`: the child changed its copy,
            // not this one. Read the child's report from the pipe instead (see
            // `crate::sys::read_full`).
            Ok(Views {
                child: View {
                    pid: child,
                    value: *x,
                    address: &raw const *x as usize,
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
