//! Scenarios checked step by step against their stored table (the snapshot file), so that
//! a wrong solution is told at which step it first differs from the policy, and why (the
//! step's rule), instead of tripping over a later step: a scripted actor still blocked
//! in its previous call would otherwise stop the scenario with no explanation.

#![allow(dead_code)]

use std::fmt;
use std::rc::Rc;

use interleave::scenario::{Returned, Scenario, Table};

/// A value shown in a table as its `Debug` text.
struct Shown(String);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type CallFn<T> = Rc<dyn Fn(&T) -> Shown>;
type StateFn = Rc<dyn Fn(&[Returned]) -> String>;

struct Call<T> {
    actor: String,
    label: String,
    f: CallFn<T>,
    rule: Option<String>,
}

/// A scenario that can be run cut after any number of calls.
pub struct Script<T> {
    factory: Rc<dyn Fn() -> T>,
    calls: Vec<Call<T>>,
    state: Option<StateFn>,
    max_steps: u64,
}

impl<T: 'static> Script<T> {
    /// A script on the object made by `factory` (in the simulation, for each run).
    pub fn new(factory: impl Fn() -> T + 'static) -> Self {
        Script {
            factory: Rc::new(factory),
            calls: Vec::new(),
            state: None,
            max_steps: 100_000,
        }
    }

    /// Scripts the next call, as [`Scenario::call`].
    pub fn call<R: fmt::Debug + 'static>(
        mut self,
        actor: &str,
        label: &str,
        f: impl Fn(&T) -> R + 'static,
    ) -> Self {
        self.calls.push(Call {
            actor: actor.to_string(),
            label: label.to_string(),
            f: Rc::new(move |t| Shown(format!("{:?}", f(t)))),
            rule: None,
        });
        self
    }

    /// The policy's reason for the outcome of the call scripted just before.
    pub fn rule(mut self, why: &str) -> Self {
        let last = self.calls.last_mut().expect("a rule follows a call");
        last.rule = Some(why.to_string());
        self
    }

    /// The state column, as [`Scenario::state`].
    pub fn state(mut self, f: impl Fn(&[Returned]) -> String + 'static) -> Self {
        self.state = Some(Rc::new(f));
        self
    }

    /// The step budget, as [`Scenario::max_steps`].
    pub fn max_steps(mut self, n: u64) -> Self {
        self.max_steps = n;
        self
    }

    /// Runs the first `upto` calls.
    pub fn run_upto(&self, upto: usize) -> Table {
        let factory = self.factory.clone();
        let mut sc = Scenario::new(move || factory()).max_steps(self.max_steps);
        for c in self.calls.iter().take(upto) {
            let f = c.f.clone();
            sc = sc.call(&c.actor, &c.label, move |t: &T| f(t));
            if let Some(r) = &c.rule {
                sc = sc.rule(r);
            }
        }
        if let Some(s) = &self.state {
            let s = s.clone();
            sc = sc.state(move |done| s(done));
        }
        sc.run()
    }

    /// Runs every call.
    pub fn run(&self) -> Table {
        self.run_upto(self.calls.len())
    }

    /// Runs the script step by step against `stored` (the text of its snapshot file) and
    /// returns the whole table. Before each call of an actor that called before (and so
    /// could still be blocked), the steps so far are run and compared with the stored
    /// table; `explain` may give the cause of a difference in the topic's words (it sees
    /// each partial table and should check only the rows it has), otherwise the first
    /// differing step is shown with its rule.
    ///
    /// # Panics
    ///
    /// At the first step that differs from the stored table.
    pub fn check(&self, stored: &str, explain: impl Fn(&Table)) -> Table {
        let want = rows_of(stored_table(stored));
        let mut seen: Vec<&str> = Vec::new();
        let mut cuts: Vec<usize> = Vec::new();
        for (k, c) in self.calls.iter().enumerate() {
            if seen.contains(&c.actor.as_str()) && k > 0 {
                cuts.push(k);
            }
            seen.push(&c.actor);
        }
        cuts.push(self.calls.len());
        cuts.dedup();
        for cut in cuts {
            let table = self.run_upto(cut);
            explain(&table);
            self.compare(&table, &want, cut == self.calls.len());
        }
        self.run()
    }

    fn compare(&self, table: &Table, want: &[String], whole: bool) {
        let text = table.to_string();
        let mut got = rows_of(&text);
        if !whole {
            // A cut scenario ends with what is still blocked; the whole one goes on.
            got.retain(|r| !r.starts_with("end:"));
        }
        for (k, row) in got.iter().enumerate() {
            let expected = want.get(k).map(String::as_str).unwrap_or("(no such step)");
            if row != expected {
                let is_step = k < self.calls.len() && !row.starts_with("end:");
                let why = if is_step {
                    self.calls[k]
                        .rule
                        .as_deref()
                        .map(|r| format!("\nthe rule: {r}"))
                        .unwrap_or_default()
                } else {
                    String::new()
                };
                let what = if is_step {
                    format!(
                        "step {}, {} {}",
                        k + 1,
                        self.calls[k].actor,
                        self.calls[k].label
                    )
                } else {
                    "the end of the scenario".to_string()
                };
                panic!(
                    "at {what}, the table differs from what the policy gives:\n\
                     expected: {expected}\ngot:      {row}{why}\n\n{text}"
                );
            }
        }
        if whole && want.len() > got.len() {
            panic!(
                "at the end of the scenario, expected {}, but nothing is left blocked\n\n{text}",
                want[got.len()]
            );
        }
    }
}

/// The table of a snapshot file: the text after its header.
pub fn stored_table(snap: &str) -> &str {
    snap.splitn(3, "---\n").nth(2).unwrap_or(snap).trim_end()
}

/// The rows of a table's text (header and rule lines dropped), each cell trimmed, so that
/// tables whose columns have different widths compare.
fn rows_of(text: &str) -> Vec<String> {
    text.lines()
        .skip(2)
        .map(|l| {
            l.split(" | ")
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect()
}
