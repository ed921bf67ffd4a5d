//! Checks `locks/clocks`: timeouts measured on the monotonic clock, whatever happens to the
//! wall clock. interleave's simulated wall clock can be set back and forward by the test
//! (`interleave::time::shift_system_time`); the monotonic clock is virtual and moves only
//! when every thread waits.

use std::time::Duration;

use interleave::explore::{Config, Strategy, explore};
use interleave::scenario::{Returned, Scenario};
use interleave::sync::Arc;
use interleave::thread;
use interleave::time::{Instant, shift_system_time};
use locks::clocks::{Deadline, Event};

const HOUR: Duration = Duration::from_secs(3600);

/// The monotonic time elapsed, computed from the `sleep` calls that returned.
fn elapsed(done: &[Returned]) -> String {
    let secs: u64 = done
        .iter()
        .filter_map(|r| r.call.strip_prefix("sleep("))
        .map(|s| s.trim_end_matches("s)").parse::<u64>().expect("sleep(Ns)"))
        .sum();
    format!("{secs}s elapsed")
}

fn sleep_secs(s: u64) {
    thread::sleep(Duration::from_secs(s));
}

#[test]
fn a_deadline_ignores_the_wall_clock_set_forward() {
    let table = Scenario::new(|| Deadline::after(Duration::from_secs(5)))
        .call("W", "sleep(2s)", |_| sleep_secs(2))
        .call("ntpd", "set the wall clock forward 1h", |_| {
            shift_system_time(HOUR, true)
        })
        .call("W", "expired()", |d| d.expired())
        .call("W", "remaining()", |d| d.remaining())
        .call("W", "sleep(3s)", |_| sleep_secs(3))
        .call("W", "expired()", |d| d.expired())
        .state(elapsed)
        .run();
    assert_eq!(
        table.rows[2].returned,
        ["W expired() -> false"],
        "a 5s deadline expired after 2s of monotonic time: the wall clock was set forward \
         1h, and a deadline on the wall clock came closer with it (the timeout fired \
         early)\n\n{table:#}"
    );
    interleave::assert_table!(table);
}

#[test]
fn a_deadline_ignores_the_wall_clock_set_back() {
    let table = Scenario::new(|| Deadline::after(Duration::from_secs(5)))
        .call("ntpd", "set the wall clock back 1h", |_| {
            shift_system_time(HOUR, false)
        })
        .call("W", "sleep(5s)", |_| sleep_secs(5))
        .call("W", "expired()", |d| d.expired())
        .call("W", "remaining()", |d| d.remaining())
        .state(elapsed)
        .run();
    assert_eq!(
        table.rows[2].returned,
        ["W expired() -> true"],
        "a 5s deadline has not expired after 5s of monotonic time: the wall clock was set \
         back 1h, and a deadline on the wall clock moved an hour away with it (for the \
         caller, a timeout that never fires)\n\n{table:#}"
    );
    interleave::assert_table!(table);
}

/// W waits for an event nobody sets, with a timeout of 5 s, while `ntpd` moves the wall
/// clock by an hour (forward or back) after `after` seconds (0: at any moment while W
/// starts its wait). The wait must give up after
/// 5 s of monotonic time.
fn wait_while_the_clock_moves(forward: bool, after: u64) {
    let event = Arc::new(Event::new());
    let e = event.clone();
    let w = thread::Builder::new()
        .name("W".into())
        .spawn(move || {
            let start = Instant::now();
            let set = e.wait_timeout(Duration::from_secs(5));
            (set, start.elapsed())
        })
        .expect("spawn W");
    let ntpd = thread::Builder::new()
        .name("ntpd".into())
        .spawn(move || {
            if after == 0 {
                // Any moment while W starts: after a scheduling point of its choosing.
                thread::yield_now();
            } else {
                thread::sleep(Duration::from_secs(after));
            }
            shift_system_time(HOUR, forward);
        })
        .expect("spawn ntpd");
    ntpd.join().expect("ntpd panicked");
    let (set, took) = w.join().expect("W panicked");
    let moved = if forward { "forward" } else { "back" };
    assert!(!set, "wait_timeout returned true, but nobody set the event");
    assert!(
        took >= Duration::from_secs(5),
        "wait_timeout(5s) gave up after {took:?} of monotonic time: the wall clock was set \
         {moved} 1h after {after}s, and a deadline on the wall clock jumped with it (timeout \
         fired early)"
    );
    assert!(
        took <= Duration::from_secs(6),
        "wait_timeout(5s) gave up after {took:?} of monotonic time, not 5s: the wall clock \
         was set {moved} 1h after {after}s, and a deadline on the wall clock moved an hour \
         away (for the caller, a timeout that never fires)"
    );
}

#[test]
fn a_timed_wait_is_not_cut_short_by_the_clock_set_forward() {
    for after in [0, 2] {
        explore(Config::new().iterations(100), move || {
            wait_while_the_clock_moves(true, after)
        });
    }
}

#[test]
fn a_timed_wait_is_not_stretched_by_the_clock_set_back() {
    for after in [0, 2] {
        explore(
            Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
            move || wait_while_the_clock_moves(false, after),
        );
    }
}

#[test]
fn a_set_event_wakes_the_waiter_before_the_timeout() {
    explore(Config::new().iterations(200), || {
        let event = Arc::new(Event::new());
        let e = event.clone();
        let w = thread::spawn(move || {
            let start = Instant::now();
            (e.wait_timeout(Duration::from_secs(5)), start.elapsed())
        });
        thread::sleep(Duration::from_secs(1));
        shift_system_time(HOUR, true);
        event.set();
        let (set, took) = w.join().expect("W panicked");
        assert!(
            set,
            "the event was set after 1s, but wait_timeout(5s) returned false"
        );
        assert!(
            took <= Duration::from_secs(1),
            "woken after {took:?}, not 1s"
        );
    });
}

#[test]
fn real_time_deadlines_count_down() {
    let d = Deadline::after(Duration::from_secs(60));
    assert!(!d.expired());
    assert!(d.remaining() <= Duration::from_secs(60));
    let now = Deadline::after(Duration::ZERO);
    assert!(now.expired());
    assert_eq!(now.remaining(), Duration::ZERO);
}
