//! Scenario tables and timelines, read back from the snapshot files the tests write.
//!
//! The thread topics' tests snapshot two kinds of table (insta files under
//! `crates/<topic>/tests/snapshots/`, named `<step>__<test>.snap`):
//!
//! - a **scenario table**, `step | call | returned | blocked [| state]`: one row per scripted
//!   call, then, if the script ends with calls still blocked, an `end: ...` line;
//! - a **timeline**, `step | T1 | T2 | ...`: one row per event, one column per thread.
//!
//! This crate reads them back into data, so that the book can draw them (swimlanes, the
//! step-by-step viewer) and `cargo course predict` can quiz a student on them, from the very
//! files the tests compare against: a picture or a quiz cannot drift from the tests.
//!
//! A scenario table is checked as it is read: every returned call must be one the script
//! made and that was still pending, and the blocked column must list exactly the calls
//! still pending. A table that breaks these rules is reported with its line, rather than
//! drawn wrong.
//!
//! ```
//! let snap = "---\nsource: t.rs\n---\n\
//!     step | call   | returned       | blocked\n\
//!     ---------------------------------------\n\
//!     1    | A wait() |              | A wait()\n\
//!     2    | B go()   | B go(), A wait() -> 1 |\n";
//! let table = scenario_tables::parse(&scenario_tables::read_snapshot(snap).body).unwrap();
//! let scenario_tables::Table::Scenario(s) = table else { panic!("a scenario") };
//! assert_eq!(s.steps[1].returned[1].value.as_deref(), Some("1"));
//! assert_eq!(s.actors, ["A", "B"]);
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// One scripted call: who made it and what it was (`N1` and `arrive(North)`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Call {
    /// The actor, the first word of the call (`N1`).
    pub actor: String,
    /// The rest (`arrive(North)`); empty when the call is a single word.
    pub what: String,
}

impl Call {
    /// Reads `N1 arrive(North)`: the actor is the first word.
    pub fn parse(text: &str) -> Call {
        let text = text.trim();
        match text.split_once(' ') {
            Some((actor, what)) => Call {
                actor: actor.to_string(),
                what: what.trim().to_string(),
            },
            None => Call {
                actor: text.to_string(),
                what: String::new(),
            },
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.what.is_empty() {
            f.write_str(&self.actor)
        } else {
            write!(f, "{} {}", self.actor, self.what)
        }
    }
}

/// A call that returned during a step, with the value it returned, if the table shows one
/// (`C recv() -> 3`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Return {
    /// The call that returned.
    pub call: Call,
    /// What it returned (`3`), if shown.
    pub value: Option<String>,
}

impl fmt::Display for Return {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{} -> {v}", self.call),
            None => write!(f, "{}", self.call),
        }
    }
}

/// One row of a scenario table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The step's number, from 1.
    pub number: u32,
    /// The call the script made at this step.
    pub call: Call,
    /// The calls that returned during the step, in the table's order (the step's own call
    /// first, then the released ones in script order).
    pub returned: Vec<Return>,
    /// The calls still blocked after the step, in the table's order.
    pub blocked: Vec<Call>,
    /// The state column, if the table has one.
    pub state: Option<String>,
}

impl Step {
    /// The calls that could have returned during this step: those blocked before it, then
    /// the step's own call (the choices `cargo course predict` offers).
    pub fn candidates<'a>(&'a self, before: &'a [Call]) -> Vec<&'a Call> {
        before.iter().chain(std::iter::once(&self.call)).collect()
    }
}

/// A scenario table: the script, and after each call which calls returned and which are
/// still blocked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Scenario {
    /// The actors in the order of their first call (the lanes of a swimlane).
    pub actors: Vec<String>,
    /// Whether the table has a state column.
    pub has_state: bool,
    /// The rows.
    pub steps: Vec<Step>,
    /// The `end: ...` line, without `end: `, if the script ended with calls still blocked.
    pub end: Option<String>,
}

impl Scenario {
    /// The calls blocked before step `index` (0-based): the blocked column of the row
    /// before, or nothing for the first row.
    pub fn blocked_before(&self, index: usize) -> &[Call] {
        match index.checked_sub(1) {
            Some(i) => &self.steps[i].blocked,
            None => &[],
        }
    }
}

/// One row of a timeline: at `step`, thread `thread` did `phrase`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineEvent {
    /// The scheduling step (several events may share one).
    pub step: u64,
    /// The thread's column.
    pub thread: String,
    /// What it did (`lock flag: acquired`, `panics: ...`).
    pub phrase: String,
}

/// A timeline: the events of one schedule, one column per thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timeline {
    /// The threads, in the order of the columns.
    pub threads: Vec<String>,
    /// The rows.
    pub events: Vec<TimelineEvent>,
}

/// A table read from a snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Table {
    /// `step | call | returned | blocked [| state]`.
    Scenario(Scenario),
    /// `step | <thread> | <thread> ...`.
    Timeline(Timeline),
}

/// Why a snapshot could not be read as a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The snapshot is not a table at all (a process topic's output, say).
    NotATable,
    /// It starts like a table but breaks its rules at `line` (1-based, in the body).
    Malformed {
        /// The line of the body where the problem is.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotATable => f.write_str("not a scenario table or a timeline"),
            Error::Malformed { line, message } => write!(f, "line {line}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// A snapshot file split into insta's header and the body the test wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The `source:` of the header (the test file), if any.
    pub source: Option<String>,
    /// The `expression:` of the header, if any.
    pub expression: Option<String>,
    /// The body: what the test snapshotted.
    pub body: String,
    /// The line of the file where the body starts (1-based): the book includes a snapshot
    /// from there (`{{#include file.snap:5:}}` for a four-line header).
    pub body_line: usize,
}

/// Splits a snapshot file into insta's header (`---` ... `---`) and the body. A file
/// without a header is all body.
pub fn read_snapshot(text: &str) -> Snapshot {
    let mut lines = text.lines();
    let mut snapshot = Snapshot {
        source: None,
        expression: None,
        body: text.to_string(),
        body_line: 1,
    };
    if lines.next() != Some("---") {
        return snapshot;
    }
    for (i, line) in lines.enumerate() {
        if line == "---" {
            let header_lines = i + 2;
            snapshot.body = text
                .lines()
                .skip(header_lines)
                .map(|l| format!("{l}\n"))
                .collect();
            snapshot.body_line = header_lines + 1;
            return snapshot;
        }
        if let Some(v) = line.strip_prefix("source:") {
            snapshot.source = Some(unquote(v.trim()));
        } else if let Some(v) = line.strip_prefix("expression:") {
            snapshot.expression = Some(unquote(v.trim()));
        }
    }
    snapshot
}

fn unquote(v: &str) -> String {
    v.strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(v)
        .replace("\\\"", "\"")
}

/// Reads a snapshot's body as a scenario table or a timeline.
///
/// # Errors
///
/// [`Error::NotATable`] when the body does not start with a table header, and
/// [`Error::Malformed`] when it does but a row breaks the table's rules.
pub fn parse(body: &str) -> Result<Table, Error> {
    let lines: Vec<&str> = body.lines().collect();
    let Some(header) = lines.first() else {
        return Err(Error::NotATable);
    };
    let columns: Vec<String> = header.split(" | ").map(|c| c.trim().to_string()).collect();
    if columns.len() < 2 || columns[0] != "step" {
        return Err(Error::NotATable);
    }
    if !lines
        .get(1)
        .is_some_and(|l| !l.is_empty() && l.chars().all(|c| c == '-'))
    {
        return Err(Error::NotATable);
    }
    let rows = &lines[2..];
    let scenario_columns = ["step", "call", "returned", "blocked"];
    if columns.len() >= 4 && columns[..4] == scenario_columns {
        let has_state = match columns.get(4).map(String::as_str) {
            None => false,
            Some("state") if columns.len() == 5 => true,
            Some(_) => {
                return Err(malformed(
                    1,
                    format!(
                        "a scenario table has the columns step, call, returned, blocked and \
                         optionally state; this one has {}",
                        columns.join(", ")
                    ),
                ));
            }
        };
        return parse_scenario(rows, has_state).map(Table::Scenario);
    }
    if columns.iter().skip(1).any(|c| c.is_empty() || c == "call") {
        return Err(Error::NotATable);
    }
    parse_timeline(rows, columns[1..].to_vec()).map(Table::Timeline)
}

fn malformed(line: usize, message: String) -> Error {
    Error::Malformed { line, message }
}

/// The cells of a row with `n` columns: separated by ` | `; trailing empty cells (which
/// the renderer trims away) come back empty, and the last column keeps any ` | ` of its own.
fn cells(line: &str, n: usize) -> Vec<String> {
    let padded = format!("{line} ");
    let mut parts: Vec<String> = padded
        .splitn(n, " | ")
        .map(|c| c.trim().to_string())
        .collect();
    while parts.len() < n {
        parts.push(String::new());
    }
    parts
}

/// A row of a scenario table before its lists are split (continuation lines merged).
struct RawRow {
    line: usize,
    cells: Vec<String>,
}

fn parse_scenario(rows: &[&str], has_state: bool) -> Result<Scenario, Error> {
    let n = if has_state { 5 } else { 4 };
    let mut raw: Vec<RawRow> = Vec::new();
    let mut end = None;
    for (i, line) in rows.iter().enumerate() {
        let line_no = i + 3;
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("end:") {
            end = Some(rest.trim().to_string());
            continue;
        }
        if end.is_some() {
            return Err(malformed(
                line_no,
                "a row after the `end:` line".to_string(),
            ));
        }
        let c = cells(line, n);
        if c[0].is_empty() {
            // A continuation line of a row wrapped to fit 100 columns.
            let Some(prev) = raw.last_mut() else {
                return Err(malformed(
                    line_no,
                    "a continuation line before the first row".to_string(),
                ));
            };
            for (p, extra) in prev.cells.iter_mut().zip(c).skip(1) {
                if !extra.is_empty() {
                    if !p.is_empty() {
                        p.push(' ');
                    }
                    p.push_str(&extra);
                }
            }
            continue;
        }
        raw.push(RawRow {
            line: line_no,
            cells: c,
        });
    }
    let mut actors: Vec<String> = Vec::new();
    for row in &raw {
        let actor = Call::parse(&row.cells[1]).actor;
        if !actors.contains(&actor) {
            actors.push(actor);
        }
    }
    let mut steps = Vec::new();
    let mut pending: Vec<Call> = Vec::new();
    for row in raw {
        let at = |message: String| malformed(row.line, message);
        let number: u32 = row.cells[0]
            .parse()
            .map_err(|_| at(format!("the step `{}` is not a number", row.cells[0])))?;
        if number as usize != steps.len() + 1 {
            return Err(at(format!(
                "step {number} follows step {}: steps count from 1, one per row",
                steps.len()
            )));
        }
        if row.cells[1].is_empty() {
            return Err(at(format!("step {number} has no call")));
        }
        let call = Call::parse(&row.cells[1]);
        if let Some(p) = pending.iter().find(|p| p.actor == call.actor) {
            return Err(at(format!(
                "{call} is scripted while {p} is still blocked: one call per actor at a time"
            )));
        }
        pending.push(call.clone());
        let mut returned = Vec::new();
        for entry in split_list(&row.cells[2], &actors) {
            let (text, value) = split_value(&entry);
            let ret = Call::parse(text);
            let Some(i) = pending.iter().position(|p| p.actor == ret.actor) else {
                return Err(at(format!(
                    "{ret} returned, but {} has no call pending",
                    ret.actor
                )));
            };
            if pending[i].what != ret.what {
                return Err(at(format!(
                    "{ret} returned, but {}'s pending call is {}",
                    ret.actor, pending[i]
                )));
            }
            pending.remove(i);
            returned.push(Return { call: ret, value });
        }
        let blocked: Vec<Call> = split_list(&row.cells[3], &actors)
            .iter()
            .map(|b| Call::parse(b))
            .collect();
        let mut expected = pending.clone();
        let mut listed = blocked.clone();
        let key = |c: &Call| c.to_string();
        expected.sort_by_key(key);
        listed.sort_by_key(key);
        if expected != listed {
            let show = |v: &[Call]| {
                if v.is_empty() {
                    "nothing".to_string()
                } else {
                    v.iter().map(Call::to_string).collect::<Vec<_>>().join(", ")
                }
            };
            return Err(at(format!(
                "the blocked column lists {}, but the calls not yet returned are {}",
                show(&blocked),
                show(&pending)
            )));
        }
        pending = blocked.clone();
        steps.push(Step {
            number,
            call,
            returned,
            blocked,
            state: has_state.then(|| row.cells[4].clone()),
        });
    }
    if steps.is_empty() {
        return Err(malformed(3, "a scenario table without rows".to_string()));
    }
    Ok(Scenario {
        actors,
        has_state,
        steps,
        end,
    })
}

/// Splits a list cell (`N2 depart(North), S1 arrive(South)`) at the `, ` that start a new
/// call: outside brackets and quotes, and followed by one of the actors and a space, so that
/// `M submit([7, 8]) -> [0, 1]` stays whole.
pub fn split_list(cell: &str, actors: &[String]) -> Vec<String> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Vec::new();
    }
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut start = 0;
    let bytes = cell.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if quoted {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' {
                quoted = false;
            }
        } else {
            match b {
                b'"' => quoted = true,
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth == 0 && bytes.get(i + 1) == Some(&b' ') => {
                    let rest = &cell[i + 2..];
                    if actors.iter().any(|a| {
                        rest.strip_prefix(a.as_str())
                            .is_some_and(|r| r.starts_with(' ') || r.is_empty())
                    }) {
                        items.push(cell[start..i].trim().to_string());
                        start = i + 2;
                        i += 1;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    items.push(cell[start..].trim().to_string());
    items
}

/// Splits `C recv() -> 3` into the call and its value at the first ` -> ` outside brackets
/// and quotes.
fn split_value(entry: &str) -> (&str, Option<String>) {
    let mut depth = 0i32;
    let mut quoted = false;
    let bytes = entry.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if quoted {
            if b == b'\\' {
                i += 1;
            } else if b == b'"' {
                quoted = false;
            }
        } else {
            match b {
                b'"' => quoted = true,
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b' ' if depth == 0 && entry[i..].starts_with(" -> ") => {
                    return (&entry[..i], Some(entry[i + 4..].trim().to_string()));
                }
                _ => {}
            }
        }
        i += 1;
    }
    (entry, None)
}

fn parse_timeline(rows: &[&str], threads: Vec<String>) -> Result<Timeline, Error> {
    let n = threads.len() + 1;
    let mut events = Vec::new();
    for (i, line) in rows.iter().enumerate() {
        let line_no = i + 3;
        if line.trim().is_empty() {
            continue;
        }
        // One more column than the threads: an event of a thread without a column,
        // written `(thread phrase)`.
        let c = cells(line, n + 1);
        let step: u64 = c[0]
            .parse()
            .map_err(|_| malformed(line_no, format!("the step `{}` is not a number", c[0])))?;
        let mut found = None;
        for (col, cell) in c.iter().enumerate().skip(1) {
            if cell.is_empty() {
                continue;
            }
            if found.is_some() {
                return Err(malformed(
                    line_no,
                    "a timeline row has one event, in one thread's column".to_string(),
                ));
            }
            found = Some(if col < n {
                (threads[col - 1].clone(), cell.clone())
            } else {
                let inner = cell
                    .strip_prefix('(')
                    .and_then(|c| c.strip_suffix(')'))
                    .unwrap_or(cell);
                let call = Call::parse(inner);
                (call.actor, call.what)
            });
        }
        let Some((thread, phrase)) = found else {
            return Err(malformed(
                line_no,
                "a timeline row without an event".to_string(),
            ));
        };
        events.push(TimelineEvent {
            step,
            thread,
            phrase,
        });
    }
    Ok(Timeline { threads, events })
}

/// The snapshot files of a step, `crates/<package>/tests/snapshots/<step>__*.snap`, sorted
/// by name.
pub fn step_snapshots(root: &Path, package: &str, step: &str) -> Vec<PathBuf> {
    let dir = root.join("crates").join(package).join("tests/snapshots");
    let prefix = format!("{step}__");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "snap")
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
        })
        .collect();
    files.sort();
    files
}

/// The test's name in words, from a snapshot's file name:
/// `basic__all_waiting_cars_enter.snap` gives `all waiting cars enter`.
pub fn title_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    let name = stem.split_once("__").map_or(stem, |(_, n)| n);
    name.replace('_', " ")
}

#[cfg(test)]
mod tests;
