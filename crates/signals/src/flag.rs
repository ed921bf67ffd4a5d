//! The one thing a signal handler may do here: set a flag.
//!
//! A handler runs in the middle of whatever the process was doing, so it may only touch
//! lock-free atomics (or call async-signal-safe functions such as `write`). [`SignalFlag`]
//! is an atomic boolean with a name for that job: the handler calls [`SignalFlag::set`],
//! the program tests it with [`SignalFlag::is_set`].
//!
//! The handshake demo can also *force* the worst moment for a signal to arrive: right
//! after the program found the flag unset and before it went to sleep. When the demo has
//! armed [`race::arm`], the first [`SignalFlag::is_set`] that finds the flag unset lets
//! the other process send its signal, and waits until it has been sent, before returning
//! `false`. A program that sleeps with `pause()` after such a check then sleeps forever;
//! one that blocked the signal and waits with `sigsuspend` does not.

use std::sync::atomic::{AtomicBool, Ordering};

/// A flag set by a signal handler and read by the program.
///
/// # Examples
///
/// ```
/// use signals::flag::SignalFlag;
///
/// static GOT_USR1: SignalFlag = SignalFlag::new();
/// assert!(!GOT_USR1.is_set());
/// GOT_USR1.set(); // what the handler does
/// assert!(GOT_USR1.is_set());
/// ```
#[derive(Debug, Default)]
pub struct SignalFlag(AtomicBool);

impl SignalFlag {
    /// An unset flag.
    pub const fn new() -> Self {
        Self(AtomicBool::new(false))
    }

    /// Sets the flag. Async-signal-safe: one atomic store, no lock, no allocation.
    pub fn set(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Unsets the flag, to wait for the same signal again (the handshake demo's
    /// `--two-rounds`). Async-signal-safe: one atomic store.
    pub fn clear(&self) {
        self.0.store(false, Ordering::SeqCst);
    }

    /// Whether the flag has been set. (When the handshake demo armed [`race::arm`], the
    /// first call that finds it unset lets the signal be sent before returning: see the
    /// module's documentation.)
    pub fn is_set(&self) -> bool {
        let set = self.0.load(Ordering::SeqCst);
        if !set {
            race::after_check();
        }
        set
    }
}

/// Forcing a signal into the gap between a check of a flag and the wait that follows it.
pub mod race {
    use crate::sys::{read_full, write_all};
    use std::os::fd::OwnedFd;
    use std::sync::atomic::{AtomicI32, Ordering};

    static GO: AtomicI32 = AtomicI32::new(-1);
    static DONE: AtomicI32 = AtomicI32::new(-1);

    /// Arms the race once: the next [`super::SignalFlag::is_set`] that finds its flag unset
    /// writes one byte to `go` (the other process sends its signal when it reads it), then
    /// reads one byte from `done` (written once the signal has been sent), then returns
    /// `false`. Both descriptors are closed after that.
    pub fn arm(go: OwnedFd, done: OwnedFd) {
        use std::os::fd::IntoRawFd;
        DONE.store(done.into_raw_fd(), Ordering::SeqCst);
        GO.store(go.into_raw_fd(), Ordering::SeqCst);
    }

    pub(super) fn after_check() {
        let go = GO.swap(-1, Ordering::SeqCst);
        if go < 0 {
            return;
        }
        let done = DONE.swap(-1, Ordering::SeqCst);
        // SAFETY: `arm` took ownership of both descriptors with `into_raw_fd`, and the
        // swaps above hand them out exactly once, so nothing else closes them.
        let (go, done) = unsafe {
            use std::os::fd::FromRawFd;
            (OwnedFd::from_raw_fd(go), OwnedFd::from_raw_fd(done))
        };
        let _ = write_all(&go, b"g");
        let mut byte = [0u8; 1];
        let _ = read_full(&done, &mut byte);
    }
}
