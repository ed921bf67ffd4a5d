//! The benchmark of the mmap chapter: "mmap is not always faster: measure it".
//!
//! Part 1 moves `--total` bytes (default 1 GiB) from a child to its parent through a pipe,
//! a socketpair and the shared-memory [`Ring`] of step `ring`, in messages of 64 B, 4 KiB,
//! 64 KiB and 1 MiB, beside the `memcpy` bandwidth of one process (the physical limit).
//! Part 2 reads a `--file`-sized file (default 256 MiB) by 4 KiB blocks with `pread()` and
//! through a mapping, sequentially and in random order, with a warm and a cold page cache
//! (`posix_fadvise(POSIX_FADV_DONTNEED)` drops the file's pages; the table says how much of
//! the file was still cached afterwards, measured with `mincore`).
//!
//! Build and run it optimised, with the reference ring or your finished one:
//! `cargo run --release -p mmap --features solution --bin ipc_bench -- [--total 64M]`.
//! Usage: `ipc_bench [--total SIZE] [--file SIZE] [--dir DIR] [--only ipc|file]`, sizes
//! with an optional K, M or G suffix. Prints Markdown tables and a bar chart.

use mmap::child;
use mmap::mapping::Mapping;
use mmap::ring::Ring;
use mmap::ring_io::{Peer, read_exact, write_all};
use mmap::shm::SharedMemory;
use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::sys::wait::WaitStatus;
use nix::unistd::{ForkResult, fork, getpid};
use proctest::child::read_full;
use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The ring used by the benchmark: 4 MiB of data (room for four of the largest messages,
/// so that the producer rarely waits for the consumer; smaller rings measured slower).
const RING_BYTES: usize = 4 << 20;
type BenchRing = Ring<RING_BYTES>;

/// The message sizes of part 1.
const SIZES: [usize; 4] = [64, 4 << 10, 64 << 10, 1 << 20];
/// The block size of part 2.
const BLOCK: usize = 4096;

const USAGE: &str =
    "ipc_bench [--total SIZE] [--file SIZE] [--dir DIR] [--only ipc|file] [--repeat N]
       SIZE: bytes with an optional K, M or G suffix;
       --total (default 1G) is moved per cell and must be a multiple of 1M (at most 16G),
       --file (default 256M) a multiple of 4K (at most 4G), both at least 1M;
       --repeat (1 to 10, default 1) keeps the best of N runs of each IPC cell
run it with `cargo run --release -p mmap --features solution --bin ipc_bench`";

struct Args {
    total: usize,
    file_size: usize,
    dir: PathBuf,
    ipc: bool,
    file: bool,
    repeat: usize,
}

fn parse_size(text: &str) -> Option<usize> {
    let (digits, unit) = match text.char_indices().last()? {
        (i, 'K' | 'k') => (&text[..i], 1 << 10),
        (i, 'M' | 'm') => (&text[..i], 1 << 20),
        (i, 'G' | 'g') => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    digits.parse::<usize>().ok()?.checked_mul(unit)
}

/// The largest `--total`: 16 GiB moved per cell already takes minutes.
const MAX_TOTAL: usize = 16 << 30;
/// The largest `--file`: the file is written to disk first.
const MAX_FILE: usize = 4 << 30;

fn parse_args() -> Args {
    let mut parsed = proctest::args::Args::from_env("ipc_bench", USAGE);
    let mut args = Args {
        total: 1 << 30,
        file_size: 256 << 20,
        dir: std::env::temp_dir(),
        ipc: true,
        file: true,
        repeat: 1,
    };
    if let Some(value) = parsed.value("--total") {
        match parse_size(&value) {
            Some(n) if n >= 1 << 20 && n % (1 << 20) == 0 && n <= MAX_TOTAL => args.total = n,
            _ => parsed.fail(&format!(
                "invalid --total `{value}` (a multiple of 1M, from 1M to 16G)"
            )),
        }
    }
    if let Some(value) = parsed.value("--file") {
        match parse_size(&value) {
            Some(n) if n >= 1 << 20 && n % BLOCK == 0 && n <= MAX_FILE => args.file_size = n,
            _ => parsed.fail(&format!(
                "invalid --file `{value}` (a multiple of 4K, from 1M to 4G)"
            )),
        }
    }
    if let Some(dir) = parsed.value("--dir") {
        args.dir = PathBuf::from(dir);
    }
    if let Some(value) = parsed.value("--repeat") {
        match value.parse() {
            Ok(n @ 1..=10) => args.repeat = n,
            _ => parsed.fail(&format!("invalid --repeat `{value}`")),
        }
    }
    if let Some(value) = parsed.value("--only") {
        match value.as_str() {
            "ipc" => args.file = false,
            "file" => args.ipc = false,
            _ => parsed.fail(&format!("invalid --only `{value}`")),
        }
    }
    parsed.finish();
    args
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let args = parse_args();
    if cfg!(debug_assertions) {
        eprintln!("ipc_bench: this is a debug build, the figures mean little: add --release");
    }
    let baseline = mmap::leaks::baseline();
    if args.ipc {
        ipc_part(args.total, args.repeat);
    }
    if args.file {
        if let Err(problem) = file_part(args.file_size, &args.dir) {
            eprintln!("ipc_bench: {problem}");
            return ExitCode::FAILURE;
        }
    }
    mmap::leaks::finish(&baseline)
}

// ---------------------------------------------------------------- part 1: IPC throughput

#[derive(Clone, Copy)]
enum Channel {
    Pipe,
    SocketPair,
    Ring,
}

impl Channel {
    fn name(self) -> &'static str {
        match self {
            Self::Pipe => "pipe",
            Self::SocketPair => "socketpair",
            Self::Ring => "shared ring",
        }
    }
}

/// The message every producer sends: a pattern the consumer checks at both ends.
fn message(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i % 251) as u8).collect()
}

fn gib_per_s(bytes: usize, seconds: f64) -> f64 {
    bytes as f64 / seconds / f64::from(1u32 << 30)
}

/// Bandwidth of copying `total` bytes in `size`-byte `memcpy`s within one process.
fn memcpy_rate(size: usize, total: usize) -> f64 {
    let src = message(size);
    let mut dst = vec![0u8; size];
    let start = Instant::now();
    for _ in 0..total / size {
        dst.copy_from_slice(black_box(&src));
        black_box(&mut dst);
    }
    let rate = gib_per_s(total, start.elapsed().as_secs_f64());
    assert!(dst == src, "memcpy copied the message");
    rate
}

/// Moves `total` bytes from a child to the parent in `size`-byte messages; returns GiB/s.
fn transfer(channel: Channel, size: usize, total: usize) -> Result<f64, String> {
    let msg = message(size);
    let mut buf = vec![0u8; size];
    let count = total / size;
    let (read_end, write_end): (Option<OwnedFd>, Option<OwnedFd>) = match channel {
        Channel::Pipe => {
            let (r, w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
            (Some(r), Some(w))
        }
        Channel::SocketPair => {
            let (a, b) = socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::empty(),
            )
            .map_err(|e| format!("socketpair: {e}"))?;
            (Some(a), Some(b))
        }
        Channel::Ring => (None, None),
    };
    let ring = SharedMemory::<BenchRing>::new().map_err(|e| format!("mmap: {e}"))?;
    let parent = getpid();
    let start = Instant::now();
    // SAFETY: this program is single-threaded; the child only calls write(2), the ring's
    // write (atomics and copies), sched_yield, getppid, close and _exit, on buffers prepared
    // before the fork: no allocation, no lock, no stdio.
    let child = match unsafe { fork() }.map_err(|e| format!("fork: {e}"))? {
        ForkResult::Child => {
            drop(read_end);
            let code = match write_end {
                Some(fd) => produce_fd(&fd, &msg, count),
                None => produce_ring(&ring, &msg, count, parent),
            };
            child::exit(code)
        }
        ForkResult::Parent { child } => child,
    };
    drop(write_end);
    let mut peer = Peer::Child(child, None);
    let mut outcome = Ok(());
    for i in 0..count {
        let got = match &read_end {
            Some(fd) => read_message_fd(fd, &mut buf),
            // SAFETY: the parent is the ring's only consumer.
            None => unsafe { read_exact(&ring, &mut buf, &mut peer) }
                .map_err(|got| format!("the producer stopped {got} bytes into message {i}")),
        };
        if let Err(problem) = got {
            outcome = Err(problem);
            break;
        }
        if buf[0] != msg[0] || buf[size - 1] != msg[size - 1] {
            outcome = Err(format!("message {i} arrived damaged"));
            break;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(read_end);
    let status = peer.reap();
    outcome?;
    if buf != msg {
        return Err("the last message arrived damaged".to_owned());
    }
    match status {
        Ok(WaitStatus::Exited(_, 0)) => Ok(gib_per_s(total, seconds)),
        other => Err(format!("the producer ended with {other:?}")),
    }
}

/// The child's side over a descriptor: `count` whole messages. Returns the exit code.
fn produce_fd(fd: &OwnedFd, msg: &[u8], count: usize) -> i32 {
    for _ in 0..count {
        if child::write_all(fd, msg).is_err() {
            return 1;
        }
    }
    0
}

/// The child's side over the ring. Returns the exit code.
fn produce_ring(ring: &BenchRing, msg: &[u8], count: usize, parent: nix::unistd::Pid) -> i32 {
    let mut peer = Peer::Parent(parent);
    for _ in 0..count {
        // SAFETY: the child is the ring's only producer.
        if unsafe { write_all(ring, msg, &mut peer) }.is_err() {
            return 1;
        }
    }
    0
}

/// Reads one whole message from a stream descriptor.
fn read_message_fd(fd: &OwnedFd, buf: &mut [u8]) -> Result<(), String> {
    match read_full(fd, buf) {
        Ok(filled) if filled == buf.len() => Ok(()),
        Ok(filled) => Err(format!("end of stream after {filled} bytes of a message")),
        Err(e) => Err(format!("read: {e}")),
    }
}

fn human(size: usize) -> String {
    match size {
        s if s >= 1 << 30 && s % (1 << 30) == 0 => format!("{} GiB", s >> 30),
        s if s >= 1 << 20 && s % (1 << 20) == 0 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 && s % (1 << 10) == 0 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

fn cell(rate: &Result<f64, String>) -> String {
    match rate {
        Ok(r) => format!("{r:.2}"),
        Err(_) => "failed".to_owned(),
    }
}

/// The best of `repeat` runs (the one least disturbed by the rest of the machine).
fn best(repeat: usize, mut run: impl FnMut() -> Result<f64, String>) -> Result<f64, String> {
    let mut best = run()?;
    for _ in 1..repeat {
        best = best.max(run()?);
    }
    Ok(best)
}

fn ipc_part(total: usize, repeat: usize) {
    let channels = [Channel::Pipe, Channel::SocketPair, Channel::Ring];
    let mut rows = Vec::new();
    for size in SIZES {
        let copy = best(repeat, || Ok(memcpy_rate(size, total))).unwrap_or(f64::NAN);
        let rates: Vec<Result<f64, String>> = channels
            .iter()
            .map(|&c| {
                let rate = best(repeat, || transfer(c, size, total));
                if let Err(problem) = &rate {
                    eprintln!(
                        "ipc_bench: {} with {} messages: {problem}",
                        c.name(),
                        human(size)
                    );
                }
                rate
            })
            .collect();
        rows.push((size, copy, rates));
    }
    println!(
        "\n### Moving {} from a child to its parent (GiB/s, higher is better)\n",
        human(total)
    );
    println!(
        "| message | pipe | socketpair | shared ring | memcpy (1 process) | ring / pipe | ring / memcpy |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for (size, copy, rates) in &rows {
        let ratio = |a: &Result<f64, String>, b: f64| match a {
            Ok(a) => format!("{:.1}x", a / b),
            Err(_) => "-".to_owned(),
        };
        let pipe = rates[0].as_ref().copied().unwrap_or(f64::NAN);
        println!(
            "| {} | {} | {} | {} | {copy:.2} | {} | {} |",
            human(*size),
            cell(&rates[0]),
            cell(&rates[1]),
            cell(&rates[2]),
            ratio(&rates[2], pipe),
            ratio(&rates[2], *copy),
        );
    }
    let max = rows
        .iter()
        .flat_map(|(_, copy, rates)| {
            std::iter::once(*copy).chain(rates.iter().filter_map(|r| r.as_ref().ok().copied()))
        })
        .fold(0.0f64, f64::max);
    println!("\n```text");
    for (size, copy, rates) in &rows {
        println!("{} messages", human(*size));
        for (name, rate) in channels
            .iter()
            .map(|c| c.name())
            .zip(rates.iter().map(|r| r.as_ref().ok().copied()))
            .chain(std::iter::once(("memcpy", Some(*copy))))
        {
            match rate {
                Some(rate) => println!("  {name:<11} {} {rate:.2} GiB/s", bar(rate, max, 50)),
                None => println!("  {name:<11} failed"),
            }
        }
    }
    println!("```");
    let _ = std::io::stdout().flush();
}

/// A horizontal bar of `width` characters for `max`, with eighth-block precision.
fn bar(value: f64, max: f64, width: usize) -> String {
    let eighths = ((value / max) * (width * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8];
    s.push_str(partial);
    if s.is_empty() {
        s.push('▏');
    }
    s
}

// ---------------------------------------------------------------- part 2: read() vs mmap

/// The benchmark's file, removed when dropped (on every path).
struct TempFile {
    path: PathBuf,
    file: File,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn make_file(dir: &std::path::Path, size: usize) -> Result<TempFile, String> {
    let path = dir.join(format!("ipc_bench-{}.dat", std::process::id()));
    let file = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    let temp = TempFile { path, file };
    let chunk: Vec<u8> = (0..1usize << 20).map(|i| (i * 7 % 253) as u8).collect();
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        (&temp.file)
            .write_all(&chunk[..n])
            .map_err(|e| format!("cannot write {}: {e}", temp.path.display()))?;
        left -= n;
    }
    // Dirty pages cannot be dropped from the cache: write them out first.
    temp.file
        .sync_all()
        .map_err(|e| format!("cannot sync {}: {e}", temp.path.display()))?;
    Ok(temp)
}

/// What a reader does with each 4 KiB block: add up its 64-bit words.
fn digest(block: &[u8]) -> u64 {
    block
        .chunks_exact(8)
        .map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")))
        .fold(0u64, u64::wrapping_add)
}

/// A random permutation of the block numbers (xorshift64, fixed seed: same order every run).
fn shuffled(blocks: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..blocks).collect();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..blocks).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    order
}

fn read_blocks(file: &File, order: &[usize]) -> Result<u64, String> {
    let mut buf = vec![0u8; BLOCK];
    let mut sum = 0u64;
    for &b in order {
        file.read_exact_at(&mut buf, (b * BLOCK) as u64)
            .map_err(|e| format!("pread: {e}"))?;
        sum = sum.wrapping_add(digest(&buf));
    }
    Ok(sum)
}

fn map_blocks(file: &File, len: usize, order: &[usize]) -> Result<u64, String> {
    // SAFETY: the benchmark's own temporary file, not modified or truncated while mapped.
    let map = unsafe { Mapping::new(file, len, ProtFlags::PROT_READ, MapFlags::MAP_SHARED) }
        .map_err(|e| format!("mmap: {e}"))?;
    let bytes = map.as_bytes();
    Ok(order.iter().fold(0u64, |sum, &b| {
        sum.wrapping_add(digest(&bytes[b * BLOCK..(b + 1) * BLOCK]))
    }))
}

/// The fraction of the file's pages in the page cache (`mincore` on a fresh mapping).
fn cached_fraction(file: &File, len: usize) -> Result<f64, String> {
    // SAFETY: as in `map_blocks`.
    let map = unsafe { Mapping::new(file, len, ProtFlags::PROT_READ, MapFlags::MAP_SHARED) }
        .map_err(|e| format!("mmap: {e}"))?;
    let pages = len.div_ceil(4096);
    let mut residency = vec![0u8; pages];
    // SAFETY: the range is exactly one live mapping, and `residency` has one byte per page.
    let rc = unsafe {
        libc::mincore(
            map.as_bytes().as_ptr() as *mut libc::c_void,
            len,
            residency.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(format!("mincore: {}", nix::errno::Errno::last()));
    }
    let resident = residency.iter().filter(|&&b| b & 1 == 1).count();
    Ok(resident as f64 / pages as f64)
}

fn drop_cache(file: &File) -> Result<(), String> {
    posix_fadvise(file, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED)
        .map_err(|e| format!("posix_fadvise: {e}"))
}

fn file_part(size: usize, dir: &std::path::Path) -> Result<(), String> {
    let temp = make_file(dir, size)?;
    let blocks = size / BLOCK;
    let sequential: Vec<usize> = (0..blocks).collect();
    // Random reads touch one block in eight, in random order: reading every block would let
    // the kernel's read-around prefetch serve later requests and hide the cost of a miss.
    let mut random = shuffled(blocks);
    random.truncate(blocks / 8);
    println!(
        "\n### Reading a {} file by 4 KiB blocks: all of it in order, or one block in eight at random (MiB/s, higher is better; µs per block)\n",
        human(size)
    );
    println!("| access | cache | read() | mmap | mmap / read() | cached before the run |");
    println!("|---|---|---:|---:|---:|---:|");
    for (pattern, order) in [("sequential", &sequential), ("random", &random)] {
        let reference = read_blocks(&temp.file, order)?;
        for cold in [false, true] {
            // Each method runs twice, in the order read, mmap, mmap, read, and keeps its best
            // run: neither gains from running second (on a virtual machine, the host's cache
            // may keep what the guest dropped).
            let mut rates = [(0.0f64, f64::INFINITY); 2];
            // The worst case of the runs: the most still cached after a drop, the least
            // cached after warming up.
            let mut cached = [if cold { 0.0f64 } else { 1.0 }; 2];
            for use_mmap in [false, true, true, false] {
                let m = usize::from(use_mmap);
                if cold {
                    drop_cache(&temp.file)?;
                } else {
                    read_blocks(&temp.file, &sequential)?;
                }
                let fraction = cached_fraction(&temp.file, size)?;
                cached[m] = if cold {
                    cached[m].max(fraction)
                } else {
                    cached[m].min(fraction)
                };
                let start = Instant::now();
                let sum = if use_mmap {
                    map_blocks(&temp.file, size, order)?
                } else {
                    read_blocks(&temp.file, order)?
                };
                let seconds = start.elapsed().as_secs_f64();
                if sum != reference {
                    return Err(
                        "the two ways of reading disagree on the file's contents".to_owned()
                    );
                }
                let bytes = (order.len() * BLOCK) as f64;
                let rate = bytes / seconds / f64::from(1u32 << 20);
                if rate > rates[m].0 {
                    rates[m] = (rate, seconds * 1e6 / order.len() as f64);
                }
            }
            println!(
                "| {pattern} | {} | {:.0} ({:.2} µs) | {:.0} ({:.2} µs) | {:.2}x | {:.0}% / {:.0}% |",
                if cold { "cold" } else { "warm" },
                rates[0].0,
                rates[0].1,
                rates[1].0,
                rates[1].1,
                rates[1].0 / rates[0].0,
                cached[0] * 100.0,
                cached[1] * 100.0,
            );
        }
    }
    Ok(())
}
