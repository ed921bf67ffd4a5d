//! Scheduling strategies, one per file. Each decides, at every scheduling point, which
//! ready thread runs next. The run loop hands them the ready threads in canonical order
//! (the running thread first unless it blocked or yielded, then FIFO by the time each
//! became ready, ties by creation order), so "index 0" is always the canonical choice.
//!
//! Strategies also make the program's other nondeterministic choices ([`Decision`]):
//! which waiter gets a released lock, and, under std's condvar contract, which waiter a
//! `notify_one` wakes and whether a wait returns spuriously. Option 0 is always the
//! canonical one (FIFO, no spurious wake-up), so the canonical scheduler and scenarios
//! never see the difference.

mod canonical;
mod delay;
mod pct;
mod random;

pub(crate) use canonical::Canonical;
pub(crate) use delay::{DelayBounded, Progress, Replay};
pub(crate) use pct::Pct;
pub(crate) use random::Random;

use crate::runtime::execution::Tid;

/// A choice other than which thread runs next. Option 0 is the canonical one.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Decision<'a> {
    /// Which of the waiting threads (FIFO order) gets a lock that was just released.
    Handoff(&'a [Tid]),
    /// Which of the waiting threads (FIFO order) a `notify_one` wakes.
    Notify(&'a [Tid]),
    /// Whether a wait returns at once without a notification (1) or waits (0).
    Spurious,
}

impl Decision<'_> {
    /// How many options there are.
    pub(crate) fn options(&self) -> usize {
        match self {
            Decision::Handoff(t) | Decision::Notify(t) => t.len(),
            Decision::Spurious => 2,
        }
    }
}

/// A scheduling strategy.
pub(crate) trait Scheduler {
    /// Prepares the next execution. Returns false when the strategy has nothing left to
    /// explore (the exhaustive search is complete).
    fn begin(&mut self) -> bool {
        true
    }
    /// The next choice is one of the steps PCT counts (more than one thread is ready,
    /// and the thread that ran last can still run: see `Execution::run`).
    fn on_decision(&mut self) {}
    /// Picks one of `ready` (never empty, canonical order) at `step`.
    fn choose(&mut self, ready: &[Tid], step: u64) -> Tid;
    /// Makes a decision during step `step` (as traces number steps); returns the option
    /// taken, 0 being the canonical one.
    fn decide(&mut self, _d: Decision<'_>, _step: u64) -> usize {
        0
    }
    /// The running thread called `yield_now`.
    fn on_yield(&mut self, _tid: Tid) {}
    /// Whether to use PCT's scheduling points: a lock release is one (so a thread can
    /// be delayed while it still holds the lock), the point before a join on a running
    /// thread is not (blocking is one already). The other strategies keep the canonical
    /// points, with which scenario tables and traces are numbered.
    fn pct_points(&self) -> bool {
        false
    }
    /// How far an exhaustive search got.
    fn progress(&self) -> Option<Progress> {
        None
    }
    /// The strategy string that replays the execution just run (`pct:3`, `schedule:...`).
    fn describe(&self) -> String;
}

/// The probability of a spurious wake-up, one in this many, for the randomised
/// strategies (std's condvar contract only).
pub(crate) const SPURIOUS_ONE_IN: u64 = 4;

/// A small, portable, seedable generator (SplitMix64): the same seed gives the same
/// schedules on every platform and every version of this crate.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

/// The SplitMix64 finaliser, also used to derive per-iteration seeds.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
