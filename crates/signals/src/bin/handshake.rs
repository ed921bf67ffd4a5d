//! `handshake [--signal-early | --signal-after-check | --answer-after-check | --stray-signal
//! | --sigint-blocked | --usr-blocked | --other-signal | --two-rounds | --slow]`: the notes'
//! SIGUSR1/SIGUSR2 handshake (step
//! `signals/handshake`). The child sends SIGUSR1 to the parent; the parent waits for it
//! with the student's `wait_for`, answers with SIGUSR2, then ends the child with SIGTERM,
//! reaps it and says how it ended.
//!
//! Where SIGUSR1 falls is left to the scheduler by default. The options force the moments
//! a `pause()` or a careless `sigsuspend` misses, without any sleep:
//! - `--signal-early`: the child sends SIGUSR1, reports it through a pipe, and only then
//!   does the parent start waiting;
//! - `--signal-after-check`: the child sends SIGUSR1 right after the parent's first look at
//!   its flag found it unset (see `signals::flag::race`), before the parent sleeps;
//! - `--answer-after-check`: the same on the child's side: the parent sends SIGUSR2 right
//!   after the child's first look at GOT_USR2 found it unset;
//! - `--stray-signal`: a SIGUSR2 reaches the parent before SIGUSR1 (it sends it to itself
//!   before waiting), and the child sends SIGUSR1 only once the parent sleeps again:
//!   `wait_for(&GOT_USR1)` must not return on the other signal's handler;
//! - `--sigint-blocked`: the demo blocks SIGINT (with a handler that records a delivery)
//!   before `install_handlers`, and the child sends SIGINT, then SIGUSR1, once the parent
//!   sleeps: a signal the caller blocked must stay blocked while `wait_for` sleeps;
//! - `--usr-blocked`: the demo blocks SIGUSR1 and SIGUSR2 themselves before
//!   `install_handlers`, as a caller that defers them would: the mask to wait with must
//!   still let them in;
//! - `--other-signal`: the demo handles SIGALRM (a timer set elsewhere in a program), and
//!   the child sends it once the parent sleeps, then SIGUSR1 once its handler has run and
//!   the parent sleeps again: `wait_for` must not return on another handler, whatever
//!   mask it sleeps with;
//! - `--two-rounds`: the handshake runs twice (each side clears its flag after its first
//!   wait): the handlers must still be there for the second signal of each kind.
//!
//! `--slow` makes each side wait for work: the child computes for 0.2 s of CPU before it
//! sends SIGUSR1, and the parent as long before it answers. Under the tests' watchdog the
//! demo reports the CPU each side used inside `wait_for`: next to nothing when it sleeps.

use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, raise, sigaction};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid, pause, pipe};
use proctest::args::{Args, step_usage};
use proctest::cpu::{CpuReport, Meter, thread_cpu, work};
use signals::flag::{SignalFlag, race};
use signals::handshake::{GOT_USR1, GOT_USR2};
use signals::sys::{exit_now, process_state, read_full, stdout_fd, write_all};
use std::os::fd::OwnedFd;
use std::process::ExitCode;
use std::time::Duration;

const SYNOPSIS: &str = "handshake [--signal-early | --signal-after-check | --answer-after-check
                 | --stray-signal | --sigint-blocked | --usr-blocked | --other-signal
                 | --two-rounds | --slow]
       (no option: the scheduler decides when SIGUSR1 arrives)";

/// The CPU work each side does before it signals the other, under `--slow`.
const SLOW_WORK: Duration = signals::work::SLOW_WORK;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    Natural,
    SignalEarly,
    SignalAfterCheck,
    AnswerAfterCheck,
    StraySignal,
    SigintBlocked,
    UsrBlocked,
    OtherSignal,
    TwoRounds,
    Slow,
}

/// Under `--sigint-blocked`: set if SIGINT, which the demo blocked, was delivered anyway.
static GOT_INT: SignalFlag = SignalFlag::new();

extern "C" fn on_sigint(_: libc::c_int) {
    GOT_INT.set();
}

/// Under `--other-signal`: set when SIGALRM's handler ran.
static GOT_ALRM: SignalFlag = SignalFlag::new();
/// Under `--other-signal`: the write end of the pipe on which SIGALRM's handler tells the
/// child that it ran (-1 otherwise).
static ALRM_ACK: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

extern "C" fn on_sigalrm(_: libc::c_int) {
    GOT_ALRM.set();
    let fd = ALRM_ACK.load(std::sync::atomic::Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write() is async-signal-safe; `fd` is the pipe's write end, open for the
        // demo's whole run, and the buffer is a static byte.
        unsafe { libc::write(fd, b"!".as_ptr().cast(), 1) };
    }
}

/// Under `--other-signal`, before `install_handlers`: handles SIGALRM, as a program with a
/// timer does; its handler reports on `ack` that it ran.
fn handle_sigalrm(ack: &OwnedFd) -> nix::Result<()> {
    use std::os::fd::AsRawFd;
    ALRM_ACK.store(ack.as_raw_fd(), std::sync::atomic::Ordering::SeqCst);
    let action = SigAction::new(
        SigHandler::Handler(on_sigalrm),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic and calls write(), async-signal-safe.
    unsafe { sigaction(Signal::SIGALRM, &action) }?;
    Ok(())
}

/// Under `--sigint-blocked`, before `install_handlers`: blocks SIGINT, as a program that
/// defers Ctrl-C does, with a handler that records a delivery instead of ending the demo.
fn block_sigint() -> nix::Result<()> {
    let mut int = SigSet::empty();
    int.add(Signal::SIGINT);
    int.thread_block()?;
    let action = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe { sigaction(Signal::SIGINT, &action) }?;
    Ok(())
}

/// Under `--stray-signal` and `--sigint-blocked`, in the child: waits until the parent
/// sleeps (under `--stray-signal`, once its SIGUSR2 has been handled and `wait_for` went
/// back to sleep), reading its state in /proc without allocating. A `wait_for` that
/// returned on SIGUSR2's handler never sleeps there: the parent then ends the child. Gives
/// up (and lets the signals go) if the parent is gone.
fn until_asleep(parent: Pid) {
    let pause = libc::timespec {
        tv_sec: 0,
        tv_nsec: 200_000,
    };
    while let Some(state) = process_state(parent) {
        if state == b'S' {
            return;
        }
        // SAFETY: nanosleep is async-signal-safe; both pointers are valid (the second
        // may be null).
        unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
    }
}

/// The child's side: send SIGUSR1, wait for SIGUSR2, then wait for SIGTERM. Only
/// async-signal-safe calls. After SIGUSR2 it reports `A` and the CPU time (in
/// microseconds, 8 bytes) it used inside `wait_for`.
fn child(
    parent: Pid,
    report: OwnedFd,
    pipes: Pipes,
    mask: &SigSet,
    order: Order,
    wait_for: fn(&SignalFlag, &SigSet) -> nix::Result<()>,
) -> ! {
    if let Some(go) = pipes.go {
        let mut byte = [0u8; 1];
        if read_full(&go, &mut byte) != Ok(1) {
            exit_now(1);
        }
    }
    if let Some(ack) = &pipes.alarm_ack {
        // Once the parent sleeps in its wait: SIGALRM, then wait until its handler ran.
        until_asleep(parent);
        let mut byte = [0u8; 1];
        if kill(parent, Signal::SIGALRM).is_err() || read_full(ack, &mut byte) != Ok(1) {
            exit_now(1);
        }
        // The parent sleeps again only if its wait_for went back to sleep.
        until_asleep(parent);
    }
    match order {
        Order::Slow => {
            work(SLOW_WORK);
        }
        Order::StraySignal => until_asleep(parent),
        Order::SigintBlocked => {
            // Once the parent sleeps in its wait: the outcome then depends on the mask it
            // sleeps with, not on who ran first.
            until_asleep(parent);
            if kill(parent, Signal::SIGINT).is_err() {
                exit_now(1);
            }
        }
        _ => {}
    }
    if kill(parent, Signal::SIGUSR1).is_err() || write_all(&report, b"S").is_err() {
        exit_now(1);
    }
    if let Some(answer) = pipes.answer {
        // The first look at GOT_USR2 that finds it unset lets the parent send SIGUSR2.
        race::arm(answer.go, answer.done);
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
    if order == Order::TwoRounds {
        // Round 2: the same again, once the parent has had the first answer.
        GOT_USR2.clear();
        if write_all(&report, &answer).is_err()
            || kill(parent, Signal::SIGUSR1).is_err()
            || write_all(&report, b"S").is_err()
            || wait_for(&GOT_USR2, mask).is_err()
        {
            exit_now(1);
        }
        let _ = write_all(stdout_fd(), b"child: received SIGUSR2 again\n");
    }
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

/// The two functions of the step: the student's (or the reference's), or an oracle's.
#[derive(Clone, Copy)]
pub struct Solution {
    /// `install_handlers`: blocks the signals, installs the handler, returns the wait mask.
    pub install_handlers: fn() -> nix::Result<SigSet>,
    /// `wait_for`: sleeps until the flag is set.
    pub wait_for: fn(&SignalFlag, &SigSet) -> nix::Result<()>,
}

/// The child's end of the pipes an order uses besides the report pipe.
struct Pipes {
    /// `--signal-after-check`: the child sends SIGUSR1 once it reads a byte here.
    go: Option<OwnedFd>,
    /// `--other-signal`: the parent's SIGALRM handler writes a byte here once it ran.
    alarm_ack: Option<OwnedFd>,
    /// `--answer-after-check`: the race the child arms on its own look at GOT_USR2.
    answer: Option<Answer>,
}

/// The child's ends of the `--answer-after-check` race (see `signals::flag::race`).
struct Answer {
    go: OwnedFd,
    done: OwnedFd,
}

fn run(order: Order, solution: Solution) -> nix::Result<bool> {
    let Solution {
        install_handlers,
        wait_for,
    } = solution;
    if order == Order::SigintBlocked {
        block_sigint()?;
        println!("parent: SIGINT is blocked before install_handlers; the child sends it first");
    }
    if order == Order::UsrBlocked {
        let mut usr = SigSet::empty();
        usr.add(Signal::SIGUSR1);
        usr.add(Signal::SIGUSR2);
        usr.thread_block()?;
        println!("parent: SIGUSR1 and SIGUSR2 are blocked before install_handlers");
    }
    // --other-signal: the pipe from the parent's SIGALRM handler to the child.
    let alarm = match order {
        Order::OtherSignal => {
            let (ack_read, ack_write) = pipe()?;
            handle_sigalrm(&ack_write)?;
            println!("parent: a SIGALRM reaches the parent while it waits; SIGUSR1 comes after");
            Some((ack_read, ack_write))
        }
        _ => None,
    };
    let mask = install_handlers()?;
    let (report_read, report_write) = pipe()?;
    let (go_read, go_write) = match order {
        Order::SignalAfterCheck => {
            let (r, w) = pipe()?;
            (Some(r), Some(w))
        }
        _ => (None, None),
    };
    // --answer-after-check: the child's look writes to `looked`, the parent answers on
    // `answered` once SIGUSR2 is sent.
    let (looked, answered) = match order {
        Order::AnswerAfterCheck => (Some(pipe()?), Some(pipe()?)),
        _ => (None, None),
    };
    if order == Order::StraySignal {
        println!("parent: a SIGUSR2 reaches the parent first; SIGUSR1 comes once it sleeps again");
    }
    if order == Order::AnswerAfterCheck {
        println!("parent: SIGUSR2 will come right after the child's first look at its flag");
    }
    let parent = getpid();
    // SAFETY: the demo is single-threaded, and the child only calls async-signal-safe
    // functions (read, open, nanosleep, kill, write, sigsuspend or pause, _exit) on memory
    // it owns.
    let child_pid = match unsafe { fork() }? {
        ForkResult::Child => {
            drop(report_read);
            drop(go_write);
            let answer = match (looked, answered) {
                (Some((looked_read, looked_write)), Some((answered_read, answered_write))) => {
                    drop(looked_read);
                    drop(answered_write);
                    Some(Answer {
                        go: looked_write,
                        done: answered_read,
                    })
                }
                _ => None,
            };
            let pipes = Pipes {
                go: go_read,
                alarm_ack: alarm.map(|(ack_read, _)| ack_read),
                answer,
            };
            child(parent, report_write, pipes, &mask, order, wait_for)
        }
        ForkResult::Parent { child } => child,
    };
    drop(report_write);
    drop(go_read);
    let answer = match (looked, answered) {
        (Some((looked_read, _)), Some((_, answered_write))) => Some((looked_read, answered_write)),
        _ => None,
    };
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
        (Order::StraySignal, _) => raise(Signal::SIGUSR2)?,
        _ => {}
    }
    let meter = Meter::start("parent_wait_for");
    wait_for(&GOT_USR1, &mask)?;
    if !GOT_USR1.is_set() {
        return returned_early(child_pid);
    }
    meter.report();
    if order == Order::SigintBlocked && GOT_INT.is_set() {
        return sigint_let_in(child_pid, &mask);
    }
    if matches!(
        order,
        Order::Natural
            | Order::Slow
            | Order::StraySignal
            | Order::SigintBlocked
            | Order::UsrBlocked
            | Order::OtherSignal
            | Order::TwoRounds
    ) && read_full(&report_read, &mut byte)? != 1
    {
        return child_gone(child_pid);
    }
    println!("parent: received SIGUSR1 from the child");
    if order == Order::TwoRounds {
        // Before the answer: the child sends SIGUSR1 again only once it has it.
        GOT_USR1.clear();
    }
    if order == Order::Slow {
        work(SLOW_WORK);
    }
    if let Some((looked, answered)) = &answer {
        // The child has looked at GOT_USR2 and found it unset: answer now, before it
        // sleeps, then let it go on.
        if read_full(looked, &mut byte)? != 1 {
            return child_gone(child_pid);
        }
        kill(child_pid, Signal::SIGUSR2)?;
        write_all(answered, b"d")?;
    } else {
        if matches!(
            order,
            Order::StraySignal | Order::SigintBlocked | Order::OtherSignal
        ) {
            // These orders check the parent's wait: the child's is given no race here (the
            // child's race is `--answer-after-check`'s), so the answer waits until it sleeps.
            until_asleep(child_pid);
        }
        kill(child_pid, Signal::SIGUSR2)?;
    }
    let mut answer = [0u8; 9];
    if read_full(&report_read, &mut answer)? != answer.len() {
        return child_gone(child_pid);
    }
    if order == Order::TwoRounds {
        // The flag was cleared before the first answer went out (below, the child sends
        // SIGUSR1 again only after that answer), so this wait is for the second SIGUSR1.
        println!("parent: second round");
        wait_for(&GOT_USR1, &mask)?;
        if !GOT_USR1.is_set() {
            return returned_early(child_pid);
        }
        if read_full(&report_read, &mut byte)? != 1 {
            return child_gone(child_pid);
        }
        println!("parent: received SIGUSR1 again");
        kill(child_pid, Signal::SIGUSR2)?;
        if read_full(&report_read, &mut answer)? != answer.len() {
            return child_gone(child_pid);
        }
    }
    let micros = u64::from_ne_bytes(answer[1..].try_into().unwrap_or_default());
    CpuReport {
        label: "child_wait_for".to_owned(),
        own: Duration::from_micros(micros),
        // The child measured only its CPU time: getrusage is not async-signal-safe.
        preempted: 0,
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

/// `wait_for(&GOT_USR1)` returned with GOT_USR1 unset: say so, end the child, fail.
fn returned_early(child: Pid) -> nix::Result<bool> {
    kill(child, Signal::SIGKILL)?;
    waitpid(child, None)?;
    let other = if GOT_USR2.is_set() {
        "SIGUSR2's handler ran\n(a signal the parent did not wait for) and sigsuspend returned"
    } else if GOT_ALRM.is_set() {
        "SIGALRM's handler ran\n(a signal the parent did not wait for) and the wait returned"
    } else {
        "no SIGUSR1 had come"
    };
    eprintln!(
        "handshake: wait_for(&GOT_USR1) returned, but GOT_USR1 is not set: {other}.\n\
         sigsuspend returns after *any* handler runs, so wait_for must look at its flag\n\
         again and sleep again until it is set: a loop, not an `if`. Returned before the\n\
         signal."
    );
    Ok(false)
}

/// Under `--sigint-blocked`: SIGINT was delivered although the demo blocked it. Says
/// where it was let in, from the masks, ends the child, fails.
fn sigint_let_in(child: Pid, mask: &SigSet) -> nix::Result<bool> {
    kill(child, Signal::SIGKILL)?;
    waitpid(child, None)?;
    let still_blocked = SigSet::thread_get_mask()?.contains(Signal::SIGINT);
    let where_ = if !still_blocked {
        "install_handlers unblocked it: add SIGUSR1 and SIGUSR2 to the mask\n\
         (SIG_BLOCK) instead of replacing the mask (SIG_SETMASK)"
    } else if !mask.contains(Signal::SIGINT) {
        "the mask install_handlers returned lets it in: return the mask\n\
         the process had, with SIGUSR1 and SIGUSR2 removed, not an empty set"
    } else {
        "wait_for slept with a mask that lets it in: sleep with the mask\n\
         install_handlers returned, which keeps it blocked"
    };
    eprintln!(
        "handshake: SIGINT, which the demo blocked before install_handlers, was delivered\n\
         while the parent waited for SIGUSR1; {where_}. Signals the caller blocked stay\n\
         blocked during the wait. A mask that lets too much in."
    );
    Ok(false)
}

fn child_gone(child: Pid) -> nix::Result<bool> {
    let status = waitpid(child, None)?;
    eprintln!("handshake: the child ended early: it {}", describe(status));
    Ok(false)
}

fn main() -> ExitCode {
    run_demo(
        Solution {
            install_handlers: signals::handshake::install_handlers,
            wait_for: signals::handshake::wait_for,
        },
        std::env::args().skip(1).collect(),
    )
}

/// The demo with `solution`'s functions, on the arguments after the program's name.
pub fn run_demo(solution: Solution, args: Vec<String>) -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let usage = step_usage(SYNOPSIS, "handshake --signal-early", "signals/handshake");
    let args = Args::new("handshake", &usage, args);
    let given = args.remaining();
    let order = match given.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => Order::Natural,
        ["--signal-early"] => Order::SignalEarly,
        ["--signal-after-check"] => Order::SignalAfterCheck,
        ["--answer-after-check"] => Order::AnswerAfterCheck,
        ["--stray-signal"] => Order::StraySignal,
        ["--sigint-blocked"] => Order::SigintBlocked,
        ["--usr-blocked"] => Order::UsrBlocked,
        ["--other-signal"] => Order::OtherSignal,
        ["--two-rounds"] => Order::TwoRounds,
        ["--slow"] => Order::Slow,
        _ => args.fail(&format!("unexpected arguments {given:?}")),
    };
    match run(order, solution) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("handshake: {err}");
            ExitCode::FAILURE
        }
    }
}
