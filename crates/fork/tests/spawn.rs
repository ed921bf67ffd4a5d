//! Checks `fork/spawn`: the conversion, and one whole line per child from the
//! `temperatures` demo, whether its standard output is a pipe or a file.

mod common;

use common::{
    assert_rejected, expected_conversions, parse_conversion, parse_spawned, redact_pids, run,
};
use fork::spawn::celsius;
use proctest::StdoutTo;

const DEMO: &str = env!("CARGO_BIN_EXE_temperatures");

#[test]
fn celsius_gives_the_values_printed_in_the_notes() {
    for (fahrenheit, printed) in [
        (110.0, "43.333333"),
        (120.0, "48.888889"),
        (130.0, "54.444444"),
        (140.0, "60.000000"),
        (32.0, "0.000000"),
        (212.0, "100.000000"),
    ] {
        assert_eq!(
            format!("{:.6}", celsius(fahrenheit)),
            printed,
            "{fahrenheit} F should be {printed} C: the notes' printed output was made with (F - 32) * 5/9, although their code says 5.0/9.5"
        );
    }
}

/// Checks the demo's output for `count` children: exactly one whole conversion line per
/// child with the notes' values, each from a different child, and one `Spawned` line
/// from the parent. Returns the output with its lines sorted (their order is up to the
/// scheduler).
fn check_one_line_per_child(count: usize, to: StdoutTo) -> String {
    let arg = count.to_string();
    let stdout = stdout_kind(to);
    let run = run(DEMO, &[&arg], to);
    let out = &run.stdout;
    assert!(
        run.status.success(),
        "`temperatures {count}` {}: {}",
        run.ended(),
        run.stderr
    );
    // A cut line first: a child's line cut by the parent's `Spawned` line would otherwise
    // be blamed on the parent (its line is then no longer whole either).
    if let Some(line) = out
        .lines()
        .find(|l| parse_spawned(l).is_none() && parse_conversion(l).is_none())
    {
        panic!(
            "{line:?} is not a whole line `110.000000 F is 43.333333 C (pid N)`: a child's \
             line written in several pieces (several write(2) calls) can be cut by another \
             process's output, another child's line or the parent's `Spawned` line. Build the \
             line first and write it with one write(2).\noutput (stdout to {stdout}):\n{out}"
        );
    }
    let spawned: Vec<(usize, i32)> = out.lines().filter_map(parse_spawned).collect();
    if spawned.len() > 1 {
        panic!(
            "{} processes printed a `Spawned` line, {} of them claiming fewer than {count} children: \
             each child returned from spawn_children and ran the parent's code in main. \
             A child must leave with _exit (crate::sys::exit_now) right after writing its line.\n\
             output (stdout to {stdout}):\n{out}",
            spawned.len(),
            spawned.iter().filter(|(n, _)| *n != count).count(),
        );
    }
    assert_eq!(
        spawned.len(),
        1,
        "the parent must print one `Spawned {count} processes from PID` line; output (stdout to {stdout}):\n{out}"
    );
    let (claimed, parent) = spawned[0];
    assert_eq!(
        claimed, count,
        "the parent spawned {count} children:\n{out}"
    );
    let conversions: Vec<(String, String, i32)> =
        out.lines().filter_map(parse_conversion).collect();
    if conversions.len() != count {
        let got = conversions.len();
        let why = if got < count {
            lost_lines(count, count - got, to)
        } else {
            let mut lines: Vec<&str> = out
                .lines()
                .filter(|l| parse_conversion(l).is_some())
                .collect();
            lines.sort_unstable();
            let twice = lines
                .windows(2)
                .find(|w| w[0] == w[1])
                .map_or(String::new(), |w| format!(" (`{}` twice)", w[0]));
            format!(
                "{} lines more than children{twice}: each child must write its line once. \
                 A line printed twice was written twice by its child, or sat in a buffer when \
                 a process forked (fork copies the buffer with the rest of the memory) and \
                 both copies were written out.\nIn the child, write the line straight to the \
                 descriptor with one write(2) (crate::sys::write_all), then leave with \
                 crate::sys::exit_now(0). A line printed twice.",
                got - count
            )
        };
        let evidence = format!("`temperatures {count}`, its output to {stdout}, printed:\n{out}");
        panic!(
            "{}",
            proctest::verdict(
                &evidence.trim_end(),
                &format!(
                    "expected exactly one line per child ({count}), got {got} with stdout to \
                     {stdout}: {why}"
                )
            )
        );
    }
    let mut values: Vec<(String, String)> = conversions
        .iter()
        .map(|(f, c, _)| (f.clone(), c.clone()))
        .collect();
    values.sort_by(|a, b| {
        a.0.parse::<f64>()
            .unwrap_or(0.0)
            .total_cmp(&b.0.parse().unwrap_or(0.0))
    });
    assert_eq!(
        values,
        expected_conversions(count),
        "the notes' values:\n{out}"
    );
    let mut pids: Vec<i32> = conversions.iter().map(|(_, _, pid)| *pid).collect();
    pids.sort_unstable();
    pids.dedup();
    if pids == [parent] {
        panic!(
            "{}",
            proctest::verdict(
                &out,
                "every line names the parent's pid: the line was written (or its pid taken) \
                 before the fork, in the parent, so each child printed the parent's pid. Each \
                 child writes its own pid: call getpid() in the child, after the fork. The \
                 parent's pid in every line."
            )
        );
    }
    assert!(
        pids.len() == count,
        "{}",
        proctest::verdict(
            &out,
            &format!(
                "{count} lines came from {} different pid(s): each child writes one line \
                 with its own pid (getpid() in the child), so the {count} lines name {count} \
                 pids. Lines not from their children.",
                pids.len()
            )
        )
    );
    assert!(
        !pids.contains(&parent),
        "{}",
        proctest::verdict(
            &out,
            "a line names the parent's pid: the parent converts nothing itself, each \
             child writes its own line with its own pid. The parent converted."
        )
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort_unstable();
    redact_pids(&lines.join("\n"))
}

/// What `to` is, in words.
fn stdout_kind(to: StdoutTo) -> &'static str {
    match to {
        StdoutTo::Pipe => "a pipe",
        StdoutTo::File => "a file",
    }
}

/// Why fewer lines than children arrived, from a second run with `--report`, which waits
/// for each child and says how it ended: the children that failed or were killed, or else a
/// line left in a buffer that `_exit` does not flush.
fn lost_lines(count: usize, missing: usize, to: StdoutTo) -> String {
    let run = run(DEMO, &[&count.to_string(), "--report"], to);
    let failed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("child ") && !l.ends_with(": exited with status 0"))
        .collect();
    let ended_well = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("child ") && l.ends_with(": exited with status 0"))
        .count();
    if !failed.is_empty() {
        format!(
            "{missing} lines never arrived, and not every child ended well (in a second run, \
             `temperatures {count} --report`: {}).\nA child that dies or fails before its \
             write(2) prints nothing. Build the line before the fork; in the child, write it \
             with one write(2) (crate::sys::write_all), then leave with \
             crate::sys::exit_now(0). Lines lost.",
            failed.join("; ")
        )
    } else if ended_well == count {
        format!(
            "{missing} lines never arrived, although every child exited with status 0 (in a \
             second run, `temperatures {count} --report`).\nA child that leaves with _exit \
             (crate::sys::exit_now) flushes nothing: a line left in a buffer (a BufWriter, \
             C's printf, which keeps whole blocks when the output is not a terminal) is lost \
             with the child. Write the line with one write(2) (crate::sys::write_all) before \
             exit_now. Lines lost in a buffer."
        )
    } else {
        format!(
            "{missing} lines never arrived.\nBuild each line before the fork; in the child, \
             write it with one write(2) (crate::sys::write_all), then leave with \
             crate::sys::exit_now(0). Lines lost."
        )
    }
}

#[test]
fn one_line_per_child_with_stdout_to_a_pipe() {
    check_one_line_per_child(4, StdoutTo::Pipe);
}

#[test]
fn one_line_per_child_with_stdout_to_a_file() {
    check_one_line_per_child(4, StdoutTo::File);
}

#[test]
fn sixty_four_children_write_sixty_four_whole_lines() {
    check_one_line_per_child(64, StdoutTo::File);
    check_one_line_per_child(64, StdoutTo::Pipe);
}

#[test]
fn each_child_writes_its_line_in_one_write_call() {
    // A line written in pieces is cut only when another process writes between them,
    // which the scheduler may never do in a run; the demo counts each child's write calls
    // to standard output instead (a seccomp filter holds each call until it is counted).
    let run = run(DEMO, &["4", "--count-writes"], StdoutTo::Pipe);
    let pieces: Vec<&str> = run
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("temperatures: the child with pid "))
        .collect();
    if let Some(first) = pieces.first() {
        let (pid, calls) = first
            .split_once(" wrote to standard output in ")
            .unwrap_or((first, "several calls"));
        let line = run
            .stdout
            .lines()
            .find(|l| l.ends_with(&format!("(pid {pid})")))
            .map_or_else(String::new, |l| format!(" ({l:?})"));
        let why = format!(
            "the child with pid {pid} wrote its line{line} to standard output in {calls} \
             (write(2), writev or the like), not in one.\nPipes and files keep a single write \
             together, not several: another process's output (another child's line, the \
             parent's `Spawned` line) can land between the pieces and cut the line. It \
             happens only in the runs where the scheduler switches at that moment, so the \
             check counted the calls. Build the whole line first (crate::sys::Line, with \
             .pid()) and write it with one write(2). A line written in pieces."
        );
        panic!(
            "{}",
            proctest::verdict(
                &format!(
                    "`temperatures 4 --count-writes` printed:\n{}stderr:\n{}",
                    run.stdout, run.stderr
                ),
                &why
            )
        );
    }
    assert!(
        run.status.success(),
        "`temperatures 4 --count-writes` {}: {}",
        run.ended(),
        run.stderr
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
}

#[test]
fn output_matches_the_notes_up_to_pids_and_order() {
    let sorted = check_one_line_per_child(4, StdoutTo::Pipe);
    insta::assert_snapshot!("temperatures_4_sorted", sorted);
}

#[test]
fn a_failed_fork_is_returned_not_swallowed() {
    // The demo makes every fork fail with EAGAIN (a seccomp filter: the process limit,
    // which root ignores, cannot be relied on). spawn_children must return that error.
    check_fork_error_returned(
        &["3", "--fork-fails"],
        "every fork failed with EAGAIN",
        "the caller never learns that its children were not started",
    );
}

#[test]
fn a_fork_that_fails_after_some_children_is_returned_too() {
    // Two forks succeed, the third fails, as when the process limit is reached part-way:
    // the error is returned all the same, not only when no child was started yet.
    check_fork_error_returned(
        &["4", "--fork-fails-after", "2"],
        "the third fork failed with EAGAIN after two children had started",
        "the caller asked for 4 children and never learns that 2 of them were not started",
    );
}

/// Runs the demo with `args`, which make forks fail (`what` says which, `lost` what the
/// caller then misses), and checks that spawn_children returned fork's error, EAGAIN, and
/// that the demo reported it and left no process behind.
fn check_fork_error_returned(args: &[&str], what: &str, lost: &str) {
    let run = run(DEMO, args, StdoutTo::Pipe);
    let out = &run.stdout;
    let command = format!("temperatures {}", args.join(" "));
    if run.status.success() {
        let claimed = out
            .lines()
            .find_map(parse_spawned)
            .map_or("printed no `Spawned` line".to_owned(), |(n, _)| {
                format!("said it spawned {n}")
            });
        let why = format!(
            "{what}, yet spawn_children returned Ok and the demo {claimed} and exited with 0: \
             {lost}. Return fork's error (`fork()?`) whenever it comes, instead of leaving the \
             loop with the children started so far. An error swallowed."
        );
        panic!(
            "{}",
            proctest::verdict(&format!("`{command}` printed:\n{out}"), &why)
        );
    }
    assert!(
        run.stderr.contains("fork failed: EAGAIN"),
        "the error spawn_children returns is fork's, EAGAIN; `{command}` said:\n{}",
        run.stderr
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
}

/// One line of `temperatures --report`: `child 2 (pid 4243): exited with status 0`, parsed
/// into `(2, 4243, "exited with status 0")`.
fn parse_report(line: &str) -> Option<(usize, i32, &str)> {
    let rest = line.strip_prefix("child ")?;
    let (place, rest) = rest.split_once(" (pid ")?;
    let (pid, fate) = rest.split_once("): ")?;
    Some((place.parse().ok()?, pid.parse().ok()?, fate))
}

/// Runs `temperatures 6 --report`, which waits for each pid spawn_children returned, in
/// the order returned, and reports how it ended; returns the output and the report lines,
/// each with the conversion line the same pid printed (`None` if it printed none).
fn reported(count: usize) -> (String, Vec<(i32, String, Option<String>)>) {
    let arg = count.to_string();
    let run = run(DEMO, &[&arg, "--report"], StdoutTo::Pipe);
    let out = run.stdout.clone();
    assert!(
        run.status.success(),
        "`temperatures {count} --report` {}: {}",
        run.ended(),
        run.stderr
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    let reports: Vec<(i32, String, Option<String>)> = out
        .lines()
        .filter_map(parse_report)
        .map(|(_, pid, fate)| {
            let value = out
                .lines()
                .filter_map(parse_conversion)
                .find(|(_, _, p)| *p == pid)
                .map(|(fahrenheit, _, _)| fahrenheit);
            (pid, fate.to_owned(), value)
        })
        .collect();
    assert_eq!(
        reports.len(),
        count,
        "`temperatures {count} --report` must report each of the {count} pids \
         spawn_children returned:\n{out}"
    );
    (out, reports)
}

#[test]
fn the_pids_come_back_in_the_order_of_the_values() {
    let count = 6;
    let (out, reports) = reported(count);
    let expected: Vec<String> = expected_conversions(count)
        .into_iter()
        .map(|(fahrenheit, _)| fahrenheit)
        .collect();
    for (i, ((pid, _, value), wanted)) in reports.iter().zip(&expected).enumerate() {
        if value.as_ref() == Some(wanted) {
            continue;
        }
        let holds = value.as_ref().map_or_else(
            || "a process that printed no conversion line".to_owned(),
            |value| format!("the child that converted {value} F"),
        );
        let why = format!(
            "spawn_children returned the pids in another order than the values: place {} of \
             the list holds pid {pid}, {holds}, where the pid of the child for values[{i}], \
             {wanted} F, belongs.\nThe caller tells the children apart by their place in the \
             list (the `reap` demo reports child 1 from the first pid). Push each child's pid \
             as soon as its fork returns, in the loop over `values`. Pids out of order.",
            i + 1
        );
        panic!(
            "{}",
            proctest::verdict(
                &format!(
                    "`temperatures {count} --report` printed (the `child K` lines follow \
                     the returned list):\n{out}"
                ),
                &why
            )
        );
    }
}

#[test]
fn every_child_exits_with_status_0() {
    let count = 6;
    let (out, reports) = reported(count);
    if let Some((pid, fate, value)) = reports
        .iter()
        .find(|(_, fate, _)| fate != "exited with status 0")
    {
        let which = value.as_ref().map_or_else(String::new, |value| {
            format!(" (the one that converted {value} F)")
        });
        let why = format!(
            "the child with pid {pid}{which} {fate}, where a child that did its job exits \
             with status 0.\nA parent reads any other exit status as a failure (the `reap` \
             demo of the next step reports it so). A child that wrote its whole line leaves \
             with exit_now(0); a non-zero status is for a failed write only. Wrong exit status."
        );
        panic!(
            "{}",
            proctest::verdict(
                &format!("`temperatures {count} --report` printed:\n{out}"),
                &why
            )
        );
    }
}

#[test]
fn bad_counts_are_rejected_before_forking() {
    for args in [
        &["abc"][..],
        &["0"],
        &["-3"],
        &["1000"],
        &[],
        &["4", "5"],
        &["4", "--count-writes", "x"],
    ] {
        assert_rejected(DEMO, args, "1..=64", "fork/spawn");
    }
}

#[test]
fn the_child_calls_only_async_signal_safe_functions_and_leaves_with_exit() {
    let source = proctest::source::Source::read(proctest::step_file!("08_fork/spawn.rs"))
        .unwrap_or_else(|err| panic!("{err}"))
        .allow(&["celsius"]);
    proctest::source::assert_none(&source.fork_children());
}

/// The violations found in `code`, a version of spawn.rs.
fn violations(code: &str) -> Vec<proctest::source::Violation> {
    proctest::source::Source::parse("08_fork/spawn.rs", code)
        .expect("valid Rust")
        .allow(&["celsius"])
        .fork_children()
}

#[test]
fn oracle_a_child_that_prints_with_println_and_exits_with_exit_is_rejected() {
    // Both work in every run of the single-threaded demo: only the source shows them.
    let found = violations(
        r#"
        pub fn spawn_children(values: &[f64]) -> nix::Result<Vec<Pid>> {
            let mut pids = Vec::new();
            for &f in values {
                match unsafe { fork() }? {
                    ForkResult::Parent { child } => pids.push(child),
                    ForkResult::Child => {
                        println!("{f:.6} F is {:.6} C (pid {})", celsius(f), getpid());
                        std::process::exit(0)
                    }
                }
            }
            Ok(pids)
        }
        "#,
    );
    let lines: Vec<String> = found
        .iter()
        .map(|v| format!("{}: {}", v.line, v.what))
        .collect();
    assert_eq!(
        lines,
        ["8: calls `println!`", "9: calls `std::process::exit`"]
    );
    let report = std::panic::catch_unwind(|| proctest::source::assert_none(&found))
        .expect_err("rejected")
        .downcast::<String>()
        .expect("a message");
    assert!(
        report.ends_with("Not async-signal-safe after fork."),
        "{report}"
    );
}

#[test]
fn oracle_a_child_that_writes_through_a_stdout_handle_of_the_parent_is_rejected() {
    // `std::io::stdout()` taken before the fork: the child's write goes through its lock
    // and its buffer, although the child itself calls no function of std by name.
    let found = violations(
        r#"
        pub fn spawn_children(values: &[f64]) -> nix::Result<Vec<Pid>> {
            let out = std::io::stdout();
            let mut pids = Vec::new();
            for &f in values {
                let text = format!("{f:.6} F is {:.6} C (pid ", celsius(f));
                let line = Line::new().text(text.as_bytes());
                match unsafe { fork() }? {
                    ForkResult::Parent { child } => pids.push(child),
                    ForkResult::Child => {
                        let line = line.pid().text(b")\n");
                        let code = if (&out).write_all(line.as_bytes()).is_ok() { 0 } else { 1 };
                        exit_now(code)
                    }
                }
            }
            writeln!(&out, "spawned").ok();
            Ok(pids)
        }
        "#,
    );
    let lines: Vec<String> = found
        .iter()
        .map(|v| format!("{}: {}", v.line, v.what))
        .collect();
    assert_eq!(
        lines,
        ["12: uses `out`, a handle on `std::io::stdout()` taken before the fork (line 3)"]
    );
}

#[test]
fn alternative_a_child_that_writes_and_exits_through_libc_is_accepted() {
    let found = violations(
        r#"
        pub fn spawn_children(values: &[f64]) -> nix::Result<Vec<Pid>> {
            let mut pids = Vec::with_capacity(values.len());
            for &f in values {
                let text = format!("{f:.6} F is {:.6} C (pid ", celsius(f));
                let line = Line::new().text(text.as_bytes());
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    let line = line.pid().text(b")\n");
                    let bytes = line.as_bytes();
                    unsafe {
                        libc::write(1, bytes.as_ptr().cast(), bytes.len());
                        libc::_exit(0);
                    }
                }
                if pid < 0 {
                    return Err(nix::errno::Errno::last());
                }
                pids.push(Pid::from_raw(pid));
            }
            Ok(pids)
        }
        "#,
    );
    assert!(found.is_empty(), "{found:?}");
}
