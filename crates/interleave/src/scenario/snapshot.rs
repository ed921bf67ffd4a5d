//! The snapshot assertion of scenario tables, [`crate::assert_table!`]: it finds the
//! snapshot file as insta does, compares, and explains a difference to the student: the
//! expected table and theirs interleaved, the first differing step marked, the rule of
//! that step, and what their code did there. Writing snapshots stays insta's job.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{Row, Table};
use crate::report::Verdict;
use crate::text::{Grid, WIDTH};

/// Where an assertion stands in the test (captured by the macro).
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Site {
    /// `file!()`: relative to the workspace root.
    pub file: &'static str,
    /// `module_path!()`.
    pub module_path: &'static str,
    /// The test function's name, from [`function_name`].
    pub function: &'static str,
    /// `env!("CARGO_MANIFEST_DIR")` of the test's package.
    pub manifest_dir: &'static str,
}

/// What the assertion does next.
#[doc(hidden)]
#[derive(Debug)]
pub enum Outcome {
    /// The table is its snapshot.
    Pass,
    /// Let insta handle it (no snapshot yet, or a maintainer asked for an update): the
    /// snapshot's name, as insta would pick it.
    Delegate(String),
    /// The table differs: the report for the student.
    Fail(String),
}

/// The function's name from the type name of a function item defined inside it
/// (`basic::the_test::f`), closures skipped, as insta names snapshots.
#[doc(hidden)]
pub fn function_name(type_name: &'static str) -> &'static str {
    let mut name = type_name.strip_suffix("::f").unwrap_or(type_name);
    while let Some(rest) = name.strip_suffix("::{{closure}}") {
        name = rest;
    }
    name
}

/// The snapshot's name as insta would choose it: the function's last segment without a
/// `test_` prefix, then `-2`, `-3`... for later assertions in the same function.
fn snapshot_name(site: &Site) -> String {
    static COUNTERS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);
    let last = site.function.rsplit("::").next().unwrap_or(site.function);
    let name = last.strip_prefix("test_").unwrap_or(last);
    let key = format!("{}::{name}", site.module_path.replace("::", "__"));
    let mut counters = COUNTERS.lock().unwrap_or_else(|e| e.into_inner());
    let n = counters
        .get_or_insert_with(HashMap::new)
        .entry(key)
        .or_insert(0);
    *n += 1;
    if *n == 1 {
        name.to_string()
    } else {
        format!("{name}-{n}")
    }
}

/// The file of the first snapshot taken at `site` (for tests of the assertion itself).
#[doc(hidden)]
pub fn snapshot_path(site: &Site) -> PathBuf {
    let last = site.function.rsplit("::").next().unwrap_or(site.function);
    snapshot_file(site, last.strip_prefix("test_").unwrap_or(last))
}

/// The snapshot file: `snapshots/<module path>__<name>.snap` next to the test file.
fn snapshot_file(site: &Site, name: &str) -> PathBuf {
    let manifest = Path::new(site.manifest_dir);
    let root = manifest
        .ancestors()
        .find(|a| a.join(site.file).exists())
        .unwrap_or(manifest);
    let dir = root
        .join(site.file)
        .parent()
        .map(|p| p.join("snapshots"))
        .unwrap_or_else(|| PathBuf::from("snapshots"));
    dir.join(format!(
        "{}__{}.snap",
        site.module_path.replace("::", "__"),
        name.replace(['/', '\\'], "__")
    ))
}

/// The contents of a `.snap` file after its header, normalised as insta compares them.
fn snapshot_contents(file: &str) -> String {
    let mut rest = file;
    if let Some(after) = rest.strip_prefix("---\n") {
        rest = match after.find("\n---\n") {
            Some(i) => &after[i + 5..],
            None => after,
        };
    }
    rest.trim_end().replace("\r\n", "\n")
}

/// A maintainer asked insta to write snapshots.
fn update_requested() -> bool {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    matches!(
        var("INSTA_UPDATE").as_deref(),
        Some("always" | "1" | "new" | "unseen" | "force")
    ) || var("INSTA_FORCE_PASS").is_some_and(|v| v != "0")
        || var("INSTA_CARGO_INSTA").is_some()
}

/// Compares `table` with its snapshot.
#[doc(hidden)]
pub fn check_snapshot(table: &Table, site: &Site) -> Outcome {
    let name = snapshot_name(site);
    let file = snapshot_file(site, &name);
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Outcome::Delegate(name);
    };
    let expected = snapshot_contents(&text);
    let actual = table.to_string();
    let force = std::env::var("INSTA_UPDATE").is_ok_and(|v| v == "force");
    if expected == actual.trim_end().replace("\r\n", "\n") && !force {
        return Outcome::Pass;
    }
    if update_requested() {
        return Outcome::Delegate(name);
    }
    // The snapshot as the student finds it from the package's directory.
    let shown = file
        .strip_prefix(site.manifest_dir)
        .unwrap_or(&file)
        .display()
        .to_string();
    Outcome::Fail(explain(&expected, table, &shown))
}

/// A table read back from its text: rows of cells (step, call, returned, blocked and
/// maybe state), and the `end:` line.
#[derive(Debug)]
struct Parsed {
    rows: Vec<Vec<String>>,
    end: Vec<String>,
}

/// Reads a table as `Table`'s `Display` writes it: the column boundaries are where the
/// header has ` | ` (every line is padded alike), so a cell may contain anything.
fn parse(text: &str) -> Parsed {
    let mut lines = text.lines();
    let header: Vec<char> = lines.next().unwrap_or("").chars().collect();
    let mut bounds = vec![0];
    let mut i = 0;
    while i + 3 <= header.len() {
        if header[i..i + 3] == [' ', '|', ' '] {
            bounds.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let _rule = lines.next();
    let mut rows = Vec::new();
    let mut end = Vec::new();
    for line in lines {
        if let Some(rest) = line.strip_prefix("end: nothing can move; still blocked: ") {
            end = rest.split(", ").map(str::to_string).collect();
            continue;
        }
        let chars: Vec<char> = line.chars().collect();
        let cells = bounds
            .iter()
            .enumerate()
            .map(|(c, &start)| {
                let stop = bounds.get(c + 1).map_or(chars.len(), |&b| b - 3);
                let (a, b) = (
                    start.min(chars.len()),
                    stop.min(chars.len()).max(start.min(chars.len())),
                );
                chars[a..b].iter().collect::<String>().trim().to_string()
            })
            .collect();
        rows.push(cells);
    }
    Parsed { rows, end }
}

/// Splits a `returned` or `blocked` cell into its calls, knowing the script's calls (a
/// label may contain `, `): an item starts with a scripted `actor call` at the start of
/// the cell or after `, `.
fn items(cell: &str, calls: &[String]) -> Vec<String> {
    if cell.is_empty() {
        return Vec::new();
    }
    let starts_call = |at: usize| {
        calls.iter().any(|c| {
            cell[at..].starts_with(c.as_str())
                && matches!(cell[at + c.len()..].chars().next(), None | Some(' ' | ','))
        })
    };
    if !starts_call(0) {
        return cell.split(", ").map(str::to_string).collect();
    }
    let mut starts = vec![0];
    for (i, _) in cell.match_indices(", ") {
        if starts_call(i + 2) {
            starts.push(i + 2);
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &s)| {
            let e = starts.get(k + 1).map_or(cell.len(), |&n| n - 2);
            cell[s..e].to_string()
        })
        .collect()
}

/// An item's call (`C recv()`) and value (`Some(1)`), if it shows one.
fn split_value<'a>(item: &'a str, calls: &[String]) -> (&'a str, Option<&'a str>) {
    let call = calls
        .iter()
        .filter(|c| item.starts_with(c.as_str()))
        .max_by_key(|c| c.len());
    match call {
        Some(c) => {
            let rest = &item[c.len()..];
            (&item[..c.len()], rest.strip_prefix(" -> "))
        }
        None => match item.split_once(" -> ") {
            Some((c, v)) => (c, Some(v)),
            None => (item, None),
        },
    }
}

fn cells(r: &Row, with_state: bool) -> Vec<String> {
    let mut v = vec![
        r.step.to_string(),
        r.call.clone(),
        r.returned.join(", "),
        r.blocked.join(", "),
    ];
    if with_state {
        v.push(r.state.clone().unwrap_or_default());
    }
    v
}

fn header(with_state: bool) -> Vec<String> {
    let mut h: Vec<String> = ["step", "call", "returned", "blocked"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if with_state {
        h.push("state".into());
    }
    h
}

/// The table fitted to the report's width (long cells wrapped).
pub(crate) fn fitted(table: &Table) -> String {
    let with_state = table.rows.iter().any(|r| r.state.is_some());
    let grid = Grid {
        header: header(with_state),
        rows: table
            .rows
            .iter()
            .map(|r| (String::new(), cells(r, with_state)))
            .collect(),
        fixed: vec![0],
    };
    grid.render(WIDTH)
}

/// `A`, `A and B`, `A, B and C`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The report of a table that differs from the expected one.
pub(super) fn explain(expected_text: &str, table: &Table, snapshot: &str) -> String {
    let expected = parse(expected_text);
    let ev = &table.evidence;
    let calls: Vec<String> = ev.script.iter().map(|(c, _)| c.clone()).collect();
    let with_state = expected.rows.first().is_some_and(|r| r.len() > 4)
        || table.rows.iter().any(|r| r.state.is_some());
    let actual: Vec<Vec<String>> = table.rows.iter().map(|r| cells(r, with_state)).collect();
    let norm = |r: &Vec<String>| -> Vec<String> {
        let mut r = r.clone();
        r.resize(if with_state { 5 } else { 4 }, String::new());
        r
    };
    let n = expected.rows.len().max(actual.len());
    let first = (0..n).find(|&i| expected.rows.get(i).map(norm) != actual.get(i).map(norm));

    // The evidence: both tables interleaved, each differing row twice.
    let mut rows = Vec::new();
    for i in 0..n {
        let (e, a) = (expected.rows.get(i).map(norm), actual.get(i).map(norm));
        match (e, a) {
            (Some(e), Some(a)) if e == a => rows.push(("  ".to_string(), e)),
            (e, a) => {
                if let Some(e) = e {
                    rows.push(("- ".to_string(), e));
                }
                match a {
                    Some(a) => rows.push(("+ ".to_string(), a)),
                    None if i == actual.len() && table.stopped.is_some() => {
                        let mut stop = vec![String::new(); if with_state { 5 } else { 4 }];
                        stop[0] = (i + 1).to_string();
                        stop[1] = expected.rows[i].get(1).cloned().unwrap_or_default();
                        stop[2] = "(not called: your run stopped)".to_string();
                        rows.push(("+ ".to_string(), stop));
                    }
                    None => {}
                }
            }
        }
    }
    let grid = Grid {
        header: header(with_state),
        rows,
        fixed: vec![0],
    };
    let mut out = if crate::text::width(snapshot) + 10 > WIDTH {
        format!("expected:\n  {snapshot}\n")
    } else {
        format!("expected: {snapshot}\n")
    };
    out.push_str(
        "the expected table and your run, step by step (- expected, + yours, where they \
         differ):\n",
    );
    out.push_str(&grid.render(WIDTH));
    let end_actual = &table.blocked_at_end;
    if *end_actual != expected.end {
        let show = |v: &[String]| {
            if v.is_empty() {
                "nothing".to_string()
            } else {
                v.join(", ")
            }
        };
        out.push_str(&format!(
            "- end: still blocked: {}\n+ end: still blocked: {}\n",
            show(&expected.end),
            show(end_actual)
        ));
    }

    let mut v = Verdict::new(String::new());
    v.replay = super::scenario_replay();
    match first {
        Some(i) => {
            let step = i + 1;
            let e = expected.rows.get(i).map(norm);
            let a = actual.get(i).map(norm);
            v.headline = headline(step, e.as_deref(), a.as_deref(), &expected, table, &calls);
            v.place = Some(format!("step {step} of the table above"));
            if let Some(why) = ev
                .script
                .get(i)
                .and_then(|(_, r)| r.clone())
                .or_else(|| ev.policy.clone())
            {
                v.notes.push(why);
            }
            if let Some(waits) = ev.waits.get(i) {
                // How the calls that should have returned wait in the student's run.
                let expected_back: Vec<String> = e
                    .as_ref()
                    .map(|e| items(&e[2], &calls))
                    .unwrap_or_default()
                    .iter()
                    .map(|it| split_value(it, &calls).0.to_string())
                    .collect();
                for (call, how) in waits {
                    if expected_back.contains(call) {
                        v.notes.push(format!("in your run, {how}"));
                    }
                }
            }
            if let Some(events) = ev.events.get(i)
                && !events.is_empty()
            {
                out.push_str(&format!(
                    "\nwhat your code did at step {step}:\n{}",
                    crate::trace::report_compact(events, 30)
                ));
            }
        }
        None => {
            v.headline = "the table differs from the expected one only at its end".into();
            v.place = Some("the end of the table above".into());
        }
    }
    if let Some(why) = &table.stopped {
        // Every call left blocked and no thread that can run: the run is in a deadlock,
        // whatever the script would do next.
        let stuck = match table.blocked_at_end.as_slice() {
            [] => String::new(),
            [one] => format!("; and nothing can move any more: {one} is blocked for good"),
            calls => format!(
                "; and nothing can move any more: {} are all blocked (a deadlock)",
                calls.join(", ")
            ),
        };
        v.notes
            .push(format!("your run stopped early: {why}{stuck}"));
    }
    out.push('\n');
    out.push_str(&v.to_string());
    out
}

/// The headline of the first differing step: who returned where it should wait, who
/// stayed blocked where it should return, which value differs.
fn headline(
    step: usize,
    e: Option<&[String]>,
    a: Option<&[String]>,
    expected: &Parsed,
    table: &Table,
    calls: &[String],
) -> String {
    let (e, a) = match (e, a) {
        (Some(e), Some(a)) => (e, a),
        (Some(e), None) => {
            return match &table.stopped {
                Some(why) => format!("your run stopped before step {step} ({}): {why}", e[1]),
                None => format!("your run has no step {step} ({})", e[1]),
            };
        }
        (None, Some(a)) => {
            return format!(
                "the expected table has no step {step} ({}): the test's script no longer \
                 matches its snapshot",
                a[1]
            );
        }
        (None, None) => return String::new(),
    };
    if e[1] != a[1] {
        return format!(
            "step {step} calls {}, but the expected table has {} there: the test's script no \
             longer matches its snapshot",
            a[1], e[1]
        );
    }
    let ret_e: Vec<String> = items(&e[2], calls);
    let ret_a: Vec<String> = items(&a[2], calls);
    let blk_e: Vec<String> = items(&e[3], calls);
    let blk_a: Vec<String> = items(&a[3], calls);
    let key = |it: &String| split_value(it, calls).0.to_string();
    let keys_e: Vec<String> = ret_e.iter().map(key).collect();
    let keys_a: Vec<String> = ret_a.iter().map(key).collect();
    let mut sentences = Vec::new();

    // Returned in the student's run, blocked in the expected table.
    let early: Vec<String> = keys_a
        .iter()
        .filter(|k| !keys_e.contains(k) && blk_e.contains(k))
        .cloned()
        .collect();
    if !early.is_empty() {
        // Who was already waiting when the step began (the rows before are the same), and
        // in the expected table got in no later than the early ones: a waiter that goes
        // after them anyway (R4, behind W2) is not who they overtook.
        let returns = |k: &String| {
            returns_at(expected, k, calls, step).and_then(|(s, _)| s.parse::<usize>().ok())
        };
        let latest = early.iter().filter_map(returns).max();
        let before: Vec<String> = if step >= 2 {
            expected
                .rows
                .get(step - 2)
                .map(|r| items(&r[3], calls))
                .unwrap_or_default()
                .into_iter()
                .filter(|c| !early.contains(c))
                .filter(|c| match (returns(c), latest) {
                    (Some(theirs), Some(latest)) => theirs <= latest,
                    _ => true,
                })
                .collect()
        } else {
            Vec::new()
        };
        let waiting = if before.is_empty() {
            String::new()
        } else {
            format!(
                " while {} {} waiting",
                list(&before),
                if before.len() == 1 { "was" } else { "were" }
            )
        };
        let until: Vec<String> = early
            .iter()
            .map(|k| match returns_at(expected, k, calls, step) {
                Some((s, call)) => format!("until step {s} ({call})"),
                None => "(in the expected table it never returns)".to_string(),
            })
            .collect();
        let (verb, pron) = if early.len() == 1 {
            ("returned", "it")
        } else {
            ("returned", "they")
        };
        let when = if until.iter().all(|u| *u == until[0]) {
            until[0].clone()
        } else {
            until.join(", ")
        };
        sentences.push(format!(
            "{} {verb}{waiting}; {pron} should have waited {when}",
            list(&early)
        ));
    }
    // Blocked in the student's run, returned in the expected table.
    let late: Vec<String> = keys_e
        .iter()
        .filter(|k| !keys_a.contains(k) && blk_a.contains(k))
        .cloned()
        .collect();
    if !late.is_empty() {
        let (verb, pron) = if late.len() == 1 {
            ("is still blocked", "it")
        } else {
            ("are still blocked", "they")
        };
        let cause = if late.iter().any(|k| *k == a[1]) {
            String::new()
        } else {
            format!(" when {} was called", a[1])
        };
        sentences.push(format!(
            "{} {verb}; {pron} should have returned{cause}",
            list(&late)
        ));
    }
    // Returned in both, with different values.
    for (ie, k) in keys_e.iter().enumerate() {
        if let Some(ia) = keys_a.iter().position(|x| x == k) {
            let ve = split_value(&ret_e[ie], calls).1;
            let va = split_value(&ret_a[ia], calls).1;
            if ve != va {
                sentences.push(format!(
                    "{k} returned {}; it should have returned {}",
                    va.unwrap_or("()"),
                    ve.unwrap_or("()")
                ));
            }
        }
    }
    if sentences.is_empty() {
        if e[2] == a[2] && e[3] == a[3] {
            let state = |r: &[String]| r.get(4).cloned().unwrap_or_default();
            sentences.push(format!(
                "the state is `{}`; it should be `{}`",
                state(a),
                state(e)
            ));
        } else {
            sentences.push(format!(
                "returned: {}, blocked: {}; expected returned: {}, blocked: {}",
                or_none(&a[2]),
                or_none(&a[3]),
                or_none(&e[2]),
                or_none(&e[3])
            ));
        }
    }
    format!("at step {step}, {}", sentences.join("; "))
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "none" } else { s }
}

/// The step at which `call` returns in the expected table, and that step's call.
/// The first row, from step `from` on, where `call` returns in the expected table: its
/// step and the call made there. A call made again later (`P2 pick_up_forks(2)` at steps 3
/// and 7) has the same text, so the rows before `from` belong to an earlier one.
fn returns_at(
    expected: &Parsed,
    call: &str,
    calls: &[String],
    from: usize,
) -> Option<(String, String)> {
    expected
        .rows
        .iter()
        .skip(from.saturating_sub(1))
        .find_map(|r| {
            items(r.get(2)?, calls)
                .iter()
                .any(|it| split_value(it, calls).0 == call)
                .then(|| (r[0].clone(), r[1].clone()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_made_again_returns_at_a_row_after_its_own_step() {
        let expected = Parsed {
            rows: [
                ["1", "P2 eat()", "P2 eat()", ""],
                ["2", "P1 eat()", "", "P1 eat()"],
                ["3", "P2 eat()", "", "P1 eat(), P2 eat()"],
                ["4", "P1 done()", "P1 done(), P2 eat()", ""],
            ]
            .iter()
            .map(|r| r.iter().map(|c| (*c).to_owned()).collect())
            .collect(),
            end: Vec::new(),
        };
        let calls: Vec<String> = ["P2 eat()", "P1 eat()", "P1 done()"]
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
        assert_eq!(
            returns_at(&expected, "P2 eat()", &calls, 3),
            Some(("4".to_owned(), "P1 done()".to_owned()))
        );
        assert_eq!(
            returns_at(&expected, "P2 eat()", &calls, 1),
            Some(("1".to_owned(), "P2 eat()".to_owned()))
        );
    }

    #[test]
    fn function_names_lose_the_helper_and_closures() {
        assert_eq!(function_name("basic::the_test::f"), "basic::the_test");
        assert_eq!(
            function_name("basic::the_test::{{closure}}::{{closure}}::f"),
            "basic::the_test"
        );
    }

    #[test]
    fn snapshot_contents_skip_the_header() {
        let file =
            "---\nsource: a.rs\nexpression: table.to_string()\n---\nstep | call\n----\n1    | x\n";
        assert_eq!(snapshot_contents(file), "step | call\n----\n1    | x");
    }

    #[test]
    fn items_split_on_scripted_calls_only() {
        let calls = vec!["A send(1, 2)".to_string(), "B recv()".to_string()];
        assert_eq!(
            items("A send(1, 2), B recv() -> Some((1, 2))", &calls),
            ["A send(1, 2)", "B recv() -> Some((1, 2))"]
        );
        assert_eq!(
            split_value("B recv() -> 3", &calls),
            ("B recv()", Some("3"))
        );
    }

    #[test]
    fn parse_reads_cells_by_the_header_columns() {
        let t = "step | call | returned   | blocked\n------\n1    | A x  | A x, B     | y\nend: nothing can move; still blocked: B y\n";
        let p = parse(t);
        assert_eq!(p.rows, vec![vec!["1", "A x", "A x, B", "y"]]);
        assert_eq!(
            parse("step | call\n--\n12   | A x | y").rows,
            vec![vec!["12", "A x | y"]]
        );
        assert_eq!(p.end, vec!["B y"]);
    }
}
