//! Checks `pipes/oneway`: the child reads the parent's message until end of file.

mod common;

use common::{assert_clean, assert_usage_error, run};
use proctest::{Demo, Process};

fn roles(parent: Option<i32>) -> impl Fn(&Process) -> String {
    move |p: &Process| {
        if Some(p.pid) == parent {
            "the parent".to_owned()
        } else {
            "the child".to_owned()
        }
    }
}

fn oneway(args: &[&str]) -> proctest::Finished {
    let demo = Demo::new(env!("CARGO_BIN_EXE_oneway")).args(args);
    match demo.timeout(common::WATCHDOG).run() {
        Ok(finished) => finished,
        Err(hang) => {
            let parent = common::leader(&hang.snapshot);
            panic!("{}", common::diagnose(&hang, &roles(parent)))
        }
    }
}

#[test]
fn the_child_reads_the_message_until_end_of_file() {
    let run = oneway(&[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    insta::assert_snapshot!("oneway", run.stdout);
    assert_clean(&run);
}

/// Checks that the parent could send the whole message: a child that stops reading
/// before end of file leaves the parent writing into a pipe nobody reads (EPIPE).
fn assert_read_to_the_end(run: &proctest::Finished, bytes: usize) {
    if run.stderr.contains("EPIPE") {
        panic!(
            "{}\n{}{}",
            proctest::wrap(
                &format!(
                    "the parent's write of {bytes} bytes failed with EPIPE: the child had closed \
                     the pipe before the end of the message. The child must read until read() \
                     returns 0 (end of file): one read() returns at most what the pipe holds \
                     then (64 KiB). Stopped before end of file."
                ),
                100
            ),
            run.stdout,
            run.stderr
        );
    }
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let expected = format!("child: read {bytes} bytes until end of file\n");
    assert!(
        run.stdout.contains(&expected),
        "the child must report all {bytes} bytes (`{}`):\n{}",
        expected.trim_end(),
        run.stdout
    );
}

#[test]
fn a_message_larger_than_the_pipe_arrives_whole() {
    // A pipe holds 64 KiB: the parent blocks in write() until the child has read.
    let run = oneway(&["1000000"]);
    assert_read_to_the_end(&run, 1_000_000);
    assert!(
        run.stdout
            .contains("child: read 1000000 bytes until end of file\n"),
        "{}",
        run.stdout
    );
    assert_clean(&run);
}

#[test]
fn an_empty_message_is_end_of_file_at_once() {
    let run = oneway(&["0"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("child: read 0 bytes until end of file\n"),
        "{}",
        run.stdout
    );
    assert_clean(&run);
}

#[test]
fn bad_sizes_are_usage_errors() {
    for bad in ["abc", "-3", "16777217", ""] {
        let run = run(
            Demo::new(env!("CARGO_BIN_EXE_oneway")).arg(bad),
            &roles(None),
        );
        assert_usage_error(&run, "BYTES must be a whole number from 0 to 16777216");
    }
    let run = run(
        Demo::new(env!("CARGO_BIN_EXE_oneway")).args(["1", "2"]),
        &roles(None),
    );
    assert_usage_error(&run, "too many arguments");
}

#[test]
fn the_child_calls_only_async_signal_safe_functions_and_leaves_with_exit() {
    let source = proctest::source::Source::read(proctest::step_file!("10_pipes/oneway.rs"))
        .unwrap_or_else(|err| panic!("{err}"));
    proctest::source::assert_none(&source.fork_children());
}
