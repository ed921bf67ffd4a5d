//! Pipes, step 4: a non-blocking read, then waiting with `poll`.
//!
//! Task: switch the read end of a pipe to non-blocking mode, read it without ever
//! blocking, and wait for it to become readable with `poll`. The notes do the first part
//! with `ioctl(fd, FIONBIO, &on)` and test `errno` for `EWOULDBLOCK`; here it is
//! `fcntl(F_SETFL, O_NONBLOCK)` and `EAGAIN` (the same number on Linux).
//! Invariant: a read on a non-blocking descriptor never blocks: on an empty pipe it fails
//! at once with EAGAIN ("would block"), which is not an error but an answer. End of file
//! (0 bytes) means something else: no write end is left open anywhere.
//! Time budget: each check gives the demo 5 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine; a wait must block
//! in the kernel, not spin (the checks compare CPU time with the work waited for).
//! Done when `just check pipes/nonblocking` (or `cargo course check pipes/nonblocking`) passes.

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd::read;
use std::os::fd::BorrowedFd;

/// What a non-blocking read found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadNow {
    /// This many bytes (at least 1) were read into the buffer.
    Data(usize),
    /// The pipe is empty but a writer still has it open: EAGAIN.
    WouldBlock,
    /// The pipe is empty and no write end is open any more: read() returned 0.
    EndOfFile,
}

/// Puts `fd` in non-blocking mode (adds `O_NONBLOCK` to its status flags, keeping the
/// others).
///
/// # Errors
///
/// Any error of `fcntl`.
pub fn set_nonblocking(fd: BorrowedFd<'_>) -> nix::Result<()> {
    // F_SETFL replaces all the status flags: read them first so as to only add one.
    let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))?;
    Ok(())
}

/// Reads what is available on `fd` into `buf` without blocking (`fd` must be in
/// non-blocking mode). Retries on EINTR.
///
/// # Errors
///
/// Any error of `read` other than EAGAIN and EINTR.
pub fn read_now(fd: BorrowedFd<'_>, buf: &mut [u8]) -> nix::Result<ReadNow> {
    loop {
        match read(fd, buf) {
            Ok(0) => return Ok(ReadNow::EndOfFile),
            Ok(n) => return Ok(ReadNow::Data(n)),
            Err(Errno::EINTR) => continue,
            // EAGAIN (alias EWOULDBLOCK): empty, but a writer may still write. The slides'
            // test `if (errno != EWOULDBLOCK) { /* no data */ }` has it backwards.
            Err(Errno::EAGAIN) => return Ok(ReadNow::WouldBlock),
            Err(err) => return Err(err),
        }
    }
}

/// Blocks until `fd` is readable: data is waiting, or every write end is closed (a read
/// would then return end of file). Retries on EINTR.
///
/// # Errors
///
/// Any error of `poll`.
pub fn wait_readable(fd: BorrowedFd<'_>) -> nix::Result<()> {
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::NONE) {
            // With no timeout, poll returns only once the descriptor is ready: POLLIN
            // (data) or POLLHUP (no writer left), either way the next read will not block.
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err),
        }
    }
}
