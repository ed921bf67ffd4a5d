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

/// The event's state: two counters that only grow. Waiter number `n` (counting from 0
/// in arrival order) is released once `released > n`.
#[derive(Debug, Default)]
struct State {
    /// How many threads have started waiting, ever: the next waiter's number.
    arrived: u64,
    /// How many of them have been released, oldest first.
    released: u64,
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
        // Take a number; we are released when the released count passes it. A wake-up
        // is thus addressed to waiters by number: a late arrival has a larger number
        // and cannot take it, and a spurious wake-up just loops.
        let me = s.arrived;
        s.arrived += 1;
        while s.released <= me {
            self.happened.wait(&mut s);
        }
    }

    /// Wakes the longest-waiting thread, if any; does nothing when nobody waits.
    pub fn signal(&self) {
        let mut s = self.state.lock();
        // Only a waiter can be released: with nobody waiting, nothing changes, so
        // nothing is remembered. `notify_all`: the condition variable does not know
        // which sleeper is the oldest; the others check their number and sleep again.
        if s.released < s.arrived {
            s.released += 1;
            self.happened.notify_all();
        }
    }

    /// Wakes every thread waiting now, and no thread that starts waiting later.
    pub fn broadcast(&self) {
        // One step under the lock, a generation change: everyone who arrived so far is
        // released, later arrivals get numbers beyond it.
        let mut s = self.state.lock();
        s.released = s.arrived;
        self.happened.notify_all();
    }

    /// How many threads are waiting (the notes' `queue()`).
    pub fn waiting(&self) -> usize {
        let s = self.state.lock();
        usize::try_from(s.arrived - s.released).expect("fewer waiters than usize::MAX")
    }
}
