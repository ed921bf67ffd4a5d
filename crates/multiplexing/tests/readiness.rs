//! Checks `multiplexing/readiness`: `collect()` drains two children's pipes at once, in any
//! order, never blocks on one pipe while the other is full, waits without spinning, returns
//! the outputs in the order given and closes every pipe.
//!
//! The checks judge a run of the demo; the oracle tests at the end run the same demo with
//! wrong (and right) `collect`s from the `oracles` binary, to prove that each wrong one
//! fails with a message naming its cause and each right one passes.

mod common;

use common::{verdict, wrap};
use proctest::{Demo, Finished, Hang, Process};
use std::time::Duration;

const DEMO: &str = env!("CARGO_BIN_EXE_readiness");
const ORACLES: &str = env!("CARGO_BIN_EXE_oracles");

/// The CPU time child 2 computes for under `--slow`, as the demo does it.
const SLOW_WORK: Duration = Duration::from_millis(200);

/// "child-2" (the name the demo gives its children) as "child 2".
fn label(process: &Process) -> String {
    process.name.replace('-', " ")
}

/// Whether `process` was burning the CPU rather than waiting: running, or not blocked in a
/// read or a write, with a share of its life on the CPU that no blocked process reaches
/// (a correct collect() uses milliseconds), even on a busy machine.
fn spinning(process: &Process) -> bool {
    let blocked = process
        .blocked_in
        .as_ref()
        .is_some_and(|call| call.name == "read" || call.name == "write");
    process.is_spinning()
        || (!blocked
            && process.cpu >= Duration::from_millis(100)
            && process.cpu * 20 >= process.age)
}

/// Turns the watchdog's snapshot into the topic's diagnosis, the raw snapshot above it.
fn diagnose(hang: &Hang) -> String {
    // The demo is the group leader: the first process, by pid.
    let collector = hang.snapshot.processes.first();
    let why = if let Some(collector) = collector.filter(|p| spinning(p)) {
        format!(
            "collect() is running, not blocked: it used {} of CPU in {}, and never finished. \
             poll() keeps returning at once: a pipe whose writers are gone reports POLLHUP \
             (with or without POLLIN). It is ready too: read() on it returns 0, its end of \
             file, and then it leaves the poll set. Spinning.",
            proctest::cpu::seconds(collector.cpu),
            proctest::cpu::seconds(collector.age)
        )
    } else {
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
                        .any(|(reader, _)| Some(reader.pid) == collector.map(|c| c.pid))
                })
        });
        match (waited_for, full_writer) {
            (Some(reader_of), Some(writer)) => format!(
                "collect() is blocked in read() on {reader_of}'s pipe while {} is blocked in \
                 write() on its full pipe, which nobody empties: a read() that waits for one \
                 pipe starves the others. Wait for all the pipes at once (poll), and after poll \
                 read each ready pipe once, then poll again: a ready pipe promises one read() \
                 that does not block, not its whole end of file. Deadlock.",
                label(writer)
            ),
            _ => "collect() never returned: wait for every pipe at once (poll) and read only \
                  the ready ones, once each, until every pipe has given its end of file. Stuck."
                .to_owned(),
        }
    };
    proctest::verdict(&hang, &why)
}

/// Runs `program` with `args` under the watchdog, and turns a hang into its diagnosis. The
/// watchdog extends its 10 s while the demo makes progress (a spinning collect() looks
/// like progress) up to its cap; the oracles' fixtures, several of which hang or spin on
/// purpose, get 5 s and a cap of 15 s.
fn run(program: &str, args: &[&str]) -> Result<Finished, String> {
    let (timeout, cap) = if program == ORACLES {
        (5, 15)
    } else {
        (10, 30)
    };
    Demo::new(program)
        .args(args)
        .timeout(Duration::from_secs(timeout))
        .hard_cap(Duration::from_secs(cap))
        .run()
        .map_err(|hang| diagnose(&hang))
}

/// Judges one run of the demo: it finished, found no problem (its `error:` lines), left no
/// process behind, and, under `--slow`, waited without spinning.
fn check(outcome: Result<Finished, String>, slow: bool) -> Result<Finished, String> {
    let run = outcome?;
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|line| line.strip_prefix("error: "))
        .collect();
    if !errors.is_empty() || run.code() != Some(0) {
        let status = run.code().map_or_else(
            || "killed by a signal".to_owned(),
            |c| format!("exit status {c}"),
        );
        // The demo reports its problems in the order they arose: the first is the cause
        // (collect() failed, say, and left a pipe open on the way). It is the verdict, on the
        // last `error:` line, and the evidence shows it once, in its place, as [below].
        return Err(match errors.first() {
            Some(&first) => {
                let evidence = wrap(&format!(
                    "{}\n{}\nThe demo failed ({status}); its first problem:",
                    run.stdout,
                    run.stderr
                        .replacen(first, "[below]", 1)
                        .replace("error: ", "problem: ")
                ));
                proctest::verdict(&evidence, first)
            }
            None => wrap(&format!(
                "{}\n{}\nThe demo failed ({status}): see its output above",
                run.stdout, run.stderr
            )),
        });
    }
    if !run.leftovers.is_empty() {
        return Err(run.describe_leftovers());
    }
    if slow {
        let report = run.cpu_report("collect").ok_or_else(|| {
            format!(
                "the demo reported no CPU time for collect():\n{}",
                run.stderr
            )
        })?;
        if let Some(spin) = report.busy_wait(SLOW_WORK) {
            return Err(spin.explain(
                "collect()",
                "child 2 computed before writing its line",
                "poll() with no timeout (PollTimeout::NONE) sleeps in the kernel until a pipe is \
                 ready; a zero timeout returns at once, and a loop around it spins.",
            ));
        }
    }
    Ok(run)
}

#[track_caller]
fn passes(args: &[&str], slow: bool) -> Finished {
    check(run(DEMO, args), slow).unwrap_or_else(|message| panic!("{message}"))
}

#[test]
fn collect_drains_a_full_pipe_while_waiting_for_the_other_child() {
    // Child 2 computes before it writes its line: collect() must sleep meanwhile.
    let run = passes(&["--slow"], true);
    insta::assert_snapshot!("readiness_256_kib", run.stdout);
}

#[test]
fn collect_does_not_depend_on_the_order_of_the_pipes() {
    // The big writer's pipe first this time: reading the pipes in any fixed order
    // deadlocks in one of the two arrangements.
    let run = passes(&["--big-first"], false);
    insta::assert_snapshot!("readiness_256_kib", run.stdout);
}

#[test]
fn collect_reads_each_ready_pipe_without_waiting_for_its_end() {
    // Both children write more than a pipe holds, and each stays until the other has
    // written everything: reading either pipe to its end first deadlocks.
    let run = passes(&["--both-big"], false);
    assert!(
        run.stdout.contains("child 1 (writes 256 KiB")
            && run
                .stdout
                .matches("262144 bytes, every byte as written")
                .count()
                == 2,
        "{}",
        run.stdout
    );
}

#[test]
fn collect_keeps_each_pipe_in_its_place_once_another_has_ended() {
    // Child 1's pipe comes first and ends first, and child 2 writes its line only once
    // collect() has read that end of file (the demo holds collect()'s reads at their entry
    // to see it): the line arrives after child 1's pipe has left whatever list collect()
    // keeps, never in the same round, and must still be filed under child 2.
    let run = passes(&["--big-first", "--after-eof"], false);
    assert!(
        run.stdout.contains(
            "child 2 (writes once collect() has read child 1's end of file): \"child 1 has \
             finished\\n\""
        ) && run.stdout.contains("262144 bytes, every byte as written"),
        "{}",
        run.stdout
    );
}

#[test]
fn collect_waits_for_a_child_that_stays_quiet_for_a_while() {
    // Child 2 sleeps 2 s before it writes its line: a silence is not an end of file.
    let run = run(DEMO, &["--quiet"]);
    if let Err(message) = check(run, false) {
        panic!(
            "{message}\n\n{}",
            wrap(
                "(`readiness --quiet`: child 2 stayed quiet for 2 s before it wrote its line.) \
                 A pipe has ended only when read() returns 0, or poll reports POLLHUP without \
                 POLLIN: every write end is closed. A pipe that carries nothing for a while \
                 has not ended, so poll with no timeout. A silence taken for an end."
            )
        );
    }
}

#[test]
fn collect_also_works_when_everything_fits_in_the_pipes() {
    // 1 KiB fits in a pipe: even reading one pipe after another finishes here. The
    // deadlock of the 256 KiB run comes from the full pipe, not from the ordering alone.
    let run = passes(&["1"], false);
    assert!(
        run.stdout.contains("1024 bytes, every byte as written"),
        "{}",
        run.stdout
    );
}

#[test]
fn bad_sizes_are_usage_errors_and_fork_nothing() {
    for bad in ["abc", "-3", "0", "16385"] {
        run(DEMO, &[bad])
            .unwrap_or_else(|message| panic!("{message}"))
            .assert_usage_error(
                &format!("`readiness {bad}`"),
                &[
                    &format!("KIB must be a whole number from 1 to 16384, got `{bad}`"),
                    "usage: readiness",
                ],
            );
    }
}

// The oracles: the demo run with the `collect` of a fixture.

/// The message of the first failing run among the runs of the tests above, for `fixture`.
fn verdict_of(fixture: &str) -> Result<(), String> {
    for (args, slow) in [
        (&["--slow"][..], true),
        (&["--big-first"][..], false),
        (&["--both-big"][..], false),
        (&["--big-first", "--after-eof"][..], false),
    ] {
        let mut full = vec![fixture];
        full.extend_from_slice(args);
        check(run(ORACLES, &full), slow)?;
    }
    Ok(())
}

#[track_caller]
fn assert_fails(fixture: &str, expected: &[&str]) {
    let message = verdict_of(fixture).expect_err("the checks must fail this collect()");
    let flat = message.split_whitespace().collect::<Vec<_>>().join(" ");
    for text in expected {
        assert!(
            flat.contains(text),
            "{fixture}: the message should say {text:?}:\n{message}"
        );
    }
}

#[test]
fn the_checks_fail_a_collect_that_blocks_on_one_pipe() {
    assert_fails(
        "readiness-sequential",
        &[
            "collect() is blocked in read() on child 2's pipe while child 1 is blocked in",
            "Deadlock.",
        ],
    );
    assert_fails(
        "readiness-read-to-end",
        &[
            "blocked in read() on child",
            "not its whole end of file. Deadlock.",
        ],
    );
}

#[test]
fn the_checks_fail_a_collect_that_spins() {
    assert_fails(
        "readiness-zero-timeout",
        &["collect() used", "while child 2 computed", "Busy-waiting."],
    );
    assert_fails(
        "readiness-ignores-pollhup",
        &["collect() is running, not blocked", "POLLHUP", "Spinning."],
    );
}

#[test]
fn the_checks_fail_a_collect_that_loses_order_bytes_or_descriptors() {
    assert_fails(
        "readiness-first-eof",
        &[
            "child 2's pipe gave 0 of its 21 bytes",
            "stopped reading it before its end of file",
        ],
    );
    assert_fails(
        "readiness-ready-order",
        &[
            "output 1 holds child 1's bytes, not child 2's",
            "in the order of the pipes",
        ],
    );
    assert_fails(
        "readiness-shifted-index",
        &[
            // How many of child 2's bytes moved depends on the run that caught it: its line
            // under --after-eof, what was still in its pipe under a racy --both-big.
            "child 2's bytes were returned as child 1's: output 1 holds child 1's 262144 bytes \
             and then the last",
            "of child 2's, which output 2 lacks",
            "the position in that shortened list was taken for the pipe's number",
            "Wrong pipe.",
        ],
    );
    assert_fails(
        "readiness-leaks",
        &[
            "descriptors left open: fd",
            "closes each one once read() has returned 0",
        ],
    );
}

#[test]
fn the_checks_pass_a_collect_written_differently() {
    verdict(verdict_of("readiness-threads"));
    verdict(verdict_of("readiness-hup-to-end"));
    verdict(verdict_of("readiness-epoll"));
    verdict(verdict_of("readiness-fixed-list"));
}

#[test]
fn collect_of_no_pipe_returns_at_once() {
    // In this process: collect() of nothing forks nothing and opens nothing.
    let outcome = proctest::within(Duration::from_secs(5), "collect(vec![])", || {
        multiplexing::readiness::collect(Vec::new()).map_err(|e| e.to_string())
    });
    match outcome {
        Ok(timed) => assert_eq!(
            timed.value,
            Ok(Vec::new()),
            "collect(vec![]) must return one output per pipe: none"
        ),
        Err(_) => panic!(
            "{}",
            wrap(
                "collect(vec![]), with no pipe to read, was still waiting 5 s later: every pipe \
                 (there is none) is at its end of file, so there is nothing to wait for. Look \
                 whether a pipe is still open before calling poll: poll on no descriptor without \
                 a timeout waits forever. A wait for nothing."
            )
        ),
    }
}
