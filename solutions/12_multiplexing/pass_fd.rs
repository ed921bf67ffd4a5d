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

use crate::fdpass::{PassFdError, close_received};
use nix::cmsg_space;
use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, UnixCredentials, getsockopt, recvmsg, sendmsg,
    sockopt,
};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The byte that travels with the descriptor: a stream socket cannot carry a control
/// message alone.
pub const TAG: u8 = b'F';

/// Sends `fd` over the connected UNIX socket `socket`, with the one-byte message [`TAG`].
///
/// # Errors
///
/// `sendmsg`'s error (the socket is not a UNIX socket, the peer is gone...).
pub fn send_fd(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> nix::Result<()> {
    // One SCM_RIGHTS control message with one descriptor, riding on one data byte.
    let fds = [fd.as_raw_fd()];
    let iov = [IoSlice::new(&[TAG])];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(socket.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), None)?;
    Ok(())
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
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    // Room for one descriptor (CMSG_SPACE rounds up: two fit on 64-bit Linux).
    let mut control = cmsg_space!(RawFd);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )?;
    let (bytes, truncated) = (msg.bytes, msg.flags.contains(MsgFlags::MSG_CTRUNC));
    // nix refuses to decode a truncated buffer: collect the descriptors only when it is
    // whole, and close the truncated buffer's descriptors by hand below.
    let received: Vec<RawFd> = if truncated {
        Vec::new()
    } else {
        msg.cmsgs()?
            .filter_map(|cmsg| match cmsg {
                ControlMessageOwned::ScmRights(fds) => Some(fds),
                _ => None,
            })
            .flatten()
            .collect()
    };
    if truncated {
        close_received(&control);
        return Err(PassFdError::Truncated);
    }
    // Own every descriptor at once (collect: a lazy map would leave the ones after the
    // first as bare numbers), so the extra ones are closed when the Vec is dropped.
    let owned: Vec<OwnedFd> = received
        .into_iter()
        .map(|fd| {
            // SAFETY: the kernel has just installed this descriptor in our table for this
            // message; nothing else in the process refers to it, so it has one owner.
            unsafe { OwnedFd::from_raw_fd(fd) }
        })
        .collect();
    match (owned.into_iter().next(), bytes) {
        (Some(fd), _) => Ok(fd),
        (None, 0) => Err(PassFdError::Closed),
        (None, _) => Err(PassFdError::NoDescriptor),
    }
}

/// The credentials of the process at the other end of the connected UNIX socket
/// `socket` (`SO_PEERCRED`), as the kernel recorded them when the connection was made.
///
/// # Errors
///
/// `getsockopt`'s error (not a UNIX socket, not connected).
pub fn peer_credentials(socket: BorrowedFd<'_>) -> nix::Result<UnixCredentials> {
    // The kernel fills these in at connect()/socketpair() time: the peer cannot lie.
    getsockopt(&socket, sockopt::PeerCredentials)
}
