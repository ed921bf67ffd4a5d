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
//! - `conns`: print `connections N`, what the server's `connections()` says;
//! - `wait NAME`: the load generator is about to compute for a while with every client
//!   quiet; under the tests' watchdog the server measures the CPU time it uses meanwhile
//!   (a [`proctest::cpu::Meter`] labelled NAME), which tells a server that sleeps in
//!   `epoll_wait` from one that keeps waking up for nothing;
//! - `done`: the end of that wait: the measure is reported (with, on standard error, what
//!   epoll kept reporting for nothing, if anything), and `done` printed;
//! - `idle?`: print `idle yes` when epoll has nothing to report (`idle no` otherwise), for
//!   a load generator that sees nothing in flight and wonders whether anything will move;
//! - `disabled?`: print `disabled N`, how many connections epoll watches for nothing
//!   because they were registered with `EPOLLONESHOT`, fired, and were never re-armed;
//! - `quiet`: no more stall checks: the load generator has found a stall and experiments
//!   to tell its cause.
//!
//! Whenever the server has had nothing to do for a moment (and no measure runs), it checks
//! that it is not stalled: epoll has nothing to report, yet a client waits in the listener's
//! queue, or a connection holds unread bytes, or a client that has sent everything and
//! read everything back still has an open connection. Nobody would ever wake the server
//! for those, so each is a bug, reported on standard error with exit code 1.
//!
//! Usage: `echo_server [--edge]`.

use multiplexing::{echo_server, edge_triggered, fds, usage};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::epoll::EpollTimeout;
use proctest::audit::{OpenFd, open_fds};
use proctest::cpu::Meter;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Prints one line of answer for the load generator, like `println!`, but without panicking
/// when nobody reads any more: a load generator that gave up (on a server stuck in `turn()`,
/// say) has closed the pipe, and its own error says why, not a "Broken pipe" from here.
macro_rules! answer {
    ($($arg:tt)*) => {{
        let _ = writeln!(io::stdout(), $($arg)*);
    }};
}

const USAGE: &str = "echo_server [--edge]";
const NEXT: &str = "it is started by echo_load; run `just check multiplexing/echo_server`";

/// How long (in milliseconds) the server must have had nothing to do before it checks that
/// it is not stalled. Only a pace for the checks: what they find does not depend on it.
const IDLE_MS: u16 = 100;

/// What the loop below needs from either step's server.
pub trait Server: AsFd {
    /// One round of the step's `turn`.
    fn turn(&mut self, timeout: EpollTimeout) -> io::Result<usize>;
    /// The step's `connections`.
    fn connections(&self) -> usize;
}

impl Server for echo_server::EchoServer {
    fn turn(&mut self, timeout: EpollTimeout) -> io::Result<usize> {
        echo_server::EchoServer::turn(self, timeout)
    }
    fn connections(&self) -> usize {
        echo_server::EchoServer::connections(self)
    }
}

impl Server for edge_triggered::EchoServer {
    fn turn(&mut self, timeout: EpollTimeout) -> io::Result<usize> {
        edge_triggered::EchoServer::turn(self, timeout)
    }
    fn connections(&self) -> usize {
        edge_triggered::EchoServer::connections(self)
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

/// The events `poll` reports on `fd` right now, without waiting.
fn events_now(fd: BorrowedFd<'_>, wanted: PollFlags) -> PollFlags {
    let mut fds = [PollFd::new(fd, wanted)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(n) if n > 0 => fds[0].revents().unwrap_or(PollFlags::empty()),
        _ => PollFlags::empty(),
    }
}

/// Whether the peer of the socket `fd` has closed its sending side (`POLLRDHUP`, which nix
/// does not name).
fn peer_closed(fd: BorrowedFd<'_>) -> bool {
    let mut watched = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLRDHUP,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a zero timeout: poll only writes its revents.
    let n = unsafe { libc::poll(&mut watched, 1, 0) };
    n > 0 && watched.revents & libc::POLLRDHUP != 0
}

fn ready(fd: BorrowedFd<'_>) -> bool {
    !events_now(fd, PollFlags::POLLIN).is_empty()
}

/// The bytes queued on a socket that its peer has not read yet (`SIOCOUTQ`).
fn unsent_bytes(fd: BorrowedFd<'_>) -> usize {
    let mut count: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one c_int through the pointer, which points at a live c_int
    // on our stack; the descriptor is valid for the borrow.
    let ret = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCOUTQ, &mut count) };
    if ret < 0 {
        0
    } else {
        usize::try_from(count).unwrap_or(0)
    }
}

/// What the epoll instance `epoll` watches, from `/proc/self/fdinfo`: each registered
/// descriptor with its event mask (`EPOLLONESHOT` leaves only its flag bits once it fired).
fn interest(epoll: BorrowedFd<'_>) -> Vec<(RawFd, u32)> {
    let text = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", epoll.as_raw_fd()))
        .unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next()? == "tfd:").then_some(())?;
            let fd = words.next()?.parse().ok()?;
            (words.next()? == "events:").then_some(())?;
            let events = u32::from_str_radix(words.next()?, 16).ok()?;
            Some((fd, events))
        })
        .collect()
}

/// Why the connection `fd`, holding unread bytes, is not reported, from its registration.
fn why_unreported(fd: RawFd, interest: &[(RawFd, u32)], edge: bool) -> String {
    const IN: u32 = libc::EPOLLIN as u32;
    const ONESHOT: u32 = libc::EPOLLONESHOT as u32;
    match interest
        .iter()
        .find(|(f, _)| *f == fd)
        .map(|&(_, events)| events)
    {
        None => format!(
            "fd {fd} is not in the epoll instance at all (never added, or deleted while still \
             open): nothing will ever report it"
        ),
        Some(events) if events & IN == 0 && events & ONESHOT != 0 => format!(
            "fd {fd} was registered with EPOLLONESHOT, which disabled it after its last event, and \
             nobody re-armed it: after handling a one-shot event, call modify with the events \
             wanted again"
        ),
        Some(events) if events & IN == 0 => format!(
            "fd {fd} is registered without EPOLLIN although its client has not closed its side: \
             keep EPOLLIN until read() returns 0"
        ),
        Some(_) if edge => format!(
            "fd {fd} is registered for EPOLLIN | EPOLLET: an edge-triggered event is reported \
             once, when bytes arrive, and what the server did not read then will never be \
             announced again. Read until read() fails with WouldBlock (EAGAIN) or returns 0"
        ),
        Some(_) => format!("fd {fd} is registered for EPOLLIN, yet epoll does not report it"),
    }
}

/// In edge-triggered mode, a connection registered without `EPOLLET`: the server still
/// works (level-triggered epoll reports again what it did not read), but the step's point,
/// edge-triggered events, is gone.
fn level_triggered(server: &impl Server, listener: RawFd) -> Option<String> {
    const ET: u32 = libc::EPOLLET as u32;
    let plain: Vec<String> = interest(server.as_fd())
        .iter()
        .filter(|&&(fd, events)| fd != listener && events & ET == 0)
        .map(|(fd, _)| fd.to_string())
        .collect();
    (!plain.is_empty()).then(|| {
        format!(
            "{} connection(s) (fd {}) are registered without EPOLLET, so epoll reports them \
             level-triggered: this step's server registers every connection with \
             EPOLLIN | EPOLLET (and EPOLLOUT | EPOLLET while it has bytes to write), and reads \
             and writes until WouldBlock. Not edge-triggered.",
            plain.len(),
            plain.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
        )
    })
}

/// A connection in which nothing will ever happen again, unless the server acts.
enum Stuck {
    /// Bytes wait to be read.
    Unread(RawFd, usize),
    /// The client sent everything and closed its side, read all that came back, and
    /// waits: nothing is in the socket either way.
    Silent(RawFd),
}

/// What keeps epoll reporting connections while nothing is to be done, at the end of a
/// quiet moment: connections watched for EPOLLIN after their end of file, watched for
/// EPOLLOUT while writable with nothing else happening, or broken (the client is gone) but
/// still open. One phrase each kind, for the tests' diagnosis of a busy server.
fn ready_for_nothing(server: &impl Server, baseline: &[OpenFd]) -> Vec<String> {
    const IN: u32 = libc::EPOLLIN as u32;
    const OUT: u32 = libc::EPOLLOUT as u32;
    let interest = interest(server.as_fd());
    let (mut after_eof, mut writable, mut broken) = (0, 0, 0);
    for fd in open_fds() {
        if !fd.target.starts_with("socket:") || baseline.contains(&fd) {
            continue;
        }
        let Some(&(_, events)) = interest.iter().find(|(f, _)| *f == fd.fd) else {
            continue;
        };
        // SAFETY: the descriptor is open (just listed) and nothing closes it meanwhile.
        let socket = unsafe { BorrowedFd::borrow_raw(fd.fd) };
        let now = events_now(socket, PollFlags::POLLOUT);
        if now.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
            broken += 1;
        } else if events & IN != 0 && peer_closed(socket) {
            after_eof += 1;
        } else if events & OUT != 0 && now.contains(PollFlags::POLLOUT) {
            writable += 1;
        }
    }
    let mut found = Vec::new();
    if broken > 0 {
        found.push(format!("{broken} broken connection(s) still open"));
    }
    if after_eof > 0 {
        found.push(format!(
            "{after_eof} connection(s) watched for EPOLLIN after the end of file"
        ));
    }
    if writable > 0 {
        found.push(format!(
            "{writable} connection(s) watched for EPOLLOUT while writable"
        ));
    }
    found
}

// ANCHOR: stall_check
/// Finds what the server has left stalled, when epoll has nothing more to report: clients
/// never accepted, connections with unread bytes, connections where both sides wait. Each
/// fact is read before epoll is asked again, so that an event arriving meanwhile clears
/// the server (epoll is then ready).
fn stalled(
    server: &impl Server,
    listener: RawFd,
    baseline: &[OpenFd],
    edge: bool,
) -> Option<String> {
    if ready(server.as_fd()) {
        return None;
    }
    // SAFETY: the listener stays open as long as the server (which owns it) lives.
    let listener = unsafe { BorrowedFd::borrow_raw(listener) };
    let queued = !events_now(listener, PollFlags::POLLIN).is_empty();
    let mut stuck = Vec::new();
    for fd in open_fds() {
        if !fd.target.starts_with("socket:") || baseline.contains(&fd) {
            continue;
        }
        // SAFETY: the descriptor is open (it was just listed) and stays open while this
        // single-threaded server checks it: nothing closes it meanwhile.
        let socket = unsafe { BorrowedFd::borrow_raw(fd.fd) };
        match fds::unread_bytes(socket) {
            Ok(0) => {
                if peer_closed(socket) && unsent_bytes(socket) == 0 {
                    stuck.push(Stuck::Silent(fd.fd));
                }
            }
            Ok(n) => stuck.push(Stuck::Unread(fd.fd, n)),
            Err(_) => {}
        }
    }
    if ready(server.as_fd()) {
        return None;
    }
    let mode = if edge {
        "edge-triggered"
    } else {
        "level-triggered"
    };
    if queued {
        return Some(if edge {
            "clients never accepted: clients wait in the listener's queue and epoll has nothing \
             more to report. An edge-triggered listener is reported once per edge, however \
             many clients are queued behind it: accept until accept() fails with WouldBlock. \
             Clients never accepted."
                .to_owned()
        } else {
            "clients never accepted: clients wait in the listener's queue, yet epoll does not \
             report the listener: it must stay registered for EPOLLIN. Clients never \
             accepted."
                .to_owned()
        });
    }
    let unread: Vec<String> = stuck
        .iter()
        .filter_map(|s| match s {
            Stuck::Unread(fd, n) => Some(format!("fd {fd} holds {n} unread bytes")),
            Stuck::Silent(_) => None,
        })
        .collect();
    if let Some(fd) = stuck.iter().find_map(|s| match s {
        Stuck::Unread(fd, _) => Some(*fd),
        Stuck::Silent(_) => None,
    }) {
        let why = why_unreported(fd, &interest(server.as_fd()), edge);
        return Some(format!(
            "data left unread with {mode} events: {} connection(s) hold unread bytes ({}{}) and \
             epoll has nothing more to report, so their clients wait forever for their echo. \
             {why}. Data left unread.",
            unread.len(),
            unread
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if unread.len() > 3 { ", ..." } else { "" }
        ));
    }
    let silent: Vec<String> = stuck
        .iter()
        .filter_map(|s| match s {
            Stuck::Silent(fd) => Some(format!("fd {fd}")),
            Stuck::Unread(..) => None,
        })
        .collect();
    if !silent.is_empty() {
        // Edge-triggered, the end of file can come in the same edge as the last bytes: a
        // server that took a short read for a drained socket never reads it.
        let unread_eof = if edge {
            "; edge-triggered, it may have come with the last bytes, announced by the same \
             edge and by none after it: a read() shorter than the buffer does not mean the \
             socket is drained, read until read() fails with WouldBlock or returns 0"
        } else {
            ""
        };
        return Some(format!(
            "connection stalled: on {} connection(s) ({}{}) the client has sent everything and \
             closed its side, and has read all that came back; no byte waits in the socket \
             either way, only the client's end of file (a read() there returns 0), yet the \
             connection is still open and epoll has nothing more to report. Either the server \
             holds echo bytes it never writes (watch EPOLLOUT while bytes wait, and write them \
             when it comes), or it has not read that end of file{unread_eof}, or it does not \
             close a connection once the end of file has come and its echo is written. \
             Connection stalled.",
            silent.len(),
            silent
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if silent.len() > 3 { ", ..." } else { "" }
        ));
    }
    None
}
// ANCHOR_END: stall_check

fn serve(
    mut server: impl Server,
    edge: bool,
    listener: RawFd,
    baseline: &[OpenFd],
) -> Result<(), String> {
    let stdin = io::stdin();
    let mut line = Vec::new();
    let mut buf = [0u8; 512];
    let mut meter: Option<(String, Meter)> = None;
    let mut checks = true;
    loop {
        let timeout = if meter.is_some() || !checks {
            PollTimeout::NONE
        } else {
            PollTimeout::from(IDLE_MS)
        };
        let (server_ready, input_ready) = {
            let mut watched = [
                PollFd::new(server.as_fd(), PollFlags::POLLIN),
                PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut watched, timeout) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(err) => return Err(format!("poll failed: {err}")),
            }
            let is_ready = |fd: &PollFd<'_>| fd.revents().is_some_and(|r| !r.is_empty());
            (is_ready(&watched[0]), is_ready(&watched[1]))
        };
        if server_ready {
            server
                .turn(EpollTimeout::ZERO)
                .map_err(|err| match err.raw_os_error() {
                    // A connection's own errors: the peer left (EPIPE, ECONNRESET) or its
                    // socket broke; turn() must close that connection and go on.
                    Some(libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN | libc::ETIMEDOUT) => {
                        format!(
                            "the server failed: turn() returned {err}, an error of one \
                             connection (its client went away), and that ended the whole \
                             server. A connection's own errors only close that connection: \
                             turn() fails only when epoll_wait or accept fail. One client's \
                             error ended the server."
                        )
                    }
                    _ => format!("the server failed: {err}"),
                })?;
        }
        if input_ready {
            let n = nix::unistd::read(stdin.as_fd(), &mut buf).unwrap_or(0);
            if n == 0 {
                return Ok(());
            }
            line.extend_from_slice(&buf[..n]);
            while let Some(end) = line.iter().position(|&b| b == b'\n') {
                let command: Vec<u8> = line.drain(..=end).collect();
                let command = String::from_utf8_lossy(command.trim_ascii()).into_owned();
                match command.split_once(' ') {
                    None if command == "fds" => answer!("fds {}", open_fds().len()),
                    None if command == "conns" => {
                        answer!("connections {}", server.connections());
                    }
                    None if command == "done" => {
                        if edge && let Some(problem) = level_triggered(&server, listener) {
                            return Err(problem);
                        }
                        if let Some((name, meter)) = meter.take() {
                            meter.report();
                            let evidence = ready_for_nothing(&server, baseline);
                            if !evidence.is_empty() {
                                eprintln!("echo_server: during {name}: {}", evidence.join("; "));
                            }
                        }
                        // The load generator waits for this before its clients move again.
                        answer!("done");
                    }
                    // Kept for older load generators: nothing to do.
                    None if command == "sent" => {}
                    // The load generator sees nothing in flight: is there anything left for
                    // epoll to report?
                    None if command == "idle?" => {
                        let idle = !ready(server.as_fd());
                        answer!("idle {}", if idle { "yes" } else { "no" });
                    }
                    None if command == "disabled?" => {
                        const ARMED: u32 = (libc::EPOLLIN | libc::EPOLLOUT) as u32;
                        const ONESHOT: u32 = libc::EPOLLONESHOT as u32;
                        let disabled = interest(server.as_fd())
                            .iter()
                            .filter(|&&(fd, events)| {
                                fd != listener && events & ARMED == 0 && events & ONESHOT != 0
                            })
                            .count();
                        answer!("disabled {disabled}");
                    }
                    None if command == "quiet" => checks = false,
                    Some(("wait", name)) => {
                        meter = Some((name.to_owned(), Meter::start(name)));
                        // The load generator computes only once the meter runs: on a busy
                        // machine, a "wait" read late would measure a moment shorter than
                        // its work, and a spinning server could look asleep.
                        answer!("measuring");
                    }
                    _ => eprintln!(
                        "echo_server: unknown command {command:?} (known: fds, conns, wait NAME, done, \
                         idle?, disabled?, quiet)"
                    ),
                }
                let _ = io::stdout().flush();
            }
        }
        if !server_ready && !input_ready && meter.is_none() && checks {
            if let Some(problem) = stalled(&server, listener, baseline, edge) {
                return Err(problem);
            }
        }
    }
}

fn main() -> ExitCode {
    let mut args = usage::args("echo_server", USAGE, NEXT);
    let edge = args.flag("--edge");
    if let Some(other) = args.remaining().last() {
        args.fail(&format!("unexpected argument `{other}`"));
    }
    if edge {
        run_server(edge_triggered::EchoServer::new, true)
    } else {
        run_server(echo_server::EchoServer::new, false)
    }
}

/// Binds the socket, makes the server with `make`, serves until standard input ends, and
/// removes the socket: the whole demo, for the step's server or an oracle's.
pub fn run_server<S: Server>(
    make: impl FnOnce(UnixListener) -> io::Result<S>,
    edge: bool,
) -> ExitCode {
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
    let raw = listener.as_raw_fd();
    let result = make(listener)
        .map_err(|err| format!("cannot start the server: {err}"))
        .and_then(|server| run(server, edge, raw, &path));
    drop(dir);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("echo_server: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(server: impl Server, edge: bool, listener: RawFd, path: &Path) -> Result<(), String> {
    let baseline = open_fds();
    answer!("listening on {}", path.display());
    answer!("fds {}", baseline.len());
    let _ = io::stdout().flush();
    serve(server, edge, listener, &baseline)
}
