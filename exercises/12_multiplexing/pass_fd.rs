//! Multiplexing, step 4: pass an open file to another process over a UNIX socket.
//!
//! Task: `send_fd` sends one byte with an `SCM_RIGHTS` control message carrying a
//! descriptor; `recv_fd` receives it and returns the new descriptor the kernel installed
//! in the receiving process, which then reads a file it never opened (the sender even
//! unlinked it: it has no name any more). `peer_credentials` asks the kernel who is at
//! the other end (`SO_PEERCRED`: pid, uid, gid), which the sender cannot forge.
//! Invariant: every descriptor the kernel installs in the receiver is owned by exactly
//! one `OwnedFd`, or closed: none leaks, not even when the message is wrong (no
//! descriptor, or more descriptors than there was room for: `MSG_CTRUNC`).
//! Time budget: each call of `send_fd` or `recv_fd` gets 5 s, and each run of the demo 5 s,
//! extended while one of its processes sleeps or computes (up to 30 s).
//! Done when `just check multiplexing/pass_fd` (or `cargo course check
//! multiplexing/pass_fd`) passes.

use crate::fdpass::PassFdError;
use nix::sys::socket::UnixCredentials;
use std::os::fd::{BorrowedFd, OwnedFd};

/// The byte that travels with the descriptor: a stream socket cannot carry a control
/// message alone.
pub const TAG: u8 = b'F';

/// Sends `fd` over the connected UNIX socket `socket`, with the one-byte message [`TAG`].
///
/// # Errors
///
/// `sendmsg`'s error (the socket is not a UNIX socket, the peer is gone...).
pub fn send_fd(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> nix::Result<()> {
    // TODO: `nix::sys::socket::sendmsg::<()>` with one `IoSlice` holding [TAG] and one
    // `ControlMessage::ScmRights(&[fd.as_raw_fd()])`.
    let _ = (socket, fd);
    todo!("send_fd: send one byte with an SCM_RIGHTS control message")
}

/// Receives one message from `socket` and returns the descriptor it carried.
///
/// Blocks until a message arrives (or the peer closes).
///
/// # Errors
///
/// [`PassFdError::Closed`] at end of file, [`PassFdError::NoDescriptor`] for a message
/// without descriptor, [`PassFdError::Truncated`] when the peer sent more descriptors
/// than fit (those that arrived are closed), [`PassFdError::Sys`] when `recvmsg` fails.
pub fn recv_fd(socket: BorrowedFd<'_>) -> Result<OwnedFd, PassFdError> {
    // TODO: `recvmsg::<()>` into a one-byte buffer with a control buffer from
    // `nix::cmsg_space!(RawFd)`. If `msg.flags` contains MSG_CTRUNC, close what arrived
    // (`crate::fdpass::close_received(&control)`) and report `Truncated`; otherwise
    // look for `ControlMessageOwned::ScmRights` among `msg.cmsgs()?`, and wrap the raw
    // descriptor in an `OwnedFd` (unsafe: say why it is sound).
    let _ = socket;
    todo!("recv_fd: receive one message and the descriptor in its SCM_RIGHTS")
}

/// The credentials of the process at the other end of the connected UNIX socket
/// `socket` (`SO_PEERCRED`), as the kernel recorded them when the connection was made.
///
/// # Errors
///
/// `getsockopt`'s error (not a UNIX socket, not connected).
pub fn peer_credentials(socket: BorrowedFd<'_>) -> nix::Result<UnixCredentials> {
    // TODO: one `getsockopt` with `sockopt::PeerCredentials`.
    let _ = socket;
    todo!("peer_credentials: ask the kernel with SO_PEERCRED")
}
