//! Not a demo: wrong (and some right) solutions of this topic's steps, run inside the real
//! demos by the tests' oracles, which prove that the checks fail each wrong one with a
//! message naming its cause and pass the right ones, however they are written.
//!
//! Usage: `oracles FIXTURE [DEMO ARGS...]`, where FIXTURE is one of the names listed by
//! `oracles` without arguments. A `readiness-*` fixture runs the `readiness` demo with its
//! own `collect`.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, IntoRawFd, OwnedFd};
use std::process::ExitCode;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

#[allow(dead_code, unreachable_pub)] // the demo's `main` is not used here
#[path = "readiness.rs"]
mod readiness_demo;

/// The readiness fixtures: (name, collect, what it does).
const READINESS: &[(&str, readiness_demo::Collect, &str)] = &[
    (
        "readiness-sequential",
        sequential,
        "reads the pipes one after another (the starter)",
    ),
    (
        "readiness-zero-timeout",
        zero_timeout,
        "polls with a zero timeout: a busy-wait",
    ),
    (
        "readiness-ignores-pollhup",
        ignores_pollhup,
        "reads only on POLLIN, never on POLLHUP",
    ),
    (
        "readiness-read-to-end",
        read_to_end_when_ready,
        "reads a ready pipe to its end of file",
    ),
    (
        "readiness-first-eof",
        first_eof,
        "returns at the first end of file",
    ),
    ("readiness-leaks", leaks, "never closes the pipes"),
    (
        "readiness-ready-order",
        ready_order,
        "returns the outputs in the order they ended",
    ),
    (
        "readiness-threads",
        threads,
        "right: one thread per pipe, read_to_end in each",
    ),
    (
        "readiness-hup-to-end",
        hup_to_end,
        "right: poll; on POLLHUP read to the end at once",
    ),
];

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let fixture = if args.is_empty() {
        String::new()
    } else {
        args.remove(0)
    };
    if let Some((_, collect, _)) = READINESS.iter().find(|(name, _, _)| *name == fixture) {
        return readiness_demo::run(*collect, args);
    }
    eprintln!("usage: oracles FIXTURE [DEMO ARGS...]\nfixtures:");
    for (name, _, what) in READINESS {
        eprintln!("  {name}: {what}");
    }
    ExitCode::from(2)
}

fn files(pipes: Vec<OwnedFd>) -> Vec<Option<File>> {
    pipes.into_iter().map(|p| Some(File::from(p))).collect()
}

/// The indices of the open pipes that `poll` (with `timeout`) reports, with their events.
fn ready(open: &[Option<File>], timeout: PollTimeout) -> io::Result<Vec<(usize, PollFlags)>> {
    let watched: Vec<usize> = (0..open.len()).filter(|&i| open[i].is_some()).collect();
    let mut fds: Vec<PollFd<'_>> = watched
        .iter()
        .filter_map(|&i| open[i].as_ref())
        .map(|file| PollFd::new(file.as_fd(), PollFlags::POLLIN))
        .collect();
    match poll(&mut fds, timeout) {
        Ok(_) | Err(Errno::EINTR) => {}
        Err(errno) => return Err(errno.into()),
    }
    Ok(watched
        .iter()
        .zip(&fds)
        .filter_map(|(&i, fd)| fd.revents().filter(|r| !r.is_empty()).map(|r| (i, r)))
        .collect())
}

/// Reads once from pipe `i`: `Ok(false)` at its end of file (and closes it).
fn read_once(open: &mut [Option<File>], outputs: &mut [Vec<u8>], i: usize) -> io::Result<bool> {
    let mut buf = [0u8; 16 * 1024];
    let Some(file) = open[i].as_mut() else {
        return Ok(false);
    };
    match file.read(&mut buf) {
        Ok(0) => {
            open[i] = None;
            Ok(false)
        }
        Ok(n) => {
            outputs[i].extend_from_slice(&buf[..n]);
            Ok(true)
        }
        Err(err) if err.kind() == io::ErrorKind::Interrupted => Ok(true),
        Err(err) => Err(err),
    }
}

/// The reference's loop, with `timeout` for poll and `on_ready` deciding what to do with a
/// ready pipe.
fn poll_loop(
    pipes: Vec<OwnedFd>,
    timeout: PollTimeout,
    mut on_ready: impl FnMut(&mut [Option<File>], &mut [Vec<u8>], usize, PollFlags) -> io::Result<()>,
) -> io::Result<Vec<Vec<u8>>> {
    let mut open = files(pipes);
    let mut outputs = vec![Vec::new(); open.len()];
    while open.iter().any(Option::is_some) {
        for (i, events) in ready(&open, timeout)? {
            on_ready(&mut open, &mut outputs, i, events)?;
        }
    }
    Ok(outputs)
}

fn sequential(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    let mut outputs = Vec::new();
    for pipe in pipes {
        let mut bytes = Vec::new();
        File::from(pipe).read_to_end(&mut bytes)?;
        outputs.push(bytes);
    }
    Ok(outputs)
}

fn zero_timeout(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    poll_loop(pipes, PollTimeout::ZERO, |open, outputs, i, _| {
        read_once(open, outputs, i).map(drop)
    })
}

fn ignores_pollhup(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    poll_loop(pipes, PollTimeout::NONE, |open, outputs, i, events| {
        if events.contains(PollFlags::POLLIN) {
            read_once(open, outputs, i)?;
        }
        Ok(())
    })
}

fn read_to_end_when_ready(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    poll_loop(pipes, PollTimeout::NONE, |open, outputs, i, _| {
        if let Some(mut file) = open[i].take() {
            file.read_to_end(&mut outputs[i])?;
        }
        Ok(())
    })
}

fn first_eof(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    let mut open = files(pipes);
    let mut outputs = vec![Vec::new(); open.len()];
    loop {
        for (i, _) in ready(&open, PollTimeout::NONE)? {
            if !read_once(&mut open, &mut outputs, i)? {
                return Ok(outputs);
            }
        }
    }
}

fn leaks(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    let mut open = files(pipes);
    let mut outputs = vec![Vec::new(); open.len()];
    let mut buf = [0u8; 16 * 1024];
    while open.iter().any(Option::is_some) {
        for (i, _) in ready(&open, PollTimeout::NONE)? {
            let Some(file) = open[i].as_mut() else {
                continue;
            };
            match file.read(&mut buf)? {
                // The end of file: stop watching, but keep the descriptor open.
                0 => {
                    let _ = open[i].take().map(IntoRawFd::into_raw_fd);
                }
                n => outputs[i].extend_from_slice(&buf[..n]),
            }
        }
    }
    Ok(outputs)
}

fn ready_order(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    let mut finished = Vec::new();
    let mut outputs = poll_loop(pipes, PollTimeout::NONE, |open, outputs, i, _| {
        if !read_once(open, outputs, i)? {
            finished.push(i);
        }
        Ok(())
    })?;
    Ok(finished
        .into_iter()
        .map(|i| std::mem::take(&mut outputs[i]))
        .collect())
}

fn threads(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    let readers: Vec<_> = pipes
        .into_iter()
        .map(|pipe| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                File::from(pipe).read_to_end(&mut bytes).map(|_| bytes)
            })
        })
        .collect();
    readers
        .into_iter()
        .map(|reader| reader.join().expect("a reader thread panicked"))
        .collect()
}

fn hup_to_end(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    poll_loop(pipes, PollTimeout::NONE, |open, outputs, i, events| {
        if events.contains(PollFlags::POLLHUP) {
            // Every writer is gone: what is left is all there, read_to_end cannot block.
            if let Some(mut file) = open[i].take() {
                file.read_to_end(&mut outputs[i])?;
            }
            Ok(())
        } else {
            read_once(open, outputs, i).map(drop)
        }
    })
}
