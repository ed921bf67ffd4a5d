//! Message passing: threads that own their data and talk by messages instead of sharing
//! memory. A mailbox with synchronous and asynchronous send, the shared balance rebuilt
//! as a server thread, and a master that hands jobs to workers and reassigns the job of
//! a worker that stops answering.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/06_messages/mailbox.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/06_messages/mailbox.rs"
)]
pub mod mailbox;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/06_messages/server.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/06_messages/server.rs"
)]
pub mod server;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/06_messages/workers.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/06_messages/workers.rs"
)]
pub mod workers;
