//! `handshake [--signal-early | --signal-after-check | --slow]`: the notes' SIGUSR1/SIGUSR2
//! handshake (step `signals/handshake`). The child sends SIGUSR1 to the parent; the parent
//! waits for it with the student's `wait_for`, answers with SIGUSR2, then ends the child
//! with SIGTERM, reaps it and says how it ended.
//!
//! Where SIGUSR1 falls is left to the scheduler by default. The options force the two
//! moments a `pause()` misses, without any sleep:
//! - `--signal-early`: the child sends SIGUSR1, reports it through a pipe, and only then
//!   does the parent start waiting;
//! - `--signal-after-check`: the child sends SIGUSR1 right after the parent's first look at
//!   its flag found it unset (see `signals::flag::race`), before the parent sleeps.
//!
//! `--slow` makes each side wait for work: the child computes for 0.2 s of CPU before it
//! sends SIGUSR1, and the parent as long before it answers. Under the tests' watchdog the
//! demo reports the CPU each side used inside `wait_for`: next to nothing when it sleeps.

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, pause, pipe};
use proctest::args::{Args, step_usage};
use proctest::cpu::{CpuReport, Meter, thread_cpu, work};
use signals::flag::race;
use signals::handshake::{GOT_USR1, GOT_USR2, install_handlers, wait_for};
use signals::sys::{exit_now, read_full, stdout_fd, write_all};
use std::os::fd::OwnedFd;
use std::process::ExitCode;
use std::time::Duration;

const SYNOPSIS: &str = "handshake [--signal-early | --signal-after-check | --slow]   (no option: the scheduler decides when SIGUSR1 arrives)";

/// The CPU work each side does before it signals the other, under `--slow`.
const SLOW_WORK: Duration = signals::work::SLOW_WORK;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Natural,
    SignalEarly,
    SignalAfterCheck,
    Slow,
}

/// The child's side: send SIGUSR1, wait for SIGUSR2, then wait for SIGTERM. Only
/// async-signal-safe calls. After SIGUSR2 it reports `A` and the CPU time (in
/// microseconds, 8 bytes) it used inside `wait_for`.
fn child(
    parent: Pid,
    report: OwnedFd,
    go: Option<OwnedFd>,
    mask: &nix::sys::signal::SigSet,
    slow: bool,
) -> ! {
    if let Some(go) = go {
        let mut byte = [0u8; 1];
        if read_full(&go, &mut byte) != Ok(1) {
            exit_now(1);
        }
    }
    if slow {
        work(SLOW_WORK);
    }
    if kill(parent, Signal::SIGUSR1).is_err() || write_all(&report, b"S").is_err() {
        exit_now(1);
    }
    let before = thread_cpu();
    if wait_for(&GOT_USR2, mask).is_err() {
        exit_now(1);
    }
    let used = thread_cpu().saturating_sub(before);
    let _ = write_all(stdout_fd(), b"child: received SIGUSR2 from the parent\n");
    let micros = u64::try_from(used.as_micros()).unwrap_or(u64::MAX);
    let mut answer = [0u8; 9];
    answer[0] = b'A';
    answer[1..].copy_from_slice(&micros.to_ne_bytes());
    let _ = write_all(&report, &answer);
    // Wait for SIGTERM, whose default action ends the process.
    loop {
        pause();
    }
}

fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("was killed by signal {}", signal.as_str()),
        other => format!("is in state {other:?}"),
    }
}

fn run(order: Order) -> nix::Result<bool> {
    let mask = install_handlers()?;
    let (report_read, report_write) = pipe()?;
    let (go_read, go_write) = match order {
        Order::SignalAfterCheck => {
            let (r, w) = pipe()?;
            (Some(r), Some(w))
        }
        _ => (None, None),
    };
    let parent = getpid();
    // SAFETY: the demo is single-threaded, and the child only calls async-signal-safe
    // functions (read, kill, write, sigsuspend or pause, _exit) on memory it owns.
    let child_pid = match unsafe { fork() }? {
        ForkResult::Child => {
            drop(report_read);
            drop(go_write);
            child(parent, report_write, go_read, &mask, order == Order::Slow)
        }
        ForkResult::Parent { child } => child,
    };
    drop(report_write);
    drop(go_read);
    let mut byte = [0u8; 1];
    match (order, go_write) {
        (Order::SignalEarly, _) => {
            if read_full(&report_read, &mut byte)? != 1 {
                return child_gone(child_pid);
            }
            println!("parent: the child has sent SIGUSR1; only now does the parent wait for it");
        }
        (Order::SignalAfterCheck, Some(go)) => {
            race::arm(go, report_read.try_clone().map_err(|_| Errno::EMFILE)?);
            println!("parent: SIGUSR1 will come right after the parent's first look at its flag");
        }
        _ => {}
    }
    let meter = Meter::start("parent_wait_for");
    wait_for(&GOT_USR1, &mask)?;
    meter.report();
    if matches!(order, Order::Natural | Order::Slow) && read_full(&report_read, &mut byte)? != 1 {
        return child_gone(child_pid);
    }
    println!("parent: received SIGUSR1 from the child");
    if order == Order::Slow {
        work(SLOW_WORK);
    }
    kill(child_pid, Signal::SIGUSR2)?;
    let mut answer = [0u8; 9];
    if read_full(&report_read, &mut answer)? != answer.len() {
        return child_gone(child_pid);
    }
    let micros = u64::from_ne_bytes(answer[1..].try_into().unwrap_or_default());
    CpuReport {
        label: "child_wait_for".to_owned(),
        own: Duration::from_micros(micros),
        children: Duration::ZERO,
        wall: Duration::ZERO,
    }
    .report();
    println!("parent: terminating the child with SIGTERM");
    kill(child_pid, Signal::SIGTERM)?;
    let status = loop {
        match waitpid(child_pid, None) {
            Err(Errno::EINTR) => continue,
            other => break other?,
        }
    };
    println!("parent: the child {}", describe(status));
    Ok(matches!(
        status,
        WaitStatus::Signaled(_, Signal::SIGTERM, _)
    ))
}

fn child_gone(child: Pid) -> nix::Result<bool> {
    let status = waitpid(child, None)?;
    eprintln!("handshake: the child ended early: it {}", describe(status));
    Ok(false)
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let usage = step_usage(SYNOPSIS, "handshake --signal-early", "signals/handshake");
    let args = Args::from_env("handshake", &usage);
    let given = args.remaining();
    let order = match given.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => Order::Natural,
        ["--signal-early"] => Order::SignalEarly,
        ["--signal-after-check"] => Order::SignalAfterCheck,
        ["--slow"] => Order::Slow,
        _ => args.fail(&format!("unexpected arguments {given:?}")),
    };
    match run(order) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("handshake: {err}");
            ExitCode::FAILURE
        }
    }
}
