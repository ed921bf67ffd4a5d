//! Checks `multiplexing/readiness`: `collect()` drains two children's pipes at once.

use proctest::{Demo, Hang, Process};
use std::time::Duration;

const DEMO: &str = env!("CARGO_BIN_EXE_readiness");

/// "child-2" (the name the demo gives its children) as "child 2".
fn label(process: &Process) -> String {
    process.name.replace('-', " ")
}

/// Turns the watchdog's snapshot into the topic's diagnosis, with the raw snapshot below.
fn diagnose(hang: &Hang) -> String {
    let collector = hang
        .snapshot
        .processes
        .iter()
        .find(|p| p.name == "readiness");
    let read_pipe = collector
        .filter(|p| p.blocked_in.as_ref().is_some_and(|s| s.name == "read"))
        .and_then(|p| p.blocked_on_fd()?.pipe_inode());
    let waited_for = read_pipe.and_then(|inode| {
        hang.snapshot
            .pipe_writers(inode)
            .into_iter()
            .map(|(p, _)| label(p))
            .next()
    });
    let full_writer = hang.blocked_in("write").find(|p| {
        p.blocked_on_fd()
            .and_then(|fd| fd.pipe_inode())
            .is_some_and(|inode| {
                hang.snapshot
                    .pipe_readers(inode)
                    .iter()
                    .any(|(reader, _)| reader.name == "readiness")
            })
    });
    let headline = match (waited_for, full_writer) {
        (Some(reader_of), Some(writer)) => format!(
            "collect() is blocked in read() on {reader_of}'s pipe while {} is blocked in write() on a full pipe: read whichever pipe is ready (poll)",
            label(writer)
        ),
        _ => "collect() never returned: read whichever pipe is ready (poll) instead of one pipe after another".to_owned(),
    };
    format!("{headline}\n\n{hang}")
}

fn run(args: &[&str]) -> proctest::Finished {
    Demo::new(DEMO)
        .args(args)
        .timeout(Duration::from_secs(5))
        .run()
        .unwrap_or_else(|hang| panic!("{}", diagnose(&hang)))
}

#[test]
fn collect_drains_a_full_pipe_while_waiting_for_the_other_child() {
    let run = run(&[]);
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert_eq!(run.code(), Some(0), "the demo failed:\n{}", run.stderr);
    insta::assert_snapshot!("readiness_256_kib", run.stdout);
}

#[test]
fn collect_does_not_depend_on_the_order_of_the_pipes() {
    // The big writer's pipe first this time: reading the pipes in any fixed order
    // deadlocks in one of the two arrangements.
    let run = run(&["--big-first"]);
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert_eq!(run.code(), Some(0), "the demo failed:\n{}", run.stderr);
    insta::assert_snapshot!("readiness_256_kib", run.stdout);
}

#[test]
fn collect_also_works_when_everything_fits_in_the_pipes() {
    // 1 KiB fits in a pipe: even reading one pipe after another finishes here. The
    // deadlock of the 256 KiB run comes from the full pipe, not from the ordering alone.
    let run = run(&["1"]);
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert_eq!(run.code(), Some(0), "the demo failed:\n{}", run.stderr);
    assert!(
        run.stdout.contains("1024 bytes, every byte as written"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_sizes_are_usage_errors_and_fork_nothing() {
    for bad in ["abc", "-3", "0", "16385"] {
        run(&[bad]).assert_usage_error(
            &format!("`readiness {bad}`"),
            &[
                &format!("KIB must be a whole number from 1 to 16384, got `{bad}`"),
                "usage: readiness",
            ],
        );
    }
}
