//! Scenario tables (the snapshot tests): named actors call a shared object one scripted
//! call at a time; after each call the canonical scheduler runs until nothing can move.
//!
//! The table lists, per step, the call, which calls returned during that step (in the
//! order they returned), which are still blocked, and a state column computed by the
//! test from the calls that returned so far (never from the object's internals). Only
//! API-level calls appear, so every correct implementation of a policy produces the same
//! table, whatever locks or condition variables it uses.
//!
//! # Examples
//!
//! ```
//! use interleave::monitor::{Condition, Monitor, Semantics};
//! use interleave::scenario::Scenario;
//!
//! struct Gate { open: Monitor<bool>, opened: Condition }
//! impl Gate {
//!     fn new() -> Self {
//!         Gate { open: Monitor::new(false, Semantics::Mesa), opened: Condition::new() }
//!     }
//!     fn pass(&self) {
//!         let mut g = self.open.enter();
//!         while !*g { self.opened.wait(&mut g); }
//!     }
//!     fn open(&self) {
//!         let mut g = self.open.enter();
//!         *g = true;
//!         self.opened.broadcast(&mut g);
//!     }
//! }
//!
//! let table = Scenario::new(Gate::new)
//!     .call("A", "pass()", |g| g.pass())
//!     .call("B", "pass()", |g| g.pass())
//!     .call("K", "open()", |g| g.open())
//!     .state(|done| format!("{} passed", done.iter().filter(|c| c.call == "pass()").count()))
//!     .run();
//! assert_eq!(table.to_string(), "\
//! step | call     | returned                     | blocked            | state
//! ------------------------------------------------------------------------------
//! 1    | A pass() |                              | A pass()           | 0 passed
//! 2    | B pass() |                              | A pass(), B pass() | 0 passed
//! 3    | K open() | K open(), A pass(), B pass() |                    | 2 passed
//! ");
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::report::{FailureKind, Verdict};
use crate::runtime::execution::{Limits, Tid};
use crate::runtime::{Execution, Installed, RunEnd};
use crate::scheduler::Canonical;
use crate::trace::{Event, render_rows};

mod snapshot;

#[doc(hidden)]
pub use snapshot::{Outcome, Site, check_snapshot, function_name, snapshot_path};

/// A call that returned, as the state closure sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Returned {
    /// The step at which the call was scripted (1-based).
    pub called_at: usize,
    /// The step during which it returned.
    pub returned_at: usize,
    /// The actor (`N1`).
    pub actor: String,
    /// The call's label (`arrive(North)`).
    pub call: String,
    /// The returned value (`Debug`), or `None` for `()`.
    pub value: Option<String>,
}

impl Returned {
    fn describe(&self) -> String {
        match &self.value {
            Some(v) => format!("{} {} -> {v}", self.actor, self.call),
            None => format!("{} {}", self.actor, self.call),
        }
    }
}

type CallFn<T> = Box<dyn FnOnce(&T) -> Option<String>>;

struct Scripted<T> {
    actor: String,
    label: String,
    f: CallFn<T>,
    /// The policy's reason for this step's outcome, set by [`Scenario::rule`].
    rule: Option<String>,
}

/// A call index and its value, pushed by the call's thread when it returns.
type Finished = (usize, Option<String>);

type StateFn = Box<dyn Fn(&[Returned]) -> String>;

/// A script of calls by named actors against one shared object of type `T`.
pub struct Scenario<T> {
    factory: Box<dyn FnOnce() -> T>,
    calls: Vec<Scripted<T>>,
    state: Option<StateFn>,
    max_steps: u64,
    policy: Option<String>,
}

impl<T> fmt::Debug for Scenario<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scenario({} calls)", self.calls.len())
    }
}

/// One row of a scenario table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// The step number (1-based).
    pub step: usize,
    /// `actor call`.
    pub call: String,
    /// Calls that returned during this step, in the order they returned.
    pub returned: Vec<String>,
    /// Calls blocked after this step, in the order they were called.
    pub blocked: Vec<String>,
    /// The state column, if the scenario has a state closure.
    pub state: Option<String>,
}

/// The result of a scenario; `Display` gives the stable text snapshotted by insta, and
/// [`crate::assert_table!`] compares it with its snapshot and explains a difference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// One row per scripted call (fewer if the script stopped, see `stopped`).
    pub rows: Vec<Row>,
    /// Calls still blocked at the end, when nothing can move any more.
    pub blocked_at_end: Vec<String>,
    /// Why the script stopped before its end, if it did: an actor was scripted while its
    /// previous call was still blocked (`W1 is still blocked in start_write() (called at
    /// step 2), so it cannot call finish_write() at step 6`). The rows end before that step.
    pub stopped: Option<String>,
    /// What explains a difference from the expected table.
    evidence: Evidence,
}

/// What a table keeps to explain itself: the script with its rules, and what the
/// scheduler saw at each step.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Evidence {
    /// Every scripted call (`actor label`) in script order, with its rule.
    script: Vec<(String, Option<String>)>,
    /// The scenario's policy, for steps without a rule.
    policy: Option<String>,
    /// Per step run: how each call still blocked after the step waits (the scheduler's
    /// words: `N2 waits on Condition busy`).
    waits: Vec<Vec<(String, String)>>,
    /// Per step run: the trace events of the step.
    events: Vec<Vec<Event>>,
}

impl fmt::Display for Table {
    /// `{}` is the snapshot's text: every column as wide as its widest cell. `{:#}` fits
    /// the table in 100 columns (long cells wrapped), for a message a student reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            write!(f, "{}", snapshot::fitted(self))?;
            if !self.blocked_at_end.is_empty() {
                let end = format!(
                    "end: nothing can move; still blocked: {}",
                    self.blocked_at_end.join(", ")
                );
                write!(f, "{}", crate::text::labelled("", &end, crate::text::WIDTH))?;
            }
            if let Some(why) = &self.stopped {
                write!(
                    f,
                    "{}",
                    crate::text::labelled("stopped: ", why, crate::text::WIDTH)
                )?;
            }
            return Ok(());
        }
        let with_state = self.rows.iter().any(|r| r.state.is_some());
        let mut rows = vec![vec![
            "step".to_string(),
            "call".to_string(),
            "returned".to_string(),
            "blocked".to_string(),
        ]];
        if with_state {
            rows[0].push("state".to_string());
        }
        for r in &self.rows {
            let mut row = vec![
                r.step.to_string(),
                r.call.clone(),
                r.returned.join(", "),
                r.blocked.join(", "),
            ];
            if with_state {
                row.push(r.state.clone().unwrap_or_default());
            }
            rows.push(row);
        }
        // Every column is as wide as its widest cell (in characters, as `{:<w$}` pads),
        // so the table stays aligned however long a cell is.
        let cols = rows[0].len();
        let widths: Vec<usize> = (0..cols)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        write!(f, "{}", render_rows(&rows, &widths))?;
        if !self.blocked_at_end.is_empty() {
            writeln!(
                f,
                "end: nothing can move; still blocked: {}",
                self.blocked_at_end.join(", ")
            )?;
        }
        if let Some(why) = &self.stopped {
            writeln!(f, "stopped: {why}")?;
        }
        Ok(())
    }
}

impl Table {
    /// Compares the table with the `expected` one (the text of its snapshot) and, if they
    /// differ, explains how to the student: both tables interleaved, the first differing
    /// step, its rule, what the code did at that step, and the replay line.
    /// [`crate::assert_table!`] does this with the snapshot file.
    pub fn explain_difference(&self, expected: &str) -> Option<String> {
        let expected = expected.trim_end().replace("\r\n", "\n");
        (self.to_string().trim_end() != expected)
            .then(|| snapshot::explain(&expected, self, "the expected table"))
    }
}

impl<T: 'static> Scenario<T> {
    /// A scenario on the object built by `factory` (run inside the simulation, so the
    /// object's primitives are simulated).
    pub fn new(factory: impl FnOnce() -> T + 'static) -> Self {
        Scenario {
            factory: Box::new(factory),
            calls: Vec::new(),
            state: None,
            max_steps: 100_000,
            policy: None,
        }
    }

    /// Scripts the next call: `actor` calls `f` on the object, shown as `label`.
    pub fn call<R: fmt::Debug + 'static>(
        mut self,
        actor: &str,
        label: &str,
        f: impl FnOnce(&T) -> R + 'static,
    ) -> Self {
        self.calls.push(Scripted {
            actor: actor.to_string(),
            label: label.to_string(),
            f: Box::new(move |t| {
                let v = format!("{:?}", f(t));
                (v != "()").then_some(v)
            }),
            rule: None,
        });
        self
    }

    /// Attaches the policy's reason for the outcome of the call scripted just before, in
    /// the topic's words ("a reader waits while a writer waits"). When a student's table
    /// differs from the expected one at this step, the failure quotes it. Every step whose
    /// outcome the policy decides in a way a student could get wrong deserves one.
    ///
    /// # Panics
    ///
    /// If no call has been scripted yet.
    pub fn rule(mut self, why: &str) -> Self {
        let last = self
            .calls
            .last_mut()
            .expect("Scenario::rule explains the call scripted before it: script a call first");
        last.rule = Some(why.to_string());
        self
    }

    /// States the policy the whole scenario checks, in the topic's words ("a car waits
    /// while cars of the other direction are inside"). When a student's table differs from
    /// the expected one at a step that has no [`Scenario::rule`], the failure quotes it.
    pub fn policy(mut self, text: &str) -> Self {
        self.policy = Some(text.to_string());
        self
    }

    /// Sets the state column, computed from the calls that returned so far.
    pub fn state(mut self, f: impl Fn(&[Returned]) -> String + 'static) -> Self {
        self.state = Some(Box::new(f));
        self
    }

    /// Sets the step budget of the whole scenario (default 100 000).
    pub fn max_steps(mut self, n: u64) -> Self {
        self.max_steps = n;
        self
    }

    /// Runs the script and returns the table.
    ///
    /// If an actor is scripted while its previous call is still blocked, the script stops
    /// there: the table ends at the step before and says why in [`Table::stopped`] (the
    /// difference from the expected table is the student's evidence, see
    /// [`crate::assert_table!`]).
    ///
    /// # Panics
    ///
    /// With a report for the student if a call panics (naming the actor, the call and the
    /// place), if a call runs out of the step budget (naming what it spun on), or if the
    /// constructor blocks or fails.
    pub fn run(self) -> Table {
        crate::report::install_panic_hook();
        let exec = Execution::new(
            Box::new(Canonical),
            Limits {
                max_steps: self.max_steps,
                max_streak: self.max_steps,
            },
        );
        let _installed = Installed::new(&exec);
        let slot: Arc<parking_lot::Mutex<Option<Arc<T>>>> = Default::default();
        let s2 = slot.clone();
        let factory = self.factory;
        exec.spawn(
            Some("setup".into()),
            Box::new(move || {
                let obj = factory();
                *s2.lock() = Some(Arc::new(obj));
            }),
        );
        match exec.run() {
            RunEnd::Done => {}
            RunEnd::Stuck => {
                let why = exec.diagnose_stuck().message;
                let mut v = Verdict::new(format!(
                    "the object under test could not be created before the first step: its constructor (`new`) blocked ({why})"
                ));
                v.replay = scenario_replay();
                crate::report::fail(format!("{v}"));
            }
            RunEnd::Failed => {
                let (kind, message) = exec
                    .lock()
                    .failure
                    .clone()
                    .map(|f| (f.kind, f.message))
                    .unwrap_or((FailureKind::Panic, "unknown failure".into()));
                let trace = exec.trace();
                let what = match message.strip_prefix("thread setup panicked: ") {
                    Some(msg) => format!("its constructor (`new`) panicked: {msg}"),
                    None => crate::report::headline(kind, &message),
                };
                let mut v = Verdict::new(format!(
                    "the object under test could not be created before the first step: {what}"
                ));
                v.place = crate::report::panic_place(&trace, "setup");
                v.replay = scenario_replay();
                crate::report::fail(format!("{v}"));
            }
        }
        let obj = slot.lock().take().expect("the constructor ran");
        let done: Arc<parking_lot::Mutex<Vec<Finished>>> = Default::default();
        let mut pending: Vec<usize> = Vec::new();
        let mut busy: HashMap<String, usize> = HashMap::new();
        let mut returned: Vec<Returned> = Vec::new();
        let mut tids: Vec<Tid> = Vec::new();
        let mut table = Table {
            rows: Vec::new(),
            blocked_at_end: Vec::new(),
            stopped: None,
            evidence: Evidence {
                script: self
                    .calls
                    .iter()
                    .map(|c| (format!("{} {}", c.actor, c.label), c.rule.clone()))
                    .collect(),
                policy: self.policy.clone(),
                ..Evidence::default()
            },
        };
        let labels: Vec<(String, String)> = self
            .calls
            .iter()
            .map(|c| (c.actor.clone(), c.label.clone()))
            .collect();
        let show = |i: usize| format!("{} {}", labels[i].0, labels[i].1);
        for (i, call) in self.calls.into_iter().enumerate() {
            let step = i + 1;
            if let Some(&j) = busy.get(&call.actor) {
                table.stopped = Some(format!(
                    "{} is still blocked in {} (called at step {}), so it cannot call {} at \
                     step {step}",
                    call.actor,
                    labels[j].1,
                    j + 1,
                    call.label
                ));
                break;
            }
            busy.insert(call.actor.clone(), i);
            pending.push(i);
            let o = obj.clone();
            let d = done.clone();
            let f = call.f;
            let label = call.label.clone();
            let first_event = exec.lock().events.len();
            tids.push(exec.spawn(
                Some(call.actor.clone()),
                Box::new(move || {
                    crate::trace::label(label);
                    let v = f(&o);
                    d.lock().push((i, v));
                }),
            ));
            let end = exec.run();
            let step_events: Vec<Event> = {
                let st = exec.lock();
                st.events[first_event..]
                    .iter()
                    .map(|e| st.resolve(e))
                    .collect()
            };
            if let RunEnd::Failed = end {
                let report = step_failure(&exec, &table, step, &show(i), &step_events);
                crate::report::fail(report);
            }
            let mut row_returned = Vec::new();
            // Calls that returned during this step are listed with the step's own call
            // first, then in script order, never in the order they happened to return:
            // that order depends on the signal semantics (under Hoare a woken thread
            // returns before its signaller), and every correct solution must give the
            // same table.
            let mut finished: Vec<_> = done.lock().drain(..).collect();
            finished.sort_by_key(|(c, _)| (*c != i, *c));
            for (c, v) in finished {
                pending.retain(|&p| p != c);
                busy.remove(&labels[c].0);
                let r = Returned {
                    called_at: c + 1,
                    returned_at: step,
                    actor: labels[c].0.clone(),
                    call: labels[c].1.clone(),
                    value: v,
                };
                row_returned.push(r.describe());
                returned.push(r);
            }
            let waits = {
                let st = exec.lock();
                pending
                    .iter()
                    .map(|&p| (show(p), st.describe_wait(tids[p]).0))
                    .collect()
            };
            table.evidence.waits.push(waits);
            table.evidence.events.push(step_events);
            table.rows.push(Row {
                step,
                call: show(i),
                returned: row_returned,
                blocked: pending.iter().map(|&p| show(p)).collect(),
                state: self.state.as_ref().map(|s| s(&returned)),
            });
        }
        table.blocked_at_end = pending.iter().map(|&p| show(p)).collect();
        if std::env::var("INTERLEAVE_TRACE").is_ok_and(|v| v == "1") {
            let trace = exec.trace();
            let text = crate::trace::report_timeline(&trace, usize::MAX)
                .unwrap_or_else(|| crate::trace::report_compact(&trace.events, usize::MAX));
            eprintln!("interleave: scenario trace:\n{text}");
        }
        table
    }
}

/// The report of a step whose call failed (panicked, spun out of the step budget): the
/// table up to the step, what the step did, and the verdict.
fn step_failure(
    exec: &Execution,
    table: &Table,
    step: usize,
    call: &str,
    events: &[Event],
) -> String {
    let (kind, message) = exec
        .lock()
        .failure
        .clone()
        .map(|f| (f.kind, f.message))
        .unwrap_or((FailureKind::Panic, "unknown failure".into()));
    let mut out = String::new();
    if !table.rows.is_empty() {
        out.push_str(&format!(
            "your run up to step {}:\n{}\n",
            step - 1,
            snapshot::fitted(table)
        ));
    }
    out.push_str(&format!(
        "what your code did at step {step} ({call}):\n{}",
        crate::trace::report_compact(events, 40)
    ));
    let trace = crate::trace::Trace {
        threads: Vec::new(),
        events: events.to_vec(),
    };
    let actor = call.split(' ').next().unwrap_or(call);
    let mut v = match kind {
        FailureKind::Panic => {
            let what = message.strip_prefix("thread ").unwrap_or(&message);
            let thread = what.split(' ').next().unwrap_or("");
            let place = crate::report::panic_place(&trace, thread);
            let check = place
                .as_deref()
                .and_then(|place| crate::report::failed_check(&message, place));
            let mut v = match check {
                // A check of the step's tests failed in that thread: its words alone.
                Some(check) if thread == actor => {
                    Verdict::new(format!("at step {step}, {call}: {check}"))
                }
                Some(check) => Verdict::new(format!("at step {step} ({call}), {check}")),
                None if thread == actor => {
                    let msg = what
                        .split_once("panicked: ")
                        .map(|(_, m)| m)
                        .unwrap_or(what);
                    Verdict::new(format!("at step {step}, {call} panicked: {msg}"))
                }
                None => Verdict::new(format!("at step {step} ({call}), {what}")),
            };
            v.place = place;
            v
        }
        FailureKind::Budget => {
            // When another thread is the one that spins (a philosopher while the table's
            // host waits for a meal to end), the spinner leads: it is the cause.
            let spinner = message
                .split_once("; at the end, ")
                .map(|(_, rest)| rest)
                .filter(|rest| !rest.starts_with(&format!("{actor} ")));
            let mut v = match spinner {
                Some(rest) => Verdict::new(format!("at step {step} ({call}), {rest}")),
                None => Verdict::new(format!(
                    "at step {step}, {call} never returned and never blocked: {message}"
                )),
            };
            if message.contains("busy-wait") {
                v.helps.push(crate::report::busy_wait_help(&message, true));
            }
            v
        }
        _ => Verdict::new(format!(
            "at step {step} ({call}), {}",
            crate::report::headline(kind, &message)
        )),
    };
    v.replay = scenario_replay();
    out.push('\n');
    out.push_str(&v.to_string());
    out
}

/// Panics with a report for the student (used by [`crate::assert_table!`]).
#[doc(hidden)]
pub fn fail(report: String) -> ! {
    crate::report::fail(report)
}

/// The replay line of a scenario: scenarios always run the same schedule, so the test
/// itself replays it; the trace shows every step.
pub(crate) fn scenario_replay() -> String {
    if let Ok(step) = std::env::var("COURSE_STEP")
        && !step.is_empty()
    {
        return format!("replay: just trace {step}");
    }
    crate::report::shell_lines(&format!(
        "replay: INTERLEAVE_TRACE=1 {} --nocapture",
        crate::report::cargo_test_command()
    ))
}
