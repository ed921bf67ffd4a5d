//! Traces: what happened in one execution, step by step, and three ways to print it.
//!
//! Every facade operation in a simulation records an [`Event`]: the logical step, the
//! thread, the object, the operation and its outcome. Events marked `api` come from the
//! level of the topic (monitor operations, [`label`]s, scenario calls) and make the short
//! interleaving table; the others are primitive-level (lock, wait, notify, send) and make
//! the detailed trace.

use serde::Serialize;

/// One event of a trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// The scheduling step during which the event happened (1 is the first step).
    pub step: u64,
    /// The name of the thread that did it (`-` for the scheduler itself).
    pub thread: String,
    /// The name of the object involved, if any (`Mutex#1`, `busy`...).
    pub object: Option<String>,
    /// The operation (`lock`, `wait`, `signal`, `send`...).
    pub op: String,
    /// What came of it (`acquired`, `blocked`, `timed out`...), if worth saying.
    pub outcome: Option<String>,
    /// True for topic-level events (monitor operations, labels), false for primitives.
    pub api: bool,
}

impl Event {
    /// The event as a short phrase without the thread: `lock Mutex#1: blocked`.
    pub fn phrase(&self) -> String {
        let mut s = self.op.clone();
        if let Some(o) = &self.object {
            s.push(' ');
            s.push_str(o);
        }
        if let Some(out) = &self.outcome {
            s.push_str(": ");
            s.push_str(out);
        }
        s
    }

    /// The event on one line: `  12 P0  lock Mutex#1: blocked`.
    pub fn compact(&self) -> String {
        format!("{:>4} {:<6} {}", self.step, self.thread, self.phrase())
    }
}

/// The events of one execution.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Trace {
    /// Thread names in creation order (the columns of the timeline).
    pub threads: Vec<String>,
    /// Events in the order they happened.
    pub events: Vec<Event>,
}

impl Trace {
    /// Only the topic-level events (see [`Event::api`]).
    pub fn api_only(&self) -> Trace {
        Trace {
            threads: self.threads.clone(),
            events: self.events.iter().filter(|e| e.api).cloned().collect(),
        }
    }

    /// One line per event: step, thread, operation.
    pub fn compact(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            out.push_str(e.compact().trim_end());
            out.push('\n');
        }
        out
    }

    /// The timeline: one column per thread, one row per event, as Lincheck and OSTEP
    /// print interleavings. Threads with no event get no column.
    pub fn timeline(&self) -> String {
        let cols: Vec<&String> = self
            .threads
            .iter()
            .filter(|t| self.events.iter().any(|e| &e.thread == *t))
            .collect();
        let mut widths: Vec<usize> = cols.iter().map(|c| c.len()).collect();
        for e in &self.events {
            if let Some(i) = cols.iter().position(|c| **c == e.thread) {
                widths[i] = widths[i].max(e.phrase().len());
            }
        }
        let mut rows = Vec::new();
        let mut header = vec!["step".to_string()];
        header.extend(cols.iter().map(|c| c.to_string()));
        rows.push(header);
        for e in &self.events {
            let mut row = vec![e.step.to_string()];
            for c in &cols {
                row.push(if **c == e.thread {
                    e.phrase()
                } else {
                    String::new()
                });
            }
            if !cols.iter().any(|c| **c == e.thread) {
                row.push(format!("({} {})", e.thread, e.phrase()));
            }
            rows.push(row);
        }
        let mut w = vec![4usize];
        w.extend(widths);
        render_rows(&rows, &w)
    }

    /// The trace as JSON (for the book).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a trace serialises")
    }
}

/// Renders aligned rows separated by ` | `, trailing spaces trimmed, with a rule under
/// the header row.
pub(crate) fn render_rows(rows: &[Vec<String>], widths: &[usize]) -> String {
    let mut out = String::new();
    for (r, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str(" | ");
            }
            let w = widths.get(i).copied().unwrap_or(0);
            line.push_str(&format!("{cell:<w$}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
        if r == 0 {
            let total: usize = widths.iter().sum::<usize>() + 3 * widths.len().saturating_sub(1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
}

/// Records a topic-level event for the current simulated thread, such as
/// `label("arrive(North)")`. It is not a scheduling point. Outside a simulation it does
/// nothing.
///
/// # Examples
///
/// ```
/// interleave::trace::label("arrive(North)"); // no effect in real mode
/// ```
pub fn label(what: impl Into<String>) {
    if let Some(e) = crate::runtime::current()
        && e.me().is_some()
    {
        e.event(None, what.into(), None, true);
    }
}
