//! Demo of `multiplexing/readiness`: two children, two pipes, one `collect()`.
//!
//! Child 1 writes `KIB` KiB to its pipe (256 by default: more than the 64 KiB a pipe
//! holds). Child 2 waits until child 1 has finished (it reads a "gate" pipe whose only
//! write end child 1 holds, so the end of file arrives when child 1 exits), then writes
//! one line. The parent hands `collect()` child 2's pipe first, then child 1's (with
//! `--big-first`, child 1's first: no fixed reading order works for both), checks every
//! byte, reaps both children, and checks it left no descriptor open.
//!
//! Usage: `readiness [--big-first] [KIB]` with KIB from 1 to 16384.

use multiplexing::{fds, readiness, usage};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, pipe, read, write};
use proctest::audit::open_fds;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::process::ExitCode;

const USAGE: &str =
    "readiness [--big-first] [KIB]   (KIB: how much child 1 writes, 1 to 16384, default 256)";
const NEXT: &str = "then run `just check multiplexing/readiness`";
const CHILD_2_LINE: &[u8] = b"child 1 has finished\n";

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Child 1: write everything, then `_exit`. Only async-signal-safe calls.
fn child_1(out: OwnedFd, data: &[u8]) -> ! {
    let _ = nix::sys::prctl::set_name(c"child-1");
    let mut sent = 0;
    while sent < data.len() {
        match write(&out, &data[sent..]) {
            Ok(n) => sent += n,
            Err(nix::errno::Errno::EINTR) => {}
            // SAFETY: _exit is async-signal-safe and ends the child without running
            // the parent's atexit handlers or flushing its stdio buffers.
            Err(_) => unsafe { libc::_exit(1) },
        }
    }
    // SAFETY: as above.
    unsafe { libc::_exit(0) }
}

// ANCHOR: gate
/// Child 2: wait for the gate's end of file (child 1 exited), then write one line.
fn child_2(gate: OwnedFd, out: OwnedFd) -> ! {
    let _ = nix::sys::prctl::set_name(c"child-2");
    let mut byte = [0u8; 1];
    loop {
        match read(gate.as_fd(), &mut byte) {
            Ok(0) => break,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            // SAFETY: _exit is async-signal-safe.
            Err(_) => unsafe { libc::_exit(1) },
        }
    }
    let code = match write(&out, CHILD_2_LINE) {
        Ok(n) if n == CHILD_2_LINE.len() => 0,
        _ => 1,
    };
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(code) }
}
// ANCHOR_END: gate

/// Forks: `None` in the child, the child's pid in the parent.
fn fork_or_exit() -> Option<Pid> {
    // SAFETY: this demo is single-threaded when it forks, and each child branch in
    // `main` only makes async-signal-safe calls (close through drop, read, write,
    // prctl, _exit) on buffers prepared before the fork.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => None,
        Ok(ForkResult::Parent { child }) => Some(child),
        Err(err) => {
            eprintln!("error: fork failed: {err}");
            std::process::exit(1);
        }
    }
}

fn reap(name: &CStr, pid: Pid) -> Result<(), String> {
    match waitpid(pid, None) {
        Ok(WaitStatus::Exited(_, 0)) => Ok(()),
        Ok(status) => Err(format!("{} ended with {status:?}", name.to_string_lossy())),
        Err(err) => Err(format!(
            "waitpid for {} failed: {err}",
            name.to_string_lossy()
        )),
    }
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = usage::args("readiness", USAGE, NEXT);
    let big_first = args.flag("--big-first");
    let kib = usage::number_arg(&mut args, 256, "KIB", 1..=16384);
    let start = open_fds();
    let data = pattern(usize::try_from(kib).expect("small") * 1024);

    let (out_1, in_1) = pipe().expect("pipe");
    let (gate_r, gate_w) = pipe().expect("pipe");
    let Some(pid_1) = fork_or_exit() else {
        drop(out_1);
        drop(gate_r);
        child_1(in_1, &data)
    };
    // Child 1 now holds the only write end of the gate.
    drop(in_1);
    drop(gate_w);
    let (out_2, in_2) = pipe().expect("pipe");
    let Some(pid_2) = fork_or_exit() else {
        drop(out_1);
        drop(out_2);
        child_2(gate_r, in_2)
    };
    drop(gate_r);
    drop(in_2);

    // Child 2's pipe first by default: its line is the summary on top of the report.
    let pipes = if big_first {
        vec![out_1, out_2]
    } else {
        vec![out_2, out_1]
    };
    let outputs = match readiness::collect(pipes) {
        Ok(mut outputs) => {
            if big_first {
                outputs.reverse();
            }
            outputs
        }
        Err(err) => {
            eprintln!("error: collect() failed: {err}");
            return ExitCode::FAILURE;
        }
    };
    let mut ok = true;
    if let [line, bulk] = outputs.as_slice() {
        println!(
            "child 2 (writes once child 1 has finished): {:?}",
            String::from_utf8_lossy(line)
        );
        if line.as_slice() != CHILD_2_LINE {
            ok = false;
            eprintln!(
                "error: child 2's pipe carried {} bytes instead of its line",
                line.len()
            );
        }
        let intact = bulk.as_slice() == data.as_slice();
        let fits = if kib > 64 {
            "more than a pipe holds"
        } else {
            "fits in a pipe"
        };
        println!(
            "child 1 (writes {kib} KiB, {fits}): {} bytes, {}",
            bulk.len(),
            if intact {
                "every byte as written"
            } else {
                "NOT what it wrote"
            }
        );
        ok &= intact;
    } else {
        eprintln!(
            "error: collect() returned {} outputs for 2 pipes",
            outputs.len()
        );
        ok = false;
    }
    for (name, pid) in [(c"child 1", pid_1), (c"child 2", pid_2)] {
        if let Err(msg) = reap(name, pid) {
            eprintln!("error: {msg}");
            ok = false;
        }
    }
    println!("both children reaped");
    let change = fds::describe_change(&start, &open_fds());
    println!("descriptors: {change}");
    ok &= change == "the same as at the start";
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
