//! Checks `monitor/event`: signals are not remembered, a broadcast wakes exactly the
//! threads waiting at that moment.

use interleave::explore::{Config, Observed, Strategy, explore};
use interleave::scenario::{Returned, Scenario};
use interleave::sync::Arc;
use interleave::thread;
use monitor::event::Event;

/// The state column: the actors whose `wait()` has returned.
fn passed(done: &[Returned]) -> String {
    let mut who: Vec<&str> = done
        .iter()
        .filter(|r| r.call == "wait()")
        .map(|r| r.actor.as_str())
        .collect();
    who.sort_unstable();
    format!(
        "passed: {}",
        if who.is_empty() {
            "nobody".to_string()
        } else {
            who.join(", ")
        }
    )
}

#[test]
fn three_waiters_a_broadcast_and_a_late_waiter() {
    let table = Scenario::new(Event::new)
        .call("A", "wait()", |e| e.wait())
        .call("B", "wait()", |e| e.wait())
        .call("C", "wait()", |e| e.wait())
        .call("K", "waiting()", |e| e.waiting())
        .call("K", "broadcast()", |e| e.broadcast())
        .call("L", "wait()", |e| e.wait())
        .call("K", "waiting()", |e| e.waiting())
        .call("K", "signal()", |e| e.signal())
        .call("K", "signal()", |e| e.signal())
        .call("M", "wait()", |e| e.wait())
        .call("K", "waiting()", |e| e.waiting())
        .state(passed)
        .max_steps(1_000)
        .run();
    interleave::assert_table!(table);
}

#[test]
fn a_signal_with_nobody_waiting_is_lost() {
    let table = Scenario::new(Event::new)
        .call("K", "signal()", |e| e.signal())
        .call("A", "wait()", |e| e.wait())
        .call("K", "signal()", |e| e.signal())
        .call("B", "wait()", |e| e.wait())
        .call("C", "wait()", |e| e.wait())
        .call("K", "signal()", |e| e.signal())
        .call("K", "waiting()", |e| e.waiting())
        .state(passed)
        .max_steps(1_000)
        .run();
    interleave::assert_table!(table);
}

/// Three threads wait for the top of the hour; the clock broadcasts once they all wait;
/// a late thread starts waiting after the broadcast and must stay blocked until the
/// clock signals again.
fn top_of_hour() {
    let event = Arc::new(Event::new());
    let late_passed = Observed::new(false);
    let early: Vec<_> = ["A", "B", "C"]
        .into_iter()
        .map(|name| {
            let e = event.clone();
            thread::Builder::new()
                .name(name.into())
                .spawn(move || e.wait())
                .expect("spawn a waiter")
        })
        .collect();
    while event.waiting() < 3 {
        thread::yield_now();
    }
    event.broadcast();
    let late = {
        let e = event.clone();
        let passed = late_passed.clone();
        thread::Builder::new()
            .name("L".into())
            .spawn(move || {
                e.wait();
                passed.update(|p| *p = true);
            })
            .expect("spawn the late waiter")
    };
    // The early waiters leave the queue in their own time; the late one joins it.
    while event.waiting() != 1 && !late_passed.get() {
        thread::yield_now();
    }
    assert!(
        !late_passed.get(),
        "L started waiting after the broadcast and returned from wait() without a new \
         signal: a signal or a broadcast was remembered for a later waiter"
    );
    event.signal();
    for h in early {
        h.join().expect("an early waiter panicked");
    }
    late.join().expect("the late waiter panicked");
}

#[test]
fn broadcast_wakes_exactly_the_waiters_of_the_moment_under_random_and_pct_schedules() {
    explore(Config::new().iterations(1000), top_of_hour);
}

#[test]
fn broadcast_wakes_exactly_the_waiters_of_the_moment_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        top_of_hour,
    );
}
