//! A helper of proctest's own tests: a process that spins in system calls once its child
//! has ended, as a student's loop does when it polls a pipe whose writer is gone and never
//! reads its end of file: `poll` reports POLLHUP at once, again and again, for ever.

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd::{ForkResult, fork, read};
use std::os::fd::AsFd;

fn main() {
    let (read_end, write_end) = nix::unistd::pipe().expect("a pipe");
    // SAFETY: this program is single-threaded, and the child only leaves with _exit.
    match unsafe { fork() }.expect("fork") {
        // The child writes nothing and exits: its end of the pipe closes.
        // SAFETY: _exit is async-signal-safe and ends the child at once.
        ForkResult::Child => unsafe { libc::_exit(0) },
        ForkResult::Parent { .. } => drop(write_end),
    }
    // The child has ended (it stays a zombie: nobody waits for it) once read returns 0.
    let mut byte = [0u8; 1];
    let _ = read(read_end.as_fd(), &mut byte);
    let mut fds = [PollFd::new(read_end.as_fd(), PollFlags::POLLIN)];
    loop {
        // Returns at once: the pipe has no writer left (POLLHUP), and nobody reads it.
        let _ = poll(&mut fds, PollTimeout::NONE);
    }
}
