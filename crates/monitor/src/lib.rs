//! Monitor basics: a shared balance that loses updates until it becomes a monitor, and
//! the notes' `topOfHour` event (`wait`, `signal`, `broadcast`, `waiting`).
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/01_monitor/balance.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/01_monitor/balance.rs"
)]
pub mod balance;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/01_monitor/event.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/01_monitor/event.rs")]
pub mod event;
