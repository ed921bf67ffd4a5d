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
    let back = interleave::sync::Arc::new((
        interleave::sync::Mutex::new(0usize),
        interleave::sync::Condvar::new(),
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
