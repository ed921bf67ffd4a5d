//! Checks `fork/reap`: the `reap` demo waits for every child before its last line,
//! reports how each ended, and leaves no child behind.

mod common;

use common::{
    WATCHDOG, assert_rejected, diagnose, once_blocked_on_stopped_child, parse_conversion,
    parse_spawned, redact_pids, run,
};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use proctest::{Demo, Finished, StdoutTo};
use std::sync::{Arc, Mutex};

const DEMO: &str = env!("CARGO_BIN_EXE_reap");

/// Runs `reap` and checks what every run must show: the demo's own audit found no child
/// left unwaited and no descriptor open, no process outlived it, and every child line comes
/// before the parent's report.
fn run_reap(args: &[&str], to: StdoutTo) -> Finished {
    check_reap(run(DEMO, args, to), args)
}

/// The checks of [`run_reap`] on a run of `reap` with `args` already made.
fn check_reap(run: Finished, args: &[&str]) -> Finished {
    let command = format!("reap {}", args.join(" "));
    if run.stderr.contains("wait_all failed: EINTR") {
        panic!(
            "{}",
            proctest::wrap(
                &format!(
                    "wait_all gave up with EINTR (`{command}`). A signal handler ran in the \
                     parent while it waited (the slow child sent SIGUSR1), so waitpid \
                     returned EINTR: that is no error of the child, only an interrupted \
                     wait. Call waitpid again for the same pid. Interrupted wait not \
                     resumed.\nstderr:\n{}",
                    run.stderr
                ),
                98
            )
        );
    }
    if run.stderr.contains("wait_all failed: ECHILD") {
        // Every pid in the list was the parent's child when wait_all began: ECHILD means
        // one of them had been reaped already.
        let killed = args
            .iter()
            .position(|a| *a == "--kill")
            .and_then(|i| args.get(i + 1))
            .map(|k| format!("; here child {k} was killed by SIGKILL"))
            .unwrap_or_default();
        panic!(
            "{}",
            proctest::wrap(
                &format!(
                    "wait_all failed with ECHILD (`{command}`): waitpid found no such child to \
                     wait for, yet every pid in its list was a child of the parent when \
                     wait_all began. One of them had been reaped already: by an earlier \
                     waitpid whose status the loop did not take as the end (a child killed by \
                     a signal ends with Signaled, not Exited{killed}), or by a wait() for any \
                     child. A child is waited for once: Exited and Signaled both end its wait. \
                     A child reaped twice.\nstderr:\n{}",
                    run.stderr
                ),
                98
            )
        );
    }
    if let Some(problem) = run
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("reap: wait_all "))
    {
        // Under --interrupt, a status missing is most likely a wait the signal cut short.
        let fewer = problem
            .split_once(" statuses for ")
            .and_then(|(got, rest)| {
                let got: usize = got.strip_prefix("returned ")?.parse().ok()?;
                let of: usize = rest.split(' ').next()?.parse().ok()?;
                (got < of).then_some(())
            });
        let interrupted = if fewer.is_some() && args.contains(&"--interrupt") {
            " A signal handler ran in the parent while it waited (the slow child sent \
             SIGUSR1), so one waitpid failed with EINTR: that child's wait was interrupted, \
             not over, and it was dropped. Call waitpid again for the same pid, and keep the \
             status it then returns. An interrupted wait dropped."
        } else {
            ""
        };
        panic!(
            "{}\nstdout:\n{}",
            proctest::wrap(
                &format!("wait_all {problem} (`{command}`).{interrupted}"),
                98
            ),
            run.stdout
        );
    }
    let never_waited = run.stderr.contains("never waited for");
    assert!(
        !never_waited,
        "`reap {}` exited while some of its children had never been waited for: they were \
         still running, or zombies. wait_all must call waitpid for every pid it is given.\n\
         stderr:\n{}\nstdout:\n{}",
        args.join(" "),
        run.stderr,
        run.stdout
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    let lines: Vec<&str> = run.stdout.lines().collect();
    let first_report = lines
        .iter()
        .position(|l| l.starts_with("child ") || parse_spawned(l).is_some())
        .unwrap_or(lines.len());
    if let Some(late) = lines[first_report..]
        .iter()
        .find(|l| parse_conversion(l).is_some())
    {
        panic!(
            "the child line {late:?} came after the parent had started its report: the \
             parent must wait for every child before it reports.\n{}",
            run.stdout
        );
    }
    run
}

fn status_lines(run: &Finished) -> Vec<String> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("child "))
        .map(redact_pids)
        .collect()
}

#[test]
fn the_parent_reports_after_every_child_has_exited() {
    for to in [StdoutTo::Pipe, StdoutTo::File] {
        let run = run_reap(&["4"], to);
        assert!(run.status.success(), "{}\n{}", run.stderr, run.stdout);
        assert_eq!(
            status_lines(&run),
            (1..=4)
                .map(|i| format!("child {i} (pid [PID]): exited with status 0"))
                .collect::<Vec<_>>(),
            "wait_all must return each child's status, in the order of the pids:\n{}",
            run.stdout
        );
        let last = run.stdout.lines().rev().nth(1).unwrap_or_default();
        assert_eq!(
            parse_spawned(last).map(|(n, _)| n),
            Some(4),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_failing_child_is_reported_with_its_status() {
    let run = run_reap(&["5", "--fail", "2", "--kill", "4"], StdoutTo::Pipe);
    assert!(run.status.success(), "{}\n{}", run.stderr, run.stdout);
    assert_statuses(
        &run,
        &[
            "child 1 (pid [PID]): exited with status 0",
            "child 2 (pid [PID]): exited with status 3",
            "child 3 (pid [PID]): exited with status 0",
            "child 4 (pid [PID]): killed by signal SIGKILL",
            "child 5 (pid [PID]): exited with status 0",
        ],
    );
}

/// Fails, naming the first child reported wrongly, unless the demo's status lines are
/// `expected`. The diagnosis follows from what was reported instead: another child's
/// status (a status filed under the wrong pid), `exited with status 128 + N` for a child
/// killed by signal N (a status rewritten as a shell writes `$?`), or any other status.
#[track_caller]
fn assert_statuses(run: &Finished, expected: &[&str]) {
    let statuses = status_lines(run);
    if statuses == expected {
        return;
    }
    let first = (0..expected.len().max(statuses.len()))
        .find(|&i| statuses.get(i).map(String::as_str) != expected.get(i).copied())
        .unwrap_or(0);
    let fate = |line: &str| {
        line.split_once("): ")
            .map_or(line, |(_, fate)| fate)
            .to_owned()
    };
    let got = statuses.get(first).map(|line| fate(line));
    let want = expected.get(first).map(|line| fate(line));
    let (Some(got), Some(want)) = (got, want) else {
        panic!(
            "{}\nerror: the report has {} status lines for {} children: wait_all must \
             return one status per child, in the order given. Wrong status.",
            run.stdout,
            statuses.len(),
            expected.len()
        );
    };
    let was = |fate: &str| {
        if fate.starts_with("killed") {
            format!("was {fate}")
        } else {
            fate.to_owned()
        }
    };
    let others: Vec<String> = expected
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != first)
        .map(|(_, line)| fate(line))
        .collect();
    let signal_as_code = want
        .strip_prefix("killed by signal ")
        .and_then(|name| name.parse::<nix::sys::signal::Signal>().ok())
        .is_some_and(|signal| got == format!("exited with status {}", 128 + signal as i32));
    let why = if signal_as_code {
        "A child killed by a signal has no exit status: waitpid reports it as \
         WaitStatus::Signaled(pid, signal, core), and wait_all must return that status as \
         it is. 128 + N is how a shell writes such an ending in `$?`, not a status. \
         Status rewritten."
    } else if others.contains(&got) {
        "That is another child's ending: each status must be the one of the pid it is \
         reported for, in the order given. waitpid(pid, None) waits for that child; wait() \
         takes whichever child ends first. Status filed under the wrong child."
    } else {
        "wait_all must return, for each pid, the status waitpid gave for it, unchanged. \
         Wrong status."
    };
    panic!(
        "{}\nerror: the report says child {} {got}, but that child {}. {why}",
        run.stdout,
        first + 1,
        was(&want)
    );
}

/// The CPU work of the slow child (`--slow K`), as the demo does it.
const SLOW_WORK: std::time::Duration = fork::trial::SLOW_WORK;

#[test]
fn statuses_come_back_in_the_order_given_while_the_parent_sleeps() {
    // Child 1 computes, then ends last of all: a parent that collects statuses in the
    // order the children end gets child 2 first, and one that keeps checking with WNOHANG
    // uses about as much CPU as child 1's work.
    // Child 2 fails at once: a status filed under the wrong child (a `wait()` for any
    // child, taken as the next pid's) shows as child 1 failing.
    let run = run_reap(&["4", "--slow", "1", "--fail", "2"], StdoutTo::Pipe);
    assert!(run.status.success(), "{}\n{}", run.stderr, run.stdout);
    assert_statuses(
        &run,
        &[
            "child 1 (pid [PID]): exited with status 0",
            "child 2 (pid [PID]): exited with status 3",
            "child 3 (pid [PID]): exited with status 0",
            "child 4 (pid [PID]): exited with status 0",
        ],
    );
    let report = run.cpu_report("wait_all").unwrap_or_else(|| {
        panic!(
            "the demo reported no CPU time for wait_all:\n{}",
            run.stderr
        )
    });
    if let Some(spin) = report.busy_wait(SLOW_WORK) {
        panic!(
            "{}",
            spin.explain(
                "The parent, in wait_all,",
                "child 1 computed",
                "waitpid(pid, None), without WNOHANG, sleeps in the kernel until that child \
                 has ended; a loop of WNOHANG checks keeps the CPU busy instead.",
            )
        );
    }
}

/// The arguments of the runs with a stopped child: child 2 of 4 stops itself with SIGSTOP
/// once the three others have ended.
const STOPPED: [&str; 3] = ["4", "--stopped", "2"];

/// Runs `reap 4 --stopped 2` and continues child 2 (SIGCONT) once it is stopped, every
/// other child has ended and the parent is blocked: in `wait_all` (the demo does nothing
/// else between its last fork and that call), waiting for child 2, the only one left.
/// Returns the run and the system call the parent was blocked in then. A parent that
/// never blocks (it took the stop for an end, or it spins) leaves child 2 stopped.
fn run_stopped() -> (Finished, Option<String>) {
    let seen = Arc::new(Mutex::new(None));
    let record = Arc::clone(&seen);
    let run = Demo::new(DEMO)
        .args(STOPPED)
        .timeout(WATCHDOG)
        .hard_cap(WATCHDOG)
        .watch(once_blocked_on_stopped_child(move |child, call| {
            *record.lock().unwrap_or_else(|e| e.into_inner()) = Some(call.to_owned());
            let _ = kill(Pid::from_raw(child), Signal::SIGCONT);
        }))
        .run()
        .unwrap_or_else(|hang| panic!("{}", proctest::verdict(&hang, &diagnose(&hang))));
    let call = seen.lock().unwrap_or_else(|e| e.into_inner()).take();
    (run, call)
}

#[test]
fn a_stopped_child_is_waited_for_until_it_ends() {
    let (run, _) = run_stopped();
    let command = format!("reap {}", STOPPED.join(" "));
    let reported = run.stderr.lines().find_map(|l| {
        let problem = l.strip_prefix("reap: ")?;
        ["stopped", "continued"]
            .into_iter()
            .find(|event| problem.contains(&format!(" as {event} (")))
            .map(|event| (event, problem))
    });
    if let Some((event, problem)) = reported {
        panic!(
            "{}",
            proctest::verdict(
                &format!(
                    "`{command}` printed:\n{}stderr:\n{}",
                    run.stdout, run.stderr
                ),
                &format!(
                    "wait_all reported child 2 as {event} instead of waiting for it until it \
                     ended.\n{problem}.\nChild 2 stopped itself with SIGSTOP once the other \
                     children had ended, and the test sent it SIGCONT only while the parent \
                     was blocked: a stopped child is alive, it ends later. wait_all must \
                     return each child's final status, Exited or Signaled. A stopped child \
                     reported instead of waited for."
                )
            )
        );
    }
    let run = check_reap(run, &STOPPED);
    assert!(run.status.success(), "{}\n{}", run.stderr, run.stdout);
    let expected: Vec<String> = (1..=4)
        .map(|i| format!("child {i} (pid [PID]): exited with status 0"))
        .collect();
    assert_statuses(
        &run,
        &expected.iter().map(String::as_str).collect::<Vec<_>>(),
    );
}

#[test]
fn the_parent_blocks_in_a_wait_while_a_child_has_not_ended() {
    let (run, call) = run_stopped();
    if let Some(call @ ("clock_nanosleep" | "nanosleep")) = call.as_deref() {
        panic!(
            "{}",
            proctest::verdict(
                &format!(
                    "`reap {}` printed:\n{}stderr:\n{}",
                    STOPPED.join(" "),
                    run.stdout,
                    run.stderr
                ),
                &format!(
                    "the parent, inside wait_all, was asleep in {call}(), not blocked in a \
                     wait, while child 2 was stopped (alive, not ended) and every other child \
                     had ended.\nwait_all checks now and then whether the child has \
                     ended (waitpid with WNOHANG, then a sleep) instead of waiting for it: it \
                     learns of the end only at its next look, and wakes for nothing in \
                     between. waitpid(pid, None) blocks in the kernel and returns as soon \
                     as the child has ended. Polling instead of waiting."
                )
            )
        );
    }
    check_reap(run, &STOPPED);
}

#[test]
fn a_child_not_in_the_list_is_left_to_be_waited_for() {
    // The demo forks one more child before the others, which has exited before wait_all is
    // called, and waits for it afterwards: wait_all must not have taken its status. Being
    // the first child and already a zombie, it is what a wait() for any child takes first.
    let args = ["3", "--bystander"];
    let run = run(DEMO, &args, StdoutTo::Pipe);
    if run.stderr.contains("reap: the bystander") {
        let evidence = format!(
            "`reap {}` printed:\n{}stderr:\n{}",
            args.join(" "),
            run.stdout,
            run.stderr.trim_end()
        );
        let failed = run
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("reap: wait_all failed: "))
            .map(|err| err.split(':').next().unwrap_or(err).trim());
        let left = run.stderr.contains("never waited for");
        let then = match (failed, left) {
            (Some(err), true) => format!(
                "; one of the children it was given was left unwaited for in its place, \
                 and wait_all failed with {err}"
            ),
            (Some(err), false) => format!("; wait_all then failed with {err}"),
            (None, true) => {
                "; one of the children it was given was left unwaited for in its place".to_owned()
            }
            (None, false) => String::new(),
        };
        let why = format!(
            "wait_all waited for a child that was not in its list, the bystander, which had \
             exited before wait_all was called: the demo found it gone when it waited for it \
             afterwards{then}.\nwait() (or waitpid(-1)) reaps whichever child has ended, and \
             that status belongs to whoever forked that child. Wait for each pid in the list: \
             waitpid(pid, None). The wrong child waited for."
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    let run = check_reap(run, &args);
    assert!(run.status.success(), "{}\n{}", run.stderr, run.stdout);
    assert!(
        run.stdout.contains("still there to be waited for"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_wait_interrupted_by_a_signal_is_resumed() {
    let run = run_reap(&["3", "--slow", "2", "--interrupt"], StdoutTo::Pipe);
    assert!(run.status.success(), "{}\n{}", run.stderr, run.stdout);
    assert_eq!(
        status_lines(&run),
        (1..=3)
            .map(|i| format!("child {i} (pid [PID]): exited with status 0"))
            .collect::<Vec<_>>(),
        "{}",
        run.stdout
    );
}

#[test]
fn a_pid_already_waited_for_is_an_error() {
    // The demo waits for child 2 itself before calling wait_all: that pid is no longer a
    // child of the demo to wait for, and waitpid for it fails with ECHILD.
    let args = ["4", "--reaped", "2"];
    let run = run(DEMO, &args, StdoutTo::Pipe);
    let command = format!("reap {}", args.join(" "));
    if !run.stderr.contains("wait_all failed: ECHILD") {
        let why = match run
            .stderr
            .lines()
            .find_map(|l| l.strip_prefix("reap: wait_all failed: "))
        {
            Some(other) => format!(
                "wait_all failed with {other}, not with the error waitpid gave for child 2, \
                 ECHILD. Return waitpid's error as it is. Wrong error."
            ),
            None => "child 2 had already been waited for (by the demo, before it called \
                     wait_all), so waitpid for its pid fails with ECHILD, yet wait_all \
                     returned Ok.\nECHILD means the caller handed over a pid that is not (or \
                     no longer) a child to wait for: a mistake it must hear about, since \
                     nobody can tell how that child ended. Return waitpid's error (`?`) \
                     instead of skipping the pid. An error swallowed."
                .to_owned(),
        };
        panic!(
            "{}",
            proctest::verdict(
                &format!(
                    "`{command}` printed:\n{}stderr:\n{}",
                    run.stdout, run.stderr
                ),
                &why
            )
        );
    }
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
}

#[test]
fn no_zombie_is_left_even_with_many_children() {
    let run = run_reap(&["64"], StdoutTo::File);
    assert!(run.status.success(), "{}\n{}", run.stderr, run.stdout);
    assert_eq!(status_lines(&run).len(), 64, "{}", run.stdout);
    assert!(
        run.stdout
            .ends_with("audit: every child waited for, no descriptor left open\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn output_up_to_pids_and_the_order_of_the_children() {
    let run = run_reap(&["4", "--fail", "3"], StdoutTo::Pipe);
    let (mut children, parent): (Vec<&str>, Vec<&str>) = run
        .stdout
        .lines()
        .partition(|l| parse_conversion(l).is_some());
    children.sort_unstable();
    let text = redact_pids(&[children, parent].concat().join("\n"));
    insta::assert_snapshot!("reap_4_fail_3", text);
}

#[test]
fn bad_arguments_are_rejected_before_forking() {
    for args in [
        &["abc"][..],
        &["0"],
        &["-3"],
        &["1000"],
        &[],
        &["4", "--fail"],
        &["4", "--fail", "5"],
        &["4", "--bogus", "1"],
        &["4", "--slow", "0"],
        &["4", "--stopped"],
        &["4", "--stopped", "5"],
        &["4", "--interrupt"],
        &["4", "--reaped"],
        &["4", "--reaped", "5"],
    ] {
        assert_rejected(DEMO, args, "1..=64", "fork/reap");
    }
}
