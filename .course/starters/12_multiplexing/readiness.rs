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

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;

/// Reads every pipe in `pipes` until its end of file (every write end closed) and
/// returns what each one carried, in the same order. Closes the pipes.
///
/// Blocks until every pipe has reached its end of file.
///
/// # Errors
///
/// The first failing `read` (or `poll`).
pub fn collect(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    // TODO: this reads the pipes one after another. While it sits in read() on pipe 0,
    // waiting for an end of file that child 2 will only send after child 1 has finished,
    // nobody empties pipe 1, so child 1 blocks in write() as soon as its pipe is full.
    // Wait on all the pipes at once with `nix::poll::poll` instead, and read from
    // whichever is ready; a pipe is done when read() returns 0.
    // ANCHOR: sequential
    let mut outputs = Vec::with_capacity(pipes.len());
    for pipe in pipes {
        let mut bytes = Vec::new();
        File::from(pipe).read_to_end(&mut bytes)?;
        outputs.push(bytes);
    }
    Ok(outputs)
    // ANCHOR_END: sequential
}
