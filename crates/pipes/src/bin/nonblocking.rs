//! Demo of `pipes/nonblocking`: a non-blocking read on an empty pipe, `poll`, then data.
//!
//! `nonblocking` takes no argument. The parent reads a pipe that a child will write to;
//! the child writes only when the parent tells it to, through a second pipe, after the
//! parent's first read came back with EAGAIN. So the trace is the same on every run:
//! 1. read() on the empty pipe: would block (EAGAIN)
//! 2. poll(): readable
//! 3. read(): the child's message
//! 4. once the child has exited, read(): end of file.

use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, fork, pipe, read};
use pipes::nonblocking::{ReadNow, read_now, set_nonblocking, wait_readable};
use pipes::sys::{Audit, exit_now, write_all};
use proctest::args::Args;
use std::os::fd::AsFd;

const USAGE: &str = "nonblocking   (no argument)\nthen run `just check pipes/nonblocking`";
const MESSAGE: &[u8] = b"hello after EAGAIN";

fn describe(outcome: nix::Result<ReadNow>, buf: &[u8]) -> String {
    match outcome {
        Ok(ReadNow::WouldBlock) => "would block (EAGAIN): the pipe is empty".to_owned(),
        Ok(ReadNow::Data(n)) => format!(
            "{n} bytes: {:?}",
            String::from_utf8_lossy(&buf[..n.min(buf.len())])
        ),
        Ok(ReadNow::EndOfFile) => "end of file: no write end is open any more".to_owned(),
        Err(err) => format!("error {err}"),
    }
}

fn main() {
    proctest::lifetime::children_die_with_parent();
    let args = Args::from_env("nonblocking", USAGE);
    if args.leftover().is_some() {
        args.fail("this demo takes no argument");
    }
    let audit = Audit::start();
    let code = run();
    eprintln!("{}", audit.report());
    std::process::exit(code);
}

fn run() -> i32 {
    let (Ok((data_read, data_write)), Ok((go_read, go_write))) = (pipe(), pipe()) else {
        eprintln!("nonblocking: cannot create the pipes");
        return 1;
    };
    // SAFETY: this demo is single-threaded, and the child below only calls read, write,
    // close and _exit.
    let child = match unsafe { fork() } {
        Err(err) => {
            eprintln!("nonblocking: fork failed: {err}");
            return 1;
        }
        Ok(ForkResult::Child) => {
            drop(data_read);
            drop(go_write);
            // Wait for the parent's go-ahead: one byte, or end of file if it gave up.
            let mut go = [0u8; 1];
            match read(&go_read, &mut go) {
                Ok(1) => {}
                _ => exit_now(1),
            }
            let code = if write_all(&data_write, MESSAGE).is_ok() {
                0
            } else {
                1
            };
            exit_now(code)
        }
        Ok(ForkResult::Parent { child }) => child,
    };
    // The parent reads only: its copy of the write end would hide end of file (step 4).
    drop(data_write);
    drop(go_read);
    let reader = data_read.as_fd();
    let mut buf = [0u8; 64];
    let mut code = 0;
    if let Err(err) = set_nonblocking(reader) {
        eprintln!("nonblocking: set_nonblocking failed: {err}");
        code = 1;
    }
    let first = read_now(reader, &mut buf);
    let would_block = matches!(first, Ok(ReadNow::WouldBlock));
    println!("1. read() on the empty pipe: {}", describe(first, &buf));
    if !would_block {
        code = 1;
    }
    // Only now may the child write: the empty-pipe read is over.
    if write_all(&go_write, b"g").is_err() {
        code = 1;
    }
    drop(go_write);
    if would_block {
        match wait_readable(reader) {
            Ok(()) => println!("2. poll(): the pipe is readable"),
            Err(err) => {
                println!("2. poll(): error {err}");
                code = 1;
            }
        }
        let second = read_now(reader, &mut buf);
        println!("3. read(): {}", describe(second, &buf));
    }
    match waitpid(child, None) {
        Ok(WaitStatus::Exited(_, 0)) => {}
        other => {
            eprintln!("nonblocking: the writer ended with {other:?}");
            code = 1;
        }
    }
    if would_block {
        // The writer has exited: its write end is closed, and so is ours.
        let last = read_now(reader, &mut buf);
        println!(
            "4. read() after the writer exited: {}",
            describe(last, &buf)
        );
    }
    code
}
