//! mmap, step 3: one counter in an anonymous shared mapping, two processes adding to it.
//!
//! Task: `count_together` (already written, in `crates/mmap/src/race.rs`: read it) maps a
//! `Shared` block with `MAP_SHARED | MAP_ANONYMOUS`, forks, and lets the parent and the
//! child each call `increment` `iterations` times at the same moment (in rounds that start
//! together); the parent then reaps the child and returns the counter. Your part is
//! `increment`.
//! Invariant: no update is lost: with two processes the counter ends at exactly
//! `2 * iterations`, on every run, however the two processes interleave.
//! Time budget: each run of the demo gets 10 s, extended while one of its processes sleeps
//! or computes (up to 30 s).
//! Done when `just check mmap/shared_counter` passes.

use std::sync::atomic::{AtomicU64, Ordering};

pub use crate::race::{ROUND, Shared};

/// Adds 1 to `counter`, which the other process is incrementing at the same moment.
pub fn increment(counter: &AtomicU64) {
    // TODO: the other process can load the same value between this load and this store, and
    // then one of the two increments is lost. Make the read-modify-write one atomic step.
    let value = counter.load(Ordering::Relaxed);
    counter.store(value + 1, Ordering::Relaxed);
}

/// Forks one child; the parent and the child each call `increment(&counter)` `iterations`
/// times, starting together; returns the counter once the child has been reaped. (The race
/// itself is [`crate::race::count_together`].)
///
/// # Errors
///
/// What `mmap`, `fork` or `waitpid` return.
///
/// # Panics
///
/// If the child does not exit with status 0 (it cannot fail, unless killed).
pub fn count_together(iterations: u64, increment: fn(&AtomicU64)) -> nix::Result<u64> {
    crate::race::count_together(iterations, increment)
}
