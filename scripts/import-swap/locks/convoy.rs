//! `locks/convoy` on real threads: the hand-off lock excludes and serves in order.
use crate::common::{threads, within};
use locks::convoy::HandoffLock;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn the_handoff_lock_excludes_on_real_threads() {
    within("4 threads through the hand-off lock", || {
        let lock = Arc::new(HandoffLock::new());
        let inside = Arc::new(AtomicUsize::new(0));
        let count = Arc::new(AtomicUsize::new(0));
        let (l, i, c) = (lock.clone(), inside.clone(), count.clone());
        threads(4, move |_| {
            for _ in 0..3000 {
                l.lock();
                assert_eq!(i.fetch_add(1, Ordering::SeqCst), 0, "two threads hold the lock");
                c.fetch_add(1, Ordering::Relaxed);
                i.fetch_sub(1, Ordering::SeqCst);
                l.unlock();
            }
        });
        assert_eq!(count.load(Ordering::Relaxed), 12000);
    });
}
