//! Checks `locks/convoy`: a CPU-bound thread that holds the lock for long stretches and
//! takes it again at once, and an I/O-bound thread that needs it briefly and often. With a
//! lock that hands over, the I/O thread is overtaken at most once per wait; with a lock
//! that lets the releasing thread barge back in, it waits through every stretch.

use interleave::explore::{Config, Fairness, Observed, Strategy, check, explore, invariant};
use interleave::report::FailureKind;
use interleave::scenario::{Returned, Scenario};
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::thread;
use locks::convoy::HandoffLock;

/// The two ways of taking and releasing a lock that the workload needs.
trait RawLock: Send + Sync + 'static {
    fn acquire(&self);
    fn release(&self);
}

impl RawLock for HandoffLock {
    fn acquire(&self) {
        self.lock();
    }
    fn release(&self) {
        self.unlock();
    }
}

/// A lock that barges (the starter's shape), kept here to prove that the oracle finds the
/// convoy.
struct BargingLock {
    locked: Mutex<bool>,
    free: Condvar,
}

impl RawLock for BargingLock {
    fn acquire(&self) {
        let mut l = self.locked.lock();
        while *l {
            self.free.wait(&mut l);
        }
        *l = true;
    }
    fn release(&self) {
        *self.locked.lock() = false;
        self.free.notify_one();
    }
}

/// CPU holds the lock for stretches of work (three scheduling points each) and takes it
/// again at once, four times; IO takes it briefly three times, doing "I/O" in between.
/// IO declares its waits to the fairness oracle.
fn convoy<L: RawLock>(lock: L, fair: Fairness) {
    let lock = Arc::new(lock);
    let inside = Observed::new(0u32);
    let i = inside.clone();
    invariant("at most one thread holds the lock", move || i.get() <= 1);
    let spawn = |name: &str, rounds: usize, work: usize| {
        let (lock, inside, fair) = (lock.clone(), inside.clone(), fair.clone());
        thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                for _ in 0..rounds {
                    // Only IO's waits are watched; CPU's entries count as bypasses.
                    if work == 0 {
                        fair.waiting();
                    }
                    lock.acquire();
                    fair.entered();
                    inside.update(|n| *n += 1);
                    for _ in 0..work {
                        thread::yield_now();
                    }
                    inside.update(|n| *n -= 1);
                    lock.release();
                    if work == 0 {
                        thread::yield_now(); // IO's I/O, outside the lock
                    }
                }
            })
            .expect("spawn a thread")
    };
    let cpu = spawn("CPU", 4, 3);
    let io = spawn("IO", 3, 0);
    cpu.join().expect("CPU panicked");
    io.join().expect("IO panicked");
}

#[test]
fn the_io_thread_is_overtaken_at_most_once() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || convoy(HandoffLock::new(), Fairness::new("the lock", 1)),
    );
}

#[test]
fn at_most_one_thread_holds_the_lock() {
    explore(Config::new().iterations(500), || {
        convoy(HandoffLock::new(), Fairness::new("the lock", usize::MAX))
    });
}

#[test]
fn the_oracle_finds_the_convoy_behind_a_barging_lock() {
    let f = check(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || {
            let lock = BargingLock {
                locked: Mutex::named("barging", false),
                free: Condvar::named("free"),
            };
            convoy(lock, Fairness::new("the lock", 1));
        },
    )
    .expect_err("a barging lock lets CPU overtake IO again and again");
    assert_eq!(f.kind, FailureKind::Unfair, "{f}");
    assert!(
        f.message
            .starts_with("IO was bypassed 2 times while waiting for the lock (bound 1): CPU, CPU"),
        "{f}"
    );
}

/// Who holds the lock, computed from the calls that returned.
fn holder(done: &[Returned]) -> String {
    let mut holder = None;
    for r in done {
        if r.call == "lock()" || r.call.ends_with("; lock()") {
            holder = Some(r.actor.clone());
        } else {
            holder = None;
        }
    }
    match holder {
        Some(h) => format!("held by {h}"),
        None => "free".to_string(),
    }
}

#[test]
fn unlock_hands_the_lock_to_the_waiting_thread() {
    let table = Scenario::new(HandoffLock::new)
        .call("CPU", "lock()", |l| l.lock())
        .call("IO", "lock()", |l| l.lock())
        .call("CPU", "unlock(); lock()", |l| {
            l.unlock();
            l.lock();
        })
        .call("IO", "unlock()", |l| l.unlock())
        .call("CPU", "unlock()", |l| l.unlock())
        .state(holder)
        .run();
    interleave::assert_table!(table);
}

#[test]
fn the_bench_rejects_an_unknown_argument() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convoy_bench"))
        .arg("--holdus")
        .output()
        .expect("run convoy_bench");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with(
            "convoy_bench: unknown option \"--holdus\"\nusage: convoy_bench [--rounds N]"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[test]
fn the_bench_bounds_its_values_and_answers_help() {
    for args in [
        &["--rounds", "99999999999"][..],
        &["--hold-us", "99999999999"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_convoy_bench"))
            .args(args)
            .output()
            .expect("run convoy_bench");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("must be a whole number from ") && stderr.contains("usage:"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("backtrace"), "{stderr}");
    }
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_convoy_bench"))
        .arg("--help")
        .output()
        .expect("run convoy_bench");
    assert_eq!(help.status.code(), Some(0), "{help:?}");
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("usage: convoy_bench"));
}
