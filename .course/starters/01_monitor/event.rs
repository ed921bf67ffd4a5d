//! The notes' event: `topOfHour` (`monitor/event`).
//!
//! Task: an `Event` that threads wait for, like the notes' `topofhour.wait()`:
//! - `wait()` blocks until the event is signalled;
//! - `signal()` wakes one waiting thread, the one that has waited longest; with nobody
//!   waiting it does nothing: the signal is not remembered, a later `wait()` still blocks;
//! - `broadcast()` wakes exactly the threads waiting at that moment, not the ones that
//!   start waiting afterwards;
//! - `waiting()` says how many threads wait (the notes' `queue()`).
//!
//! The notes broadcast with `while (topofhour.queue() > 0) topofhour.signal();`. Find
//! out why that is wrong here: a signalled thread leaves the queue only when it runs
//! again, which may be much later.
//!
//! Invariant to protect: a `wait()` returns only for a signal or broadcast that came
//! after it started waiting. Done when `just check monitor/event` passes.

use interleave::sync::{Condvar, Mutex};

/// The event's state.
#[derive(Debug, Default)]
struct State {
    /// Threads blocked in `wait`.
    waiting: usize,
    /// Signals sent and not yet consumed by a waiter.
    signals: usize,
}

/// An event in the notes' sense: a queue of threads waiting for something to happen.
///
/// # Examples
///
/// ```
/// use monitor::event::Event;
///
/// let top_of_hour = Event::new();
/// assert_eq!(top_of_hour.waiting(), 0);
/// top_of_hour.broadcast(); // nobody waits: no effect
/// ```
#[derive(Debug)]
pub struct Event {
    state: Mutex<State>,
    /// Waiters sleep here.
    happened: Condvar,
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl Event {
    /// Creates an event nobody waits for.
    pub fn new() -> Self {
        Event {
            state: Mutex::new(State::default()),
            happened: Condvar::new(),
        }
    }

    /// Blocks until a `signal` or `broadcast` that comes after this call wakes the
    /// caller.
    pub fn wait(&self) {
        let mut s = self.state.lock();
        s.waiting += 1;
        // TODO: a waiter must only take a wake-up that was meant for it.
        while s.signals == 0 {
            self.happened.wait(&mut s);
        }
        s.signals -= 1;
        s.waiting -= 1;
    }

    /// Wakes the longest-waiting thread, if any; does nothing when nobody waits.
    pub fn signal(&self) {
        let mut s = self.state.lock();
        // TODO: with nobody waiting, this signal is remembered by the next `wait`.
        s.signals += 1;
        self.happened.notify_one();
    }

    /// Wakes every thread waiting now, and no thread that starts waiting later.
    pub fn broadcast(&self) {
        // TODO: the notes' loop. Does `waiting()` drop when `signal` returns?
        while self.waiting() > 0 {
            self.signal();
        }
    }

    /// How many threads are waiting (the notes' `queue()`).
    pub fn waiting(&self) -> usize {
        self.state.lock().waiting
    }
}
