//! Demo of `ipc/timeouts`: a master hands a number to three worker processes and gathers
//! their answers with one deadline; worker 1 never answers, so the master gives up on it.
//!
//! Each worker is this program run again as `master --worker N`: it reads its standard
//! input to the end, then writes `N squared is N*N` to its standard output (a pipe to the
//! master) and exits. Workers 0 and 2 get `/dev/null` as input and answer at once. Worker
//! 1's input is a pipe whose write end the master keeps and never writes to: it waits
//! forever, as a worker stuck on a lost request would. Nobody sleeps: the silent worker is
//! silent because of a pipe, not because of a clock.
//!
//! Usage: `master [TIMEOUT_MS]` (0 to 60000, default 1000); `master --compare` measures the
//! three ways to wait (for the chapter's table).

use ipc::sys::{open_fds, step_usage};
use ipc::timeouts::{Outcome, Worker, gather, read_timeout};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::time::{ClockId, clock_gettime};
use nix::unistd::pipe2;
use proctest::args::{Args, number_in};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const PROGRAM: &str = "master";
const WORKERS: usize = 3;
const SILENT: usize = 1;

fn usage() -> String {
    step_usage(
        "master [TIMEOUT_MS]   (how long the master waits for the answers, 0 to 60000, default 1000)",
        "master 500",
        "ipc/timeouts",
    )
}

/// The worker: read the input to its end, answer, exit. With `partial` (`--partial`, for
/// the tests), it writes the first words of its answer first: a worker cut off in the
/// middle of its answer.
fn worker(n: u64, partial: bool) -> ExitCode {
    ipc::sys::die_with_parent();
    let mut out = std::io::stdout();
    if partial {
        let _ = write!(out, "{n} squ");
        let _ = out.flush();
    }
    let mut input = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut input);
    let answer = format!("{n} squared is {}", n * n);
    let _ = write!(
        out,
        "{}",
        if partial {
            &answer[format!("{n} squ").len()..]
        } else {
            &answer
        }
    );
    let _ = out.flush();
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = Args::from_env(PROGRAM, &usage());
    if let Some(n) = args.number("--worker", "N", 0..=1_000_000u64) {
        let partial = args.flag("--partial");
        args.finish();
        return worker(n, partial);
    }
    if args.flag("--compare") {
        args.finish();
        return compare();
    }
    let timeout_ms = match args.positional() {
        None => 1000,
        Some(ms) => {
            number_in("TIMEOUT_MS", &ms, &(0..=60_000u64)).unwrap_or_else(|p| args.fail(&p))
        }
    };
    if args.leftover().is_some() {
        args.fail("too many arguments");
    }
    let start = open_fds();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("{PROGRAM}: cannot find my own program: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The gate: the silent worker reads its read end; the master keeps the write end (and
    // never writes), so that worker waits as long as the master lets it live.
    let (gate_out, gate_in) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let mut gate_out = Some(gate_out);
    let mut workers = Vec::new();
    for n in 0..WORKERS {
        let input = if n == SILENT {
            Stdio::from(gate_out.take().expect("one silent worker"))
        } else {
            Stdio::null()
        };
        let spawned = Command::new(&exe)
            .args(["--worker", &(n * 2 + 7).to_string()])
            .stdin(input)
            .stdout(Stdio::piped())
            .spawn();
        match spawned {
            Ok(mut process) => {
                let answer = OwnedFd::from(process.stdout.take().expect("piped"));
                workers.push(Worker {
                    name: format!("worker {n}"),
                    answer,
                    process,
                });
            }
            Err(e) => {
                eprintln!("{PROGRAM}: cannot start worker {n}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let reports = gather(workers, Duration::from_millis(timeout_ms));
    drop(gate_in);
    let mut ok = reports.len() == WORKERS;
    for report in &reports {
        let how = describe(&report.status);
        match &report.outcome {
            Outcome::Answered(text) => println!("{}: answered {text:?} ({how})", report.name),
            Outcome::GaveUp => {
                println!(
                    "{}: no answer within {timeout_ms} ms: given up ({how})",
                    report.name
                );
            }
            Outcome::Failed(e) => {
                ok = false;
                println!("{}: reading its answer failed: {e} ({how})", report.name);
            }
        }
    }
    let leftover = ipc::sys::unreaped_children();
    if leftover.is_empty() {
        println!("every worker reaped");
    } else {
        ok = false;
        println!("workers never waited for: pids {leftover:?}");
    }
    let now = open_fds();
    let leaked: Vec<String> = now
        .iter()
        .filter(|fd| !start.contains(fd))
        .map(ToString::to_string)
        .collect();
    if leaked.is_empty() {
        println!("descriptors: the same as at the start");
    } else {
        ok = false;
        println!("descriptors left open: {}", leaked.join(", "));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn describe(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(9)) => "killed by SIGKILL".to_owned(),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "ended".to_owned(),
    }
}

fn cpu_now() -> Duration {
    clock_gettime(ClockId::CLOCK_PROCESS_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

/// The chapter's table: three ways to wait 300 ms for a pipe that stays silent.
fn compare() -> ExitCode {
    let wait = Duration::from_millis(300);
    let (out, inp) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let mut buf = [0u8; 64];
    println!("| way to wait 300 ms for a silent pipe | returned after | CPU time used |");
    println!("|---|---:|---:|");

    let (t0, c0) = (Instant::now(), cpu_now());
    let result = read_timeout(out.as_fd(), &mut buf, wait);
    println!(
        "| `read_timeout` (poll with the time left), {result:?} | {} ms | {} ms |",
        t0.elapsed().as_millis(),
        (cpu_now() - c0).as_millis()
    );

    let flags = OFlag::from_bits_retain(fcntl(&out, FcntlArg::F_GETFL).expect("F_GETFL"));
    fcntl(&out, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK)).expect("F_SETFL");
    let (t0, c0) = (Instant::now(), cpu_now());
    let mut tries = 0u64;
    while t0.elapsed() < wait {
        tries += 1;
        if nix::unistd::read(&out, &mut buf).is_ok() {
            break;
        }
    }
    println!(
        "| non-blocking `read` in a loop ({tries} tries) | {} ms | {} ms |",
        t0.elapsed().as_millis(),
        (cpu_now() - c0).as_millis()
    );
    println!("| blocking `read` | never (nobody writes) | 0 ms |");
    drop(inp);
    ExitCode::SUCCESS
}
