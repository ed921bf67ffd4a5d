//! Readers and writers on a Hoare monitor (`rw_monitor/hoare`).
//!
//! Task: complete the notes' `readerwriter_2` monitor with its two conditions,
//! `ok_to_read` and `ok_to_write`, on an [`interleave::monitor::Monitor`] with
//! [`Semantics::Hoare`]. The policy:
//! - a reader waits while a writer writes or a writer is waiting; once admitted, waiting
//!   readers are admitted with it;
//! - a writer waits while readers read or a writer writes;
//! - when the last reader leaves, one waiting writer enters;
//! - when a writer leaves, all waiting readers enter if there are any, else one waiting
//!   writer.
//!
//! Invariant to protect: never a writer together with anyone else inside; and nobody
//! waits forever (no writer behind a stream of readers, no reader behind writers).
//! Done when `just check rw_monitor/hoare` (or `cargo course check rw_monitor/hoare`)
//! passes.

use interleave::monitor::{Condition, Monitor, Semantics};

/// The monitor's variables, as in the notes' `readerwriter_2`.
#[derive(Debug, Default)]
struct State {
    /// How many readers are inside (the notes' `numberofreaders`).
    readers: usize,
    /// True while a writer is inside (the notes' `busy`).
    busy: bool,
}

/// A readers-writers monitor with Hoare semantics.
///
/// # Examples
///
/// ```
/// use rw_monitor::hoare::ReadersWriters;
///
/// let rw = ReadersWriters::new();
/// rw.start_read();
/// rw.finish_read();
/// rw.start_write();
/// rw.finish_write();
/// ```
#[derive(Debug)]
pub struct ReadersWriters {
    monitor: Monitor<State>,
    // Under Hoare semantics a signalled thread runs at once, in the state the signaller
    // left: each condition is a queue of threads waiting for one fact to become true.
    /// Readers wait here while a writer writes or waits.
    ok_to_read: Condition,
    /// Writers wait here while readers read or a writer writes.
    ok_to_write: Condition,
}

impl Default for ReadersWriters {
    fn default() -> Self {
        Self::new()
    }
}

impl ReadersWriters {
    /// Creates a monitor with nobody inside.
    pub fn new() -> Self {
        ReadersWriters {
            monitor: Monitor::new(State::default(), Semantics::Hoare),
            ok_to_read: Condition::new(),
            ok_to_write: Condition::new(),
        }
    }

    /// Enters as a reader; blocks while a writer writes or a writer is waiting.
    pub fn start_read(&self) {
        let mut m = self.monitor.enter();
        // `if` is enough: whoever signals `ok_to_read` hands us the monitor at once, in
        // a state where reading is allowed. Waiting writers keep new readers out, so a
        // stream of readers cannot starve a writer.
        if m.busy || self.ok_to_write.queue() {
            self.ok_to_read.wait(&mut m);
        }
        m.readers += 1;
        // The cascade: each admitted reader admits the next waiting one, so all the
        // readers that waited for a writer enter together.
        self.ok_to_read.signal(&mut m);
    }

    /// Leaves as a reader; the last reader out lets one waiting writer in.
    pub fn finish_read(&self) {
        let mut m = self.monitor.enter();
        m.readers -= 1;
        if m.readers == 0 {
            self.ok_to_write.signal(&mut m);
        }
    }

    /// Enters as a writer; blocks while readers read or a writer writes.
    pub fn start_write(&self) {
        let mut m = self.monitor.enter();
        if m.readers != 0 || m.busy {
            self.ok_to_write.wait(&mut m);
        }
        m.busy = true;
    }

    /// Leaves as a writer: the waiting readers enter if there are any, else one writer.
    pub fn finish_write(&self) {
        let mut m = self.monitor.enter();
        m.busy = false;
        // Readers first, so writers cannot starve them either.
        if self.ok_to_read.queue() {
            self.ok_to_read.signal(&mut m);
        } else {
            self.ok_to_write.signal(&mut m);
        }
    }
}
