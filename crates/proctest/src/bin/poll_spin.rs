//! A helper of proctest's own tests: a process that spins in system calls, as a student's
//! loop does when it polls a pipe whose writers are gone and never reads its end of file.
//! `poll` reports POLLHUP at once, again and again, for ever.

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::os::fd::AsFd;

fn main() {
    let (read_end, write_end) = nix::unistd::pipe().expect("a pipe");
    drop(write_end);
    let mut fds = [PollFd::new(read_end.as_fd(), PollFlags::POLLIN)];
    loop {
        // Returns at once: the pipe has no writer left (POLLHUP), and nobody reads it.
        let _ = poll(&mut fds, PollTimeout::NONE);
    }
}
