//! Multiplexing, step 2: a single-threaded echo server with level-triggered epoll.
//!
//! Task: `EchoServer` accepts clients on a UNIX domain socket and sends every byte it
//! reads back to the client that sent it, all on one thread: the listener and every
//! connection are non-blocking and registered in one epoll instance, and `turn()` handles
//! whatever `epoll_wait` reports. A client closes its sending side when it is done
//! (`shutdown(Write)`); the server then finishes echoing and closes the connection.
//! Invariant: every byte read is echoed, in order, exactly once, even when the client's
//! socket is full and `write()` takes only part of it (or fails with `WouldBlock`).
//! Whatever `write()` did not take waits in the connection and goes out when epoll
//! reports EPOLLOUT; EPOLLOUT is watched only while such bytes wait (a socket is
//! writable nearly always, so watching it all the time would wake the server for
//! nothing, over and over, in level-triggered mode).
//! Time budget: each load test gets 60 s, extended while a process computes (up to 3
//! minutes, for a debug build on a busy machine); a working server takes a few seconds.
//! Done when `just check multiplexing/echo_server` (or `cargo course check
//! multiplexing/echo_server`) passes: the load generator's 1,000 clients, some of them
//! sending 1 MiB before reading anything, all get their bytes back.

use nix::errno::Errno;
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::{UnixListener, UnixStream};

/// The epoll token of the listener; a connection's token is its descriptor number.
const LISTENER: u64 = u64::MAX;

/// How many bytes one `read()` asks for.
pub const READ_SIZE: usize = 4096;

/// One client connection.
#[derive(Debug)]
struct Connection {
    stream: UnixStream,
    // TODO: a connection needs more state than its socket: the bytes read but not yet
    // written back, whether the client has closed its sending side, and which events
    // it is registered for right now.
}

impl Connection {
    /// Handles one event. Returns whether the connection stays open.
    fn on_event(&mut self, events: EpollFlags) -> io::Result<bool> {
        let readable = EpollFlags::EPOLLIN | EpollFlags::EPOLLHUP | EpollFlags::EPOLLERR;
        if !events.intersects(readable) {
            return Ok(true);
        }
        // Level-triggered: one read per event is enough, epoll reports the connection
        // again while unread bytes remain.
        let mut buf = [0u8; READ_SIZE];
        match self.stream.read(&mut buf) {
            // TODO: the client closed its sending side, but bytes may still wait to be
            // echoed: close only once they are all written.
            Ok(0) => Ok(false),
            // ANCHOR: write_once
            Ok(n) => {
                // TODO: write() may take only part of the bytes, or fail with
                // WouldBlock when the client's socket is full (a client that sends a
                // lot before reading anything). Ignoring that drops the rest of the
                // echo. Keep what was not written in the connection and send it when
                // epoll reports EPOLLOUT.
                let _ = self.stream.write(&buf[..n]);
                Ok(true)
            }
            // ANCHOR_END: write_once
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(true)
            }
            Err(err) => Err(err),
        }
    }
}

/// A single-threaded echo server: one epoll instance, a listener, its connections.
#[derive(Debug)]
pub struct EchoServer {
    epoll: Epoll,
    listener: UnixListener,
    connections: HashMap<u64, Connection>,
    events: Vec<EpollEvent>,
}

impl EchoServer {
    /// Makes `listener` non-blocking and registers it in a new epoll instance.
    ///
    /// # Errors
    ///
    /// When the epoll instance cannot be created or the listener registered.
    pub fn new(listener: UnixListener) -> io::Result<Self> {
        listener.set_nonblocking(true)?;
        let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC)?;
        epoll.add(&listener, EpollEvent::new(EpollFlags::EPOLLIN, LISTENER))?;
        Ok(Self {
            epoll,
            listener,
            connections: HashMap::new(),
            events: vec![EpollEvent::empty(); 256],
        })
    }

    /// How many client connections are open.
    pub fn connections(&self) -> usize {
        self.connections.len()
    }

    /// Waits up to `timeout` for events, then handles them all: accepts new clients,
    /// reads and echoes, finishes pending writes, closes finished connections. Returns
    /// how many events it handled.
    ///
    /// # Errors
    ///
    /// When `epoll_wait` or `accept` fail (a connection's own errors only close it).
    pub fn turn(&mut self, timeout: EpollTimeout) -> io::Result<usize> {
        let n = match self.epoll.wait(&mut self.events, timeout) {
            Ok(n) => n,
            Err(Errno::EINTR) => 0,
            Err(errno) => return Err(errno.into()),
        };
        for i in 0..n {
            let event = self.events[i];
            if event.data() == LISTENER {
                self.accept_all()?;
            } else {
                self.serve(event.data(), event.events());
            }
        }
        Ok(n)
    }

    /// Accepts every client waiting in the listener's queue.
    fn accept_all(&mut self) -> io::Result<()> {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(true)?;
                    let token = stream.as_raw_fd() as u64;
                    self.epoll
                        .add(&stream, EpollEvent::new(EpollFlags::EPOLLIN, token))?;
                    self.connections.insert(token, Connection { stream });
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted
                    ) => {}
                Err(err) => return Err(err),
            }
        }
    }

    /// Handles one event of the connection `token`, and closes it when it is finished
    /// or failed.
    fn serve(&mut self, token: u64, events: EpollFlags) {
        let Some(connection) = self.connections.get_mut(&token) else {
            return;
        };
        // An error on one connection (a reset, a broken pipe) only closes it.
        let open = matches!(connection.on_event(events), Ok(true));
        // TODO: an open connection with bytes waiting must be watched for EPOLLOUT
        // (`self.epoll.modify`), and only while they wait; after the end of file it
        // must not be watched for EPOLLIN any more (it would be reported forever).
        if open {
            return;
        }
        if let Some(connection) = self.connections.remove(&token) {
            // Closing the descriptor removes it from the epoll instance too; deleting
            // first keeps the interest list exact even if the descriptor were shared.
            let _ = self.epoll.delete(&connection.stream);
        }
    }
}

impl AsFd for EchoServer {
    /// The epoll instance: it is readable when events are waiting, so a caller can
    /// wait on it together with other descriptors.
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.epoll.0.as_fd()
    }
}
