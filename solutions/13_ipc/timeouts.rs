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
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
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
    // Round up: 0.4 ms left must still wait (1 ms), not poll(0) again and again.
    let millis = left.as_nanos().div_ceil(1_000_000);
    PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)
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
    // The deadline is computed once; every wait below is for what is left of it.
    let deadline = sys.now().checked_add(timeout);
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(sys.now()));
        match sys.poll_readable(fd, poll_timeout(left)) {
            // Interrupted by a signal: wait again, for the rest only.
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(ReadError::Sys(e)),
            Ok(false) => {
                // poll says the time ran out; the clock decides (a poll that returned a
                // little early waits again for the rest).
                if deadline.is_some_and(|d| sys.now() >= d) {
                    return Err(ReadError::TimedOut);
                }
            }
            Ok(true) => match sys.read(fd, buf) {
                Ok(n) => return Ok(n),
                // Readable, but someone else took the bytes (non-blocking descriptor), or a
                // signal came: wait again with what is left.
                Err(Errno::EAGAIN | Errno::EINTR) => {}
                Err(e) => return Err(ReadError::Sys(e)),
            },
        }
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
    let mut sys = RealSystem;
    let deadline = sys.now().checked_add(timeout);
    let mut reports = Vec::with_capacity(workers.len());
    for Worker {
        name,
        answer,
        mut process,
    } in workers
    {
        let mut text = Vec::new();
        let mut buf = [0u8; 4096];
        let outcome = loop {
            // What is left of the common deadline (zero once it passed: still one look,
            // for the workers that answered while we waited for another one).
            let left = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(sys.now()));
            match read_timeout_with(&mut sys, answer.as_fd(), &mut buf, left) {
                Ok(0) => break Outcome::Answered(String::from_utf8_lossy(&text).into_owned()),
                Ok(n) => text.extend_from_slice(&buf[..n]),
                Err(ReadError::TimedOut) => break Outcome::GaveUp,
                Err(ReadError::Sys(e)) => break Outcome::Failed(e),
            }
        };
        drop(answer);
        if !matches!(outcome, Outcome::Answered(_)) {
            // A silent worker never ends by itself: end it. (It may have exited meanwhile:
            // then kill fails harmlessly, and wait below still reaps it.)
            let _ = process.kill();
        }
        // Reap it: no zombie is left behind. Retried on EINTR by std.
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
