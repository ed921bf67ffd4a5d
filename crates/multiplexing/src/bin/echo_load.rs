//! Load generator for `multiplexing/echo_server` and `multiplexing/edge_triggered`.
//!
//! Starts the `echo_server` binary (with `--edge` when given), connects CLIENTS clients
//! (1,000 by default) so that they are all open at once, and drives them from one thread
//! with `poll`, in two rounds on the same connections:
//!
//! 1. every client sends a first message, then reads its echo. Every hundredth client
//!    sends 1 MiB, more than the sockets between it and the server hold, so the server has
//!    to keep what `write()` did not take, and reads it back slowly (4 KiB at a time); the
//!    others send 1 to 4,096 bytes;
//! 2. every client sends a second message and closes its sending side (`shutdown(Write)`),
//!    then reads until the server closes the connection. Every hundredth client (50, 150,
//!    ...) sends 512 KiB and reads nothing until the others are done: the server holds its
//!    echo, after its end of file, until it reads. Every hundredth client (25, 125, ...)
//!    sends 300 KiB and leaves without reading (`shutdown(Both)`): the server's next write
//!    fails with EPIPE, and it must close that connection like any other that failed.
//!
//! Between the steps it asks the server to measure its CPU time (`wait NAME`, `done`)
//! while it computes for 0.1 s of CPU with every client quiet: once all are connected,
//! once every first echo is back, and while the server holds the paused clients' echoes.
//! A server that sleeps in `epoll_wait` uses next to nothing then; under the tests'
//! watchdog the figures go to the test.
//!
//! Then it checks every echoed byte and that the server's descriptor count is back to its
//! baseline. Last, 10 more clients each send a short message, wait until its whole echo is
//! in their socket, and close it without reading: the server's next read on each fails with
//! ECONNRESET, and the server must close them too. Then the server must exit cleanly and
//! remove its socket file.
//!
//! The server is `echo_server` next to this binary, or the command in the environment
//! variable `ECHO_SERVER` (a program and its arguments, separated by spaces): the tests'
//! oracles start wrong servers this way.
//!
//! Usage: `echo_load [--edge] [CLIENTS]`, CLIENTS from 1 to 5000.

use multiplexing::{fds, usage};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use proctest::cpu::work;
use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "echo_load [--edge] [CLIENTS]   (CLIENTS: 1 to 5000, default 1000)";
const NEXT: &str = "then run `just check multiplexing/echo_server`";

/// The CPU time the load generator computes for while every client is quiet.
const QUIET_WORK: Duration = Duration::from_millis(100);
/// The first message of every hundredth client.
const BIG: usize = 1024 * 1024;
/// The second message of every hundredth client (50, 150, ...), read only after a pause.
const HELD: usize = 512 * 1024;
/// The second message of the rude clients, which leave without reading their echo: more
/// than the sockets hold, so that the server still has echo bytes to write when they go.
const RUDE: usize = 300 * 1024;

/// Whether `client` leaves without reading in round 2 (25, 125, ...): it shuts both
/// directions down once it has sent its second message, and the server's next write
/// fails (EPIPE). A broken connection is closed, like any other that failed.
fn rude(client: usize) -> bool {
    client % 100 == 25
}

/// How much a slow reader reads at a time.
const SLOW_READ: usize = 4096;

/// One client and where it stands.
struct Client {
    stream: UnixStream,
    /// The two messages, one per round.
    messages: [Vec<u8>; 2],
    /// The echo of each round.
    echoes: [Vec<u8>; 2],
    /// Bytes of the current round's message sent so far.
    sent: usize,
    /// The round: 0 or 1.
    round: usize,
    /// Reads at most [`SLOW_READ`] bytes at a time.
    slow: bool,
    /// Does not read (round 2 of the held clients, until the pause ends).
    paused: bool,
    /// Leaves without reading its second echo.
    rude: bool,
    /// The server closed the connection (or it failed): nothing more will come.
    done: bool,
    /// Why the connection failed, if it did.
    error: Option<String>,
}

impl Client {
    fn message(&self) -> &[u8] {
        &self.messages[self.round]
    }

    fn sending(&self) -> bool {
        !self.done && self.sent < self.message().len()
    }

    /// Nothing more will come in this round: the server closed the connection, or the
    /// first echo is as long as its message (the client then stops reading it).
    fn finished(&self) -> bool {
        self.done || (self.round == 0 && self.echoes[0].len() >= self.messages[0].len())
    }

    /// Still expecting bytes in this round.
    fn reading(&self) -> bool {
        !self.done
            && !self.sending()
            && (self.round == 1 || self.echoes[0].len() < self.messages[0].len())
    }

    fn events(&self) -> PollFlags {
        if self.sending() {
            PollFlags::POLLOUT
        } else if self.reading() && !self.paused {
            PollFlags::POLLIN
        } else {
            PollFlags::empty()
        }
    }
}

fn pattern(client: usize, round: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|j| ((client * 7 + round * 101 + j * 13 + j / 251) % 256) as u8)
        .collect()
}

fn first_len(client: usize) -> usize {
    if client % 100 == 0 {
        BIG
    } else {
        1 + (client * 37) % 4096
    }
}

fn second_len(client: usize) -> usize {
    if client % 100 == 50 {
        HELD
    } else if rude(client) {
        RUDE
    } else {
        1 + (client * 53) % 2048
    }
}

fn read_line(from: &mut BufReader<ChildStdout>) -> Result<String, String> {
    let mut line = String::new();
    match from.read_line(&mut line) {
        Ok(0) => Err("the server's output ended early (did it crash? see its error above)".into()),
        Ok(_) => Ok(line.trim_end().to_owned()),
        Err(err) => Err(format!("cannot read the server's output: {err}")),
    }
}

/// Asks the server how many connections its epoll watches for nothing (one-shot
/// registrations that fired and were never re-armed).
fn disabled(link: &mut Link) -> Result<usize, String> {
    writeln!(link.control, "disabled?")
        .and_then(|()| link.control.flush())
        .map_err(|e| format!("cannot talk to the server: {e}"))?;
    let line = link.answer()?;
    line.strip_prefix("disabled ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("the server answered {line:?} instead of `disabled N`"))
}

/// Asks the server what its `connections()` says, and checks it is `expected`.
fn check_connections(link: &mut Link, expected: usize, when: &str) -> Result<(), String> {
    writeln!(link.control, "conns")
        .and_then(|()| link.control.flush())
        .map_err(|e| format!("cannot talk to the server: {e}"))?;
    let line = link.answer()?;
    let said: usize = line
        .strip_prefix("connections ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("the server answered {line:?} instead of `connections N`"))?;
    if said == expected {
        Ok(())
    } else {
        Err(format!(
            "{when}, {expected} connection(s) are open, but the server's connections() says \
             {said}: it counts the connections in its table, added at accept and removed when \
             closed. connections() wrong."
        ))
    }
}

/// How long the server may take to answer a command. It reads commands between two turns,
/// so a server that does not answer in that time has been inside one `turn()` all along.
const ANSWER_WITHIN_MS: u16 = 10_000;

impl Link {
    /// The server's answer to the command just sent, or a diagnosis when it does not come.
    fn answer(&mut self) -> Result<String, String> {
        if self.answers.buffer().is_empty() {
            let mut watched = [PollFd::new(
                self.answers.get_ref().as_fd(),
                PollFlags::POLLIN,
            )];
            let ready = poll(&mut watched, PollTimeout::from(ANSWER_WITHIN_MS));
            if matches!(ready, Ok(0)) {
                // Running (or waiting for a core) means a loop; asleep, a call that blocks.
                let why = match proctest::child::process_state(self.server) {
                    Some(b'R') => {
                        "and it is running, not asleep in a system call: a loop in turn() \
                         never ends. A read() loop that goes on when read() returns 0 is one \
                         (the client closed its side: every later read() returns 0 again, so \
                         0 ends the loop and the connection); a write() retried on WouldBlock \
                         is another (while the server is inside turn(), the client is not \
                         reading, so its socket stays full: what write() did not take must \
                         wait in the connection for EPOLLOUT); a write() retried after another \
                         error, such as EPIPE (the client is gone for good: close the \
                         connection), is a third."
                    }
                    Some(b'S' | b'D') => {
                        "and it is asleep in a system call: a call that blocks, such as read() \
                         or write() on a connection left in blocking mode (set_nonblocking(true) \
                         on each accepted socket makes them fail with WouldBlock instead)."
                    }
                    _ => {
                        "and either a loop in turn() never ends (a read() loop that goes on \
                         at 0, or a write() retried on WouldBlock, say: the client does not \
                         read while the server is in turn()) or a call in it blocks."
                    }
                };
                return Err(format!(
                    "the server did not answer for {} s: it reads its commands between two calls \
                     of turn(), so one turn() has been running all that time while clients \
                     wait, {why} Server stuck in turn().",
                    ANSWER_WITHIN_MS / 1000
                ));
            }
        }
        read_line(&mut self.answers)
    }
}

fn fd_count(line: &str) -> Result<usize, String> {
    line.strip_prefix("fds ")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("the server answered {line:?} instead of `fds N`"))
}

/// One step of one client that `poll` reported ready.
fn step(c: &mut Client, buf: &mut [u8]) {
    if c.sending() {
        let (round, sent) = (c.round, c.sent);
        match c.stream.write(&c.messages[round][sent..]) {
            Ok(n) => {
                c.sent += n;
                if c.round == 1 && !c.sending() {
                    if c.rude {
                        let _ = c.stream.shutdown(Shutdown::Both);
                        c.done = true;
                    } else {
                        let _ = c.stream.shutdown(Shutdown::Write);
                    }
                }
            }
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
            Err(err) => {
                c.error = Some(format!(
                    "writing message {} failed after {} of {} bytes: {err}",
                    c.round + 1,
                    c.sent,
                    c.message().len()
                ));
                c.done = true;
            }
        }
        return;
    }
    let limit = if c.slow { SLOW_READ } else { buf.len() };
    match c.stream.read(&mut buf[..limit]) {
        Ok(0) => {
            c.done = true;
            if c.round == 0 {
                c.error = Some(format!(
                    "the server closed the connection after {} of the {} bytes of the first \
                     echo, although the client had not closed its side",
                    c.echoes[0].len(),
                    c.messages[0].len()
                ));
            }
        }
        Ok(n) => {
            let round = c.round;
            c.echoes[round].extend_from_slice(&buf[..n]);
            // An echo longer than its message is wrong already, and a server that writes
            // the same bytes again and again would otherwise fill this process's memory
            // before it ever closes the connection: the client stops reading there.
            if round == 1 && c.echoes[1].len() > c.messages[1].len() {
                c.done = true;
            }
        }
        Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
        Err(err) => {
            c.error = Some(format!("reading echo {} failed: {err}", c.round + 1));
            c.done = true;
        }
    }
}

/// The server's standard input (commands) and output (answers).
struct Link {
    control: ChildStdin,
    answers: BufReader<ChildStdout>,
    /// The server, whose state says why it does not answer.
    server: nix::unistd::Pid,
}

/// How long `poll` may report nothing before the load generator looks for a stall. Only a
/// pace for the look: what it finds does not depend on it.
const PATIENCE_MS: u16 = 200;

/// How many quiet waits of [`PATIENCE_MS`] in a row, with no byte moved and the server
/// not idle, make a server that does not serve: 10 s, far beyond any pause of a server that
/// works, even on a busy machine.
const PATIENT_WAITS: u32 = 50;

/// Every byte the clients have sent and received so far.
fn moved(clients: &[Client]) -> usize {
    clients
        .iter()
        .map(|c| c.sent + c.echoes[0].len() + c.echoes[1].len())
        .sum()
}

/// Bytes waiting to be read on `c`'s socket, and bytes it sent that the server has not read.
fn in_flight(c: &Client) -> (usize, usize) {
    let unread = fds::unread_bytes(c.stream.as_fd()).unwrap_or(0);
    let mut unsent: libc::c_int = 0;
    // SAFETY: SIOCOUTQ writes one c_int through a pointer to a live c_int.
    let ret = unsafe { libc::ioctl(c.stream.as_raw_fd(), libc::TIOCOUTQ, &mut unsent) };
    let unsent = if ret == 0 {
        usize::try_from(unsent).unwrap_or(0)
    } else {
        0
    };
    (unread, unsent)
}

/// Called when nothing has moved for a while: when clients wait for their echo, nothing is
/// in flight in either direction, and the server says epoll has nothing to report, nothing
/// will ever move again. Returns that diagnosis, refined by one experiment: the clients
/// that still had their sending side open close it, and what the server does then tells a
/// server that dropped the bytes (it closes the connection, the echo still short) from
/// one that kept them without watching EPOLLOUT (the end of file wakes it, and it writes
/// some).
fn stalled(clients: &mut [Client], link: &mut Link) -> Result<Option<String>, String> {
    let waiting: Vec<usize> = (0..clients.len())
        .filter(|&i| clients[i].reading() && !clients[i].paused)
        .collect();
    if waiting.is_empty()
        || clients
            .iter()
            .filter(|c| !c.done)
            .any(|c| in_flight(c) != (0, 0))
    {
        return Ok(None);
    }
    writeln!(link.control, "idle?")
        .and_then(|()| link.control.flush())
        .map_err(|e| format!("cannot talk to the server: {e}"))?;
    if link.answer()? != "idle yes" {
        return Ok(None);
    }
    let got = |c: &Client| c.echoes[c.round].len();
    let short: Vec<usize> = waiting
        .iter()
        .copied()
        .filter(|&i| got(&clients[i]) < clients[i].message().len())
        .collect();
    let Some(&first) = short.first() else {
        return Ok(Some(format!(
            "the server stalled: {} client(s) have their whole echo and have closed their \
             sending side, and wait for the server to close the connection; nothing is in \
             flight and the server's epoll has nothing to report. Close a connection once \
             read() has returned 0 and nothing is left to write. Connection never closed.",
            waiting.len()
        )));
    };
    let missing: usize = short
        .iter()
        .map(|&i| clients[i].message().len() - got(&clients[i]))
        .sum();
    let before: Vec<usize> = short.iter().map(|&i| got(&clients[i])).collect();
    let head = format!(
        "the server stalled: {} client(s) wait for the rest of their echo, {missing} bytes in \
         all (client {first} got {} of the {} bytes of message {}); nothing is in flight \
         between them and the server, and the server's epoll has nothing to report, so nothing \
         would ever move.",
        short.len(),
        before[0],
        clients[first].message().len(),
        clients[first].round + 1
    );
    // The experiment: an end of file from each client that could still send one.
    let nudged: Vec<usize> = short
        .iter()
        .copied()
        .filter(|&i| clients[i].round == 0)
        .collect();
    if !nudged.is_empty() {
        // The server's own stall checks would now find these connections idle: the
        // experiment's outcome is what counts.
        let _ = writeln!(link.control, "quiet").and_then(|()| link.control.flush());
    }
    for &i in &nudged {
        let _ = clients[i].stream.shutdown(Shutdown::Write);
    }
    let mut closed = vec![false; clients.len()];
    let mut buf = vec![0u8; 64 * 1024];
    if !nudged.is_empty() {
        loop {
            let open: Vec<usize> = nudged.iter().copied().filter(|&i| !closed[i]).collect();
            let ready: Vec<usize> = {
                let mut watched: Vec<PollFd<'_>> = open
                    .iter()
                    .map(|&i| PollFd::new(clients[i].stream.as_fd(), PollFlags::POLLIN))
                    .collect();
                let _ = poll(&mut watched, PollTimeout::from(PATIENCE_MS));
                open.iter()
                    .zip(&watched)
                    .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
                    .map(|(&i, _)| i)
                    .collect()
            };
            if ready.is_empty() {
                break;
            }
            for i in ready {
                let c = &mut clients[i];
                match c.stream.read(&mut buf) {
                    Ok(0) | Err(_) => closed[i] = true,
                    Ok(n) => c.echoes[c.round].extend_from_slice(&buf[..n]),
                }
            }
        }
    }
    let wrote_more = short
        .iter()
        .zip(&before)
        .find(|&(&i, &b)| got(&clients[i]) > b)
        .map(|(&i, &b)| (i, got(&clients[i]) - b));
    let dropped = nudged
        .iter()
        .find(|&&i| closed[i] && got(&clients[i]) < clients[i].message().len());
    for &i in &short {
        clients[i].done = true;
    }
    Ok(Some(match (wrote_more, dropped) {
        (Some((i, more)), _) => format!(
            "{head} When client {i} then closed its sending side, the server wrote {more} more \
             bytes of its echo: it had kept them, but waited for input to write them. When \
             write() does not take everything, watch EPOLLOUT and write the rest when it comes. \
             EPOLLOUT not watched."
        ),
        (None, Some(&i)) => format!(
            "{head} When client {i} then closed its sending side, the server closed the \
             connection without writing any more: the bytes write() did not take are gone. Keep \
             them in the connection and write them when epoll reports EPOLLOUT. Bytes dropped."
        ),
        (None, None) if disabled(link)? > 0 => format!(
            "{head} The server watches {} connection(s) for nothing: each was registered \
             with EPOLLONESHOT, which disabled it after its last event, and nobody re-armed \
             it. After handling a one-shot event, call modify with the events wanted again \
             (EPOLLOUT while bytes wait to be written). One-shot never re-armed.",
            disabled(link)?
        ),
        (None, None) => format!(
            "{head} The server holds echo bytes it never writes: when write() does not take \
             everything, keep the rest, watch EPOLLOUT, and write more when it comes. Echo \
             stalled."
        ),
    }))
}

/// Drives every client until none has anything left to do in this phase (each is done,
/// paused, or finished with its round), or until the server has stalled.
fn drive(clients: &mut [Client], link: &mut Link) -> Result<(), String> {
    let mut buf = vec![0u8; 64 * 1024];
    let (mut last_moved, mut quiet_waits) = (moved(clients), 0u32);
    loop {
        let active: Vec<usize> = (0..clients.len())
            .filter(|&i| !clients[i].events().is_empty())
            .collect();
        if active.is_empty() {
            return Ok(());
        }
        let ready: Vec<usize> = {
            let mut watched: Vec<PollFd<'_>> = active
                .iter()
                .map(|&i| PollFd::new(clients[i].stream.as_fd(), clients[i].events()))
                .collect();
            match poll(&mut watched, PollTimeout::from(PATIENCE_MS)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(err) => return Err(format!("poll failed: {err}")),
            }
            active
                .iter()
                .zip(&watched)
                .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
                .map(|(&i, _)| i)
                .collect()
        };
        if ready.is_empty() {
            if let Some(stall) = stalled(clients, link)? {
                return Err(stall);
            }
            // Nothing moved during this wait, yet the server is not idle (or bytes wait for
            // it): after PATIENT_WAITS such waits in a row, it is not serving at all.
            let now = moved(clients);
            if now == last_moved {
                quiet_waits += 1;
            } else {
                (last_moved, quiet_waits) = (now, 0);
            }
            if quiet_waits >= PATIENT_WAITS {
                // A server that does not even answer is stuck inside one turn().
                writeln!(link.control, "idle?")
                    .and_then(|()| link.control.flush())
                    .map_err(|e| format!("cannot talk to the server: {e}"))?;
                link.answer()?;
                return Err(format!(
                    "the server does not serve: for {} s not one byte moved between the clients \
                     and the server, although {} client(s) wait and the server was never idle \
                     (epoll had events for it, or bytes waited for it to read). turn() must \
                     handle what epoll_wait reports: accept on the listener, read and echo on \
                     a connection. Server not serving.",
                    u64::from(PATIENCE_MS) * u64::from(PATIENT_WAITS) / 1000,
                    clients.iter().filter(|c| !c.events().is_empty()).count()
                ));
            }
        }
        for i in ready {
            step(&mut clients[i], &mut buf);
        }
    }
}

/// Asks the server to measure its CPU time (`wait NAME`) while this process computes with
/// every client quiet, then ends the measure (`done`).
fn quiet_while_computing(link: &mut Link, name: &str) -> Result<(), String> {
    // A server that died is reported by the answer that does not come.
    let _ = writeln!(link.control, "wait {name}").and_then(|()| link.control.flush());
    // The whole of the work inside the server's measure: it has started its meter.
    link.answer()?;
    work(QUIET_WORK);
    let _ = writeln!(link.control, "done").and_then(|()| link.control.flush());
    // The server looks at its connections as they are now: no client moves until it has.
    link.answer().map(drop)
}

/// Waits (a little at a time, at most `limit`) until the server has read everything the
/// paused clients sent: nothing of theirs is left in the sockets (`SIOCOUTQ`).
fn until_read_by_server(clients: &[Client], limit: Duration) {
    let deadline = Instant::now() + limit;
    let unread = |c: &Client| {
        let mut count: libc::c_int = 0;
        // SAFETY: SIOCOUTQ writes one c_int through a pointer to a live c_int.
        let ret = unsafe { libc::ioctl(c.stream.as_raw_fd(), libc::TIOCOUTQ, &mut count) };
        ret == 0 && count > 0
    };
    while clients.iter().any(|c| c.paused && !c.done && unread(c)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// How an echo differs from its message, from what came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrong {
    /// A beginning of the message, then the connection closed.
    Short,
    /// Bytes the client had already received came back again.
    Twice,
    /// Bytes in the middle never came back; the echo goes on after them.
    Missing,
    /// Every byte came back, in another order.
    Reordered,
    /// Anything else.
    Other,
}

/// The smallest `d` in `1..=limit` for which `echo[at..]` goes on as `message[shifted(d)..]`
/// for a stretch long enough not to match by chance (the patterns repeat only every 64256
/// bytes); `None` when there is none.
fn shift(
    echo: &[u8],
    message: &[u8],
    at: usize,
    shifted: impl Fn(usize) -> Option<usize>,
) -> Option<usize> {
    let rest = &echo[at..];
    let window = rest.len().min(4096);
    if window < 16 {
        return None;
    }
    (1..=message.len()).find(|&d| {
        shifted(d).is_some_and(|from| {
            message
                .get(from..from + window)
                .is_some_and(|there| there == &rest[..window])
        })
    })
}

/// What went wrong with one client's echoes, if anything.
fn check(index: usize, c: &Client) -> Option<(Wrong, String)> {
    if let Some(err) = &c.error {
        return Some((Wrong::Other, format!("client {index}: {err}")));
    }
    for round in 0..=c.round {
        if round == 1 && c.rude {
            continue;
        }
        let (echo, message) = (&c.echoes[round], &c.messages[round]);
        if echo == message {
            continue;
        }
        let same = echo.iter().zip(message).take_while(|(a, b)| a == b).count();
        let reordered = echo.len() == message.len() && {
            let (mut a, mut b) = (echo.clone(), message.clone());
            a.sort_unstable();
            b.sort_unstable();
            a == b
        };
        let sent = format!(
            "client {index} sent {} bytes as message {} and got {} back",
            message.len(),
            round + 1,
            echo.len()
        );
        return Some(if reordered {
            (
                Wrong::Reordered,
                format!(
                    "client {index} sent {} bytes as message {} and got them all back, but out \
                     of order from byte {same} on: bytes read later were written before bytes \
                     the server still held (echo what is pending first, new bytes after it)",
                    message.len(),
                    round + 1
                ),
            )
        } else if same == echo.len() {
            (
                Wrong::Short,
                format!(
                    "client {index} sent {} bytes as message {} and got only {} back before the \
                     server closed the connection",
                    message.len(),
                    round + 1,
                    echo.len()
                ),
            )
        } else if let Some(d) = shift(echo, message, same, |d| same.checked_sub(d)) {
            (
                Wrong::Twice,
                format!(
                    "{sent}: from byte {same} on, bytes {}..{same}, which it had already \
                     received, came back again (bytes echoed twice)",
                    same - d
                ),
            )
        } else if let Some(d) = shift(echo, message, same, |d| Some(same + d)) {
            (
                Wrong::Missing,
                format!(
                    "{sent}: bytes {same}..{} never came back, and the echo goes on after them \
                     (bytes went missing)",
                    same + d
                ),
            )
        } else {
            (
                Wrong::Other,
                format!("{sent}, wrong from byte {same} on (bytes lost, repeated or out of order)"),
            )
        });
    }
    None
}

/// The clients whose echoes went wrong so far, as a failure, if any: the run stops there.
fn failed(clients: &[Client]) -> Result<(), Failure> {
    let failures: Vec<(Wrong, String)> = clients
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.error.is_some() || (c.finished() && !c.rude && c.echoes[c.round] != *c.message())
        })
        .filter_map(|(i, c)| check(i, c))
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Echo(failures))
    }
}

/// Why the run failed before the server was stopped.
enum Failure {
    /// Some clients' echoes were wrong: how, and one line each.
    Echo(Vec<(Wrong, String)>),
    /// Anything else, in a sentence.
    Other(String),
}

impl From<String> for Failure {
    fn from(msg: String) -> Self {
        Self::Other(msg)
    }
}

fn server_command(edge: bool) -> Result<Command, String> {
    let mut command = match std::env::var("ECHO_SERVER") {
        Ok(spec) => {
            let mut words = spec.split_whitespace();
            let program = words
                .next()
                .ok_or("ECHO_SERVER is empty: it names the server's program")?;
            let mut command = Command::new(program);
            command.args(words);
            command
        }
        Err(_) => {
            let exe =
                std::env::current_exe().map_err(|e| format!("cannot find my own binary: {e}"))?;
            Command::new(exe.with_file_name("echo_server"))
        }
    };
    if edge {
        command.arg("--edge");
    }
    Ok(command)
}

/// How many clients connect while the server is stopped: below any listen backlog, so
/// that a connect never blocks on a stopped server.
const BURST: usize = 32;

/// Stops the server (SIGSTOP) and waits until it is stopped, so that the clients that
/// connect next queue in its backlog. If the server has already exited, nothing happens
/// (the connects fail and say so); the exit is left for `wait` to collect.
fn stop(server: nix::unistd::Pid) {
    use nix::sys::signal::{Signal, kill};
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    if kill(server, Signal::SIGSTOP).is_ok() {
        let _ = waitid(
            Id::Pid(server),
            WaitPidFlag::WSTOPPED | WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
        );
    }
}

/// The order of an echo when new bytes come while old ones still wait in the server: one
/// client sends a message too big for its socket to hold the echo of, without reading,
/// so the server keeps the rest of the echo pending. Once the server has read everything
/// (or stopped reading), the server is stopped, the client reads a little (the socket has
/// room again) and sends a few new bytes, and the server goes on: it now has new bytes to
/// read and room to write. The echo must come back in order: pending bytes first.
fn overtake(path: &std::path::Path, server: nix::unistd::Pid) -> Result<String, Failure> {
    const OLD: usize = 384 * 1024;
    const NEW: usize = 4096;
    let fail =
        |what: &str, e: std::io::Error| Failure::Other(format!("the order check: {what}: {e}"));
    let mut stream = UnixStream::connect(path).map_err(|e| match e.raw_os_error() {
        // The server has stopped (its error comes from the server's side): nothing to say.
        Some(libc::ENOENT | libc::ECONNREFUSED) => Failure::Other(
            "the order check could not run: the server's socket is gone, the server has stopped"
                .to_owned(),
        ),
        _ => fail("cannot connect", e),
    })?;
    stream
        .set_nonblocking(true)
        .map_err(|e| fail("set_nonblocking", e))?;
    let old = pattern(4242, 0, OLD);
    let new = pattern(4243, 1, NEW);
    // Send as much of the old message as the server takes, without reading.
    let mut sent = 0;
    let mut quiet = 0;
    while sent < OLD && quiet < 200 {
        match stream.write(&old[sent..]) {
            Ok(n) => (sent, quiet) = (sent + n, 0),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                quiet += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => return Err(fail("sending", e)),
        }
    }
    // Until the server has read what was sent (or holds it unread for good).
    let unsent = |s: &UnixStream| {
        let mut count: libc::c_int = 0;
        // SAFETY: SIOCOUTQ writes one c_int through a pointer to a live c_int.
        let ret = unsafe { libc::ioctl(s.as_raw_fd(), libc::TIOCOUTQ, &mut count) };
        if ret == 0 { count } else { 0 }
    };
    let (mut last, mut still) = (unsent(&stream), 0);
    while last > 0 && still < 100 {
        std::thread::sleep(Duration::from_millis(5));
        let now = unsent(&stream);
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    stop(server);
    let mut echo = Vec::with_capacity(sent + NEW);
    let mut buf = vec![0u8; 64 * 1024];
    let first = match stream.read(&mut buf) {
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
        Err(e) => {
            resume(server);
            return Err(fail("reading", e));
        }
    };
    echo.extend_from_slice(&buf[..first]);
    let wrote = stream.write(&new);
    resume(server);
    let wrote = wrote.map_err(|e| fail("sending the new bytes", e))?;
    let expected: Vec<u8> = old[..sent].iter().chain(&new[..wrote]).copied().collect();
    let _ = stream.shutdown(Shutdown::Write);
    stream
        .set_nonblocking(false)
        .map_err(|e| fail("set_nonblocking", e))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| fail("set_read_timeout", e))?;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => echo.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(fail("reading the echo", e)),
        }
    }
    if echo == expected {
        // The amounts depend on how much the server reads ahead: not in the output.
        return Ok(
            "order: bytes held by the server, then new ones sent meanwhile, came back in order"
                .to_owned(),
        );
    }
    let same = echo
        .iter()
        .zip(&expected)
        .take_while(|(a, b)| a == b)
        .count();
    let mut sorted = (echo.clone(), expected.clone());
    sorted.0.sort_unstable();
    sorted.1.sort_unstable();
    Err(Failure::Other(if sorted.0 == sorted.1 {
        format!(
            "the echo came back whole but out of order from byte {same} on, for a client that \
             sent {sent} bytes, read {first} of the echo, then sent {wrote} more. The new bytes \
             were written while older ones still waited in the server: they overtook them. \
             Append new bytes to what is pending and write from its front. Echo out of order."
        )
    } else {
        format!(
            "a client sent {sent} bytes, read {first} of the echo, then sent {wrote} more, \
             and got {} bytes back, wrong from byte {same} on",
            echo.len()
        )
    }))
}

/// Lets a stopped server go on (SIGCONT).
fn resume(server: nix::unistd::Pid) {
    let _ = nix::sys::signal::kill(server, nix::sys::signal::Signal::SIGCONT);
}

/// The clients of the last phase, which close their socket with their echo unread.
const RESETS: usize = 10;

/// The last phase, once everything else is checked: RESETS clients connect, send a short
/// message, wait until its whole echo is in their socket, and close the socket without
/// reading it. A Unix socket closed with unread bytes resets its peer: the server's next
/// `read()` on those connections fails with ECONNRESET, and nothing else happens to them
/// (their echo is written, nothing is pending). The server must close them all; an
/// edge-triggered server that takes the error for WouldBlock gets no new edge and keeps
/// them open forever.
fn resets(path: &std::path::Path, link: &mut Link, baseline: usize) -> Result<(), Failure> {
    let mut streams = Vec::with_capacity(RESETS);
    for i in 0..RESETS {
        let message = pattern(i, 2, 64 + i);
        let mut stream = UnixStream::connect(path)
            .map_err(|e| format!("closing client {i} cannot connect: {e}"))?;
        stream
            .write_all(&message)
            .map_err(|e| format!("closing client {i} cannot send: {e}"))?;
        streams.push((stream, message.len()));
    }
    for (i, (stream, len)) in streams.iter().enumerate() {
        let until = Instant::now() + Duration::from_secs(10);
        while fds::unread_bytes(stream.as_fd()).unwrap_or(0) < *len {
            let mut watched = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut watched, PollTimeout::from(100u16));
            if Instant::now() >= until {
                return Err(Failure::Other(format!(
                    "client {i} of the last {RESETS} sent {len} bytes and got {} of them back \
                     within 10 s: the server stopped echoing",
                    fds::unread_bytes(stream.as_fd()).unwrap_or(0)
                )));
            }
        }
    }
    drop(streams);
    // The server closes them as it handles their events: ask until its count is back to
    // the baseline, for 5 s at most (a right server takes milliseconds).
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        link.control
            .write_all(b"fds\n")
            .and_then(|()| link.control.flush())
            .map_err(|e| Failure::Other(format!("cannot talk to the server: {e}")))?;
        let now = fd_count(&link.answer()?)?;
        if now <= baseline {
            return Ok(());
        }
        if Instant::now() >= until {
            let kept = now - baseline;
            return Err(Failure::Other(format!(
                "{kept} of the {RESETS} connections whose client closed its socket with its \
                 echo unread were still open 5 s later. A Unix socket closed with unread bytes \
                 resets its peer: the server's read() on such a connection fails with \
                 ECONNRESET, once, and no new event comes for it. A read error other than \
                 WouldBlock and Interrupted ends the connection: close it. Descriptors leaked."
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn run(edge: bool, count: usize) -> Result<(), String> {
    fds::raise_nofile(u64::try_from(count).expect("small") + 64)
        .map_err(|msg| format!("{count} clients need as many descriptors: {msg}"))?;
    let mut command = server_command(edge)?;
    let mut server = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot start {:?}: {e} (build it with `cargo build -p multiplexing`)",
                command.get_program()
            )
        })?;
    let mut link = Link {
        control: server.stdin.take().expect("piped"),
        answers: BufReader::new(server.stdout.take().expect("piped")),
        server: nix::unistd::Pid::from_raw(i32::try_from(server.id()).expect("pid")),
    };
    let outcome = (|| -> Result<PathBuf, Failure> {
        let listening = read_line(&mut link.answers)?;
        let path = PathBuf::from(listening.strip_prefix("listening on ").ok_or_else(|| {
            format!("the server said {listening:?} instead of `listening on PATH`")
        })?);
        let baseline = fd_count(&read_line(&mut link.answers)?)?;
        println!(
            "server: {} epoll",
            if edge {
                "edge-triggered"
            } else {
                "level-triggered"
            }
        );
        let mut clients = Vec::with_capacity(count);
        let server_pid = nix::unistd::Pid::from_raw(i32::try_from(server.id()).expect("pid"));
        for i in 0..count {
            // Clients arrive in bursts, as they do on a real server: every BURST clients
            // the server is stopped, the next BURST connect while it cannot accept, and it
            // goes on. It then finds several connections pending behind one readiness event
            // (edge-triggered: one edge), which a server accepting once per event misses
            // on every run, not only when the scheduler happens to queue two.
            if i % BURST == 0 {
                if i > 0 {
                    resume(server_pid);
                }
                stop(server_pid);
            }
            let stream = UnixStream::connect(&path).map_err(|e| {
                resume(server_pid);
                format!("client {i} cannot connect: {e}")
            })?;
            stream.set_nonblocking(true).map_err(|e| {
                resume(server_pid);
                format!("client {i}: {e}")
            })?;
            clients.push(Client {
                stream,
                messages: [pattern(i, 0, first_len(i)), pattern(i, 1, second_len(i))],
                echoes: [Vec::new(), Vec::new()],
                sent: 0,
                round: 0,
                slow: first_len(i) == BIG,
                paused: false,
                rude: false,
                done: false,
                error: None,
            });
        }
        resume(server_pid);
        println!("{count} clients connected at once");
        quiet_while_computing(&mut link, "connected_and_quiet")?;

        // Round 1: send, then read the echo, slowly for the big ones.
        drive(&mut clients, &mut link).map_err(Failure::Other)?;
        failed(&clients)?;
        check_connections(&mut link, count, "once every first echo had come back")?;
        quiet_while_computing(&mut link, "every_echo_written")?;

        // Round 2: send and close the sending side; the held clients read nothing yet.
        for (i, c) in clients.iter_mut().enumerate() {
            c.round = 1;
            c.sent = 0;
            c.slow = second_len(i) == HELD;
            c.paused = c.slow;
            c.rude = rude(i);
        }
        drive(&mut clients, &mut link).map_err(Failure::Other)?;
        failed(&clients)?;
        until_read_by_server(&clients, Duration::from_secs(5));
        quiet_while_computing(&mut link, "holding_echoes_after_eof")?;
        for c in &mut clients {
            c.paused = false;
        }
        drive(&mut clients, &mut link).map_err(Failure::Other)?;

        failed(&clients)?;
        let kinds = |round: usize, special: usize| {
            clients
                .iter()
                .filter(|c| c.messages[round].len() == special)
                .count()
        };
        let (bigs, held, rudes) = (kinds(0, BIG), kinds(1, HELD), kinds(1, RUDE));
        println!(
            "round 1: {count} echoes checked byte for byte: {bigs} of {BIG} bytes (read 4 KiB at \
             a time),\n         {} of 1 to 4096 bytes",
            count - bigs
        );
        println!(
            "round 2: {} echoes checked byte for byte: {held} of {HELD} bytes (read after a \
             pause,\n         after the end of file), {} of 1 to 2048 bytes; {rudes} clients \
             left without reading theirs",
            count - rudes,
            count - held - rudes
        );
        drop(clients);
        println!("{}", overtake(&path, server_pid)?);
        link.control
            .write_all(b"fds\n")
            .and_then(|()| link.control.flush())
            .map_err(|e| Failure::Other(format!("cannot talk to the server: {e}")))?;
        let after = fd_count(&link.answer()?)?;
        if after != baseline {
            let extra = after.saturating_sub(baseline);
            let why = if extra > 0 && extra <= rudes {
                format!(
                    " ({extra}, no more than the {rudes} clients that left without reading: \
                     when a client is gone, write() fails with EPIPE, and an error on a \
                     connection closes it)"
                )
            } else {
                String::new()
            };
            return Err(Failure::Other(format!(
                "the server has {after} descriptors open after every client left, {baseline} \
                 before the first came: it does not close finished connections{why}. \
                 Descriptors leaked."
            )));
        }
        check_connections(&mut link, 0, "after every client left")?;
        println!("server descriptors after every client left: back to its baseline");
        resets(&path, &mut link, baseline)?;
        println!(
            "{RESETS} clients closed with their echo unread (ECONNRESET at the server): all closed"
        );
        Ok(path)
    })();
    // The end of its standard input stops the server. One stuck inside turn() never reads
    // it: after a few seconds it is killed (its socket directory goes with the test's).
    drop(link);
    let deadline = Instant::now() + Duration::from_secs(5);
    while matches!(server.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if matches!(server.try_wait(), Ok(None)) {
        let _ = server.kill();
    }
    let status = server
        .wait()
        .map_err(|e| format!("waiting for the server: {e}"))?;
    let path = match outcome {
        Ok(path) => path,
        Err(Failure::Other(msg)) => return Err(msg),
        Err(Failure::Echo(failures)) => {
            let all = |wrong: Wrong| failures.iter().all(|(w, _)| *w == wrong);
            let how = if all(Wrong::Reordered) {
                "got their bytes back out of order"
            } else if all(Wrong::Twice) {
                "got bytes back twice"
            } else if all(Wrong::Missing) {
                "got their echo with bytes missing in the middle"
            } else {
                "did not get their whole messages back"
            };
            let mut text = format!("{} of {count} clients {how}:\n", failures.len());
            // Two examples; the others of the same kind add nothing but their numbers.
            for (_, failure) in failures.iter().take(2) {
                text.push_str(&format!("  {failure}\n"));
            }
            if failures.len() > 2 {
                let more = failures.len() - 2;
                let clients = if more == 1 { "client" } else { "clients" };
                text.push_str(&format!("  ... and {more} more {clients} alike\n"));
            }
            let any = |wrong: Wrong| failures.iter().any(|(w, _)| *w == wrong);
            text.push_str(if !status.success() {
                "The server stopped on an error (its error is above), which closed these connections."
            } else if any(Wrong::Twice) {
                "The server echoed bytes twice: after a partial write (or WouldBlock), only what write() did not take is still pending; what it took is already on its way. Remove from the front of what is pending exactly what each write() returns. Bytes echoed twice."
            } else if any(Wrong::Missing) {
                "Bytes went missing in the middle of an echo: what write() did not take must stay pending, in front of anything read later, until epoll reports EPOLLOUT and it is written. Bytes lost."
            } else if any(Wrong::Reordered) {
                "Bytes came back out of order: new bytes were written while older ones still waited in the server. Append new bytes to what is pending and write from its front. Echo out of order."
            } else if failures.iter().all(|(w, _)| *w == Wrong::Short) {
                "The server closed these connections before echoing everything: it dropped bytes. write() takes only what fits in the client's socket (a partial write, or WouldBlock); the rest must wait in the connection until epoll reports EPOLLOUT, and a connection must stay open after the client's end of file until its pending bytes are written. Bytes dropped."
            } else {
                "Each note above says from which byte the echo went wrong: every byte read must be echoed, in order, exactly once. Echo wrong."
            });
            return Err(text);
        }
    };
    if !status.success() {
        return Err(format!(
            "the server ended with {status} (see its error above)"
        ));
    }
    if path.exists() {
        return Err(format!(
            "the server left its socket file {}",
            path.display()
        ));
    }
    println!("server exited cleanly and removed its socket file");
    Ok(())
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = usage::args("echo_load", USAGE, NEXT);
    let edge = args.flag("--edge");
    let count = usage::number_arg(&mut args, 1000, "CLIENTS", 1..=5000);
    match run(edge, usize::try_from(count).expect("small")) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            let _ = io::stdout().flush();
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}
