//! What this topic adds to [`proctest::audit`] about descriptors: a comparison of two
//! lists in a sentence, the descriptor limit, and the bytes waiting on a socket.
//!
//! The demos prove they leave nothing open by listing their descriptors with
//! [`proctest::audit::open_fds`] at the start and comparing at the end with
//! [`describe_change`], rather than trusting an absolute number (a test harness may hand
//! a child a few inherited descriptors).

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use proctest::audit::OpenFd;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Compares two lists from [`proctest::audit::open_fds`] in a sentence: "the same as at
/// the start", or which descriptors were left open or went missing.
///
/// ```
/// use multiplexing::fds::describe_change;
/// use proctest::audit::OpenFd;
///
/// let fd = |fd, target: &str| OpenFd { fd, target: target.to_owned() };
/// let start = [fd(0, "/dev/null"), fd(3, "pipe:[7]")];
/// assert_eq!(describe_change(&start, &start), "the same as at the start");
/// assert_eq!(
///     describe_change(&start, &[fd(0, "/dev/null"), fd(4, "socket:[9]")]),
///     "left open: fd 4 (socket:[9]); closed although they were not ours: fd 3 (pipe:[7])"
/// );
/// ```
pub fn describe_change(before: &[OpenFd], after: &[OpenFd]) -> String {
    // The descriptors of `list` that `other` does not hold, as `fd 4 (socket:[9])`.
    let missing_from = |other: &[OpenFd], list: &[OpenFd]| -> Vec<String> {
        list.iter()
            .filter(|fd| !other.contains(fd))
            .map(|fd| format!("fd {} ({})", fd.fd, fd.target))
            .collect()
    };
    let added = missing_from(before, after);
    let removed = missing_from(after, before);
    match (added.is_empty(), removed.is_empty()) {
        (true, true) => "the same as at the start".to_owned(),
        (false, true) => format!("left open: {}", added.join(", ")),
        (true, false) => format!("closed although they were not ours: {}", removed.join(", ")),
        (false, false) => format!(
            "left open: {}; closed although they were not ours: {}",
            added.join(", "),
            removed.join(", ")
        ),
    }
}

/// Raises this process's soft `RLIMIT_NOFILE` to at least `wanted` descriptors, raising
/// the hard limit too when allowed (as root). Returns the soft limit now in force.
///
/// # Errors
///
/// A sentence saying what the limit is and why it could not be raised, for the demo to
/// print.
pub fn raise_nofile(wanted: u64) -> Result<u64, String> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)
        .map_err(|e| format!("cannot read the descriptor limit (RLIMIT_NOFILE): {e}"))?;
    if soft >= wanted {
        return Ok(soft);
    }
    if hard >= wanted {
        setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).map_err(|e| {
            format!("cannot raise the soft descriptor limit from {soft} to {wanted}: {e}")
        })?;
        return Ok(wanted);
    }
    // Only a privileged process may raise its hard limit.
    match setrlimit(Resource::RLIMIT_NOFILE, wanted, wanted) {
        Ok(()) => Ok(wanted),
        Err(e) => Err(format!(
            "the descriptor limit is {soft} (hard limit {hard}) and {wanted} are needed; raising the hard limit failed ({e}): run `ulimit -n {wanted}` as root first"
        )),
    }
}

/// How many bytes are waiting to be read on a socket or pipe (`ioctl(FIONREAD)`).
///
/// # Errors
///
/// The `ioctl`'s error, for a descriptor that does not support it (a listening socket).
pub fn unread_bytes(fd: BorrowedFd<'_>) -> io::Result<usize> {
    let mut count: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at a live,
    // properly aligned c_int on our stack; the descriptor is valid for the borrow.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut count) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(count).unwrap_or(0))
}
