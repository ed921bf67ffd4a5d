//! Checks `monitor/balance`: no update is lost, whatever the schedule.

use std::time::Duration;

use interleave::explore::{Config, Observed, Strategy, check};
use interleave::real::within;
use interleave::report::{Failure, FailureKind};
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

/// The operations of a run: who called which, when it started and when it returned (in
/// the test's order of events).
#[derive(Clone)]
struct Record(Observed<(u64, Vec<Call>)>);

/// One operation of a run: the thread, the operation, when it started and when it
/// returned (None while it runs).
type Call = (String, Op, u64, Option<u64>);

impl Record {
    fn new() -> Self {
        Record(Observed::new((0, Vec::new())))
    }

    fn starts(&self, who: &str, op: Op) {
        self.0.update(|(clock, ops)| {
            *clock += 1;
            ops.push((who.to_string(), op, *clock, None));
        });
    }

    fn returns(&self, who: &str) {
        self.0.update(|(clock, ops)| {
            *clock += 1;
            if let Some(o) = ops.iter_mut().rev().find(|o| o.0 == who) {
                o.3 = Some(*clock);
            }
        });
    }

    /// The operations in the order they started.
    fn order(&self) -> Vec<Op> {
        self.0.with(|(_, ops)| ops.iter().map(|o| o.1).collect())
    }

    /// Two operations of different threads that ran at the same time, if any.
    fn overlap(&self) -> Option<String> {
        self.0.with(|(_, ops)| {
            ops.iter().enumerate().find_map(|(i, a)| {
                ops[i + 1..]
                    .iter()
                    .find(|b| b.0 != a.0 && b.2 < a.3.unwrap_or(u64::MAX))
                    .map(|b| format!("{}'s {} and {}'s {}", a.0, a.1, b.0, b.1))
            })
        })
    }
}

/// The work of the clerks: the initial balance, and each clerk's operations.
type Work = (i64, &'static [&'static [Op]]);

/// Clerks `T1`, `T2`, ... work on one account at once, each running its list of
/// operations; at the end the balance must be the initial one plus every operation.
fn clerks<L: Ledger>(record: &Record, (initial, work): Work) {
    let account = Arc::new(L::open(initial));
    let handles: Vec<_> = work
        .iter()
        .enumerate()
        .map(|(i, ops)| {
            let (account, record) = (account.clone(), record.clone());
            let ops = ops.to_vec();
            let name = format!("T{}", i + 1);
            thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    for op in ops {
                        trace::label(op.to_string());
                        record.starts(&name, op);
                        match op {
                            Op::Credit(a) => account.credit(a),
                            Op::Debit(a) => account.debit(a),
                        }
                        record.returns(&name);
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
    let expected = all.iter().fold(initial, |b, op| b + op.change());
    let got = account.balance();
    let sum: String = all.iter().map(|op| format!(" + {op}")).collect();
    assert!(
        got == expected,
        "{WRONG_TOTAL}{got}, but {initial}{sum} make {expected}: two threads read the same \
         balance and the second write overwrote the first (the interleaving and the detailed \
         trace above show who read the balance, and when). A lost update."
    );
}

/// How the failure of [`clerks`] begins.
const WRONG_TOTAL: &str = "lost update: the final balance is ";

impl Op {
    /// What the operation adds to the balance.
    fn change(self) -> i64 {
        match self {
            Op::Credit(a) => a,
            Op::Debit(a) => -a,
        }
    }
}

/// Runs `ops` one at a time on a new account opened with `initial`, outside any schedule,
/// checking the balance after each; the first operation whose effect is wrong, in words.
fn one_at_a_time<L: Ledger>(initial: i64, ops: Vec<Op>) -> Option<String> {
    within(
        Duration::from_secs(60),
        "the operations of the run, one at a time",
        move || {
            let account = L::open(initial);
            let opened = account.balance();
            if opened != initial {
                return Some(format!(
                    "Account::new({initial}) has a balance of {opened}: the account opens with \
                     the initial balance"
                ));
            }
            let mut before = initial;
            for op in ops {
                match op {
                    Op::Credit(a) => account.credit(a),
                    Op::Debit(a) => account.debit(a),
                }
                let after = account.balance();
                let want = before + op.change();
                if after != want {
                    let rule = match op {
                        Op::Credit(_) => "a credit adds the amount to the balance",
                        Op::Debit(_) => {
                            "a debit takes the amount from the balance (it may become negative)"
                        }
                    };
                    let name = match op {
                        Op::Credit(_) => "credit",
                        Op::Debit(_) => "debit",
                    };
                    return Some(format!(
                        "{op} on a balance of {before} left it at {after}, not {want}: {rule}. \
                         Look at the arithmetic of {name}"
                    ));
                }
                before = after;
            }
            None
        },
    )
}

/// Runs the clerks under `config`; a wrong final balance is explained from the record of the
/// run: a lost update only if two operations overlapped and the same operations run one at a
/// time add up; otherwise what one operation did wrong on its own.
fn check_clerks<L: Ledger>(
    config: Config,
    work: Work,
) -> Result<interleave::explore::Stats, Box<Failure>> {
    let last = std::sync::Arc::new(std::sync::Mutex::new(None::<Record>));
    let keep = last.clone();
    check(config, move || {
        let record = Record::new();
        *keep.lock().expect("the record") = Some(record.clone());
        clerks::<L>(&record, work);
    })
    .map_err(|mut failure| {
        let record = last.lock().expect("the record").take();
        let Some(record) = record.filter(|_| failure.message.contains(WRONG_TOTAL)) else {
            return failure;
        };
        let total = failure
            .message
            .split_once(WRONG_TOTAL)
            .and_then(|(_, rest)| rest.split_once(": two threads"))
            .map(|(total, _)| total.to_string())
            .unwrap_or_default();
        let overlap = record.overlap();
        let alone = one_at_a_time::<L>(work.0, record.order());
        let message = match (&overlap, alone) {
            (None, Some(wrong)) => format!(
                "run one at a time, {wrong}. No two operations overlapped in this run either, \
                 so no thread overwrote another's write: its final balance is {total}. A wrong \
                 balance."
            ),
            (Some(_), Some(wrong)) => format!(
                "run one at a time (in the order this run started them, on a new account), \
                 {wrong}. The operations are wrong even without another thread; this run's \
                 final balance is {total}. A wrong balance."
            ),
            (Some(both), None) => format!(
                "lost update: the final balance is {total}: operations of two threads ran at \
                 the same time ({both}, for one), and the same operations run one at a time add \
                 up, so two threads read the same balance and the second write overwrote the \
                 first (the interleaving and the detailed trace above show who read the \
                 balance, and when). A lost update."
            ),
            (None, None) => format!(
                "the final balance is {total}, though no two operations overlapped, and the \
                 same operations run one at a time on a new account add up: does the account \
                 depend on something other than its operations? A wrong balance."
            ),
        };
        failure.kind = FailureKind::Explained;
        failure.message = message;
        interleave::trace::export_failure(&failure);
        failure
    })
}

/// [`check_clerks`], panicking with the report of the first failure.
fn explore_clerks<L: Ledger>(config: Config, work: Work) {
    if let Err(failure) = check_clerks::<L>(config, work) {
        panic!("{failure}");
    }
}

/// Three clerks, one operation each (the chapter's example).
const THREE_CLERKS: Work = (100, &[&[Op::Credit(10)], &[Op::Debit(3)], &[Op::Credit(5)]]);

/// Four clerks, three operations each, credits and debits mixed.
const FOUR_BUSY_CLERKS: Work = (
    0,
    &[
        &[Op::Credit(1), Op::Debit(2), Op::Credit(4)],
        &[Op::Debit(8), Op::Credit(16), Op::Debit(32)],
        &[Op::Credit(64), Op::Credit(128), Op::Debit(256)],
        &[Op::Debit(512), Op::Debit(1024), Op::Credit(2048)],
    ],
);

#[test]
fn final_balance_is_the_sum_of_all_operations_under_random_and_pct_schedules() {
    explore_clerks::<Account>(Config::new().iterations(1000), THREE_CLERKS);
}

#[test]
fn final_balance_is_the_sum_of_all_operations_within_two_delays() {
    explore_clerks::<Account>(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        THREE_CLERKS,
    );
}

#[test]
fn four_clerks_with_three_operations_each_lose_nothing() {
    explore_clerks::<Account>(Config::new().iterations(500), FOUR_BUSY_CLERKS);
    explore_clerks::<Account>(
        Config::new()
            .strategy(Strategy::Random)
            .iterations(500)
            .seed(1),
        FOUR_BUSY_CLERKS,
    );
}

#[test]
fn sequential_operations_add_up() {
    if let Some(wrong) = one_at_a_time::<Account>(-5, vec![Op::Debit(20), Op::Credit(7)]) {
        panic!(
            "on one thread, Account::new(-5), then debit(20) and credit(7): {wrong}. A wrong \
             balance."
        );
    }
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

    /// Wrong: a monitor, but `debit` refuses to overdraw (the balance may become negative).
    pub struct Overdraw(pub Mutex<i64>);
    impl super::Ledger for Overdraw {
        fn open(initial: i64) -> Self {
            Overdraw(Mutex::new(initial))
        }
        fn credit(&self, amount: i64) {
            *self.0.lock() += amount;
        }
        fn debit(&self, amount: i64) {
            let mut b = self.0.lock();
            if *b >= amount {
                *b -= amount;
            }
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
    let twice = check_clerks::<versions::LockTwice>(Config::new().iterations(1000), THREE_CLERKS)
        .expect_err("locking the read and the write separately loses updates");
    assert!(
        twice.message.contains("lost update: the final balance is"),
        "{twice}"
    );
    let two = check_clerks::<versions::TwoLocks>(Config::new().iterations(1000), FOUR_BUSY_CLERKS)
        .expect_err("a lock per operation lets a credit and a debit interleave");
    assert!(
        two.message.contains("lost update: the final balance is"),
        "{two}"
    );
}

/// A wrong balance with no two operations at the same time is not a lost update: the
/// failure names the operation that is wrong on its own.
#[test]
fn a_debit_that_refuses_to_overdraw_is_not_called_a_lost_update() {
    for config in [
        Config::new().iterations(500),
        Config::new().strategy(Strategy::Random).iterations(500),
    ] {
        let f = check_clerks::<versions::Overdraw>(config, FOUR_BUSY_CLERKS)
            .expect_err("a debit that refuses to overdraw loses money");
        assert!(
            !f.message.contains("lost update")
                && f.message.contains("left it at")
                && f.message
                    .contains("a debit takes the amount from the balance")
                && f.message.ends_with("A wrong balance."),
            "{f}"
        );
    }
    let f = check_clerks::<versions::Overdraw>(
        Config::new().strategy(Strategy::Canonical),
        FOUR_BUSY_CLERKS,
    )
    .expect_err("the canonical schedule runs the clerks one after the other");
    assert!(
        f.message
            .contains("No two operations overlapped in this run"),
        "{f}"
    );
}

#[test]
fn an_atomic_fetch_add_and_a_write_lock_pass() {
    explore_clerks::<versions::FetchAdd>(Config::new().iterations(300), THREE_CLERKS);
    explore_clerks::<versions::FetchAdd>(Config::new().iterations(300), FOUR_BUSY_CLERKS);
    explore_clerks::<versions::ReadWrite>(Config::new().iterations(300), FOUR_BUSY_CLERKS);
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
