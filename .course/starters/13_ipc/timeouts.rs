//! IPC, step 4: a read with a deadline, and a master that gives up on a silent worker.
//!
//! Task: `read_timeout_with` reads from `fd` like `read(2)`, but gives up with
//! `ReadError::TimedOut` once `timeout` has passed. It waits with `poll` (never a busy loop)
//! on the monotonic clock `sys.now()`, computes the deadline once, and gives each `poll`
//! only the time that is left: a `poll` interrupted by a signal (`EINTR`) or a readiness
//! that turned out empty (`EAGAIN`: another reader was faster) waits again for the rest,
//! never for a fresh `timeout`. `poll_timeout` turns the time left into `poll`'s
//! milliseconds, rounded up (rounding down turns the last fraction of a millisecond into a
//! busy loop of `poll(0)`). Then `gather` collects one answer per worker process with one
//! deadline for all, and gives up on a worker that stays silent: it kills it and reaps it.
//! Invariant: no call waits past its deadline (and none gives up before it); a zero timeout
//! still looks once; every worker is reaped, whatever it did.
//! Time budget: about 60 minutes; each check gives one call 10 s before it reports it stuck.
//! Done when `just check ipc/timeouts` (or `cargo course check ipc/timeouts`) passes.

use crate::clock::{RealSystem, System};
use nix::errno::Errno;
use nix::poll::PollTimeout;
use std::io::Read;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::process::{Child, ExitStatus};
use std::time::Duration;

/// Why `read_timeout` returned no bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// Nothing became readable before the deadline.
    TimedOut,
    /// `poll` or `read` failed (other than `EINTR` and `EAGAIN`, which mean "wait again").
    Sys(Errno),
}

// ANCHOR: poll_timeout
/// `poll`'s timeout for `left` (the time until the deadline; `None` for no deadline at
/// all): whole milliseconds, rounded up, at most [`PollTimeout::MAX`] (about 24.8 days; a
/// longer wait polls again); [`PollTimeout::NONE`] (wait forever) for `None`.
pub fn poll_timeout(left: Option<Duration>) -> PollTimeout {
    let Some(left) = left else {
        return PollTimeout::NONE;
    };
    // TODO: `try_from(Duration)` rounds down to whole milliseconds: with 0.4 ms left this
    // asks poll for 0 ms, which returns at once, and the caller polls again and again until
    // the deadline: a busy loop. Round up instead (`left.as_nanos().div_ceil(1_000_000)`).
    PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX)
}
// ANCHOR_END: poll_timeout

// ANCHOR: read_timeout
/// Reads into `buf` what `fd` has, waiting at most `timeout` for it to become readable.
/// Returns the number of bytes read, 0 at end of file. A zero timeout looks once without
/// waiting; a timeout too large to be added to the clock waits without deadline.
///
/// # Errors
///
/// [`ReadError::TimedOut`] when nothing was readable by the deadline;
/// [`ReadError::Sys`] when `poll` or `read` fails with something other than `EINTR` or
/// `EAGAIN`.
pub fn read_timeout_with(
    sys: &mut impl System,
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    timeout: Duration,
) -> Result<usize, ReadError> {
    // TODO: this polls once for the whole `timeout` and gives up on the first EINTR (or
    // EAGAIN); a loop that polled again for a fresh `timeout` would move the deadline
    // further away with every interruption. Loop, and compute the
    // deadline once, `sys.now().checked_add(timeout)` (None: too far, no deadline), give
    // each poll only what is left (`poll_timeout`), and decide "timed out" from the clock.
    // EINTR (a signal) and EAGAIN from read (someone else took the bytes) mean: wait again.
    match sys.poll_readable(fd, poll_timeout(Some(timeout))) {
        Err(e) => Err(ReadError::Sys(e)),
        Ok(false) => Err(ReadError::TimedOut),
        Ok(true) => sys.read(fd, buf).map_err(ReadError::Sys),
    }
}
// ANCHOR_END: read_timeout

/// [`read_timeout_with`] on the real clock and system calls.
///
/// # Errors
///
/// As [`read_timeout_with`].
pub fn read_timeout(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    timeout: Duration,
) -> Result<usize, ReadError> {
    read_timeout_with(&mut RealSystem, fd, buf, timeout)
}

/// A worker process and the read end of the pipe it answers on (its standard output).
#[derive(Debug)]
pub struct Worker {
    /// Its name in reports (`worker 1`).
    pub name: String,
    /// The read end of the pipe the worker writes its answer to, then closes (exits).
    pub answer: OwnedFd,
    /// The worker process.
    pub process: Child,
}

/// What became of one worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It answered (everything it wrote, up to the end of file) before the deadline.
    Answered(String),
    /// It had not finished answering at the deadline: it was killed.
    GaveUp,
    /// Reading its answer failed: it was killed.
    Failed(Errno),
}

/// One worker's report.
#[derive(Debug)]
pub struct Report {
    /// The worker's name.
    pub name: String,
    /// What became of it.
    pub outcome: Outcome,
    /// How its process ended (it has been waited for).
    pub status: ExitStatus,
}

// ANCHOR: gather
/// Reads every worker's answer, in order, until its end of file, all before one deadline
/// (`timeout` from now). A worker still silent (or still writing) at the deadline is given
/// up on: killed. Every worker is waited for before `gather` returns (none is left running,
/// none a zombie); the answer pipes are closed.
pub fn gather(workers: Vec<Worker>, timeout: Duration) -> Vec<Report> {
    // TODO: a plain blocking read waits for a silent worker forever, however long the
    // timeout. Compute one deadline for all the workers, read each answer with
    // `read_timeout_with` and what is left of it (zero once it passed: still one look), and
    // give up on a worker that is silent at the deadline: `process.kill()`, then `wait()`
    // as for the others, so that none is left running or a zombie.
    let _ = timeout;
    let mut reports = Vec::with_capacity(workers.len());
    for Worker {
        name,
        answer,
        mut process,
    } in workers
    {
        let mut text = String::new();
        let outcome = match std::fs::File::from(answer).read_to_string(&mut text) {
            Ok(_) => Outcome::Answered(text),
            Err(e) => Outcome::Failed(Errno::from_raw(e.raw_os_error().unwrap_or(0))),
        };
        let status = process
            .wait()
            .expect("waiting for a child of ours cannot fail");
        reports.push(Report {
            name,
            outcome,
            status,
        });
    }
    reports
}
// ANCHOR_END: gather
