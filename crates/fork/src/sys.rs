//! What the steps and demos share and the student does not write.
//!
//! After `fork`, a child may only call async-signal-safe functions: no `println!`, no
//! `format!`, no allocation, no lock. [`Line`] builds a line of output in a fixed buffer
//! on the stack so that a child can write it with one `write()` ([`Line::pid`] appends
//! the child's own pid), and [`exit_now`] leaves without running destructors or flushing
//! anything. The rest is for the demos: what a careful reviewer checks before a parent
//! exits ([`Audit`], [`unreaped_children`], [`open_fds`]) and how a child ended, in words
//! ([`describe`]).
//!
//! These are the process topics' shared helpers from [`proctest::child`] and
//! [`proctest::audit`], named here so that the steps say `crate::sys::...`.
//!
//! ```
//! use fork::sys::Line;
//!
//! let line = Line::new().text(b"110.000000 F is 43.333333 C (pid ").num(4242).text(b")\n");
//! assert_eq!(line.as_bytes(), b"110.000000 F is 43.333333 C (pid 4242)\n");
//! ```

pub use proctest::audit::{Audit, OpenFd, describe, open_fds, unreaped_children};
pub use proctest::child::{Line, exit_now, read_full, stdout_fd, write_all};
