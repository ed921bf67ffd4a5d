//! `temperatures N`: the demo of the notes. Forks N children (step `fork/spawn`); child i
//! converts `100 + 10 * i` degrees Fahrenheit (i from 1) and prints its line; the parent
//! prints `Spawned N processes from PID` at once, as the notes' parent does, so its line
//! may come before, between or after the children's.
//!
//! `temperatures N --report`: after its `Spawned` line, the parent waits for each pid
//! `spawn_children` returned, in the order returned, and prints how it ended: `child 2
//! (pid 4243): exited with status 0`. So a test can tell which child each pid is (the
//! values' order) and that each exited with status 0.
//!
//! `temperatures N --fork-fails`: every fork fails with EAGAIN, as when the process limit
//! is reached (see `proctest::faults::forks_fail`): `spawn_children` must return that
//! error, and the demo reports it and exits with 1. `--fork-fails-after K` lets K forks
//! succeed first (`proctest::faults::forks_fail_after`), as when the limit is reached
//! part-way: the error must be returned all the same, with K children already started.
//!
//! `temperatures N --count-writes`: counts the write calls (`write`, `writev`, `pwrite`...)
//! each child makes to standard output, and reports on standard error every child that
//! made more than one: `temperatures: the child with pid 4243 wrote to standard output in
//! 2 calls`. A line written in pieces can be cut by another process's output, but only
//! when the scheduler happens to run that process between the pieces; counting the calls
//! shows it in every run. A seccomp filter holds each write call of the demo and of its
//! children at its entry (see `proctest::faults::hold_calls`), and a thread of the parent
//! counts it and lets it go on. The parent then waits for every child before it exits.

use fork::{cli, fahrenheit_values, spawn};
use nix::errno::Errno;
use nix::sys::wait::{wait, waitpid};
use nix::unistd::{Pid, getpid, gettid};
use proctest::args::Args;
use proctest::faults::{Gate, hold_calls};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

const OPTIONS: &str = " [--report] [--count-writes] [--fork-fails | --fork-fails-after K]";

/// Makes forks fail as the command line asks: every one, or every one after the first
/// `successes`.
fn make_forks_fail(successes: Option<u32>) -> std::io::Result<()> {
    match successes {
        None => proctest::faults::forks_fail(),
        Some(k) => proctest::faults::forks_fail_after(k),
    }
}

/// The fault asked for: `None` without one, `Some(None)` for `--fork-fails`,
/// `Some(Some(k))` for `--fork-fails-after K`. Read before the count, so that K is never
/// taken for N.
fn fault(args: &mut Args) -> Option<Option<u32>> {
    let every = args.flag("--fork-fails");
    let last = u32::try_from(*cli::COUNTS.end()).expect("a count of at most 64") - 1;
    let after = args.number("--fork-fails-after", "K", 0..=last);
    match (every, after) {
        (true, Some(_)) => args.fail("--fork-fails and --fork-fails-after exclude each other"),
        (true, None) => Some(None),
        (false, Some(k)) => Some(Some(k)),
        (false, None) => None,
    }
}

/// Waits for each of `pids` in order and prints how it ended.
fn report(pids: &[Pid]) {
    for (i, &pid) in pids.iter().enumerate() {
        let status = loop {
            match waitpid(pid, None) {
                Err(Errno::EINTR) => continue,
                other => break other,
            }
        };
        match status {
            Ok(status) => println!(
                "child {} (pid {pid}): {}",
                i + 1,
                fork::sys::describe(&status)
            ),
            Err(err) => println!("child {} (pid {pid}): cannot be waited for ({err})", i + 1),
        }
    }
}

/// Waits for whatever children are left, so that every line is written before the demo
/// exits and none is left a zombie. wait() fails with ECHILD once no child is left
/// (EINTR: a signal interrupted it).
fn wait_for_the_rest() {
    while matches!(wait(), Ok(_) | Err(Errno::EINTR)) {}
}

/// The write calls of the demo and its children that `--count-writes` counts.
const WRITES: [libc::c_long; 5] = fork::WRITE_CALLS;

/// The call that marks a moment for the counting thread (`getpgid(0)`, which neither the
/// demo nor a child makes otherwise): in the main thread, the end of the count; in a
/// child, that it returned from `spawn_children` into `main`.
const MARK: libc::c_long = libc::SYS_getpgid;

/// Makes the [`MARK`] call.
fn mark() {
    // SAFETY: getpgid only reads the process group of the calling process.
    unsafe { libc::getpgid(0) };
}

/// How many write calls to standard output each child made, by pid: at most one entry per
/// child (64), kept in place so that counting allocates nothing while children are forked.
type Counts = [(i32, u32); 64];

/// Counts the write calls to standard output of every child of this process, from now on
/// (`--count-writes`): a thread, started before the filter so that its own calls run
/// freely, receives each call the filter holds on the main thread and on every child
/// forked from it, counts it and lets it go on. A [`MARK`] call of the main thread ends
/// the count ([`stop_counting`]); one of a child means that child left `spawn_children`
/// (it returned into `main`): its later writes are the parent's code, not its line.
fn count_writes() -> std::io::Result<mpsc::Receiver<Counts>> {
    let (gate_tx, gate_rx) = mpsc::channel::<(Gate, i32)>();
    let (counts_tx, counts_rx) = mpsc::channel();
    // The thread lives as long as the demo: once the filter is in place, every write of
    // the main thread waits for it to be let go on (without the thread, it would fail).
    std::thread::spawn(move || {
        let mut counts: Counts = [(0, 0); 64];
        let mut returned = [0i32; 64];
        let Ok((gate, main)) = gate_rx.recv() else {
            return;
        };
        while let Ok(Some(held)) = gate.next(Duration::from_secs(3600)) {
            let (tid, number) = (held.tid, held.number);
            if number == MARK && tid == main {
                // Sent before the mark returns: the main thread finds the counts.
                let _ = counts_tx.send(counts);
            } else if number == MARK {
                if let Some(slot) = returned.iter_mut().find(|t| **t == 0 || **t == tid) {
                    *slot = tid;
                }
            } else if tid != main
                && WRITES.contains(&number)
                && held.args[0] == libc::STDOUT_FILENO as u64
                && !returned.contains(&tid)
            {
                if let Some(slot) = counts.iter_mut().find(|(t, _)| *t == 0 || *t == tid) {
                    *slot = (tid, slot.1 + 1);
                }
            }
            let _ = gate.release(held);
        }
    });
    let mut calls = WRITES.to_vec();
    calls.push(MARK);
    let gate = hold_calls(&calls)?;
    let _ = gate_tx.send((gate, gettid().as_raw()));
    Ok(counts_rx)
}

/// Ends the count of [`count_writes`] (every child has been waited for) and reports each
/// child that wrote to standard output in more than one call. Returns whether none did.
fn stop_counting(counts: &mpsc::Receiver<Counts>) -> bool {
    // The main thread's mark, held like the writes, makes the counting thread send them.
    mark();
    let counts = counts.recv().unwrap_or([(0, 0); 64]);
    let mut one_each = true;
    for &(pid, calls) in counts.iter().filter(|(_, calls)| *calls > 1) {
        one_each = false;
        eprintln!(
            "temperatures: the child with pid {pid} wrote to standard output in {calls} calls"
        );
    }
    one_each
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = cli::args("temperatures", OPTIONS, "fork/spawn");
    let report_each = args.flag("--report");
    let counting = args.flag("--count-writes");
    let fault = fault(&mut args);
    let count = cli::count(&mut args);
    if let Some(Some(k)) = fault {
        if usize::try_from(k).map_or(true, |k| k >= count) {
            args.fail(&format!(
                "--fork-fails-after {k}: K must be below N ({count}), so that a fork fails"
            ));
        }
    }
    args.finish();
    if let Some(successes) = fault {
        if let Err(err) = make_forks_fail(successes) {
            eprintln!("temperatures: cannot make fork fail here: {err}");
            return ExitCode::FAILURE;
        }
        match successes {
            None => println!("temperatures: from now on, every fork fails with EAGAIN"),
            Some(k) => println!("temperatures: after {k} fork(s), every fork fails with EAGAIN"),
        }
    }
    let demo = getpid();
    let counter = if counting {
        match count_writes() {
            Ok(counter) => Some(counter),
            Err(err) => {
                eprintln!("temperatures: cannot count write calls here: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let pids = match spawn::spawn_children(&fahrenheit_values(count)) {
        Ok(pids) => pids,
        Err(err) => {
            eprintln!("temperatures: fork failed: {err}");
            wait_for_the_rest();
            return ExitCode::FAILURE;
        }
    };
    if counter.is_some() && getpid() != demo {
        // A child that returned from spawn_children: what it writes from now on is the
        // parent's code running in it, not its line (its mark tells the counter so).
        // The counting thread is the parent's: this process has none to wait for.
        mark();
        println!("Spawned {} processes from {}", pids.len(), getpid());
        return ExitCode::SUCCESS;
    }
    println!("Spawned {} processes from {}", pids.len(), getpid());
    // The notes' parent returns here without waiting. This demo still waits for whatever
    // children it has (waiting properly, and reporting how each child ended, is step
    // `fork/reap`).
    if report_each {
        report(&pids);
    }
    wait_for_the_rest();
    if counter.is_some_and(|counts| !stop_counting(&counts)) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
