//! Timeouts on the wall clock (`locks/clocks`).
//!
//! Task: `Deadline` says when a timeout has passed, and `Event::wait_timeout` (Python's
//! `Event.wait(timeout)`) uses it. As shipped, the deadline is computed from the wall
//! clock (`SystemTime`, CLOCK_REALTIME): the time of day, which an administrator or NTP
//! may set back or forward at any moment. Set forward by an hour, and every pending
//! timeout fires at once; set back by an hour, and they fire an hour late (for a wait of a
//! few seconds: never, as far as its caller can tell). Measure with the monotonic clock
//! instead (`Instant`, CLOCK_MONOTONIC: time elapsed since boot, which only moves forward).
//! Here that is `interleave::time::Instant`, the simulation's copy of `std::time::Instant`:
//! std's real clocks are invisible to the simulation, whose sleeps and timeouts run on a
//! virtual clock.
//!
//! Invariant to protect: a timeout of `d` fires once `d` has really elapsed, not earlier
//! and not much later, whatever happens to the wall clock meanwhile.
//! Done when `just check locks/clocks` (or `cargo course check locks/clocks`) passes.

use std::time::Duration;

use interleave::sync::{Condvar, Mutex};
// TODO: the wall clock is the wrong clock for measuring durations.
use interleave::time::SystemTime;

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
    // TODO: a point on the monotonic clock.
    at: SystemTime,
}

impl Deadline {
    /// The deadline `timeout` from now.
    pub fn after(timeout: Duration) -> Self {
        Deadline {
            at: SystemTime::now() + timeout,
        }
    }

    /// The time left until the deadline (zero once it has passed).
    pub fn remaining(&self) -> Duration {
        // TODO: `duration_since` on the wall clock fails when the clock went past the
        // deadline, and grows when the clock is set back.
        self.at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
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
            flag: Mutex::new(false),
            changed: Condvar::new(),
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
