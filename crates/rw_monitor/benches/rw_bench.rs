//! Real-mode benchmark: the readers-writers monitors of this topic against
//! `parking_lot::RwLock` and a plain `parking_lot::Mutex`, with 90% and 50% reads.
//!
//! Run with `cargo bench -p rw_monitor` (your code) or add `--features solution` (the
//! references). Outside a simulation the `interleave` primitives are parking_lot's, so
//! this measures the monitors on this machine's real cores. Prints a table of
//! operations per millisecond; a configuration that does not finish within its time
//! limit is reported as stuck (a starter that deadlocks or spins) instead of hanging.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rw_monitor::RwMonitor;

/// Operations per thread.
const OPS: u64 = 50_000;
/// How long one configuration may take before it is declared stuck.
const LIMIT: Duration = Duration::from_secs(20);

/// The work done while inside: a few dozen arithmetic operations on shared data.
fn work(data: &AtomicU64, write: bool) {
    let mut x = data.load(Ordering::Relaxed);
    for i in 0..32 {
        x = black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i));
    }
    if write {
        data.store(x, Ordering::Relaxed);
    }
}

/// A tiny xorshift generator, so each thread draws its own reads and writes.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// One lock under test: `op(write)` runs one read or write section.
type Op = Arc<dyn Fn(bool) + Send + Sync>;

fn monitor_op<M: RwMonitor + 'static>(m: M) -> Op {
    let data = AtomicU64::new(1);
    Arc::new(move |write| {
        if write {
            m.start_write();
            work(&data, true);
            m.finish_write();
        } else {
            m.start_read();
            work(&data, false);
            m.finish_read();
        }
    })
}

fn rwlock_op() -> Op {
    let lock = parking_lot::RwLock::new(AtomicU64::new(1));
    Arc::new(move |write| {
        if write {
            work(&lock.write(), true);
        } else {
            work(&lock.read(), false);
        }
    })
}

fn mutex_op() -> Op {
    let lock = parking_lot::Mutex::new(AtomicU64::new(1));
    Arc::new(move |write| work(&lock.lock(), write))
}

/// Runs `threads` threads of `OPS` operations with `reads_percent` reads; returns
/// operations per millisecond, or `None` if the run did not finish within `LIMIT`.
fn run(op: Op, threads: usize, reads_percent: u64) -> Option<f64> {
    let (done_tx, done_rx) = mpsc::channel();
    let start = Instant::now();
    for t in 0..threads {
        let op = op.clone();
        let done = done_tx.clone();
        std::thread::spawn(move || {
            let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ (t as u64 + 1);
            for _ in 0..OPS {
                op(next(&mut rng) % 100 >= reads_percent);
            }
            let _ = done.send(());
        });
    }
    for _ in 0..threads {
        done_rx
            .recv_timeout(LIMIT.saturating_sub(start.elapsed()))
            .ok()?;
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    Some((threads as u64 * OPS) as f64 / ms)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without
    // it, and a benchmark is no test: leave at once then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let threads = cores * 2;
    println!(
        "readers-writers, real mode: {threads} threads on {cores} cores, {OPS} operations each (ops/ms, higher is better)"
    );
    println!("{:<34} | {:>10} | {:>10}", "lock", "90% reads", "50% reads");
    println!("{}", "-".repeat(60));
    type Make = fn() -> Op;
    let locks: [(&str, Make); 5] = [
        ("rw_monitor::mesa (Mutex+Condvars)", || {
            monitor_op(rw_monitor::mesa::ReadersWriters::new())
        }),
        ("rw_monitor::hoare (Monitor)", || {
            monitor_op(rw_monitor::hoare::ReadersWriters::new())
        }),
        ("rw_monitor::busy_wait (Monitor)", || {
            monitor_op(rw_monitor::busy_wait::ReadersWriters::new())
        }),
        ("parking_lot::RwLock", rwlock_op),
        ("parking_lot::Mutex", mutex_op),
    ];
    for (name, make) in locks {
        let cell = |reads| match run(make(), threads, reads) {
            Some(rate) => format!("{rate:>10.0}"),
            None => format!("{:>10}", "stuck"),
        };
        let (r90, r50) = (cell(90), cell(50));
        println!("{name:<34} | {r90} | {r50}");
    }
    // Threads of a stuck configuration are still blocked: leave without joining them.
    std::process::exit(0);
}
