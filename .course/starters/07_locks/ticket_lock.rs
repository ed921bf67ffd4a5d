//! A FIFO ticket lock built from atomics (`locks/ticket_lock`).
//!
//! Task: `TicketLock` works like the ticket machine at a bakery counter. Arriving threads
//! draw numbered tickets (`next_ticket`); a display shows the number being served; the
//! thread holding that number goes in, and leaving advances the display by one. Waiting
//! is spinning: look at the display, `yield_now()`, look again (no blocking in the
//! operating system). As shipped, the lock ignores the tickets: it checks a flag
//! `locked` and then sets it, in two steps, so two threads can both see it free and both
//! go in; and whoever looks at the right moment goes first, however long others waited.
//!
//! Invariant to protect: at most one thread holds the lock; and threads enter in the
//! order of their tickets (a waiter is never overtaken by a thread that drew a later
//! ticket).
//! Done when `just check locks/ticket_lock` (or `cargo course check locks/ticket_lock`)
//! passes.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};

use interleave::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use interleave::thread;

/// A place in the queue of a [`TicketLock`], drawn by [`TicketLock::take_ticket`].
#[derive(Debug, PartialEq, Eq)]
pub struct Ticket(usize);

impl Ticket {
    /// The ticket's number: 0 for the first thread that arrived, then 1, 2...
    pub fn number(&self) -> usize {
        self.0
    }
}

/// A lock that lets threads in in the order in which they drew their tickets.
///
/// # Examples
///
/// ```
/// use locks::ticket_lock::TicketLock;
///
/// let lock = TicketLock::new(0);
/// *lock.lock() += 1;
/// let ticket = lock.take_ticket();
/// assert_eq!(ticket.number(), 1);
/// let guard = lock.wait_turn(ticket);
/// assert_eq!(*guard, 1);
/// ```
pub struct TicketLock<T> {
    /// The number of the next ticket to hand out.
    next_ticket: AtomicUsize,
    // TODO: replace this flag by the display, `now_serving: AtomicUsize`: the number of
    // the ticket whose holder may go in.
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock gives access to `value` to one thread at a time (the holder of the
// ticket being served), so sharing the lock shares `T` only by moving access between
// threads: `T: Send` is enough, as for std's `Mutex`.
unsafe impl<T: Send> Sync for TicketLock<T> {}

impl<T: std::fmt::Debug> std::fmt::Debug for TicketLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TicketLock { .. }")
    }
}

impl<T> TicketLock<T> {
    /// A free lock protecting `value`.
    pub fn new(value: T) -> Self {
        TicketLock {
            next_ticket: AtomicUsize::new(0),
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Draws the next ticket: the caller's place in the queue.
    pub fn take_ticket(&self) -> Ticket {
        Ticket(self.next_ticket.fetch_add(1, Ordering::Relaxed))
    }

    /// Enters if it is `ticket`'s turn, without waiting; `None` otherwise.
    pub fn try_turn(&self, ticket: &Ticket) -> Option<TicketGuard<'_, T>> {
        // TODO: it is `ticket`'s turn when the display shows its number. Here the
        // ticket is ignored, and the check and the set are two steps with room between.
        let _ = ticket;
        if self.locked.load(Ordering::Acquire) {
            return None;
        }
        self.locked.store(true, Ordering::Relaxed);
        Some(TicketGuard { lock: self })
    }

    /// Waits (spinning, yielding between looks) until it is `ticket`'s turn, and enters.
    pub fn wait_turn(&self, ticket: Ticket) -> TicketGuard<'_, T> {
        loop {
            if let Some(guard) = self.try_turn(&ticket) {
                return guard;
            }
            thread::yield_now();
        }
    }

    /// Draws a ticket and waits for its turn.
    pub fn lock(&self) -> TicketGuard<'_, T> {
        self.wait_turn(self.take_ticket())
    }

    /// Leaves: called by the guard when it is dropped.
    fn unlock(&self) {
        // TODO: serve the next ticket.
        self.locked.store(false, Ordering::Release);
    }
}

/// Proof of holding a [`TicketLock`]; leaves it when dropped. Derefs to the value.
pub struct TicketGuard<'a, T> {
    lock: &'a TicketLock<T>,
}

impl<T> Deref for TicketGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while its thread holds the lock, so no other
        // reference to the value is alive.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for TicketGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only use of the guard.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for TicketGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}
