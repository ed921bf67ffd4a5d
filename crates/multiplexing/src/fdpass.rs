//! What `pass_fd` shares with its demo and tests: the error type of receiving a
//! descriptor, and the clean-up of a truncated control message.

use nix::errno::Errno;
use std::fmt;

/// Why [`crate::pass_fd::recv_fd`] returned no descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassFdError {
    /// The peer closed the connection before sending anything (`recvmsg` returned 0).
    Closed,
    /// A message arrived, but it carried no `SCM_RIGHTS` control message.
    NoDescriptor,
    /// The control message did not fit in the buffer (`MSG_CTRUNC`): the peer sent more
    /// descriptors than there was room for. The kernel closed the ones that did not fit;
    /// the ones that arrived have been closed too.
    Truncated,
    /// `recvmsg` itself failed.
    Sys(Errno),
}

impl fmt::Display for PassFdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed => write!(f, "the sender closed the socket without sending a message"),
            Self::NoDescriptor => write!(
                f,
                "the message carried no descriptor (no SCM_RIGHTS control message)"
            ),
            Self::Truncated => write!(
                f,
                "the control message was truncated (MSG_CTRUNC): the sender passed more descriptors than there was room for, and the ones that arrived were closed"
            ),
            Self::Sys(errno) => write!(f, "recvmsg failed: {errno}"),
        }
    }
}

impl std::error::Error for PassFdError {}

impl From<Errno> for PassFdError {
    fn from(errno: Errno) -> Self {
        Self::Sys(errno)
    }
}

/// Closes every descriptor an `SCM_RIGHTS` control message installed in this process,
/// reading the raw control buffer that `recvmsg` filled.
///
/// Needed after `MSG_CTRUNC`: the kernel still installs the descriptors that fit, but
/// nix's `RecvMsg::cmsgs` refuses to decode a truncated buffer, so without this they
/// would leak. Returns how many descriptors were closed.
pub fn close_received(control: &[u8]) -> usize {
    // SAFETY: CMSG_LEN only computes a length from its argument.
    let header = unsafe { libc::CMSG_LEN(0) } as usize;
    let align = std::mem::size_of::<usize>();
    let mut closed = 0;
    let mut offset = 0;
    while offset + header <= control.len() {
        // SAFETY: `offset + header <= control.len()`, so the cmsghdr lies inside the
        // buffer; read_unaligned copes with a Vec<u8> buffer's alignment.
        let cmsg: libc::cmsghdr =
            unsafe { std::ptr::read_unaligned(control.as_ptr().add(offset).cast()) };
        let len = cmsg.cmsg_len as usize;
        if len < header || offset + len > control.len() {
            break;
        }
        if cmsg.cmsg_level == libc::SOL_SOCKET && cmsg.cmsg_type == libc::SCM_RIGHTS {
            let count = (len - header) / std::mem::size_of::<libc::c_int>();
            for i in 0..count {
                let at = offset + header + i * std::mem::size_of::<libc::c_int>();
                // SAFETY: `at + 4 <= offset + len <= control.len()`: inside the buffer.
                let fd: libc::c_int =
                    unsafe { std::ptr::read_unaligned(control.as_ptr().add(at).cast()) };
                // Closing is the point: the kernel installed this descriptor for us and
                // nothing else refers to it.
                if nix::unistd::close(fd).is_ok() {
                    closed += 1;
                }
            }
        }
        offset += len.div_ceil(align) * align;
    }
    closed
}
