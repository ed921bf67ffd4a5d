//! Checks `monitor/balance`: no update is lost, whatever the schedule.

use std::time::Duration;

use interleave::explore::{Config, Strategy, check, explore};
use interleave::real::within;
use interleave::sync::Arc;
use interleave::{thread, trace};
use monitor::balance::Account;

/// The operations of an account, so that the same clerks work on the student's account and
/// on the versions written in this file.
trait Ledger: Send + Sync + 'static {
    fn open(initial: i64) -> Self;
    fn credit(&self, amount: i64);
    fn debit(&self, amount: i64);
    fn balance(&self) -> i64;
}

impl Ledger for Account {
    fn open(initial: i64) -> Self {
        Account::new(initial)
    }
    fn credit(&self, amount: i64) {
        Account::credit(self, amount);
    }
    fn debit(&self, amount: i64) {
        Account::debit(self, amount);
    }
    fn balance(&self) -> i64 {
        Account::balance(self)
    }
}

/// An operation of a clerk.
#[derive(Clone, Copy, Debug)]
enum Op {
    Credit(i64),
    Debit(i64),
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Credit(a) => write!(f, "credit({a})"),
            Op::Debit(a) => write!(f, "debit({a})"),
        }
    }
}

/// Clerks `T1`, `T2`, ... work on one account at once, each running its list of
/// operations; at the end the balance must be the initial one plus every operation.
fn clerks<L: Ledger>(initial: i64, work: &[&[Op]]) {
    let account = Arc::new(L::open(initial));
    let handles: Vec<_> = work
        .iter()
        .enumerate()
        .map(|(i, ops)| {
            let account = account.clone();
            let ops = ops.to_vec();
            thread::Builder::new()
                .name(format!("T{}", i + 1))
                .spawn(move || {
                    for op in ops {
                        trace::label(op.to_string());
                        match op {
                            Op::Credit(a) => account.credit(a),
                            Op::Debit(a) => account.debit(a),
                        }
                        trace::label(format!("{op} returns"));
                    }
                })
                .expect("spawn a clerk")
        })
        .collect();
    for h in handles {
        h.join().expect("a clerk panicked");
    }
    let all: Vec<Op> = work.iter().flat_map(|ops| ops.iter().copied()).collect();
    let expected = all.iter().fold(initial, |b, op| match op {
        Op::Credit(a) => b + a,
        Op::Debit(a) => b - a,
    });
    let got = account.balance();
    let sum: String = all.iter().map(|op| format!(" + {op}")).collect();
    assert!(
        got == expected,
        "lost update: the final balance is {got}, but {initial}{sum} make {expected}: two \
         threads read the same balance and the second write overwrote the first (the \
         interleaving and the detailed trace above show who read the balance, and when). A \
         lost update."
    );
}

/// Three clerks, one operation each (the chapter's example).
fn three_clerks<L: Ledger>() {
    clerks::<L>(100, &[&[Op::Credit(10)], &[Op::Debit(3)], &[Op::Credit(5)]]);
}

/// Four clerks, three operations each, credits and debits mixed.
fn four_busy_clerks<L: Ledger>() {
    clerks::<L>(
        0,
        &[
            &[Op::Credit(1), Op::Debit(2), Op::Credit(4)],
            &[Op::Debit(8), Op::Credit(16), Op::Debit(32)],
            &[Op::Credit(64), Op::Credit(128), Op::Debit(256)],
            &[Op::Debit(512), Op::Debit(1024), Op::Credit(2048)],
        ],
    );
}

#[test]
fn final_balance_is_the_sum_of_all_operations_under_random_and_pct_schedules() {
    explore(Config::new().iterations(1000), three_clerks::<Account>);
}

#[test]
fn final_balance_is_the_sum_of_all_operations_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        three_clerks::<Account>,
    );
}

#[test]
fn four_clerks_with_three_operations_each_lose_nothing() {
    explore(Config::new().iterations(500), four_busy_clerks::<Account>);
    explore(
        Config::new()
            .strategy(Strategy::Random)
            .iterations(500)
            .seed(1),
        four_busy_clerks::<Account>,
    );
}

#[test]
fn sequential_operations_add_up() {
    let balance = within(
        Duration::from_secs(60),
        "debit(20), credit(7) and balance() on one thread",
        || {
            let account = Account::new(-5);
            account.debit(20);
            account.credit(7);
            account.balance()
        },
    );
    assert_eq!(balance, -18, "Account::new(-5), debit(20), credit(7)");
}

/// Versions written as students do, to show what the explorations catch and what they
/// accept.
mod versions {
    use interleave::sync::atomic::{AtomicI64, Ordering};
    use interleave::sync::{Mutex, RwLock};

    /// Wrong: the read and the write each under the lock, but not under the same lock
    /// acquisition.
    pub struct LockTwice(pub Mutex<i64>);
    impl super::Ledger for LockTwice {
        fn open(initial: i64) -> Self {
            LockTwice(Mutex::new(initial))
        }
        fn credit(&self, amount: i64) {
            let b = *self.0.lock();
            *self.0.lock() = b + amount;
        }
        fn debit(&self, amount: i64) {
            let b = *self.0.lock();
            *self.0.lock() = b - amount;
        }
        fn balance(&self) -> i64 {
            *self.0.lock()
        }
    }

    /// Wrong: one lock for credits and another for debits.
    pub struct TwoLocks {
        balance: AtomicI64,
        credits: Mutex<()>,
        debits: Mutex<()>,
    }
    impl super::Ledger for TwoLocks {
        fn open(initial: i64) -> Self {
            TwoLocks {
                balance: AtomicI64::new(initial),
                credits: Mutex::new(()),
                debits: Mutex::new(()),
            }
        }
        fn credit(&self, amount: i64) {
            let _g = self.credits.lock();
            let b = self.balance.load(Ordering::SeqCst);
            self.balance.store(b + amount, Ordering::SeqCst);
        }
        fn debit(&self, amount: i64) {
            let _g = self.debits.lock();
            let b = self.balance.load(Ordering::SeqCst);
            self.balance.store(b - amount, Ordering::SeqCst);
        }
        fn balance(&self) -> i64 {
            self.balance.load(Ordering::SeqCst)
        }
    }

    /// Wrong: `credit` asks for the balance while it holds the lock (a self-deadlock).
    pub struct AsksItself(pub Mutex<i64>);
    impl super::Ledger for AsksItself {
        fn open(initial: i64) -> Self {
            AsksItself(Mutex::new(initial))
        }
        fn credit(&self, amount: i64) {
            let mut b = self.0.lock();
            *b = self.balance() + amount;
        }
        fn debit(&self, amount: i64) {
            *self.0.lock() -= amount;
        }
        fn balance(&self) -> i64 {
            *self.0.lock()
        }
    }

    /// Right: an atomic read-modify-write (the chapter says why it works here).
    pub struct FetchAdd(AtomicI64);
    impl super::Ledger for FetchAdd {
        fn open(initial: i64) -> Self {
            FetchAdd(AtomicI64::new(initial))
        }
        fn credit(&self, amount: i64) {
            self.0.fetch_add(amount, Ordering::SeqCst);
        }
        fn debit(&self, amount: i64) {
            self.0.fetch_sub(amount, Ordering::SeqCst);
        }
        fn balance(&self) -> i64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    /// Right: a readers-writers lock, written under the write lock.
    pub struct ReadWrite(RwLock<i64>);
    impl super::Ledger for ReadWrite {
        fn open(initial: i64) -> Self {
            ReadWrite(RwLock::new(initial))
        }
        fn credit(&self, amount: i64) {
            *self.0.write() += amount;
        }
        fn debit(&self, amount: i64) {
            let mut b = self.0.write();
            *b -= amount;
        }
        fn balance(&self) -> i64 {
            *self.0.read()
        }
    }
}

#[test]
fn the_explorations_catch_a_lock_taken_twice_and_one_lock_per_operation() {
    let twice = check(
        Config::new().iterations(1000),
        three_clerks::<versions::LockTwice>,
    )
    .expect_err("locking the read and the write separately loses updates");
    assert!(
        twice.message.contains("lost update: the final balance is"),
        "{twice}"
    );
    let two = check(
        Config::new().iterations(1000),
        four_busy_clerks::<versions::TwoLocks>,
    )
    .expect_err("a lock per operation lets a credit and a debit interleave");
    assert!(
        two.message.contains("lost update: the final balance is"),
        "{two}"
    );
}

#[test]
fn an_atomic_fetch_add_and_a_write_lock_pass() {
    explore(
        Config::new().iterations(300),
        three_clerks::<versions::FetchAdd>,
    );
    explore(
        Config::new().iterations(300),
        four_busy_clerks::<versions::FetchAdd>,
    );
    explore(
        Config::new().iterations(300),
        four_busy_clerks::<versions::ReadWrite>,
    );
}

/// On real threads a deadlock cannot be diagnosed by the scheduler: the watchdog of
/// `sequential_operations_add_up` turns it into a failure instead of a hang.
#[test]
fn the_watchdog_stops_a_clerk_that_deadlocks_on_real_threads() {
    let outcome = std::panic::catch_unwind(|| {
        within(Duration::from_secs(1), "credit(1) on one thread", || {
            let account = versions::AsksItself::open(0);
            account.credit(1);
        });
    });
    let message = outcome
        .expect_err("a self-deadlock must not pass")
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("credit(1) on one thread did not finish within 1 s"),
        "{message}"
    );
}
