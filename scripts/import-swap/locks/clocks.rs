//! `locks/clocks` on real threads: the event wakes its waiters; a timeout expires.
use crate::common::within;
use locks::clocks::{Deadline, Event};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn the_event_and_the_deadline_on_real_threads() {
    within("waiters of an event", || {
        let event = Arc::new(Event::new());
        assert!(!event.wait_timeout(Duration::from_millis(10)));
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let e = event.clone();
                std::thread::spawn(move || e.wait_timeout(Duration::from_secs(30)))
            })
            .collect();
        event.set();
        assert!(hs.into_iter().all(|h| h.join().unwrap()));
        let d = Deadline::after(Duration::from_millis(10));
        std::thread::sleep(Duration::from_millis(15));
        assert!(d.expired() && d.remaining().is_zero());
    });
}
