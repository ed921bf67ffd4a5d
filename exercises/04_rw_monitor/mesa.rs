//! Readers and writers with a mutex and condition variables (`rw_monitor/mesa`).
//!
//! Task: the policy of `rw_monitor/hoare`, with [`interleave::sync::Mutex`] and
//! [`interleave::sync::Condvar`], whose semantics are Mesa's: `notify` only makes a
//! waiting thread runnable; it re-acquires the mutex later, after other threads (new
//! arrivals too) may have changed the state. The starter is the Hoare solution ported
//! with its `if`s. The policy:
//! - a reader waits while a writer writes or a writer is waiting; once admitted, waiting
//!   readers are admitted with it;
//! - a writer waits while readers read or a writer writes;
//! - when the last reader leaves, one waiting writer enters;
//! - when a writer leaves, all waiting readers enter if there are any, else one waiting
//!   writer.
//!
//! "Enters" means "is woken to enter": a writer that arrives between that wake-up and
//! the woken writer's return may enter first (it barges in, and the woken writer, finding
//! the place taken, waits again). Mesa semantics allow that, and the checks accept it;
//! readers admitted as a batch, though, must all get in.
//!
//! Invariant to protect: never a writer together with anyone else inside, whatever
//! thread barges in between a `notify` and the woken thread's return; nobody waits
//! forever. Done when `just check rw_monitor/mesa` passes.

use interleave::sync::{Condvar, Mutex};

/// The monitor's variables.
#[derive(Debug, Default)]
struct State {
    /// How many readers are inside.
    readers: usize,
    /// True while a writer is inside.
    busy: bool,
    /// Readers blocked in `start_read` (Condvar has no `queue()`, so we count).
    waiting_readers: usize,
    /// Writers blocked in `start_write`.
    waiting_writers: usize,
}

/// A readers-writers monitor on a mutex and two condition variables.
///
/// # Examples
///
/// ```
/// use rw_monitor::mesa::ReadersWriters;
///
/// let rw = ReadersWriters::new();
/// rw.start_read();
/// rw.finish_read();
/// rw.start_write();
/// rw.finish_write();
/// ```
#[derive(Debug)]
pub struct ReadersWriters {
    state: Mutex<State>,
    /// Readers wait here.
    ok_to_read: Condvar,
    /// Writers wait here.
    ok_to_write: Condvar,
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
            state: Mutex::new(State::default()),
            ok_to_read: Condvar::new(),
            ok_to_write: Condvar::new(),
        }
    }

    /// Enters as a reader; blocks while a writer writes or a writer is waiting.
    pub fn start_read(&self) {
        let mut s = self.state.lock();
        // TODO: this `if` was right under Hoare semantics. Here, between the notify and
        // our return, another thread may take the place we were woken for.
        if s.busy || s.waiting_writers > 0 {
            s.waiting_readers += 1;
            self.ok_to_read.wait(&mut s);
            s.waiting_readers -= 1;
        }
        s.readers += 1;
        self.ok_to_read.notify_one();
    }

    /// Leaves as a reader; the last reader out lets one waiting writer in.
    pub fn finish_read(&self) {
        let mut s = self.state.lock();
        s.readers -= 1;
        if s.readers == 0 {
            // TODO: who really gets in after this notify?
            self.ok_to_write.notify_one();
        }
    }

    /// Enters as a writer; blocks while readers read or a writer writes.
    pub fn start_write(&self) {
        let mut s = self.state.lock();
        // TODO: the same `if` as under Hoare semantics.
        if s.readers != 0 || s.busy {
            s.waiting_writers += 1;
            self.ok_to_write.wait(&mut s);
            s.waiting_writers -= 1;
        }
        s.busy = true;
    }

    /// Leaves as a writer: the waiting readers enter if there are any, else one writer.
    pub fn finish_write(&self) {
        let mut s = self.state.lock();
        s.busy = false;
        // TODO: the readers woken here must all get in, even though a writer may still
        // be waiting (with a `while`, they would go back to sleep).
        if s.waiting_readers > 0 {
            self.ok_to_read.notify_one();
        } else {
            self.ok_to_write.notify_one();
        }
    }
}
