//! Each classic bug is found by each strategy within a stated budget: random, PCT (d = 3)
//! and the default portfolio within 100 schedules, the delay-bounded search with bound 2
//! exhaustively. And the Hoare monitor that is correct with `if` passes them all.

use interleave::explore::{Config, Strategy, check};
use interleave::report::FailureKind;
use interleave::sync::atomic::{AtomicUsize, Ordering};
use interleave::sync::{Arc, Mutex};
use interleave::thread;

fn lock_order_deadlock() {
    let f0 = Arc::new(Mutex::named("fork0", ()));
    let f1 = Arc::new(Mutex::named("fork1", ()));
    let (a0, a1) = (f0.clone(), f1.clone());
    let p0 = thread::Builder::new()
        .name("P0".into())
        .spawn(move || {
            let _l = a0.lock();
            let _r = a1.lock();
        })
        .unwrap();
    let p1 = thread::Builder::new()
        .name("P1".into())
        .spawn(move || {
            let _l = f1.lock();
            let _r = f0.lock();
        })
        .unwrap();
    p0.join().unwrap();
    p1.join().unwrap();
}

fn lost_update() {
    let counter = Arc::new(AtomicUsize::named("balance", 0));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let c = counter.clone();
            thread::spawn(move || {
                let b = c.load(Ordering::SeqCst);
                c.store(b + 1, Ordering::SeqCst);
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    assert_eq!(counter.load(Ordering::SeqCst), 2, "lost update");
}

fn strategies() -> Vec<(Strategy, usize)> {
    vec![
        (Strategy::Random, 100),
        (Strategy::Pct { depth: 3 }, 100),
        (Strategy::DelayBounded { bound: 2 }, 0),
        (Strategy::Portfolio, 100),
    ]
}

#[test]
fn lock_order_deadlock_found_by_every_strategy() {
    for (s, n) in strategies() {
        let f = check(
            Config::new().strategy(s.clone()).iterations(n),
            lock_order_deadlock,
        )
        .expect_err("the deadlock must be found");
        assert_eq!(f.kind, FailureKind::Deadlock, "{s}: {f}");
        let text = f.to_string();
        assert!(text.contains("waits for Mutex fork"), "{text}");
        assert!(text.contains("a cycle"), "{text}");
        eprintln!("{text}");
    }
}

#[test]
fn lost_update_found_by_every_strategy() {
    for (s, n) in strategies() {
        let f = check(Config::new().strategy(s.clone()).iterations(n), lost_update)
            .expect_err("the lost update must be found");
        assert_eq!(f.kind, FailureKind::Panic, "{s}: {f}");
        assert!(f.message.contains("lost update"), "{f}");
    }
}

#[test]
#[should_panic(expected = "deadlock")]
fn explore_panics_with_the_report() {
    interleave::explore(Config::new(), lock_order_deadlock);
}

mod buffer {
    use interleave::monitor::{Condition, Monitor, Semantics};
    use interleave::sync::{Arc, Condvar, Mutex};
    use interleave::thread;
    use std::collections::VecDeque;

    /// A one-slot buffer written as in the notes, with `if` (correct only under Hoare).
    pub struct IfBuffer {
        m: Monitor<VecDeque<u32>>,
        not_empty: Condition,
        not_full: Condition,
    }

    impl IfBuffer {
        pub fn new(semantics: Semantics) -> Self {
            IfBuffer {
                m: Monitor::named("buffer", VecDeque::new(), semantics),
                not_empty: Condition::named("not_empty"),
                not_full: Condition::named("not_full"),
            }
        }

        pub fn put(&self, v: u32) {
            let mut g = self.m.enter();
            if !g.is_empty() {
                self.not_full.wait(&mut g);
            }
            assert!(g.is_empty(), "put into a full buffer");
            g.push_back(v);
            self.not_empty.signal(&mut g);
        }

        pub fn take(&self) -> u32 {
            let mut g = self.m.enter();
            if g.is_empty() {
                self.not_empty.wait(&mut g);
            }
            let v = g.pop_front().expect("took from an empty buffer");
            self.not_full.signal(&mut g);
            v
        }
    }

    /// One producer, two consumers, two items each way.
    pub fn if_monitor(semantics: Semantics) {
        let b = Arc::new(IfBuffer::new(semantics));
        let mut hs = Vec::new();
        for name in ["C1", "C2"] {
            let b = b.clone();
            hs.push(
                thread::Builder::new()
                    .name(name.into())
                    .spawn(move || {
                        b.take();
                    })
                    .unwrap(),
            );
        }
        let p = b.clone();
        hs.push(
            thread::Builder::new()
                .name("P".into())
                .spawn(move || {
                    p.put(1);
                    p.put(2);
                })
                .unwrap(),
        );
        for h in hs {
            h.join().unwrap();
        }
    }

    /// The same bug with a Mutex and a Condvar: `if` instead of `while`, and a consumer
    /// (C2) that arrives after the producer's notification and barges in before the
    /// woken consumer (C1) re-acquires the mutex.
    pub fn condvar_if() {
        let pair = Arc::new((Mutex::named("items", 0u32), Condvar::named("available")));
        let consumer = |name: &str, pair: Arc<(Mutex<u32>, Condvar)>| {
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let mut n = pair.0.lock();
                    if *n == 0 {
                        pair.1.wait(&mut n);
                    }
                    assert!(*n > 0, "took from an empty buffer");
                    *n -= 1;
                })
                .unwrap()
        };
        let c1 = consumer("C1", pair.clone());
        let p = pair.clone();
        let producer = thread::Builder::new()
            .name("P".into())
            .spawn(move || {
                for _ in 0..2 {
                    *p.0.lock() += 1;
                    p.1.notify_one();
                }
            })
            .unwrap();
        let c2 = consumer("C2", pair.clone());
        for h in [c1, producer, c2] {
            h.join().unwrap();
        }
    }

    /// The classic lost wake-up: the waiter does not check the condition before waiting.
    pub fn notify_before_wait() {
        let pair = Arc::new((Mutex::named("flag", false), Condvar::named("ready")));
        let p = pair.clone();
        let w = thread::Builder::new()
            .name("W".into())
            .spawn(move || {
                let mut g = p.0.lock();
                p.1.wait(&mut g);
            })
            .unwrap();
        let p = pair.clone();
        let n = thread::Builder::new()
            .name("N".into())
            .spawn(move || {
                *p.0.lock() = true;
                p.1.notify_one();
            })
            .unwrap();
        n.join().unwrap();
        w.join().unwrap();
    }
}

use interleave::monitor::Semantics;

#[test]
fn if_instead_of_while_with_a_barging_consumer_found_by_every_strategy() {
    for (s, n) in strategies() {
        let f = check(
            Config::new().strategy(s.clone()).iterations(n),
            buffer::condvar_if,
        )
        .expect_err("the barging consumer must be found");
        assert_eq!(f.kind, FailureKind::Panic, "{s}: {f}");
        assert!(f.message.contains("took from an empty buffer"), "{f}");
    }
}

#[test]
fn lost_wakeup_found_by_every_strategy() {
    for (s, n) in strategies() {
        let f = check(
            Config::new().strategy(s.clone()).iterations(n),
            buffer::notify_before_wait,
        )
        .expect_err("the lost wake-up must be found");
        assert_eq!(f.kind, FailureKind::LostWakeup, "{s}: {f}");
        assert!(
            f.message
                .starts_with("W waits on Condvar ready; no thread that could notify it is left"),
            "{f}"
        );
    }
}

#[test]
fn hoare_monitor_with_if_passes_every_strategy() {
    for (s, n) in strategies() {
        let stats = check(Config::new().strategy(s.clone()).iterations(n), || {
            buffer::if_monitor(Semantics::Hoare)
        })
        .unwrap_or_else(|f| panic!("{s}: {f}"));
        assert!(stats.schedules >= n.max(1), "{s}: {stats:?}");
    }
}

#[test]
fn the_same_monitor_fails_under_mesa_with_every_strategy() {
    for (s, n) in strategies() {
        let f = check(Config::new().strategy(s.clone()).iterations(n), || {
            buffer::if_monitor(Semantics::Mesa)
        })
        .expect_err("Mesa semantics must break the `if`");
        assert_eq!(f.kind, FailureKind::Panic, "{s}: {f}");
        assert!(
            f.message.contains("empty buffer") || f.message.contains("full buffer"),
            "{f}"
        );
    }
}

#[test]
#[should_panic(expected = "lost wake-up")]
fn lost_wakeup_panics_with_its_name() {
    interleave::explore(Config::new(), buffer::notify_before_wait);
}
