//! The echo server of `multiplexing/echo_server` (or, with `--edge`, of
//! `multiplexing/edge_triggered`), run as a process of its own.
//!
//! It binds a UNIX domain socket in a fresh temporary directory, prints
//! `listening on PATH` and `fds N` (its descriptor count once listening: the baseline),
//! then serves clients with the student's `EchoServer` until its standard input reaches
//! end of file; it then removes the socket file and its directory. Commands on standard
//! input, one per line:
//!
//! - `fds`: print `fds N`, the number of descriptors open now;
//! - `sent`: every client has sent everything it will send. From then on, with
//!   `--edge`, whenever epoll has nothing to report the server checks that no
//!   connection holds unread bytes: under edge-triggered events nobody would report
//!   them again, so that is the bug "data left unread", reported on standard error with
//!   exit code 1.
//!
//! Usage: `echo_server [--edge]`.

use multiplexing::{echo_server, edge_triggered, fds, usage};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::epoll::EpollTimeout;
use proctest::audit::{OpenFd, open_fds};
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "echo_server [--edge]";
const NEXT: &str = "it is started by echo_load; run `just check multiplexing/echo_server`";

/// What the loop below needs from either step's server.
trait Server: AsFd {
    fn turn(&mut self, timeout: EpollTimeout) -> io::Result<usize>;
}

impl Server for echo_server::EchoServer {
    fn turn(&mut self, timeout: EpollTimeout) -> io::Result<usize> {
        echo_server::EchoServer::turn(self, timeout)
    }
}

impl Server for edge_triggered::EchoServer {
    fn turn(&mut self, timeout: EpollTimeout) -> io::Result<usize> {
        edge_triggered::EchoServer::turn(self, timeout)
    }
}

/// The socket's directory, removed (with the socket file) when dropped.
struct SocketDir(PathBuf);

impl SocketDir {
    fn create() -> io::Result<Self> {
        let dir = std::env::temp_dir().join(format!("echo-server-{}", std::process::id()));
        std::fs::create_dir(&dir)?;
        Ok(Self(dir))
    }

    fn socket(&self) -> PathBuf {
        self.0.join("echo.sock")
    }
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.socket());
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn ready(fd: BorrowedFd<'_>) -> bool {
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    matches!(poll(&mut fds, PollTimeout::ZERO), Ok(n) if n > 0)
}

/// The connections (sockets opened since the baseline) that hold unread bytes.
fn unread(baseline: &[OpenFd]) -> Vec<(i32, usize)> {
    open_fds()
        .into_iter()
        .filter(|fd| fd.target.starts_with("socket:") && !baseline.contains(fd))
        .filter_map(|fd| {
            // SAFETY: the descriptor is open (it was just listed) and stays open while
            // this single-threaded server checks it: nothing closes it meanwhile.
            let borrowed = unsafe { BorrowedFd::borrow_raw(fd.fd) };
            let bytes = fds::unread_bytes(borrowed).ok()?;
            (bytes > 0).then_some((fd.fd, bytes))
        })
        .collect()
}

fn serve(mut server: impl Server, edge: bool, baseline: &[OpenFd]) -> Result<(), String> {
    let stdin = io::stdin();
    let mut all_sent = false;
    let mut line = Vec::new();
    let mut buf = [0u8; 512];
    loop {
        let (server_ready, input_ready) = {
            let mut watched = [
                PollFd::new(server.as_fd(), PollFlags::POLLIN),
                PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut watched, PollTimeout::NONE) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(err) => return Err(format!("poll failed: {err}")),
            }
            let is_ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
            (is_ready(&watched[0]), is_ready(&watched[1]))
        };
        if server_ready {
            server
                .turn(EpollTimeout::ZERO)
                .map_err(|err| format!("the server failed: {err}"))?;
        }
        if input_ready {
            let n = nix::unistd::read(stdin.as_fd(), &mut buf).unwrap_or(0);
            if n == 0 {
                return Ok(());
            }
            line.extend_from_slice(&buf[..n]);
            while let Some(end) = line.iter().position(|&b| b == b'\n') {
                let command: Vec<u8> = line.drain(..=end).collect();
                match command.trim_ascii() {
                    b"fds" => println!("fds {}", open_fds().len()),
                    b"sent" => all_sent = true,
                    other => eprintln!(
                        "echo_server: unknown command {:?} (known: fds, sent)",
                        String::from_utf8_lossy(other)
                    ),
                }
            }
        }
        // ANCHOR: unread_check
        if edge && all_sent && !ready(server.as_fd()) {
            let stuck = unread(baseline);
            if !stuck.is_empty() {
                let detail: Vec<String> = stuck
                    .iter()
                    .take(3)
                    .map(|(fd, bytes)| format!("fd {fd} holds {bytes} unread bytes"))
                    .collect();
                return Err(format!(
                    "data left unread after an edge-triggered event: read until EAGAIN. Every client has sent everything and epoll has nothing more to report, yet {} connection(s) hold unread bytes ({}{}); no new edge will ever announce them, so their clients wait forever for their echo",
                    stuck.len(),
                    detail.join(", "),
                    if stuck.len() > 3 { ", ..." } else { "" }
                ));
            }
        }
        // ANCHOR_END: unread_check
    }
}

fn main() -> ExitCode {
    let mut args = usage::args("echo_server", USAGE, NEXT);
    let edge = args.flag("--edge");
    if let Some(other) = args.remaining().last() {
        args.fail(&format!("unexpected argument `{other}`"));
    }
    if let Err(msg) = fds::raise_nofile(8192) {
        eprintln!("echo_server: warning: {msg}");
    }
    let dir = match SocketDir::create() {
        Ok(dir) => dir,
        Err(err) => {
            eprintln!("echo_server: error: cannot create the socket's directory: {err}");
            return ExitCode::FAILURE;
        }
    };
    let path = dir.socket();
    let listener = match UnixListener::bind(&path) {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("echo_server: error: cannot bind {}: {err}", path.display());
            return ExitCode::FAILURE;
        }
    };
    let result = if edge {
        edge_triggered::EchoServer::new(listener)
            .map_err(|err| format!("cannot start the server: {err}"))
            .and_then(|server| run(server, true, &path))
    } else {
        echo_server::EchoServer::new(listener)
            .map_err(|err| format!("cannot start the server: {err}"))
            .and_then(|server| run(server, false, &path))
    };
    drop(dir);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("echo_server: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(server: impl Server, edge: bool, path: &Path) -> Result<(), String> {
    let baseline = open_fds();
    println!("listening on {}", path.display());
    println!("fds {}", baseline.len());
    let _ = io::stdout().flush();
    serve(server, edge, &baseline)
}
