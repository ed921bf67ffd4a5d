//! A wrong solution of monitor/balance (a fixture of the runner's output tests): `credit`
//! spins for an hour outside the scheduler.
//!
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

use interleave::sync::Mutex;

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
    // A mutex around the data is Rust's monitor: the balance can only be reached
    // through the guard, so every read-modify-write runs alone, as the notes' monitor
    // procedures do under their implicit `P(mutex)` ... `V(mutex)`.
    /// The balance, in cents.
    balance: Mutex<i64>,
}

impl Account {
    /// Opens an account with `initial` cents.
    pub fn new(initial: i64) -> Self {
        Account {
            balance: Mutex::named("balance", initial),
        }
    }

    /// Adds `amount` to the balance.
    pub fn credit(&self, amount: i64) {
        *self.balance.lock() += amount;
        // Wrong: waits for the balance to change by spinning on it, without ever letting
        // another thread run (no lock taken in the loop, nothing the scheduler sees).
        let seen = std::time::Instant::now();
        while seen.elapsed() < std::time::Duration::from_secs(3600) {
            std::hint::spin_loop();
        }
    }

    /// Takes `amount` from the balance (it may become negative).
    pub fn debit(&self, amount: i64) {
        // The same: one critical section for the read and the write.
        *self.balance.lock() -= amount;
    }

    /// The current balance.
    pub fn balance(&self) -> i64 {
        *self.balance.lock()
    }
}
