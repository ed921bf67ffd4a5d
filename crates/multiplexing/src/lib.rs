//! I/O multiplexing topic: wait on many descriptors at once.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.
//! The other modules are plumbing the steps and the demo binaries share: comparing a
//! process's descriptors with those it started with (listed by [`proctest::audit`]),
//! raising its descriptor limit, usage errors, and the error type of `pass_fd`.

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/12_multiplexing/readiness.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/12_multiplexing/readiness.rs"
)]
pub mod readiness;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/12_multiplexing/echo_server.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/12_multiplexing/echo_server.rs"
)]
pub mod echo_server;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/12_multiplexing/edge_triggered.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/12_multiplexing/edge_triggered.rs"
)]
pub mod edge_triggered;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/12_multiplexing/pass_fd.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/12_multiplexing/pass_fd.rs"
)]
pub mod pass_fd;

pub mod fdpass;
pub mod fds;
pub mod usage;
