//! How the ring's producer and consumer wait: spin a little, then yield the processor.
//!
//! A waiting side first spins [`SPIN_LIMIT`] times on the atomic (the other side is often
//! only a few hundred nanoseconds away, on another core), then calls `sched_yield()` (through
//! [`std::thread::yield_now`]) on every further round, so that on a busy machine, or when
//! both processes share one core, the other side gets the processor instead of us burning
//! our time slice. A futex would let the waiter sleep in the kernel until woken, at the
//! price of a system call on the other side's fast path; this course keeps the simpler
//! policy and says so in the book.

/// Rounds of busy spinning before a waiter starts yielding.
pub const SPIN_LIMIT: u32 = 128;

/// The state of one wait: how many rounds it has spun so far.
#[derive(Debug, Default)]
pub struct Backoff {
    rounds: u32,
}

impl Backoff {
    /// A wait that has not spun yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits a little: a spin-loop hint for the first [`SPIN_LIMIT`] rounds, then
    /// `sched_yield()`. Async-signal-safe (no allocation, no lock).
    pub fn snooze(&mut self) {
        if self.rounds < SPIN_LIMIT {
            self.rounds += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }

    /// Whether this wait has reached the yielding phase (a long wait).
    pub fn is_yielding(&self) -> bool {
        self.rounds >= SPIN_LIMIT
    }
}
