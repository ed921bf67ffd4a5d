//! `monitor/balance` on real threads: no credit or debit is lost.
use crate::common::{threads, within};
use monitor::balance::Account;
use std::sync::Arc;

#[test]
fn balance_loses_no_update_on_real_threads() {
    within("8 threads crediting and debiting", || {
        let account = Arc::new(Account::new(100));
        let a = account.clone();
        threads(8, move |i| {
            for _ in 0..20000 {
                if i % 2 == 0 {
                    a.credit(3);
                } else {
                    a.debit(1);
                }
            }
        });
        assert_eq!(account.balance(), 100 + 4 * 20000 * 3 - 4 * 20000);
    });
}
