//! Small async-signal-safe helpers the steps and demos share and the student does not
//! write: raw writes and reads that retry on EINTR, `_exit`, and standard output as a
//! descriptor that a forked child (or a signal handler) may use. They are the process
//! topics' shared helpers from [`proctest::child`], named here so that the steps say
//! `crate::sys::...`.

pub use proctest::child::{exit_now, process_state, read_full, stdout_fd, write_all};
