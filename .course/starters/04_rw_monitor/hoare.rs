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

use interleave::monitor::{Monitor, Semantics};

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
    // TODO: add the notes' two conditions: `ok_to_read` (readers wait there) and
    // `ok_to_write` (writers wait there), made with
    // `interleave::monitor::Condition::new()`.
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
        }
    }

    /// Enters as a reader; blocks while a writer writes or a writer is waiting.
    pub fn start_read(&self) {
        let mut m = self.monitor.enter();
        // TODO: wait on `ok_to_read` if a writer writes or a writer waits
        // (`condition.queue()` tells whether threads wait on a condition).
        m.readers += 1;
        // TODO: once in, let the next waiting reader in too.
    }

    /// Leaves as a reader; the last reader out lets one waiting writer in.
    pub fn finish_read(&self) {
        let mut m = self.monitor.enter();
        m.readers -= 1;
        // TODO: the last reader out signals `ok_to_write`.
    }

    /// Enters as a writer; blocks while readers read or a writer writes.
    pub fn start_write(&self) {
        let mut m = self.monitor.enter();
        // TODO: wait on `ok_to_write` if readers read or a writer writes.
        m.busy = true;
    }

    /// Leaves as a writer: the waiting readers enter if there are any, else one writer.
    pub fn finish_write(&self) {
        let mut m = self.monitor.enter();
        m.busy = false;
        // TODO: signal `ok_to_read` if readers wait, else `ok_to_write`.
    }
}
