//! A made-up view (`fork/memory`): the parent reports the child's view from what it knows
//! (`changed`, the address of its own x, the pid fork returned) instead of receiving it
//! through a pipe. It prints exactly the expected lines; only `memory --report-lost`, whose
//! child's pipe leads nowhere, shows that the view did not come from the child.

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
            // The child's copy is where ours is and holds `changed`: the parent "knows" it.
            Ok(Views {
                child: View {
                    pid: child,
                    value: changed,
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
