//! The benchmark table of issue 4: the bounded-buffer workload (capacity 2, two producers
//! and two consumers moving 5 items each, one Mutex and two Condvars) under random
//! schedules, side by side with shuttle; the delay-bounded exhaustive search (bound 2)
//! on the same workload; and real-mode uncontended lock/unlock against parking_lot.
//!
//! Run with `cargo bench -p interleave` (release mode).

use std::collections::VecDeque;
use std::hint::black_box;
use std::time::{Duration, Instant};

use interleave::explore::{Config, Strategy, check};

const CAP: usize = 2;
const ITEMS: u32 = 5;

macro_rules! bounded_buffer {
    ($name:ident, $sync:path, $thread:path, $lock:ident) => {
        pub fn $name() {
            use $sync as s;
            use $thread as t;
            struct Buf {
                q: s::Mutex<VecDeque<u32>>,
                not_empty: s::Condvar,
                not_full: s::Condvar,
            }
            let b = std::sync::Arc::new(Buf {
                q: s::Mutex::new(VecDeque::new()),
                not_empty: s::Condvar::new(),
                not_full: s::Condvar::new(),
            });
            let mut hs = Vec::new();
            for _ in 0..2 {
                let bp = b.clone();
                hs.push(t::spawn(move || {
                    let b = bp;
                    for i in 0..ITEMS {
                        let mut q = $lock!(b.q);
                        while q.len() == CAP {
                            q = wait!(b.not_full, q);
                        }
                        q.push_back(i);
                        drop(q);
                        b.not_empty.notify_one();
                    }
                }));
                let bc = b.clone();
                hs.push(t::spawn(move || {
                    let b = bc;
                    for _ in 0..ITEMS {
                        let mut q = $lock!(b.q);
                        while q.is_empty() {
                            q = wait!(b.not_empty, q);
                        }
                        black_box(q.pop_front());
                        drop(q);
                        b.not_full.notify_one();
                    }
                }));
            }
            for h in hs {
                h.join().unwrap();
            }
        }
    };
}

macro_rules! lock_ours {
    ($m:expr) => {
        $m.lock()
    };
}
macro_rules! lock_std {
    ($m:expr) => {
        $m.lock().unwrap()
    };
}

mod ours {
    use super::*;
    macro_rules! wait {
        ($cv:expr, $g:expr) => {{
            let mut g = $g;
            $cv.wait(&mut g);
            g
        }};
    }
    bounded_buffer!(workload, interleave::sync, interleave::thread, lock_ours);
}

mod shuttle_side {
    use super::*;
    macro_rules! wait {
        ($cv:expr, $g:expr) => {
            $cv.wait($g).unwrap()
        };
    }
    bounded_buffer!(workload, shuttle::sync, shuttle::thread, lock_std);
}

fn per_iter(total: Duration, n: usize) -> f64 {
    total.as_secs_f64() * 1e6 / n as f64
}

fn main() {
    let n = 20_000;
    // Warm up both.
    check(
        Config::new().strategy(Strategy::Random).iterations(200),
        ours::workload,
    )
    .unwrap();
    shuttle::check_random(shuttle_side::workload, 200);

    let t = Instant::now();
    let stats = check(
        Config::new().strategy(Strategy::Random).iterations(n),
        ours::workload,
    )
    .unwrap_or_else(|f| panic!("{f}"));
    let ours_us = per_iter(t.elapsed(), n);

    let t = Instant::now();
    shuttle::check_random(shuttle_side::workload, n);
    let shuttle_us = per_iter(t.elapsed(), n);

    let mut exhaustive = Vec::new();
    for bound in 1..=3 {
        let t = Instant::now();
        let stats = check(
            Config::new().strategy(Strategy::DelayBounded { bound }),
            ours::workload,
        )
        .unwrap_or_else(|f| panic!("{f}"));
        exhaustive.push((bound, stats.schedules, t.elapsed()));
    }

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

    println!("| measurement | interleave | reference | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| bounded buffer, random schedule ({n} iterations, up to {} steps) | {ours_us:.1} µs/iter | shuttle {shuttle_us:.1} µs/iter | {:.2} |",
        stats.max_steps,
        ours_us / shuttle_us
    );
    for (bound, schedules, time) in exhaustive {
        println!(
            "| bounded buffer, delay-bounded exhaustive, bound {bound} | {schedules} schedules in {:.2} s | goal < 5 s (bound 2) | |",
            time.as_secs_f64()
        );
    }
    println!(
        "| real mode, uncontended lock+unlock (best of 5 x {rounds}) | {best_ours:.2} ns | parking_lot {best_pl:.2} ns | {:.2} |",
        best_ours / best_pl
    );
}
