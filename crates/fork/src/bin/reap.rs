//! `reap N [--fail K] [--kill K]`: forks N temperature children, waits for all of them
//! with the student's `wait_all` (step `fork/reap`), reports how each one ended, and only
//! then prints `Spawned N processes from PID`. With `--fail K`, child K (from 1) exits with
//! status 3 after its line; with `--kill K`, child K kills itself with SIGKILL instead of
//! writing anything. Before exiting, the demo checks that it has no child left (running or
//! zombie) and no descriptor open beyond 0, 1 and 2; it reports any and exits with 1.

use fork::sys::{Audit, Line, describe, exit_now, stdout_fd, write_all};
use fork::{celsius, cli, fahrenheit_values, reap};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{ForkResult, Pid, fork, getpid};
use std::process::ExitCode;

const OPTIONS: &str = " [--fail K] [--kill K]";

/// What child K does instead of exiting with status 0.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Succeed,
    Fail,
    Killed,
}

/// Reads `N [--fail K] [--kill K]`, or exits with the usage error.
fn parse() -> (usize, Vec<Fate>) {
    let mut args = cli::args("reap", OPTIONS, "fork/reap");
    let mut chosen = Vec::new();
    for (flag, fate) in [("--fail", Fate::Fail), ("--kill", Fate::Killed)] {
        if let Some(which) = args.value(flag) {
            chosen.push((flag, which, fate));
        }
    }
    let count = cli::count(&mut args);
    args.clone().finish();
    let mut fates = vec![Fate::Succeed; count];
    for (flag, which, fate) in chosen {
        match which.parse::<usize>() {
            Ok(k) if (1..=count).contains(&k) => fates[k - 1] = fate,
            _ => args.fail(&format!(
                "{flag} {which}: the child must be between 1 and {count}"
            )),
        }
    }
    (count, fates)
}

/// Forks one child per value; the child writes its line in one write(2), then leaves with
/// `_exit` (how to write such a child is step `fork/spawn`).
fn spawn(values: &[f64], fates: &[Fate]) -> nix::Result<Vec<Pid>> {
    let mut pids = Vec::with_capacity(values.len());
    for (&fahrenheit, &fate) in values.iter().zip(fates) {
        let text = format!("{fahrenheit:.6} F is {:.6} C (pid ", celsius(fahrenheit));
        let line = Line::new().text(text.as_bytes());
        // SAFETY: the child only calls async-signal-safe functions (getpid, write, kill,
        // _exit) on memory it owns, then exits.
        match unsafe { fork() }? {
            ForkResult::Parent { child } => pids.push(child),
            ForkResult::Child => {
                if fate == Fate::Killed {
                    let _ = kill(getpid(), Signal::SIGKILL);
                }
                let line = line.pid().text(b")\n");
                let written = write_all(stdout_fd(), line.as_bytes()).is_ok();
                exit_now(match (fate, written) {
                    (Fate::Fail, _) => 3,
                    (_, true) => 0,
                    (_, false) => 1,
                })
            }
        }
    }
    Ok(pids)
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let audit = Audit::start();
    let (count, fates) = parse();
    let pids = match spawn(&fahrenheit_values(count), &fates) {
        Ok(pids) => pids,
        Err(err) => {
            eprintln!("reap: fork failed: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut ok = true;
    match reap::wait_all(&pids) {
        Ok(statuses) => {
            for (i, &pid) in pids.iter().enumerate() {
                match statuses.iter().find(|(p, _)| *p == pid) {
                    Some((_, status)) => {
                        println!("child {} (pid {pid}): {}", i + 1, describe(status));
                    }
                    None => {
                        ok = false;
                        println!(
                            "child {} (pid {pid}): no status (wait_all did not report it)",
                            i + 1
                        );
                    }
                }
            }
        }
        Err(err) => {
            ok = false;
            eprintln!("reap: wait_all failed: {err}");
        }
    }
    println!("Spawned {count} processes from {}", getpid());
    for problem in audit.problems() {
        ok = false;
        eprintln!("reap: before exiting, the parent found {problem}");
    }
    if ok {
        println!("audit: every child waited for, no descriptor left open");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
