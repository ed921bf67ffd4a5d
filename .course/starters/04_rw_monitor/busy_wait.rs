//! Find the bug: the notes' `readerwriter_1` (`rw_monitor/busy_wait`).
//!
//! This is the notes' first readers-writers monitor, almost literally: a reader spins
//! while there are writers, a writer spins while the resource is busy or read. Run the
//! tests and read the diagnosis first, then explain it: why can R1 never call
//! `finish_read` while W1 spins in `start_write`?
//!
//! Task: rewrite the monitor without any spinning, with condition variables, keeping
//! the notes' counters and the policy of `rw_monitor/hoare`:
//! - a reader waits while a writer writes or a writer is waiting; once admitted, waiting
//!   readers are admitted with it;
//! - a writer waits while readers read or a writer writes;
//! - when the last reader leaves, one waiting writer enters;
//! - when a writer leaves, all waiting readers enter if there are any, else one waiting
//!   writer.
//!
//! Invariant to protect: never a writer together with anyone else inside; no thread
//! keeps the monitor while it waits. Done when `just check rw_monitor/busy_wait` passes.

use interleave::monitor::{Monitor, Semantics};
use interleave::thread;

/// The monitor's variables, the notes' names in comments.
#[derive(Debug, Default)]
struct State {
    /// Readers inside (`numberofreaders`).
    readers: usize,
    /// Writers inside or waiting to enter (`numberofwriters`).
    writers: usize,
    /// True while a writer is inside (`busy`).
    busy: bool,
}

/// The notes' `readerwriter_1` monitor (Hoare semantics).
///
/// # Examples
///
/// ```
/// use rw_monitor::busy_wait::ReadersWriters;
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
    // TODO: the conditions threads wait on instead of spinning.
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
    // Clippy sees something wrong in this loop too; the tests will say more.
    #[allow(clippy::while_immutable_condition)]
    pub fn start_read(&self) {
        let mut m = self.monitor.enter();
        // TODO: the notes' `while (numberofwriters != 0) ;`, politely yielding the
        // processor on every turn. Is that enough?
        while m.writers != 0 {
            thread::yield_now();
        }
        m.readers += 1;
    }

    /// Leaves as a reader.
    pub fn finish_read(&self) {
        let mut m = self.monitor.enter();
        m.readers -= 1;
        // TODO: who could be waiting for this?
    }

    /// Enters as a writer; blocks while readers read or a writer writes.
    // Clippy sees something wrong in this loop too; the tests will say more.
    #[allow(clippy::while_immutable_condition)]
    pub fn start_write(&self) {
        let mut m = self.monitor.enter();
        m.writers += 1;
        // TODO: the notes' `while (busy || numberofreaders > 0) ;`.
        while m.busy || m.readers > 0 {
            thread::yield_now();
        }
        m.busy = true;
    }

    /// Leaves as a writer.
    pub fn finish_write(&self) {
        let mut m = self.monitor.enter();
        m.writers -= 1;
        m.busy = false;
        // TODO: who could be waiting for this?
    }
}
