//! Checks `multiplexing/echo_server`: 1,000 concurrent clients against the
//! level-triggered epoll server, in two rounds on the same connections, every byte echoed
//! however slowly the clients read, the server asleep whenever nothing is to be done, and
//! nothing leaked.
//!
//! The oracle tests at the end run the same load against wrong (and right) servers from the
//! `oracles` binary, to prove that each wrong one fails with a message naming its cause.

mod common;

use common::echo::{assert_fails, assert_passes, check, run};
use proctest::Demo;
use std::time::Duration;

#[test]
fn a_thousand_clients_get_every_byte_back_and_the_server_leaks_nothing() {
    let run = check(run(false, 1000, None)).unwrap_or_else(|message| panic!("{message}"));
    insta::assert_snapshot!("echo_server_1000_clients", run.stdout);
}

#[test]
fn bad_client_counts_are_usage_errors() {
    for bad in ["abc", "-3", "0", "5001"] {
        Demo::new(env!("CARGO_BIN_EXE_echo_load"))
            .arg(bad)
            .timeout(Duration::from_secs(10))
            .run()
            .unwrap_or_else(|hang| {
                panic!(
                    "{}",
                    proctest::verdict(&hang, "`echo_load` never read its arguments. Stuck.")
                )
            })
            .assert_usage_error(
                &format!("`echo_load {bad}`"),
                &[
                    &format!("CLIENTS must be a whole number from 1 to 5000, got `{bad}`"),
                    "usage: echo_load",
                ],
            );
    }
}

#[test]
fn the_checks_fail_a_server_that_loses_or_keeps_bytes() {
    assert_fails(
        "echo-drops-unwritten",
        false,
        &[
            "the server closed the connection without writing any more",
            "Bytes dropped.",
        ],
    );
    assert_fails(
        "echo-keeps-what-it-wrote",
        false,
        &[
            "which it had already received, came back again (bytes echoed twice)",
            "Bytes echoed twice.",
        ],
    );
    assert_fails(
        "echo-no-epollout",
        false,
        &[
            "the server wrote",
            "more bytes of its echo",
            "EPOLLOUT not watched.",
        ],
    );
    assert_fails(
        "echo-closes-at-eof",
        false,
        &[
            "as message 2 and got only",
            "before the server closed the connection",
        ],
    );
    assert_fails(
        "echo-never-closes",
        false,
        &["connection stalled", "does not close"],
    );
}

#[test]
fn the_checks_fail_a_server_whose_new_bytes_overtake_pending_ones() {
    // The first round's big echo shows the overtaking when new bytes happen to arrive while
    // old ones wait; the last phase forces it. Either way the cause is named.
    assert_fails(
        "echo-new-first",
        false,
        &[
            "but out of order",
            "bytes were written while older ones still waited in the server",
            "Echo out of order.",
        ],
    );
}

#[test]
fn the_checks_fail_a_server_that_mishandles_a_broken_connection() {
    // Every hundredth client of round 2 leaves without reading: the server's write fails
    // (EPIPE), and the connection must be closed like any other that failed.
    assert_fails(
        "echo-ignores-write-errors",
        false,
        &[
            "does not close finished connections",
            "write() fails with EPIPE",
        ],
    );
    assert_fails(
        "echo-retries-write-errors",
        false,
        &[
            "the server did not answer for 10 s",
            "it is running, not asleep in a system call",
            "a write() retried after another error, such as EPIPE",
            "Server stuck in turn().",
        ],
    );
}

#[test]
fn the_checks_fail_a_server_that_wakes_up_for_nothing() {
    assert_fails(
        "echo-epollout-always",
        false,
        &[
            "while the load generator computed (every client connected and quiet)",
            "Busy-waiting.",
        ],
    );
    assert_fails(
        "echo-epollout-kept",
        false,
        &[
            "every first echo written",
            "watched for EPOLLOUT while writable",
            "remove it (modify back to EPOLLIN) once none is left",
            "Busy-waiting.",
        ],
    );
    assert_fails(
        "echo-epollin-after-eof",
        false,
        &[
            "held the echoes of clients that had closed their side",
            "watched for EPOLLIN after the end of file",
            "Stop watching EPOLLIN",
        ],
    );
    assert_fails(
        "echo-ignores-hangup",
        false,
        &["broken connection(s) still open", "On EPOLLHUP or EPOLLERR"],
    );
}

#[test]
fn the_checks_end_a_load_that_a_server_never_serves() {
    // A server woken by epoll over and over that handles nothing: no stall (it is never
    // idle) and no hang; after 10 s with not one byte moved, the load generator says so.
    assert_fails(
        "echo-serves-nothing",
        false,
        &[
            "the server does not serve",
            "not one byte moved",
            "Server not serving.",
        ],
    );
}

#[test]
fn the_checks_pass_servers_written_differently() {
    assert_passes("echo-write-on-epollout", false);
    assert_passes("echo-oneshot-rearmed", false);
}
