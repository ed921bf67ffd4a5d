//! `reap N [--fail K] [--kill K] [--slow K] [--interrupt] [--bystander]`: forks N
//! temperature children,
//! waits for all of them with the student's `wait_all` (step `fork/reap`), reports how
//! each one ended, and only then prints `Spawned N processes from PID`. With `--fail K`,
//! child K (from 1) exits with status 3 after its line; with `--kill K`, child K kills
//! itself with SIGKILL instead of writing anything. With `--slow K`, child K first
//! computes for 0.2 s of CPU time, then ends only once every other child has ended (it
//! reads a pipe they hold until end of file), so it is the last to end whatever the
//! scheduler does. With `--interrupt`, the parent handles SIGUSR1 (without SA_RESTART) and
//! the slow child sends it one while the parent waits: `waitpid` then fails with EINTR.
//! With `--bystander`, the parent first forks one more child that exits at once and is not
//! in the list given to `wait_all`: afterwards it must still be there to be waited for. It
//! is forked before the N children and has ended before they are forked, so a `wait()` for
//! any child takes its status first in every run (Linux looks at a parent's children in
//! the order they were forked). With `--stopped K`, child K
//! stops itself with SIGSTOP once every other child has ended (it reads the same pipe as
//! a slow child), and writes its line and exits only when someone sends it SIGCONT (the
//! test does, once the parent waits; by hand, `kill -CONT PID`): a stopped child has not
//! ended, so `wait_all` must go on waiting for it. With `--reaped K`, the demo
//! itself waits for child K before calling `wait_all`, so that pid is no longer a child to
//! wait for: `wait_all` must fail with ECHILD (the demo then waits for the other children
//! itself, so that none is left a zombie, and exits with 1).
//! Before exiting, the demo checks that `wait_all` returned one final status per child in
//! the order of the pids, that it has no child left (running or zombie) and no descriptor
//! open beyond 0, 1 and 2; it reports any problem and exits with 1. Under the tests'
//! watchdog it also reports the CPU time the parent used inside `wait_all`.

use fork::sys::{Audit, Line, describe, exit_now, read_full, stdout_fd, write_all};
use fork::{celsius, cli, fahrenheit_values, reap};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, kill, sigaction};
use nix::sys::wait::WaitStatus;
use nix::unistd::{ForkResult, Pid, fork, getpid, getppid, pipe};
use proctest::cpu::{Meter, work};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::ExitCode;
use std::sync::atomic::{AtomicI32, Ordering};

/// The options after N, on two lines to fit in 100 columns (the second indented under
/// the first).
const OPTIONS: &str = " [--fail K] [--kill K] [--slow K] [--stopped K] [--interrupt]
              [--bystander] [--reaped K]";

/// The CPU work of the slow child: what the parent waits for.
const SLOW_WORK: std::time::Duration = fork::trial::SLOW_WORK;

/// What child K does instead of exiting with status 0 at once.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fate {
    Succeed,
    Fail,
    Killed,
    Slow,
    /// Stops itself once the others have ended; ends once continued.
    Stopped,
}

/// The command line: how many children, the fate of each, and `--interrupt`.
struct Options {
    count: usize,
    fates: Vec<Fate>,
    interrupt: bool,
    bystander: bool,
    /// The child (from 0) the demo waits for itself before `wait_all`.
    reaped: Option<usize>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let count = cli::parse_count(args.first().map(String::as_str))?;
    let mut fates = vec![Fate::Succeed; count];
    let mut interrupt = false;
    let mut bystander = false;
    let mut reaped = None;
    let mut rest = args[1..].iter();
    while let Some(flag) = rest.next() {
        let fate = match flag.as_str() {
            "--fail" => Some(Fate::Fail),
            "--kill" => Some(Fate::Killed),
            "--slow" => Some(Fate::Slow),
            "--stopped" => Some(Fate::Stopped),
            "--interrupt" => {
                interrupt = true;
                continue;
            }
            "--bystander" => {
                bystander = true;
                continue;
            }
            "--reaped" => None,
            other => return Err(format!("unknown option {other:?}")),
        };
        let which = rest
            .next()
            .ok_or_else(|| format!("{flag} needs the number of a child, 1..={count}"))?;
        match which.parse::<usize>() {
            Ok(k) if (1..=count).contains(&k) => match fate {
                Some(fate) => fates[k - 1] = fate,
                None => reaped = Some(k - 1),
            },
            _ => {
                return Err(format!(
                    "{flag} {which}: the child must be between 1 and {count}"
                ));
            }
        }
    }
    if interrupt && !fates.contains(&Fate::Slow) {
        return Err("--interrupt needs a slow child (--slow K) to send the signal".to_owned());
    }
    Ok(Options {
        count,
        fates,
        interrupt,
        bystander,
        reaped,
    })
}

/// The write end of the pipe on which the parent's SIGUSR1 handler tells the slow child
/// that the signal has arrived, -1 outside `--interrupt`.
static ACK: AtomicI32 = AtomicI32::new(-1);

/// The parent's SIGUSR1 handler under `--interrupt`: its running makes the `waitpid` it
/// interrupted fail with EINTR. It tells the slow child so with one byte on a pipe, so
/// that the child ends only after the interruption: otherwise the parent could find the
/// child already gone and the signal merely pending, and `waitpid` would just return.
extern "C" fn on_sigusr1(_: libc::c_int) {
    let fd = ACK.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write() is async-signal-safe; `fd` is the pipe's write end, open until
        // the parent has stopped waiting, and the buffer is a static byte.
        unsafe { libc::write(fd, b"!".as_ptr().cast(), 1) };
    }
}

/// Forks one child per value; the child writes its line in one write(2), then leaves with
/// `_exit` (how to write such a child is step `fork/spawn`). A slow child first computes,
/// sends SIGUSR1 to the parent under `--interrupt`, then waits until every other child has
/// ended: they hold the write end of a pipe it reads until end of file. A stopped child
/// waits for them the same way, then stops itself until someone sends it SIGCONT.
fn spawn(values: &[f64], fates: &[Fate], interrupt: Option<&OwnedFd>) -> nix::Result<Vec<Pid>> {
    let (others_read, others_write) = pipe()?;
    let mut pids = Vec::with_capacity(values.len());
    for (&fahrenheit, &fate) in values.iter().zip(fates) {
        let text = format!("{fahrenheit:.6} F is {:.6} C (pid ", celsius(fahrenheit));
        let line = Line::new().text(text.as_bytes());
        // SAFETY: the child only calls async-signal-safe functions (getpid, getppid, write,
        // read, close, kill, clock_gettime, _exit) on memory it owns, then exits.
        match unsafe { fork() }? {
            ForkResult::Parent { child } => pids.push(child),
            ForkResult::Child => {
                if fate == Fate::Killed {
                    let _ = kill(getpid(), Signal::SIGKILL);
                }
                if fate == Fate::Slow || fate == Fate::Stopped {
                    if fate == Fate::Slow {
                        work(SLOW_WORK);
                    }
                    if let (Fate::Slow, Some(ack)) = (fate, interrupt) {
                        // Wait until the parent's handler has run: its waitpid has then
                        // been interrupted while this child was still alive.
                        let mut byte = [0u8; 1];
                        if kill(getppid(), Signal::SIGUSR1).is_ok() {
                            let _ = read_full(ack, &mut byte);
                        }
                    }
                    // SAFETY: close() is async-signal-safe; this child leaves with _exit,
                    // so the OwnedFd is never dropped and the descriptor never closed twice.
                    unsafe { libc::close(others_write.as_raw_fd()) };
                    let mut byte = [0u8; 1];
                    let _ = read_full(&others_read, &mut byte);
                }
                if fate == Fate::Stopped {
                    // Stopped, not ended: the parent's wait must go on until SIGCONT comes
                    // and this child exits.
                    let _ = kill(getpid(), Signal::SIGSTOP);
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

/// What is wrong with the statuses `wait_all` returned for `pids`, one sentence each:
/// one final status per child, in the order of the pids.
/// A status as the student's code wrote it, without nix's `Pid(..)` wrapper.
fn shown(status: WaitStatus) -> String {
    match status {
        WaitStatus::Stopped(pid, signal) => {
            format!("WaitStatus::Stopped({pid}, {})", signal.as_str())
        }
        WaitStatus::Continued(pid) => format!("WaitStatus::Continued({pid})"),
        WaitStatus::StillAlive => "WaitStatus::StillAlive".to_owned(),
        other => format!("WaitStatus::{other:?}"),
    }
}

fn check_statuses(pids: &[Pid], statuses: &[(Pid, WaitStatus)]) -> Vec<String> {
    let mut problems = Vec::new();
    let child = |pid: Pid| {
        pids.iter()
            .position(|&p| p == pid)
            .map_or_else(|| format!("pid {pid}"), |i| format!("child {}", i + 1))
    };
    for &(pid, status) in statuses {
        if let WaitStatus::Stopped(..) | WaitStatus::Continued(..) = status {
            let event = if matches!(status, WaitStatus::Stopped(..)) {
                "stopped"
            } else {
                "continued"
            };
            problems.push(format!(
                "wait_all returned {} as {event} ({}), not a final status: that child was \
                 {event}, it had not ended, and wait_all reported it instead of waiting for \
                 it until it ended, so it was never reaped. WUNTRACED and WCONTINUED make \
                 waitpid also report a child that stops or continues; without them, \
                 waitpid(pid, None) returns only once the child has exited or was killed",
                child(pid),
                shown(status)
            ));
        } else if !matches!(status, WaitStatus::Exited(..) | WaitStatus::Signaled(..)) {
            problems.push(format!(
                "wait_all returned {} {}, not a final status: it did not wait until \
                 that child had ended (waitpid with WNOHANG does not wait)",
                child(pid),
                shown(status)
            ));
        }
    }
    if statuses.len() != pids.len() {
        problems.push(format!(
            "wait_all returned {} statuses for {} children: one per child, each waited for \
             exactly once",
            statuses.len(),
            pids.len()
        ));
    } else if let Some(i) = (0..pids.len()).find(|&i| statuses[i].0 != pids[i]) {
        problems.push(format!(
            "wait_all returned the statuses in another order than the pids it was given: \
             place {} holds {}'s status, not child {}'s. Return them in the order given, \
             whatever order the children end in",
            i + 1,
            child(statuses[i].0),
            i + 1
        ));
    }
    problems
}

/// Forks a child that exits at once, and returns once it is a zombie (waited for with
/// `WNOWAIT`, so that its status stays to be collected).
fn spawn_bystander() -> nix::Result<Pid> {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    // SAFETY: the demo is single-threaded here; the child only calls _exit.
    let pid = match unsafe { fork() }? {
        ForkResult::Child => exit_now(0),
        ForkResult::Parent { child } => child,
    };
    loop {
        match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => return other.map(|_| pid),
        }
    }
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let audit = Audit::start();
    let args = cli::args("reap", OPTIONS, "fork/reap");
    let Options {
        count,
        fates,
        interrupt,
        bystander,
        reaped,
    } = parse(args.remaining()).unwrap_or_else(|problem| args.fail(&problem));
    // Under --interrupt: a pipe from the parent's handler to the slow child.
    let ack = if interrupt {
        let (ack_read, ack_write) = match pipe() {
            Ok(ends) => ends,
            Err(err) => {
                eprintln!("reap: pipe failed: {err}");
                return ExitCode::FAILURE;
            }
        };
        ACK.store(ack_write.as_raw_fd(), Ordering::SeqCst);
        // No SA_RESTART: the handler interrupts the parent's waitpid, which fails with EINTR.
        let action = SigAction::new(
            SigHandler::Handler(on_sigusr1),
            SaFlags::empty(),
            SigSet::empty(),
        );
        // SAFETY: the handler only loads an atomic and calls write(), async-signal-safe.
        if let Err(err) = unsafe { sigaction(Signal::SIGUSR1, &action) } {
            eprintln!("reap: cannot handle SIGUSR1: {err}");
            return ExitCode::FAILURE;
        }
        Some((ack_read, ack_write))
    } else {
        None
    };
    // Before the children: the first of the demo's children, already ended when they start.
    let bystander = if bystander {
        match spawn_bystander() {
            Ok(pid) => Some(pid),
            Err(err) => {
                eprintln!("reap: fork failed: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let pids = match spawn(
        &fahrenheit_values(count),
        &fates,
        ack.as_ref().map(|(read_end, _)| read_end),
    ) {
        Ok(pids) => pids,
        Err(err) => {
            eprintln!("reap: fork failed: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(k) = reaped {
        // The demo takes this child's status itself, as another part of a program could.
        let status = loop {
            match nix::sys::wait::waitpid(pids[k], None) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other,
            }
        };
        match status {
            Ok(status) => println!(
                "child {} (pid {}): {}, waited for by the demo before wait_all",
                k + 1,
                pids[k],
                describe(&status)
            ),
            Err(err) => {
                eprintln!("reap: waitpid for child {} failed: {err}", k + 1);
                return ExitCode::FAILURE;
            }
        }
    }
    let mut ok = true;
    let meter = Meter::start("wait_all");
    let waited = reap::wait_all(&pids);
    meter.report();
    // The handler's pipe is no longer needed (and would count as left open).
    ACK.store(-1, Ordering::SeqCst);
    drop(ack);
    match waited {
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
            for problem in check_statuses(&pids, &statuses) {
                ok = false;
                eprintln!("reap: {problem}");
            }
        }
        Err(err) => {
            ok = false;
            eprintln!("reap: wait_all failed: {err}");
            if reaped.is_some() {
                // The error expected: wait for the children wait_all did not get to.
                for &pid in &pids {
                    while nix::sys::wait::waitpid(pid, None) == Err(nix::errno::Errno::EINTR) {}
                }
            }
        }
    }
    if let Some(pid) = bystander {
        match nix::sys::wait::waitpid(pid, None) {
            Ok(_) => println!("bystander (pid {pid}): still there to be waited for"),
            Err(err) => {
                ok = false;
                eprintln!(
                    "reap: the bystander (pid {pid}), a child not in wait_all's list that had \
                     exited before wait_all was called, was already reaped: waitpid for it \
                     afterwards gave {err}"
                );
            }
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
