//! Checks `monitor/event`: signals are not remembered, `signal` wakes the longest-waiting
//! thread, a broadcast wakes exactly the threads waiting at that moment.

use interleave::explore::{Config, Observed, Strategy, check, explore};
use interleave::report::Failure;
use interleave::scenario::{Returned, Scenario, Table};
use interleave::sync::Arc;
use interleave::thread;
use monitor::event::Event;

/// The operations of an event, so that the same scenarios and explorations run on the
/// student's `Event` and on the versions written in this file.
trait Ev: Send + Sync + 'static {
    fn create() -> Self;
    fn wait(&self);
    fn signal(&self);
    fn broadcast(&self);
    fn waiting(&self) -> usize;
}

impl Ev for Event {
    fn create() -> Self {
        Event::new()
    }
    fn wait(&self) {
        Event::wait(self);
    }
    fn signal(&self) {
        Event::signal(self);
    }
    fn broadcast(&self) {
        Event::broadcast(self);
    }
    fn waiting(&self) -> usize {
        Event::waiting(self)
    }
}

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

/// Why a `wait()` blocks, and why a late one stays blocked.
const WAIT_BLOCKS: &str = "wait() blocks until a signal or broadcast that comes after it";
const BROADCAST_WAKES_ALL: &str = "broadcast() wakes every thread waiting at that moment";
const BROADCAST_FORGOTTEN: &str =
    "a broadcast wakes only the threads already waiting: a later wait() blocks";
const SIGNAL_OLDEST: &str = "signal() wakes one thread, the one that has waited longest";
const SIGNAL_TO_NOBODY: &str = "signal() with nobody waiting does nothing";
const SIGNAL_FORGOTTEN: &str =
    "a signal sent while nobody waited is not remembered: a later wait() blocks";
const WAITING_COUNTS: &str = "waiting() counts the threads blocked in wait(), not those woken";

fn three_waiters_script<E: Ev>() -> Table {
    Scenario::new(E::create)
        .call("A", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("B", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("C", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("K", "waiting()", |e| e.waiting())
        .rule(WAITING_COUNTS)
        .call("K", "broadcast()", |e| e.broadcast())
        .rule(BROADCAST_WAKES_ALL)
        .call("L", "wait()", |e| e.wait())
        .rule(BROADCAST_FORGOTTEN)
        .call("K", "waiting()", |e| e.waiting())
        .rule(WAITING_COUNTS)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_OLDEST)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_TO_NOBODY)
        .call("M", "wait()", |e| e.wait())
        .rule(SIGNAL_FORGOTTEN)
        .call("K", "waiting()", |e| e.waiting())
        .rule(WAITING_COUNTS)
        .state(passed)
        .max_steps(1_000)
        .run()
}

#[test]
fn three_waiters_a_broadcast_and_a_late_waiter() {
    let table = three_waiters_script::<Event>();
    interleave::assert_table!(table);
}

fn signal_to_nobody_script<E: Ev>() -> Table {
    Scenario::new(E::create)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_TO_NOBODY)
        .call("A", "wait()", |e| e.wait())
        .rule(SIGNAL_FORGOTTEN)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_OLDEST)
        .call("B", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("C", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_OLDEST)
        .call("K", "waiting()", |e| e.waiting())
        .rule(WAITING_COUNTS)
        .state(passed)
        .max_steps(1_000)
        .run()
}

#[test]
fn a_signal_with_nobody_waiting_is_lost() {
    let table = signal_to_nobody_script::<Event>();
    interleave::assert_table!(table);
}

/// Several rounds with several waiters: each signal wakes the oldest waiter, a broadcast
/// wakes exactly the waiters of the moment, and neither is remembered.
fn rounds_script<E: Ev>() -> Table {
    Scenario::new(E::create)
        .call("A", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("B", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("C", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("D", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_OLDEST)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_OLDEST)
        .call("E", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("K", "waiting()", |e| e.waiting())
        .rule(WAITING_COUNTS)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_OLDEST)
        .call("K", "broadcast()", |e| e.broadcast())
        .rule(BROADCAST_WAKES_ALL)
        .call("K", "broadcast()", |e| e.broadcast())
        .rule("broadcast() with nobody waiting does nothing")
        .call("F", "wait()", |e| e.wait())
        .rule(BROADCAST_FORGOTTEN)
        .call("G", "wait()", |e| e.wait())
        .rule(WAIT_BLOCKS)
        .call("K", "waiting()", |e| e.waiting())
        .rule(WAITING_COUNTS)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_OLDEST)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_OLDEST)
        .call("K", "signal()", |e| e.signal())
        .rule(SIGNAL_TO_NOBODY)
        .call("H", "wait()", |e| e.wait())
        .rule(SIGNAL_FORGOTTEN)
        .call("K", "waiting()", |e| e.waiting())
        .rule(WAITING_COUNTS)
        .state(passed)
        .max_steps(2_000)
        .run()
}

#[test]
fn signals_wake_the_oldest_waiter_over_several_rounds() {
    let table = rounds_script::<Event>();
    interleave::assert_table!(table);
}

/// The body of a snapshot file, without insta's header.
fn snapshot(name: &str) -> String {
    let path = format!(
        "{}/tests/snapshots/event__{name}.snap",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let body = text.splitn(3, "---\n").nth(2).unwrap_or_default();
    body.to_string()
}

/// The first step at which `table` differs from the snapshot `name`, as the student's
/// failure points at it (interleave's explanation; 0: only the end differs).
fn first_difference(table: &Table, name: &str) -> Option<usize> {
    let explanation = table.explain_difference(&snapshot(name))?;
    Some(
        explanation
            .lines()
            .find_map(|l| {
                let rest = l.trim_start().strip_prefix("--> step ")?;
                rest.split(' ').next()?.parse().ok()
            })
            .unwrap_or(0),
    )
}

/// Spawns waiter `name`, which records in `passed` when its `wait()` returns.
fn waiter<E: Ev>(
    event: &Arc<E>,
    passed: &Observed<Vec<String>>,
    name: &str,
) -> thread::JoinHandle<()> {
    let (e, passed, me) = (event.clone(), passed.clone(), name.to_string());
    thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            e.wait();
            passed.update(|p| p.push(me));
        })
        .expect("spawn a waiter")
}

/// Lets the other threads run until `done` holds.
fn until(done: impl Fn() -> bool) {
    while !done() {
        thread::yield_now();
    }
}

/// `early` threads wait for the top of the hour; the clock broadcasts once they all wait;
/// `late` threads start waiting after the broadcast and must stay blocked until the clock
/// signals again, once per late thread.
fn top_of_hour<E: Ev>(early: &[&str], late: &[&str]) {
    let event = Arc::new(E::create());
    let passed = Observed::new(Vec::<String>::new());
    let mut handles = Vec::new();
    for (i, name) in early.iter().enumerate() {
        handles.push(waiter(&event, &passed, name));
        // One at a time, so that they wait in this order.
        until(|| event.waiting() > i);
    }
    event.broadcast();
    // How many late threads have called wait() (counted before the call).
    let called = Observed::new(0usize);
    for name in late {
        let (e, passed, called) = (event.clone(), passed.clone(), called.clone());
        let me = name.to_string();
        handles.push(
            thread::Builder::new()
                .name(me.clone())
                .spawn(move || {
                    called.update(|c| *c += 1);
                    e.wait();
                    passed.update(|p| p.push(me));
                })
                .expect("spawn a waiter"),
        );
    }
    // The early waiters leave the queue in their own time; the late ones join it.
    until(|| {
        let waiting = event.waiting();
        let callers = called.with(|c| *c);
        assert!(
            waiting <= callers,
            "waiting() returned {waiting} after the broadcast, when only {callers} of the late \
             threads had called wait(): it counts a thread the broadcast already released, \
             which has not run yet. A thread the broadcast woke is no longer waiting, even \
             before it gets back from wait(): count it out when you wake it, not when it \
             returns (broadcast itself signals while waiting() is above 0, so a count that \
             lags makes it signal too often). A woken thread still counted."
        );
        waiting == late.len() || passed.with(|p| p.iter().any(|n| late.contains(&n.as_str())))
    });
    let wrongly = passed.with(|p| p.iter().find(|n| late.contains(&n.as_str())).cloned());
    assert!(
        wrongly.is_none(),
        "{} started waiting after the broadcast and returned from wait() without a new \
         signal: a signal or a broadcast was remembered for a later waiter",
        wrongly.unwrap_or_default()
    );
    for _ in late {
        event.signal();
    }
    for h in handles {
        h.join().expect("a waiter panicked");
    }
}

#[test]
fn broadcast_wakes_exactly_the_waiters_of_the_moment_under_random_and_pct_schedules() {
    explore(Config::new().iterations(1000), || {
        top_of_hour::<Event>(&["A", "B", "C"], &["L"])
    });
}

#[test]
fn broadcast_wakes_exactly_the_waiters_of_the_moment_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || top_of_hour::<Event>(&["A", "B", "C"], &["L"]),
    );
}

#[test]
fn five_early_waiters_and_two_late_ones() {
    explore(Config::new().iterations(500), || {
        top_of_hour::<Event>(&["A", "B", "C", "D", "E"], &["L", "M"]);
    });
}

/// A and B wait; M broadcasts while K signals. Whichever comes first, A and B are
/// released (by the broadcast, or one by K's signal and the other by the broadcast). Once
/// K's signal has returned and A and B have both returned from `wait()`, L starts
/// waiting: K's signal came before L, and so did the broadcast, which must have released
/// one of A and B already, so neither may release L. A broadcast made of one `signal()`
/// per waiter counted at its start, still running, hands its last signal to L when K's
/// signal took one of its waiters.
fn broadcast_raced_by_a_signal<E: Ev>() {
    let event = Arc::new(E::create());
    let passed = Observed::new(Vec::<String>::new());
    let mut handles = vec![waiter(&event, &passed, "A")];
    until(|| event.waiting() == 1);
    handles.push(waiter(&event, &passed, "B"));
    until(|| event.waiting() == 2);
    let done = Observed::new(Vec::<&str>::new());
    for (name, broadcast) in [("M", true), ("K", false)] {
        let (e, done) = (event.clone(), done.clone());
        handles.push(
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    if broadcast {
                        e.broadcast();
                    } else {
                        e.signal();
                    }
                    done.update(|d| d.push(name));
                })
                .expect("spawn a signaller"),
        );
    }
    until(|| done.with(|d| d.contains(&"K")) && passed.with(|p| p.len() == 2));
    handles.push(waiter(&event, &passed, "L"));
    // L joins the queue; nothing sent so far, by K or by M, may release it.
    until(|| done.with(|d| d.len() == 2) && (event.waiting() == 1 || passed.with(|p| p.len() > 2)));
    let late = passed.with(|p| p.len() > 2);
    assert!(
        !late,
        "L returned from wait() although it started waiting only after K's signal had \
         returned and A and B had both returned: M's broadcast and K's signal were used up on \
         A and B by then. A broadcast wakes the threads waiting at one moment; one made of a signal() per waiter \
         counted at its start, while another thread signals too, hands its last signal to a \
         thread that arrived later. Broadcast in one step, under the lock"
    );
    event.signal();
    for h in handles {
        h.join().expect("a thread panicked");
    }
}

#[test]
fn a_broadcast_raced_by_a_signal_releases_no_later_waiter() {
    explore(
        Config::new().iterations(1000),
        broadcast_raced_by_a_signal::<Event>,
    );
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        broadcast_raced_by_a_signal::<Event>,
    );
}

/// Waiters arrive one after another; each `signal` must release the oldest one still
/// waiting, even while a thread arrives late (after the signal, so it cannot be the one).
/// `rounds` signals, each followed by a late arrival.
fn oldest_first<E: Ev>(rounds: usize) {
    let event = Arc::new(E::create());
    let passed = Observed::new(Vec::<String>::new());
    let mut queue: Vec<String> = Vec::new();
    let mut handles = Vec::new();
    for name in ["A", "B", "C"] {
        handles.push(waiter(&event, &passed, name));
        queue.push(name.to_string());
        until(|| event.waiting() == queue.len());
    }
    for round in 0..rounds {
        let before = passed.with(Vec::len);
        event.signal();
        // A late thread: it arrives after the signal, so the signal is not for it.
        let late = format!("L{}", round + 1);
        handles.push(waiter(&event, &passed, &late));
        until(|| passed.with(Vec::len) > before);
        let (first, all) = passed.with(|p| (p[before].clone(), p[before..].to_vec()));
        assert!(
            first == queue[0] && all.len() == 1,
            "signal() with {} waiting (longest first) released {}: it must wake exactly one \
             thread, the one that has waited longest ({}){}",
            queue.join(", "),
            all.join(", "),
            queue[0],
            if first == late {
                format!("; {late} only started waiting after the signal")
            } else {
                String::new()
            }
        );
        queue.remove(0);
        queue.push(late);
        // Let the late thread join the queue before the next signal.
        until(|| event.waiting() == queue.len());
    }
    event.broadcast();
    for h in handles {
        h.join().expect("a waiter panicked");
    }
}

#[test]
fn signal_wakes_the_longest_waiting_thread_under_random_and_pct_schedules() {
    explore(Config::new().iterations(1000), || oldest_first::<Event>(3));
}

#[test]
fn signal_wakes_the_longest_waiting_thread_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || oldest_first::<Event>(2),
    );
}

/// Versions of the event written as students do, to show what the checks catch.
mod versions {
    use std::collections::VecDeque;

    use interleave::monitor::{Condition, Monitor, Semantics};
    use interleave::sync::{Condvar, Mutex};

    #[derive(Default)]
    struct Counts {
        waiting: usize,
        signals: usize,
    }

    /// Wrong: counts pending signals, capped by the number of waiters. A thread that
    /// arrives between a signal and the woken thread's return takes the signal.
    pub struct CappedCounter {
        s: Mutex<Counts>,
        cv: Condvar,
    }
    impl super::Ev for CappedCounter {
        fn create() -> Self {
            CappedCounter {
                s: Mutex::new(Counts::default()),
                cv: Condvar::new(),
            }
        }
        fn wait(&self) {
            let mut s = self.s.lock();
            s.waiting += 1;
            while s.signals == 0 {
                self.cv.wait(&mut s);
            }
            s.signals -= 1;
            s.waiting -= 1;
        }
        fn signal(&self) {
            let mut s = self.s.lock();
            if s.waiting > s.signals {
                s.signals += 1;
                self.cv.notify_one();
            }
        }
        fn broadcast(&self) {
            let mut s = self.s.lock();
            s.signals = s.waiting;
            self.cv.notify_all();
        }
        fn waiting(&self) -> usize {
            let s = self.s.lock();
            s.waiting - s.signals
        }
    }

    /// Wrong: the numbers of the reference, but `signal` wakes the newest waiter.
    pub struct Newest {
        s: Mutex<(VecDeque<u64>, u64)>,
        cv: Condvar,
    }
    impl super::Ev for Newest {
        fn create() -> Self {
            Newest {
                s: Mutex::new((VecDeque::new(), 0)),
                cv: Condvar::new(),
            }
        }
        fn wait(&self) {
            let mut s = self.s.lock();
            let me = s.1;
            s.1 += 1;
            s.0.push_back(me);
            while s.0.contains(&me) {
                self.cv.wait(&mut s);
            }
        }
        fn signal(&self) {
            let mut s = self.s.lock();
            if s.0.pop_back().is_some() {
                self.cv.notify_all();
            }
        }
        fn broadcast(&self) {
            self.s.lock().0.clear();
            self.cv.notify_all();
        }
        fn waiting(&self) -> usize {
            self.s.lock().0.len()
        }
    }

    /// Wrong: a generation for broadcasts, and for signals a counter any woken waiter may
    /// take, so the oldest waiter is not always the one that goes.
    pub struct AnyWaiter {
        s: Mutex<(u64, usize, usize)>,
        cv: Condvar,
    }
    impl super::Ev for AnyWaiter {
        fn create() -> Self {
            AnyWaiter {
                s: Mutex::new((0, 0, 0)),
                cv: Condvar::new(),
            }
        }
        fn wait(&self) {
            let mut s = self.s.lock();
            let generation = s.0;
            s.1 += 1;
            while s.0 == generation && s.2 == 0 {
                self.cv.wait(&mut s);
            }
            if s.0 == generation {
                s.2 -= 1;
            }
            s.1 -= 1;
        }
        fn signal(&self) {
            let mut s = self.s.lock();
            if s.1 > s.2 {
                s.2 += 1;
                self.cv.notify_all();
            }
        }
        fn broadcast(&self) {
            let mut s = self.s.lock();
            s.0 += 1;
            s.2 = 0;
            self.cv.notify_all();
        }
        fn waiting(&self) -> usize {
            let s = self.s.lock();
            s.1 - s.2
        }
    }

    /// Wrong, and only under some schedules: nobody late takes a signal and broadcasts
    /// are exact, but a signal releases whichever of the earlier waiters runs first, not
    /// the one that has waited longest.
    pub struct AnyEarlierWaiter {
        s: Mutex<Tokens>,
        cv: Condvar,
    }
    #[derive(Default)]
    pub struct Tokens {
        arrived: u64,
        /// Waiters of this generation not yet released.
        waiting: usize,
        tokens: usize,
        /// Waiters numbered below this may take a token.
        eligible_below: u64,
        generation: u64,
    }
    impl super::Ev for AnyEarlierWaiter {
        fn create() -> Self {
            AnyEarlierWaiter {
                s: Mutex::new(Tokens::default()),
                cv: Condvar::new(),
            }
        }
        fn wait(&self) {
            let mut s = self.s.lock();
            let (me, generation) = (s.arrived, s.generation);
            s.arrived += 1;
            s.waiting += 1;
            while s.generation == generation && !(s.tokens > 0 && me < s.eligible_below) {
                self.cv.wait(&mut s);
            }
            if s.generation == generation {
                s.tokens -= 1;
                s.waiting -= 1;
            }
        }
        fn signal(&self) {
            let mut s = self.s.lock();
            if s.waiting > s.tokens {
                s.tokens += 1;
                s.eligible_below = s.arrived;
                self.cv.notify_all();
            }
        }
        fn broadcast(&self) {
            let mut s = self.s.lock();
            s.generation += 1;
            s.tokens = 0;
            s.waiting = 0;
            self.cv.notify_all();
        }
        fn waiting(&self) -> usize {
            let s = self.s.lock();
            s.waiting - s.tokens
        }
    }

    /// Wrong: the same open gate, with a `waiting()` that counts nobody once it is open
    /// (so that the late waiter's free pass, not the count, is what the checks see).
    pub struct OpenGateCounted(OpenGate);
    impl super::Ev for OpenGateCounted {
        fn create() -> Self {
            OpenGateCounted(OpenGate::create())
        }
        fn wait(&self) {
            self.0.wait();
        }
        fn signal(&self) {
            self.0.signal();
        }
        fn broadcast(&self) {
            self.0.broadcast();
        }
        fn waiting(&self) -> usize {
            let s = self.0.s.lock();
            if s.0 { 0 } else { s.1.len() }
        }
    }

    /// Wrong: a broadcast opens a gate that stays open.
    pub struct OpenGate {
        s: Mutex<(bool, VecDeque<u64>, u64)>,
        cv: Condvar,
    }
    impl super::Ev for OpenGate {
        fn create() -> Self {
            OpenGate {
                s: Mutex::new((false, VecDeque::new(), 0)),
                cv: Condvar::new(),
            }
        }
        fn wait(&self) {
            let mut s = self.s.lock();
            let me = s.2;
            s.2 += 1;
            s.1.push_back(me);
            while !s.0 && s.1.contains(&me) {
                self.cv.wait(&mut s);
            }
            s.1.retain(|&w| w != me);
        }
        fn signal(&self) {
            let mut s = self.s.lock();
            if s.1.pop_front().is_some() {
                self.cv.notify_all();
            }
        }
        fn broadcast(&self) {
            self.s.lock().0 = true;
            self.cv.notify_all();
        }
        fn waiting(&self) -> usize {
            self.s.lock().1.len()
        }
    }

    /// Right: the notes' own tools, a Hoare monitor whose condition queue is FIFO.
    pub struct HoareCondition {
        m: Monitor<()>,
        c: Condition,
    }
    impl super::Ev for HoareCondition {
        fn create() -> Self {
            HoareCondition {
                m: Monitor::new((), Semantics::Hoare),
                c: Condition::new(),
            }
        }
        fn wait(&self) {
            let mut g = self.m.enter();
            self.c.wait(&mut g);
        }
        fn signal(&self) {
            let mut g = self.m.enter();
            self.c.signal(&mut g);
        }
        fn broadcast(&self) {
            let mut g = self.m.enter();
            self.c.broadcast(&mut g);
        }
        fn waiting(&self) -> usize {
            let _g = self.m.enter();
            self.c.waiters()
        }
    }

    /// Right: a queue of waiter numbers; `signal` releases the front one.
    /// Wrong: the notes' broadcast made safe only against its own loop: it counts the
    /// waiters, then calls `signal()` that many times, each under its own lock.
    pub struct SignalsInALoop(Queue);
    impl super::Ev for SignalsInALoop {
        fn create() -> Self {
            SignalsInALoop(Queue::create())
        }
        fn wait(&self) {
            self.0.wait();
        }
        fn signal(&self) {
            self.0.signal();
        }
        fn broadcast(&self) {
            for _ in 0..self.0.waiting() {
                self.0.signal();
            }
        }
        fn waiting(&self) -> usize {
            self.0.waiting()
        }
    }

    pub struct Queue {
        s: Mutex<(VecDeque<u64>, u64)>,
        cv: Condvar,
    }
    impl super::Ev for Queue {
        fn create() -> Self {
            Queue {
                s: Mutex::new((VecDeque::new(), 0)),
                cv: Condvar::new(),
            }
        }
        fn wait(&self) {
            let mut s = self.s.lock();
            let me = s.1;
            s.1 += 1;
            s.0.push_back(me);
            self.cv.wait_while(&mut s, |s| s.0.contains(&me));
        }
        fn signal(&self) {
            let mut s = self.s.lock();
            if s.0.pop_front().is_some() {
                self.cv.notify_all();
            }
        }
        fn broadcast(&self) {
            self.s.lock().0.clear();
            self.cv.notify_all();
        }
        fn waiting(&self) -> usize {
            self.s.lock().0.len()
        }
    }
}

/// A named scenario script, and a named exploration.
type Script = (&'static str, fn() -> Table);
type Exploration = (
    &'static str,
    fn() -> Result<interleave::explore::Stats, Box<Failure>>,
);

/// Runs the scenarios and explorations of this file on `E`; the problems found.
fn problems<E: Ev>() -> Vec<String> {
    let mut found = Vec::new();
    let scripts: [Script; 3] = [
        (
            "three_waiters_a_broadcast_and_a_late_waiter",
            three_waiters_script::<E>,
        ),
        (
            "a_signal_with_nobody_waiting_is_lost",
            signal_to_nobody_script::<E>,
        ),
        (
            "signals_wake_the_oldest_waiter_over_several_rounds",
            rounds_script::<E>,
        ),
    ];
    for (name, script) in scripts {
        match std::panic::catch_unwind(script) {
            Ok(table) => {
                if let Some(step) = first_difference(&table, name) {
                    found.push(format!("{name}: differs at step {step}"));
                }
            }
            Err(_) => found.push(format!("{name}: the scenario panicked")),
        }
    }
    let explorations: [Exploration; 3] = [
        ("top_of_hour", || {
            check(Config::new().iterations(1000), || {
                top_of_hour::<E>(&["A", "B", "C", "D", "E"], &["L", "M"])
            })
        }),
        ("oldest_first", || {
            check(Config::new().iterations(1000), || oldest_first::<E>(3))
        }),
        ("broadcast_raced_by_a_signal", || {
            check(
                Config::new().iterations(1000),
                broadcast_raced_by_a_signal::<E>,
            )
        }),
    ];
    for (name, run) in explorations {
        if let Err(failure) = run() {
            found.push(format!("{name}: {}", failure.message));
        }
    }
    found
}

#[test]
fn the_checks_catch_a_stolen_signal_the_newest_waiter_any_waiter_and_an_open_gate() {
    let stolen = problems::<versions::CappedCounter>();
    assert!(
        stolen.iter().any(|p| p.starts_with("oldest_first")
            && p.contains(" only started waiting after the signal")),
        "{stolen:#?}"
    );
    let newest = problems::<versions::Newest>();
    assert!(
        newest
            .iter()
            .any(|p| p == "a_signal_with_nobody_waiting_is_lost: differs at step 6")
            && newest.iter().any(|p| p.starts_with("oldest_first")
                && p.contains("the one that has waited longest (A)")),
        "{newest:#?}"
    );
    let earlier = problems::<versions::AnyEarlierWaiter>();
    assert!(
        earlier.len() == 1
            && earlier[0].starts_with("oldest_first")
            && earlier[0].contains("the one that has waited longest"),
        "{earlier:#?}"
    );
    let any = problems::<versions::AnyWaiter>();
    assert!(
        any.iter().any(|p| p.starts_with("oldest_first") && p.contains("the one that has waited longest")),
        "{any:#?}"
    );
    let gate = problems::<versions::OpenGate>();
    assert!(
        gate.iter()
            .any(|p| p == "three_waiters_a_broadcast_and_a_late_waiter: differs at step 6")
            && gate
                .iter()
                .any(|p| p.starts_with("top_of_hour") && p.contains("A woken thread still counted")),
        "{gate:#?}"
    );
    let counted = problems::<versions::OpenGateCounted>();
    assert!(
        counted
            .iter()
            .any(|p| p.starts_with("top_of_hour") && p.contains("without a new signal")),
        "{counted:#?}"
    );
}

#[test]
fn the_checks_catch_a_broadcast_made_of_signals() {
    let found = problems::<versions::SignalsInALoop>();
    assert!(
        found.len() == 1
            && found[0].starts_with("broadcast_raced_by_a_signal")
            && found[0].contains("L returned from wait() although it started waiting only after"),
        "{found:#?}"
    );
}

#[test]
fn a_hoare_condition_and_a_queue_of_numbers_pass() {
    assert_eq!(problems::<versions::HoareCondition>(), Vec::<String>::new());
    assert_eq!(problems::<versions::Queue>(), Vec::<String>::new());
}

// std's condvar contract. A `Condvar` of std (or parking_lot) may wake a waiter for
// nothing (a spurious wake-up), and `notify_one` may wake any one of the waiters; the
// simulated one does neither unless asked (`CondvarSemantics::Std`). These checks ask.

/// What the std-contract checks use of an event.
trait StdContractEvent: Send + Sync + 'static {
    fn wait(&self);
    fn signal(&self);
    fn waiting(&self) -> usize;
}

impl StdContractEvent for Event {
    fn wait(&self) {
        Event::wait(self)
    }
    fn signal(&self) {
        Event::signal(self)
    }
    fn waiting(&self) -> usize {
        Event::waiting(self)
    }
}

/// A waits, then B; nobody signals yet, so neither may come back; then one signal must
/// let one of them return (whichever), and a second signal the other.
fn waits_return_only_for_signals<E: StdContractEvent>(event: E) {
    let event = interleave::sync::Arc::new(event);
    let returned = interleave::explore::Observed::new(Vec::<&'static str>::new());
    // How many waiters came back, for the main thread to wait on (with a loop).
    // Named for the report: a lost wake-up leaves main waiting on it.
    let back = interleave::sync::Arc::new((
        interleave::sync::Mutex::named("waiters_back (the test's count)", 0usize),
        interleave::sync::Condvar::named("waiters_back (the test's count)"),
    ));
    let spawn_waiter = |name: &'static str| {
        let (e, r, back) = (event.clone(), returned.clone(), back.clone());
        interleave::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                e.wait();
                r.update(|r| r.push(name));
                *back.0.lock() += 1;
                back.1.notify_all();
            })
            .expect("spawn a waiter")
    };
    let nobody_back = |who: &str| {
        let back = returned.get();
        assert!(
            back.is_empty(),
            "{} returned from wait() although nobody signalled {who}: std's Condvar may wake \
             a waiter for nothing (a spurious wake-up), so a wait must sit in a loop that \
             re-checks whether the event really happened",
            back.join(", ")
        );
    };
    let a = spawn_waiter("A");
    while event.waiting() < 1 && returned.get().is_empty() {
        interleave::thread::yield_now();
    }
    nobody_back("A");
    let b = spawn_waiter("B");
    while event.waiting() < 2 && returned.get().is_empty() {
        interleave::thread::yield_now();
    }
    nobody_back("A or B");
    for n in 1..=2 {
        event.signal();
        // Waits until a waiter comes back: if the wake-up went to a thread that goes back
        // to sleep, nobody does, and the exploration reports a lost wake-up.
        let mut count = back.0.lock();
        while *count < n {
            back.1.wait(&mut count);
        }
    }
    a.join().expect("A panicked");
    b.join().expect("B panicked");
}

/// Explores `waits_return_only_for_signals` under std's contract; a failure comes back
/// as its diagnosis and its full report, a lost wake-up named as such.
fn check_std_contract<E: StdContractEvent>(
    config: interleave::explore::Config,
    new: fn() -> E,
) -> Result<(), (String, String)> {
    let config = config.condvar(interleave::explore::CondvarSemantics::Std);
    match interleave::explore::check(config, move || waits_return_only_for_signals(new())) {
        Ok(_) => Ok(()),
        Err(f) if f.kind == interleave::report::FailureKind::LostWakeup => {
            let why = "one signal() with A and B waiting let neither return: std's notify_one \
                       may wake any waiter, and the one it woke went back to sleep; wake them \
                       all and let each check whether the signal is for it";
            Err((why.to_string(), format!("{why}\n\n{f}")))
        }
        Err(f) => Err((f.message.clone(), f.to_string())),
    }
}

#[test]
fn waits_return_only_for_signals_under_std_condvar_semantics() {
    for config in [
        Config::new().iterations(1000),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        if let Err((_, report)) = check_std_contract(config, Event::new) {
            panic!("{report}");
        }
    }
}

/// The oracles: a wait without a loop, and numbered waiters woken with `notify_one`,
/// pass every FIFO schedule and fail under std's contract, each with its cause.
#[test]
fn the_std_contract_catches_a_wait_without_a_loop_and_a_wrong_notify_one() {
    use interleave::sync::{Condvar, Mutex};

    /// `wait` waits once, without a loop.
    struct NoLoop {
        waiting: Mutex<usize>,
        cv: Condvar,
    }
    impl StdContractEvent for NoLoop {
        fn wait(&self) {
            let mut w = self.waiting.lock();
            *w += 1;
            self.cv.wait(&mut w);
            *w -= 1;
        }
        fn signal(&self) {
            let w = self.waiting.lock();
            if *w > 0 {
                self.cv.notify_one();
            }
        }
        fn waiting(&self) -> usize {
            *self.waiting.lock()
        }
    }

    /// Numbered waiters in a loop (right), but `signal` wakes one with `notify_one`.
    struct Numbered {
        s: Mutex<(u64, u64)>,
        cv: Condvar,
    }
    impl StdContractEvent for Numbered {
        fn wait(&self) {
            let mut s = self.s.lock();
            let me = s.0;
            s.0 += 1;
            while s.1 <= me {
                self.cv.wait(&mut s);
            }
        }
        fn signal(&self) {
            let mut s = self.s.lock();
            if s.1 < s.0 {
                s.1 += 1;
                self.cv.notify_one();
            }
        }
        fn waiting(&self) -> usize {
            let s = self.s.lock();
            (s.0 - s.1) as usize
        }
    }

    let no_loop = || NoLoop {
        waiting: Mutex::new(0),
        cv: Condvar::new(),
    };
    let numbered = || Numbered {
        s: Mutex::new((0, 0)),
        cv: Condvar::new(),
    };
    for config in [
        Config::new().iterations(1000),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        // FIFO: nothing to see.
        for result in [
            interleave::explore::check(config.clone(), move || {
                waits_return_only_for_signals(no_loop())
            }),
            interleave::explore::check(config.clone(), move || {
                waits_return_only_for_signals(numbered())
            }),
        ] {
            if let Err(f) = result {
                panic!("FIFO wake-ups hide both bugs:\n{f}");
            }
        }
        let (why, report) =
            check_std_contract(config.clone(), no_loop).expect_err("a spurious wake-up");
        assert!(
            why.contains("returned from wait() although nobody signalled"),
            "{report}"
        );
        let (why, report) = check_std_contract(config, numbered).expect_err("a wrong notify_one");
        assert!(
            why.starts_with("one signal() with A and B waiting let neither"),
            "{report}"
        );
    }
}
