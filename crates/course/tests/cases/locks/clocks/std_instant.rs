//! Timeouts on the wall clock (`locks/clocks`).

use std::time::Duration;

use interleave::sync::{Condvar, Mutex};
use std::time::Instant;

/// The moment a timeout started by [`Deadline::after`] passes.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use locks::clocks::Deadline;
///
/// let deadline = Deadline::after(Duration::from_secs(60));
/// assert!(!deadline.expired());
/// assert!(deadline.remaining() > Duration::from_secs(59));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    /// A point on the monotonic clock.
    at: Instant,
}

impl Deadline {
    /// The deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        Deadline {
            at: Instant::now() + timeout,
        }
    }

    /// The time left until the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        self.at.duration_since(Instant::now())
    }

    /// Whether the deadline has passed.
    pub fn expired(&self) -> bool {
        self.remaining().is_zero()
    }
}

/// A flag that threads can wait for, with a timeout (like Python's `threading.Event`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use locks::clocks::Event;
///
/// let event = Event::new();
/// assert!(!event.wait_timeout(Duration::from_millis(1)));
/// event.set();
/// assert!(event.wait_timeout(Duration::from_secs(1)));
/// ```
#[derive(Debug)]
pub struct Event {
    flag: Mutex<bool>,
    changed: Condvar,
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl Event {
    /// An event not set yet.
    pub fn new() -> Self {
        Event {
            flag: Mutex::named("event", false),
            changed: Condvar::named("changed"),
        }
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        *self.flag.lock() = true;
        self.changed.notify_all();
    }

    /// Waits until the flag is set (true) or `timeout` has passed (false).
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Deadline::after(timeout);
        let mut flag = self.flag.lock();
        while !*flag {
            if deadline.expired() {
                return false;
            }
            self.changed.wait_for(&mut flag, deadline.remaining());
        }
        true
    }
}
