//! Schedules to the first bug under PCT (depth 3), interleave against shuttle, on
//! many-thread programs in the style of SCTBench (Thomson, Donaldson and Betts): the
//! N-thread reorder (`reorder_N_bad`) and the two-stage hand-off (`twostage_N_bad`), the
//! same program written once for both engines (`common/mod.rs`). For each seed, each
//! engine runs PCT until the first failure (or the cap); the table gives the median, how
//! many seeds found the bug, and every seed's count. Each engine's count includes its
//! first, deterministic run (interleave's canonical run that measures k, shuttle's
//! oldest-task-first run that does the same).
//!
//! `--rate N` instead runs N single PCT schedules per engine (seeds 0..N, each after its
//! engine's first run) and counts the failing ones: a finer measure of the probability
//! of finding the bug in one schedule than the first failure is.
//!
//! Run with `cargo bench -p interleave --bench pct_compare -- [WORKLOAD...] [--seeds N]
//! [--from S] [--cap N] [--rate N] [--ours]`; workloads `reorder10`, `reorder20`, `reorder100`,
//! `twostage10`, `twostage20`, `twostage100` (default: all six).

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::Workload;
use interleave::explore::{Config, Strategy, check};

/// Counts the executions of the body under shuttle (its runner does not say how many
/// schedules ran before a failure).
static RUNS: AtomicUsize = AtomicUsize::new(0);

/// How many schedules interleave's PCT runs up to the first failure (None: none within
/// `cap` PCT schedules).
fn ours_to_bug(w: &Workload, seed: u64, cap: usize) -> Option<usize> {
    let (f, n) = (w.ours, w.n);
    let config = Config::new()
        .strategy(Strategy::Pct { depth: 3 })
        .seed(seed)
        .iterations(cap);
    check(config, move || f(n, true))
        .err()
        .map(|failure| failure.schedule)
}

/// How many schedules shuttle's PCT runs up to the first failure.
fn theirs_to_bug(w: &Workload, seed: u64, cap: usize) -> Option<usize> {
    let (f, n) = (w.theirs, w.n);
    RUNS.store(0, Ordering::SeqCst);
    // Shuttle's first iteration is its deterministic run: cap + 1 gives it `cap` PCT ones.
    let scheduler = shuttle::scheduler::PctScheduler::new_from_seed(seed, 3, cap + 1);
    let mut config = shuttle::Config::new();
    config.failure_persistence = shuttle::FailurePersistence::None;
    config.silence_warnings = true;
    let runner = shuttle::Runner::new(scheduler, config);
    let r = catch_unwind(AssertUnwindSafe(|| {
        runner.run(move || {
            RUNS.fetch_add(1, Ordering::SeqCst);
            f(n, true)
        })
    }));
    r.is_err().then(|| RUNS.load(Ordering::SeqCst))
}

fn median(v: &[Option<usize>], cap: usize) -> String {
    // A seed that did not find the bug counts as "more than the cap".
    let mut xs: Vec<usize> = v.iter().map(|x| x.unwrap_or(usize::MAX)).collect();
    xs.sort_unstable();
    // The lower median of an even count, as an integer.
    match xs[(xs.len() - 1) / 2] {
        usize::MAX => format!(">{cap}"),
        m => m.to_string(),
    }
}

fn show(v: &[Option<usize>]) -> String {
    v.iter()
        .map(|x| x.map(|n| n.to_string()).unwrap_or_else(|| "-".into()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() {
    let mut names = Vec::new();
    let mut seeds = 10u64;
    let mut from = 0u64;
    let mut cap = 100_000usize;
    let mut rate = 0u64;
    let mut only_ours = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> u64 {
            args.next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{what} takes a number"))
        };
        match a.as_str() {
            "--seeds" => seeds = num("--seeds"),
            "--from" => from = num("--from"),
            "--cap" => cap = num("--cap") as usize,
            "--rate" => rate = num("--rate"),
            "--ours" => only_ours = true,
            "--bench" => {}
            other => names.push(other.to_string()),
        }
    }
    let selected: Vec<Workload> = common::workloads()
        .into_iter()
        .filter(|w| w.name != "bounded_buffer")
        .filter(|w| names.is_empty() || names.iter().any(|n| n == w.name))
        .collect();
    // Failures are expected: keep their panic messages off the table.
    std::panic::set_hook(Box::new(|_| {}));
    let engines: &[&str] = if only_ours {
        &["interleave"]
    } else {
        &["interleave", "shuttle"]
    };
    if rate > 0 {
        println!("PCT depth 3, failing schedules out of {rate} single schedules (seeds 0..{rate})");
        println!("| workload | engine | failing | time |");
        println!("|---|---|---|---|");
        for w in &selected {
            for &engine in engines {
                let t = Instant::now();
                let failing = (0..rate)
                    .filter(|&seed| match engine {
                        "interleave" => ours_to_bug(w, seed, 1).is_some(),
                        _ => theirs_to_bug(w, seed, 1).is_some(),
                    })
                    .count();
                println!(
                    "| {} | {engine} | {failing} | {:.1} s |",
                    w.name,
                    t.elapsed().as_secs_f64()
                );
            }
        }
        return;
    }
    println!(
        "PCT depth 3, schedules up to the first failure, seeds {from}..{}, cap {cap}",
        from + seeds
    );
    println!("| workload | engine | median | found | per seed | time |");
    println!("|---|---|---|---|---|---|");
    for w in &selected {
        for &engine in engines {
            let t = Instant::now();
            let counts: Vec<Option<usize>> = (from..from + seeds)
                .map(|seed| match engine {
                    "interleave" => ours_to_bug(w, seed, cap),
                    _ => theirs_to_bug(w, seed, cap),
                })
                .collect();
            let found = counts.iter().filter(|c| c.is_some()).count();
            println!(
                "| {} | {engine} | {} | {found}/{seeds} | {} | {:.1} s |",
                w.name,
                median(&counts, cap),
                show(&counts),
                t.elapsed().as_secs_f64()
            );
        }
    }
}
