//! Benchmark of the zero-copy chapter. Run it in release mode:
//! `cargo run --release -p ipc --features solution --bin zero_copy_bench [--mib N] [--rounds R]`.
//!
//! A file of N MiB (256 by default) in the page cache is sent to a pipe, a UNIX stream
//! socket and a TCP connection on 127.0.0.1 with each of the step's three copies. A reader
//! thread drains the other end into `/dev/null` with `splice`, so that it copies nothing
//! into user memory itself and the sender's copies are the only ones that differ. Each
//! figure is the best of R rounds (3 by default): throughput, and the sender thread's CPU
//! time per GiB (user + system, `CLOCK_THREAD_CPUTIME_ID`), next to the number of copies
//! through user memory each method makes per byte (2 for `read`+`write`: kernel to user,
//! user to kernel; 0 for `sendfile` and `splice`).
//!
//! A second table sends a 4 KiB piece 20,000 times: the cost of one call, where the
//! set-up of each method counts more than its copies.
//!
//! The file is created with `O_TMPFILE` in the temporary directory (no name at all, so
//! nothing is left behind, even if the bench is killed), or created and unlinked at once
//! where the file system lacks `O_TMPFILE`.

use ipc::zero_copy::{with_read_write, with_sendfile, with_splice};
use nix::errno::Errno;
use nix::fcntl::{OFlag, SpliceFFlags, open, splice};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::sys::stat::Mode;
use nix::time::{ClockId, clock_gettime};
use nix::unistd::pipe2;
use proctest::args::Args;
use std::fs::File;
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

type Copier = fn(&File, u64, u64, BorrowedFd<'_>) -> io::Result<u64>;

const METHODS: [(&str, Copier, u32); 3] = [
    ("read + write", with_read_write, 2),
    ("sendfile", with_sendfile, 0),
    ("splice", with_splice, 0),
];
const DESTS: [&str; 3] = ["pipe", "UNIX socket", "TCP 127.0.0.1"];
const USAGE: &str = "zero_copy_bench [--mib N] [--rounds R]
       (N: file size, 1 to 4096 MiB, default 256; R: rounds, best kept, 1 to 10, default 3)";

fn main() {
    let mut args = Args::from_env("zero_copy_bench", USAGE);
    let mib = args.number("--mib", "N", 1..=4096u64).unwrap_or(256);
    let rounds = args.number("--rounds", "R", 1..=10u32).unwrap_or(3);
    args.finish();
    if cfg!(debug_assertions) {
        eprintln!("note: a debug build; measure with `cargo run --release ...`");
    }
    let len = mib * 1024 * 1024;
    let file = match scratch_file(len) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("zero_copy_bench: cannot make the {mib} MiB scratch file: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "{mib} MiB from the page cache, best of {rounds} rounds; the reader splices into /dev/null\n"
    );
    println!(
        "| method | user-space copies per byte | destination | throughput | sender CPU per GiB |"
    );
    println!("|---|---:|---|---:|---:|");
    for (name, copy, copies) in METHODS {
        for dest in DESTS {
            let mut best: Option<(Duration, Duration)> = None;
            for _ in 0..rounds {
                match run_once(&file, 0, len, dest, copy) {
                    Ok((wall, cpu)) => {
                        if best.is_none_or(|(w, _)| wall < w) {
                            best = Some((wall, cpu));
                        }
                    }
                    Err(e) => {
                        eprintln!("zero_copy_bench: {name} to a {dest} failed: {e}");
                        std::process::exit(1);
                    }
                }
            }
            let (wall, cpu) = best.expect("at least one round");
            let gib = len as f64 / f64::from(1u32 << 30);
            println!(
                "| {name} | {copies} | {dest} | {:.2} GiB/s | {:.0} ms |",
                gib / wall.as_secs_f64(),
                cpu.as_secs_f64() * 1000.0 / gib
            );
        }
    }
    println!("\n4 KiB sent 20,000 times to a pipe (one call each), best of {rounds} rounds\n");
    println!("| method | time per call |");
    println!("|---|---:|");
    for (name, copy, _) in METHODS {
        let mut best = Duration::MAX;
        for _ in 0..rounds {
            match small_calls(&file, copy, 20_000) {
                Ok(t) => best = best.min(t),
                Err(e) => {
                    eprintln!("zero_copy_bench: {name}, small calls, failed: {e}");
                    std::process::exit(1);
                }
            }
        }
        println!("| {name} | {:.2} µs |", best.as_secs_f64() * 1e6 / 20_000.0);
    }
    let _ = io::stdout().flush();
}

/// A file of `len` bytes without a name, in the page cache.
fn scratch_file(len: u64) -> io::Result<File> {
    let dir = std::env::temp_dir();
    let fd = match open(
        &dir,
        OFlag::O_TMPFILE | OFlag::O_RDWR | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o600),
    ) {
        Ok(fd) => fd,
        Err(Errno::EOPNOTSUPP | Errno::EISDIR | Errno::EINVAL) => {
            let path = dir.join(format!("zero_copy_bench-{}", std::process::id()));
            let fd = open(
                &path,
                OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )?;
            std::fs::remove_file(&path)?;
            fd
        }
        Err(e) => return Err(e.into()),
    };
    let mut file = File::from(fd);
    let block: Vec<u8> = (0..1 << 20)
        .map(|i: u32| (i.wrapping_mul(31) >> 3) as u8)
        .collect();
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n])?;
        left -= n as u64;
    }
    Ok(file)
}

/// The sending end of a fresh destination of kind `dest`, and the thread that drains the
/// receiving end into /dev/null with splice.
fn destination(dest: &str) -> io::Result<(OwnedFd, std::thread::JoinHandle<io::Result<u64>>)> {
    let (theirs, ours): (OwnedFd, OwnedFd) = match dest {
        "pipe" => pipe2(OFlag::O_CLOEXEC)?,
        "UNIX socket" => socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?,
        _ => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let client = TcpStream::connect(listener.local_addr()?)?;
            let (server, _) = listener.accept()?;
            (OwnedFd::from(server), OwnedFd::from(client))
        }
    };
    let is_pipe = dest == "pipe";
    let reader = std::thread::spawn(move || drain(theirs, is_pipe));
    Ok((ours, reader))
}

/// Moves everything from `from` into /dev/null without copying it into our memory.
fn drain(from: OwnedFd, is_pipe: bool) -> io::Result<u64> {
    let null = File::options().write(true).open("/dev/null")?;
    let relay = if is_pipe {
        None
    } else {
        Some(pipe2(OFlag::O_CLOEXEC)?)
    };
    let mut total = 0u64;
    loop {
        let n = match &relay {
            None => splice(
                &from,
                None,
                &null,
                None,
                1 << 20,
                SpliceFFlags::SPLICE_F_MOVE,
            ),
            Some((_, inp)) => splice(&from, None, inp, None, 1 << 20, SpliceFFlags::SPLICE_F_MOVE),
        };
        let n = match n {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        };
        if let Some((out, _)) = &relay {
            let mut left = n;
            while left > 0 {
                match splice(out, None, &null, None, left, SpliceFFlags::SPLICE_F_MOVE) {
                    Ok(m) => left -= m,
                    Err(Errno::EINTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        total += n as u64;
    }
}

fn thread_cpu() -> Duration {
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from)
}

/// One transfer: wall time and the sending thread's CPU time.
fn run_once(
    file: &File,
    offset: u64,
    len: u64,
    dest: &str,
    copy: Copier,
) -> io::Result<(Duration, Duration)> {
    let (ours, reader) = destination(dest)?;
    let (cpu0, t0) = (thread_cpu(), Instant::now());
    let sent = copy(file, offset, len, ours.as_fd())?;
    drop(ours);
    let received = reader.join().expect("the drain thread never panics")?;
    let (wall, cpu) = (t0.elapsed(), thread_cpu() - cpu0);
    if sent != len || received != len {
        return Err(io::Error::other(format!(
            "sent {sent} and received {received} of {len} bytes"
        )));
    }
    Ok((wall, cpu))
}

/// `calls` copies of 4 KiB each to one pipe: the time per call.
fn small_calls(file: &File, copy: Copier, calls: u64) -> io::Result<Duration> {
    let (ours, reader) = destination("pipe")?;
    let t0 = Instant::now();
    for i in 0..calls {
        copy(file, (i % 1024) * 4096, 4096, ours.as_fd())?;
    }
    drop(ours);
    let received = reader.join().expect("the drain thread never panics")?;
    let elapsed = t0.elapsed();
    if received != calls * 4096 {
        return Err(io::Error::other(format!(
            "received {received} bytes, not {}",
            calls * 4096
        )));
    }
    Ok(elapsed)
}
