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

use interleave::monitor::{Condition, Monitor, Semantics};

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
    // A spinning thread keeps the monitor, so the thread that would end its wait can
    // never enter: waiting must *leave* the monitor, which is what `Condition::wait`
    // does (and a signal brings the thread back in).
    /// Readers wait here while there are writers.
    ok_to_read: Condition,
    /// Writers wait here while the resource is busy or read.
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
        // The spin becomes a wait, which releases the monitor. Hoare semantics: the
        // signaller hands us the monitor in a state where we may read, so `if` suffices.
        if m.writers != 0 {
            self.ok_to_read.wait(&mut m);
        }
        m.readers += 1;
        // Admit the next waiting reader too (a cascade through all of them).
        self.ok_to_read.signal(&mut m);
    }

    /// Leaves as a reader.
    pub fn finish_read(&self) {
        let mut m = self.monitor.enter();
        m.readers -= 1;
        // The writer the spin was waiting for: the last reader out lets it in.
        if m.readers == 0 {
            self.ok_to_write.signal(&mut m);
        }
    }

    /// Enters as a writer; blocks while readers read or a writer writes.
    pub fn start_write(&self) {
        let mut m = self.monitor.enter();
        m.writers += 1;
        if m.busy || m.readers > 0 {
            self.ok_to_write.wait(&mut m);
        }
        m.busy = true;
    }

    /// Leaves as a writer.
    pub fn finish_write(&self) {
        let mut m = self.monitor.enter();
        m.writers -= 1;
        m.busy = false;
        // Waiting readers first (all of them, through their cascade), else one writer.
        if self.ok_to_read.queue() {
            self.ok_to_read.signal(&mut m);
        } else {
            self.ok_to_write.signal(&mut m);
        }
    }
}
