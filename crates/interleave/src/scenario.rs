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

use crate::runtime::execution::Limits;
use crate::runtime::{Execution, Installed, RunEnd};
use crate::scheduler::Canonical;
use crate::trace::render_rows;

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

/// The result of a scenario; `Display` gives the stable text snapshotted by insta.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    /// One row per scripted call.
    pub rows: Vec<Row>,
    /// Calls still blocked at the end, when nothing can move any more.
    pub blocked_at_end: Vec<String>,
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
        Ok(())
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
    /// # Panics
    ///
    /// If an actor is scripted while its previous call is still blocked, if a call
    /// panics (the report names the actor and the call), if the constructor blocks, or if
    /// the step budget is exceeded.
    pub fn run(self) -> Table {
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
            RunEnd::Stuck => panic!("scenario: the constructor blocked"),
            RunEnd::Failed => panic!("scenario: the constructor failed: {}", failure_text(&exec)),
        }
        let obj = slot.lock().take().expect("the constructor ran");
        let done: Arc<parking_lot::Mutex<Vec<Finished>>> = Default::default();
        let mut pending: Vec<usize> = Vec::new();
        let mut busy: HashMap<String, usize> = HashMap::new();
        let mut returned: Vec<Returned> = Vec::new();
        let mut table = Table {
            rows: Vec::new(),
            blocked_at_end: Vec::new(),
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
                panic!(
                    "scenario error at step {step}: {} is still blocked in {} (called at step {}), \
                     so it cannot call {} yet; script another actor or unblock it first\n\n{table}",
                    call.actor,
                    labels[j].1,
                    j + 1,
                    call.label
                );
            }
            busy.insert(call.actor.clone(), i);
            pending.push(i);
            let o = obj.clone();
            let d = done.clone();
            let f = call.f;
            let label = call.label.clone();
            exec.spawn(
                Some(call.actor.clone()),
                Box::new(move || {
                    crate::trace::label(label);
                    let v = f(&o);
                    d.lock().push((i, v));
                }),
            );
            let end = exec.run();
            if let RunEnd::Failed = end {
                panic!(
                    "scenario step {step} ({}): {}\n\n{table}",
                    show(i),
                    failure_text(&exec)
                );
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
            eprintln!("interleave: scenario trace:\n{}", exec.trace().timeline());
        }
        table
    }
}

fn failure_text(exec: &Execution) -> String {
    let f = exec.lock().failure.clone();
    // Only the end of the trace explains a failure; a busy-waiting call can leave
    // hundreds of thousands of events before it, which would bury the message.
    let mut trace = exec.trace();
    let skipped = trace
        .events
        .len()
        .saturating_sub(crate::report::DETAIL_LIMIT);
    trace.events.drain(..skipped);
    let skipped = if skipped > 0 {
        format!("({skipped} earlier events not shown)\n")
    } else {
        String::new()
    };
    match f {
        Some(f) => format!(
            "{}: {}\n\ndetailed trace:\n{skipped}{}",
            f.kind.headline(),
            f.message,
            trace.compact()
        ),
        None => "unknown failure".to_string(),
    }
}
