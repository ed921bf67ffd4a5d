//! Checks `locks/convoy`: a CPU-bound thread that holds the lock for long stretches and
//! takes it again at once, and I/O-bound threads that need it briefly and often. With a
//! lock that hands over, a waiting thread is overtaken at most once per wait and the lock
//! goes to the thread that has waited longest; with a lock that lets the releasing thread
//! barge back in, the I/O thread waits through every stretch. Locks written in this file,
//! wrong and right, check the checks.

mod common;

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use common::script::Checked;
use interleave::explore::{Config, Fairness, Observed, Strategy, check, explore, invariant};
use interleave::real::within;
use interleave::report::FailureKind;
use interleave::scenario::{Returned, Scenario, Table};
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::thread;
use locks::convoy::HandoffLock;

/// The two ways of taking and releasing a lock that the workload needs.
trait RawLock: Send + Sync + 'static {
    fn acquire(&self);
    fn release(&self);
}

/// A lock the checks can make (the step's, or one written in this file).
trait NewLock: RawLock {
    fn new() -> Self;
}

impl RawLock for HandoffLock {
    fn acquire(&self) {
        self.lock();
    }
    fn release(&self) {
        self.unlock();
    }
}

impl NewLock for HandoffLock {
    fn new() -> Self {
        HandoffLock::new()
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

impl NewLock for BargingLock {
    fn new() -> Self {
        BargingLock {
            locked: Mutex::named("barging", false),
            free: Condvar::named("free"),
        }
    }
}

/// CPU holds the lock for stretches of work (three scheduling points each) and takes it
/// again at once, four times; each IO thread takes it briefly three times, doing "I/O" in
/// between. The IO threads declare their waits to the fairness oracle.
fn convoy_with<L: RawLock>(lock: L, fair: Fairness, io_threads: usize) {
    let lock = Arc::new(lock);
    let inside = Observed::new(0u32);
    let i = inside.clone();
    invariant("at most one thread holds the lock", move || i.get() <= 1);
    let spawn = |name: String, rounds: usize, work: usize| {
        let (lock, inside, fair) = (lock.clone(), inside.clone(), fair.clone());
        thread::Builder::new()
            .name(name)
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
    let cpu = spawn("CPU".into(), 4, 3);
    let ios: Vec<_> = (1..=io_threads)
        .map(|k| {
            let name = if io_threads == 1 {
                "IO".to_string()
            } else {
                format!("IO{k}")
            };
            spawn(name, 3, 0)
        })
        .collect();
    cpu.join().expect("CPU panicked");
    for io in ios {
        io.join().expect("an IO thread panicked");
    }
}

fn convoy<L: RawLock>(lock: L, fair: Fairness) {
    convoy_with(lock, fair, 1);
}

/// The bounds: a thread declares its wait just before calling `lock`, which first takes
/// the lock's inner mutex, a doorway that is not itself in order. Until it is through,
/// each other thread may go first once: a bound of 1 with one IO thread (CPU), 2 with two
/// (CPU and the other IO thread). A lock that lets any waiter take the handed-over lock
/// exceeds them.
fn exploration_checks<L: NewLock>() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || convoy(L::new(), Fairness::new("the lock", 1)),
    );
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || convoy_with(L::new(), Fairness::new("the lock", 2), 2),
    );
    explore(Config::new().iterations(500), || {
        convoy_with(L::new(), Fairness::new("the lock", usize::MAX), 2)
    });
}

#[test]
fn the_io_thread_is_overtaken_at_most_once() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || convoy(HandoffLock::new(), Fairness::new("the lock", 1)),
    );
}

#[test]
fn two_io_threads_are_each_overtaken_at_most_once() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || convoy_with(HandoffLock::new(), Fairness::new("the lock", 2), 2),
    );
}

#[test]
fn at_most_one_thread_holds_the_lock() {
    explore(Config::new().iterations(500), || {
        convoy(HandoffLock::new(), Fairness::new("the lock", usize::MAX))
    });
    explore(Config::new().iterations(500), || {
        convoy_with(HandoffLock::new(), Fairness::new("the lock", usize::MAX), 2)
    });
}

#[test]
fn the_oracle_finds_the_convoy_behind_a_barging_lock() {
    let f = check(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || convoy(BargingLock::new(), Fairness::new("the lock", 1)),
    )
    .expect_err("a barging lock lets CPU overtake IO again and again");
    assert_eq!(f.kind, FailureKind::Unfair, "{f}");
    assert!(
        f.message
            .starts_with("IO, waiting for the lock since step ")
            && f.message.contains(
                ", was bypassed 2 times (bound 1): while IO waited, CPU entered at steps "
            ),
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

fn hand_over<L: NewLock>() -> Scenario<L> {
    Scenario::new(L::new)
        .call("CPU", "lock()", |l| l.acquire())
        .call("IO", "lock()", |l| l.acquire())
        .rule("CPU holds the lock: IO waits")
        .call("CPU", "unlock(); lock()", |l| {
            l.release();
            l.acquire();
        })
        .rule("unlock hands the lock to IO, who waited: CPU queues behind IO")
        .call("IO", "unlock()", |l| l.release())
        .rule("unlock hands the lock to CPU, the only one waiting")
        .call("CPU", "unlock()", |l| l.release())
        .state(holder)
}

const HAND_OVER: &str =
    include_str!("snapshots/convoy__unlock_hands_the_lock_to_the_waiting_thread.snap");
const LONGEST: &str =
    include_str!("snapshots/convoy__the_lock_goes_to_the_thread_that_has_waited_longest.snap");

#[test]
fn unlock_hands_the_lock_to_the_waiting_thread() {
    let table = hand_over::<HandoffLock>().run();
    interleave::assert_table!(table);
}

/// Three waiters, and the holder comes back: the lock always goes to the thread that has
/// waited longest, and a thread that unlocks and locks again queues behind the others.
fn three_waiters<L: NewLock>() -> Scenario<L> {
    Scenario::new(L::new)
        .call("CPU", "lock()", |l| l.acquire())
        .call("IO1", "lock()", |l| l.acquire())
        .rule("CPU holds the lock: IO1 waits")
        .call("IO2", "lock()", |l| l.acquire())
        .rule("CPU holds the lock: IO2 waits, behind IO1")
        .call("IO3", "lock()", |l| l.acquire())
        .rule("CPU holds the lock: IO3 waits, behind IO2")
        .call("CPU", "unlock(); lock()", |l| {
            l.release();
            l.acquire();
        })
        .rule("the lock goes to IO1, who has waited longest; CPU queues behind IO3")
        .call("IO1", "unlock()", |l| l.release())
        .rule("the lock goes to IO2, who has waited longest now")
        .call("IO1", "lock()", |l| l.acquire())
        .rule("IO1 comes back and queues behind IO3 and CPU")
        .call("IO2", "unlock()", |l| l.release())
        .rule("the lock goes to IO3")
        .call("IO3", "unlock()", |l| l.release())
        .rule("the lock goes to CPU, who waited before IO1 came back")
        .call("CPU", "unlock()", |l| l.release())
        .rule("the lock goes to IO1")
        .call("IO1", "unlock()", |l| l.release())
        .state(holder)
}

fn check_three_waiters(table: &Table) {
    if table.rows.len() < 11 {
        return;
    }
    let order: Vec<String> = table
        .rows
        .iter()
        .flat_map(|r| &r.returned)
        .filter(|x| x.ends_with("lock()") && !x.ends_with("unlock()"))
        .map(|x| x.split(' ').next().unwrap_or_default().to_string())
        .collect();
    assert!(
        order == ["CPU", "IO1", "IO2", "IO3", "CPU", "IO1"],
        "the threads got the lock in the order {order:?}, but they asked for it in the order \
         CPU, IO1, IO2, IO3,\nCPU again (unlock; lock) and IO1 again: unlock hands the lock to \
         the thread that has waited longest.\n\n{table:#}"
    );
}

#[test]
fn the_lock_goes_to_the_thread_that_has_waited_longest() {
    let table = three_waiters::<HandoffLock>().run();
    check_three_waiters(&table);
    interleave::assert_table!(table);
}

/// Real threads under the lock, under a watchdog: four threads add 1 five hundred times
/// with a read and a write (a lost update if two are inside at once).
fn real_threads<L: NewLock>() {
    let total = within(
        Duration::from_secs(10),
        "4 real threads taking the hand-off lock 300 times each",
        || {
            let lock = std::sync::Arc::new(L::new());
            let counter = std::sync::Arc::new(AtomicU64::new(0));
            std::thread::scope(|s| {
                for _ in 0..4 {
                    let (lock, counter) = (lock.clone(), counter.clone());
                    s.spawn(move || {
                        for _ in 0..300 {
                            lock.acquire();
                            let seen = counter.load(std::sync::atomic::Ordering::Relaxed);
                            std::hint::spin_loop();
                            counter.store(seen + 1, std::sync::atomic::Ordering::Relaxed);
                            lock.release();
                        }
                    });
                }
            });
            counter.load(std::sync::atomic::Ordering::Relaxed)
        },
    );
    assert_eq!(
        total, 1200,
        "lost update: 4 real threads added 1 300 times each under the lock"
    );
}

#[test]
fn real_threads_take_turns() {
    real_threads::<HandoffLock>();
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

/// Every check above, for a lock written in this file.
fn all_checks<L: NewLock>() {
    hand_over::<L>().check(HAND_OVER, |_| ());
    three_waiters::<L>().check(LONGEST, check_three_waiters);
    exploration_checks::<L>();
    real_threads::<L>();
}

/// A hand-off lock with a queue of waiting threads (numbered at arrival) and
/// `notify_all`: correct, another design.
struct QueueLock {
    /// Held?, the waiting numbers in arrival order, the next number.
    state: Mutex<(bool, VecDeque<u64>, u64)>,
    turn: Condvar,
}

impl RawLock for QueueLock {
    fn acquire(&self) {
        let mut s = self.state.lock();
        if !s.0 && s.1.is_empty() {
            s.0 = true;
            return;
        }
        let me = s.2;
        s.2 += 1;
        s.1.push_back(me);
        // Unlock hands over by removing the first number: ours, when it is gone.
        while s.1.contains(&me) {
            self.turn.wait(&mut s);
        }
    }
    fn release(&self) {
        let mut s = self.state.lock();
        if s.1.pop_front().is_none() {
            s.0 = false;
        }
        self.turn.notify_all();
    }
}

impl NewLock for QueueLock {
    fn new() -> Self {
        QueueLock {
            state: Mutex::new((false, VecDeque::new(), 0)),
            turn: Condvar::new(),
        }
    }
}

/// A "hand-off" that only says the lock is handed over, not to whom: whichever woken
/// waiter runs first takes it.
struct AnyWaiterLock {
    /// Held?, handed over?, how many wait.
    state: Mutex<(bool, bool, usize)>,
    turn: Condvar,
}

impl RawLock for AnyWaiterLock {
    fn acquire(&self) {
        let mut s = self.state.lock();
        if !s.0 {
            s.0 = true;
            return;
        }
        s.2 += 1;
        while !s.1 {
            self.turn.wait(&mut s);
        }
        s.1 = false;
        s.2 -= 1;
    }
    fn release(&self) {
        let mut s = self.state.lock();
        if s.2 > 0 {
            s.1 = true;
            self.turn.notify_all();
        } else {
            s.0 = false;
        }
    }
}

impl NewLock for AnyWaiterLock {
    fn new() -> Self {
        AnyWaiterLock {
            state: Mutex::new((false, false, 0)),
            turn: Condvar::new(),
        }
    }
}

#[test]
fn another_correct_design_passes() {
    all_checks::<QueueLock>();
}

#[test]
fn the_checks_reject_a_hand_off_to_any_waiter() {
    let p = catch_unwind(AssertUnwindSafe(exploration_checks::<AnyWaiterLock>))
        .expect_err("a hand-off to whichever waiter runs first overtakes the oldest waiter");
    let m = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        m.contains("bounded waiting violated") && m.contains("was bypassed 2 times"),
        "{m}"
    );
    let p = catch_unwind(AssertUnwindSafe(all_checks::<BargingLock>)).expect_err("a barging lock");
    let m = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(!m.is_empty());
}

// std's condvar contract: a `Condvar` of std (or parking_lot) may wake a waiter for
// nothing (a spurious wake-up), and `notify_one` may wake any one of its waiters, not the
// one that has waited longest. The simulation does neither unless asked
// (`CondvarSemantics::Std`); these checks ask.

/// Three threads take the lock twice each: at most one holds it, nobody is left asleep.
fn three_threads<L: RawLock>(lock: L) {
    let lock = Arc::new(lock);
    let inside = Observed::new(0u32);
    let i = inside.clone();
    invariant("at most one thread holds the lock", move || i.get() <= 1);
    let handles: Vec<_> = ["A", "B", "C"]
        .into_iter()
        .map(|name| {
            let (lock, inside) = (lock.clone(), inside.clone());
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    for _ in 0..2 {
                        lock.acquire();
                        inside.update(|n| *n += 1);
                        thread::yield_now();
                        inside.update(|n| *n -= 1);
                        lock.release();
                    }
                })
                .expect("spawn a thread")
        })
        .collect();
    for h in handles {
        h.join().expect("a thread panicked");
    }
}

/// The hand-over lock under std's condvar contract: one holder at a time, bounded
/// overtaking, no lost wake-up.
#[test]
fn the_handoff_lock_under_std_condvar_semantics() {
    let std_contract = interleave::explore::CondvarSemantics::Std;
    explore(
        Config::new()
            .strategy(Strategy::DelayBounded { bound: 2 })
            .condvar(std_contract),
        || convoy(HandoffLock::new(), Fairness::new("the lock", 1)),
    );
    explore(Config::new().iterations(500).condvar(std_contract), || {
        three_threads(HandoffLock::new())
    });
}

/// The oracles: a ticket lock that waits for its number with `if`, or wakes the next
/// number with `notify_one`, passes every FIFO schedule (FIFO wakes the oldest waiter,
/// which holds the next number) and fails under std's contract: a spurious wake-up lets
/// a thread in out of turn, and a `notify_one` that wakes a later number loses the
/// wake-up of the thread whose turn it is.
#[test]
fn the_std_contract_catches_a_wait_without_a_loop_and_notify_one() {
    struct TicketLock {
        s: Mutex<(u64, u64)>,
        turn: Condvar,
        with_loop: bool,
    }
    impl RawLock for TicketLock {
        fn acquire(&self) {
            let mut s = self.s.lock();
            let me = s.0;
            s.0 += 1;
            if self.with_loop {
                while s.1 != me {
                    self.turn.wait(&mut s);
                }
            } else if s.1 != me {
                self.turn.wait(&mut s);
            }
        }
        fn release(&self) {
            let mut s = self.s.lock();
            s.1 += 1;
            self.turn.notify_one();
        }
    }
    let lock = |with_loop| TicketLock {
        s: Mutex::named("tickets", (0, 0)),
        turn: Condvar::named("turn"),
        with_loop,
    };
    let std_contract = interleave::explore::CondvarSemantics::Std;
    for config in [
        Config::new().iterations(500),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        for with_loop in [false, true] {
            if let Err(f) = check(config.clone(), move || three_threads(lock(with_loop))) {
                panic!("FIFO hides it:\n{f}");
            }
        }
        let f = check(config.clone().condvar(std_contract), move || {
            three_threads(lock(false))
        })
        .expect_err("a spurious wake-up lets a thread in out of turn");
        assert_eq!(f.kind, FailureKind::Invariant, "{f}");
        assert!(f.had_spurious_wakeup(), "{f}");
        let f = check(config.condvar(std_contract), move || {
            three_threads(lock(true))
        })
        .expect_err("notify_one wakes a thread whose turn it is not");
        assert_eq!(f.kind, FailureKind::LostWakeup, "{f}");
        assert!(
            f.trace
                .compact()
                .contains("(std lets notify_one wake any waiter)"),
            "{f}"
        );
    }
}
