//! The canonical scheduler: non-preemptive. The running thread keeps running until it
//! blocks, yields or ends; then the thread that has been ready longest runs (FIFO
//! wake-ups, ties by creation order). Scenarios use it, and it is the baseline the
//! delay-bounded search deviates from.

use super::Scheduler;
use crate::runtime::execution::Tid;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Canonical;

impl Scheduler for Canonical {
    fn choose(&mut self, ready: &[Tid], _step: u64) -> Tid {
        ready[0]
    }

    fn describe(&self) -> String {
        "canonical".to_string()
    }
}
