//! Signals topic: the SIGUSR1/SIGUSR2 handshake of the notes, without lost wake-ups, and a
//! worker that shuts down cleanly on SIGTERM.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.
//! The demo binaries in `src/bin/` call these modules; the tests run the binaries and
//! never fork or signal inside the test harness.

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/09_signals/handshake.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/09_signals/handshake.rs"
)]
pub mod handshake;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/09_signals/shutdown.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/09_signals/shutdown.rs"
)]
pub mod shutdown;

pub mod flag;
pub mod sys;
pub mod work;
