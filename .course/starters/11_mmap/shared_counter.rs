//! mmap, step 3: one counter in an anonymous shared mapping, two processes adding to it.
//!
//! Task: `count_together` (already written: read it) maps a `Shared` block with
//! `MAP_SHARED | MAP_ANONYMOUS`, forks, and lets the parent and the child each call
//! `increment` `iterations` times at the same moment (in rounds that start together); the parent then reaps the child and
//! returns the counter. Your part is `increment`.
//! Invariant: no update is lost: with two processes the counter ends at exactly
//! `2 * iterations`, on every run.
//! Done when `just check mmap/shared_counter` passes.

use crate::child;
use crate::shm::{Padded, Shareable, SharedMemory};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork};
use std::sync::atomic::{AtomicU64, Ordering};

/// The block the two processes share.
#[derive(Debug, Default)]
#[repr(C)]
pub struct Shared {
    /// The counter both processes increment.
    pub counter: Padded<AtomicU64>,
    /// The start line, crossed once per round: each process adds 1 when it reaches it, and
    /// round `r` starts once it reaches `2 * (r + 1)`, so that the two loops really run side
    /// by side, even on a busy machine.
    pub ready: Padded<AtomicU64>,
}

// SAFETY: two padded atomics: zero is valid, no pointers, synchronised by themselves.
unsafe impl Shareable for Shared {}

/// Adds 1 to `counter`, which the other process is incrementing at the same moment.
pub fn increment(counter: &AtomicU64) {
    // TODO: the other process can load the same value between this load and this store, and
    // then one of the two increments is lost. Make the read-modify-write one atomic step.
    let value = counter.load(Ordering::Relaxed);
    counter.store(value + 1, Ordering::Relaxed);
}

/// Forks one child; the parent and the child each call `increment(&counter)` `iterations`
/// times, starting together; returns the counter once the child has been reaped.
///
/// # Errors
///
/// What `mmap`, `fork` or `waitpid` return.
///
/// # Panics
///
/// If the child does not exit with status 0 (it cannot fail, unless killed).
// ANCHOR: count_together
pub fn count_together(iterations: u64, increment: fn(&AtomicU64)) -> nix::Result<u64> {
    let shared = SharedMemory::<Shared>::new()?;
    // SAFETY: the demo binaries that call this are single-threaded, and the child below only
    // touches atomics in the shared mapping, spins or yields, and leaves with `_exit`: all
    // async-signal-safe, no allocation, no lock, no panic.
    match unsafe { fork() }? {
        ForkResult::Child => {
            // Each process on its own processor: they really run at the same time.
            crate::cpu::pin_to_nth_cpu(1);
            race(&shared, iterations, increment);
            child::exit(0)
        }
        ForkResult::Parent { child } => {
            crate::cpu::pin_to_nth_cpu(0);
            race(&shared, iterations, increment);
            match waitpid(child, None)? {
                WaitStatus::Exited(_, 0) => {}
                status => panic!("the child should exit with 0, it ended with {status:?}"),
            }
            // After waitpid, every store the child made is visible here.
            Ok(shared.counter.load(Ordering::SeqCst))
        }
    }
}
// ANCHOR_END: count_together

/// Increments per round: both processes wait for each other at the start of every round.
pub const ROUND: u64 = 10_000;

/// What each process does, round after round: reach the start line, wait for the other,
/// then count. Without the rounds, on a loaded machine one process could run its whole loop
/// before the other is even scheduled, and the race would hide (a timing-dependent bug
/// looks fine under load: that is what makes such bugs hard).
fn race(shared: &Shared, iterations: u64, increment: fn(&AtomicU64)) {
    let mut done = 0;
    let mut round = 0;
    while done < iterations {
        round += 1;
        shared.ready.fetch_add(1, Ordering::SeqCst);
        // Busy-wait, so that this process is still on its processor when the other one
        // arrives; yield only now and then, in case both share one processor.
        let mut spins = 0u32;
        while shared.ready.load(Ordering::SeqCst) < 2 * round {
            spins = spins.wrapping_add(1);
            if spins % (1 << 16) == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        let this_round = ROUND.min(iterations - done);
        for _ in 0..this_round {
            increment(&shared.counter);
        }
        done += this_round;
    }
}
