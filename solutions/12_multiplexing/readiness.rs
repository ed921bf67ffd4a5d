//! Multiplexing, step 1: read several children's pipes at once.
//!
//! Task: `collect` receives the read ends of several pipes, each filled by a child
//! process, and returns everything each pipe carried, in the order given. The demo
//! `readiness` starts two children: child 1 writes 256 KiB (more than a pipe holds: 64
//! KiB on Linux), child 2 writes one line, but only after child 1 has finished. It hands
//! `collect` child 2's pipe first, then child 1's.
//! Invariant: never block on one pipe while another one is full. A child blocked in
//! `write()` on a full pipe cannot finish, and whatever waits for it waits forever.
//! Time budget: each run of the demo gets 10 s, extended while one of its processes sleeps
//! or computes (up to 30 s); a `collect` that spins is stopped there.
//! Done when `just check multiplexing/readiness` (or `cargo course check
//! multiplexing/readiness`) passes.

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};

/// Reads every pipe in `pipes` until its end of file (every write end closed) and
/// returns what each one carried, in the same order. Closes the pipes.
///
/// Blocks until every pipe has reached its end of file.
///
/// # Errors
///
/// The first failing `read` (or `poll`).
pub fn collect(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    // Wait on every pipe still open at once, and read only from the ready ones: a ready
    // pipe never blocks read(), so no child is ever left blocked on a full pipe while
    // we sleep elsewhere. A pipe whose read() returns 0 is at its end: drop (close) it
    // and stop watching it.
    let mut open: Vec<Option<File>> = pipes.into_iter().map(|p| Some(File::from(p))).collect();
    let mut outputs = vec![Vec::new(); open.len()];
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let watched: Vec<usize> = (0..open.len()).filter(|&i| open[i].is_some()).collect();
        if watched.is_empty() {
            return Ok(outputs);
        }
        let mut fds: Vec<PollFd<'_>> = watched
            .iter()
            .filter_map(|&i| open[i].as_ref())
            .map(|file| PollFd::new(file.as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
        }
        // POLLHUP without POLLIN means "writers gone, nothing left": read() returns 0.
        let ready: Vec<usize> = watched
            .iter()
            .zip(&fds)
            .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(&i, _)| i)
            .collect();
        drop(fds);
        for i in ready {
            let Some(file) = open[i].as_mut() else {
                continue;
            };
            match file.read(&mut buf) {
                Ok(0) => open[i] = None,
                Ok(n) => outputs[i].extend_from_slice(&buf[..n]),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }
}
