//! IPC topic, from the notes: the ways processes hand each other data, side by side.
//!
//! The steps, in order:
//! - [`process_queue`]: a queue of values between processes over a pipe, with a feeder
//!   thread (Python's `multiprocessing.Queue`, rebuilt);
//! - [`os_mailbox`]: a mailbox kept by the kernel (POSIX message queues), against the
//!   in-process mailbox of the messages topic;
//! - [`shm_segment`]: a shared-memory segment that two unrelated processes attach by name,
//!   with a bounded producer/consumer buffer inside;
//! - [`timeouts`]: a read with a deadline, and a master that gives up on a silent worker;
//! - [`zero_copy`]: a file sent to a socket or a pipe with `read`/`write`, `sendfile` and
//!   `splice`.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`, or
//! the reference in `solutions/` when the crate is built with `--features solution`. The
//! other modules are what the steps and the demo binaries share and the student does not
//! write. The demo binaries in `src/bin/` call the steps; the tests run them under
//! `proctest`'s watchdog and never fork inside the test harness.
//!
//! The benchmark of the chapter is the binary `zero_copy_bench`:
//! `cargo run --release -p ipc --features solution --bin zero_copy_bench`.

pub mod clock;
pub mod frame;
pub mod segment;
pub mod sys;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/13_ipc/process_queue.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/13_ipc/process_queue.rs"
)]
pub mod process_queue;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/13_ipc/os_mailbox.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/13_ipc/os_mailbox.rs")]
pub mod os_mailbox;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/13_ipc/shm_segment.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/13_ipc/shm_segment.rs"
)]
pub mod shm_segment;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/13_ipc/timeouts.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/13_ipc/timeouts.rs")]
pub mod timeouts;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/13_ipc/zero_copy.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/13_ipc/zero_copy.rs")]
pub mod zero_copy;
