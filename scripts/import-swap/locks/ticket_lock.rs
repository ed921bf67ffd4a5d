//! `locks/ticket_lock` on real threads: mutual exclusion, no lost update.
use crate::common::{threads, within};
use locks::ticket_lock::TicketLock;
use std::sync::Arc;

#[test]
fn the_ticket_lock_excludes_on_real_threads() {
    within("4 threads counting to 40000 under the ticket lock", || {
        let lock = Arc::new(TicketLock::new(0u64));
        let l = lock.clone();
        threads(4, move |_| {
            for _ in 0..10000 {
                let mut g = l.lock();
                let v = *g;
                std::hint::spin_loop();
                *g = v + 1;
            }
        });
        assert_eq!(*lock.lock(), 40000);
    });
}
