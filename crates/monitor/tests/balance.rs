//! Checks `monitor/balance`: no update is lost, whatever the schedule.

use interleave::explore::{Config, Strategy, explore};
use interleave::sync::Arc;
use interleave::{thread, trace};
use monitor::balance::Account;

/// Three clerks work on one account at once; at the end the balance must be the sum of
/// all operations.
fn three_clerks() {
    let account = Arc::new(Account::new(100));
    let operations: [(&str, i64); 3] = [("credit", 10), ("debit", 3), ("credit", 5)];
    let handles: Vec<_> = operations
        .iter()
        .enumerate()
        .map(|(i, &(op, amount))| {
            let account = account.clone();
            thread::Builder::new()
                .name(format!("T{}", i + 1))
                .spawn(move || {
                    trace::label(format!("{op}({amount})"));
                    match op {
                        "credit" => account.credit(amount),
                        _ => account.debit(amount),
                    }
                    trace::label(format!("{op}({amount}) returns"));
                })
                .expect("spawn a clerk")
        })
        .collect();
    for h in handles {
        h.join().expect("a clerk panicked");
    }
    let expected = 100 + 10 - 3 + 5;
    let got = account.balance();
    assert!(
        got == expected,
        "lost update: the final balance is {got}, but 100 + credit(10) + debit(3) + credit(5) \
         make {expected}: two threads read the same balance and the second write overwrote \
         the first (see the interleaving and the loads and stores of the detailed trace below)"
    );
}

#[test]
fn final_balance_is_the_sum_of_all_operations_under_random_and_pct_schedules() {
    explore(Config::new().iterations(1000), three_clerks);
}

#[test]
fn final_balance_is_the_sum_of_all_operations_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        three_clerks,
    );
}

#[test]
fn sequential_operations_add_up() {
    let account = Account::new(-5);
    account.debit(20);
    account.credit(7);
    assert_eq!(account.balance(), -18);
}
