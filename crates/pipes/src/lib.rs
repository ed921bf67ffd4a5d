//! Pipes topic: processes that talk through pipes, socketpairs and named pipes.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.
//! The demo binaries in `src/bin/` call the steps; the tests run those binaries under
//! `proctest`'s watchdog and never fork inside the test harness.
//!
//! [`sys`] holds what the steps share and the student does not write: output that is
//! safe in a forked child, the command runner for `pipeline`, the record format of
//! `atomic_writes`, and the checks the demos make before exiting (descriptors, children).

pub mod sys;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/10_pipes/oneway.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/10_pipes/oneway.rs")]
pub mod oneway;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/10_pipes/pipeline.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/10_pipes/pipeline.rs")]
pub mod pipeline;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/10_pipes/pingpong.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/10_pipes/pingpong.rs")]
pub mod pingpong;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/10_pipes/nonblocking.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/10_pipes/nonblocking.rs"
)]
pub mod nonblocking;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/10_pipes/atomic_writes.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/10_pipes/atomic_writes.rs"
)]
pub mod atomic_writes;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/10_pipes/fifo.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/10_pipes/fifo.rs")]
pub mod fifo;
