//! The other oracles: invariants, step budgets, bounded waiting, virtual time, and
//! escapes from the scheduler.

use std::time::Duration;

use interleave::channel;
use interleave::explore::{Config, Fairness, Observed, Strategy, check, invariant};
use interleave::report::FailureKind;
use interleave::sync::atomic::{AtomicBool, Ordering};
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::thread;
use interleave::time::Instant;

#[test]
fn a_broken_invariant_is_reported_with_the_interleaving() {
    let f = check(Config::new().iterations(200), || {
        let inside = Observed::new(0u32);
        let i = inside.clone();
        invariant("at most one inside", move || i.get() <= 1);
        let m = Arc::new(Mutex::named("door", ()));
        let hs: Vec<_> = (0..2)
            .map(|k| {
                let inside = inside.clone();
                let m = m.clone();
                thread::Builder::new()
                    .name(format!("T{k}"))
                    .spawn(move || {
                        // Bug: counts itself inside before taking the lock.
                        inside.update(|n| *n += 1);
                        interleave::trace::label("enters");
                        let _g = m.lock();
                        inside.update(|n| *n -= 1);
                        interleave::trace::label("leaves");
                    })
                    .unwrap()
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    })
    .expect_err("two threads inside");
    assert_eq!(f.kind, FailureKind::Invariant);
    let text = f.to_string();
    assert!(
        text.contains("invariant \"at most one inside\" does not hold"),
        "{text}"
    );
    assert!(text.contains("interleaving:"), "{text}");
    assert!(text.contains("enters"), "{text}");
    // The verdict comes last: the headline, then the replay line ends the report (a long
    // command continues on indented lines).
    let lines: Vec<&str> = text.lines().collect();
    let replay = lines.iter().rposition(|l| l.starts_with("replay: "));
    assert!(
        replay.is_some_and(|r| lines[r + 1..].iter().all(|l| l.starts_with("    "))),
        "{text}"
    );
    let error = lines.iter().rposition(|l| l.starts_with("error: "));
    assert!(
        error.is_some_and(|e| lines[e..].iter().all(|l| !l.contains(" | "))),
        "{text}"
    );
}

#[test]
fn busy_waiting_exceeds_the_budget() {
    let f = check(
        Config::new()
            .strategy(Strategy::Canonical)
            .max_steps_without_blocking(1000),
        || {
            let flag = Arc::new(AtomicBool::named("go", false));
            let f2 = flag.clone();
            let spinner = thread::Builder::new()
                .name("R1".into())
                .spawn(move || while !f2.load(Ordering::SeqCst) {})
                .unwrap();
            flag.store(true, Ordering::SeqCst);
            spinner.join().unwrap();
        },
    );
    // Canonical: main runs until it blocks in join, so the flag is already set.
    assert!(f.is_ok(), "{}", f.unwrap_err());
    let f = check(
        Config::new()
            .strategy(Strategy::Canonical)
            .max_steps_without_blocking(1000),
        || {
            let flag = Arc::new(AtomicBool::named("go", false));
            let f2 = flag.clone();
            let spinner = thread::Builder::new()
                .name("R1".into())
                .spawn(move || while !f2.load(Ordering::SeqCst) {})
                .unwrap();
            spinner.join().unwrap();
            flag.store(true, Ordering::SeqCst);
        },
    )
    .expect_err("R1 spins forever");
    assert_eq!(f.kind, FailureKind::Budget);
    assert_eq!(
        f.message,
        "R1 ran 1000 steps without blocking, spinning on `go` (load): a busy-wait"
    );
}

#[test]
fn spinning_with_yield_now_terminates_under_every_strategy() {
    for s in [
        Strategy::Canonical,
        Strategy::Random,
        Strategy::Pct { depth: 3 },
    ] {
        check(Config::new().strategy(s.clone()).iterations(50), || {
            let flag = Arc::new(AtomicBool::new(false));
            let f2 = flag.clone();
            let spinner = thread::spawn(move || {
                while !f2.load(Ordering::SeqCst) {
                    thread::yield_now();
                }
            });
            flag.store(true, Ordering::SeqCst);
            spinner.join().unwrap();
        })
        .unwrap_or_else(|f| panic!("{s}: {f}"));
    }
}

#[test]
fn bypassing_a_waiter_too_often_is_unfair() {
    // A plain mutex lets one thread overtake a waiter again and again.
    let f = check(Config::new().iterations(300), || {
        let m = Arc::new(Mutex::named("lane", ()));
        let fair = Fairness::new("the lane", 1);
        let hs: Vec<_> = (0..3)
            .map(|k| {
                let m = m.clone();
                let fair = fair.clone();
                thread::Builder::new()
                    .name(format!("C{k}"))
                    .spawn(move || {
                        for _ in 0..3 {
                            fair.waiting();
                            let _g = m.lock();
                            fair.entered();
                        }
                    })
                    .unwrap()
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    })
    .expect_err("a bypass bound of 1 is violated");
    assert_eq!(f.kind, FailureKind::Unfair);
    assert!(
        f.message.contains("waiting for the lane since step") && f.message.contains("(bound 1)"),
        "{f}"
    );
}

/// Runs `f` on a real thread named `name` and re-raises its panic, if any.
fn on_thread(name: &str, f: impl FnOnce() + Send + 'static) {
    let handle = thread::Builder::new().name(name.into()).spawn(f).unwrap();
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn a_waiter_that_arrived_earlier_entering_first_is_not_a_bypass() {
    // Bound 0 is strict FIFO: A waits, then B; A entering first overtakes nobody.
    let fair = Fairness::new("the lock", 0);
    for (name, enter) in [("A", false), ("B", false), ("A", true), ("B", true)] {
        let fair = fair.clone();
        on_thread(name, move || {
            if enter {
                fair.entered();
            } else {
                fair.waiting();
            }
        });
    }
}

#[test]
#[should_panic(
    expected = "A, waiting for the lock, was bypassed once (bound 0): while A waited, B entered"
)]
fn a_later_arrival_entering_first_is_a_bypass() {
    let fair = Fairness::new("the lock", 0);
    for (name, enter) in [("A", false), ("B", false), ("B", true)] {
        let fair = fair.clone();
        on_thread(name, move || {
            if enter {
                fair.entered();
            } else {
                fair.waiting();
            }
        });
    }
}

#[test]
fn timeouts_use_virtual_time() {
    check(
        Config::new().strategy(Strategy::Random).iterations(50),
        || {
            let start = Instant::now();
            let pair = Arc::new((Mutex::new(false), Condvar::named("never")));
            let mut g = pair.0.lock();
            let r = pair.1.wait_for(&mut g, Duration::from_secs(3600));
            assert!(r.timed_out());
            drop(g);
            // An hour passed in no time.
            assert_eq!(start.elapsed(), Duration::from_secs(3600));
            let (tx, rx) = channel::bounded::<u32>(1);
            let t = thread::spawn(move || {
                thread::sleep(Duration::from_secs(5));
                tx.send(1).unwrap();
            });
            assert_eq!(
                rx.recv_timeout(Duration::from_secs(1)),
                Err(channel::RecvTimeoutError::Timeout)
            );
            assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(1));
            assert_eq!(start.elapsed(), Duration::from_secs(3605));
            t.join().unwrap();
        },
    )
    .unwrap_or_else(|f| panic!("{f}"));
}

#[test]
fn the_wall_clock_can_move_back() {
    check(Config::new().strategy(Strategy::Canonical), || {
        let before = interleave::time::SystemTime::now();
        interleave::time::shift_system_time(Duration::from_secs(60), false);
        let after = interleave::time::SystemTime::now();
        assert!(after.duration_since(before).is_err(), "the clock went back");
    })
    .unwrap_or_else(|f| panic!("{f}"));
}

#[test]
fn a_real_mutex_blocking_inside_a_simulation_is_named() {
    let outside = Arc::new(Mutex::new(0));
    let f = check(Config::new().strategy(Strategy::Canonical), move || {
        let o = outside.clone();
        let g = o.lock();
        let o2 = outside.clone();
        let t = thread::Builder::new()
            .name("W".into())
            .spawn(move || *o2.lock() += 1)
            .unwrap();
        thread::yield_now(); // W runs while main holds the real mutex
        drop(g);
        t.join().unwrap();
    })
    .expect_err("the real mutex would hang");
    assert_eq!(f.kind, FailureKind::Panic);
    assert!(
        f.message
            .contains("W would block on a real Mutex created outside the simulation"),
        "{f}"
    );
}

#[test]
fn a_std_thread_using_a_simulated_mutex_is_named() {
    let f = check(Config::new().strategy(Strategy::Canonical), || {
        let m = Arc::new(Mutex::named("shared", 0));
        let m2 = m.clone();
        let r = std::thread::spawn(move || {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| *m2.lock() += 1));
            r.map_err(|e| e.downcast_ref::<String>().cloned().unwrap_or_default())
        })
        .join()
        .unwrap();
        panic!(
            "{}",
            r.expect_err("the std thread cannot use a simulated mutex")
        );
    })
    .expect_err("reported");
    assert!(
        f.message.contains(
            "was it spawned with std::thread::spawn instead of interleave::thread::spawn"
        ),
        "{f}"
    );
}

#[test]
fn channels_disconnect_and_rendezvous() {
    check(Config::new().iterations(100), || {
        let (tx, rx) = channel::bounded::<u32>(0);
        let t = thread::spawn(move || {
            for i in 0..3 {
                tx.send(i).unwrap();
            }
        });
        assert_eq!(rx.iter().collect::<Vec<_>>(), vec![0, 1, 2]);
        t.join().unwrap();
        let (tx, rx) = channel::unbounded::<u32>();
        drop(rx);
        assert!(tx.send(1).is_err());
    })
    .unwrap_or_else(|f| panic!("{f}"));
}

#[test]
fn scoped_threads_borrow_and_are_joined_in_a_simulation() {
    check(Config::new().iterations(100), || {
        let data = [1u64, 2, 3, 4, 5, 6];
        let total = Mutex::named("total", 0u64);
        thread::scope(|s| {
            for chunk in data.chunks(2) {
                let total = &total;
                s.spawn(move || *total.lock() += chunk.iter().sum::<u64>());
            }
        });
        assert_eq!(*total.lock(), 21);
    })
    .unwrap_or_else(|f| panic!("{f}"));
}

/// Helper run as a child process by `a_std_sleep_in_a_simulation_is_diagnosed` and
/// `a_contended_std_mutex_in_a_simulation_is_diagnosed`.
#[test]
#[ignore = "run as a child process by the tests of std items in a simulation"]
fn stuck_child() {
    match std::env::var("INTERLEAVE_STUCK_CHILD").as_deref() {
        Ok("sleep") => {
            let _ = check(Config::new().strategy(Strategy::Canonical), || {
                thread::Builder::new()
                    .name("sleeper".into())
                    .spawn(|| std::thread::sleep(Duration::from_secs(30)))
                    .unwrap()
                    .join()
                    .unwrap();
            });
        }
        Ok("mutex") => {
            let _ = check(Config::new().strategy(Strategy::Canonical), || {
                let m = Arc::new(std::sync::Mutex::new(0));
                let m2 = m.clone();
                let _held = m.lock().unwrap();
                // Let the other simulated thread run while the std lock is held: it blocks
                // the one OS thread.
                thread::Builder::new()
                    .name("locker".into())
                    .spawn(move || *m2.lock().unwrap() += 1)
                    .unwrap()
                    .join()
                    .unwrap();
            });
        }
        _ => {}
    }
}

/// Runs `stuck_child` with `what` and returns its standard error, whitespace flattened.
fn stuck(what: &str) -> String {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        // Without --nocapture: the diagnosis must bypass libtest's capture.
        .args(["--ignored", "--exact", "stuck_child"])
        .env("INTERLEAVE_STUCK_CHILD", what)
        .env("INTERLEAVE_WATCHDOG_SECS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the watchdog aborts: {stderr}");
    stderr.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_std_sleep_in_a_simulation_is_diagnosed() {
    let flat = stuck("sleep");
    if cfg!(target_os = "linux") {
        assert!(
            flat.contains(
                "error: sleeper has been sleeping for real for 1 s in test `stuck_child`: \
                 std::thread::sleep in simulated code?"
            ) && flat.contains("use interleave::thread::sleep"),
            "{flat}"
        );
    } else {
        assert!(flat.contains("error: sleeper has been blocked"), "{flat}");
    }
}

#[test]
fn a_contended_std_mutex_in_a_simulation_is_diagnosed() {
    let flat = stuck("mutex");
    if cfg!(target_os = "linux") {
        assert!(
            flat.contains(
                "error: locker has been blocked for 1 s of real time in test `stuck_child` in a \
                 futex, outside the scheduler: a std::sync::Mutex"
            ) && flat.contains("use interleave::sync::Mutex"),
            "{flat}"
        );
    } else {
        assert!(flat.contains("error: locker has been blocked"), "{flat}");
    }
}
