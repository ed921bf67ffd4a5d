//! How explorations run: iterative deepening of the delay-bounded search, the caps and
//! the coverage they report, the portfolio's turns, PCT on a many-thread hand-off.

use std::time::Duration;

use interleave::explore::{Cap, Config, Strategy, check};
use interleave::sync::atomic::{AtomicI32, Ordering};
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::thread;

/// A lost update that needs one delay (two threads, load then store).
fn lost_update() {
    let c = Arc::new(AtomicI32::named("count", 0));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let c = c.clone();
            thread::spawn(move || {
                let v = c.load(Ordering::SeqCst);
                c.store(v + 1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(c.load(Ordering::SeqCst), 2, "lost update");
}

/// The bounded buffer of the benchmarks (capacity 2, two producers, two consumers, three
/// items each): correct, with many schedules within a bound.
fn buffer() {
    let b = Arc::new((
        Mutex::named("q", Vec::<u32>::new()),
        Condvar::named("not_empty"),
        Condvar::named("not_full"),
    ));
    let mut hs = Vec::new();
    for _ in 0..2 {
        let p = b.clone();
        hs.push(thread::spawn(move || {
            for i in 0..3 {
                let mut q = p.0.lock();
                while q.len() == 2 {
                    p.2.wait(&mut q);
                }
                q.push(i);
                drop(q);
                p.1.notify_one();
            }
        }));
        let c = b.clone();
        hs.push(thread::spawn(move || {
            for _ in 0..3 {
                let mut q = c.0.lock();
                while q.is_empty() {
                    c.1.wait(&mut q);
                }
                q.remove(0);
                drop(q);
                c.2.notify_one();
            }
        }));
    }
    for h in hs {
        h.join().unwrap();
    }
}

fn delay(bound: usize, iterative: bool) -> Config {
    Config::new()
        .strategy(Strategy::DelayBounded { bound })
        .iterative_deepening(iterative)
}

#[test]
fn iterative_deepening_finds_a_bug_in_as_many_schedules_whatever_the_bound() {
    let found_at = |bound, iterative| {
        let f = check(delay(bound, iterative), lost_update).expect_err("found");
        // One delay is all it takes, and the report says so.
        if iterative {
            assert_eq!(f.strategy.matches('.').count(), 0, "{}", f.strategy);
        }
        f.schedule
    };
    let iterative: Vec<usize> = (1..=4).map(|b| found_at(b, true)).collect();
    assert!(
        iterative.iter().all(|&n| n == iterative[0]),
        "{iterative:?}"
    );
    // In one pass, a higher bound reaches the one-delay schedules later.
    let one_pass: Vec<usize> = (1..=4).map(|b| found_at(b, false)).collect();
    assert!(one_pass.windows(2).all(|w| w[0] <= w[1]), "{one_pass:?}");
    assert!(one_pass[3] > one_pass[0], "{one_pass:?}");
    assert_eq!(one_pass[0], iterative[0]);
}

#[test]
fn iterative_deepening_runs_every_schedule_of_the_one_pass_search() {
    for bound in 0..=2 {
        let one = check(delay(bound, false), buffer).unwrap();
        let it = check(delay(bound, true), buffer).unwrap();
        let (a, b) = (one.coverage.unwrap(), it.coverage.unwrap());
        assert!(a.complete() && b.complete(), "{a:?} {b:?}");
        // The passes re-run the smaller bounds' schedules: more runs, never fewer.
        assert!(it.schedules >= one.schedules, "{bound}: {it:?} {one:?}");
        assert_eq!(
            b.to_string(),
            format!(
                "every schedule with at most {bound} delay{}",
                if bound == 1 { "" } else { "s" }
            )
        );
    }
}

#[test]
fn a_schedule_cap_stops_the_exhaustive_search_and_reports_its_coverage() {
    let full = check(delay(2, true), buffer).unwrap();
    assert_eq!(full.capped, None);
    let cap = full.schedules / 2;
    let stats = check(delay(2, true).max_schedules(cap), buffer).unwrap();
    assert_eq!(stats.schedules, cap);
    assert_eq!(stats.capped, Some(Cap::Schedules(cap)));
    let c = stats.coverage.unwrap();
    assert!(!c.complete());
    // Half of the runs: bounds 0 and 1 are done (they are a small part of bound 2).
    assert_eq!(c.complete_up_to, Some(1), "{c:?}");
    assert!(
        c.partial_schedules > 0 && c.partial_schedules < cap,
        "{c:?}"
    );
    assert!(c.partial_percent < 100, "{c:?}");
    let text = c.to_string();
    assert!(
        text.starts_with("every schedule with at most 1 delay, and ")
            && text.contains("schedules with exactly 2 delays (about "),
        "{text}"
    );
    // In one pass, nothing is known complete before the end.
    let stats = check(delay(2, false).max_schedules(cap), buffer).unwrap();
    let c = stats.coverage.unwrap();
    assert_eq!(c.complete_up_to, None);
    assert_eq!(c.partial_schedules, cap);
    assert!(
        c.to_string().contains("schedules with at most 2 delays"),
        "{c}"
    );
}

#[test]
fn a_schedule_cap_applies_to_every_strategy() {
    for s in [
        Strategy::Random,
        Strategy::Pct { depth: 3 },
        Strategy::Portfolio,
    ] {
        let stats = check(
            Config::new()
                .strategy(s.clone())
                .iterations(500)
                .max_schedules(7),
            buffer,
        )
        .unwrap();
        assert_eq!(stats.schedules, 7, "{s}");
        assert_eq!(stats.capped, Some(Cap::Schedules(7)), "{s}");
        assert_eq!(stats.coverage, None);
    }
    // A cap above the plan changes nothing.
    let stats = check(
        Config::new()
            .strategy(Strategy::Random)
            .iterations(5)
            .max_schedules(100),
        buffer,
    )
    .unwrap();
    assert_eq!((stats.schedules, stats.capped), (5, None));
}

#[test]
fn a_time_cap_stops_between_schedules() {
    // A zero time cap lets no schedule start; the exploration passes, and says why.
    let stats = check(delay(3, true).max_time(Duration::ZERO), buffer).unwrap();
    assert_eq!(stats.schedules, 0);
    assert_eq!(stats.capped, Some(Cap::Time(Duration::ZERO)));
    assert_eq!(stats.coverage.unwrap().complete_up_to, None);
    // A generous one does not get in the way.
    let stats = check(
        Config::new()
            .strategy(Strategy::Random)
            .iterations(20)
            .max_time(Duration::from_secs(3600)),
        buffer,
    )
    .unwrap();
    assert_eq!((stats.schedules, stats.capped), (20, None));
}

#[test]
fn a_bug_found_before_the_cap_still_fails() {
    let f = check(delay(2, true).max_schedules(1000), lost_update).expect_err("found");
    assert!(f.message.contains("lost update"), "{f}");
}

#[test]
fn the_portfolio_takes_pct_and_random_in_turns() {
    // A body that fails on the n-th run whatever the schedule tells which strategy
    // ran it: after the canonical run, PCT, then random, then PCT...
    let strategy_of_run = |n: usize| {
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let f = check(Config::new().iterations(10), move || {
            let i = runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            assert!(i != n, "run {n}");
        })
        .expect_err("fails on that run");
        assert_eq!(f.schedule, n);
        f.strategy
    };
    assert_eq!(strategy_of_run(1), "canonical");
    assert_eq!(strategy_of_run(2), "pct:3");
    assert_eq!(strategy_of_run(3), "random");
    assert_eq!(strategy_of_run(4), "pct:3");
    assert_eq!(strategy_of_run(11), "random");
}

/// SCTBench's two-stage hand-off with 20 writers: the reader sees the first stage of a
/// writer without its second. PCT finds it within a few thousand schedules (the
/// benchmark `pct_compare` measures how fast; this only checks that it does).
#[test]
fn pct_finds_the_twenty_thread_two_stage_hand_off() {
    let body = || {
        struct S {
            m1: Mutex<()>,
            m2: Mutex<()>,
            d1: AtomicI32,
            d2: AtomicI32,
        }
        let s = Arc::new(S {
            m1: Mutex::named("m1", ()),
            m2: Mutex::named("m2", ()),
            d1: AtomicI32::named("data1", 0),
            d2: AtomicI32::named("data2", 0),
        });
        let mut hs = Vec::new();
        for _ in 0..20 {
            let s = s.clone();
            hs.push(thread::spawn(move || {
                {
                    let _g = s.m1.lock();
                    s.d1.store(1, Ordering::SeqCst);
                }
                let _g = s.m2.lock();
                let v = s.d1.load(Ordering::SeqCst);
                s.d2.store(v + 1, Ordering::SeqCst);
            }));
        }
        let r = s.clone();
        hs.push(thread::spawn(move || {
            let t1 = {
                let _g = r.m1.lock();
                r.d1.load(Ordering::SeqCst)
            };
            if t1 == 0 {
                return;
            }
            let t2 = {
                let _g = r.m2.lock();
                r.d2.load(Ordering::SeqCst)
            };
            assert_eq!(t2, t1 + 1, "the reader saw data1 without data2");
        }));
        for h in hs {
            h.join().unwrap();
        }
    };
    let f = check(
        Config::new()
            .strategy(Strategy::Pct { depth: 3 })
            .iterations(20_000),
        body,
    )
    .expect_err("PCT finds the hand-off");
    assert!(f.message.contains("data1 without data2"), "{f}");
    // And the failure replays from its seed.
    let again = check(
        Config::new()
            .strategy(Strategy::parse(&f.strategy).unwrap())
            .seed(f.seed)
            .iterations(1),
        body,
    )
    .expect_err("replayed");
    assert_eq!(again.trace.compact(), f.trace.compact());
}
