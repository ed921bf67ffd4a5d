//! The watchdog on real processes: output capture, hangs turned into diagnoses, and
//! leftover processes found and killed.

use proctest::{Demo, StdoutTo};
use std::time::Duration;

#[test]
fn captures_output_and_exit_code() {
    let run = Demo::new("sh")
        .args(["-c", "echo out; echo err >&2; exit 3"])
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"));
    assert_eq!(run.code(), Some(3));
    assert_eq!(run.stdout, "out\n");
    assert_eq!(run.stderr, "err\n");
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
}

#[test]
fn feeds_standard_input_and_closes_it() {
    let run = Demo::new("cat")
        .stdin("through the pipe")
        .run()
        .unwrap_or_else(|hang| panic!("cat never saw EOF on its stdin: {hang}"));
    assert_eq!(run.stdout, "through the pipe");
}

#[test]
fn a_demo_that_prints_forever_is_kept_to_a_bounded_output() {
    // `yes` writes as fast as the pipe takes it: the test keeps the first OUTPUT_KEPT
    // bytes, counts the rest, and the watchdog stops it at the cap.
    let hang = Demo::new("yes")
        .timeout(Duration::from_millis(500))
        .hard_cap(Duration::from_secs(2))
        .run()
        .expect_err("yes never ends");
    assert!(
        hang.stdout.len() <= proctest::OUTPUT_KEPT + 100,
        "{} bytes kept",
        hang.stdout.len()
    );
    assert!(
        hang.stdout.ends_with("not kept]\n"),
        "the last line counts what was not kept: {:?}",
        &hang.stdout[hang.stdout.len().saturating_sub(80)..]
    );
}

#[test]
fn a_demo_cannot_write_a_file_past_the_size_limit() {
    // With its standard output in a file, `yes` is stopped by SIGXFSZ at the limit (1 GiB
    // by default; 1 MiB here, not to write a gigabyte in a test).
    let run = Demo::new("yes")
        .stdout_to(StdoutTo::File)
        .file_size_limit(1 << 20)
        .run()
        .unwrap_or_else(|hang| panic!("yes should have been stopped by SIGXFSZ:\n{hang}"));
    assert_eq!(run.ended(), "killed by signal SIGXFSZ");
    assert_eq!(run.stdout.len(), 1 << 20);
}

#[test]
fn a_demo_cannot_take_memory_past_its_limit() {
    // A shell doubling a string in a loop fails its allocation at 64 MiB of memory and
    // ends with an error, long before it could take the machine's memory.
    let run = Demo::new("sh")
        .args(["-c", "x=a; while :; do x=\"$x$x\"; done"])
        .memory_limit(64 << 20)
        .run()
        .unwrap_or_else(|hang| panic!("the shell should have run out of memory:\n{hang}"));
    assert_ne!(run.code(), Some(0), "{run:?}");
}

#[test]
fn standard_output_can_go_to_a_file() {
    let run = Demo::new("sh")
        .args([
            "-c",
            "test -f /dev/stdout && test ! -p /dev/stdout && echo file",
        ])
        .stdout_to(StdoutTo::File)
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"));
    assert_eq!(
        run.stdout, "file\n",
        "stdout should be a regular file: {run:?}"
    );
}

#[test]
fn a_hang_names_the_blocked_reader_and_the_holder_of_the_write_end() {
    // `cat` reads a pipe whose write end `sleep` holds open: cat never sees EOF. (The
    // watchdog would extend its timeout while `sleep` sleeps: the cap stops that.)
    let hang = Demo::new("sh")
        .args(["-c", "sleep 60 | cat"])
        .timeout(Duration::from_millis(500))
        .hard_cap(Duration::from_millis(500))
        .run()
        .expect_err("the pipeline cannot finish while sleep holds the write end");
    let reader = hang
        .blocked_in("read")
        .find(|p| p.name == "cat")
        .unwrap_or_else(|| panic!("cat should be blocked in read():\n{hang}"));
    let pipe = reader
        .blocked_on_fd()
        .and_then(|fd| fd.pipe_inode())
        .unwrap_or_else(|| panic!("cat should be reading a pipe:\n{hang}"));
    let writers: Vec<&str> = hang
        .snapshot
        .pipe_writers(pipe)
        .iter()
        .map(|(p, _)| p.name.as_str())
        .collect();
    assert_eq!(writers, ["sleep"], "{hang}");
    let text = hang
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        text.contains("is blocked in read() on fd 0 (read end pipe:["),
        "{text}"
    );
}

#[test]
fn processes_left_behind_are_reported_and_killed() {
    let run = Demo::new("sh")
        .args(["-c", "sleep 60 & echo started"])
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"));
    assert_eq!(run.stdout, "started\n");
    // The background child may not have exec'd `sleep` yet when the demo exits, so it
    // can still be called `sh`; either way it is the one process left behind.
    assert_eq!(run.leftovers.len(), 1, "{}", run.describe_leftovers());
    assert!(
        ["sh", "sleep"].contains(&run.leftovers[0].name.as_str()),
        "{}",
        run.describe_leftovers()
    );
    let pid = nix::unistd::Pid::from_raw(run.leftovers[0].pid);
    // Killed by the watchdog: the only way it can still exist is as a zombie waiting
    // for init to reap it.
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    assert!(
        state.is_empty() || state.contains(") Z "),
        "the leftover should have been killed: {state}"
    );
}

/// A demo that rejects its input as the process topics do: `PROGRAM: PROBLEM`, `usage:`.
fn rejecting(status: u8, stdout: &str) -> proctest::Finished {
    let script = format!(
        "printf '%s' '{stdout}'; echo 'demo: 0 is out of range' >&2; echo 'usage: demo N   (1..=64)' >&2; exit {status}"
    );
    Demo::new("sh")
        .args(["-c", &script])
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"))
}

#[test]
fn a_usage_error_names_the_range_and_exits_2() {
    rejecting(2, "").assert_usage_error("`demo 0`", &["1..=64", "out of range"]);
}

#[test]
#[should_panic(expected = "`demo 0` must be rejected with exit status 2")]
fn a_usage_error_with_another_status_is_caught() {
    rejecting(1, "").assert_usage_error("`demo 0`", &["1..=64"]);
}

#[test]
#[should_panic(expected = "must show [\"fork/reap\"]")]
fn a_usage_error_that_does_not_name_the_step_is_caught() {
    rejecting(2, "").assert_usage_error("`demo 0`", &["1..=64", "fork/reap"]);
}

#[test]
#[should_panic(expected = "nothing may run on bad input `demo 0`")]
fn a_usage_error_after_output_is_caught() {
    rejecting(2, "ran anyway").assert_usage_error("`demo 0`", &["1..=64"]);
}

#[test]
#[should_panic(expected = "`demo 0`: line 2 of standard error is 101 columns wide, more than 100")]
fn a_usage_error_wider_than_100_columns_is_caught() {
    let script = format!(
        "echo 'demo: 0 is out of range' >&2; echo 'usage: demo N   ({})' >&2; exit 2",
        "x".repeat(101 - "usage: demo N   ()".len())
    );
    Demo::new("sh")
        .args(["-c", &script])
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"))
        .assert_usage_error("`demo 0`", &["out of range"]);
}

#[test]
fn a_usage_error_of_exactly_100_columns_passes() {
    let script = format!(
        "echo 'demo: 0 is out of range' >&2; echo 'usage: demo N   ({})' >&2; exit 2",
        "µ".repeat(100 - "usage: demo N   ()".len())
    );
    Demo::new("sh")
        .args(["-c", &script])
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"))
        .assert_usage_error("`demo 0`", &["out of range"]);
}

#[test]
fn a_demo_starts_with_the_standard_descriptors_only() {
    // A descriptor this process holds without close-on-exec, as a terminal or a CI runner
    // may leave: a demo must not see it (its hang report would list it, and differ from
    // one machine to the next).
    // SAFETY: dup of descriptor 2, which is open for the whole test; the copy is closed below.
    let stray = unsafe { libc::dup(2) };
    assert!(stray > 2, "dup failed");
    let run = Demo::new("sh")
        .args([
            "-c",
            &format!("test -e /proc/$$/fd/{stray} && echo leaked || echo clean"),
        ])
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"));
    // SAFETY: `stray` is our own descriptor from dup above, closed once.
    unsafe { libc::close(stray) };
    assert_eq!(run.stdout, "clean\n", "descriptor {stray} reached the demo");
}

#[test]
fn a_watcher_sees_a_stopped_child_and_resumes_it() {
    // The child stops itself; without the watcher, `wait` would wait for it for good. The
    // watcher sees it stopped (state T, a child of the demo), resumes it, and stops
    // watching.
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    let calls = Arc::new(AtomicU32::new(0));
    let seen = Arc::clone(&calls);
    let run = Demo::new("sh")
        .args([
            "-c",
            "sh -c 'kill -STOP $$; echo resumed' & wait; echo done",
        ])
        .timeout(Duration::from_secs(5))
        .watch(move |snapshot| {
            seen.fetch_add(1, Ordering::SeqCst);
            let Some(demo) = snapshot.leader() else {
                return true;
            };
            match snapshot.stopped_children(demo).next() {
                Some(child) => {
                    let pid = nix::unistd::Pid::from_raw(child.pid);
                    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT)
                        .expect("resume the child");
                    false
                }
                None => true,
            }
        })
        .run()
        .unwrap_or_else(|hang| panic!("the watcher never resumed the child: {hang}"));
    assert_eq!(run.stdout, "resumed\ndone\n");
    assert!(calls.load(Ordering::SeqCst) >= 1);
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
}
