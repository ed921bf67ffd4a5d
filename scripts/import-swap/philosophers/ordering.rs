//! `philosophers/ordering` on real threads: five philosophers eat without deadlock, and
//! neighbours never eat at once.
use crate::common::{threads, within};
use philosophers::ordering::Table;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn five_philosophers_dine_on_real_threads() {
    within("five philosophers, 2000 meals each", || {
        let table = Arc::new(Table::new(5));
        let eating: Arc<Vec<AtomicBool>> = Arc::new((0..5).map(|_| AtomicBool::new(false)).collect());
        threads(5, move |i| {
            for _ in 0..2000 {
                table.dine(i, || {
                    assert!(!eating[(i + 1) % 5].load(Ordering::SeqCst), "neighbours eat at once");
                    eating[i].store(true, Ordering::SeqCst);
                    std::thread::yield_now();
                    eating[i].store(false, Ordering::SeqCst);
                });
            }
        });
    });
}
