//! Pipes, step 3: ping-pong over a socketpair, counting down from 10.
//!
//! Task: `socketpair()` gives two connected sockets; after `fork` the parent keeps one
//! and the child the other, and each can both send and receive (a pipe goes one way
//! only). Write the two halves of the exchange: for each count from `rounds` down to 1,
//! the parent prints `parent write: N` and sends N; the child receives it, prints
//! `child recv: N`, prints `child write: N` and sends N back; the parent receives it and
//! prints `parent recv: N`.
//! Invariant: strict alternation. Each side prints a line *before* the send that lets
//! the other side go on, so the lines of the two processes come out in one order only,
//! whatever the scheduler does; the demo's output is a snapshot.
//! Time budget: each check gives the demo 5 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine.
//! Done when `just check pipes/pingpong` (or `cargo course check pipes/pingpong`) passes.

use crate::sys::{Line, exit_now, parse_u32, write_all};
use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, read};
use std::os::fd::OwnedFd;

/// Runs the exchange between the parent and a new child for `rounds` rounds, then waits
/// for the child and returns its status (exit status 0 when its half succeeded, 1 when
/// it failed).
///
/// # Errors
///
/// When `socketpair`, `fork` or `waitpid` fails, or the parent's half fails.
pub fn ping_pong(rounds: u32) -> nix::Result<WaitStatus> {
    let (parent_sock, child_sock) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::empty(),
    )?;
    // SAFETY: the demo is single-threaded, and the child only calls async-signal-safe
    // functions (read, write, close, _exit): `child_side` must allocate nothing.
    match unsafe { fork() }? {
        ForkResult::Child => {
            // Each process keeps one socket and closes the other, as in the notes.
            drop(parent_sock);
            let code = match child_side(&child_sock, rounds) {
                Ok(()) => 0,
                Err(_) => 1,
            };
            exit_now(code)
        }
        ForkResult::Parent { child } => {
            drop(child_sock);
            let result = parent_side(&parent_sock, rounds);
            // Closing our socket tells a child still waiting in read() that we are gone.
            drop(parent_sock);
            let status = waitpid(child, None)?;
            result.map(|()| status)
        }
    }
}

/// Receives one count: reads a message from `sock` and parses it as a decimal number.
/// `Err(EPIPE)` when the other side closed its socket, `Err(EBADMSG)` when the message is
/// not a number. Allocates nothing (safe in the child).
///
/// # Errors
///
/// As above, and any error of `read`.
pub fn receive_count(sock: &OwnedFd) -> nix::Result<u32> {
    let mut buf = [0u8; 16];
    let n = loop {
        match read(sock, &mut buf) {
            Err(Errno::EINTR) => continue,
            other => break other?,
        }
    };
    if n == 0 {
        return Err(Errno::EPIPE);
    }
    parse_u32(&buf[..n]).ok_or(Errno::EBADMSG)
}

/// Sends one count as decimal text, like the notes' `send(str(count))`. Allocates
/// nothing (safe in the child).
///
/// # Errors
///
/// Any error of `write` (EPIPE when the other side is gone).
pub fn send_count(sock: &OwnedFd, count: u32) -> nix::Result<()> {
    write_all(sock, Line::new().num(count.into()).as_bytes())
}

/// The parent's half: for each count from `rounds` down to 1, print `parent write: N`,
/// send N, receive the child's reply and print `parent recv: N`.
///
/// # Errors
///
/// When a send or a receive fails (the child closed its socket, for instance).
pub fn parent_side(sock: &OwnedFd, rounds: u32) -> nix::Result<()> {
    for count in (1..=rounds).rev() {
        // Print first: once the count is sent, the child may print at any moment. The
        // notes print after `send`, which lets the two processes' lines race.
        Line::new()
            .text(b"parent write: ")
            .num(count.into())
            .text(b"\n")
            .print();
        send_count(sock, count)?;
        let reply = receive_count(sock)?;
        Line::new()
            .text(b"parent recv: ")
            .num(reply.into())
            .text(b"\n")
            .print();
    }
    Ok(())
}

/// The child's half: for each count from `rounds` down to 1, receive the parent's count
/// and print `child recv: N`, then print `child write: N` and send N back. Runs in the
/// forked child: it must only call async-signal-safe functions (no `println!`, no
/// allocation).
///
/// # Errors
///
/// When a send or a receive fails (the parent closed its socket, for instance).
pub fn child_side(sock: &OwnedFd, rounds: u32) -> nix::Result<()> {
    for count in (1..=rounds).rev() {
        let received = receive_count(sock)?;
        Line::new()
            .text(b"child recv: ")
            .num(received.into())
            .text(b"\n")
            .print();
        // Both lines are out before the send: the parent cannot print until it gets it.
        Line::new()
            .text(b"child write: ")
            .num(count.into())
            .text(b"\n")
            .print();
        send_count(sock, count)?;
    }
    Ok(())
}
