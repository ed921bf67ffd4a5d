//! What every step of the topic is checked against: the same scenarios and the same
//! explorations, whatever tool the step uses.

use interleave::explore::{Config, Observed, Stats, check};
use interleave::report::Failure;
use interleave::scenario::{Returned, Scenario, Table};
use interleave::sync::Arc;
use interleave::{thread, trace};
use rw_monitor::RwMonitor;

/// The state column: who is inside, from the calls that returned so far.
fn inside(done: &[Returned]) -> String {
    let mut readers: Vec<&str> = Vec::new();
    let mut writers: Vec<&str> = Vec::new();
    for r in done {
        match r.call.as_str() {
            "start_read()" => readers.push(&r.actor),
            "finish_read()" => readers.retain(|a| *a != r.actor),
            "start_write()" => writers.push(&r.actor),
            "finish_write()" => writers.retain(|a| *a != r.actor),
            other => panic!("unexpected call {other}"),
        }
    }
    // Sorted: readers admitted together return in an order the policy leaves open.
    readers.sort_unstable();
    writers.sort_unstable();
    match (readers.is_empty(), writers.is_empty()) {
        (true, true) => "nobody inside".to_string(),
        (false, true) => format!("reading: {}", readers.join(", ")),
        (true, false) => format!("writing: {}", writers.join(", ")),
        (false, false) => format!(
            "BOTH reading: {} and writing: {}",
            readers.join(", "),
            writers.join(", ")
        ),
    }
}

fn start_read<T: RwMonitor>(rw: &T) {
    rw.start_read()
}
fn finish_read<T: RwMonitor>(rw: &T) {
    rw.finish_read()
}
fn start_write<T: RwMonitor>(rw: &T) {
    rw.start_write()
}
fn finish_write<T: RwMonitor>(rw: &T) {
    rw.finish_write()
}

/// A scenario's step budget: the correct monitors need about a hundred steps; a thread
/// spinning inside the monitor is stopped (and diagnosed) quickly.
const SCENARIO_STEPS: u64 = 1_000;

/// The reference scenario: a waiting writer keeps new readers out, and a leaving
/// writer lets the waiting reader in before the next writer.
pub fn writer_waits_for_readers_then_readers_go_first<T: RwMonitor + 'static>(
    new: fn() -> T,
) -> Table {
    Scenario::new(new)
        .call("R1", "start_read()", start_read::<T>)
        .call("W1", "start_write()", start_write::<T>)
        .call("R2", "start_read()", start_read::<T>)
        .call("R1", "finish_read()", finish_read::<T>)
        .call("W2", "start_write()", start_write::<T>)
        .call("W1", "finish_write()", finish_write::<T>)
        .call("R2", "finish_read()", finish_read::<T>)
        .call("W2", "finish_write()", finish_write::<T>)
        .state(inside)
        .max_steps(SCENARIO_STEPS)
        .run()
}

/// Writers do not starve readers: a leaving writer admits every waiting reader at once,
/// even though another writer waits, and those readers share the resource.
pub fn waiting_readers_enter_together_before_the_next_writer<T: RwMonitor + 'static>(
    new: fn() -> T,
) -> Table {
    Scenario::new(new)
        .call("W1", "start_write()", start_write::<T>)
        .call("R1", "start_read()", start_read::<T>)
        .call("R2", "start_read()", start_read::<T>)
        .call("W2", "start_write()", start_write::<T>)
        .call("R3", "start_read()", start_read::<T>)
        .call("W1", "finish_write()", finish_write::<T>)
        .call("R4", "start_read()", start_read::<T>)
        .call("R1", "finish_read()", finish_read::<T>)
        .call("R2", "finish_read()", finish_read::<T>)
        .call("R3", "finish_read()", finish_read::<T>)
        .call("W2", "finish_write()", finish_write::<T>)
        .call("R4", "finish_read()", finish_read::<T>)
        .state(inside)
        .max_steps(SCENARIO_STEPS)
        .run()
}

/// Who the test has seen inside: the readers between `start_read` returning and
/// `finish_read` being called, the writers likewise.
#[derive(Clone, Debug, Default)]
struct Inside {
    readers: Vec<String>,
    writers: Vec<String>,
}

impl Inside {
    /// Records `me` entering; returns the broken invariant, if it is.
    fn enter(&mut self, me: &str, writing: bool) -> Option<String> {
        let others = |v: &[String]| v.join(", ");
        let broken = if writing && !self.writers.is_empty() {
            Some(format!(
                "{me} started writing while {} was writing: never a writer together with anyone else inside",
                others(&self.writers)
            ))
        } else if writing && !self.readers.is_empty() {
            Some(format!(
                "{me} started writing while {} {} reading: never a writer together with anyone else inside",
                others(&self.readers),
                if self.readers.len() == 1 {
                    "was"
                } else {
                    "were"
                }
            ))
        } else if !writing && !self.writers.is_empty() {
            Some(format!(
                "{me} started reading while {} was writing: never a writer together with anyone else inside",
                others(&self.writers)
            ))
        } else {
            None
        };
        if writing {
            self.writers.push(me.to_string());
        } else {
            self.readers.push(me.to_string());
        }
        broken
    }

    fn leave(&mut self, me: &str) {
        self.readers.retain(|r| r != me);
        self.writers.retain(|w| w != me);
    }
}

/// `readers` readers and `writers` writers each enter and leave `rounds` times; every
/// entry is checked against the invariant, and the exploration fails on deadlocks,
/// lost wake-ups and busy-waiting.
pub fn explore_readers_and_writers<T: RwMonitor + 'static>(
    new: fn() -> T,
    config: Config,
    readers: usize,
    writers: usize,
    rounds: usize,
) {
    if let Err(failure) = check_readers_and_writers(new, config, readers, writers, rounds) {
        panic!("{failure}");
    }
}

/// [`explore_readers_and_writers`], returning the first failure instead of panicking.
pub fn check_readers_and_writers<T: RwMonitor + 'static>(
    new: fn() -> T,
    config: Config,
    readers: usize,
    writers: usize,
    rounds: usize,
) -> Result<Stats, Box<Failure>> {
    check(config, move || {
        let rw = Arc::new(new());
        let inside = Observed::new(Inside::default());
        let actors = (1..=readers)
            .map(|i| (format!("R{i}"), false))
            .chain((1..=writers).map(|i| (format!("W{i}"), true)));
        let handles: Vec<_> = actors
            .map(|(name, writing)| {
                let rw = rw.clone();
                let inside = inside.clone();
                let me = name.clone();
                thread::Builder::new()
                    .name(name)
                    .spawn(move || {
                        for _ in 0..rounds {
                            if writing {
                                trace::label("start_write()");
                                rw.start_write();
                            } else {
                                trace::label("start_read()");
                                rw.start_read();
                            }
                            let what = if writing { "writing" } else { "reading" };
                            trace::label(what);
                            if let Some(broken) = inside.update(|s| s.enter(&me, writing)) {
                                panic!("{broken}");
                            }
                            // Use the resource: a scheduling point, so others may run now.
                            thread::yield_now();
                            inside.update(|s| s.leave(&me));
                            if writing {
                                trace::label("finish_write()");
                                rw.finish_write();
                            } else {
                                trace::label("finish_read()");
                                rw.finish_read();
                            }
                        }
                    })
                    .expect("spawn a simulated thread")
            })
            .collect();
        for h in handles {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    })
}
