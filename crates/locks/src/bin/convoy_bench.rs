//! The convoy effect on real threads: how long an I/O-bound thread waits for a lock that a
//! CPU-bound thread holds for long stretches and takes again at once.
//!
//! The CPU thread loops: lock, compute for `--hold-us` microseconds, unlock, lock again at
//! once. The I/O thread loops `--rounds` times: "I/O" (sleep `--io-us`), then lock,
//! unlock. For each lock the bench prints the I/O thread's wait for the lock (median, p99,
//! max) and how many stretches the CPU thread got through. Run it in release mode:
//!
//! ```text
//! cargo run --release -p locks --features solution --bin convoy_bench
//! ```
//!
//! The ticket lock and the hand-off lock are the crate's steps `ticket_lock` and `convoy`:
//! the student's files by default, the references with `--features solution`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use locks::convoy::HandoffLock;
use locks::ticket_lock::TicketLock;

/// A lock as the bench uses it: run a closure while holding it.
trait BenchLock: Send + Sync {
    /// The name printed in the table.
    fn name(&self) -> &'static str;
    /// Runs `f` while holding the lock, as the CPU thread does.
    fn cpu_section(&self, f: &mut dyn FnMut());
    /// Runs `f` while holding the lock, as the I/O thread does.
    fn io_section(&self, f: &mut dyn FnMut());
}

struct Std(std::sync::Mutex<()>);
impl BenchLock for Std {
    fn name(&self) -> &'static str {
        "std::sync::Mutex"
    }
    fn cpu_section(&self, f: &mut dyn FnMut()) {
        let _g = self.0.lock().expect("not poisoned");
        f();
    }
    fn io_section(&self, f: &mut dyn FnMut()) {
        self.cpu_section(f);
    }
}

struct Pl(parking_lot::Mutex<()>);
impl BenchLock for Pl {
    fn name(&self) -> &'static str {
        "parking_lot::Mutex"
    }
    fn cpu_section(&self, f: &mut dyn FnMut()) {
        let _g = self.0.lock();
        f();
    }
    fn io_section(&self, f: &mut dyn FnMut()) {
        self.cpu_section(f);
    }
}

struct PlFair(parking_lot::Mutex<()>);
impl BenchLock for PlFair {
    fn name(&self) -> &'static str {
        "parking_lot + unlock_fair"
    }
    fn cpu_section(&self, f: &mut dyn FnMut()) {
        let g = self.0.lock();
        f();
        // Hand the lock to a waiting thread, if any, instead of letting it go free.
        parking_lot::MutexGuard::unlock_fair(g);
    }
    fn io_section(&self, f: &mut dyn FnMut()) {
        let _g = self.0.lock();
        f();
    }
}

struct Ticket(TicketLock<()>);
impl BenchLock for Ticket {
    fn name(&self) -> &'static str {
        "ticket lock (spins)"
    }
    fn cpu_section(&self, f: &mut dyn FnMut()) {
        let _g = self.0.lock();
        f();
    }
    fn io_section(&self, f: &mut dyn FnMut()) {
        self.cpu_section(f);
    }
}

struct Handoff(HandoffLock);
impl BenchLock for Handoff {
    fn name(&self) -> &'static str {
        "hand-off lock (sleeps)"
    }
    fn cpu_section(&self, f: &mut dyn FnMut()) {
        self.0.lock();
        f();
        self.0.unlock();
    }
    fn io_section(&self, f: &mut dyn FnMut()) {
        self.cpu_section(f);
    }
}

/// The bench's parameters.
#[derive(Clone, Copy, Debug)]
struct Params {
    rounds: usize,
    hold: Duration,
    io: Duration,
}

/// What one run measured.
struct Outcome {
    waits: Vec<Duration>,
    cpu_stretches: u64,
}

/// Computes for `d` without sleeping (the CPU-bound thread's work).
fn spin_for(d: Duration) {
    let start = Instant::now();
    let mut x = 0u64;
    while start.elapsed() < d {
        for _ in 0..64 {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
    black_box(x);
}

fn run(lock: Arc<dyn BenchLock>, p: Params) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let stretches = Arc::new(AtomicU64::new(0));
    let cpu = {
        let (lock, stop, stretches) = (lock.clone(), stop.clone(), stretches.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                lock.cpu_section(&mut || spin_for(p.hold));
                stretches.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    // Let the CPU thread get going first.
    std::thread::sleep(Duration::from_millis(5));
    let mut waits = Vec::with_capacity(p.rounds);
    for _ in 0..p.rounds {
        std::thread::sleep(p.io);
        let asked = Instant::now();
        let mut waited = Duration::ZERO;
        lock.io_section(&mut || waited = asked.elapsed());
        waits.push(waited);
    }
    stop.store(true, Ordering::Relaxed);
    cpu.join().expect("the CPU thread panicked");
    Outcome {
        waits,
        cpu_stretches: stretches.load(Ordering::Relaxed),
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn fmt_us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

const USAGE: &str = "convoy_bench [--rounds N] [--hold-us MICROS] [--io-us MICROS]
       N: I/O rounds per lock, 1 to 100000 (default 2000);
       MICROS: 0 to 100000 (defaults: --hold-us 200, --io-us 100)
run it with `cargo run --release -p locks --features solution --bin convoy_bench`";

fn parse_args() -> Params {
    let mut args = proctest::args::Args::from_env("convoy_bench", USAGE);
    let params = Params {
        rounds: args.number("--rounds", "N", 1..=100_000).unwrap_or(2000),
        hold: Duration::from_micros(
            args.number("--hold-us", "MICROS", 0..=100_000)
                .unwrap_or(200),
        ),
        io: Duration::from_micros(args.number("--io-us", "MICROS", 0..=100_000).unwrap_or(100)),
    };
    args.finish();
    params
}

fn main() {
    let p = parse_args();
    println!(
        "CPU thread: holds the lock {} per stretch, takes it again at once; I/O thread: {} \
         rounds of {} I/O then a short critical section.",
        fmt_us(p.hold),
        p.rounds,
        fmt_us(p.io)
    );
    println!();
    println!("| lock | I/O wait median | p99 | max | CPU stretches |\n|---|---:|---:|---:|---:|");
    let locks: Vec<Arc<dyn BenchLock>> = vec![
        Arc::new(Std(std::sync::Mutex::new(()))),
        Arc::new(Pl(parking_lot::Mutex::new(()))),
        Arc::new(PlFair(parking_lot::Mutex::new(()))),
        Arc::new(Ticket(TicketLock::new(()))),
        Arc::new(Handoff(HandoffLock::new())),
    ];
    for lock in locks {
        let name = lock.name();
        let mut out = run(lock, p);
        out.waits.sort_unstable();
        println!(
            "| {name} | {} | {} | {} | {} |",
            fmt_us(percentile(&out.waits, 0.5)),
            fmt_us(percentile(&out.waits, 0.99)),
            fmt_us(*out.waits.last().expect("at least one round")),
            out.cpu_stretches
        );
    }
}
