//! Not a demo: wrong (and some right) solutions of this topic's steps, run inside the real
//! demos by the tests' oracles, which prove that the checks fail each wrong one with a
//! message naming its cause and pass the right ones, however they are written.
//!
//! Usage: `oracles FIXTURE [DEMO ARGS...]`, where FIXTURE is one of the names listed by
//! `oracles` without arguments. A `readiness-*` fixture runs the `readiness` demo with its
//! own `collect`; an `echo-*` fixture is an echo server, run by `echo_load` through its
//! `ECHO_SERVER` variable (`ECHO_SERVER="oracles echo-read-once" echo_load --edge`).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, IntoRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::ExitCode;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};

#[allow(dead_code, unreachable_pub)] // the demo's `main` is not used here
#[path = "readiness.rs"]
mod readiness_demo;

#[allow(dead_code, unreachable_pub)] // the demo's `main` is not used here
#[path = "echo_server.rs"]
mod echo_demo;

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
        "readiness-shifted-index",
        shifted_index,
        "polls the pipes still open, takes the position in that list for the pipe",
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
    (
        "readiness-epoll",
        with_epoll,
        "right: epoll instead of poll, level-triggered",
    ),
    (
        "readiness-fixed-list",
        fixed_list,
        "right: one poll list for good, fd -1 for a pipe that has ended",
    ),
];

/// The echo fixtures: (name, the server's mistakes, what it does).
const ECHO: &[(&str, Faults, &str)] = &[
    (
        "echo-drops-unwritten",
        Faults {
            drops_unwritten: true,
            ..Faults::NONE
        },
        "writes once and drops what write() did not take (the starter of step 2)",
    ),
    (
        "echo-keeps-what-it-wrote",
        Faults {
            keeps_written: true,
            ..Faults::NONE
        },
        "after a partial write keeps everything pending, also what write() took",
    ),
    (
        "echo-epollout-always",
        Faults {
            epollout_always: true,
            ..Faults::NONE
        },
        "registers EPOLLIN | EPOLLOUT at accept and never changes it",
    ),
    (
        "echo-epollout-kept",
        Faults {
            epollout_kept: true,
            ..Faults::NONE
        },
        "adds EPOLLOUT when bytes wait, never removes it",
    ),
    (
        "echo-epollin-after-eof",
        Faults {
            epollin_after_eof: true,
            ..Faults::NONE
        },
        "keeps EPOLLIN after the end of file",
    ),
    (
        "echo-no-epollout",
        Faults {
            no_epollout: true,
            ..Faults::NONE
        },
        "never watches EPOLLOUT: waiting bytes go out only when more input comes",
    ),
    (
        "echo-closes-at-eof",
        Faults {
            closes_at_eof: true,
            ..Faults::NONE
        },
        "closes the connection at the end of file, bytes still waiting",
    ),
    (
        "echo-never-closes",
        Faults {
            never_closes: true,
            ..Faults::NONE
        },
        "never closes a connection after its end of file",
    ),
    (
        "echo-read-once",
        Faults {
            read_once: true,
            ..Faults::NONE
        },
        "reads once per event (the starter of step 3, with EPOLLET)",
    ),
    (
        "echo-new-first",
        Faults {
            new_first: true,
            ..Faults::NONE
        },
        "writes new bytes before the ones still pending",
    ),
    (
        "echo-level-connections",
        Faults {
            no_et_on_connections: true,
            ..Faults::NONE
        },
        "registers its connections without EPOLLET (only the listener has it)",
    ),
    (
        "echo-accept-once",
        Faults {
            accept_once: true,
            ..Faults::NONE
        },
        "accepts one client per event of the listener",
    ),
    (
        "echo-oneshot-never-rearmed",
        Faults {
            oneshot: true,
            never_rearms: true,
            ..Faults::NONE
        },
        "registers with EPOLLONESHOT and never re-arms",
    ),
    (
        "echo-ignores-hangup",
        Faults {
            writes_on_epollout_only: true,
            ignores_hangup: true,
            ..Faults::NONE
        },
        "writes only on EPOLLOUT and ignores EPOLLHUP: a client that left keeps it awake",
    ),
    (
        "echo-ignores-write-errors",
        Faults {
            ignores_write_errors: true,
            ..Faults::NONE
        },
        "takes any write error for WouldBlock: a broken connection stays open",
    ),
    (
        "echo-ignores-read-errors",
        Faults {
            ignores_read_errors: true,
            ..Faults::NONE
        },
        "takes any read error for WouldBlock: a reset connection stays open (no new edge)",
    ),
    (
        "echo-retries-write-errors",
        Faults {
            retries_write_errors: true,
            ..Faults::NONE
        },
        "retries write() after any error, as if interrupted: stuck once a client is gone",
    ),
    (
        "echo-serves-nothing",
        Faults {
            serves_nothing: true,
            ..Faults::NONE
        },
        "accepts, but never handles an event of a connection",
    ),
    (
        "echo-write-on-epollout",
        Faults {
            writes_on_epollout_only: true,
            ..Faults::NONE
        },
        "right: writes only when EPOLLOUT comes, never at once",
    ),
    (
        "echo-notes-edge",
        Faults {
            epollout_always: true,
            ..Faults::NONE
        },
        "right with --edge: EPOLLIN | EPOLLOUT | EPOLLET once at accept (the notes' way)",
    ),
    (
        "echo-oneshot-rearmed",
        Faults {
            oneshot: true,
            ..Faults::NONE
        },
        "right: EPOLLONESHOT, re-armed after every event",
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
    if let Some((_, faults, _)) = ECHO.iter().find(|(name, _, _)| *name == fixture) {
        let edge = args.iter().any(|a| a == "--edge");
        let faults = *faults;
        return echo_demo::run_server(move |listener| Fixture::new(listener, faults, edge), edge);
    }
    eprintln!("usage: oracles FIXTURE [DEMO ARGS...]\nfixtures:");
    for (name, _, what) in READINESS {
        eprintln!("  {name}: {what}");
    }
    for (name, _, what) in ECHO {
        eprintln!("  {name}: {what}");
    }
    ExitCode::from(2)
}

/// The mistakes an echo server can make (all false: the reference's behaviour).
#[derive(Debug, Clone, Copy)]
struct Faults {
    drops_unwritten: bool,
    epollout_always: bool,
    epollout_kept: bool,
    epollin_after_eof: bool,
    no_epollout: bool,
    closes_at_eof: bool,
    never_closes: bool,
    read_once: bool,
    accept_once: bool,
    oneshot: bool,
    never_rearms: bool,
    writes_on_epollout_only: bool,
    serves_nothing: bool,
    ignores_write_errors: bool,
    /// Takes any read error (ECONNRESET) for WouldBlock.
    ignores_read_errors: bool,
    ignores_hangup: bool,
    retries_write_errors: bool,
    /// Connections without EPOLLET (the listener keeps it): level-triggered again.
    no_et_on_connections: bool,
    /// Writes new bytes at once, before the ones still pending (they overtake them).
    new_first: bool,
    /// After a partial write, keeps everything pending, also what write() took: those
    /// bytes go out twice.
    keeps_written: bool,
}

impl Faults {
    const NONE: Self = Self {
        drops_unwritten: false,
        epollout_always: false,
        epollout_kept: false,
        epollin_after_eof: false,
        no_epollout: false,
        closes_at_eof: false,
        never_closes: false,
        read_once: false,
        accept_once: false,
        oneshot: false,
        never_rearms: false,
        writes_on_epollout_only: false,
        serves_nothing: false,
        ignores_write_errors: false,
        ignores_read_errors: false,
        ignores_hangup: false,
        retries_write_errors: false,
        no_et_on_connections: false,
        new_first: false,
        keeps_written: false,
    };
}

const LISTENER: u64 = u64::MAX;

struct Conn {
    stream: UnixStream,
    pending: Vec<u8>,
    eof: bool,
    interest: EpollFlags,
    /// EPOLLOUT was added once (for `epollout_kept`).
    wrote_late: bool,
}

/// An echo server with the reference's structure and the mistakes in `faults`.
struct Fixture {
    epoll: Epoll,
    listener: UnixListener,
    conns: HashMap<u64, Conn>,
    events: Vec<EpollEvent>,
    faults: Faults,
    edge: bool,
}

impl AsFd for Fixture {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.0.as_fd()
    }
}

impl echo_demo::Server for Fixture {
    fn connections(&self) -> usize {
        self.conns.len()
    }

    fn turn(&mut self, timeout: EpollTimeout) -> io::Result<usize> {
        let n = match self.epoll.wait(&mut self.events, timeout) {
            Ok(n) => n,
            Err(Errno::EINTR) => 0,
            Err(errno) => return Err(errno.into()),
        };
        for i in 0..n {
            let event = self.events[i];
            if event.data() == LISTENER {
                self.accept()?;
            } else {
                self.serve(event.data(), event.events());
            }
        }
        Ok(n)
    }
}

impl Fixture {
    fn new(listener: UnixListener, faults: Faults, edge: bool) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        let mut flags = EpollFlags::EPOLLIN;
        if edge {
            flags |= EpollFlags::EPOLLET;
        }
        epoll.add(&listener, EpollEvent::new(flags, LISTENER))?;
        Ok(Self {
            epoll,
            listener,
            conns: HashMap::new(),
            events: vec![EpollEvent::empty(); 256],
            faults,
            edge,
        })
    }

    fn base(&self) -> EpollFlags {
        let mut flags = EpollFlags::empty();
        if self.edge && !self.faults.no_et_on_connections {
            flags |= EpollFlags::EPOLLET;
        }
        if self.faults.oneshot {
            flags |= EpollFlags::EPOLLONESHOT;
        }
        flags
    }

    fn accept(&mut self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(true)?;
                    let token = stream.as_raw_fd() as u64;
                    let mut interest = self.base() | EpollFlags::EPOLLIN;
                    if self.faults.epollout_always {
                        interest |= EpollFlags::EPOLLOUT;
                    }
                    self.epoll.add(&stream, EpollEvent::new(interest, token))?;
                    let conn = Conn {
                        stream,
                        pending: Vec::new(),
                        eof: false,
                        interest,
                        wrote_late: false,
                    };
                    self.conns.insert(token, conn);
                    if self.faults.accept_once {
                        return Ok(());
                    }
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }

    fn serve(&mut self, token: u64, events: EpollFlags) {
        let (faults, edge, base) = (self.faults, self.edge, self.base());
        if faults.serves_nothing {
            return;
        }
        let Some(conn) = self.conns.get_mut(&token) else {
            return;
        };
        let open = matches!(on_event(conn, events, faults, edge), Ok(true));
        if open {
            if (faults.oneshot && faults.never_rearms) || faults.epollout_always {
                return;
            }
            let mut wanted = base;
            if !conn.eof || faults.epollin_after_eof {
                wanted |= EpollFlags::EPOLLIN;
            }
            if !conn.pending.is_empty() && !faults.no_epollout {
                wanted |= EpollFlags::EPOLLOUT;
                conn.wrote_late = true;
            }
            if faults.epollout_kept && conn.wrote_late {
                wanted |= EpollFlags::EPOLLOUT;
            }
            if wanted != conn.interest || faults.oneshot {
                let mut event = EpollEvent::new(wanted, token);
                if self.epoll.modify(&conn.stream, &mut event).is_ok() {
                    conn.interest = wanted;
                    return;
                }
            } else {
                return;
            }
        }
        if let Some(conn) = self.conns.remove(&token) {
            let _ = self.epoll.delete(&conn.stream);
        }
    }
}

/// One event of one connection; whether it stays open.
fn on_event(conn: &mut Conn, events: EpollFlags, faults: Faults, edge: bool) -> io::Result<bool> {
    let readable = EpollFlags::EPOLLIN | EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR;
    if events.intersects(readable) && !conn.eof {
        let mut buf = [0u8; 4096];
        loop {
            match conn.stream.read(&mut buf) {
                Ok(0) => {
                    conn.eof = true;
                    break;
                }
                Ok(n) if faults.new_first => {
                    // The fresh bytes first; what the socket does not take joins the queue.
                    let written = match conn.stream.write(&buf[..n]) {
                        Ok(written) => written,
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => 0,
                        Err(err) => return Err(err),
                    };
                    conn.pending.extend_from_slice(&buf[written..n]);
                }
                Ok(n) => conn.pending.extend_from_slice(&buf[..n]),
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => break,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) if faults.ignores_read_errors => break,
                Err(err) => return Err(err),
            }
            // Level-triggered: once is enough; edge-triggered: until WouldBlock.
            if !edge || faults.read_once {
                break;
            }
        }
    }
    if faults.closes_at_eof && conn.eof {
        return Ok(false);
    }
    // A broken connection reports EPOLLHUP or EPOLLERR: the write then fails and closes it.
    let hangup = if faults.ignores_hangup {
        EpollFlags::empty()
    } else {
        EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR
    };
    let may_write =
        !faults.writes_on_epollout_only || events.intersects(EpollFlags::EPOLLOUT | hangup) || edge;
    if may_write {
        while !conn.pending.is_empty() {
            match conn.stream.write(&conn.pending) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) if faults.keeps_written && n < conn.pending.len() => break,
                Ok(n) => {
                    conn.pending.drain(..n);
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                    if faults.drops_unwritten {
                        conn.pending.clear();
                    }
                    break;
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(_) if faults.ignores_write_errors => break,
                Err(_) if faults.retries_write_errors => {}
                Err(err) => return Err(err),
            }
            if faults.drops_unwritten {
                conn.pending.clear();
            }
        }
    }
    Ok(faults.never_closes || !(conn.eof && conn.pending.is_empty()))
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

fn shifted_index(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    let mut outputs = vec![Vec::new(); pipes.len()];
    let mut open: Vec<File> = pipes.into_iter().map(File::from).collect();
    let mut buf = [0u8; 16 * 1024];
    while !open.is_empty() {
        let mut fds: Vec<PollFd<'_>> = open
            .iter()
            .map(|file| PollFd::new(file.as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(errno) => return Err(errno.into()),
        }
        let ready: Vec<usize> = fds
            .iter()
            .enumerate()
            .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect();
        drop(fds);
        let mut ended = Vec::new();
        for i in ready {
            // The mistake: `i` is a place in `open`, which loses the pipes that ended.
            match open[i].read(&mut buf)? {
                0 => ended.push(i),
                n => outputs[i].extend_from_slice(&buf[..n]),
            }
        }
        for i in ended.into_iter().rev() {
            open.remove(i);
        }
    }
    Ok(outputs)
}

fn fixed_list(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    let mut open = files(pipes);
    let mut outputs = vec![Vec::new(); open.len()];
    let mut fds: Vec<libc::pollfd> = open
        .iter()
        .map(|file| libc::pollfd {
            fd: file.as_ref().map_or(-1, AsRawFd::as_raw_fd),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    while open.iter().any(Option::is_some) {
        let count = libc::nfds_t::try_from(fds.len()).expect("a few pipes");
        // SAFETY: poll reads and writes `count` pollfds, all in `fds`, for the call only.
        if unsafe { libc::poll(fds.as_mut_ptr(), count, -1) } < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        for (i, fd) in fds.iter_mut().enumerate() {
            if fd.revents != 0 && !read_once(&mut open, &mut outputs, i)? {
                // A negative fd: poll skips the place and the others keep theirs.
                fd.fd = -1;
            }
        }
    }
    Ok(outputs)
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

fn with_epoll(pipes: Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>> {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
    let mut open = files(pipes);
    for (i, file) in open.iter().enumerate() {
        if let Some(file) = file {
            epoll.add(file, EpollEvent::new(EpollFlags::EPOLLIN, i as u64))?;
        }
    }
    let mut outputs = vec![Vec::new(); open.len()];
    let mut events = [EpollEvent::empty(); 8];
    while open.iter().any(Option::is_some) {
        let n = match epoll.wait(&mut events, EpollTimeout::NONE) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno.into()),
        };
        for event in &events[..n] {
            let i = usize::try_from(event.data()).expect("an index");
            // read_once closes the pipe at its end of file, which removes it from epoll.
            read_once(&mut open, &mut outputs, i)?;
        }
    }
    Ok(outputs)
}
