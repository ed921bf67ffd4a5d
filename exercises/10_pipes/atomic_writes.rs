//! Pipes, step 5: several writers, one pipe, records that arrive whole.
//!
//! Task: several writer processes share the write end of one pipe and each sends
//! fixed-size records; one reader reads the pipe to the end and cuts the byte stream
//! back into records. Write both sides: `write_record` sends one record with a single
//! `write()`, and `read_records` reads until end of file and splits what it got.
//! Invariant: POSIX promises that a write of at most `PIPE_BUF` bytes (4096 on Linux) to
//! a pipe is atomic: its bytes are never interleaved with another writer's. So records of
//! at most `PIPE_BUF` bytes, each written by one `write()`, arrive whole. Two writes per
//! record (header, then body), or records larger than `PIPE_BUF`, give no such promise.
//! And a `read()` returns whatever is there, not one record: the reader must reassemble.
//! Time budget: each check gives the demo 5 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine.
//! Done when `just check pipes/atomic_writes` (or `cargo course check pipes/atomic_writes`) passes.

#[allow(unused_imports)] // used once the TODOs below are done
use nix::unistd::{read, write};
use std::fmt;
use std::os::fd::BorrowedFd;

/// Why a record could not be written whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// `write()` took only part of the record: the rest would be a second write, which
    /// another writer could get in front of.
    Short {
        /// Bytes the kernel accepted.
        written: usize,
        /// Bytes in the record.
        len: usize,
    },
    /// `write()` failed.
    Sys(nix::errno::Errno),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Short { written, len } => write!(
                f,
                "short write: {written} of {len} bytes (the record would be split)"
            ),
            Self::Sys(errno) => write!(f, "write failed: {errno}"),
        }
    }
}

impl std::error::Error for WriteError {}

/// What the reader got: the records, and the bytes left over at the end that do not
/// make a whole record (0 when the stream was a whole number of records).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// The records, in the order they arrived, each exactly `size` bytes.
    pub records: Vec<Vec<u8>>,
    /// How many bytes were left over after the last whole record.
    pub trailing: usize,
}

/// Writes `record` to `fd` with exactly one `write()` call. Retries on EINTR only if
/// nothing was written.
///
/// # Errors
///
/// [`WriteError::Short`] if the kernel took only part of the record (never for a
/// blocking pipe and a record of at most `PIPE_BUF` bytes), [`WriteError::Sys`] if
/// `write()` failed (EPIPE when the reader is gone).
pub fn write_record(fd: BorrowedFd<'_>, record: &[u8]) -> Result<(), WriteError> {
    // TODO: one `write(fd, record)`; EINTR means nothing was written, so try again;
    // fewer bytes than `record.len()` is `WriteError::Short`. Do not loop to write the
    // rest (that is `write_all`): a second write is exactly what may interleave.
    let _ = (fd, record);
    todo!("write_record: send the record with a single write()")
}

/// Reads `fd` until end of file and cuts the bytes into records of `size` bytes.
///
/// A `read()` returns whatever the pipe holds, up to the buffer's size: part of a
/// record, several records, the end of one and the start of the next. So collect the
/// bytes and cut them afterwards (or keep the partial record between reads).
///
/// # Errors
///
/// Any error of `read` other than EINTR.
///
/// # Panics
///
/// If `size` is 0.
pub fn read_records(fd: BorrowedFd<'_>, size: usize) -> nix::Result<Received> {
    // TODO: read into a buffer (64 KiB, a pipe's capacity, is a good size) until read()
    // returns 0, appending to a Vec<u8>; then split it with `chunks_exact(size)` and
    // count the remainder as `trailing`.
    let _ = (fd, size);
    todo!("read_records: read until end of file, then cut into records")
}
