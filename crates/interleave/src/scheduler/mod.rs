//! Scheduling strategies, one per file. Each decides, at every scheduling point, which
//! ready thread runs next. The run loop hands them the ready threads in canonical order
//! (the running thread first unless it blocked or yielded, then FIFO by the time each
//! became ready, ties by creation order), so "index 0" is always the canonical choice.

mod canonical;
mod delay;
mod pct;
mod random;

pub(crate) use canonical::Canonical;
pub(crate) use delay::{DelayBounded, Replay};
pub(crate) use pct::Pct;
pub(crate) use random::Random;

use crate::runtime::execution::Tid;

/// A scheduling strategy.
pub(crate) trait Scheduler {
    /// Prepares the next execution. Returns false when the strategy has nothing left to
    /// explore (the exhaustive search is complete).
    fn begin(&mut self) -> bool {
        true
    }
    /// Picks one of `ready` (never empty, canonical order) at `step`.
    fn choose(&mut self, ready: &[Tid], step: u64) -> Tid;
    /// The running thread called `yield_now`.
    fn on_yield(&mut self, _tid: Tid) {}
    /// The strategy string that replays the execution just run (`pct:3`, `schedule:...`).
    fn describe(&self) -> String;
}

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
