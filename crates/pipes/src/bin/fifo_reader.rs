//! Demo of `pipes/fifo`, the reading side: creates a FIFO, prints its path, reads it.
//!
//! `fifo_reader [--dir DIR] [--wait-ms MS]` creates a directory in DIR (default: the
//! system's temporary directory) holding a FIFO named `channel`, prints
//! `fifo_reader: listening on PATH`, then reads until the writer closes its end, and
//! prints what it got. It gives up when nothing happens for MS milliseconds (1 to
//! 600000, default 10000) and stops on SIGINT or SIGTERM (its handler wakes the loop
//! through a self-pipe). On every one of these paths the
//! FIFO and its directory are removed before it exits (only SIGKILL can prevent that).

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::{pipe2, read};
use pipes::fifo::{Fifo, open_reader};
use proctest::args::Args;
use std::io::Write;
use std::os::fd::{AsFd, IntoRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

const NAME: &str = "fifo_reader";
const USAGE: &str = "fifo_reader [--dir DIR] [--wait-ms MS]   (MS from 1 to 600000, default 10000)\n\
                     then start `fifo_writer PATH MESSAGE...` with the path it prints";

/// The signal that asked us to stop, 0 if none.
static STOP: AtomicI32 = AtomicI32::new(0);
/// The write end of the self-pipe, -1 until it exists.
static WAKE: AtomicI32 = AtomicI32::new(-1);

/// Records the signal, then writes a byte into the self-pipe, which the main loop polls
/// along with the FIFO: a signal that arrives just before `poll` still wakes it up
/// (a flag alone would be a lost wake-up). Touches only an atomic and `write()`.
extern "C" fn on_signal(signal: libc::c_int) {
    STOP.store(signal, Ordering::SeqCst);
    let fd = WAKE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write() is async-signal-safe; `fd` is the self-pipe's write end, open
        // for the whole life of the process (its OwnedFd is never dropped), and the
        // buffer is a static byte. A full pipe (O_NONBLOCK) just drops the byte: one is
        // enough to wake the loop.
        unsafe { libc::write(fd, b"!".as_ptr().cast(), 1) };
    }
}

fn main() {
    let mut args = Args::from_env(NAME, USAGE);
    let dir = args
        .value("--dir")
        .map_or_else(std::env::temp_dir, PathBuf::from);
    let wait_ms: u64 = args
        .number("--wait-ms", "MS", 1..=600_000)
        .unwrap_or(10_000);
    args.finish();
    let (wake_read, wake_write) = match pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK) {
        Ok(ends) => ends,
        Err(err) => {
            eprintln!("{NAME}: cannot create the self-pipe: {err}");
            std::process::exit(1);
        }
    };
    // The handler writes here until the process ends: never close it.
    WAKE.store(wake_write.into_raw_fd(), Ordering::SeqCst);
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores into an atomic, which is async-signal-safe.
        if let Err(err) = unsafe { sigaction(signal, &action) } {
            eprintln!("{NAME}: cannot handle {signal}: {err}");
            std::process::exit(1);
        }
    }
    // `run` owns the Fifo: it is dropped (and removed) before we exit, whatever happened.
    let code = run(&dir, Duration::from_millis(wait_ms), &wake_read);
    std::process::exit(code);
}

fn run(dir: &std::path::Path, wait: Duration, wake: &OwnedFd) -> i32 {
    let fifo = match Fifo::create(dir) {
        Ok(fifo) => fifo,
        Err(err) => {
            eprintln!("{NAME}: cannot create a FIFO in {}: {err}", dir.display());
            return 1;
        }
    };
    let path = fifo.path().display().to_string();
    // Open before telling anyone the path: a writer that comes at once must find a
    // reader, or its non-blocking open fails with ENXIO.
    let fd = match open_reader(fifo.path()) {
        Ok(fd) => fd,
        Err(err) => {
            eprintln!("{NAME}: cannot open {path}: {err}");
            return 1;
        }
    };
    println!("{NAME}: listening on {path}");
    let _ = std::io::stdout().flush();
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let mut deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        let mut fds = [
            PollFd::new(fd.as_fd(), PollFlags::POLLIN),
            PollFd::new(wake.as_fd(), PollFlags::POLLIN),
        ];
        match poll(&mut fds, timeout) {
            Ok(0) => {
                eprintln!(
                    "{NAME}: nothing happened on {path} for {} ms: no writer came (start fifo_writer with this path); giving up",
                    wait.as_millis()
                );
                return 1;
            }
            Ok(_) => {}
            Err(Errno::EINTR) => {}
            Err(err) => {
                eprintln!("{NAME}: poll: {err}");
                return 1;
            }
        }
        let signal = STOP.load(Ordering::SeqCst);
        if signal != 0 {
            eprintln!("{NAME}: stopped by signal {signal}; removing {path}");
            return 128 + signal;
        }
        if !fds[0].any().unwrap_or(false) {
            continue;
        }
        // Linux's poll does not report a FIFO that no writer has opened yet, so a ready
        // descriptor means data, or a writer that came and left.
        match read(&fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                received.extend_from_slice(&buf[..n]);
                deadline = Instant::now() + wait;
            }
            Err(Errno::EAGAIN | Errno::EINTR) => {}
            Err(err) => {
                eprintln!("{NAME}: read: {err}");
                return 1;
            }
        }
    }
    println!(
        "{NAME}: end of file after {} bytes; the writer sent:",
        received.len()
    );
    for line in String::from_utf8_lossy(&received).lines() {
        println!("  | {line}");
    }
    0
}
