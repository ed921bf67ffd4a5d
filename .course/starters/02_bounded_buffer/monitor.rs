//! The bounded buffer as a monitor (`bounded_buffer/monitor`).
//!
//! Task: `BoundedBuffer<T>` holds at most `capacity` items. `put` blocks while the
//! buffer is full, `take` blocks while it is empty, and items come out in the order they
//! went in (FIFO). The starter protects the queue with a mutex and makes everyone wait on
//! one condition variable with `notify_one`; find the schedule in which that loses a
//! wake-up, and fix it with two condition variables.
//!
//! Invariant to protect: every item put is taken exactly once, in FIFO order; no thread
//! sleeps while it could go on. Done when `just check bounded_buffer/monitor` passes.

use std::collections::VecDeque;

use interleave::sync::{Condvar, Mutex};

/// A FIFO buffer of fixed capacity shared by producers and consumers.
///
/// # Examples
///
/// ```
/// use bounded_buffer::monitor::BoundedBuffer;
///
/// let buffer = BoundedBuffer::new(2);
/// buffer.put(1);
/// buffer.put(2);
/// assert_eq!(buffer.take(), 1);
/// assert_eq!(buffer.take(), 2);
/// ```
#[derive(Debug)]
pub struct BoundedBuffer<T> {
    /// The items, oldest first; never longer than `capacity`.
    items: Mutex<VecDeque<T>>,
    capacity: usize,
    // TODO: one condition variable for two different reasons to wait. Who does
    // `notify_one` wake: a thread waiting for room, or one waiting for an item?
    /// Producers and consumers both wait here.
    changed: Condvar,
}

impl<T> BoundedBuffer<T> {
    /// Creates an empty buffer holding at most `capacity` items.
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    pub fn new(capacity: usize) -> Self {
        assert!(
            capacity > 0,
            "a bounded buffer needs room for at least one item"
        );
        BoundedBuffer {
            items: Mutex::new(VecDeque::with_capacity(capacity)),
            capacity,
            changed: Condvar::new(),
        }
    }

    /// Appends `item`, blocking while the buffer is full.
    pub fn put(&self, item: T) {
        let mut items = self.items.lock();
        while items.len() == self.capacity {
            self.changed.wait(&mut items);
        }
        items.push_back(item);
        // TODO: wake a consumer (and only a consumer).
        self.changed.notify_one();
    }

    /// Removes the oldest item, blocking while the buffer is empty.
    pub fn take(&self) -> T {
        let mut items = self.items.lock();
        while items.is_empty() {
            self.changed.wait(&mut items);
        }
        let item = items.pop_front().expect("not empty");
        // TODO: wake a producer (and only a producer).
        self.changed.notify_one();
        item
    }
}
