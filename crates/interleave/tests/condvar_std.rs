//! std's condvar contract as an exploration mode ([`CondvarSemantics::Std`]): a
//! `notify_one` may wake any waiter and a wait may return spuriously, both chosen by the
//! strategy. The oracles: a `wait` under `if` and a `notify_one` on a condvar shared by
//! two conditions pass every FIFO schedule and fail under std's contract, with every
//! strategy; correct code passes it; failures replay from their seed and strategy.

use interleave::explore::{CondvarSemantics, Config, Strategy, check};
use interleave::monitor::{Condition, Monitor, Semantics};
use interleave::report::FailureKind;
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::thread;

fn strategies() -> Vec<(Strategy, usize)> {
    vec![
        (Strategy::Random, 200),
        (Strategy::Pct { depth: 3 }, 200),
        (Strategy::DelayBounded { bound: 2 }, 0),
        (Strategy::Portfolio, 200),
    ]
}

fn fifo(s: &Strategy, n: usize) -> Config {
    Config::new().strategy(s.clone()).iterations(n)
}

fn std_mode(s: &Strategy, n: usize) -> Config {
    fifo(s, n).condvar(CondvarSemantics::Std)
}

/// A flag set once and waited for with `if` (or `while`): the waiter asserts the flag
/// when its wait returns.
fn flag(with_loop: bool) {
    let pair = Arc::new((Mutex::named("flag", false), Condvar::named("set")));
    let p = pair.clone();
    let waiter = thread::Builder::new()
        .name("W".into())
        .spawn(move || {
            let mut g = p.0.lock();
            if with_loop {
                while !*g {
                    p.1.wait(&mut g);
                }
            } else if !*g {
                p.1.wait(&mut g);
            }
            assert!(*g, "W went on while the flag was still down");
        })
        .unwrap();
    let p = pair.clone();
    let setter = thread::Builder::new()
        .name("S".into())
        .spawn(move || {
            *p.0.lock() = true;
            p.1.notify_one();
        })
        .unwrap();
    waiter.join().unwrap();
    setter.join().unwrap();
}

#[test]
fn a_wait_without_a_loop_passes_fifo_and_fails_std() {
    for (s, n) in strategies() {
        check(fifo(&s, n), || flag(false))
            .unwrap_or_else(|f| panic!("{s}: FIFO never wakes a waiter for nothing: {f}"));
        let f = check(std_mode(&s, n), || flag(false))
            .expect_err("a spurious wake-up must break the `if`");
        assert_eq!(f.kind, FailureKind::Panic, "{s}: {f}");
        assert!(f.message.contains("flag was still down"), "{s}: {f}");
        assert!(
            f.trace.compact().contains(
                "wait set: spurious wake-up (std allows them: re-check the condition in a loop)"
            ),
            "{s}: {f}"
        );
    }
}

/// Two threads wait on one condvar for two different flags; the main thread makes sure
/// A waits before B, then raises A's flag and notifies one, then B's. Under FIFO the
/// first notification always reaches A; under std's contract it may reach B, which goes
/// back to waiting, and A is never woken.
fn shared_condvar(notify_all: bool) {
    struct S {
        m: Mutex<(bool, bool, usize)>,
        cv: Condvar,
        waiting: Condvar,
    }
    let s = Arc::new(S {
        m: Mutex::named("flags", (false, false, 0)),
        cv: Condvar::named("changed"),
        waiting: Condvar::named("waiting"),
    });
    let waiter = |name: &str, which: usize, s: Arc<S>| {
        thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let mut g = s.m.lock();
                g.2 += 1;
                s.waiting.notify_all();
                while !(if which == 0 { g.0 } else { g.1 }) {
                    s.cv.wait(&mut g);
                }
            })
            .unwrap()
    };
    let wait_for = |s: &S, n: usize| {
        let mut g = s.m.lock();
        while g.2 < n {
            s.waiting.wait(&mut g);
        }
    };
    let a = waiter("A", 0, s.clone());
    wait_for(&s, 1);
    let b = waiter("B", 1, s.clone());
    wait_for(&s, 2);
    for flag in 0..2 {
        let mut g = s.m.lock();
        if flag == 0 {
            g.0 = true;
        } else {
            g.1 = true;
        }
        if notify_all {
            s.cv.notify_all();
        } else {
            s.cv.notify_one();
        }
    }
    a.join().unwrap();
    b.join().unwrap();
}

#[test]
fn notify_one_on_a_shared_condvar_passes_fifo_and_fails_std() {
    for (s, n) in strategies() {
        check(fifo(&s, n), || shared_condvar(false))
            .unwrap_or_else(|f| panic!("{s}: FIFO wakes A first: {f}"));
        let f = check(std_mode(&s, n), || shared_condvar(false))
            .expect_err("notify_one may wake the wrong waiter");
        assert_eq!(f.kind, FailureKind::LostWakeup, "{s}: {f}");
        assert!(
            f.message
                .contains("waits on Condvar changed; no thread that could notify it"),
            "{s}: {f}"
        );
        assert!(
            f.trace
                .compact()
                .contains("notify_one changed: wakes B (std lets notify_one wake any waiter)"),
            "{s}: {f}"
        );
    }
}

#[test]
fn correct_code_passes_std_with_every_strategy() {
    for (s, n) in strategies() {
        let stats = check(std_mode(&s, n), || {
            flag(true);
            shared_condvar(true);
        })
        .unwrap_or_else(|f| panic!("{s}: {f}"));
        assert!(stats.schedules >= n.max(1), "{s}: {stats:?}");
    }
}

#[test]
fn std_mode_explores_more_schedules_in_the_exhaustive_search() {
    let count = |c: Config| check(c, || flag(true)).unwrap().schedules;
    let s = Strategy::DelayBounded { bound: 2 };
    assert!(count(std_mode(&s, 0)) > count(fifo(&s, 0)));
}

#[test]
fn std_failures_replay_from_their_seed_and_strategy() {
    for (s, n) in strategies() {
        let body = || shared_condvar(false);
        let f = check(std_mode(&s, n).seed(5), body).expect_err("found");
        let again = check(
            Config::new()
                .strategy(Strategy::parse(&f.strategy).unwrap())
                .seed(f.seed)
                .iterations(1)
                .condvar(CondvarSemantics::Std),
            body,
        )
        .expect_err("replayed");
        assert_eq!(
            again.trace.compact(),
            f.trace.compact(),
            "{s}: {}",
            f.strategy
        );
    }
    // The exhaustive search prints the notification it chose in its schedule string.
    let f = check(std_mode(&Strategy::DelayBounded { bound: 2 }, 0), || {
        shared_condvar(false)
    })
    .unwrap_err();
    assert!(f.strategy.contains('~'), "{}", f.strategy);
}

/// Helper run as a child process by `the_environment_selects_std_semantics`.
#[test]
#[ignore = "run as a child process by the_environment_selects_std_semantics"]
fn std_env_child() {
    if std::env::var("INTERLEAVE_STD_CHILD").is_ok() {
        // The configuration says FIFO (which passes); the environment overrides it.
        let f = check(fifo(&Strategy::Random, 200).seed(1), || flag(false))
            .expect_err("the environment selects std's contract");
        println!("CHILD TRACE\n{}", f.trace.compact());
    }
}

#[test]
fn the_environment_selects_std_semantics() {
    let f = check(std_mode(&Strategy::Random, 200).seed(1), || flag(false)).unwrap_err();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "std_env_child", "--nocapture"])
        .env("INTERLEAVE_STD_CHILD", "1")
        .env("INTERLEAVE_CONDVAR", "std")
        .env_remove("INTERLEAVE_SEED")
        .env_remove("INTERLEAVE_STRATEGY")
        .env_remove("INTERLEAVE_ITERATIONS")
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

/// The textbook monitor: under Mesa semantics std's contract applies (a signal may wake
/// any waiter, a wait may end without one), under Hoare it does not (the woken thread
/// runs at once, so `if` is right).
fn monitor_flag(semantics: Semantics) {
    let m = Arc::new((
        Monitor::named("gate", false, semantics),
        Condition::named("open"),
    ));
    let w = m.clone();
    let waiter = thread::Builder::new()
        .name("W".into())
        .spawn(move || {
            let mut g = w.0.enter();
            if !*g {
                w.1.wait(&mut g);
            }
            assert!(*g, "W went on while the gate was closed");
        })
        .unwrap();
    {
        let mut g = m.0.enter();
        *g = true;
        m.1.signal(&mut g);
    }
    waiter.join().unwrap();
}

#[test]
fn a_mesa_wait_without_a_loop_fails_std_and_hoare_stays_correct() {
    for (s, n) in strategies() {
        check(fifo(&s, n), || monitor_flag(Semantics::Mesa))
            .unwrap_or_else(|f| panic!("{s}: nobody barges in here: {f}"));
        let f = check(std_mode(&s, n), || monitor_flag(Semantics::Mesa))
            .expect_err("a spurious wake-up breaks the `if` under Mesa");
        assert!(f.message.contains("gate was closed"), "{s}: {f}");
        check(std_mode(&s, n), || monitor_flag(Semantics::Hoare))
            .unwrap_or_else(|f| panic!("{s}: Hoare has no spurious wake-up: {f}"));
    }
}

#[test]
fn scenarios_keep_fifo_semantics() {
    // A scenario never uses the exploration's configuration: the same table whatever
    // the environment says.
    use interleave::scenario::Scenario;
    let table = Scenario::new(|| (Mutex::named("m", 0u32), Condvar::named("cv")))
        .call("A", "wait", |s| {
            let mut g = s.0.lock();
            while *g == 0 {
                s.1.wait(&mut g);
            }
        })
        .call("B", "wait", |s| {
            let mut g = s.0.lock();
            while *g == 0 {
                s.1.wait(&mut g);
            }
        })
        .call("C", "notify_one", |s| {
            *s.0.lock() = 1;
            s.1.notify_one();
        })
        .run();
    assert_eq!(table.rows[2].returned, vec!["C notify_one", "A wait"]);
    assert_eq!(table.blocked_at_end, vec!["B wait"]);
}

/// A spurious wake-up can also come late in a timed wait, when time passes: a loop that
/// restarts the full timeout after each wake-up then waits longer than asked. The
/// exhaustive search finds it and its schedule string replays it.
#[test]
fn a_late_spurious_wake_up_stretches_a_restarted_timeout() {
    use interleave::time::Instant;
    use std::time::Duration;
    let body = || {
        let pair = Arc::new((Mutex::named("flag", false), Condvar::named("set")));
        let p = pair.clone();
        let w = thread::Builder::new()
            .name("W".into())
            .spawn(move || {
                let start = Instant::now();
                let mut g = p.0.lock();
                while !*g {
                    if p.1.wait_for(&mut g, Duration::from_secs(5)).timed_out() {
                        break;
                    }
                }
                start.elapsed()
            })
            .unwrap();
        thread::spawn(|| thread::sleep(Duration::from_secs(2)))
            .join()
            .unwrap();
        let took = w.join().unwrap();
        assert!(took <= Duration::from_secs(5), "a 5 s wait took {took:?}");
    };
    let s = Strategy::DelayBounded { bound: 2 };
    check(fifo(&s, 0), body).unwrap_or_else(|f| panic!("{f}"));
    let f = check(std_mode(&s, 0), body).expect_err("a wake-up at 2 s restarts the wait");
    assert!(f.message.contains("a 5 s wait took 7s"), "{f}");
    let again = check(
        Config::new()
            .strategy(Strategy::parse(&f.strategy).unwrap())
            .condvar(CondvarSemantics::Std),
        body,
    )
    .expect_err("replayed");
    assert_eq!(again.trace.compact(), f.trace.compact(), "{}", f.strategy);
}
