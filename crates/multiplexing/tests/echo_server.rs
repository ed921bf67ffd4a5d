//! Checks `multiplexing/echo_server`: 1,000 concurrent clients against the
//! level-triggered epoll server, every byte echoed, nothing leaked.

use proctest::Demo;
use std::time::Duration;

const LOAD: &str = env!("CARGO_BIN_EXE_echo_load");

fn load(args: &[&str]) -> proctest::Finished {
    // A correct run takes well under a second; the debug build on a busy CI machine
    // gets a generous watchdog.
    Demo::new(LOAD)
        .args(args)
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap_or_else(|hang| {
            panic!(
                "the load generator never finished: some client waits for an echo that never comes (is EPOLLOUT handled? are connections closed after their end of file?)\n\n{hang}"
            )
        })
}

#[test]
fn a_thousand_clients_get_every_byte_back_and_the_server_leaks_nothing() {
    let run = load(&[]);
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    let headline = if run.stderr.contains("it dropped bytes") {
        "the server dropped bytes: when write() takes only part of an echo (or fails with WouldBlock), keep the rest in the connection and finish it on EPOLLOUT"
    } else {
        "the echo server failed the load test"
    };
    assert_eq!(run.code(), Some(0), "{headline}\n\n{}", run.stderr);
    insta::assert_snapshot!("echo_server_1000_clients", run.stdout);
}

#[test]
fn bad_client_counts_are_usage_errors() {
    for bad in ["abc", "-3", "0", "5001"] {
        load(&[bad]).assert_usage_error(
            &format!("`echo_load {bad}`"),
            &[
                &format!("CLIENTS must be a whole number from 1 to 5000, got `{bad}`"),
                "usage: echo_load",
            ],
        );
    }
}
