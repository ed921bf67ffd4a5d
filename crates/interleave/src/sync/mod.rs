//! Synchronisation primitives with parking_lot's names and signatures.
//!
//! Outside a simulation they are parking_lot's (and std's atomics) behind one check;
//! inside one ([`crate::explore()`], [`crate::scenario::Scenario`]) every operation is a
//! scheduling point and a trace event, and blocking is modelled by the scheduler.
//! Whether an object is real or simulated is decided when it is created.

mod condvar;
mod mutex;
mod reentrant;
mod rwlock;

pub mod atomic;

pub use condvar::{Condvar, WaitTimeoutResult};
pub use mutex::{Mutex, MutexGuard};
pub use reentrant::{ReentrantMutex, ReentrantMutexGuard};
pub use rwlock::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// `std::sync::Arc`, re-exported so that simulated code needs one import path.
pub use std::sync::Arc;

use crate::runtime::execution::Tid;
use crate::runtime::{self, Execution, ObjId};
use crate::site::Naming;

/// A handle on an object of the current simulation.
#[derive(Debug)]
pub(crate) struct SimRef {
    generation: u64,
    pub(crate) id: ObjId,
}

impl SimRef {
    /// Registers a new object in `e`.
    pub(crate) fn new(e: &Execution, kind: &'static str, naming: Naming) -> Self {
        SimRef {
            generation: e.generation,
            id: e.register_as(kind, naming),
        }
    }

    /// The generation of the execution the object belongs to.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The execution this object belongs to, which must be the current one.
    #[inline]
    pub(crate) fn exec(&self, kind: &str) -> &'static Execution {
        match runtime::current() {
            Some(e) if e.generation == self.generation => e,
            _ => runtime::foreign_use(kind, self.generation),
        }
    }
}

/// The current managed thread; blocking primitives cannot be used from scheduler context.
pub(crate) fn me(e: &Execution, what: &str) -> Tid {
    e.me().unwrap_or_else(|| {
        panic!(
            "interleave: {what} used outside a managed thread (in an invariant or state closure?); \
             read test-side state with explore::Observed instead"
        )
    })
}
