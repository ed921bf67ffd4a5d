//! Locks in practice: a re-entrant call and its self-deadlock, a FIFO ticket lock, the
//! convoy effect (a lock that lets a thread barge in against one that hands over), and
//! timeouts measured on the wall clock against the monotonic clock.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.
//! The bench binary `convoy_bench` measures the convoy effect on real threads.

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/07_locks/reentrant.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/07_locks/reentrant.rs"
)]
pub mod reentrant;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/07_locks/ticket_lock.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/07_locks/ticket_lock.rs"
)]
pub mod ticket_lock;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/07_locks/convoy.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/07_locks/convoy.rs")]
pub mod convoy;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/07_locks/clocks.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/07_locks/clocks.rs")]
pub mod clocks;
