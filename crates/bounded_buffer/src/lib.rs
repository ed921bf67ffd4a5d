//! The bounded buffer: producers wait while it is full, consumers while it is empty.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/02_bounded_buffer/monitor.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/02_bounded_buffer/monitor.rs"
)]
pub mod monitor;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/02_bounded_buffer/channel.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/02_bounded_buffer/channel.rs"
)]
pub mod channel;
