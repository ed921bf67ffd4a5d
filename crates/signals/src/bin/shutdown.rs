//! `shutdown N [--term-at K | --term-twice-at K | --kill-at K | --hangup-at K]`: a parent
//! and its worker (step
//! `signals/shutdown`). The parent starts the worker (this same program, run again with
//! `--worker N`), relays its lines, and lets it do units 1..=N one by one. With
//! `--term-at K` it sends SIGTERM while unit K is in progress (after the worker said the
//! unit started, before the unit can finish); with `--term-twice-at K` it sends it twice,
//! the second once the first has been delivered (a one-shot handler, `SA_RESETHAND`,
//! would let the second kill the worker); with `--kill-at K` it sends SIGKILL, which no
//! handler can catch; with `--hangup-at K` it closes the worker's input during unit K, so
//! that the unit fails (the worker must still remove its file); with
//! `--term-before-start` it sends SIGTERM once the worker has installed its handler and
//! before `run_worker` starts (no unit may start then). At the end it reaps the worker, says how it ended, and checks that
//! the worker's temporary file is gone (if not, it says so and removes it).

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, pipe2};
use proctest::args::{Args, parse_count, step_usage};
use signals::shutdown::{describe, install_handler, run_worker};
use signals::sys::{exit_now, write_all};
use signals::work::{Work, temp_path};
use std::ffi::{CString, c_char};
use std::io::{BufRead, BufReader};
use std::process::ExitCode;

const UNITS: std::ops::RangeInclusive<u32> = 1..=100;

/// The demo's command line (see [`proctest::args::Args`]).
fn args() -> Args {
    let synopsis = format!(
        "shutdown N [--term-at K | --term-twice-at K | --kill-at K | --hangup-at K
                  | --term-before-start]
       (N: units of work, {}..={}; K: the unit during which the signal is sent,
       or the input closed, 1..=N)",
        UNITS.start(),
        UNITS.end()
    );
    Args::from_env(
        "shutdown",
        &step_usage(&synopsis, "shutdown 4 --term-at 2", "signals/shutdown"),
    )
}

fn parse_units(arg: Option<&String>) -> Result<u32, String> {
    parse_count(arg.map(String::as_str), "units", UNITS)
}

/// What the parent does during unit K: send a signal, or close the worker's input (`None`),
/// and whether it sends the signal twice.
type Event = (Option<Signal>, u32, bool);

fn parse(args: &[String]) -> Result<(u32, Option<Event>), String> {
    let units = parse_units(args.first())?;
    let signal = match &args[1..] {
        [] => None,
        [flag, k]
            if ["--term-at", "--term-twice-at", "--kill-at", "--hangup-at"]
                .contains(&flag.as_str()) =>
        {
            let k = match k.parse::<u32>() {
                Ok(k) if (1..=units).contains(&k) => k,
                _ => return Err(format!("{flag} {k}: K must be between 1 and {units}")),
            };
            let signal = match flag.as_str() {
                "--term-at" | "--term-twice-at" => Some(Signal::SIGTERM),
                "--kill-at" => Some(Signal::SIGKILL),
                _ => None,
            };
            Some((signal, k, flag == "--term-twice-at"))
        }
        [flag] if flag == "--term-before-start" => Some((Some(Signal::SIGTERM), 0, false)),
        other => return Err(format!("unexpected arguments {other:?}")),
    };
    Ok((units, signal))
}

/// Waits until `signal`, sent to `pid`, is no longer pending (it has been delivered: its
/// handler ran, or its action was taken). Standard signals do not queue: a second one sent
/// while the first is pending would merge with it. False if the process is gone, or keeps
/// the signal blocked (a worker that blocks SIGTERM during a unit).
fn delivered(pid: nix::unistd::Pid, signal: Signal) -> bool {
    let bit = 1u64 << (signal as i32 - 1);
    let pending = |text: &str, key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            .is_some_and(|mask| mask & bit != 0)
    };
    // The worker is blocked (waiting for its go-ahead) or about to be: delivery takes a
    // few microseconds; this many yields are far more than enough.
    for _ in 0..20_000 {
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            return false;
        };
        if !pending(&status, "SigPnd:") && !pending(&status, "ShdPnd:") {
            return true;
        }
        std::thread::yield_now();
    }
    false
}

/// What the worker says under `--term-before-start` once its handler is installed; it
/// then waits for one byte before it calls `run_worker`.
const READY: &str = "worker: handler installed, waiting to start\n";

/// The worker's side, after `exec`: install the handler, work, exit 0. With `wait_first`
/// (`--term-before-start`), it says [`READY`] and waits for one byte on its input between
/// the two, so that SIGTERM is surely handled before the first unit.
fn worker(units: u32, wait_first: bool) -> ExitCode {
    if let Err(err) = install_handler() {
        eprintln!("worker: cannot install the SIGTERM handler: {err}");
        return ExitCode::FAILURE;
    }
    if wait_first {
        use std::io::{Read, Write};
        print!("{READY}");
        let mut go = [0u8; 1];
        if std::io::stdout().flush().is_err() || std::io::stdin().read_exact(&mut go).is_err() {
            eprintln!("worker: the parent went away before the first unit");
            return ExitCode::FAILURE;
        }
    }
    match run_worker(units, &mut Work::from_stdin()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("worker: {err}");
            ExitCode::FAILURE
        }
    }
}

fn parent(units: u32, event: Option<Event>) -> nix::Result<bool> {
    // Everything the child needs to exec is prepared before the fork.
    let before_start = event.is_some_and(|(_, at, _)| at == 0);
    let words: Vec<CString> = [
        "shutdown".to_owned(),
        "--worker".to_owned(),
        units.to_string(),
    ]
    .into_iter()
    .chain(before_start.then(|| "--wait-first".to_owned()))
    .map(|w| CString::new(w).map_err(|_| Errno::EINVAL))
    .collect::<nix::Result<_>>()?;
    let mut argv: Vec<*const c_char> = words.iter().map(|w| w.as_ptr()).collect();
    argv.push(std::ptr::null());
    let exe = c"/proc/self/exe";
    // Close-on-exec: after exec the worker keeps only the ends dup'ed onto 0 and 1.
    let (jobs_read, jobs_write) = pipe2(OFlag::O_CLOEXEC)?;
    let (lines_read, lines_write) = pipe2(OFlag::O_CLOEXEC)?;
    // SAFETY: the demo is single-threaded, and the child only calls async-signal-safe
    // functions (dup2, execv, write, _exit) before exec replaces it.
    let child = match unsafe { fork() }? {
        ForkResult::Child => {
            if nix::unistd::dup2_stdin(&jobs_read).is_err()
                || nix::unistd::dup2_stdout(&lines_write).is_err()
            {
                exit_now(126);
            }
            // SAFETY: `argv` is a NULL-terminated array of pointers into `words`, which
            // live until exec replaces the process.
            unsafe { libc::execv(exe.as_ptr(), argv.as_ptr()) };
            // Standard error is still the demo's: say what failed, in one write.
            // SAFETY: descriptor 2 stays open for the life of the process.
            let stderr = unsafe { std::os::fd::BorrowedFd::borrow_raw(libc::STDERR_FILENO) };
            let _ = write_all(
                stderr,
                b"shutdown: cannot exec /proc/self/exe for the worker\n",
            );
            exit_now(127)
        }
        ForkResult::Parent { child } => child,
    };
    drop(jobs_read);
    drop(lines_write);
    let mut jobs_write = Some(jobs_write);
    let mut lines = BufReader::new(std::fs::File::from(lines_read));
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        print!("{line}");
        if before_start && line == READY {
            println!("parent: sending SIGTERM to the worker before its first unit");
            kill(child, Signal::SIGTERM)?;
            // Handled before the worker goes on: the go-ahead waits for the delivery.
            delivered(child, Signal::SIGTERM);
            if let Some(jobs) = &jobs_write {
                let _ = write_all(jobs, b"s");
            }
            continue;
        }
        let started = line
            .strip_prefix("worker: unit ")
            .and_then(|rest| rest.strip_suffix(" started\n"))
            .and_then(|k| k.parse::<u32>().ok());
        if let Some(unit) = started {
            match event.filter(|&(_, at, _)| at == unit) {
                Some((Some(signal), at, twice)) => {
                    println!(
                        "parent: sending {} to the worker in the middle of unit {at}",
                        signal.as_str()
                    );
                    kill(child, signal)?;
                    if twice && delivered(child, signal) {
                        println!("parent: sending {} again", signal.as_str());
                        kill(child, signal)?;
                    }
                }
                Some((None, at, _)) => {
                    println!("parent: closing the worker's input in the middle of unit {at}");
                    jobs_write = None;
                }
                None => {}
            }
            // The go-ahead for this unit. EPIPE if the worker is already gone: fine.
            if let Some(jobs) = &jobs_write {
                let _ = write_all(jobs, b"g");
            }
        }
    }
    drop(jobs_write);
    let status = loop {
        match waitpid(child, None) {
            Err(Errno::EINTR) => continue,
            other => break other?,
        }
    };
    println!("parent: the worker {}", describe(status));
    let path = temp_path(child);
    let left = path.exists();
    if left {
        println!("parent: the worker left its temporary file behind; the parent removes it");
        let _ = std::fs::remove_file(&path);
    } else {
        println!("parent: the temporary file is gone");
    }
    Ok(!left && status == WaitStatus::Exited(child, 0))
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = args();
    if args.flag("--worker") {
        let units = args.positional();
        let wait_first = args.flag("--wait-first");
        return match parse_units(units.as_ref()) {
            Ok(units) if args.leftover().is_none() => worker(units, wait_first),
            _ => args.fail("--worker N is for the demo's own use"),
        };
    }
    let (units, event) = parse(args.remaining()).unwrap_or_else(|problem| args.fail(&problem));
    match parent(units, event) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("shutdown: {err}");
            ExitCode::FAILURE
        }
    }
}
