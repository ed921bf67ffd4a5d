//! A process's own descriptors, as `/proc/self/fd` lists them, and its descriptor limit.
//!
//! The demos use these to prove they leave nothing open: they record the descriptors
//! at the start and compare at the end, rather than trusting an absolute number (a test
//! harness may hand a child a few inherited descriptors).

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// One open descriptor of this process: its number and what it refers to
/// (`pipe:[INODE]`, `socket:[INODE]`, a path...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFd {
    /// The descriptor number.
    pub fd: i32,
    /// The target of `/proc/self/fd/N`.
    pub target: String,
}

/// The descriptors this process has open, sorted by number. The descriptor used to
/// read the directory itself is left out.
pub fn open_fds() -> Vec<OpenFd> {
    let mut fds: Vec<OpenFd> = fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let fd = entry.file_name().to_str()?.parse().ok()?;
            // The directory stream's own descriptor has vanished by the time we read
            // its link (or points at /proc/PID/fd): skip what cannot be read.
            let target = fs::read_link(entry.path()).ok()?;
            let target = target.to_string_lossy().into_owned();
            (!target.ends_with("/fd")).then_some(OpenFd { fd, target })
        })
        .collect();
    fds.sort_by_key(|f| f.fd);
    fds
}

/// How many descriptors this process has open (see [`open_fds`]).
pub fn count() -> usize {
    open_fds().len()
}

/// Compares two lists from [`open_fds`] in a sentence: "the same as at the start", or
/// which descriptors were left open or went missing.
pub fn describe_change(before: &[OpenFd], after: &[OpenFd]) -> String {
    let added: Vec<String> = after
        .iter()
        .filter(|fd| !before.contains(fd))
        .map(|fd| format!("fd {} ({})", fd.fd, fd.target))
        .collect();
    let removed: Vec<String> = before
        .iter()
        .filter(|fd| !after.contains(fd))
        .map(|fd| format!("fd {} ({})", fd.fd, fd.target))
        .collect();
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
