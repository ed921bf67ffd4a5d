//! Demo of `ipc/process_queue`: a worker process puts ITEMS values into a queue, the master
//! process gets them, checks that every one arrived whole and in order, then waits for the
//! worker (`drain_then_wait`).
//!
//! The worker is this program run again as `process_queue --worker ITEMS SIZE`; the queue's
//! pipe is its standard output (the notes' `dup2(fd, 1)`: a pipe is redirection). It puts
//! its values and returns from `main` at once: whatever its feeder has not written by then
//! is lost, unless dropping the `Sender` waits for it. With `--put-first` the worker also
//! says on its standard error when its last `put` returned, and the master reads nothing
//! from the queue before that line: a `put` that blocks on the pipe never says it. With
//! `--slow` the worker computes for 0.2 s of CPU before its first put; under the tests'
//! watchdog the master reports the CPU it used inside `drain_then_wait` meanwhile.
//!
//! Usage: `process_queue [--put-first | --slow] [ITEMS [SIZE]]` (ITEMS from 1 to 100000,
//! default 1000; SIZE, the bytes of each value's payload, from 0 to 65536, default 16).

use ipc::process_queue::{GetError, Receiver, Sender, drain_then_wait};
use ipc::sys::{open_fds, step_usage};
use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use proctest::args::{Args, number_in};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, ExitCode, Stdio};

const PROGRAM: &str = "process_queue";

/// One value of the queue.
#[derive(Debug, Serialize, Deserialize)]
struct Item {
    seq: u32,
    payload: Vec<u8>,
}

fn payload(seq: u32, size: usize) -> Vec<u8> {
    (0..size).map(|i| (seq as usize * 31 + i) as u8).collect()
}

fn usage() -> String {
    step_usage(
        "process_queue [--put-first | --slow] [ITEMS [SIZE]]
       ITEMS: values the worker puts, 1 to 100000 (default 1000);
       SIZE: bytes of each value's payload, 0 to 65536 (default 16)",
        "process_queue 200 8192",
        "ipc/process_queue",
    )
}

/// The CPU work the worker does before its first put, under `--slow`.
const SLOW_WORK: std::time::Duration = std::time::Duration::from_millis(200);

/// The worker: put every value, then return (the Sender is dropped on the way out). With
/// `slow`, it first computes for [`SLOW_WORK`] of CPU, which the master waits for.
fn worker(items: u32, size: usize, notify: bool, slow: bool) -> ExitCode {
    ipc::sys::die_with_parent();
    if slow {
        proctest::cpu::work(SLOW_WORK);
    }
    // SAFETY: the worker's standard output is the queue's pipe, and nothing in this process
    // writes to standard output through std: the Sender is its only owner from here on.
    let pipe = unsafe { OwnedFd::from_raw_fd(libc::STDOUT_FILENO) };
    let queue = Sender::<Item>::from_fd(pipe);
    for seq in 0..items {
        if let Err(e) = queue.put(&Item {
            seq,
            payload: payload(seq, size),
        }) {
            eprintln!("worker: put of value {seq} failed: {e:?}");
            return ExitCode::FAILURE;
        }
    }
    if notify {
        eprintln!("worker: all {items} puts returned");
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = Args::from_env(PROGRAM, &usage());
    if args.flag("--worker") {
        let notify = args.flag("--notify");
        let slow = args.flag("--slow");
        let (Some(items), Some(size)) = (args.positional(), args.positional()) else {
            args.fail("--worker takes ITEMS and SIZE")
        };
        let items = number_in("ITEMS", &items, &(1..=100_000)).unwrap_or_else(|p| args.fail(&p));
        let size = number_in("SIZE", &size, &(0..=65_536)).unwrap_or_else(|p| args.fail(&p));
        args.finish();
        return worker(items, size, notify, slow);
    }
    let put_first = args.flag("--put-first");
    let slow = args.flag("--slow");
    if put_first && slow {
        args.fail("--put-first and --slow do not go together");
    }
    let items = args.positional();
    let size = args.positional();
    if args.leftover().is_some() {
        args.fail("too many arguments");
    }
    let items: u32 = items
        .map_or(Ok(1000), |v| number_in("ITEMS", &v, &(1..=100_000)))
        .unwrap_or_else(|p| args.fail(&p));
    let size: usize = size
        .map_or(Ok(16), |v| number_in("SIZE", &v, &(0..=65_536)))
        .unwrap_or_else(|p| args.fail(&p));
    let start = open_fds();
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let mut queue = Receiver::<Item>::from_fd(read_end);
    let spawned = {
        // The Command holds the write end until it is dropped at the end of this block:
        // after that, only the worker holds it, and the end of the queue can be seen.
        let exe = std::env::current_exe().expect("my own program");
        let mut command = Command::new(exe);
        command
            .args(["--worker", &items.to_string(), &size.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::from(write_end));
        if put_first {
            command.arg("--notify").stderr(Stdio::piped());
        }
        if slow {
            command.arg("--slow");
        }
        command.spawn()
    };
    let mut worker = match spawned {
        Ok(worker) => worker,
        Err(e) => {
            eprintln!("{PROGRAM}: cannot start the worker: {e}");
            return ExitCode::FAILURE;
        }
    };
    if put_first {
        // Nothing is read from the queue before the worker says its puts all returned.
        let stderr = worker.stderr.take().expect("piped");
        let mut line = String::new();
        let _ = BufReader::new(stderr).read_line(&mut line);
        print!("master: the worker said: {line}");
    }
    let mut ok = true;
    // Under the tests' watchdog: the CPU the master used while it waited for the values.
    let meter = proctest::cpu::Meter::start("drain_then_wait");
    let drained = drain_then_wait(&mut queue, worker);
    meter.report();
    match drained {
        Ok((values, status)) => {
            let arrived = values.len();
            match values
                .iter()
                .enumerate()
                .find(|(i, v)| v.seq as usize != *i || v.payload != payload(v.seq, size))
            {
                Some((i, v)) => {
                    ok = false;
                    eprintln!(
                        "{PROGRAM}: value number {i} is value {} ({} bytes): values came out \
                         changed, out of order or twice",
                        v.seq,
                        v.payload.len()
                    );
                }
                None if arrived < items as usize => {
                    ok = false;
                    println!("master: {arrived} of {items} values arrived before the queue closed");
                    eprintln!(
                        "{PROGRAM}: {} of the worker's {items} values were lost: the worker \
                         exited while its feeder thread still had them to write",
                        items as usize - arrived
                    );
                }
                None => {
                    println!("master: {items} values of {size} bytes arrived, whole and in order")
                }
            }
            println!("master: the worker {}", describe(&status));
            ok &= status.success();
        }
        Err((e, status)) => {
            ok = false;
            println!(
                "master: the queue failed: {e:?}; the worker {}",
                describe(&status)
            );
            if matches!(e, GetError::Corrupt(_)) && status.success() {
                eprintln!(
                    "{PROGRAM}: the queue ended in the middle of a value, yet the worker exited \
                     normally: it exited while its feeder thread was still writing, and the \
                     values not yet written were lost. Dropping a Sender must wait for its \
                     feeder (join it)"
                );
            }
        }
    }
    drop(queue);
    let leaked: Vec<String> = open_fds()
        .iter()
        .filter(|fd| !start.contains(fd))
        .map(ToString::to_string)
        .collect();
    if leaked.is_empty() {
        println!("master: descriptors: the same as at the start");
    } else {
        ok = false;
        println!("master: descriptors left open: {}", leaked.join(", "));
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
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended".to_owned(),
    }
}
