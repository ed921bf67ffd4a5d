//! What a forked child may use: writing bytes and small integers without allocating, and
//! leaving with `_exit`. Everything here is async-signal-safe.
//!
//! These are the process topics' shared helpers from [`proctest::child`], named here so
//! that the steps say `crate::child::...`.
//!
//! ```
//! use mmap::child::Line;
//!
//! // A number formatted on the stack, for a child that must not allocate.
//! let line = Line::new().text(b"sent ").num(1_000_000).text(b" items\n");
//! assert_eq!(line.as_bytes(), b"sent 1000000 items\n");
//! ```

pub use proctest::child::{Line, stderr_fd, stdout_fd, write_all};

/// Ends the child at once with `_exit(code)`: no destructors, no stdio flush, no atexit
/// handlers (which belong to the parent's copy of the program). The same function as
/// [`proctest::child::exit_now`], under the name the steps use.
pub use proctest::child::exit_now as exit;
