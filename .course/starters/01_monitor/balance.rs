//! A shared balance (`monitor/balance`).
//!
//! Task: `Account` keeps a balance that several threads credit and debit at the same
//! time. As shipped, each operation reads the balance and then writes the new value: two
//! threads can read the same old value, and one update is lost. Make the account a
//! monitor, like the notes' `sharedbalance`: only one thread at a time may run an
//! operation on the balance.
//!
//! Invariant to protect: after any set of concurrent operations, the balance equals the
//! initial balance plus the credits minus the debits, whatever the schedule.
//! Done when `just check monitor/balance` (or `cargo course check monitor/balance`)
//! passes.

use interleave::sync::atomic::{AtomicI64, Ordering};

/// A bank account shared between threads.
///
/// # Examples
///
/// ```
/// use monitor::balance::Account;
///
/// let account = Account::new(100);
/// account.credit(10);
/// account.debit(3);
/// assert_eq!(account.balance(), 107);
/// ```
#[derive(Debug)]
pub struct Account {
    // TODO: a value that every thread reads and writes needs one guardian: put the
    // balance inside a monitor (`interleave::sync::Mutex<i64>`, say).
    /// The balance, in cents.
    balance: AtomicI64,
}

impl Account {
    /// Opens an account with `initial` cents.
    pub fn new(initial: i64) -> Self {
        Account {
            balance: AtomicI64::new(initial),
        }
    }

    /// Adds `amount` to the balance.
    pub fn credit(&self, amount: i64) {
        // TODO: the notes' `balance += amount`, as a read then a write that another
        // thread can come between.
        let balance = self.balance.load(Ordering::SeqCst);
        self.balance.store(balance + amount, Ordering::SeqCst);
    }

    /// Takes `amount` from the balance (it may become negative).
    pub fn debit(&self, amount: i64) {
        // TODO: the same read-then-write as `credit`.
        let balance = self.balance.load(Ordering::SeqCst);
        self.balance.store(balance - amount, Ordering::SeqCst);
    }

    /// The current balance.
    pub fn balance(&self) -> i64 {
        self.balance.load(Ordering::SeqCst)
    }
}
