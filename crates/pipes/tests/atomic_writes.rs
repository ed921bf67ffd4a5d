//! Checks `pipes/atomic_writes`: records of at most PIPE_BUF bytes written by several
//! processes into one pipe arrive whole; the test checks every record itself.

mod common;

use common::{assert_clean, assert_usage_error};
use pipes::sys::{PIPE_BUF, record};
use proctest::{Demo, Finished};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A file path in a directory of this test's own, removed (with its contents) on drop,
/// also when the test fails.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("pipes-atomic-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self { dir }
    }

    fn file(&self) -> PathBuf {
        self.dir.join("records")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn atomic_writes(args: &[&str]) -> Finished {
    let demo = Demo::new(env!("CARGO_BIN_EXE_atomic_writes")).args(args);
    match demo.timeout(common::WATCHDOG).run() {
        Ok(finished) => finished,
        Err(hang) => {
            let parent = common::leader(&hang.snapshot);
            let role = |p: &proctest::Process| {
                if Some(p.pid) == parent {
                    "the reader".to_owned()
                } else {
                    format!("writer pid {}", p.pid)
                }
            };
            panic!("{}", common::diagnose(&hang, &role))
        }
    }
}

/// Runs the demo with `writers` writers sending `records` records of `size` bytes, and
/// checks every record of the stream it received: each one whole (header, payload of
/// its writer's letter only, checksum), each (writer, seq) exactly once, each writer's in
/// order.
fn check_all_whole(name: &str, writers: u32, records: u32, size: usize) {
    let scratch = Scratch::new(name);
    let dump = scratch.file();
    let run = atomic_writes(&[
        "--writers",
        &writers.to_string(),
        "--records",
        &records.to_string(),
        "--size",
        &size.to_string(),
        "--dump",
        dump.to_str().expect("a UTF-8 temp path"),
    ]);
    let stream = std::fs::read(&dump).unwrap_or_default();
    assert!(
        !stream.is_empty() || run.code() == Some(0),
        "the demo failed (status {:?}) before it had records to check; its error output:\n{}",
        run.code(),
        run.stderr
    );
    let mut next_seq: BTreeMap<u32, u32> = BTreeMap::new();
    for (i, bytes) in stream.chunks_exact(size).enumerate() {
        let (writer, seq) = record::check(bytes).unwrap_or_else(|why| {
            panic!(
                "record #{i} (bytes {}..{}) is not whole: {why}. A record of at most PIPE_BUF \
                 bytes written with one write() cannot be interleaved: is it written in one \
                 call, and does the reader cut the stream by size, not by read()?",
                i * size,
                (i + 1) * size
            )
        });
        assert!(writer < writers, "record #{i} claims writer {writer}");
        let expected = next_seq.entry(writer).or_insert(0);
        assert_eq!(
            seq, *expected,
            "record #{i}: writer {writer}'s records must arrive once each, in order"
        );
        *expected += 1;
    }
    let expected_len = writers as usize * records as usize * size;
    assert_eq!(
        stream.len(),
        expected_len,
        "{writers} writers x {records} records x {size} bytes should arrive; summary:\n{}",
        run.stdout
    );
    for writer in 0..writers {
        assert_eq!(
            next_seq.get(&writer).copied().unwrap_or(0),
            records,
            "writer {writer} sent {records} records"
        );
    }
    assert_eq!(
        run.code(),
        Some(0),
        "the records are whole, but the demo failed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stdout
            .contains("every record arrived whole, and each writer's records in order"),
        "{}",
        run.stdout
    );
    assert_clean(&run);
}

#[test]
fn records_of_pipe_buf_bytes_arrive_whole() {
    check_all_whole("pipebuf", 4, 500, PIPE_BUF);
}

#[test]
fn many_small_records_from_eight_writers_arrive_whole() {
    check_all_whole("small", 8, 2000, 100);
}

#[test]
fn records_above_pipe_buf_may_be_torn() {
    // No promise above PIPE_BUF: the test checks only that every byte arrives, and
    // reports (never asserts) how many records were torn on this machine.
    let scratch = Scratch::new("large");
    let dump = scratch.file();
    let size = 100_000;
    let run = atomic_writes(&[
        "--writers",
        "4",
        "--records",
        "20",
        "--size",
        &size.to_string(),
        "--dump",
        dump.to_str().expect("a UTF-8 temp path"),
    ]);
    assert_eq!(run.code(), Some(0), "{}\n{}", run.stdout, run.stderr);
    let stream = std::fs::read(&dump).expect("the demo dumps what it received");
    assert_eq!(stream.len(), 4 * 20 * size, "every byte must still arrive");
    let torn = stream
        .chunks_exact(size)
        .filter(|r| record::check(r).is_err())
        .count();
    eprintln!("records of {size} bytes: {torn} of 80 torn on this run (may be any number)");
    assert!(
        run.stdout.contains("writes above PIPE_BUF may be split"),
        "{}",
        run.stdout
    );
    assert_clean(&run);
}

#[test]
fn bad_options_are_usage_errors() {
    for (args, message) in [
        (
            &["--writers", "0"][..],
            "W must be a whole number from 1 to 16",
        ),
        (
            &["--records", "abc"][..],
            "N must be a whole number from 1 to 100000",
        ),
        (
            &["--size", "31"][..],
            "BYTES must be a whole number from 32 to 1048576",
        ),
        (
            &["--size", "2000000"][..],
            "BYTES must be a whole number from 32 to 1048576",
        ),
        (&["--writers"][..], "--writers needs a value"),
        (&["--fast", "1"][..], "unknown option \"--fast\""),
        (
            &["--writers", "16", "--records", "100000", "--size", "4096"][..],
            "more than 256 MiB",
        ),
    ] {
        let run = atomic_writes(args);
        assert_usage_error(&run, message);
    }
}
