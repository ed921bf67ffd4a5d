//! The private runtime: the execution (thread and object tables, the run loop), the
//! thread-local pointer that tells the facade whether a simulation is active, and the
//! watchdog that turns a hang outside the scheduler into a diagnosis.

pub(crate) mod execution;
pub(crate) mod overflow;
pub(crate) mod text;
pub(crate) mod thread;
pub(crate) mod watchdog;

use std::cell::Cell;

pub(crate) use execution::{Execution, FailureKind, ObjId, Pick, RunEnd, Wait, WaitKind};

thread_local! {
    static CURRENT: Cell<*const Execution> = const { Cell::new(std::ptr::null()) };
}

/// The simulation running on this OS thread, if any.
#[inline]
pub(crate) fn current() -> Option<&'static Execution> {
    let p = CURRENT.with(Cell::get);
    if p.is_null() {
        None
    } else {
        // SAFETY: the pointer is set by `Installed::new` from a live `&Execution` and reset
        // by `Installed::drop` before that execution is dropped; every user of the returned
        // reference runs on this OS thread between those two points (inside a coroutine or
        // the run loop), so the execution outlives every use.
        Some(unsafe { &*p })
    }
}

/// True if a simulation is active on this OS thread.
#[inline]
pub(crate) fn active() -> bool {
    !CURRENT.with(Cell::get).is_null()
}

/// Installs an execution as this OS thread's current simulation for its lifetime.
pub(crate) struct Installed<'a> {
    exec: &'a Execution,
}

impl<'a> Installed<'a> {
    pub(crate) fn new(exec: &'a Execution) -> Self {
        assert!(
            !active(),
            "interleave: a simulation cannot be started inside another simulation"
        );
        CURRENT.with(|c| c.set(exec as *const Execution));
        watchdog::watch(exec.shared.clone());
        Installed { exec }
    }
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        self.exec.finish();
        CURRENT.with(|c| c.set(std::ptr::null()));
    }
}

/// Panics with a diagnosis: an object created by a simulation is used outside it, or an
/// object of a finished simulation is used in another one.
#[cold]
pub(crate) fn foreign_use(kind: &str, generation: u64) -> ! {
    match current() {
        None => panic!(
            "interleave: a simulated {kind} is used from a thread the scheduler does not manage: \
             was it spawned with std::thread::spawn instead of interleave::thread::spawn, or used \
             after its simulation ended?"
        ),
        Some(e) if e.generation != generation => panic!(
            "interleave: a simulated {kind} created by an earlier simulation is used in another \
             one: create shared objects inside the explored body"
        ),
        Some(_) => unreachable!("foreign_use called for a local object"),
    }
}

/// A real-mode primitive is about to block inside a simulation: the scheduler cannot see
/// it, and the OS thread would hang. Report it instead.
#[cold]
pub(crate) fn real_block_in_simulation(kind: &str) {
    if let Some(e) = current() {
        let name = e
            .me()
            .map(|t| e.lock().thread_name(t).to_string())
            .unwrap_or_else(|| "the scheduler".to_string());
        panic!(
            "interleave: {name} would block on a real {kind} created outside the simulation; the \
             scheduler cannot see it. Create the {kind} inside the simulated body."
        );
    }
}
