//! Checks `multiplexing/pass_fd`: a descriptor sent over a UNIX socket, the one byte that
//! carries it, the peer's credentials, and the errors of a wrong message, with no
//! descriptor leaked on any path and no call left blocked.
//!
//! The in-process checks take `send_fd` and `recv_fd` as arguments, so that the oracle tests
//! at the end can prove they fail plausible wrong solutions with the right message, and pass
//! correct ones written differently. Every `recv_fd` runs under a watchdog: a receiver that
//! waits for a message that never comes is a diagnosis, not a hung test.

mod common;

use common::{BUDGET, descriptors_on, identity, is_open, verdict, wrap};
use multiplexing::fdpass::{PassFdError, close_received};
use multiplexing::fds::unread_bytes;
use multiplexing::pass_fd::{TAG, peer_credentials, recv_fd, send_fd};
use nix::cmsg_space;
use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, Shutdown, SockFlag, SockType,
    recvmsg, sendmsg, shutdown, socketpair,
};
use proctest::Demo;
use std::fs::File;
use std::io::{IoSlice, IoSliceMut, Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

const DEMO: &str = env!("CARGO_BIN_EXE_pass_fd");

/// A function with `send_fd`'s signature.
type SendFd = for<'a, 'b> fn(BorrowedFd<'a>, BorrowedFd<'b>) -> nix::Result<()>;
/// A function with `recv_fd`'s signature.
type RecvFd = for<'a> fn(BorrowedFd<'a>) -> Result<OwnedFd, PassFdError>;

/// Descriptors as a message names them: "15", "14 and 16", "14, 16 and 18".
fn fd_list(fds: &[i32]) -> String {
    let shown: Vec<String> = fds.iter().map(ToString::to_string).collect();
    match shown.split_last() {
        None => "none".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn pair() -> (OwnedFd, OwnedFd) {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair")
}

/// A file holding `text`, already unlinked: only descriptors lead to it.
fn file_with(text: &str) -> File {
    let mut file = tempfile::tempfile().expect("an unnamed temporary file");
    file.write_all(text.as_bytes()).expect("write");
    file.rewind().expect("rewind");
    file
}

/// Sends `fds` with the one-byte message [`TAG`], as a correct `send_fd` would (or with
/// more descriptors than one, as a wrong peer would).
fn send_raw(socket: &OwnedFd, fds: &[RawFd]) {
    let cmsg = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage<'_>] = if fds.is_empty() { &[] } else { &cmsg };
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(&[TAG])],
        cmsgs,
        MsgFlags::empty(),
        None,
    )
    .expect("sendmsg");
}

/// Calls `recv(socket)` under the watchdog. When it does not return, the socket is shut
/// down (so the stuck thread finishes) and the message says what the socket held.
fn receive(
    recv: RecvFd,
    socket: OwnedFd,
    what: &str,
    budget: Duration,
) -> Result<Result<OwnedFd, PassFdError>, String> {
    let raw = socket.as_raw_fd();
    let queued = unread_bytes(socket.as_fd()).unwrap_or(0);
    let outcome = proctest::within(budget, what, move || {
        let result = recv(socket.as_fd());
        drop(socket);
        result
    });
    match outcome {
        Ok(timed) => Ok(timed.value),
        Err(stuck) => {
            let left = {
                // SAFETY: the socket is still open: the stuck thread owns it and has not
                // returned; FIONREAD only reads its queue length.
                let fd = unsafe { BorrowedFd::borrow_raw(raw) };
                unread_bytes(fd).unwrap_or(0)
            };
            // Free the stuck thread: recvmsg returns 0 on a socket shut down for reading.
            // SAFETY: as above, the descriptor is open; shutdown does not close it.
            let _ = shutdown(raw, Shutdown::Both);
            let why = if queued == 0 {
                "nothing had arrived on the socket: the sender put no byte on it".to_owned()
            } else if left == 0 {
                format!(
                    "the socket held {queued} byte(s) when recv_fd started and none now: recv_fd \
                     took the message and waits for another. One recvmsg() receives one message; \
                     a message without the expected descriptor is an error to return, not a \
                     reason to wait"
                )
            } else {
                format!("{left} byte(s) still wait on the socket, yet recv_fd does not take them")
            };
            Err(format!("{stuck}: {why}. recv_fd blocked."))
        }
    }
}

/// Calls `send(socket, fd)` under the watchdog.
fn send_within(send: SendFd, socket: &OwnedFd, file: &File) -> Result<nix::Result<()>, String> {
    // The watchdog's thread needs descriptors it owns: duplicates of the same socket and
    // file, closed when it returns.
    let (socket, file_fd) = (
        socket.try_clone().expect("dup"),
        file.as_fd().try_clone_to_owned().expect("dup"),
    );
    proctest::within(BUDGET, "send_fd", move || {
        send(socket.as_fd(), file_fd.as_fd())
    })
    .map(|timed| timed.value)
    .map_err(|stuck| format!("{stuck}: sendmsg() of one byte never waits. send_fd blocked."))
}

fn check_round_trip(send: SendFd, recv: RecvFd, budget: Duration) -> Result<(), String> {
    let (a, b) = pair();
    let file = file_with("through the socket\n");
    let id = identity(file.as_fd());
    // The real descriptors, lent as send_fd's signature says: the file's must still be open
    // after the call.
    let (socket, raw) = (a.as_raw_fd(), file.as_raw_fd());
    let sent = proctest::within(BUDGET, "send_fd", move || {
        // SAFETY: `a` and `file` stay open until the call returns (or, should it never
        // return, forever: they are forgotten below).
        let (socket, lent) =
            unsafe { (BorrowedFd::borrow_raw(socket), BorrowedFd::borrow_raw(raw)) };
        send(socket, lent)
    });
    let sent = match sent {
        Ok(timed) => timed.value,
        Err(stuck) => {
            std::mem::forget(file);
            std::mem::forget(a);
            return Err(format!(
                "{stuck}: sendmsg() of one byte on an empty socket never waits. send_fd blocked."
            ));
        }
    };
    sent.map_err(|err| format!("send_fd failed on a connected socketpair: {err}"))?;
    if !is_open(raw) {
        // Not ours to close any more: forget it rather than close a reused number.
        std::mem::forget(file);
        return Err(
            "send_fd closed the descriptor it was lent: it takes a BorrowedFd, the caller still \
             owns the file. Build the message from fd.as_raw_fd() without taking ownership. \
             Lent descriptor closed."
                .to_owned(),
        );
    }
    let queued = unread_bytes(b.as_fd()).unwrap_or(0);
    if queued == 0 {
        return Err(format!(
            "send_fd returned Ok but put nothing on the socket: a stream socket carries a \
             control message only next to data, so without a byte the descriptor went nowhere \
             (and a receiver would wait in recvmsg forever). Send the one byte TAG ({:?}) with \
             the SCM_RIGHTS message. No data byte.",
            TAG as char
        ));
    }
    // The sender closes its copy: the open file lives on in the message.
    drop(file);
    let received = receive(recv, b, "recv_fd after send_fd", budget)?
        .map_err(|err| format!("recv_fd failed on the message of send_fd: {err}"))?;
    let mut text = String::new();
    let mut through = File::from(received);
    through
        .read_to_string(&mut text)
        .map_err(|err| format!("reading through the received descriptor failed: {err}"))?;
    if text != "through the socket\n" {
        return Err(format!(
            "the received descriptor reads {text:?}, not the file that was sent. Wrong \
             descriptor."
        ));
    }
    drop(through);
    let left = descriptors_on(id);
    if !left.is_empty() {
        return Err(format!(
            "after the received descriptor was closed, descriptor(s) {} are still open on \
             the file: send_fd or recv_fd made a copy nobody owns. Descriptor leaked.",
            fd_list(&left)
        ));
    }
    drop(a);
    Ok(())
}

fn check_wire_format(send: SendFd) -> Result<(), String> {
    let (a, b) = pair();
    let file = file_with("the wire\n");
    send_within(send, &a, &file)?
        .map_err(|err| format!("send_fd failed on a connected socketpair: {err}"))?;
    let mut bytes = [0u8; 16];
    let mut iov = [IoSliceMut::new(&mut bytes)];
    let mut control = cmsg_space!([RawFd; 8]);
    // MSG_DONTWAIT: this check never waits, whatever send_fd did.
    let msg = match recvmsg::<()>(
        b.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC,
    ) {
        Ok(msg) => msg,
        Err(nix::errno::Errno::EAGAIN) => {
            return Err(format!(
                "send_fd returned Ok but put nothing on the socket: a stream socket carries a \
                 control message only next to data. Send the one byte TAG ({:?}) with the \
                 SCM_RIGHTS message. No data byte.",
                TAG as char
            ));
        }
        Err(err) => return Err(format!("receiving send_fd's message failed: {err}")),
    };
    let fds: Vec<OwnedFd> = msg
        .cmsgs()
        .map_err(|err| format!("send_fd's control message cannot be decoded: {err}"))?
        .filter_map(|cmsg| match cmsg {
            ControlMessageOwned::ScmRights(fds) => Some(fds),
            _ => None,
        })
        .flatten()
        // SAFETY: the kernel just installed these descriptors for this message.
        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
        .collect();
    let data = msg.bytes;
    if bytes[..data] != [TAG] {
        return Err(format!(
            "send_fd sent {:?} with the descriptor: the message is the one byte TAG ({:?}), which \
             the receiver reads with it. Wrong data byte.",
            String::from_utf8_lossy(&bytes[..data]),
            TAG as char
        ));
    }
    match fds.len() {
        1 => Ok(()),
        0 => Err("send_fd sent its byte without a descriptor: put \
             ControlMessage::ScmRights(&[fd.as_raw_fd()]) next to it in sendmsg. No \
             descriptor sent."
            .to_owned()),
        n => Err(format!(
            "send_fd sent {n} descriptors with its byte: one, the one it was given. Too many \
             descriptors."
        )),
    }
}

/// The new descriptors `recv(socket)` leaves open on `files` besides what it returned.
fn leaked_after(files: &[&File], before: &[Vec<i32>], returned: Option<&OwnedFd>) -> Vec<i32> {
    let mut leaked = Vec::new();
    for (file, before) in files.iter().zip(before) {
        for fd in descriptors_on(identity(file.as_fd())) {
            if !before.contains(&fd) && returned.is_none_or(|r| r.as_raw_fd() != fd) {
                leaked.push(fd);
            }
        }
    }
    leaked
}

/// One wrong message: what the peer sends, and what `recv_fd` must answer.
fn check_bad_message(
    recv: RecvFd,
    budget: Duration,
    what: &str,
    fds: usize,
    expected: PassFdError,
) -> Result<(), String> {
    let (a, b) = pair();
    let file = file_with("one of several\n");
    let before = vec![descriptors_on(identity(file.as_fd()))];
    // The sender stays connected (a receiver that waits for more would wait forever),
    // except for the peer that closes.
    let sender = if expected == PassFdError::Closed {
        drop(a);
        None
    } else {
        send_raw(&a, &vec![file.as_raw_fd(); fds]);
        Some(a)
    };
    let result = receive(recv, b, &format!("recv_fd of {what}"), budget)?;
    drop(sender);
    let leaked = leaked_after(&[&file], &before, result.as_ref().ok());
    judge_bad_message(what, fds, expected, &result, &leaked)
}

/// Judges what `recv_fd` answered to a wrong message (`what`, carrying `fds` descriptors),
/// which must be `Err(expected)`, with the descriptors it left open (`leaked`).
fn judge_bad_message(
    what: &str,
    fds: usize,
    expected: PassFdError,
    result: &Result<OwnedFd, PassFdError>,
    leaked: &[i32],
) -> Result<(), String> {
    let left_open = |others: &str| {
        if leaked.is_empty() {
            String::new()
        } else {
            format!(
                " The kernel installed {others} in this process, and descriptor(s) {} \
                 are left open, owned by nobody: a leak at every such message.",
                fd_list(leaked)
            )
        }
    };
    match result {
        Err(err) if *err == expected => {}
        Err(PassFdError::Sys(Errno::ENOBUFS)) if expected == PassFdError::Truncated => {
            return Err(format!(
                "recv_fd of {what} returned Err(Sys(ENOBUFS)), but the answer is \
                 Err(Truncated): the kernel set MSG_CTRUNC in the message's flags, and nix \
                 refuses to decode a truncated control buffer (ENOBUFS) instead. Look at \
                 msg.flags for MSG_CTRUNC before reading the control messages, close what \
                 arrived with fdpass::close_received(&control), and report Truncated.{} \
                 Truncation not reported.",
                left_open("the descriptors that fit")
            ));
        }
        Ok(fd) if expected == PassFdError::Truncated => {
            return Err(format!(
                "recv_fd of {what} returned Ok(descriptor {}), but the peer sent {fds} \
                 descriptors in one message, and the answer is Err(Truncated): recv_fd keeps \
                 room for one descriptor (nix::cmsg_space!(RawFd)), so that the kernel sets \
                 MSG_CTRUNC when more come. A control buffer with room for more takes them \
                 all, and only one of them is returned.{} Truncation not reported.",
                fd.as_raw_fd(),
                left_open("the others")
            ));
        }
        other => {
            return Err(format!(
                "recv_fd of {what} should be Err({expected:?}) ({expected}), got {}. Wrong \
                 answer.",
                match other {
                    Ok(fd) => format!("Ok(descriptor {})", fd.as_raw_fd()),
                    Err(err) => format!("Err({err:?})"),
                }
            ));
        }
    }
    if !leaked.is_empty() {
        return Err(format!(
            "recv_fd of {what} returned Err({expected:?}), but left descriptor(s) {} open \
             on the file: the kernel installed them for the message, and nobody owns them now. \
             {} Descriptor leaked.",
            fd_list(leaked),
            if expected == PassFdError::Truncated {
                "After MSG_CTRUNC nix refuses to decode the buffer: close what arrived with \
                 fdpass::close_received(&control)."
            } else {
                "Wrap every received descriptor in an OwnedFd, or close it."
            }
        ));
    }
    Ok(())
}

fn check_bad_messages(recv: RecvFd, budget: Duration) -> Result<(), String> {
    check_bad_message(
        recv,
        budget,
        "a message without descriptor",
        0,
        PassFdError::NoDescriptor,
    )?;
    check_bad_message(
        recv,
        budget,
        "three descriptors, where there is room for fewer",
        3,
        PassFdError::Truncated,
    )?;
    check_bad_message(
        recv,
        budget,
        "a peer that closed without sending",
        0,
        PassFdError::Closed,
    )
}

fn check_two_descriptors(recv: RecvFd, budget: Duration) -> Result<(), String> {
    // cmsg_space!(RawFd) rounds up to room for two descriptors on 64-bit Linux: both
    // arrive, one is returned, the other must be closed.
    if cfg!(not(target_pointer_width = "64")) {
        return Ok(());
    }
    let (a, b) = pair();
    let (first, second) = (file_with("first\n"), file_with("second\n"));
    let before = vec![
        descriptors_on(identity(first.as_fd())),
        descriptors_on(identity(second.as_fd())),
    ];
    send_raw(&a, &[first.as_raw_fd(), second.as_raw_fd()]);
    let result = receive(recv, b, "recv_fd of two descriptors", budget)?;
    let leaked = leaked_after(&[&first, &second], &before, result.as_ref().ok());
    match result {
        Ok(_) if leaked.is_empty() => Ok(()),
        Ok(fd) => Err(format!(
            "two descriptors arrived in one message (there is room for two): recv_fd returned \
             descriptor {} and left {leaked:?} open with nobody to close it. Own every received \
             descriptor (an OwnedFd each): the ones not returned are then closed when dropped. \
             Descriptor leaked.",
            fd.as_raw_fd()
        )),
        Err(err) => Err(format!(
            "two descriptors arrived in one message, with room for both: recv_fd should return \
             one of them (and close the other), got Err({err:?}). Wrong answer."
        )),
    }
}

/// A message without descriptor, then at once a good one, both queued before the first
/// call: one `recv_fd` receives one message, so the first answers `NoDescriptor` and the
/// second returns the descriptor. A stream socket keeps no boundaries between messages: a
/// receive into a buffer bigger than one byte takes both, with the second's descriptor.
fn check_messages_back_to_back(recv: RecvFd, budget: Duration) -> Result<(), String> {
    let (a, b) = pair();
    let file = file_with("the second message\n");
    let before = vec![descriptors_on(identity(file.as_fd()))];
    send_raw(&a, &[]);
    send_raw(&a, &[file.as_raw_fd()]);
    let what = "a message without descriptor, followed at once by a message with one,";
    let queued = unread_bytes(b.as_fd()).unwrap_or(0);
    let first = receive(
        recv,
        b.try_clone().expect("dup"),
        &format!("recv_fd of {what}"),
        budget,
    )?;
    let left = unread_bytes(b.as_fd()).unwrap_or(0);
    match first {
        Err(PassFdError::NoDescriptor) => {}
        Ok(fd) if left == 0 => {
            return Err(format!(
                "recv_fd of {what} returned Ok(descriptor {}): it took both messages in one \
                 call ({queued} bytes left the socket), and the descriptor of the second. A \
                 stream socket keeps no boundaries: one recvmsg() takes as many queued bytes as \
                 its buffer holds. Receive into a one-byte buffer (TAG), so that one recv_fd \
                 receives one message. Messages merged.",
                fd.as_raw_fd()
            ));
        }
        other => {
            return Err(format!(
                "recv_fd of {what} should be Err(NoDescriptor) ({}), got {}. Wrong answer.",
                PassFdError::NoDescriptor,
                match other {
                    Ok(fd) => format!("Ok(descriptor {})", fd.as_raw_fd()),
                    Err(err) => format!("Err({err:?})"),
                }
            ));
        }
    }
    let second = receive(
        recv,
        b,
        "the next recv_fd, on the message with a descriptor",
        budget,
    )?;
    drop(a);
    let leaked = leaked_after(&[&file], &before, second.as_ref().ok());
    let received = second.map_err(|err| {
        format!(
            "after recv_fd of {what} rightly answered NoDescriptor, the next recv_fd should \
             return the second message's descriptor, got Err({err:?}). Wrong answer."
        )
    })?;
    let mut text = String::new();
    File::from(received)
        .read_to_string(&mut text)
        .map_err(|err| format!("reading through the received descriptor failed: {err}"))?;
    if text != "the second message\n" {
        return Err(format!(
            "the next recv_fd returned a descriptor that reads {text:?}, not the file of the \
             second message. Wrong descriptor."
        ));
    }
    if !leaked.is_empty() {
        return Err(format!(
            "after the two messages, descriptor(s) {} are still open on the file with \
             nobody to close them. Descriptor leaked.",
            fd_list(&leaked)
        ));
    }
    Ok(())
}

/// `recv_fd` on a socket where nothing has arrived yet, the sender still connected: it must
/// wait (asleep in the kernel) until the message comes. The message is sent only once the
/// receiving thread sleeps, or once the call has returned (too early).
fn check_waits_for_the_message(recv: RecvFd, budget: Duration) -> Result<(), String> {
    let (a, b) = pair();
    let file = file_with("worth the wait\n");
    let returned = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let done = std::sync::Arc::clone(&returned);
    let call = proctest::Call::start(
        "recv_fd on a socket where nothing has arrived yet",
        move || {
            let result = recv(b.as_fd());
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            drop(b);
            result
        },
    );
    let tid = call.tid();
    let started = std::time::Instant::now();
    // Until the thread sleeps in a call of its own (not a moment in a lock of the
    // allocator), or the call has returned.
    let early = || returned.load(std::sync::atomic::Ordering::SeqCst);
    while started.elapsed() < budget && !early() {
        match proctest::Process::thread_of_self(tid) {
            Some(thread)
                if thread.state != 'S'
                    || thread.blocked_in.as_ref().is_none_or(|c| c.name == "futex") =>
            {
                std::thread::yield_now();
            }
            _ => break,
        }
    }
    let returned_early = early();
    // A receiver that returned has closed its end: the message then goes nowhere.
    let _ = sendmsg::<()>(
        a.as_raw_fd(),
        &[IoSlice::new(&[TAG])],
        &[ControlMessage::ScmRights(&[file.as_raw_fd()])],
        MsgFlags::MSG_NOSIGNAL,
        None,
    );
    let result = match call.finish(budget) {
        Ok(timed) => timed.value,
        Err(stuck) => {
            return Err(format!(
                "{stuck}: the message was sent once it waited, yet it never took it. recv_fd \
                 blocked."
            ));
        }
    };
    drop(a);
    match result {
        Ok(fd) => {
            let mut text = String::new();
            File::from(fd)
                .read_to_string(&mut text)
                .map_err(|err| format!("reading through the received descriptor failed: {err}"))?;
            if text == "worth the wait\n" {
                Ok(())
            } else {
                Err(format!(
                    "recv_fd returned a descriptor that reads {text:?}, not the file that was \
                     sent. Wrong descriptor."
                ))
            }
        }
        Err(err) if returned_early => Err(format!(
            "recv_fd on a socket where nothing had arrived yet (the sender still connected) \
             returned Err({err:?}) at once, before the message was sent. recv_fd blocks \
             until a message arrives: call recvmsg() without MSG_DONTWAIT, on the socket as it \
             is (blocking). Did not wait."
        )),
        Err(err) => Err(format!(
            "recv_fd waited for the message, then returned Err({err:?}) ({err}) when it came, \
             not its descriptor. Wrong answer."
        )),
    }
}

fn check_all(send: SendFd, recv: RecvFd, budget: Duration) -> Result<(), String> {
    check_wire_format(send)?;
    check_round_trip(send, recv, budget)?;
    check_waits_for_the_message(recv, budget)?;
    check_bad_messages(recv, budget)?;
    check_messages_back_to_back(recv, budget)?;
    check_two_descriptors(recv, budget)
}

#[test]
fn send_fd_sends_one_tag_byte_with_one_descriptor() {
    verdict(check_wire_format(send_fd));
}

#[test]
fn a_descriptor_sent_over_a_socketpair_reads_the_same_file() {
    verdict(check_round_trip(send_fd, recv_fd, BUDGET));
}

#[test]
fn recv_fd_waits_until_the_message_arrives() {
    verdict(check_waits_for_the_message(recv_fd, BUDGET));
}

#[test]
fn a_message_without_descriptor_is_reported() {
    verdict(check_bad_message(
        recv_fd,
        BUDGET,
        "a message without descriptor",
        0,
        PassFdError::NoDescriptor,
    ));
    assert!(
        PassFdError::NoDescriptor
            .to_string()
            .contains("no descriptor")
    );
}

// ANCHOR: truncated
#[test]
fn too_many_descriptors_are_reported_as_truncated() {
    let (a, b) = pair();
    let file = file_with("three times\n");
    let before = vec![descriptors_on(identity(file.as_fd()))];
    let raw = file.as_raw_fd();
    sendmsg::<()>(
        a.as_raw_fd(),
        &[IoSlice::new(&[TAG])],
        &[ControlMessage::ScmRights(&[raw, raw, raw])],
        MsgFlags::empty(),
        None,
    )
    .expect("sendmsg");
    let result = receive(recv_fd, b, "recv_fd of three descriptors", BUDGET)
        .unwrap_or_else(|stuck| panic!("{}", wrap(&stuck)));
    // Three descriptors do not fit: MSG_CTRUNC, Err(Truncated), and nothing left open.
    let leaked = leaked_after(&[&file], &before, result.as_ref().ok());
    let what = "three descriptors (room for one)";
    verdict(judge_bad_message(
        what,
        3,
        PassFdError::Truncated,
        &result,
        &leaked,
    ));
}
// ANCHOR_END: truncated

#[test]
fn a_truncated_message_leaves_no_descriptor_open() {
    verdict(check_bad_message(
        recv_fd,
        BUDGET,
        "three descriptors, where there is room for fewer",
        3,
        PassFdError::Truncated,
    ));
}

#[test]
fn a_peer_that_closes_without_sending_is_reported() {
    verdict(check_bad_message(
        recv_fd,
        BUDGET,
        "a peer that closed without sending",
        0,
        PassFdError::Closed,
    ));
}

#[test]
fn each_recv_fd_receives_one_message() {
    verdict(check_messages_back_to_back(recv_fd, BUDGET));
}

#[test]
fn two_descriptors_in_one_message_leave_no_descriptor_open() {
    verdict(check_two_descriptors(recv_fd, BUDGET));
}

#[test]
fn peer_credentials_name_this_process() {
    let (a, _b) = pair();
    let creds = peer_credentials(a.as_fd()).expect("SO_PEERCRED on a socketpair");
    assert_eq!(creds.pid(), i32::try_from(std::process::id()).expect("pid"));
    assert_eq!(creds.uid(), nix::unistd::getuid().as_raw());
    assert_eq!(creds.gid(), nix::unistd::getgid().as_raw());
}

/// The demo's hang, in the step's words: a receiver waiting in recvmsg.
fn diagnose(hang: &proctest::Hang) -> String {
    let why = if hang.blocked_in("recvmsg").next().is_some() {
        "The receiver is blocked in recvmsg() and the sender is gone or waiting: the message \
         never came. A stream socket carries a control message only next to data: send_fd \
         sends one byte, TAG, with its SCM_RIGHTS. Receiver blocked."
    } else {
        "The demo never finished: look for a call that waits for something the other process \
         never does. Demo stuck."
    };
    proctest::verdict(&hang, why)
}

fn demo(args: &[&str]) -> proctest::Finished {
    // The demo's socket directory goes in a directory of the test's, removed even if the
    // watchdog has to kill the demo before it cleans up.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    Demo::new(DEMO)
        .env("TMPDIR", tmp.path())
        .args(args)
        .timeout(Duration::from_secs(5))
        .run()
        .unwrap_or_else(|hang| panic!("{}", diagnose(&hang)))
}

/// The demo's failure, in the step's words: its errors, and what the receiver's says.
fn demo_failed(run: &proctest::Finished) -> String {
    let why = if run.stderr.contains("recv_fd: recvmsg failed: EAGAIN") {
        "recv_fd gave up with EAGAIN before the sender's message came (the sender's EPIPE, if \
         shown, follows from it: the receiver had already left). recv_fd blocks until a \
         message arrives: call recvmsg() without MSG_DONTWAIT. Did not wait."
    } else if run.stderr.contains("SO_PEERCRED says") {
        "peer_credentials returned the wrong process: SO_PEERCRED gives the credentials of \
         the process at the other end of the socket, as the kernel recorded them when it \
         connected (getsockopt on the connected socket), not those of the calling process. The \
         sender's EPIPE, if shown, follows from it: the receiver had already left. Wrong peer."
    } else {
        "Read the first error: it names the call that failed. Demo failed."
    };
    wrap(&format!(
        "the demo `pass_fd` exited with {}; it said:\n{}\n{why}",
        run.code()
            .map_or_else(|| "a signal".to_owned(), |c| format!("code {c}")),
        run.stderr
            .lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    ))
}

#[test]
fn the_receiver_reads_a_file_it_never_opened() {
    let run = demo(&[]);
    assert!(run.code() == Some(0), "{}", demo_failed(&run));
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    insta::assert_snapshot!("pass_fd_one", run.stdout);
}

#[test]
fn the_demo_reports_a_message_without_descriptor_and_leaks_nothing() {
    let run = demo(&["--send", "none"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert!(
        run.stderr
            .contains("error: recv_fd: the message carried no descriptor"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("descriptors after the message: the same as at the start"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_demo_reports_truncation_and_closes_what_arrived() {
    let run = demo(&["--send", "three"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert!(
        run.stderr
            .contains("error: recv_fd: the control message was truncated (MSG_CTRUNC)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout
            .contains("descriptors after the message: the same as at the start"),
        "the descriptors that did arrive must be closed:\n{}",
        run.stdout
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    for (args, expected) in [
        (
            &["--send", "two"][..],
            "--send takes one, none or three, got `two`",
        ),
        (&["--send"][..], "--send needs a value"),
        (&["abc"][..], "unexpected argument `abc`"),
    ] {
        demo(args).assert_usage_error(
            &format!("`pass_fd {}`", args.join(" ")),
            &[expected, "usage: pass_fd"],
        );
    }
}

// The oracles: wrong solutions the checks above must fail with the right message, and
// correct ones written differently that they must pass. A wrong receiver blocks: the
// oracles give it a short budget.

const SHORT: Duration = Duration::from_secs(3);

/// Right, written differently: libc's sendmsg with a hand-built control message.
fn send_with_libc(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> nix::Result<()> {
    let mut byte = [TAG];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)];
    // SAFETY: a zeroed msghdr is valid; every pointer set below outlives the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: the control buffer has room for one header and one descriptor.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd.as_raw_fd());
    }
    // SAFETY: `msg` describes valid buffers; sendmsg reads them.
    let sent = unsafe { libc::sendmsg(socket.as_raw_fd(), &msg, 0) };
    nix::errno::Errno::result(sent).map(drop)
}

/// Right, written differently: a loop over the control messages that owns every
/// descriptor as it goes, and MSG_CTRUNC checked after.
fn recv_owning_all(socket: BorrowedFd<'_>) -> Result<OwnedFd, PassFdError> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut control = cmsg_space!(RawFd);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::empty(),
    )?;
    if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
        close_received(&control);
        return Err(PassFdError::Truncated);
    }
    let mut owned = Vec::new();
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: installed for us by the kernel for this message: one owner each.
            owned.extend(
                fds.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    if owned.is_empty() {
        return Err(if msg.bytes == 0 {
            PassFdError::Closed
        } else {
            PassFdError::NoDescriptor
        });
    }
    Ok(owned.swap_remove(0))
}

/// Wrong: the control message without a data byte.
fn send_without_byte(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> nix::Result<()> {
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map(drop)
}

/// Wrong: a two-byte message.
fn send_two_bytes(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> nix::Result<()> {
    let fds = [fd.as_raw_fd()];
    sendmsg::<()>(
        socket.as_raw_fd(),
        &[IoSlice::new(b"FD")],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map(drop)
}

/// Wrong: takes the lent descriptor as its own, and closes it when done.
fn send_and_close(socket: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: wrong on purpose: the caller still owns this descriptor.
    let owned = unsafe { OwnedFd::from_raw_fd(fd.as_raw_fd()) };
    send_raw(
        &socket.try_clone_to_owned().expect("dup"),
        &[owned.as_raw_fd()],
    );
    Ok(())
}

/// Wrong: returns the first descriptor, forgets the others (and ignores MSG_CTRUNC, so a
/// truncated message is "no descriptor").
fn recv_first_only(socket: BorrowedFd<'_>) -> Result<OwnedFd, PassFdError> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut control = cmsg_space!(RawFd);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::empty(),
    )?;
    if msg.bytes == 0 {
        return Err(PassFdError::Closed);
    }
    let Ok(cmsgs) = msg.cmsgs() else {
        return Err(PassFdError::Truncated);
    };
    for cmsg in cmsgs {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: installed by the kernel for us.
            return Ok(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    Err(PassFdError::NoDescriptor)
}

/// Wrong: receives into a buffer of 64 bytes, so queued messages merge.
fn recv_into_64_bytes(socket: BorrowedFd<'_>) -> Result<OwnedFd, PassFdError> {
    let mut bytes = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut bytes)];
    let mut control = cmsg_space!(RawFd);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::empty(),
    )?;
    if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
        close_received(&control);
        return Err(PassFdError::Truncated);
    }
    let mut owned = Vec::new();
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: installed for us by the kernel for this message: one owner each.
            owned.extend(
                fds.into_iter()
                    .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
            );
        }
    }
    match (owned.is_empty(), msg.bytes) {
        (true, 0) => Err(PassFdError::Closed),
        (true, _) => Err(PassFdError::NoDescriptor),
        _ => Ok(owned.swap_remove(0)),
    }
}

/// Wrong: does not wait (MSG_DONTWAIT).
fn recv_without_waiting(socket: BorrowedFd<'_>) -> Result<OwnedFd, PassFdError> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut control = cmsg_space!(RawFd);
    let msg = recvmsg::<()>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut control),
        MsgFlags::MSG_DONTWAIT,
    )?;
    for cmsg in msg.cmsgs()? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            // SAFETY: installed for us by the kernel for this message.
            return Ok(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        }
    }
    Err(PassFdError::NoDescriptor)
}

/// Wrong: skips messages without a descriptor and waits for the next one.
fn recv_until_descriptor(socket: BorrowedFd<'_>) -> Result<OwnedFd, PassFdError> {
    loop {
        match recv_owning_all(socket) {
            Err(PassFdError::NoDescriptor) => {}
            other => return other,
        }
    }
}

#[track_caller]
fn assert_fails(send: SendFd, recv: RecvFd, expected: &[&str]) {
    let message = check_all(send, recv, SHORT).expect_err("the checks must fail this solution");
    for text in expected {
        assert!(
            message.contains(text),
            "the message should say {text:?}:\n{message}"
        );
    }
}

#[test]
fn the_checks_pass_correct_solutions_written_differently() {
    verdict(check_all(send_with_libc, recv_owning_all, BUDGET));
}

#[test]
fn the_checks_fail_a_sender_without_its_data_byte_and_do_not_hang() {
    assert_fails(
        send_without_byte,
        recv_owning_all,
        &["put nothing on the socket", "No data byte."],
    );
    // The round trip alone, which would call recv_fd: it stops before.
    let message = check_round_trip(send_without_byte, recv_owning_all, SHORT)
        .expect_err("no byte, no message");
    assert!(
        message.contains("a receiver would wait in recvmsg forever"),
        "{message}"
    );
}

#[test]
fn the_checks_fail_a_sender_with_the_wrong_bytes_or_that_closes_the_descriptor() {
    assert_fails(send_two_bytes, recv_owning_all, &["send_fd sent \"FD\""]);
    let message = check_round_trip(send_and_close, recv_owning_all, SHORT)
        .expect_err("the lent descriptor was closed");
    assert!(
        message.contains("closed the descriptor it was lent"),
        "{message}"
    );
}

#[test]
fn the_checks_fail_a_receiver_that_leaks_or_waits() {
    assert_fails(
        send_with_libc,
        recv_first_only,
        &[
            "recv_fd of three descriptors",
            "but left descriptor(s)",
            "fdpass::close_received(&control)",
        ],
    );
    let message = check_two_descriptors(recv_first_only, SHORT).expect_err("a leak");
    assert!(
        message.contains("left [") && message.contains("open with nobody to close it"),
        "{message}"
    );
    let message = check_messages_back_to_back(recv_into_64_bytes, SHORT).expect_err("merged");
    assert!(
        message.contains("it took both messages in one call (2 bytes left the socket)")
            && message.ends_with("Messages merged."),
        "{message}"
    );
    let message = check_waits_for_the_message(recv_without_waiting, SHORT).expect_err("early");
    assert!(
        message.contains("returned Err(Sys(EAGAIN))") && message.ends_with("Did not wait."),
        "{message}"
    );
    let message = check_bad_messages(recv_until_descriptor, SHORT).expect_err("it waits");
    assert!(
        message.contains("recv_fd of a message without descriptor did not return")
            && message.contains("took the message and waits for another")
            && message.ends_with("recv_fd blocked."),
        "{message}"
    );
}
