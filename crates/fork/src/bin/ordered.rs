//! `ordered N`: forks N temperature children through the student's `convert_in_children`
//! (step `fork/ordered`) and prints their results in value order, then `Spawned N
//! processes from PID`. Only the parent prints, so the output is the same on every run.
//! Before exiting, the demo checks that it has no child left and no descriptor open beyond
//! 0, 1 and 2; it reports any and exits with 1.
//!
//! `ordered N --slow K`: child K's conversion (`fork::celsius`) first computes for 0.2 s
//! of CPU, so child K ends after the others. `ordered N --crash K`: child K dies (SIGKILL)
//! while converting, before it writes anything: the parent's read of its pipe must then
//! see end of file, and `convert_in_children` fail with EIO. `ordered N --fail-at-exit`:
//! every child writes its whole message, then exits with status 3 where it asks for 0
//! (see `proctest::faults::children_fail_at_exit`): `convert_in_children` must fail with
//! EIO all the same. `--descending` (with any of these) gives the values in decreasing
//! order, child 1 the highest: the results must still come back in the order given.
//!
//! `ordered N --crash K --stopped J` (or `--stopped J` alone): child J stops itself
//! (SIGSTOP) as it starts converting, and goes on only when someone sends it SIGCONT (the
//! test does, once the parent waits for it; by hand, `kill -CONT PID`). After child K's
//! crash, child J has not ended yet: `convert_in_children` must still wait until it has.

use fork::sys::Audit;
use fork::{cli, fahrenheit_values, ordered, trial};
use nix::unistd::getpid;
use proctest::cpu::Meter;
use std::process::ExitCode;

const OPTIONS: &str = " [--slow K | --crash K | --fail-at-exit] [--stopped J] [--descending]";

/// What the command line asks a child to do besides converting.
enum Trial {
    /// Child K (from 1) converts slowly (`true`) or dies converting (`false`).
    Child(bool, usize),
    /// Every child exits with a failure status after its message.
    FailAtExit,
}

/// The number of a child after `flag`, from 1 to `count`.
fn child_number(flag: &str, k: &str, count: usize) -> Result<usize, String> {
    match k.parse::<usize>() {
        Ok(k) if (1..=count).contains(&k) => Ok(k),
        _ => Err(format!(
            "{flag} {k}: the child must be between 1 and {count}"
        )),
    }
}

/// The count, the trial asked for, the child that stops (`--stopped J`), and whether the
/// values are given in decreasing order.
fn parse(args: &[String]) -> Result<(usize, Option<Trial>, Option<usize>, bool), String> {
    let descending = args.iter().any(|a| a == "--descending");
    let mut args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--descending")
        .collect();
    let count = cli::parse_count(args.first().copied())?;
    let mut stopped = None;
    if let Some(at) = args.iter().position(|a| *a == "--stopped") {
        let j = args
            .get(at + 1)
            .ok_or_else(|| format!("--stopped needs the number of a child, 1..={count}"))?;
        stopped = Some(child_number("--stopped", j, count)?);
        args.drain(at..at + 2);
    }
    let trial = match args[1..] {
        [] => None,
        ["--fail-at-exit"] => Some(Trial::FailAtExit),
        [flag @ ("--slow" | "--crash"), k] => Some(Trial::Child(
            flag == "--slow",
            child_number(flag, k, count)?,
        )),
        [extra, ..] => return Err(format!("unexpected argument {extra:?}")),
    };
    if let (Some(j), Some(Trial::Child(_, k))) = (stopped, &trial) {
        if j == *k {
            return Err(format!(
                "--stopped {j}: child {j} already has a part to play"
            ));
        }
    }
    Ok((count, trial, stopped, descending))
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let audit = Audit::start();
    let args = cli::args("ordered", OPTIONS, "fork/ordered");
    let (count, trial, stopped, descending) =
        parse(args.remaining()).unwrap_or_else(|problem| args.fail(&problem));
    let mut values = fahrenheit_values(count);
    if descending {
        values.reverse();
    }
    match trial {
        Some(Trial::Child(true, k)) => trial::slow(values[k - 1]),
        Some(Trial::Child(false, k)) => trial::crash(values[k - 1]),
        Some(Trial::FailAtExit) => {
            if let Err(err) = proctest::faults::children_fail_at_exit() {
                eprintln!("ordered: cannot make the children fail at exit: {err}");
                return ExitCode::FAILURE;
            }
        }
        None => {}
    }
    if let Some(j) = stopped {
        trial::stop(values[j - 1]);
    }
    let mut ok = true;
    let meter = Meter::start("convert_in_children");
    let converted = ordered::convert_in_children(&values);
    meter.report();
    match converted {
        Ok(conversions) => {
            for c in &conversions {
                println!(
                    "{:.6} F is {:.6} C (pid {})",
                    c.fahrenheit, c.celsius, c.pid
                );
            }
            println!("Spawned {} processes from {}", conversions.len(), getpid());
        }
        Err(err) => {
            ok = false;
            eprintln!("ordered: convert_in_children failed: {err}");
        }
    }
    for problem in audit.problems() {
        ok = false;
        eprintln!("ordered: before exiting, the parent found {problem}");
    }
    if ok {
        println!("audit: every child waited for, no descriptor left open");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
