//! The convoy effect: a lock that hands over (`locks/convoy`).
//!
//! Task: `HandoffLock` is a lock without data, like Python's `threading.Lock`
//! (`lock` is `acquire`, `unlock` is `release`), built from a mutex and a condition
//! variable. As shipped, `unlock` marks the lock free and wakes one waiter; but the woken
//! thread still has to run and look, and a thread that wants the lock again at once (a
//! CPU-bound thread that holds it for long stretches, like the interpreter thread of the
//! GIL talks) takes it back first, again and again, while an I/O-bound thread that needs
//! it briefly waits through every stretch: the convoy effect. Make `unlock` hand the lock
//! over: when threads are waiting, the lock goes to the one that has waited longest and
//! never becomes free in between, so nobody can barge in.
//!
//! Invariant to protect: at most one thread holds the lock; and a thread that is waiting
//! is overtaken at most once (by a thread that was already queued) before it gets in.
//! Done when `just check locks/convoy` (or `cargo course check locks/convoy`) passes.

use interleave::sync::{Condvar, Mutex};

/// What the inner mutex protects.
#[derive(Debug, Default)]
struct State {
    // TODO: a free/taken flag cannot say *who* gets the lock next. Give each arriving
    // thread a number (`next_ticket`) and keep the number allowed in (`now_serving`).
    locked: bool,
}

/// A lock without data that lets threads in in their order of arrival.
///
/// # Examples
///
/// ```
/// use locks::convoy::HandoffLock;
///
/// let lock = HandoffLock::new();
/// lock.lock();
/// // ... the critical section ...
/// lock.unlock();
/// ```
#[derive(Debug)]
pub struct HandoffLock {
    state: Mutex<State>,
    /// Where waiting threads sleep.
    turn: Condvar,
}

impl Default for HandoffLock {
    fn default() -> Self {
        HandoffLock::new()
    }
}

impl HandoffLock {
    /// A free lock.
    pub fn new() -> Self {
        HandoffLock {
            state: Mutex::new(State::default()),
            turn: Condvar::new(),
        }
    }

    /// Takes the lock, sleeping while another thread holds it.
    pub fn lock(&self) {
        let mut s = self.state.lock();
        // TODO: wait for your own turn, not for the lock to look free.
        while s.locked {
            self.turn.wait(&mut s);
        }
        s.locked = true;
    }

    /// Releases the lock, which the calling thread must hold.
    pub fn unlock(&self) {
        let mut s = self.state.lock();
        // TODO: hand the lock to the next waiter instead of making it free for anyone.
        s.locked = false;
        self.turn.notify_one();
    }
}
