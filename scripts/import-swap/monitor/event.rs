//! `monitor/event` on real threads: every waiter is released by a broadcast.
use crate::common::within;
use monitor::event::Event;
use std::sync::Arc;

#[test]
fn broadcast_releases_every_waiter_on_real_threads() {
    within("waiters released by broadcast and signal", || {
        for _ in 0..50 {
            let event = Arc::new(Event::new());
            let hs: Vec<_> = (0..4)
                .map(|_| {
                    let e = event.clone();
                    std::thread::spawn(move || e.wait())
                })
                .collect();
            while event.waiting() < 4 {
                std::thread::yield_now();
            }
            event.signal();
            while event.waiting() > 3 {
                std::thread::yield_now();
            }
            event.broadcast();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(event.waiting(), 0);
        }
    });
}
