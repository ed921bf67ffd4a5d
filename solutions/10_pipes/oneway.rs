//! Pipes, step 1: a one-way pipe from a parent to its child.
//!
//! Task: the parent creates a pipe, forks, and writes `message` into the pipe; the child
//! reads until end of file, prints `child: read N bytes until end of file` and exits.
//! The parent then waits for the child and returns its status.
//! Invariant: a reader sees end of file only when *every* write end of the pipe is
//! closed, in every process. `fork` copies the descriptors, so after it both processes
//! hold both ends: each must close the ends it does not use.
//! Time budget: each check gives the demo 5 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine.
//! Done when `just check pipes/oneway` (or `cargo course check pipes/oneway`) passes.

use crate::sys::{Line, exit_now, write_all};
use nix::errno::Errno;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, pipe, read};

/// Sends `message` to a new child process through a pipe and waits for the child.
///
/// The child reads the pipe until end of file, prints `child: read N bytes until end of
/// file` on standard output (N is the number of bytes it read) and exits with status 0
/// (1 if a read fails). Blocks until the child has exited.
///
/// # Errors
///
/// When `pipe`, `fork`, `write` or `waitpid` fails in the parent.
pub fn send_to_child(message: &[u8]) -> nix::Result<WaitStatus> {
    let (read_end, write_end) = pipe()?;
    // SAFETY: the demo that calls this is single-threaded, and the child only calls
    // async-signal-safe functions (read, write through `Line`, close) before `_exit`.
    match unsafe { fork() }? {
        ForkResult::Child => {
            // The child only reads: dropping an `OwnedFd` is a plain close(), which is
            // async-signal-safe. Now the parent's copy is the only write end left.
            drop(write_end);
            let mut total: u64 = 0;
            let mut buf = [0u8; 4096];
            loop {
                match read(&read_end, &mut buf) {
                    Ok(0) => break,
                    Ok(n) => total += n as u64,
                    Err(Errno::EINTR) => continue,
                    Err(_) => exit_now(1),
                }
            }
            Line::new()
                .text(b"child: read ")
                .num(total)
                .text(b" bytes until end of file\n")
                .print();
            exit_now(0)
        }
        ForkResult::Parent { child } => {
            // The parent only writes: its read end would only keep the pipe alive for
            // nobody (and hide EPIPE if the child died early).
            drop(read_end);
            let written = write_all(&write_end, message);
            // Closing the last write end is what turns the child's next read() into 0,
            // end of file. Close it even if the write failed, then reap the child.
            drop(write_end);
            let status = waitpid(child, None)?;
            written.map(|()| status)
        }
    }
}
