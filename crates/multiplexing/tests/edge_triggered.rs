//! Checks `multiplexing/edge_triggered`: the same load against the server with EPOLLET.

use proctest::Demo;
use std::time::Duration;

const LOAD: &str = env!("CARGO_BIN_EXE_echo_load");
const UNREAD: &str = "data left unread after an edge-triggered event: read until EAGAIN";

#[test]
fn every_client_gets_its_echo_with_edge_triggered_events() {
    let run = Demo::new(LOAD)
        .arg("--edge")
        .timeout(Duration::from_secs(30))
        .run()
        .unwrap_or_else(|hang| {
            panic!("the load generator never finished: a client still waits for its echo ({UNREAD}?)\n\n{hang}")
        });
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    // The server checks, once every client has sent everything and epoll has nothing
    // more to report, that no connection holds unread bytes.
    assert!(
        !run.stderr.contains(UNREAD),
        "{UNREAD}\n\nthe load test said:\n{}",
        run.stderr
    );
    assert_eq!(
        run.code(),
        Some(0),
        "the edge-triggered server failed the load test:\n{}",
        run.stderr
    );
    insta::assert_snapshot!("edge_triggered_1000_clients", run.stdout);
}

#[test]
fn the_server_refuses_unknown_arguments() {
    Demo::new(env!("CARGO_BIN_EXE_echo_server"))
        .arg("--level")
        .timeout(Duration::from_secs(5))
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"))
        .assert_usage_error(
            "`echo_server --level`",
            &[
                "unexpected argument `--level`",
                "usage: echo_server [--edge]",
            ],
        );
}
