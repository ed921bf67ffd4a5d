//! Checks `pipes/pipeline`: real programs connected like a shell pipeline, the last
//! command's status, no leaked descriptor, every child reaped, a missing command.

mod common;

use common::{assert_clean, assert_usage_error};
use proctest::cpu::busy_wait_or_yield;
use proctest::{Demo, Finished, Process, wrap};

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
fn the_status_is_the_last_commands_even_when_an_earlier_one_ends_after_it() {
    // `true` exits at once without reading; `seq` fills the pipe (64 KiB) and blocks until
    // then, and dies of SIGPIPE only after `true` has gone: the first command always ends
    // last. The pipeline's status is still `true`'s, then `false`'s.
    for (last, code) in [("true", 0), ("false", 1)] {
        let run = pipeline(&["seq 100000", last]);
        assert_eq!(
            run.code(),
            Some(code),
            "{}\n{}",
            wrap(
                &format!(
                    "`seq 100000 | {last}`: the status must be the last command's ({last}: \
                     {code}), although `seq` ends after it (killed by SIGPIPE once {last} is \
                     gone). Keep the status of the last command's pid, not of whichever child \
                     is reaped last. Wrong status."
                ),
                98
            ),
            run.stderr
        );
        assert_clean(&run);
    }
}

#[test]
fn the_parent_sleeps_while_the_commands_run() {
    // About 0.4 s of CPU in `sort` (one thread, in memory): the parent waits meanwhile.
    let run = pipeline(&["seq 2000000", "sort -rn --parallel=1 -S 64M", "tail -n 1"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "1\n", "stderr:\n{}", run.stderr);
    let report = run
        .cpu_report("run_pipeline")
        .unwrap_or_else(|| panic!("the demo reported no CPU time:\n{}", run.stderr));
    if let Some(spin) =
        busy_wait_or_yield(report.own, report.preempted, report.children, report.wall)
    {
        panic!(
            "{}",
            spin.explain(
                "The parent, in run_pipeline,",
                "the commands worked",
                "waitpid without WNOHANG sleeps until the child has ended; a loop of WNOHANG \
                 checks keeps the CPU busy instead.",
            )
        );
    }
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
    for (first, last, status) in [("true", "false", 1), ("false", "true", 0)] {
        let run = pipeline(&[first, last]);
        let said = format!("pipeline: last command exited with status {status}");
        if run.code() != Some(status) || !run.stderr.contains(&said) {
            let got = match run.code() {
                Some(code) if code == 1 - status => format!(
                    "status {code}, the status of `{first}`: a child that is not the last \
                     command (the first one started, or whichever a wait() for any child \
                     reaped last)"
                ),
                Some(code) => format!("status {code}"),
                None => "no status: the demo was killed".to_string(),
            };
            let why = format!(
                "in `{first} | {last}`, the last command, `{last}`, exits with status {status}, \
                 but run_pipeline returned {got}. Keep the last command's pid and take its \
                 status from waitpid on that pid (the other children are waited for too). \
                 Wrong status."
            );
            let evidence = format!(
                "`pipeline {first} {last}` exited with {} and said:\n{}",
                run.code()
                    .map_or("no status".into(), |c| format!("status {c}")),
                run.stderr.trim_end()
            );
            panic!("{}", proctest::verdict(&evidence, &why));
        }
        assert_clean(&run);
    }
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

/// Checks a run in which `failed` (`fork`, `pipe`) failed with `errno` while the pipeline
/// was starting (`evidence` says how): run_pipeline returned that error, and waited for
/// the commands it had started.
fn assert_returned_and_reaped(run: &Finished, evidence: &str, failed: &str, errno: &str) {
    if !run.stderr.contains(&format!("pipeline: {errno}")) || run.code() != Some(1) {
        let why = format!(
            "{failed} failed with {errno} while the pipeline was starting, and run_pipeline did \
             not return that error: the caller must learn that the pipeline could not be \
             started. Return {failed}'s error. An error swallowed."
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    let unreaped = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("audit: children never waited for: "))
        .unwrap_or("none");
    if unreaped != "none" {
        let why = format!(
            "run_pipeline returned {failed}'s error at once and never waited for the \
             command(s) it had already started, which stay zombies (pids {unreaped}). Its doc \
             says the children started before an error are still waited for: on the way out, \
             close what the parent holds and waitpid each pid started so far. Children left \
             behind."
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    assert_clean(run);
}

#[test]
fn a_fork_that_fails_part_way_is_returned_and_the_started_children_are_waited_for() {
    // The first fork succeeds, every later one fails with EAGAIN (the process limit, made
    // up by the demo: root ignores the real one). run_pipeline returns the error, and the
    // command it had started is still waited for, as its doc says.
    for k in [1, 2] {
        let k = k.to_string();
        let run = pipeline(&[
            "--fork-fails-after",
            &k,
            "printf b\\na\\n",
            "sort",
            "uniq -c",
        ]);
        let evidence = format!(
            "`pipeline --fork-fails-after {k} ...` (fork number {} fails) said:\n{}",
            k.parse::<u32>().unwrap_or(0) + 1,
            run.stderr.trim_end()
        );
        assert_returned_and_reaped(&run, &evidence, "fork", "EAGAIN");
    }
}

#[test]
fn a_fork_that_fails_after_a_command_with_much_output_closes_before_waiting() {
    // `seq 100000` writes about 600 KB, more than its pipe holds, and the fork of `cat`,
    // its reader, fails: `seq` can only end once nobody holds the read end of its pipe.
    let args = ["--fork-fails-after", "1", "seq 100000", "cat"];
    let demo = Demo::new(env!("CARGO_BIN_EXE_pipeline")).args(args);
    let run = demo.timeout(common::WATCHDOG).run().unwrap_or_else(|hang| {
        let parent = common::leader(&hang.snapshot);
        let seq_blocked = hang.blocked_in("write").any(|writer| {
            let inode = writer.blocked_on_fd().and_then(|fd| fd.pipe_inode());
            inode.is_some_and(|inode| {
                hang.snapshot
                    .pipe_readers(inode)
                    .iter()
                    .any(|(p, _)| Some(p.pid) == parent)
            })
        });
        let parent_waits = hang.snapshot.processes.iter().any(|p| {
            Some(p.pid) == parent && p.blocked_in.as_ref().is_some_and(|c| c.name == "wait4")
        });
        if seq_blocked && parent_waits {
            let why = "the second fork failed, and run_pipeline waited for the command it had \
                       started, `seq`, while still holding the read end of seq's pipe (kept for \
                       the next command, which never came): `seq` filled the pipe and waits for \
                       room that only a reader makes, and the parent waits for `seq` to end. On \
                       the way out after an error, drop every pipe end the parent holds before \
                       waiting for the children started. A read end kept while waiting.";
            panic!("{}", proctest::verdict(&hang, why));
        }
        let role = |p: &Process| {
            if Some(p.pid) == parent {
                "the parent `pipeline`".to_owned()
            } else {
                format!("`{}`", p.name)
            }
        };
        panic!("{}", common::diagnose(&hang, &role))
    });
    let evidence = format!(
        "`pipeline --fork-fails-after 1 'seq 100000' cat` (fork number 2 fails) said:\n{}",
        run.stderr.trim_end()
    );
    assert_returned_and_reaped(&run, &evidence, "fork", "EAGAIN");
}

#[test]
fn a_pipe_that_fails_part_way_is_returned_and_the_started_children_are_waited_for() {
    // `--fds-left 2` lets the parent open only 2 more descriptors during run_pipeline (a low
    // RLIMIT_NOFILE). Starting `cat` takes 3 at once: the read end of printf's pipe and both
    // ends of cat's own, so that pipe() fails with EMFILE once `printf` has started (or
    // before, if every pipe is made first).
    let run = pipeline(&["--fds-left", "2", "printf x", "cat", "cat"]);
    let evidence = format!(
        "`pipeline --fds-left 2 'printf x' cat cat` (the parent may open only 2 more \
         descriptors) said:\n{}",
        run.stderr.trim_end()
    );
    assert_returned_and_reaped(&run, &evidence, "pipe", "EMFILE");
}

#[test]
fn the_pipeline_waits_for_its_own_children_not_any_child() {
    // The demo forks a child of its own first, which has exited (status 42) before
    // run_pipeline is called, and waits for it afterwards.
    let run = pipeline(&["--bystander", "printf b\\na\\n", "sort"]);
    if run.stderr.contains("pipeline: the bystander") {
        let evidence = format!(
            "`pipeline --bystander 'printf b\\na\\n' sort` said:\n{}",
            run.stderr.trim_end()
        );
        let why = "run_pipeline waited for another child of the demo, the bystander, which had \
                   exited (status 42) before run_pipeline was called: the demo found it gone \
                   when it waited for it afterwards. wait() reaps whichever child has ended, and \
                   that status belongs to whoever forked that child; one of the commands was \
                   left unwaited for in its place. Wait for each pid fork returned: \
                   waitpid(pid, None). The wrong child waited for.";
        panic!("{}", proctest::verdict(&evidence, why));
    }
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "a\nb\n", "stderr:\n{}", run.stderr);
    assert_clean(&run);
}

#[test]
fn an_empty_pipeline_is_an_invalid_argument() {
    // The demo refuses to run no command; `--no-commands` calls run_pipeline(&[]).
    let run = pipeline(&["--no-commands"]);
    if !run.stderr.contains("pipeline: EINVAL") {
        let evidence = format!(
            "`pipeline --no-commands` (run_pipeline with an empty list) said:\n{}",
            run.stderr.trim_end()
        );
        let echild = if run.stderr.contains("ECHILD") {
            " (ECHILD, which a wait for no child gives, names another problem)"
        } else {
            ""
        };
        let why = format!(
            "run_pipeline was given no command and did not fail with EINVAL, as its doc says it \
             must: an empty list is the caller's mistake, to be refused before anything is \
             started or waited for{echild}. Check for it first. The wrong error for no command."
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
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

#[test]
fn each_child_calls_only_async_signal_safe_functions_before_exec() {
    let source = proctest::source::Source::read(proctest::step_file!("10_pipes/pipeline.rs"))
        .unwrap_or_else(|err| panic!("{err}"));
    proctest::source::assert_none(&source.fork_children());
}
