//! Benchmark for the multiplexing chapter. Run it in release mode:
//! `cargo run --release -p multiplexing --bin bench [MIB]`.
//!
//! 1. Cost per ready event of `select`, `poll` and `epoll` with N idle connections and
//!    one active one, N = 10, 100, 1,000, 10,000. Each connection is a UNIX socketpair;
//!    the program watches one end of each. Every round writes one byte into the active
//!    connection, waits for readiness with the mechanism under test, finds the ready
//!    descriptor and reads the byte back. `select` and `poll` hand the whole set to the
//!    kernel on every call and scan it on return; `epoll` registers the set once and
//!    gets back only what is ready.
//! 2. UNIX domain socket against TCP on 127.0.0.1: throughput (MIB MiB, 1,024 by
//!    default, in 64 KiB writes, one thread writing and one reading) and round-trip
//!    latency (1-byte ping-pong between two threads).
//!
//! The process raises its descriptor limit for N = 10,000 (20,000 descriptors) and says
//! so when it cannot.

use multiplexing::{fds, usage};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::select::{FdSet, select};
use nix::sys::socket::{
    AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType, recvmsg,
    sendmsg, socketpair,
};
use nix::unistd::{read, write};
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

const USAGE: &str = "bench [MIB]   (MIB: bytes for the throughput test, 1 to 4096, default 1024)";
const NEXT: &str = "build it with `cargo build --release -p multiplexing --bin bench`";
const SIZES: [usize; 4] = [10, 100, 1_000, 10_000];
const FD_SETSIZE: usize = libc::FD_SETSIZE;

/// N idle connections and one active one; `watched[N]` is the active end. The peers
/// of the idle connections live in a helper process (this binary with `--hold-peers`),
/// as a server's clients would: this process holds one descriptor per connection, so
/// N = 10,000 fits under a 20,000-descriptor limit.
struct Connections {
    watched: Vec<OwnedFd>,
    active_peer: OwnedFd,
    /// The helper's control socket (closing it lets the helper exit) and the helper.
    holder: Option<(UnixStream, std::process::Child)>,
}

/// How many peers travel in one SCM_RIGHTS message (the kernel allows 253): few, so
/// that the watched descriptors keep small, dense numbers (select needs them below
/// FD_SETSIZE).
const BATCH: usize = 8;

impl Connections {
    fn new(idle: usize) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find my binary: {e}"))?;
        let (control, theirs) = UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
        let child = std::process::Command::new(exe)
            .arg("--hold-peers")
            .stdin(OwnedFd::from(theirs))
            .spawn()
            .map_err(|e| format!("cannot start the peer holder: {e}"))?;
        let mut watched = Vec::with_capacity(idle + 1);
        let mut batch = Vec::with_capacity(BATCH);
        let pair = || {
            socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .map_err(|e| format!("socketpair: {e}"))
        };
        for i in 0..idle {
            let (a, b) = pair()?;
            watched.push(a);
            batch.push(b);
            if batch.len() == BATCH || i + 1 == idle {
                let raw: Vec<RawFd> = batch.iter().map(AsRawFd::as_raw_fd).collect();
                sendmsg::<()>(
                    control.as_raw_fd(),
                    &[IoSlice::new(b"p")],
                    &[ControlMessage::ScmRights(&raw)],
                    MsgFlags::empty(),
                    None,
                )
                .map_err(|e| format!("passing peers to the holder: {e}"))?;
                // The holder has its own copies now.
                batch.clear();
            }
        }
        let (a, b) = pair()?;
        watched.push(a);
        Ok(Self {
            watched,
            active_peer: b,
            holder: Some((control, child)),
        })
    }

    fn max_fd(&self) -> i32 {
        self.watched
            .iter()
            .map(AsRawFd::as_raw_fd)
            .max()
            .unwrap_or(0)
    }

    fn ping(&self) {
        write(&self.active_peer, b"x").expect("write to the active connection");
    }

    fn take(&self, index: usize) {
        let mut byte = [0u8; 1];
        read(self.watched[index].as_fd(), &mut byte).expect("read the ready byte");
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        if let Some((control, mut child)) = self.holder.take() {
            drop(control);
            let _ = child.wait();
        }
    }
}

/// The helper process: receives peers on standard input and holds them until the end
/// of file.
fn hold_peers() {
    let mut held: Vec<OwnedFd> = Vec::new();
    loop {
        let mut byte = [0u8; 1];
        let mut iov = [IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!([RawFd; BATCH]);
        let Ok(msg) = recvmsg::<()>(0, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        else {
            return;
        };
        if msg.bytes == 0 {
            return;
        }
        let Ok(cmsgs) = msg.cmsgs() else {
            return;
        };
        for cmsg in cmsgs {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                // SAFETY: the kernel just installed these descriptors for this message;
                // nothing else in this process refers to them.
                held.extend(
                    fds.into_iter()
                        .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) }),
                );
            }
        }
    }
}

fn rounds_for(n: usize) -> u32 {
    u32::try_from((4_000_000 / (n + 1)).clamp(300, 200_000)).expect("small")
}

fn per_round(start: Instant, rounds: u32) -> f64 {
    start.elapsed().as_nanos() as f64 / f64::from(rounds)
}

/// Write and read one byte without waiting: the part of every round that is not the
/// readiness mechanism.
fn bare(c: &Connections, rounds: u32) -> f64 {
    let last = c.watched.len() - 1;
    let start = Instant::now();
    for _ in 0..rounds {
        c.ping();
        c.take(last);
    }
    per_round(start, rounds)
}

fn with_select(c: &Connections, rounds: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..rounds {
        c.ping();
        let mut set = FdSet::new();
        for fd in &c.watched {
            set.insert(fd.as_fd());
        }
        select(c.max_fd() + 1, &mut set, None, None, None).expect("select");
        let ready = c
            .watched
            .iter()
            .position(|fd| set.contains(fd.as_fd()))
            .expect("one ready");
        c.take(ready);
    }
    per_round(start, rounds)
}

fn with_poll(c: &Connections, rounds: u32) -> f64 {
    let mut set: Vec<PollFd<'_>> = c
        .watched
        .iter()
        .map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN))
        .collect();
    let start = Instant::now();
    for _ in 0..rounds {
        c.ping();
        poll(&mut set, PollTimeout::NONE).expect("poll");
        let ready = set
            .iter()
            .position(|fd| fd.revents().is_some_and(|r| r.contains(PollFlags::POLLIN)))
            .expect("one ready");
        c.take(ready);
    }
    per_round(start, rounds)
}

fn with_epoll(c: &Connections, rounds: u32) -> f64 {
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).expect("epoll_create1");
    for (i, fd) in c.watched.iter().enumerate() {
        epoll
            .add(fd, EpollEvent::new(EpollFlags::EPOLLIN, i as u64))
            .expect("epoll_ctl");
    }
    let mut events = [EpollEvent::empty(); 64];
    let start = Instant::now();
    for _ in 0..rounds {
        c.ping();
        let n = epoll
            .wait(&mut events, EpollTimeout::NONE)
            .expect("epoll_wait");
        assert!(n >= 1);
        c.take(usize::try_from(events[0].data()).expect("index"));
    }
    per_round(start, rounds)
}

/// How many times each measurement runs; the tables keep the best.
const RUNS: usize = 3;

/// The smallest of RUNS measurements.
fn best(mut measure: impl FnMut() -> f64) -> f64 {
    (0..RUNS).map(|_| measure()).fold(f64::INFINITY, f64::min)
}

fn fmt_ns(ns: Option<f64>) -> String {
    match ns {
        Some(ns) if ns >= 10_000.0 => format!("{:.0} µs", ns / 1000.0),
        Some(ns) if ns >= 1_000.0 => format!("{:.1} µs", ns / 1000.0),
        Some(ns) => format!("{ns:.0} ns"),
        None => "n/a".to_owned(),
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bar(value: f64, max: f64, width: usize) -> String {
    let cells = if max > 0.0 {
        ((value / max) * width as f64).round().max(1.0) as usize
    } else {
        1
    };
    "█".repeat(cells)
}

fn readiness_table() {
    let limit = match fds::raise_nofile(10_000 + 64) {
        Ok(limit) => {
            println!("descriptor limit (RLIMIT_NOFILE): {limit}, enough for N = 10,000");
            limit
        }
        Err(msg) => {
            println!("note: {msg}; larger N will be skipped");
            nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024)
        }
    };
    println!();
    println!("Cost per ready event: N idle connections + 1 active (best of {RUNS} runs; time per");
    println!("round: 1-byte write, wait for readiness, find the ready descriptor, 1-byte read)");
    println!();
    println!(
        "{:>8}  {:>10}  {:>10}  {:>10}  {:>13}",
        "N", "select", "poll", "epoll", "poll / epoll"
    );
    let mut rows = Vec::new();
    let mut bare_ns = Vec::new();
    for n in SIZES {
        if (n + 64) as u64 > limit {
            println!(
                "{:>8}  needs {} descriptors, over the limit {limit}: skipped",
                thousands(n),
                n + 64
            );
            continue;
        }
        let c = match Connections::new(n) {
            Ok(c) => c,
            Err(err) => {
                println!(
                    "{:>8}  cannot open {} sockets: {err}",
                    thousands(n),
                    2 * n + 2
                );
                continue;
            }
        };
        let rounds = rounds_for(n);
        // Warm up the caches and the scheduler once, then keep the best of RUNS runs:
        // on a shared machine, the slower runs measure the neighbours.
        let _ = with_epoll(&c, rounds.min(1000));
        bare_ns.push(best(|| bare(&c, rounds)));
        let select_ns = (usize::try_from(c.max_fd()).unwrap_or(usize::MAX) < FD_SETSIZE)
            .then(|| best(|| with_select(&c, rounds)));
        let poll_ns = best(|| with_poll(&c, rounds));
        let epoll_ns = best(|| with_epoll(&c, rounds));
        println!(
            "{:>8}  {:>10}  {:>10}  {:>10}  {:>12.1}x",
            thousands(n),
            fmt_ns(select_ns),
            fmt_ns(Some(poll_ns)),
            fmt_ns(Some(epoll_ns)),
            poll_ns / epoll_ns
        );
        rows.push((n, select_ns, poll_ns, epoll_ns));
    }
    let bare_mean = bare_ns.iter().sum::<f64>() / bare_ns.len().max(1) as f64;
    println!();
    println!(
        "select n/a: an fd_set holds only descriptors below FD_SETSIZE = {FD_SETSIZE}; with N idle"
    );
    println!("connections the descriptor numbers go beyond it (select(2): undefined behaviour).");
    println!(
        "The 1-byte write and read alone take about {} per round.",
        fmt_ns(Some(bare_mean))
    );
    println!();
    println!("Chart (bar length relative to the slowest mechanism at each N):");
    println!("```");
    for (n, select_ns, poll_ns, epoll_ns) in rows {
        let max = [select_ns.unwrap_or(0.0), poll_ns, epoll_ns]
            .into_iter()
            .fold(0.0, f64::max);
        println!("N = {}", thousands(n));
        for (name, ns) in [
            ("select", select_ns),
            ("poll", Some(poll_ns)),
            ("epoll", Some(epoll_ns)),
        ] {
            match ns {
                Some(ns) => println!("  {name:<6} {:<40} {}", bar(ns, max, 40), fmt_ns(Some(ns))),
                None => println!("  {name:<6} {:<40} n/a", ""),
            }
        }
    }
    println!("```");
}

/// Sends `total` bytes in 64 KiB writes from one thread to another; returns GiB/s.
fn throughput<S: Read + Write + Send + 'static>(mut tx: S, mut rx: S, total: u64) -> f64 {
    let start = Instant::now();
    let writer = std::thread::spawn(move || {
        let chunk = vec![0x5au8; 64 * 1024];
        let mut sent = 0u64;
        while sent < total {
            let len = usize::try_from((total - sent).min(chunk.len() as u64)).expect("small");
            tx.write_all(&chunk[..len]).expect("write");
            sent += len as u64;
        }
    });
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0u64;
    while received < total {
        let n = rx.read(&mut buf).expect("read");
        assert!(n > 0, "the writer closed early");
        received += n as u64;
    }
    let elapsed = start.elapsed();
    writer.join().expect("the writer thread");
    total as f64 / (1u64 << 30) as f64 / elapsed.as_secs_f64()
}

/// 1-byte ping-pong between two threads; returns the mean round trip.
fn round_trip<S: Read + Write + Send + 'static>(mut a: S, mut b: S, rounds: u32) -> Duration {
    let echo = std::thread::spawn(move || {
        let mut byte = [0u8; 1];
        for _ in 0..rounds {
            b.read_exact(&mut byte).expect("read ping");
            b.write_all(&byte).expect("write pong");
        }
    });
    let mut byte = [7u8; 1];
    let start = Instant::now();
    for _ in 0..rounds {
        a.write_all(&byte).expect("write ping");
        a.read_exact(&mut byte).expect("read pong");
    }
    let elapsed = start.elapsed();
    echo.join().expect("the echo thread");
    elapsed / rounds
}

fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let a = TcpStream::connect(listener.local_addr().expect("address")).expect("connect");
    let (b, _) = listener.accept().expect("accept");
    a.set_nodelay(true).expect("TCP_NODELAY");
    b.set_nodelay(true).expect("TCP_NODELAY");
    (a, b)
}

fn sockets_table(mib: u64) {
    let total = mib << 20;
    let rounds = 50_000;
    // Best of RUNS, alternating UNIX and TCP so that both see the same neighbours.
    let (mut unix_tp, mut tcp_tp) = (0.0f64, 0.0f64);
    let (mut unix_rt, mut tcp_rt) = (Duration::MAX, Duration::MAX);
    for _ in 0..RUNS {
        let (a, b) = UnixStream::pair().expect("socketpair");
        unix_tp = unix_tp.max(throughput(a, b, total));
        let (a, b) = tcp_pair();
        tcp_tp = tcp_tp.max(throughput(a, b, total));
        let (a, b) = UnixStream::pair().expect("socketpair");
        unix_rt = unix_rt.min(round_trip(a, b, rounds));
        let (a, b) = tcp_pair();
        tcp_rt = tcp_rt.min(round_trip(a, b, rounds));
    }
    println!();
    println!(
        "UNIX domain socket vs TCP on 127.0.0.1 (one writer thread, one reader thread; best of {RUNS})"
    );
    println!();
    println!(
        "{:<46}  {:>11}  {:>11}  {:>9}",
        "", "UNIX", "TCP", "UNIX/TCP"
    );
    let size = if mib % 1024 == 0 {
        format!("{} GiB", mib / 1024)
    } else {
        format!("{mib} MiB")
    };
    println!(
        "{:<46}  {:>11}  {:>11}  {:>8.2}x",
        format!("throughput ({size} in 64 KiB writes)"),
        format!("{unix_tp:.2} GiB/s"),
        format!("{tcp_tp:.2} GiB/s"),
        unix_tp / tcp_tp
    );
    println!(
        "{:<46}  {:>11}  {:>11}  {:>8.2}x",
        format!(
            "round trip (1-byte ping-pong, {} rounds)",
            thousands(rounds as usize)
        ),
        fmt_ns(Some(unix_rt.as_nanos() as f64)),
        fmt_ns(Some(tcp_rt.as_nanos() as f64)),
        tcp_rt.as_nanos() as f64 / unix_rt.as_nanos() as f64
    );
    println!("(UNIX/TCP: how many times better the UNIX socket does: faster, or shorter)");
}

fn main() {
    let mut args = usage::args("bench", USAGE, NEXT);
    if args.flag("--hold-peers") {
        hold_peers();
        return;
    }
    let mib = usage::number_arg(&mut args, 1024, "MIB", 1..=4096);
    if cfg!(debug_assertions) {
        println!("warning: this is a debug build; measure with --release");
    }
    readiness_table();
    sockets_table(mib);
}
