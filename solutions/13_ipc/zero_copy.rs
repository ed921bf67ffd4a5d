//! IPC, step 5: copy a file to a socket or a pipe without copying it through user space.
//!
//! Task: three ways to send bytes `offset..offset + count` of a file to a descriptor `dst`
//! (a socket or a pipe). `with_read_write` is the plain way, written for you: `pread()`
//! copies the bytes from the page cache into a buffer of ours, `write()` copies them back
//! into the kernel: two copies through user space. `with_sendfile` asks the kernel to do
//! the whole transfer (`sendfile(2)`), and `with_splice` moves pages from the file into a
//! pipe and from the pipe to `dst` (`splice(2)`): no byte ever reaches our memory.
//! Invariant: every function copies exactly the bytes asked for (fewer only when the file
//! ends first: then up to its end), in order, whatever size each system call moves (a
//! transfer may be partial: loop until done); the file's own offset never moves (the three
//! read at an explicit offset), and nothing is left open.
//! Time budget: about 45 minutes; each check gives one call 10 s before it reports it stuck.
//! Done when `just check ipc/zero_copy` (or `cargo course check ipc/zero_copy`) passes.

use nix::errno::Errno;
use nix::fcntl::{OFlag, SpliceFFlags, splice};
use nix::sys::sendfile::sendfile;
use nix::sys::uio::pread;
use nix::unistd::{pipe2, write};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};

/// The size of `with_read_write`'s buffer, and of each request the others make.
pub const CHUNK: usize = 64 * 1024;

// ANCHOR: read_write
/// Copies bytes `offset..offset + count` of `src` to `dst` through a buffer of ours:
/// `pread` (kernel to user: one copy), then `write` (user to kernel: a second copy).
/// Returns how many bytes were copied: `count`, or fewer when the file ends first.
///
/// # Errors
///
/// The first failing `pread` or `write` (other than EINTR, which is retried), such as
/// EPIPE when nobody reads `dst` any more.
pub fn with_read_write(
    src: &File,
    offset: u64,
    count: u64,
    dst: BorrowedFd<'_>,
) -> io::Result<u64> {
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < count {
        let want = usize::try_from(count - done).map_or(CHUNK, |left| left.min(CHUNK));
        let at = i64::try_from(offset + done).map_err(|_| Errno::EOVERFLOW)?;
        let n = match pread(src, &mut buf[..want], at) {
            Ok(0) => break, // end of file
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        let mut chunk = &buf[..n];
        while !chunk.is_empty() {
            match write(dst, chunk) {
                Ok(written) => chunk = &chunk[written..],
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        done += n as u64;
    }
    Ok(done)
}
// ANCHOR_END: read_write

// ANCHOR: sendfile
/// Copies bytes `offset..offset + count` of `src` to `dst` with `sendfile(2)`: the kernel
/// reads the file's pages and hands them to `dst` itself. Returns how many bytes were
/// copied: `count`, or fewer when the file ends first.
///
/// # Errors
///
/// The first failing `sendfile` other than EINTR (EPIPE, or EINVAL for a source that is
/// not a file).
pub fn with_sendfile(src: &File, offset: u64, count: u64, dst: BorrowedFd<'_>) -> io::Result<u64> {
    // An explicit offset, which sendfile advances itself: the file's own offset stays put.
    let mut at = i64::try_from(offset).map_err(|_| Errno::EOVERFLOW)?;
    let mut done = 0u64;
    // One call may move less than asked (a pipe with little room, a signal): loop until
    // `count` bytes went, or sendfile says 0, the end of the file.
    while done < count {
        let want = usize::try_from(count - done).map_or(CHUNK, |left| left.min(CHUNK));
        match sendfile(dst, src, Some(&mut at), want) {
            Ok(0) => break,
            Ok(n) => done += n as u64,
            Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(done)
}
// ANCHOR_END: sendfile

// ANCHOR: splice
/// Copies bytes `offset..offset + count` of `src` to `dst` with `splice(2)`: pages go from
/// the file into a pipe of ours, then from that pipe to `dst`, without passing through
/// our memory. Returns how many bytes were copied: `count`, or fewer when the file ends
/// first. The pipe is closed before returning, whatever happens.
///
/// # Errors
///
/// The first failing `pipe2` or `splice` other than EINTR.
pub fn with_splice(src: &File, offset: u64, count: u64, dst: BorrowedFd<'_>) -> io::Result<u64> {
    // splice needs a pipe on one side of every call: file -> pipe, pipe -> dst. Both ends
    // are OwnedFds, closed when they go out of scope on every path.
    let (pipe_out, pipe_in) = pipe2(OFlag::O_CLOEXEC)?;
    let mut at = i64::try_from(offset).map_err(|_| Errno::EOVERFLOW)?;
    let mut done = 0u64;
    while done < count {
        let want = usize::try_from(count - done).map_or(CHUNK, |left| left.min(CHUNK));
        let moved_in = match splice(
            src.as_fd(),
            Some(&mut at),
            &pipe_in,
            None,
            want,
            SpliceFFlags::SPLICE_F_MOVE,
        ) {
            Ok(0) => break, // end of file
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        // Empty the pipe completely before the next splice in: we are its only reader,
        // and a splice into a full pipe would wait for us forever.
        let mut left = moved_in;
        while left > 0 {
            match splice(
                &pipe_out,
                None,
                dst,
                None,
                left,
                SpliceFFlags::SPLICE_F_MOVE,
            ) {
                Ok(n) => left -= n,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        done += moved_in as u64;
    }
    Ok(done)
}
// ANCHOR_END: splice
