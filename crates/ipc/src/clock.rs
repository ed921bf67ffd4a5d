//! What `timeouts::read_timeout_with` asks of the system: the monotonic clock, `poll` and
//! `read`. [`RealSystem`] is the real one; the tests drive a scripted one, so that they
//! check the timeout each `poll` gets against the time the clock says is left, without
//! waiting for anything.

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::os::fd::BorrowedFd;
use std::time::Instant;

/// The clock, `poll` and `read`, as `read_timeout_with` sees them.
pub trait System {
    /// The monotonic clock now (`CLOCK_MONOTONIC`: it never jumps when someone sets the
    /// time of day).
    fn now(&mut self) -> Instant;

    /// Waits until `fd` is readable (data, or end of file) or `timeout` has passed:
    /// `Ok(true)` when it is readable, `Ok(false)` when the time ran out. A signal handler
    /// that ran meanwhile makes it fail with `EINTR`.
    ///
    /// # Errors
    ///
    /// What `poll(2)` returns (`EINTR`, `EINVAL`...).
    fn poll_readable(&mut self, fd: BorrowedFd<'_>, timeout: PollTimeout) -> nix::Result<bool>;

    /// One `read(2)`: the number of bytes read, 0 at end of file.
    ///
    /// # Errors
    ///
    /// What `read(2)` returns (`EAGAIN` on a non-blocking descriptor with nothing to read,
    /// `EINTR`, `EBADF`...).
    fn read(&mut self, fd: BorrowedFd<'_>, buf: &mut [u8]) -> nix::Result<usize>;
}

/// The real clock and system calls.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealSystem;

impl System for RealSystem {
    fn now(&mut self) -> Instant {
        Instant::now()
    }

    fn poll_readable(&mut self, fd: BorrowedFd<'_>, timeout: PollTimeout) -> nix::Result<bool> {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        let ready = poll(&mut fds, timeout)?;
        Ok(ready > 0)
    }

    fn read(&mut self, fd: BorrowedFd<'_>, buf: &mut [u8]) -> nix::Result<usize> {
        nix::unistd::read(fd, buf)
    }
}

/// `Errno` in words for messages: `EINTR (interrupted by a signal)`.
pub fn errno_words(errno: Errno) -> String {
    format!("{errno:?} ({})", errno.desc())
}
