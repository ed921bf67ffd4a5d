//! Checks `fork/reap`: the `reap` demo waits for every child before its last line,
//! reports how each ended, and leaves no child behind.

mod common;

use common::{assert_rejected, parse_conversion, parse_spawned, redact_pids, run};
use proctest::{Finished, StdoutTo};

const DEMO: &str = env!("CARGO_BIN_EXE_reap");

/// Runs `reap` and checks what every run must show: the demo's own audit found no child
/// left unwaited and no descriptor open, no process outlived it, and every child line comes
/// before the parent's report.
fn run_reap(args: &[&str], to: StdoutTo) -> Finished {
    let run = run(DEMO, args, to);
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
    let statuses = status_lines(&run);
    assert_eq!(
        statuses,
        [
            "child 1 (pid [PID]): exited with status 0",
            "child 2 (pid [PID]): exited with status 3",
            "child 3 (pid [PID]): exited with status 0",
            "child 4 (pid [PID]): killed by signal SIGKILL",
            "child 5 (pid [PID]): exited with status 0",
        ],
        "{}",
        run.stdout
    );
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
    ] {
        assert_rejected(DEMO, args, "1..=64", "fork/reap");
    }
}
