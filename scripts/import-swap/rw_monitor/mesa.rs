//! `rw_monitor/mesa` on real threads: a writer is always alone.
use crate::common::{threads, within};
use rw_monitor::mesa::ReadersWriters;
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};

#[test]
fn writers_are_alone_on_real_threads() {
    within("4 readers and 2 writers", || {
        let rw = Arc::new(ReadersWriters::new());
        // Readers inside count +1 each, a writer inside counts -1000.
        let inside = Arc::new(AtomicIsize::new(0));
        threads(6, move |i| {
            for _ in 0..3000 {
                if i < 2 {
                    rw.start_write();
                    assert_eq!(inside.fetch_sub(1000, Ordering::SeqCst), 0, "a writer not alone");
                    inside.fetch_add(1000, Ordering::SeqCst);
                    rw.finish_write();
                } else {
                    rw.start_read();
                    assert!(inside.fetch_add(1, Ordering::SeqCst) >= 0, "a reader with a writer");
                    inside.fetch_sub(1, Ordering::SeqCst);
                    rw.finish_read();
                }
            }
        });
    });
}
