//! Checks `pipes/pipeline`: real programs connected like a shell pipeline, the last
//! command's status, no leaked descriptor, every child reaped, a missing command.

mod common;

use common::{assert_clean, assert_usage_error};
use proctest::{Demo, Finished, Process};

/// Runs the demo with one command per argument; a hang names the reader that never sees
/// end of file and every process still holding a write end of its pipe.
fn pipeline(commands: &[&str]) -> Finished {
    let demo = Demo::new(env!("CARGO_BIN_EXE_pipeline")).args(commands);
    match demo.timeout(common::WATCHDOG).run() {
        Ok(finished) => finished,
        Err(hang) => {
            let parent = common::leader(&hang.snapshot);
            let role = |p: &Process| {
                if Some(p.pid) == parent {
                    "the parent `pipeline`".to_owned()
                } else {
                    format!("`{}`", p.name)
                }
            };
            panic!("{}", common::diagnose(&hang, &role))
        }
    }
}

/// What `sh -c` prints for the same pipeline, as the reference.
fn shell(line: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", line])
        .output()
        .expect("sh runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn sorts_and_counts_like_the_shell() {
    let run = pipeline(&["printf b\\na\\nb\\nc\\nb\\n", "sort", "uniq -c"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let expected = shell("printf 'b\\na\\nb\\nc\\nb\\n' | sort | uniq -c");
    assert!(
        expected.contains("3 b"),
        "the reference itself: {expected:?}"
    );
    assert_eq!(run.stdout, expected, "stderr:\n{}", run.stderr);
    assert_clean(&run);
}

#[test]
fn four_commands_count_the_distinct_lines() {
    let run = pipeline(&["printf b\\na\\nb\\nc\\n", "sort", "uniq -c", "wc -l"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout.trim(), "3", "stderr:\n{}", run.stderr);
    assert_clean(&run);
}

#[test]
fn more_data_than_a_pipe_holds_flows_through() {
    // About 1.3 MB: every command must run at the same time as its neighbours.
    let run = pipeline(&["seq 200000", "sort -rn", "tail -n 1"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "1\n", "stderr:\n{}", run.stderr);
    assert_clean(&run);
}

#[test]
fn a_single_command_needs_no_pipe() {
    let run = pipeline(&["printf alone"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "alone");
    assert_clean(&run);
}

#[test]
fn the_status_is_the_last_commands() {
    let run = pipeline(&["true", "false"]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("pipeline: last command exited with status 1"),
        "{}",
        run.stderr
    );
    assert_clean(&run);
    let run = pipeline(&["false", "true"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_clean(&run);
}

#[test]
fn a_missing_last_command_is_reported_with_status_127() {
    let run = pipeline(&["printf x\\n", "nosuchcmd"]);
    assert!(
        run.stderr.contains("no such command: nosuchcmd\n"),
        "{}",
        run.stderr
    );
    assert_eq!(run.code(), Some(127), "{}", run.stderr);
    assert_clean(&run);
}

#[test]
fn a_missing_command_in_the_middle_does_not_block_the_others() {
    // As in a shell: the reader after it sees end of file, the status is the last one's.
    let run = pipeline(&["printf x\\n", "nosuchcmd", "wc -l"]);
    assert!(
        run.stderr.contains("no such command: nosuchcmd\n"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout.trim(), "0", "{}", run.stderr);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_clean(&run);
}

#[test]
fn no_command_is_a_usage_error() {
    let run = common::run(Demo::new(env!("CARGO_BIN_EXE_pipeline")), &|p| {
        p.name.clone()
    });
    assert_usage_error(&run, "no command given");
    let run = common::run(
        Demo::new(env!("CARGO_BIN_EXE_pipeline")).args(["sort", " "]),
        &|p| p.name.clone(),
    );
    assert_usage_error(&run, "command 2 (\" \") is empty");
}
