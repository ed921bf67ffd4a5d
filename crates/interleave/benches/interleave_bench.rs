//! Time per schedule, interleave against shuttle, measured fairly: both engines run the
//! same program (`common/mod.rs`) under seeded random schedules, in alternating rounds
//! within one process (the order flips every round), so that load drift on a shared
//! machine hits both alike. Each round times `schedules` schedules per engine; the table
//! gives each round's per-schedule times and ratio, then the minimum and median of each
//! column. Times are the CPU time of the calling thread (both engines run every simulated
//! thread on it), which time spent waiting for a core on a busy machine does not inflate;
//! wall time is printed too. shuttle has no weak memory model, so the ratio compares
//! interleave's `SeqCst` model with it; the weak model (interleave's default) has columns
//! of its own. The bug oracles are off, so every schedule runs to its end
//! on both engines.
//!
//! Workloads: the bounded buffer (2 producers, 2 consumers, capacity 2, 5 items each), a
//! 20-thread reorder (atomics only) and a 100-thread two-stage hand-off (two mutexes).
//! Then the delay-bounded exhaustive search on the bounded buffer (iterative deepening
//! up to bounds 1, 2, 3), and real-mode uncontended lock/unlock against parking_lot.
//!
//! Run with `cargo bench -p interleave --bench interleave_bench` (release mode);
//! arguments: `-- [--rounds N] [--only WORKLOAD] [--ours-only SCHEDULES]
//! [--theirs-only SCHEDULES]`. The last two run one engine alone (for a profiler:
//! `valgrind --tool=callgrind`, whose instruction counts do not depend on the load).

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::Workload;
use interleave::explore::{Config, MemoryModel, Strategy, check};

/// Schedules per round and engine, per workload (about 0.2 to 0.5 s each).
fn schedules_per_round(w: &Workload) -> usize {
    match w.name {
        "bounded_buffer" => 4_000,
        "reorder20" => 4_000,
        _ => 300,
    }
}

/// CPU time of the calling thread.
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID is
    // supported on every Linux this course runs on (it returns 0 on success).
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall time and CPU time of one measurement.
#[derive(Clone, Copy)]
struct Took {
    wall: Duration,
    cpu: Duration,
}

fn measure(f: impl FnOnce()) -> Took {
    let (w, c) = (Instant::now(), cpu_now());
    f();
    Took {
        wall: w.elapsed(),
        cpu: cpu_now() - c,
    }
}

fn time_ours(w: &Workload, n: usize, seed: u64, memory: MemoryModel) -> Took {
    let (f, size) = (w.ours, w.n);
    measure(|| {
        check(
            Config::new()
                .strategy(Strategy::Random)
                .memory(memory)
                .seed(seed)
                .iterations(n),
            move || f(size, false),
        )
        .unwrap_or_else(|failure| panic!("{failure}"));
    })
}

fn time_theirs(w: &Workload, n: usize, seed: u64) -> Took {
    let (f, size) = (w.theirs, w.n);
    measure(|| shuttle::check_random_with_seed(move || f(size, false), seed, n))
}

fn us(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e6 / n as f64
}

fn min_median(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[0], s[s.len() / 2])
}

/// shuttle models sequential consistency only: the like-for-like figure is interleave's
/// `SeqCst` model; the weak model (the default, which lets loads read stale stores and
/// keeps vector clocks for tracked cells) is timed too, in its own columns.
fn compare(w: &Workload, rounds: usize) {
    let n = schedules_per_round(w);
    // Warm up both (stacks, allocator, caches).
    time_ours(w, n / 10 + 1, 1, MemoryModel::SeqCst);
    time_ours(w, n / 10 + 1, 1, MemoryModel::Weak);
    time_theirs(w, n / 10 + 1, 1);
    println!("\n{} ({n} random schedules per round and engine)\n", w.name);
    println!(
        "| round | interleave SeqCst µs | shuttle µs | ratio | ratio (wall) | interleave weak µs | ratio weak |"
    );
    println!("|---|---|---|---|---|---|---|");
    let mut cols: [Vec<f64>; 6] = Default::default();
    for round in 0..rounds {
        let seed = 1000 + round as u64;
        let (a, b, c) = if round % 2 == 0 {
            let a = time_ours(w, n, seed, MemoryModel::SeqCst);
            let c = time_ours(w, n, seed, MemoryModel::Weak);
            (a, time_theirs(w, n, seed), c)
        } else {
            let b = time_theirs(w, n, seed);
            let c = time_ours(w, n, seed, MemoryModel::Weak);
            (time_ours(w, n, seed, MemoryModel::SeqCst), b, c)
        };
        let (ac, bc, cc) = (us(a.cpu, n), us(b.cpu, n), us(c.cpu, n));
        let row = [ac, bc, ac / bc, us(a.wall, n) / us(b.wall, n), cc, cc / bc];
        println!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} | {:.2} |",
            round + 1,
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5]
        );
        for (col, v) in cols.iter_mut().zip(row) {
            col.push(v);
        }
    }
    let stats: Vec<(f64, f64)> = cols.iter().map(|c| min_median(c)).collect();
    for (label, pick) in [("min", 0), ("median", 1)] {
        let v: Vec<String> = stats
            .iter()
            .map(|&(lo, med)| format!("{:.2}", if pick == 0 { lo } else { med }))
            .collect();
        println!("| {label} | {} |", v.join(" | "));
    }
}

fn exhaustive() {
    let w = common::workload("bounded_buffer");
    println!("\nbounded buffer, delay-bounded exhaustive search (iterative deepening)\n");
    println!("| bound | schedules | time |");
    println!("|---|---|---|");
    for bound in 1..=3 {
        let f = w.ours;
        let t = Instant::now();
        let stats = check(
            Config::new()
                .strategy(Strategy::DelayBounded { bound })
                .iterative_deepening(true),
            move || f(4, false),
        )
        .unwrap_or_else(|failure| panic!("{failure}"));
        println!(
            "| {bound} | {} | {:.2} s |",
            stats.schedules,
            t.elapsed().as_secs_f64()
        );
    }
}

fn real_mode() {
    let rounds = 20_000_000u32;
    let ours_m = interleave::sync::Mutex::new(0u64);
    let pl_m = parking_lot::Mutex::new(0u64);
    let mut best_ours = f64::MAX;
    let mut best_pl = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..rounds {
            *black_box(&pl_m).lock() += 1;
        }
        best_pl = best_pl.min(t.elapsed().as_secs_f64() * 1e9 / rounds as f64);
        let t = Instant::now();
        for _ in 0..rounds {
            *black_box(&ours_m).lock() += 1;
        }
        best_ours = best_ours.min(t.elapsed().as_secs_f64() * 1e9 / rounds as f64);
    }
    println!("\nreal mode, uncontended lock+unlock (best of 5 x {rounds})\n");
    println!("| interleave | parking_lot | ratio |");
    println!("|---|---|---|");
    println!(
        "| {best_ours:.2} ns | {best_pl:.2} ns | {:.2} |",
        best_ours / best_pl
    );
}

fn main() {
    let mut rounds = 7;
    let mut only: Option<String> = None;
    let mut ours_only: Option<usize> = None;
    let mut theirs_only: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|s| s.parse().ok())
                    .expect("--rounds N")
            }
            "--only" => only = args.next(),
            "--ours-only" => {
                ours_only = Some(
                    args.next()
                        .and_then(|s| s.parse().ok())
                        .expect("--ours-only SCHEDULES"),
                )
            }
            "--theirs-only" => {
                theirs_only = Some(
                    args.next()
                        .and_then(|s| s.parse().ok())
                        .expect("--theirs-only SCHEDULES"),
                )
            }
            _ => {}
        }
    }
    let names = ["bounded_buffer", "reorder20", "twostage100"];
    let selected: Vec<Workload> = names
        .iter()
        .filter(|n| only.as_deref().is_none_or(|o| o == **n))
        .map(|n| common::workload(n))
        .collect();
    if let Some(n) = ours_only {
        for w in &selected {
            let d = time_ours(w, n, 1000, MemoryModel::Weak);
            println!("{}: {:.2} µs/schedule (CPU)", w.name, us(d.cpu, n));
        }
        return;
    }
    if let Some(n) = theirs_only {
        for w in &selected {
            let d = time_theirs(w, n, 1000);
            println!("{}: {:.2} µs/schedule (CPU)", w.name, us(d.cpu, n));
        }
        return;
    }
    for w in &selected {
        compare(w, rounds);
    }
    if only.is_none() {
        exhaustive();
        real_mode();
    }
}
