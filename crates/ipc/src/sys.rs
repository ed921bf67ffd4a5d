//! What the demos share and the student does not write: the process topics' helpers from
//! [`proctest`] (output safe in a forked child, the audit of children and descriptors,
//! usage errors), named here so that the demos say `ipc::sys::...`, and the names of the
//! kernel objects (message queues, shared-memory segments) the demos create.

pub use proctest::args::{step_usage, usage_error, usage_message};
pub use proctest::audit::{Audit, OpenFd, open_fds, unreaped_children};
pub use proctest::child::{Line, exit_now, stderr_fd, stdout_fd, write_all};

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// Parses `value` as a number in `range`, or returns the problem in words:
/// `ITEMS must be a whole number from 1 to 100000, not "abc"`.
///
/// ```
/// use ipc::sys::number;
///
/// assert_eq!(number::<u32>("ITEMS", "12", 1..=100), Ok(12));
/// assert_eq!(
///     number::<u32>("ITEMS", "0", 1..=100),
///     Err("ITEMS must be a whole number from 1 to 100, not \"0\"".to_owned())
/// );
/// ```
///
/// # Errors
///
/// The sentence above, for [`usage_error`].
pub fn number<T>(what: &str, value: &str, range: RangeInclusive<T>) -> Result<T, String>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    match value.parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{what} must be a whole number from {} to {}, not {value:?}",
            range.start(),
            range.end()
        )),
    }
}
