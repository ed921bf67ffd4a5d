//! Blocking transfers over a [`Ring`]: the waiting policy of [`crate::wait`] around the
//! non-blocking `write` and `read` of step `ring`, and the watch on the other process that
//! keeps a wait from lasting forever when that process is gone.
//!
//! Everything here is async-signal-safe (atomics, `sched_yield`, `getppid`, `waitpid`), so a
//! forked child may use it.

use crate::ring::Ring;
use crate::wait::Backoff;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getppid};

/// The other end of a transfer, as seen by the side that waits for it.
#[derive(Debug)]
pub enum Peer {
    /// We are the child: the peer is our parent, alive as long as `getppid()` still
    /// returns its pid (an orphan is re-parented).
    Parent(Pid),
    /// We are the parent: the peer is this child, alive until `waitpid(WNOHANG)` reports
    /// its end (the status is kept for [`Peer::reap`]).
    Child(Pid, Option<WaitStatus>),
}

impl Peer {
    /// Whether the other process still exists. Called only when a wait has become long
    /// (the yielding phase), so the system call costs nothing on the fast path.
    pub fn alive(&mut self) -> bool {
        match self {
            Self::Parent(pid) => getppid() == *pid,
            Self::Child(_, Some(_)) => false,
            Self::Child(pid, status) => match waitpid(*pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => true,
                Ok(ended) => {
                    *status = Some(ended);
                    false
                }
                Err(_) => false,
            },
        }
    }

    /// For the parent: waits for the child (or returns the status already collected).
    ///
    /// # Errors
    ///
    /// What `waitpid` returns; `ECHILD` when called on a [`Peer::Parent`].
    pub fn reap(&mut self) -> nix::Result<WaitStatus> {
        match self {
            Self::Parent(_) => Err(nix::errno::Errno::ECHILD),
            Self::Child(_, status @ Some(_)) => Ok(status.take().expect("matched Some")),
            Self::Child(pid, None) => waitpid(*pid, None),
        }
    }
}

/// Writes all of `bytes` into `ring`, waiting while it is full.
///
/// # Errors
///
/// `Err(sent)` when the consumer disappeared after `sent` bytes.
///
/// # Safety
///
/// The caller is the ring's only producer.
pub unsafe fn write_all<const N: usize>(
    ring: &Ring<N>,
    mut bytes: &[u8],
    peer: &mut Peer,
) -> Result<(), usize> {
    let total = bytes.len();
    let mut backoff = Backoff::new();
    while !bytes.is_empty() {
        // SAFETY: the caller is the only producer.
        let n = unsafe { ring.write(bytes) };
        if n > 0 {
            bytes = &bytes[n..];
            backoff = Backoff::new();
        } else {
            if backoff.is_yielding() && !peer.alive() {
                return Err(total - bytes.len());
            }
            backoff.snooze();
        }
    }
    Ok(())
}

/// Fills `buf` from `ring`, waiting while it is empty.
///
/// # Errors
///
/// `Err(received)` when the producer disappeared and the ring is drained after `received`
/// bytes.
///
/// # Safety
///
/// The caller is the ring's only consumer.
pub unsafe fn read_exact<const N: usize>(
    ring: &Ring<N>,
    buf: &mut [u8],
    peer: &mut Peer,
) -> Result<(), usize> {
    let mut filled = 0;
    let mut backoff = Backoff::new();
    let mut peer_gone = false;
    while filled < buf.len() {
        // SAFETY: the caller is the only consumer.
        let n = unsafe { ring.read(&mut buf[filled..]) };
        if n > 0 {
            filled += n;
            backoff = Backoff::new();
        } else if peer_gone {
            // The producer was gone before this read, which found nothing: nothing more will come.
            return Err(filled);
        } else {
            if backoff.is_yielding() && !peer.alive() {
                peer_gone = true;
                continue;
            }
            backoff.snooze();
        }
    }
    Ok(())
}
