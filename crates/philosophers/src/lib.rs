//! Dining philosophers topic: fork ordering against deadlock, the notes' monitor, and a
//! starvation-free monitor.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.
//! Philosopher `i` of `n` sits between fork `i` (on their left) and fork `(i + 1) % n`
//! (on their right); their neighbours are `(i + n - 1) % n` and `(i + 1) % n`.

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/05_philosophers/ordering.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/05_philosophers/ordering.rs"
)]
pub mod ordering;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/05_philosophers/monitor.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/05_philosophers/monitor.rs"
)]
pub mod monitor;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/05_philosophers/fair.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/05_philosophers/fair.rs"
)]
pub mod fair;

/// The philosopher on the left of philosopher `i` at a table of `n`.
pub fn left_of(i: usize, n: usize) -> usize {
    (i + n - 1) % n
}

/// The philosopher on the right of philosopher `i` at a table of `n`.
pub fn right_of(i: usize, n: usize) -> usize {
    (i + 1) % n
}
