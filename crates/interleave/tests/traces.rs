//! Traces of small fixed programs (snapshots) and determinism: the same seed gives the
//! same trace, byte for byte.

use interleave::explore::{Config, Strategy, check};
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::thread;

/// A handshake: `ping` sets a flag and notifies, `pong` waits for it.
fn handshake() {
    let pair = Arc::new((Mutex::named("flag", false), Condvar::named("set")));
    let p = pair.clone();
    let pong = thread::Builder::new()
        .name("pong".into())
        .spawn(move || {
            let mut g = p.0.lock();
            while !*g {
                p.1.wait(&mut g);
            }
            interleave::trace::label("got it");
        })
        .unwrap();
    let p = pair.clone();
    let ping = thread::Builder::new()
        .name("ping".into())
        .spawn(move || {
            interleave::trace::label("sends");
            *p.0.lock() = true;
            p.1.notify_one();
        })
        .unwrap();
    ping.join().unwrap();
    pong.join().unwrap();
}

/// Runs `body` once under `strategy` and `seed` and returns its trace: a deadlock is
/// forced at the end so that `check` hands the trace back.
fn trace_of(strategy: Strategy, seed: u64) -> interleave::trace::Trace {
    let f = check(
        Config::new().strategy(strategy).seed(seed).iterations(1),
        || {
            handshake();
            // Block forever to get the trace back through the failure report.
            let m = Mutex::named("end", ());
            let _a = m.lock();
            let _b = m.lock();
        },
    )
    .expect_err("the self-deadlock at the end always fails");
    f.trace
}

#[test]
fn canonical_handshake_timeline() {
    insta::assert_snapshot!(trace_of(Strategy::Canonical, 0).timeline());
}

#[test]
fn random_handshake_compact_and_json() {
    let t = trace_of(Strategy::Random, 7);
    insta::assert_snapshot!("random_7_compact", t.compact());
    let json = t.to_json();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["threads"][0], "main");
    assert_eq!(v["events"].as_array().unwrap().len(), t.events.len());
}

#[test]
fn same_seed_same_trace_twenty_times() {
    for strategy in [Strategy::Random, Strategy::Pct { depth: 3 }] {
        let first = trace_of(strategy.clone(), 12345).compact();
        for _ in 0..20 {
            assert_eq!(
                trace_of(strategy.clone(), 12345).compact(),
                first,
                "{strategy}"
            );
        }
    }
}

#[test]
fn different_seeds_give_different_schedules() {
    let traces: std::collections::HashSet<String> = (0..20)
        .map(|s| trace_of(Strategy::Random, s).compact())
        .collect();
    assert!(traces.len() > 1, "random schedules must vary with the seed");
}

#[test]
fn a_reported_seed_replays_the_failure() {
    // A lost update found at some schedule of 200...
    let body = || {
        use interleave::sync::atomic::{AtomicU32, Ordering};
        let c = Arc::new(AtomicU32::named("count", 0));
        let hs: Vec<_> = (0..3)
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
        assert_eq!(c.load(Ordering::SeqCst), 3);
    };
    for strategy in [
        Strategy::Random,
        Strategy::Pct { depth: 3 },
        Strategy::Portfolio,
    ] {
        let f = check(
            Config::new().strategy(strategy).seed(99).iterations(200),
            body,
        )
        .expect_err("found");
        // ...is replayed by its own seed with one iteration.
        let again = check(
            Config::new()
                .strategy(Strategy::parse(&f.strategy).unwrap())
                .seed(f.seed)
                .iterations(1),
            body,
        )
        .expect_err("replayed");
        assert_eq!(again.trace.compact(), f.trace.compact(), "{}", f.strategy);
        assert!(
            f.replay_line()
                .contains(&format!("INTERLEAVE_SEED={}", f.seed))
        );
    }
}

/// Two threads take two locks in opposite orders: a deadlock that needs a deviation
/// from the canonical schedule.
fn opposite_orders() {
    let a = Arc::new(Mutex::named("a", ()));
    let b = Arc::new(Mutex::named("b", ()));
    let (a2, b2) = (a.clone(), b.clone());
    let t = thread::Builder::new()
        .name("T".into())
        .spawn(move || {
            let _x = a2.lock();
            let _y = b2.lock();
        })
        .unwrap();
    {
        let _y = b.lock();
        let _x = a.lock();
    }
    t.join().unwrap();
}

#[test]
fn a_schedule_string_replays_an_exhaustive_failure() {
    let f = check(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        opposite_orders,
    )
    .expect_err("found");
    assert!(f.strategy.starts_with("schedule:"), "{}", f.strategy);
    let again = check(
        Config::new().strategy(Strategy::parse(&f.strategy).unwrap()),
        opposite_orders,
    )
    .expect_err("replayed");
    assert_eq!(again.trace.compact(), f.trace.compact());
}

/// Helper run as a child process by `the_replay_line_environment_replays_the_failure`.
#[test]
#[ignore = "run as a child process by the_replay_line_environment_replays_the_failure"]
fn replay_child() {
    if std::env::var("INTERLEAVE_REPLAY_CHILD").is_ok() {
        // The configuration says canonical (which passes); the environment overrides it.
        let f = check(Config::new().strategy(Strategy::Canonical), opposite_orders)
            .expect_err("the environment selects the failing schedule");
        println!("CHILD TRACE\n{}", f.trace.compact());
    }
}

#[test]
fn the_replay_line_environment_replays_the_failure() {
    let f = check(
        Config::new()
            .strategy(Strategy::Random)
            .seed(3)
            .iterations(500),
        opposite_orders,
    )
    .expect_err("found");
    let line = f.replay_line();
    let vars: Vec<(String, String)> = line
        .split_whitespace()
        .filter_map(|w| w.split_once('='))
        .filter(|(k, _)| k.starts_with("INTERLEAVE_"))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(vars.len(), 3, "{line}");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "replay_child", "--nocapture"])
        .env("INTERLEAVE_REPLAY_CHILD", "1")
        .envs(vars)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("CHILD TRACE\n{}", f.trace.compact())),
        "{stdout}\nexpected:\n{}",
        f.trace.compact()
    );
}
