//! Checks `multiplexing/edge_triggered`: the same load as `echo_server`, against the server
//! with EPOLLET: every byte echoed, every client accepted, nothing left unread after an
//! edge, the server asleep whenever nothing is to be done.
//!
//! The oracle tests at the end run the same load against wrong (and right) edge-triggered
//! servers from the `oracles` binary, to prove that each wrong one fails with a message
//! naming its cause: what the evidence shows, not a guess.

mod common;

use common::echo::{assert_fails, assert_passes, check, run};
use proctest::Demo;
use std::time::Duration;

#[test]
fn every_client_gets_its_echo_with_edge_triggered_events() {
    let run = check(run(true, 1000, None)).unwrap_or_else(|message| panic!("{message}"));
    insta::assert_snapshot!("edge_triggered_1000_clients", run.stdout);
}

#[test]
fn the_server_refuses_unknown_arguments() {
    Demo::new(env!("CARGO_BIN_EXE_echo_server"))
        .arg("--level")
        .timeout(Duration::from_secs(5))
        .run()
        .unwrap_or_else(|hang| {
            panic!(
                "{}",
                proctest::verdict(&hang, "`echo_load` never read its arguments. Stuck.")
            )
        })
        .assert_usage_error(
            "`echo_server --level`",
            &[
                "unexpected argument `--level`",
                "usage: echo_server [--edge]",
            ],
        );
}

#[test]
fn the_checks_name_what_an_edge_triggered_server_left_behind() {
    assert_fails(
        "echo-read-once",
        true,
        &[
            "data left unread with edge-triggered events",
            "registered for EPOLLIN | EPOLLET",
            "Read until read() fails with WouldBlock",
        ],
    );
    assert_fails(
        "echo-level-connections",
        true,
        &["registered without EPOLLET", "Not edge-triggered."],
    );
    assert_fails(
        "echo-accept-once",
        true,
        &[
            "clients never accepted",
            "accept until accept() fails with WouldBlock",
        ],
    );
    assert_fails(
        "echo-oneshot-never-rearmed",
        true,
        &[
            "EPOLLONESHOT, which disabled it after its last event",
            "nobody re-armed it",
        ],
    );
    assert_fails(
        "echo-ignores-read-errors",
        true,
        &[
            "whose client closed its socket with its echo unread were still open",
            "fails with ECONNRESET",
            "Descriptors leaked.",
        ],
    );
    assert_fails(
        "echo-drops-unwritten",
        true,
        &[
            "the server closed the connection without writing any more",
            "Bytes dropped.",
        ],
    );
}

#[test]
fn the_checks_pass_edge_triggered_servers_written_differently() {
    // The notes' way: EPOLLIN | EPOLLOUT | EPOLLET once at accept, never changed.
    assert_passes("echo-notes-edge", true);
    assert_passes("echo-oneshot-rearmed", true);
}
