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

/// The environment variable that asks an exploration to write its failing schedule as JSON.
pub const EXPORT_VAR: &str = "INTERLEAVE_TRACE_JSON";

/// With `INTERLEAVE_TRACE_JSON=<file>` set, writes a failing schedule to `<file>` as JSON:
/// `kind` (the report's headline word), `message`, `strategy`, `seed`, `schedule`,
/// `replay`, the full `report` as a student reads it, and the `trace` ([`Trace::to_json`]'s
/// `threads` and `events`). The book's trace viewer is generated from these files
/// (`scripts/book-traces.py`). A later failure in the same process overwrites the file;
/// a file that cannot be written is reported on stderr and otherwise ignored, so that the
/// export never changes a test's verdict.
///
/// [`crate::explore::check`] exports the failures it returns; a test that then rewrites a
/// failure's diagnosis from its own record of the run exports it again, so that the file
/// says what the student reads.
pub fn export_failure(failure: &crate::report::Failure) {
    let Some(path) = std::env::var_os(EXPORT_VAR).filter(|p| !p.is_empty()) else {
        return;
    };
    let text = failure_json(failure);
    if let Err(e) = std::fs::write(&path, text) {
        eprintln!(
            "interleave: cannot write the failing schedule to {}={}: {e}",
            EXPORT_VAR,
            std::path::Path::new(&path).display()
        );
    }
}

/// The failing schedule as [`export_failure`] writes it.
fn failure_json(failure: &crate::report::Failure) -> String {
    let json = serde_json::json!({
        "kind": failure.kind.headline(),
        "message": failure.message,
        "strategy": failure.strategy,
        "seed": failure.seed,
        "schedule": failure.schedule,
        "replay": failure.replay_line(),
        "report": failure.to_string(),
        "trace": failure.trace,
    });
    serde_json::to_string_pretty(&json).expect("a failure serialises") + "\n"
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

/// The op of the event the panic hook records where a simulated thread panicked
/// (`panicked at src/lib.rs:3:5`); reports show the place once, not the event.
pub(crate) const PANICKED_AT: &str = "panicked at ";

/// How a report words events: a monitor's entry and exit say "monitor" (a tunnel's
/// monitor named `tunnel` is not the tunnel), without its name when the trace has only
/// one monitor; a panic is only marked (its message is the verdict, printed once).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Wording {
    /// The trace has at most one monitor: "enter monitor", not "enter monitor tunnel".
    one_monitor: bool,
}

fn is_monitor_event(e: &Event) -> bool {
    e.api && (e.op == "enter" || e.op == "exit") && e.object.is_some()
}

impl Wording {
    /// The wording for a report on `events`.
    pub(crate) fn of(events: &[Event]) -> Self {
        let mut monitors: Vec<&String> = Vec::new();
        for e in events.iter().filter(|e| is_monitor_event(e)) {
            if let Some(o) = &e.object
                && !monitors.contains(&o)
            {
                monitors.push(o);
            }
        }
        Wording {
            one_monitor: monitors.len() <= 1,
        }
    }

    /// The event as the report shows it.
    pub(crate) fn phrase(self, e: &Event) -> String {
        if e.op.starts_with("panics: ") {
            return "panics".to_string();
        }
        if is_monitor_event(e)
            && let Some(o) = &e.object
        {
            let mut s = if self.one_monitor {
                format!("{} monitor", e.op)
            } else {
                format!("{} monitor {o}", e.op)
            };
            if let Some(out) = &e.outcome {
                s.push_str(": ");
                s.push_str(out);
            }
            return s;
        }
        if !e.api
            && let (Some(o), Some(value)) = (&e.object, e.op.strip_prefix("store "))
        {
            return format!("store {value} in {o}");
        }
        if e.outcome.as_deref() == Some("()") {
            let mut e = e.clone();
            e.outcome = None;
            return e.phrase();
        }
        e.phrase()
    }
}

/// One line of a report's trace: an event, or a run of repeated events collapsed.
pub(crate) enum Line<'a> {
    Event(&'a Event),
    /// The same operations again and again (a spin): shown once, then summarised.
    Repeat {
        /// The threads that took part, in order of appearance.
        threads: Vec<String>,
        /// The objects they touched.
        objects: Vec<String>,
        /// The ops they did (when no object was touched).
        ops: Vec<String>,
        /// How many more times the shown cycle repeated.
        times: usize,
        /// The scheduling steps the repetitions cover.
        steps: (u64, u64),
    },
}

impl Line<'_> {
    /// The step the line starts at.
    pub(crate) fn step(&self) -> u64 {
        match self {
            Line::Event(e) => e.step,
            Line::Repeat { steps, .. } => steps.0,
        }
    }

    /// The thread the line belongs to (the first one for a repeat).
    pub(crate) fn thread(&self) -> &str {
        match self {
            Line::Event(e) => &e.thread,
            Line::Repeat { threads, .. } => &threads[0],
        }
    }

    /// The event's phrase, or `... R1 spun 9,980 more steps on `count``.
    pub(crate) fn summary(&self, wording: Wording) -> String {
        match self {
            Line::Event(e) => wording.phrase(e),
            Line::Repeat {
                threads,
                objects,
                ops,
                times,
                steps,
            } => {
                let who = match threads.as_slice() {
                    [one] => one.clone(),
                    [a, b] => format!("{a} and {b}"),
                    more => format!(
                        "{} and {}",
                        more[..more.len() - 1].join(", "),
                        more[more.len() - 1]
                    ),
                };
                let on = if objects.is_empty() {
                    format!(" ({})", ops.join(", "))
                } else {
                    let names: Vec<String> = objects.iter().map(|o| format!("`{o}`")).collect();
                    format!(" on {}", names.join(", "))
                };
                let n = steps.1.saturating_sub(steps.0) + 1;
                let again = if n == *times as u64 {
                    "the line above, again and again".to_string()
                } else {
                    format!(
                        "the lines above, {} more times",
                        crate::text::thousands(*times as u64)
                    )
                };
                format!(
                    "... {who} spun {} more steps{on} ({again})",
                    crate::text::thousands(n)
                )
            }
        }
    }
}

/// The events of a report: the panic hook's place markers dropped, and every run of at
/// least four repetitions of the same cycle of operations (up to six events long, by the
/// same threads on the same objects with the same outcomes) shown once and summarised.
pub(crate) fn collapse(events: &[Event]) -> Vec<Line<'_>> {
    let events: Vec<&Event> = events
        .iter()
        .filter(|e| !e.op.starts_with(PANICKED_AT))
        .collect();
    let same = |a: &Event, b: &Event| {
        a.thread == b.thread && a.op == b.op && a.object == b.object && a.outcome == b.outcome
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < events.len() {
        // The period whose repetitions cover the most events from here.
        let mut best: Option<(usize, usize)> = None;
        for p in 1..=6 {
            if i + 4 * p > events.len() {
                break;
            }
            let mut k = 1;
            while i + (k + 1) * p <= events.len()
                && (0..p).all(|j| same(events[i + j], events[i + k * p + j]))
            {
                k += 1;
            }
            if k >= 4 && best.is_none_or(|(bp, bk)| k * p > bp * bk) {
                best = Some((p, k));
            }
        }
        match best {
            None => {
                out.push(Line::Event(events[i]));
                i += 1;
            }
            Some((p, k)) => {
                let cycle = &events[i..i + p];
                out.extend(cycle.iter().map(|e| Line::Event(e)));
                let mut threads: Vec<String> = Vec::new();
                let mut objects: Vec<String> = Vec::new();
                let mut ops: Vec<String> = Vec::new();
                for e in cycle {
                    if !threads.contains(&e.thread) {
                        threads.push(e.thread.clone());
                    }
                    if let Some(o) = &e.object
                        && !objects.contains(o)
                    {
                        objects.push(o.clone());
                    }
                    if !ops.contains(&e.op) {
                        ops.push(e.op.clone());
                    }
                }
                let rest = &events[i + p..i + k * p];
                out.push(Line::Repeat {
                    threads,
                    objects,
                    ops,
                    times: k - 1,
                    steps: (rest[0].step, rest[rest.len() - 1].step),
                });
                i += k * p;
            }
        }
    }
    out
}

/// The last `limit` lines of a collapsed trace, one per line: step, thread, operation.
pub(crate) fn report_compact(events: &[Event], limit: usize) -> String {
    let wording = Wording::of(events);
    let lines = collapse(events);
    let skipped = lines.len().saturating_sub(limit);
    let mut out = String::new();
    if skipped > 0 {
        out.push_str(&format!(
            "({} earlier lines not shown)\n",
            crate::text::thousands(skipped as u64)
        ));
    }
    for l in &lines[skipped..] {
        let text = match l {
            Line::Event(e) => format!("{:>4} {:<6} {}", e.step, e.thread, wording.phrase(e)),
            Line::Repeat { .. } => format!("{:>4} {:<6} {}", "", "", l.summary(wording)),
        };
        for (i, part) in crate::text::wrap(text.trim_end(), crate::text::WIDTH)
            .into_iter()
            .enumerate()
        {
            if i > 0 {
                out.push_str("            ");
            }
            out.push_str(&part);
            out.push('\n');
        }
    }
    out
}

/// The last `limit` lines of a collapsed trace as a timeline (one column per thread),
/// fitted to the report's width; `None` when the threads are too many for columns.
pub(crate) fn report_timeline(trace: &Trace, limit: usize) -> Option<String> {
    let wording = Wording::of(&trace.events);
    // Lines of the scheduler itself (the clock) have no column: the detailed trace
    // shows them.
    let lines: Vec<Line<'_>> = collapse(&trace.events)
        .into_iter()
        .filter(|l| trace.threads.iter().any(|t| t == l.thread()))
        .collect();
    let skipped = lines.len().saturating_sub(limit);
    let lines = &lines[skipped..];
    let cols: Vec<&String> = trace
        .threads
        .iter()
        .filter(|t| lines.iter().any(|l| l.thread() == t.as_str()))
        .collect();
    if cols.is_empty() || 6 + cols.len() * 15 > crate::text::WIDTH {
        return None;
    }
    let mut header = vec!["step".to_string()];
    header.extend(cols.iter().map(|c| c.to_string()));
    let rows = lines
        .iter()
        .map(|l| {
            let mut row = vec![l.step().to_string()];
            row.extend(cols.iter().map(|c| {
                if l.thread() == c.as_str() {
                    l.summary(wording)
                } else {
                    String::new()
                }
            }));
            (String::new(), row)
        })
        .collect();
    let grid = crate::text::Grid {
        header,
        rows,
        fixed: vec![0],
    };
    let mut out = String::new();
    if skipped > 0 {
        out.push_str(&format!(
            "({} earlier rows not shown)\n",
            crate::text::thousands(skipped as u64)
        ));
    }
    out.push_str(&grid.render(crate::text::WIDTH));
    Some(out)
}

#[cfg(test)]
mod export_tests {
    use super::*;
    use crate::report::{Failure, FailureKind};

    #[test]
    fn a_failing_schedule_is_exported_with_its_events_and_report() {
        let failure = Failure {
            kind: FailureKind::Deadlock,
            message: "P0 waits for P1; P1 waits for P0: a cycle".to_string(),
            strategy: "canonical".to_string(),
            seed: 0,
            schedule: 1,
            trace: Trace {
                threads: vec!["main".into(), "P0".into()],
                events: vec![Event {
                    step: 3,
                    thread: "P0".into(),
                    object: Some("fork 1".into()),
                    op: "lock".into(),
                    outcome: Some("blocked".into()),
                    api: false,
                }],
            },
        };
        let v: serde_json::Value =
            serde_json::from_str(&failure_json(&failure)).expect("the export is JSON");
        assert_eq!(v["kind"], "deadlock");
        assert_eq!(v["message"], failure.message);
        assert_eq!(v["replay"], failure.replay_line());
        assert_eq!(v["report"], failure.to_string());
        assert_eq!(v["trace"]["threads"][1], "P0");
        assert_eq!(v["trace"]["events"][0]["object"], "fork 1");
        assert_eq!(v["trace"]["events"][0]["outcome"], "blocked");
    }
}
