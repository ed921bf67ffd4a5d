//! Small async-signal-safe helpers the steps and demos share and the student does not
//! write: raw writes and reads that retry on EINTR, `_exit`, and standard output as a
//! descriptor that a forked child may use.

use nix::errno::Errno;
use nix::unistd::write;
use std::os::fd::{AsFd, BorrowedFd};

/// Standard output as a borrowed descriptor, without touching `std::io::stdout()`'s
/// buffer or lock (so a forked child may use it).
pub fn stdout_fd() -> BorrowedFd<'static> {
    // SAFETY: descriptor 1 stays open for the whole life of the process (nothing in this
    // crate closes it); if someone did close it, writes fail with EBADF, which is harmless.
    unsafe { BorrowedFd::borrow_raw(libc::STDOUT_FILENO) }
}

/// Writes all of `bytes` to `fd`, retrying on EINTR and after a short write.
/// Async-signal-safe: it only calls `write()`.
///
/// # Errors
///
/// The first error `write()` reports other than EINTR (EPIPE when no reader is left...).
pub fn write_all(fd: impl AsFd, mut bytes: &[u8]) -> nix::Result<()> {
    let fd = fd.as_fd();
    while !bytes.is_empty() {
        match write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Reads from `fd` until `buf` is full or end of file, retrying on EINTR (a signal
/// handler ran meanwhile). Returns how many bytes were read. Async-signal-safe.
///
/// # Errors
///
/// The first error `read()` reports other than EINTR.
pub fn read_full(fd: impl AsFd, buf: &mut [u8]) -> nix::Result<usize> {
    let fd = fd.as_fd();
    let mut done = 0;
    while done < buf.len() {
        match nix::unistd::read(fd, &mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(done)
}

/// Ends the calling process at once with `code`, like C's `_exit`: no destructor runs and
/// no buffer is flushed. This is how a forked child leaves.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` is async-signal-safe and has no precondition; it never returns.
    unsafe { libc::_exit(code) }
}
