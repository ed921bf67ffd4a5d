//! Checks `multiplexing/pass_fd`: a descriptor sent over a UNIX socket, the peer's
//! credentials, and the errors of a wrong message.

use multiplexing::fdpass::PassFdError;
use multiplexing::pass_fd::{TAG, peer_credentials, recv_fd, send_fd};
use nix::sys::socket::{
    AddressFamily, ControlMessage, MsgFlags, SockFlag, SockType, sendmsg, socketpair,
};
use proctest::Demo;
use std::io::{IoSlice, Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

const DEMO: &str = env!("CARGO_BIN_EXE_pass_fd");

fn pair() -> (OwnedFd, OwnedFd) {
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .expect("socketpair")
}

fn file_with(text: &str) -> std::fs::File {
    let path = std::env::temp_dir().join(format!(
        "pass-fd-test-{}-{}",
        std::process::id(),
        text.len()
    ));
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .expect("temp file");
    std::fs::remove_file(&path).expect("unlink");
    file.write_all(text.as_bytes()).expect("write");
    file.rewind().expect("rewind");
    file
}

#[test]
fn a_descriptor_sent_over_a_socketpair_reads_the_same_file() {
    let (a, b) = pair();
    let file = file_with("through the socket\n");
    send_fd(a.as_fd(), file.as_fd()).expect("send_fd");
    let received = recv_fd(b.as_fd()).expect("recv_fd must return the descriptor sent");
    assert_ne!(
        received.as_raw_fd(),
        file.as_raw_fd(),
        "the kernel installs a new descriptor number for the same open file"
    );
    let mut text = String::new();
    std::fs::File::from(received)
        .read_to_string(&mut text)
        .expect("read through the received descriptor");
    assert_eq!(text, "through the socket\n");
}

#[test]
fn a_message_without_descriptor_is_reported() {
    let (a, b) = pair();
    sendmsg::<()>(
        a.as_raw_fd(),
        &[IoSlice::new(&[TAG])],
        &[],
        MsgFlags::empty(),
        None,
    )
    .expect("sendmsg");
    let err = recv_fd(b.as_fd()).expect_err("a message without SCM_RIGHTS must be an error");
    assert_eq!(err, PassFdError::NoDescriptor);
    assert!(err.to_string().contains("no descriptor"), "{err}");
}

// ANCHOR: truncated
#[test]
fn too_many_descriptors_are_reported_as_truncated() {
    let (a, b) = pair();
    let file = file_with("three times\n");
    let raw = file.as_raw_fd();
    sendmsg::<()>(
        a.as_raw_fd(),
        &[IoSlice::new(&[TAG])],
        &[ControlMessage::ScmRights(&[raw, raw, raw])],
        MsgFlags::empty(),
        None,
    )
    .expect("sendmsg");
    let err = recv_fd(b.as_fd()).expect_err("three descriptors do not fit: MSG_CTRUNC");
    assert_eq!(err, PassFdError::Truncated);
    assert!(err.to_string().contains("MSG_CTRUNC"), "{err}");
}
// ANCHOR_END: truncated

#[test]
fn a_peer_that_closes_without_sending_is_reported() {
    let (a, b) = pair();
    drop(a);
    assert_eq!(
        recv_fd(b.as_fd()).expect_err("end of file"),
        PassFdError::Closed
    );
}

#[test]
fn peer_credentials_name_this_process() {
    let (a, _b) = pair();
    let creds = peer_credentials(a.as_fd()).expect("SO_PEERCRED on a socketpair");
    assert_eq!(creds.pid(), i32::try_from(std::process::id()).expect("pid"));
    assert_eq!(creds.uid(), nix::unistd::getuid().as_raw());
    assert_eq!(creds.gid(), nix::unistd::getgid().as_raw());
}

fn demo(args: &[&str]) -> proctest::Finished {
    Demo::new(DEMO)
        .args(args)
        .timeout(Duration::from_secs(5))
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"))
}

#[test]
fn the_receiver_reads_a_file_it_never_opened() {
    let run = demo(&[]);
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert_eq!(run.code(), Some(0), "the demo failed:\n{}", run.stderr);
    insta::assert_snapshot!("pass_fd_one", run.stdout);
}

#[test]
fn the_demo_reports_a_message_without_descriptor_and_leaks_nothing() {
    let run = demo(&["--send", "none"]);
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
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
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
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
