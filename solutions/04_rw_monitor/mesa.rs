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
    /// Readers inside, including those admitted but not yet returned from `start_read`.
    readers: usize,
    /// True while a writer is inside (or admitted and about to return).
    busy: bool,
    /// Readers blocked in `start_read`.
    waiting_readers: usize,
    /// Writers blocked in `start_write`.
    waiting_writers: usize,
    /// Bumped each time a leaving writer admits the waiting readers: a waiting reader
    /// is in once the batch it waited in is over.
    read_batch: u64,
    /// Writers' tickets: `tickets` were handed to waiting writers, the first `admitted`
    /// of them were let in (FIFO).
    tickets: u64,
    /// See `tickets`.
    admitted: u64,
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
        if !s.busy && s.waiting_writers == 0 {
            s.readers += 1;
            return;
        }
        // Under Mesa semantics the state can change between the `notify` and our return,
        // so "the condition held when I was woken" proves nothing: we wait in a `while`
        // loop on a fact that stays true once set. The leaving writer admits the whole
        // batch itself (it counts us in `readers`, "passing the baton"), so a thread
        // that barges in cannot take our place, and a writer waiting behind us does not
        // send us back to sleep.
        s.waiting_readers += 1;
        let batch = s.read_batch;
        while s.read_batch == batch {
            self.ok_to_read.wait(&mut s);
        }
    }

    /// Leaves as a reader; the last reader out lets one waiting writer in.
    pub fn finish_read(&self) {
        let mut s = self.state.lock();
        s.readers -= 1;
        if s.readers == 0 {
            self.admit_writer(&mut s);
        }
    }

    /// Enters as a writer; blocks while readers read or a writer writes.
    pub fn start_write(&self) {
        let mut s = self.state.lock();
        if s.readers == 0 && !s.busy && s.waiting_writers == 0 {
            s.busy = true;
            return;
        }
        // A ticket, and a `while` on it: we are in once the leaver has admitted our
        // ticket (and set `busy` for us), whoever else ran in between.
        let ticket = s.tickets;
        s.tickets += 1;
        s.waiting_writers += 1;
        while s.admitted <= ticket {
            self.ok_to_write.wait(&mut s);
        }
    }

    /// Leaves as a writer: the waiting readers enter if there are any, else one writer.
    pub fn finish_write(&self) {
        let mut s = self.state.lock();
        s.busy = false;
        if s.waiting_readers > 0 {
            // All of them, at once: count them in and end their batch. `notify_all`,
            // since every one of them must wake up.
            s.readers += s.waiting_readers;
            s.waiting_readers = 0;
            s.read_batch += 1;
            self.ok_to_read.notify_all();
        } else {
            self.admit_writer(&mut s);
        }
    }

    /// Lets the longest-waiting writer in, if any. `notify_all`, not `notify_one`: the
    /// condition variable may wake another writer than the admitted one, which would go
    /// back to sleep and leave the admitted one asleep (a lost wake-up).
    fn admit_writer(&self, s: &mut State) {
        if s.waiting_writers > 0 {
            s.waiting_writers -= 1;
            s.admitted += 1;
            s.busy = true;
            self.ok_to_write.notify_all();
        }
    }
}
