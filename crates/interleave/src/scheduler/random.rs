//! Seeded random scheduling: at every point, a uniformly chosen ready thread runs.

use super::{Rng, Scheduler};
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

    fn describe(&self) -> String {
        "random".to_string()
    }
}
