//! Seeded random scheduling: at every point, a uniformly chosen ready thread runs; a
//! released lock goes to a uniformly chosen waiter, as when every waiter races for it.

use super::{Decision, Rng, SPURIOUS_ONE_IN, Scheduler};
use crate::runtime::execution::Tid;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Random {
    rng: Rng,
}

impl Random {
    pub(crate) fn new(seed: u64) -> Self {
        Random {
            rng: Rng::new(seed),
        }
    }
}

impl Scheduler for Random {
    fn choose(&mut self, ready: &[Tid], _step: u64) -> Tid {
        ready[self.rng.below(ready.len() as u64) as usize]
    }

    fn decide(&mut self, d: Decision<'_>, _step: u64) -> usize {
        match d {
            Decision::Handoff(t) | Decision::Notify(t) => self.rng.below(t.len() as u64) as usize,
            Decision::Spurious => usize::from(self.rng.below(SPURIOUS_ONE_IN) == 0),
        }
    }

    fn describe(&self) -> String {
        "random".to_string()
    }
}
