//! Checks `locks/clocks`: timeouts measured on the monotonic clock, whatever happens to the
//! wall clock. interleave's simulated wall clock can be set back and forward by the test
//! (`interleave::time::shift_system_time`); the monotonic clock is virtual and moves only
//! when every thread waits, so a timeout is checked to the nanosecond. Deadlines and events
//! written in this file, wrong and right, check the checks.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::script::Checked;
use interleave::explore::{Config, Strategy, explore};
use interleave::scenario::{Returned, Scenario, Table};
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::thread;
use interleave::time::{Instant, SystemTime, set_system_time, shift_system_time};
use locks::clocks::{Deadline, Event};

const HOUR: Duration = Duration::from_secs(3600);

/// A deadline as the checks see it (the step's, or one written in this file).
trait Deadlines: Copy + std::fmt::Debug + Send + Sync + 'static {
    fn after(timeout: Duration) -> Self;
    fn remaining(&self) -> Duration;
    fn expired(&self) -> bool;
}

/// An event as the checks see it.
trait Events: Send + Sync + 'static {
    fn new() -> Self;
    fn set(&self);
    fn wait_timeout(&self, timeout: Duration) -> bool;
}

impl Deadlines for Deadline {
    fn after(timeout: Duration) -> Self {
        Deadline::after(timeout)
    }
    fn remaining(&self) -> Duration {
        Deadline::remaining(self)
    }
    fn expired(&self) -> bool {
        Deadline::expired(self)
    }
}

impl Events for Event {
    fn new() -> Self {
        Event::new()
    }
    fn set(&self) {
        Event::set(self)
    }
    fn wait_timeout(&self, timeout: Duration) -> bool {
        Event::wait_timeout(self, timeout)
    }
}

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

fn set_forward<D: Deadlines>() -> Scenario<D> {
    Scenario::new(|| D::after(Duration::from_secs(5)))
        .call("W", "sleep(2s)", |_| sleep_secs(2))
        .call("ntpd", "set the wall clock forward 1h", |_| {
            shift_system_time(HOUR, true)
        })
        .call("W", "expired()", |d| d.expired())
        .rule("only 2s of the 5s have passed; the wall clock does not count")
        .call("W", "remaining()", |d| d.remaining())
        .rule("5s minus the 2s that really passed")
        .call("W", "sleep(3s)", |_| sleep_secs(3))
        .call("W", "expired()", |d| d.expired())
        .rule("5s have passed: the deadline has expired")
        .state(elapsed)
}

fn check_set_forward(table: &Table) {
    let Some(third) = table.rows.get(2) else {
        return;
    };
    assert!(
        third.returned == ["W expired() -> false"],
        "a 5s deadline expired after 2s of monotonic time: the wall clock was set forward \
         1h, and a deadline\non the wall clock came closer with it (the timeout fired \
         early)\n\n{table:#}"
    );
}

#[test]
fn a_deadline_ignores_the_wall_clock_set_forward() {
    let table = set_forward::<Deadline>().run();
    check_set_forward(&table);
    interleave::assert_table!(table);
}

fn set_back<D: Deadlines>() -> Scenario<D> {
    Scenario::new(|| D::after(Duration::from_secs(5)))
        .call("ntpd", "set the wall clock back 1h", |_| {
            shift_system_time(HOUR, false)
        })
        .call("W", "sleep(5s)", |_| sleep_secs(5))
        .call("W", "expired()", |d| d.expired())
        .rule("5s have passed: the deadline has expired, wherever the wall clock is")
        .call("W", "remaining()", |d| d.remaining())
        .rule("an expired deadline has no time left")
        .state(elapsed)
}

fn check_set_back(table: &Table) {
    let Some(third) = table.rows.get(2) else {
        return;
    };
    assert!(
        third.returned == ["W expired() -> true"],
        "a 5s deadline has not expired after 5s of monotonic time: the wall clock was set \
         back 1h,\nand a deadline on the wall clock moved an hour away with it (for the \
         caller, a timeout that\nnever fires)\n\n{table:#}"
    );
}

#[test]
fn a_deadline_ignores_the_wall_clock_set_back() {
    let table = set_back::<Deadline>().run();
    check_set_back(&table);
    interleave::assert_table!(table);
}

/// The wall clock jumps around (forward, back past the start, to 1970) while a 5s deadline
/// runs: the deadline counts down with the monotonic clock only.
fn jumps<D: Deadlines>() -> Scenario<D> {
    Scenario::new(|| D::after(Duration::from_secs(5)))
        .call("W", "sleep(1s)", |_| sleep_secs(1))
        .call("ntpd", "set the wall clock forward 1h", |_| {
            shift_system_time(HOUR, true)
        })
        .call("W", "remaining()", |d| d.remaining())
        .rule("4s left: only the monotonic clock counts")
        .call("ntpd", "set the wall clock back 2h", |_| {
            shift_system_time(2 * HOUR, false)
        })
        .call("W", "sleep(1s)", |_| sleep_secs(1))
        .call("W", "remaining()", |d| d.remaining())
        .rule("3s left: only the monotonic clock counts")
        .call("admin", "set the date to 1970-01-01", |_| {
            set_system_time(SystemTime::UNIX_EPOCH)
        })
        .call("W", "expired()", |d| d.expired())
        .rule("3s are still left")
        .call("W", "sleep(3s)", |_| sleep_secs(3))
        .call("W", "expired()", |d| d.expired())
        .rule("5s have passed: the deadline has expired")
        .call("W", "remaining()", |d| d.remaining())
        .state(elapsed)
}

fn check_jumps(table: &Table) {
    let got = |step: usize| table.rows[step - 1].returned.join(", ");
    let steps = table.rows.len();
    for (step, want) in [
        (3, "W remaining() -> 4s"),
        (6, "W remaining() -> 3s"),
        (8, "W expired() -> false"),
        (10, "W expired() -> true"),
        (11, "W remaining() -> 0ns"),
    ] {
        assert!(
            step > steps || got(step) == want,
            "at step {step}, {want} was expected, but the deadline said {}:\na 5s deadline \
             counts down with the monotonic clock only; the wall clock (set forward,\nback, \
             to 1970) says what time it is, not how much time has passed.\n\n{table:#}",
            got(step)
        );
    }
}

#[test]
fn a_deadline_ignores_the_wall_clock_jumping_around() {
    let table = jumps::<Deadline>().run();
    check_jumps(&table);
    interleave::assert_table!(table);
}

/// W waits for an event nobody sets, with a timeout of 5 s, while `ntpd` moves the wall
/// clock by an hour (forward or back) after `after` seconds (0: at any moment while W
/// starts its wait). The wait must give up after exactly 5 s of monotonic time.
fn wait_while_the_clock_moves<E: Events>(forward: bool, after: u64) {
    let event = Arc::new(E::new());
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
         {moved} 1h after {after}s,\nand a deadline on the wall clock jumped with it (timeout \
         fired early)"
    );
    assert!(took <= Duration::from_secs(6), "{}", {
        if took >= HOUR {
            format!(
                "wait_timeout(5s) gave up after {took:?} of monotonic time, not 5s: the wall \
                 clock was set {moved} 1h\nafter {after}s, and a deadline on the wall clock \
                 moved an hour away (for the caller, a timeout\nthat never fires)"
            )
        } else {
            // Late by less than the clock's jump: the wait started over after a wake-up.
            let woke = took.saturating_sub(Duration::from_secs(5));
            format!(
                "wait_timeout(5s) gave up after {took:?} of monotonic time, not 5s: its wait \
                 woke up at {woke:?}\n(the wall clock was set {moved} then, and a timed wait \
                 may wake for nothing, as std's may),\nthen waited the whole 5s again. After \
                 a wake-up, wait only for what is left until the deadline."
            )
        }
    });
    assert!(
        took == Duration::from_secs(5),
        "wait_timeout(5s) gave up after {took:?} of monotonic time, not after 5s: a timeout \
         fires when its\ndeadline comes, no later (the virtual clock is exact)"
    );
}

#[test]
fn a_timed_wait_is_not_cut_short_by_the_clock_set_forward() {
    for after in [0, 2] {
        explore(Config::new().iterations(100), move || {
            wait_while_the_clock_moves::<Event>(true, after)
        });
    }
}

#[test]
fn a_timed_wait_is_not_stretched_by_the_clock_set_back() {
    for after in [0, 2] {
        explore(
            Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
            move || wait_while_the_clock_moves::<Event>(false, after),
        );
    }
}

/// One waiter, set after 1 s while the wall clock jumps: woken at once, at 1 s.
fn set_after_one_second<E: Events>() {
    let event = Arc::new(E::new());
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
}

#[test]
fn a_set_event_wakes_the_waiter_before_the_timeout() {
    explore(Config::new().iterations(200), set_after_one_second::<Event>);
}

/// Three waiters with 5 s and one with 500 ms; the event is set after 1 s. The short one
/// gives up at 500 ms, the others are all woken at 1 s: `set` wakes every waiter.
fn several_waiters<E: Events>() {
    let event = Arc::new(E::new());
    let waiters: Vec<_> = [5000, 5000, 500, 5000]
        .into_iter()
        .enumerate()
        .map(|(k, ms)| {
            let e = event.clone();
            thread::Builder::new()
                .name(format!("W{}", k + 1))
                .spawn(move || {
                    let start = Instant::now();
                    let set = e.wait_timeout(Duration::from_millis(ms));
                    (ms, set, start.elapsed())
                })
                .expect("spawn a waiter")
        })
        .collect();
    thread::sleep(Duration::from_secs(1));
    event.set();
    for (k, w) in waiters.into_iter().enumerate() {
        let (ms, set, took) = w.join().expect("a waiter panicked");
        let name = format!("W{}", k + 1);
        if ms == 500 {
            assert!(
                !set && took == Duration::from_millis(500),
                "{name}'s wait_timeout(500ms) returned {set} after {took:?}: nobody set the \
                 event in its first 500ms,\nso it gives up at 500ms exactly"
            );
        } else {
            assert!(
                set && took == Duration::from_secs(1),
                "{name}'s wait_timeout(5s) returned {set} after {took:?}, but the event was set \
                 at 1s: set wakes\nevery waiter at once (notify_all), not one of them"
            );
        }
    }
}

#[test]
fn set_wakes_every_waiter() {
    explore(Config::new().iterations(200), several_waiters::<Event>);
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        several_waiters::<Event>,
    );
}

/// A deadline expires when its whole timeout has passed, not a moment before: half a
/// millisecond before the end it has half a millisecond left, and a timeout of half a
/// millisecond is not expired at once.
#[test]
fn a_deadline_expires_exactly_when_its_timeout_has_passed() {
    let table = Scenario::new(|| {
        (
            Deadline::after(Duration::from_secs(5)),
            Deadline::after(Duration::from_micros(500)),
        )
    })
    .call("W", "a 500µs deadline: expired()", |(_, short)| {
        short.expired()
    })
    .call("W", "sleep(4.9995s)", |_| {
        thread::sleep(Duration::from_micros(4_999_500))
    })
    .call("W", "the 5s deadline: expired()", |(d, _)| d.expired())
    .call("W", "remaining()", |(d, _)| d.remaining())
    .call("W", "sleep(1ms)", |_| {
        thread::sleep(Duration::from_millis(1))
    })
    .call("W", "expired()", |(d, _)| d.expired())
    .run();
    let returned = |row: usize| {
        table
            .rows
            .get(row)
            .map(|r| r.returned.join(", "))
            .unwrap_or_default()
    };
    let value = |row: usize| {
        returned(row)
            .rsplit_once(" -> ")
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default()
    };
    let (short, five, left) = (value(0), value(2), value(3));
    assert!(
        short == "false" && five == "false" && left == "500µs",
        "a deadline expired before its whole timeout had passed.\nA 500µs deadline, just set: \
         expired() -> {short}; a 5s deadline, 4.9995s later: expired() -> {five},\n\
         remaining() -> {left}, where 500µs are still left. A deadline expires once the whole \
         timeout\nhas passed (now >= deadline), not when little is left. A timeout that fires \
         early.\n\n{table:#}"
    );
    assert_eq!(value(5), "true", "\n{table:#}");
}

/// Calls `f`, the call described by `what`; if it panics (its place and message are printed
/// above), says which call it was and what it should have returned.
fn call(what: &str, f: impl FnOnce() -> Duration) -> Duration {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        panic!(
            "{what} panicked: remaining() is the time left until the deadline, and zero once \
             it has passed. A panic in remaining()."
        )
    })
}

/// Outside any simulation (on a real thread, under a watchdog, so that a panic of the
/// deadline's code is reported with its place in the exercise file and its function).
#[test]
fn real_time_deadlines_count_down() {
    interleave::real::within(
        Duration::from_secs(10),
        "deadlines of 60 s and of 0 s on the real clock",
        || {
            let d = Deadline::after(Duration::from_secs(60));
            assert!(
                !d.expired(),
                "Deadline::after(60 s).expired() is true at once"
            );
            let left = call("Deadline::after(60 s).remaining(), at once,", || {
                d.remaining()
            });
            assert!(
                left <= Duration::from_secs(60) && left > Duration::from_secs(59),
                "Deadline::after(60 s).remaining() is {} ms at once, not just under 60 s",
                left.as_millis()
            );
            let now = Deadline::after(Duration::ZERO);
            assert!(
                now.expired(),
                "Deadline::after(0 s).expired() is false: it has passed"
            );
            let left = call(
                "Deadline::after(0 s).remaining(), once the deadline has passed,",
                || now.remaining(),
            );
            assert!(
                left.is_zero(),
                "Deadline::after(0 s).remaining() is {} ms: zero once the deadline has passed",
                left.as_millis()
            );
        },
    );
}

/// Every check above, for a deadline and an event written in this file.
fn all_checks<D: Deadlines, E: Events>() {
    set_forward::<D>().check(
        include_str!("snapshots/clocks__a_deadline_ignores_the_wall_clock_set_forward.snap"),
        check_set_forward,
    );
    set_back::<D>().check(
        include_str!("snapshots/clocks__a_deadline_ignores_the_wall_clock_set_back.snap"),
        check_set_back,
    );
    jumps::<D>().check(
        include_str!("snapshots/clocks__a_deadline_ignores_the_wall_clock_jumping_around.snap"),
        check_jumps,
    );
    for after in [0, 2] {
        for forward in [true, false] {
            explore(Config::new().iterations(100), move || {
                wait_while_the_clock_moves::<E>(forward, after)
            });
        }
    }
    explore(Config::new().iterations(100), set_after_one_second::<E>);
    explore(Config::new().iterations(200), several_waiters::<E>);
}

/// The panic message of `f`, which must panic.
fn failure_of(f: impl FnOnce()) -> String {
    let p = catch_unwind(AssertUnwindSafe(f)).expect_err("the checks must reject this");
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
        // Whitespace collapsed: the checks assert on words, wherever a report breaks lines.
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A correct deadline of another shape: when it started, and how long it lasts.
#[derive(Clone, Copy, Debug)]
struct StartAndLength {
    start: Instant,
    length: Duration,
}

impl Deadlines for StartAndLength {
    fn after(timeout: Duration) -> Self {
        StartAndLength {
            start: Instant::now(),
            length: timeout,
        }
    }
    fn remaining(&self) -> Duration {
        self.length.saturating_sub(self.start.elapsed())
    }
    fn expired(&self) -> bool {
        self.start.elapsed() >= self.length
    }
}

/// The starter's deadline: on the wall clock.
#[derive(Clone, Copy, Debug)]
struct WallClock {
    at: SystemTime,
}

impl Deadlines for WallClock {
    fn after(timeout: Duration) -> Self {
        WallClock {
            at: SystemTime::now() + timeout,
        }
    }
    fn remaining(&self) -> Duration {
        self.at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }
    fn expired(&self) -> bool {
        self.remaining().is_zero()
    }
}

/// An event written in the test over the deadline `D`; `ONE` wakes one waiter only.
struct TestEvent<D, const ONE: bool> {
    flag: Mutex<bool>,
    changed: Condvar,
    _deadline: std::marker::PhantomData<D>,
}

impl<D: Deadlines, const ONE: bool> Events for TestEvent<D, ONE> {
    fn new() -> Self {
        TestEvent {
            flag: Mutex::new(false),
            changed: Condvar::new(),
            _deadline: std::marker::PhantomData,
        }
    }
    fn set(&self) {
        *self.flag.lock() = true;
        if ONE {
            self.changed.notify_one();
        } else {
            self.changed.notify_all();
        }
    }
    fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = D::after(timeout);
        let mut flag = self.flag.lock();
        while !*flag {
            if deadline.expired() {
                return false;
            }
            self.changed.wait_for(&mut flag, deadline.remaining());
        }
        true
    }
}

/// An event on `Condvar::wait_while_for`, with no deadline type at all: correct.
struct WaitWhileEvent {
    flag: Mutex<bool>,
    changed: Condvar,
}

impl Events for WaitWhileEvent {
    fn new() -> Self {
        WaitWhileEvent {
            flag: Mutex::new(false),
            changed: Condvar::new(),
        }
    }
    fn set(&self) {
        *self.flag.lock() = true;
        self.changed.notify_all();
    }
    fn wait_timeout(&self, timeout: Duration) -> bool {
        let mut flag = self.flag.lock();
        let r = self.changed.wait_while_for(&mut flag, |set| !*set, timeout);
        !r.timed_out()
    }
}

#[test]
fn other_correct_designs_pass() {
    all_checks::<StartAndLength, TestEvent<StartAndLength, false>>();
    all_checks::<StartAndLength, WaitWhileEvent>();
}

#[test]
fn the_checks_reject_wrong_clocks_and_events() {
    let m = failure_of(|| check_set_forward(&set_forward::<WallClock>().run()));
    assert!(m.contains("the timeout fired early"), "{m}");
    let m = failure_of(|| check_set_back(&set_back::<WallClock>().run()));
    assert!(m.contains("a timeout that never fires"), "{m}");
    let m = failure_of(|| check_jumps(&jumps::<WallClock>().run()));
    assert!(
        m.contains("counts down with the monotonic clock only"),
        "{m}"
    );
    let m = failure_of(|| {
        explore(
            Config::new().iterations(50),
            several_waiters::<TestEvent<Deadline, true>>,
        );
    });
    assert!(m.contains("set wakes every waiter at once"), "{m}");
}

// std's condvar contract: a `Condvar` of std (or parking_lot) may wake a waiter for
// nothing (a spurious wake-up), in the middle of a timed wait too. The simulation does
// not unless asked (`CondvarSemantics::Std`); these checks ask.

/// The timed waits under std's condvar contract: a spurious wake-up in the middle of the
/// wait must neither end it early nor restart it.
#[test]
fn timed_waits_under_std_condvar_semantics() {
    let std_contract = interleave::explore::CondvarSemantics::Std;
    for forward in [true, false] {
        for after in [0, 2] {
            explore(
                Config::new().iterations(100).condvar(std_contract),
                move || wait_while_the_clock_moves::<Event>(forward, after),
            );
        }
    }
    explore(
        Config::new()
            .strategy(Strategy::DelayBounded { bound: 2 })
            .condvar(std_contract),
        || wait_while_the_clock_moves::<Event>(false, 2),
    );
}

/// The oracles: a timed wait with `if` (it gives up at the first wake-up) and one that
/// waits the whole timeout again after each wake-up (in a loop, but without a deadline)
/// pass every FIFO schedule, where a wait ends only by timeout or notification, and fail
/// under std's contract: a spurious wake-up ends the first early, and stretches the
/// second beyond its timeout.
#[test]
fn the_std_contract_catches_a_timed_wait_without_a_deadline() {
    use interleave::sync::{Condvar, Mutex};

    struct TimedFlag {
        flag: Mutex<bool>,
        changed: Condvar,
        with_loop: bool,
    }
    impl TimedFlag {
        fn wait_timeout(&self, timeout: Duration) -> bool {
            let mut flag = self.flag.lock();
            if !self.with_loop {
                if !*flag {
                    self.changed.wait_for(&mut flag, timeout);
                }
                return *flag;
            }
            while !*flag {
                if self.changed.wait_for(&mut flag, timeout).timed_out() {
                    return *flag;
                }
            }
            true
        }
    }
    // W waits 5 s for a flag nobody sets; a clock thread passes 2 s meanwhile.
    let body = |with_loop: bool| {
        move || {
            let f = Arc::new(TimedFlag {
                flag: Mutex::named("flag", false),
                changed: Condvar::named("changed"),
                with_loop,
            });
            let w = thread::Builder::new()
                .name("W".into())
                .spawn(move || {
                    let start = Instant::now();
                    let set = f.wait_timeout(Duration::from_secs(5));
                    (set, start.elapsed())
                })
                .expect("spawn W");
            let clock = thread::spawn(|| thread::sleep(Duration::from_secs(2)));
            clock.join().expect("the clock thread panicked");
            let (set, took) = w.join().expect("W panicked");
            assert!(!set, "nobody set the flag");
            assert_eq!(
                took,
                Duration::from_secs(5),
                "wait_timeout(5s) took {took:?} of monotonic time"
            );
        }
    };
    let std_contract = interleave::explore::CondvarSemantics::Std;
    for config in [
        Config::new().iterations(200),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        for with_loop in [false, true] {
            if let Err(f) = interleave::explore::check(config.clone(), body(with_loop)) {
                panic!("FIFO hides it:\n{f}");
            }
            let f =
                interleave::explore::check(config.clone().condvar(std_contract), body(with_loop))
                    .expect_err("a spurious wake-up changes how long the wait takes");
            // Without a loop the wait ends early (at once, or when the clock thread's
            // 2 s pass); with a loop that restarts the timeout, a wake-up at 2 s makes
            // the wait end at 7 s.
            let took = f
                .message
                .split("wait_timeout(5s) took ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .unwrap_or_else(|| panic!("{f}"));
            if with_loop {
                assert_eq!(took, "7s", "{f}");
            } else {
                assert!(["0ns", "2s"].contains(&took), "{f}");
            }
            assert!(f.had_spurious_wakeup(), "{f}");
        }
    }
}
