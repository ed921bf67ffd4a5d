//! Checks `pipes/nonblocking`: EAGAIN on the empty pipe, poll, then the data, then end
//! of file.

mod common;

use common::{assert_clean, assert_usage_error};
use proctest::{Demo, Finished};

fn nonblocking(args: &[&str]) -> Finished {
    let demo = Demo::new(env!("CARGO_BIN_EXE_nonblocking")).args(args);
    match demo.timeout(common::WATCHDOG).run() {
        Ok(finished) => finished,
        Err(hang) => {
            let parent = common::leader(&hang.snapshot);
            let stuck_reader = hang.blocked_in("read").find(|p| {
                Some(p.pid) == parent && p.blocked_on_fd().and_then(|fd| fd.pipe_inode()).is_some()
            });
            let diagnosis = match stuck_reader {
                Some(p) => format!(
                    "the parent (pid {}) is blocked in read() on the empty pipe (fd {}): a read on a \
                     descriptor in non-blocking mode never blocks, it fails at once with EAGAIN. \
                     `set_nonblocking` must add O_NONBLOCK to the read end's flags \
                     (fcntl F_GETFL, then F_SETFL). The writer is waiting for the parent's \
                     go-ahead, which comes only after that EAGAIN.",
                    p.pid,
                    p.blocked_in.as_ref().and_then(|s| s.fd).unwrap_or(-1)
                ),
                None => "the demo never finished".to_owned(),
            };
            panic!("{diagnosis}\n\n{hang}")
        }
    }
}

#[test]
fn would_block_then_poll_then_data_then_end_of_file() {
    let run = nonblocking(&[]);
    assert!(
        run.stdout
            .starts_with("1. read() on the empty pipe: would block (EAGAIN): the pipe is empty\n"),
        "the first read must come back at once with EAGAIN, as `ReadNow::WouldBlock`; got:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    insta::assert_snapshot!("nonblocking", run.stdout);
    assert_clean(&run);
}

#[test]
fn arguments_are_a_usage_error() {
    let run = nonblocking(&["3"]);
    assert_usage_error(&run, "this demo takes no argument");
}
