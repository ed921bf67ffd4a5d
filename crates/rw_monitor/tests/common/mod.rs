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

const READER_IN: &str = "no writer writes or waits: a reader enters at once";
const READER_WAITS_FOR_WRITER: &str =
    "a reader waits while a writer is waiting, even if only readers are inside";
const READER_WAITS_WHILE_WRITING: &str = "a reader waits while a writer writes";
const WRITER_IN: &str = "nobody inside: a writer enters at once";
const WRITER_WAITS_FOR_READERS: &str = "a writer waits while readers read";
const WRITER_WAITS_FOR_WRITER: &str = "a writer waits while a writer writes";
const READERS_STAY: &str = "readers are still inside: the waiting writer keeps waiting";
const LAST_READER: &str = "the last reader leaves: one waiting writer enters";
const READERS_FIRST: &str =
    "a writer leaves: all the waiting readers enter, even though a writer waits";
const NEXT_WRITER: &str = "a writer leaves and no reader waits: one waiting writer enters";
const NOBODY_WAITS: &str = "the last one leaves and nobody waits";

/// The reference scenario: a waiting writer keeps new readers out, and a leaving
/// writer lets the waiting reader in before the next writer.
pub fn writer_waits_for_readers_then_readers_go_first<T: RwMonitor + 'static>(
    new: fn() -> T,
) -> Table {
    Scenario::new(new)
        .call("R1", "start_read()", start_read::<T>)
        .rule(READER_IN)
        .call("W1", "start_write()", start_write::<T>)
        .rule(WRITER_WAITS_FOR_READERS)
        .call("R2", "start_read()", start_read::<T>)
        .rule(READER_WAITS_FOR_WRITER)
        .call("R1", "finish_read()", finish_read::<T>)
        .rule(LAST_READER)
        .call("W2", "start_write()", start_write::<T>)
        .rule(WRITER_WAITS_FOR_WRITER)
        .call("W1", "finish_write()", finish_write::<T>)
        .rule(READERS_FIRST)
        .call("R2", "finish_read()", finish_read::<T>)
        .rule(LAST_READER)
        .call("W2", "finish_write()", finish_write::<T>)
        .rule(NOBODY_WAITS)
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
        .rule(WRITER_IN)
        .call("R1", "start_read()", start_read::<T>)
        .rule(READER_WAITS_WHILE_WRITING)
        .call("R2", "start_read()", start_read::<T>)
        .rule(READER_WAITS_WHILE_WRITING)
        .call("W2", "start_write()", start_write::<T>)
        .rule(WRITER_WAITS_FOR_WRITER)
        .call("R3", "start_read()", start_read::<T>)
        .rule(READER_WAITS_WHILE_WRITING)
        .call("W1", "finish_write()", finish_write::<T>)
        .rule(READERS_FIRST)
        .call("R4", "start_read()", start_read::<T>)
        .rule(READER_WAITS_FOR_WRITER)
        .call("R1", "finish_read()", finish_read::<T>)
        .rule(READERS_STAY)
        .call("R2", "finish_read()", finish_read::<T>)
        .rule(READERS_STAY)
        .call("R3", "finish_read()", finish_read::<T>)
        .rule(LAST_READER)
        .call("W2", "finish_write()", finish_write::<T>)
        .rule("a writer leaves: the waiting reader enters")
        .call("R4", "finish_read()", finish_read::<T>)
        .rule(NOBODY_WAITS)
        .state(inside)
        .max_steps(SCENARIO_STEPS)
        .run()
}

/// Several readers and writers over several rounds: readers share while no writer waits,
/// a waiting writer holds new readers back, each leaving writer lets every waiting reader
/// in, and a writer follows a writer when no reader waits.
pub fn several_rounds_of_readers_and_writers<T: RwMonitor + 'static>(new: fn() -> T) -> Table {
    Scenario::new(new)
        .call("R1", "start_read()", start_read::<T>)
        .rule(READER_IN)
        .call("R2", "start_read()", start_read::<T>)
        .rule(READER_IN)
        .call("W1", "start_write()", start_write::<T>)
        .rule(WRITER_WAITS_FOR_READERS)
        .call("R3", "start_read()", start_read::<T>)
        .rule(READER_WAITS_FOR_WRITER)
        .call("R4", "start_read()", start_read::<T>)
        .rule(READER_WAITS_FOR_WRITER)
        .call("R1", "finish_read()", finish_read::<T>)
        .rule(READERS_STAY)
        .call("R2", "finish_read()", finish_read::<T>)
        .rule(LAST_READER)
        .call("R5", "start_read()", start_read::<T>)
        .rule(READER_WAITS_WHILE_WRITING)
        .call("W1", "finish_write()", finish_write::<T>)
        .rule("a writer leaves: all the waiting readers enter")
        .call("W2", "start_write()", start_write::<T>)
        .rule(WRITER_WAITS_FOR_READERS)
        .call("R3", "finish_read()", finish_read::<T>)
        .rule(READERS_STAY)
        .call("R4", "finish_read()", finish_read::<T>)
        .rule(READERS_STAY)
        .call("R5", "finish_read()", finish_read::<T>)
        .rule(LAST_READER)
        .call("W3", "start_write()", start_write::<T>)
        .rule(WRITER_WAITS_FOR_WRITER)
        .call("W2", "finish_write()", finish_write::<T>)
        .rule(NEXT_WRITER)
        .call("R6", "start_read()", start_read::<T>)
        .rule(READER_WAITS_WHILE_WRITING)
        .call("W3", "finish_write()", finish_write::<T>)
        .rule("a writer leaves: the waiting reader enters")
        .call("R6", "finish_read()", finish_read::<T>)
        .rule(NOBODY_WAITS)
        .state(inside)
        .max_steps(SCENARIO_STEPS)
        .run()
}

/// A call of a policy-checked script. Leaving calls are made by fresh actors (`X1`,
/// `X2`...): which waiting writer the monitor lets in is the monitor's choice, so the
/// script cannot name the writer that will leave; the monitor does not care who calls.
#[derive(Clone, Copy, Debug)]
pub enum Call {
    /// An actor starts reading.
    Read(&'static str),
    /// An actor starts writing.
    Write(&'static str),
    /// One of the readers inside leaves.
    ReaderLeaves,
    /// The writer inside leaves.
    WriterLeaves,
}

/// Runs `calls` and returns the table.
pub fn script<T: RwMonitor + 'static>(new: fn() -> T, calls: &[Call]) -> Table {
    let mut scenario = Scenario::new(new);
    let mut leaver = 0;
    for &call in calls {
        scenario = match call {
            Call::Read(a) => scenario.call(a, "start_read()", start_read::<T>),
            Call::Write(a) => scenario.call(a, "start_write()", start_write::<T>),
            Call::ReaderLeaves | Call::WriterLeaves => {
                leaver += 1;
                let actor = format!("X{leaver}");
                match call {
                    Call::ReaderLeaves => scenario.call(&actor, "finish_read()", finish_read::<T>),
                    _ => scenario.call(&actor, "finish_write()", finish_write::<T>),
                }
            }
        };
    }
    scenario.max_steps(SCENARIO_STEPS).run()
}

/// Checks a table step by step against the policy, leaving open only what the policy
/// leaves open (which of several waiting writers enters). Returns the first problem.
pub fn judge(table: &Table) -> Option<String> {
    if let Some(why) = &table.stopped {
        return Some(format!("the script stopped early: {why}"));
    }
    let mut readers = 0usize;
    let mut writing = false;
    let started = |r: &str, what: &str| r.ends_with(what);
    for row in &table.rows {
        let step = row.step;
        let own_returned = row.returned.first().is_some_and(|r| *r == row.call);
        let blocked_before: Vec<&String> = table
            .rows
            .get(step.wrapping_sub(2))
            .map(|r| r.blocked.iter().collect())
            .unwrap_or_default();
        let waiting_readers_before = blocked_before
            .iter()
            .filter(|b| started(b, "start_read()"))
            .count();
        let waiting_writers_before = blocked_before
            .iter()
            .filter(|b| started(b, "start_write()"))
            .count();
        let readers_in: Vec<&String> = row
            .returned
            .iter()
            .filter(|r| started(r, "start_read()"))
            .collect();
        let writers_in: Vec<&String> = row
            .returned
            .iter()
            .filter(|r| started(r, "start_write()"))
            .collect();
        let call = row.call.as_str();
        let fail = |why: String| Some(format!("step {step} ({call}):\n{why}"));
        // What the step's own call is allowed to do.
        if call.ends_with("start_read()") {
            let may = !writing && waiting_writers_before == 0;
            if may != own_returned {
                return fail(if may {
                    "no writer writes or waits, so the reader must enter at once".into()
                } else {
                    "a reader waits while a writer writes or waits".into()
                });
            }
        } else if call.ends_with("start_write()") {
            let may = !writing && readers == 0 && waiting_writers_before == 0;
            if may != own_returned {
                return fail(if may {
                    "nobody is inside, so the writer must enter at once".into()
                } else {
                    "a writer waits while readers read or a writer writes".into()
                });
            }
        } else if call.ends_with("finish_read()") {
            if readers == 0 {
                return fail("no reader is inside to leave".into());
            }
            readers -= 1;
        } else if call.ends_with("finish_write()") {
            if !writing {
                return fail("no writer is inside to leave".into());
            }
            writing = false;
        }
        // Who else got in during the step.
        let others_r =
            readers_in.len() - usize::from(own_returned && call.ends_with("start_read()"));
        let others_w =
            writers_in.len() - usize::from(own_returned && call.ends_with("start_write()"));
        let (expect_r, expect_w) = if call.ends_with("finish_write()") {
            if waiting_readers_before > 0 {
                (waiting_readers_before, 0)
            } else {
                (0, usize::from(waiting_writers_before > 0))
            }
        } else if call.ends_with("finish_read()") && readers == 0 {
            (0, usize::from(waiting_writers_before > 0))
        } else {
            (0, 0)
        };
        if (others_r, others_w) != (expect_r, expect_w) {
            let who: Vec<&str> = row.returned.iter().skip(1).map(String::as_str).collect();
            let expected = match (expect_r, expect_w) {
                (0, 0) => "nobody else enters".to_string(),
                (0, 1) => "exactly one waiting writer enters".to_string(),
                (n, _) => format!("all {n} waiting readers enter, and no writer"),
            };
            return fail(format!(
                "{expected}, but {}",
                if who.is_empty() {
                    "nobody did".to_string()
                } else {
                    format!("{} returned", who.join(", "))
                }
            ));
        }
        readers += readers_in.len();
        writing |= !writers_in.is_empty();
        if writing && (readers > 0 || writers_in.len() > 1) {
            return fail("a writer is inside together with someone else".into());
        }
        // Once nothing can move, nobody waits who could go on.
        let writer_waits = row.blocked.iter().any(|b| started(b, "start_write()"));
        if let Some(reader) = row.blocked.iter().find(|b| started(b, "start_read()"))
            && !writing
            && !writer_waits
        {
            return fail(format!(
                "{reader} is still blocked although no writer writes or waits"
            ));
        }
        if let Some(writer) = row.blocked.iter().find(|b| started(b, "start_write()"))
            && !writing
            && readers == 0
        {
            return fail(format!(
                "{writer} is still blocked although nobody is inside"
            ));
        }
    }
    None
}

/// Scripts with several writers waiting at once, where the policy does not say which
/// writer goes next.
pub fn crowded_scripts() -> Vec<(&'static str, Vec<Call>)> {
    use Call::{Read, ReaderLeaves, Write, WriterLeaves};
    vec![
        (
            "writers pile up behind a writer, readers come and go",
            vec![
                Write("W1"),
                Write("W2"),
                Write("W3"),
                Write("W4"),
                Read("R1"),
                WriterLeaves,
                Read("R2"),
                ReaderLeaves,
                WriterLeaves,
                ReaderLeaves,
                WriterLeaves,
                WriterLeaves,
                Read("R3"),
                ReaderLeaves,
            ],
        ),
        (
            "writers pile up behind readers",
            vec![
                Read("R1"),
                Read("R2"),
                Write("W1"),
                Write("W2"),
                Write("W3"),
                Read("R3"),
                ReaderLeaves,
                ReaderLeaves,
                Read("R4"),
                WriterLeaves,
                Write("W4"),
                ReaderLeaves,
                ReaderLeaves,
                WriterLeaves,
                WriterLeaves,
                WriterLeaves,
            ],
        ),
    ]
}

/// Runs the crowded scripts on `new` and judges them: the first problem.
pub fn judge_crowds<T: RwMonitor + 'static>(new: fn() -> T) -> Option<String> {
    crowded_scripts().into_iter().find_map(|(name, calls)| {
        match std::panic::catch_unwind(|| script(new, &calls)) {
            Ok(table) => judge(&table).map(|p| format!("{name}: {p}\n\n{table}")),
            Err(_) => Some(format!("{name}: the scenario failed")),
        }
    })
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
    check_crowd(new, config, Crowd::new(readers, writers, rounds))
}

/// Who takes part in an exploration: `readers` readers and `writers` writers, each
/// entering and leaving `rounds` times, started readers first unless `writers_first`.
#[derive(Debug, Clone, Copy)]
pub struct Crowd {
    pub readers: usize,
    pub writers: usize,
    pub rounds: usize,
    pub writers_first: bool,
}

impl Crowd {
    pub fn new(readers: usize, writers: usize, rounds: usize) -> Self {
        Crowd {
            readers,
            writers,
            rounds,
            writers_first: false,
        }
    }

    /// The same crowd, writers started first (they are then inside, or waiting, before
    /// most readers arrive).
    pub fn writers_first(self) -> Self {
        Crowd {
            writers_first: true,
            ..self
        }
    }
}

/// [`check_readers_and_writers`] for any [`Crowd`].
pub fn check_crowd<T: RwMonitor + 'static>(
    new: fn() -> T,
    config: Config,
    crowd: Crowd,
) -> Result<Stats, Box<Failure>> {
    let Crowd {
        readers,
        writers,
        rounds,
        writers_first,
    } = crowd;
    check(config, move || {
        let rw = Arc::new(new());
        let inside = Observed::new(Inside::default());
        let reader_names = (1..=readers).map(|i| (format!("R{i}"), false));
        let writer_names = (1..=writers).map(|i| (format!("W{i}"), true));
        let actors: Vec<(String, bool)> = if writers_first {
            writer_names.chain(reader_names).collect()
        } else {
            reader_names.chain(writer_names).collect()
        };
        let handles: Vec<_> = actors
            .into_iter()
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
        join_all(handles);
    })
}

/// The body of the snapshot `name` (the same for every step: the `hoare` copy), without
/// insta's header.
fn snapshot(name: &str) -> String {
    let path = format!(
        "{}/tests/snapshots/hoare__{name}.snap",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.splitn(3, "---\n")
        .nth(2)
        .unwrap_or_default()
        .to_string()
}

/// The step an explanation of interleave points at (0: only the end of the table).
fn step_of(explanation: &str) -> usize {
    explanation
        .lines()
        .find_map(|l| {
            let rest = l.trim_start().strip_prefix("--> step ")?;
            rest.split(' ').next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// A table's snapshot name and its script.
type Script<T> = (&'static str, fn(fn() -> T) -> Table);

/// The three tables on `new`: the first that differs from its snapshot, and the step. A
/// table cut short (an actor scripted while still blocked) is compared up to where it
/// stopped.
pub fn tables<T: RwMonitor + 'static>(new: fn() -> T) -> Option<(&'static str, usize)> {
    let scripts: [Script<T>; 3] = [
        (
            "reference_scenario_a_waiting_writer_keeps_new_readers_out",
            writer_waits_for_readers_then_readers_go_first::<T>,
        ),
        (
            "waiting_readers_enter_together_before_the_next_writer",
            waiting_readers_enter_together_before_the_next_writer::<T>,
        ),
        (
            "several_rounds_of_readers_and_writers",
            several_rounds_of_readers_and_writers::<T>,
        ),
    ];
    scripts.into_iter().find_map(|(name, script)| {
        let found = match std::panic::catch_unwind(move || script(new)) {
            Ok(table) => table
                .explain_difference(&snapshot(name))
                .map(|e| step_of(&e)),
            // A call that spins until the step budget runs out: "error: at step 2, ...".
            Err(panic) => {
                let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
                Some(
                    message
                        .split_once("error: at step ")
                        .and_then(|(_, rest)| {
                            rest.split(|c: char| !c.is_ascii_digit())
                                .next()?
                                .parse()
                                .ok()
                        })
                        .unwrap_or(0),
                )
            }
        };
        found.map(|step| (name, step))
    })
}

/// The explorations every step runs: (readers, writers, rounds) under a configuration.
pub fn shapes() -> Vec<(Config, usize, usize, usize)> {
    use interleave::explore::Strategy;
    vec![
        (Config::new().iterations(1000), 2, 2, 2),
        (
            Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
            2,
            2,
            1,
        ),
        (Config::new().iterations(300), 3, 3, 2),
        (Config::new().iterations(300), 4, 1, 3),
        (Config::new().iterations(300), 1, 4, 3),
    ]
}

/// The explorations under std's condvar contract (a Mesa monitor, or a `Condvar`, may wake
/// a waiter for nothing, and a signal may wake any one of the waiters; a Hoare monitor is
/// not affected): a crowd under a configuration. Three readers and two
/// writers are the smallest crowd in which a signal handed from reader to reader can wake
/// a reader of the next batch instead of one already admitted.
pub fn std_contract_shapes() -> Vec<(Config, Crowd)> {
    use interleave::explore::{CondvarSemantics, Strategy};
    let std_contract = |config: Config| config.condvar(CondvarSemantics::Std);
    vec![
        (
            std_contract(Config::new().iterations(1000)),
            Crowd::new(2, 2, 2),
        ),
        (
            std_contract(Config::new().strategy(Strategy::DelayBounded { bound: 2 })),
            Crowd::new(2, 2, 1),
        ),
        (
            std_contract(Config::new().iterations(1000)),
            Crowd::new(3, 2, 1).writers_first(),
        ),
    ]
}

/// Every check of the topic on `new`: tables, crowded scripts, explorations. The first
/// problem, if any.
#[allow(dead_code)] // not every step's test file runs other monitors through it
pub fn verdict<T: RwMonitor + 'static>(new: fn() -> T) -> Option<String> {
    tables(new)
        .map(|(name, step)| format!("table {name} differs at step {step}"))
        .or_else(|| judge_crowds(new))
        .or_else(|| {
            shapes()
                .into_iter()
                .map(|(config, r, w, rounds)| (config, Crowd::new(r, w, rounds)))
                .chain(std_contract_shapes())
                .find_map(|(config, crowd)| {
                    check_crowd(new, config, crowd).err().map(|f| f.message)
                })
        })
}

/// Starts the simulated thread `name` running `body`.
fn spawn_named(name: &str, body: Box<dyn FnOnce() + Send>) -> thread::JoinHandle<()> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(body)
        .expect("spawn a simulated thread")
}

/// Joins every thread, passing on the first panic.
fn join_all(handles: Vec<thread::JoinHandle<()>>) {
    for h in handles {
        if let Err(e) = h.join() {
            std::panic::resume_unwind(e);
        }
    }
}

/// A writer that arrives just as another leaves must not get in ahead of the readers the
/// leaving writer admitted. W1 writes; R1 and R2 arrive at 10 ms (virtual time) and wait;
/// at 100 ms W1 leaves and W2 arrives, in every order the exploration tries. Whoever of
/// W1's `finish_write` and W2's `start_write` goes first, the policy puts both readers in
/// before W2: either W2 came too late to wait before them, or it waited and a leaving
/// writer lets the waiting readers in first. A monitor whose woken readers only re-check
/// "is a writer inside?" lets W2 in first.
#[allow(dead_code)] // busy_wait runs its own checks
pub fn check_admitted_readers_before_a_late_writer<T: RwMonitor + 'static>(
    new: fn() -> T,
    config: Config,
) -> Result<Stats, Box<Failure>> {
    use std::time::Duration;
    check(config, move || {
        let rw = Arc::new(new());
        let entered = Observed::new(Vec::<String>::new());
        let enter = |who: &str, entered: &Observed<Vec<String>>| {
            let before = entered.update(|e| {
                e.push(who.to_string());
                e.clone()
            });
            let waited: Vec<&str> = ["R1", "R2"]
                .into_iter()
                .filter(|r| !before.iter().any(|e| e == r))
                .collect();
            if who == "W2" && !waited.is_empty() {
                panic!(
                    "W2 started writing before {}: {} waited while W1 wrote, and W1's \
                     finish_write admitted them; W2 arrived only as W1 left. Readers admitted \
                     as a batch must all get in before the next writer, even one that barges \
                     in between the notify and their return: count them in when you admit \
                     them. A writer ahead of admitted readers.",
                    waited.join(" and "),
                    if waited.len() == 1 { "it" } else { "they" }
                );
            }
        };
        let mut handles = Vec::new();
        {
            let (rw, entered) = (rw.clone(), entered.clone());
            handles.push(spawn_named(
                "W1",
                Box::new(move || {
                    trace::label("start_write()");
                    rw.start_write();
                    enter("W1", &entered);
                    thread::sleep(Duration::from_millis(100));
                    trace::label("finish_write()");
                    rw.finish_write();
                }),
            ));
        }
        for reader in ["R1", "R2"] {
            let (rw, entered) = (rw.clone(), entered.clone());
            handles.push(spawn_named(
                reader,
                Box::new(move || {
                    thread::sleep(Duration::from_millis(10));
                    trace::label("start_read()");
                    rw.start_read();
                    enter(reader, &entered);
                    trace::label("finish_read()");
                    rw.finish_read();
                }),
            ));
        }
        {
            let (rw, entered) = (rw.clone(), entered.clone());
            handles.push(spawn_named(
                "W2",
                Box::new(move || {
                    thread::sleep(Duration::from_millis(100));
                    trace::label("start_write()");
                    rw.start_write();
                    enter("W2", &entered);
                    trace::label("finish_write()");
                    rw.finish_write();
                }),
            ));
        }
        join_all(handles);
    })
}

/// A reader that arrives after a writer left must not take the place of the readers that
/// writer admitted, nor get in ahead of a writer already waiting. W1 writes; R1 arrives at
/// 10 ms and waits; W2 arrives at 20 ms and waits; at 100 ms W1 leaves and R2 arrives, in
/// every order the exploration tries. W1's `finish_write` admits R1 (the reader waiting
/// then); R2, if it came after W1 left, found W2 waiting and must wait for W2, even when it
/// wakes before R1 (a spurious wake-up, or a `notify_all` of the readers' condition). An
/// admission any woken reader may take ("permits", a count of readers to let in) lets R2 in
/// ahead of W2, and then R1 may wait for ever.
#[allow(dead_code)] // busy_wait runs its own checks
pub fn check_a_late_reader_waits_behind_a_waiting_writer<T: RwMonitor + 'static>(
    new: fn() -> T,
    config: Config,
) -> Result<Stats, Box<Failure>> {
    use std::time::Duration;
    check(config, move || {
        let rw = Arc::new(new());
        // Who has entered, and whether W1's finish_write has returned.
        let entered = Observed::new(Vec::<&'static str>::new());
        let w1_left = Observed::new(false);
        let mut handles = Vec::new();
        {
            let (rw, entered, w1_left) = (rw.clone(), entered.clone(), w1_left.clone());
            handles.push(spawn_named(
                "W1",
                Box::new(move || {
                    trace::label("start_write()");
                    rw.start_write();
                    entered.update(|e| e.push("W1"));
                    thread::sleep(Duration::from_millis(100));
                    trace::label("finish_write()");
                    rw.finish_write();
                    w1_left.update(|left| *left = true);
                }),
            ));
        }
        for (name, arrives) in [("R1", 10), ("W2", 20), ("R2", 100)] {
            let (rw, entered, w1_left) = (rw.clone(), entered.clone(), w1_left.clone());
            handles.push(spawn_named(
                name,
                Box::new(move || {
                    thread::sleep(Duration::from_millis(arrives));
                    if name == "W2" {
                        trace::label("start_write()");
                        rw.start_write();
                        entered.update(|e| e.push(name));
                        trace::label("finish_write()");
                        rw.finish_write();
                        return;
                    }
                    let late = w1_left.get();
                    trace::label("start_read()");
                    rw.start_read();
                    let before = entered.update(|e| {
                        e.push(name);
                        e.clone()
                    });
                    if late && !before.contains(&"W2") {
                        panic!(
                            "R2 started reading while W2 was waiting: R2 arrived after W1 had \
                             left, and W2 had been waiting since before that. W1's finish_write \
                             admitted the readers waiting then (R1), not a number of places any \
                             reader may take: a reader that comes later waits while a writer \
                             waits, even if it wakes up first (a spurious wake-up, or a \
                             notify_all). A late reader ahead of a waiting writer."
                        );
                    }
                    trace::label("finish_read()");
                    rw.finish_read();
                }),
            ));
        }
        join_all(handles);
    })
}

/// [`check_admitted_readers_before_a_late_writer`] under random and PCT schedules, and
/// every schedule within two delays, then [`check_a_late_reader_waits_behind_a_waiting_writer`]
/// the same way and under std's condvar contract; panics with the first failure.
#[allow(dead_code)] // busy_wait runs its own checks
pub fn admitted_readers_enter_before_a_late_writer<T: RwMonitor + 'static>(new: fn() -> T) {
    use interleave::explore::Strategy;
    for config in [
        Config::new().iterations(300),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        if let Err(failure) = check_admitted_readers_before_a_late_writer(new, config) {
            panic!("{failure}");
        }
    }
    use interleave::explore::CondvarSemantics;
    for config in [
        Config::new().iterations(300),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        Config::new()
            .iterations(1000)
            .condvar(CondvarSemantics::Std),
    ] {
        if let Err(failure) = check_a_late_reader_waits_behind_a_waiting_writer(new, config) {
            panic!("{failure}");
        }
    }
}
