//! The course book's mdBook preprocessor (`[preprocessor.course]` in `book/book.toml`).
//!
//! It runs before mdBook's own `links` preprocessor, on every chapter:
//!
//! 1. **Includes are checked.** Every `{{#include path[:anchor | :start[:end]]}}` must name a
//!    file that exists, an anchor present in it (both `ANCHOR:` and `ANCHOR_END:`, with lines
//!    between) or lines within it, and never a file under `exercises/`: students edit those,
//!    so the book includes the starters as shipped, `.course/starters/` (the runner's
//!    pristine copy, which `cargo course verify` keeps equal to the starters). mdBook alone
//!    renders a missing anchor as an empty listing and succeeds; here the build fails and
//!    says where.
//! 2. **Scenario tables become figures.** A fenced `text` block whose only line includes a
//!    snapshot holding a scenario table or a timeline (`crates/*/tests/snapshots/*.snap`) is
//!    replaced by a figure: the table as HTML (its cells wrap, so it fits the page), the same
//!    rows as a swimlane (SVG), the snapshot's text as the test compares it, and the rows as
//!    data for the step-by-step viewer and its predict mode (`book/theme/course.js`). The
//!    figure is made from the snapshot file at build time, so it cannot drift from the
//!    tests, and a new snapshot included in a chapter gets its figure with no other change.
//! 3. **`{{#trace-viewer path.json}}`** shows a failing schedule exported by the engine
//!    (`INTERLEAVE_TRACE_JSON`, files under `book/traces/` made by `scripts/book-traces.py`):
//!    its swimlane, every event to step through, the failure highlighted, and the report.
//!    `{{#trace-report path.json}}` prints such a file's report alone, as the test prints it.
//! 4. **`{{#figure path.svg}}`** inlines a hand-drawn SVG diagram (it must have `role="img"`,
//!    a `<title>` and a `<desc>`), with its title as the caption, so that it takes the
//!    theme's colours.

pub mod html;
pub mod swimlane;

use std::collections::HashMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use scenario_tables::Table;
use serde_json::Value;

use crate::html::{esc, script_json, slug};
use crate::swimlane::{ExportedFailure, Picture};

/// Where the book and the workspace are.
#[derive(Clone, Debug)]
pub struct Book {
    /// The book's root (the folder of book.toml).
    pub root: PathBuf,
    /// Its `src` folder.
    pub src: PathBuf,
    /// The workspace's root (the book's parent folder).
    pub workspace: PathBuf,
}

impl Book {
    /// The book whose root is `root` with sources in `src` (relative to the root).
    pub fn new(root: &Path, src: &str) -> Book {
        let root = normalise(root);
        Book {
            src: root.join(src),
            workspace: root
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| root.clone()),
            root,
        }
    }

    fn show(&self, path: &Path) -> String {
        let path = normalise(path);
        path.strip_prefix(&self.workspace)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/")
    }
}

/// Runs the preprocessor on mdBook's input (`[context, book]` as JSON) and returns the book
/// to hand back, or every problem found.
///
/// # Errors
///
/// Each problem as a line that names the chapter, the line and what to do.
pub fn run(input: &str) -> Result<String, Vec<String>> {
    let parsed: Value = serde_json::from_str(input)
        .map_err(|e| vec![format!("cannot read mdBook's input as JSON: {e}")])?;
    let Value::Array(mut parts) = parsed else {
        return Err(vec!["mdBook's input is not `[context, book]`".to_string()]);
    };
    if parts.len() != 2 {
        return Err(vec!["mdBook's input is not `[context, book]`".to_string()]);
    }
    let mut book = parts.pop().expect("two parts");
    let context = parts.pop().expect("two parts");
    let root = context
        .get("root")
        .and_then(Value::as_str)
        .ok_or_else(|| vec!["mdBook's context has no `root`".to_string()])?;
    let src = context
        .pointer("/config/book/src")
        .and_then(Value::as_str)
        .unwrap_or("src");
    let where_ = Book::new(Path::new(root), src);
    let mut problems = Vec::new();
    visit_chapters(
        &mut book,
        &mut |path, content| match chapter(&where_, Path::new(path), content) {
            Ok(out) => *content = out,
            Err(mut p) => problems.append(&mut p),
        },
    );
    if problems.is_empty() {
        Ok(serde_json::to_string(&book).expect("the book serialises"))
    } else {
        Err(problems)
    }
}

/// Calls `f(path, content)` for every chapter that has a file.
fn visit_chapters(value: &mut Value, f: &mut dyn FnMut(&str, &mut String)) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(ch)) = map.get_mut("Chapter") {
                let path = ch.get("path").and_then(Value::as_str).map(str::to_string);
                if let (Some(path), Some(Value::String(content))) = (path, ch.get_mut("content")) {
                    f(&path, content);
                }
            }
            for v in map.values_mut() {
                visit_chapters(v, f);
            }
        }
        Value::Array(items) => {
            for v in items {
                visit_chapters(v, f);
            }
        }
        _ => {}
    }
}

/// One directive found in a chapter: `{{#name args}}` at `line` (1-based).
#[derive(Debug)]
struct Directive<'a> {
    line: usize,
    name: &'a str,
    args: &'a str,
}

fn directives(text: &str) -> Vec<Directive<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("{{#") {
        let start = from + at;
        let Some(len) = text[start..].find("}}") else {
            break;
        };
        from = start + len + 2;
        if text[..start].ends_with('\\') {
            continue;
        }
        let inner = text[start + 3..start + len].trim();
        let (name, args) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        found.push(Directive {
            line: text[..start].matches('\n').count() + 1,
            name,
            args: args.trim(),
        });
    }
    found
}

/// A `{{#include}}` argument: the path, then an anchor or a line range.
#[derive(Debug, PartialEq, Eq)]
enum Selector {
    All,
    Anchor(String),
    Lines(Option<usize>, Option<usize>),
}

fn split_include(arg: &str) -> (&str, Selector) {
    let Some((path, sel)) = arg.split_once(':') else {
        return (arg.trim(), Selector::All);
    };
    let sel = sel.trim();
    if sel.is_empty() {
        return (path.trim(), Selector::All);
    }
    if sel.chars().all(|c| c.is_ascii_digit() || c == ':') {
        let mut nums = sel.splitn(2, ':');
        let start = nums.next().and_then(|s| s.parse().ok());
        let end = nums.next().and_then(|s| s.parse().ok());
        return (path.trim(), Selector::Lines(start, end));
    }
    (path.trim(), Selector::Anchor(sel.to_string()))
}

/// The part of `text` an include selects, or why it cannot.
fn select(text: &str, selector: &Selector) -> Result<String, String> {
    match selector {
        Selector::All => Ok(text.to_string()),
        Selector::Lines(start, end) => {
            let lines: Vec<&str> = text.lines().collect();
            let start = start.unwrap_or(1).max(1);
            let end = end.unwrap_or(lines.len());
            if start > lines.len() {
                return Err(format!(
                    "starts at line {start}, but the file has {} lines",
                    lines.len()
                ));
            }
            if end < start || end > lines.len() {
                return Err(format!(
                    "ends at line {end}, outside lines {start}..{}",
                    lines.len()
                ));
            }
            Ok(lines[start - 1..end]
                .iter()
                .map(|l| format!("{l}\n"))
                .collect())
        }
        Selector::Anchor(name) => {
            let is_marker = |line: &str, marker: &str| {
                line.split(marker)
                    .nth(1)
                    .map(|rest| {
                        rest.trim_start()
                            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
                            .next()
                            == Some(name.as_str())
                    })
                    .unwrap_or(false)
            };
            let lines: Vec<&str> = text.lines().collect();
            let Some(start) = lines.iter().position(|l| is_marker(l, "ANCHOR:")) else {
                return Err(format!(
                    "names the anchor `{name}`, but the file has no `ANCHOR: {name}` line"
                ));
            };
            let Some(len) = lines[start + 1..]
                .iter()
                .position(|l| is_marker(l, "ANCHOR_END:"))
            else {
                return Err(format!(
                    "names the anchor `{name}`, but the file has no `ANCHOR_END: {name}` line \
                     after its `ANCHOR: {name}`"
                ));
            };
            let body: Vec<&str> = lines[start + 1..start + 1 + len]
                .iter()
                .filter(|l| !l.contains("ANCHOR:") && !l.contains("ANCHOR_END:"))
                .copied()
                .collect();
            if body.iter().all(|l| l.trim().is_empty()) {
                return Err(format!("names the anchor `{name}`, which marks no line"));
            }
            Ok(body.iter().map(|l| format!("{l}\n")).collect())
        }
    }
}

/// Processes one chapter (`path` relative to the book's src).
fn chapter(book: &Book, path: &Path, content: &str) -> Result<String, Vec<String>> {
    let file = book.src.join(path);
    let dir = file.parent().unwrap_or(&book.src).to_path_buf();
    let shown = book.show(&file);
    let mut problems = Vec::new();
    for d in directives(content) {
        if d.name != "include" && d.name != "rustdoc_include" {
            continue;
        }
        if let Err(p) = check_include(book, &dir, d.args) {
            problems.push(format!(
                "{shown}:{}: `{{{{#{} {}}}}}` {p}",
                d.line, d.name, d.args
            ));
        }
    }
    let mut out = String::new();
    let mut ids: HashMap<String, usize> = HashMap::new();
    // The lines of the snapshot includes drawn as figures.
    let mut drawn: Vec<usize> = Vec::new();
    let lines: Vec<&str> = content.split_inclusive('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end_matches(['\n', '\r']);
        // A fence whose only line includes a snapshot.
        if line.starts_with("```")
            && i + 2 < lines.len()
            && lines[i + 2].trim_end() == "```"
            && let Some(arg) = lines[i + 1]
                .trim()
                .strip_prefix("{{#include ")
                .and_then(|r| r.strip_suffix("}}"))
            && split_include(arg).0.ends_with(".snap")
        {
            match snapshot_figure(book, &dir, arg, &mut ids) {
                Ok(Some(html)) => {
                    drawn.push(i + 2);
                    out.push('\n');
                    out.push_str(&html);
                    out.push_str("\n\n");
                    i += 3;
                    continue;
                }
                Ok(None) => {}
                Err(p) => problems.push(format!("{shown}:{}: {p}", i + 2)),
            }
        }
        if let Some(arg) = directive_line(line, "figure") {
            match figure(book, &dir, arg, &mut ids) {
                Ok(html) => {
                    out.push('\n');
                    out.push_str(&html);
                    out.push_str("\n\n");
                }
                Err(p) => problems.push(format!("{shown}:{}: `{line}` {p}", i + 1)),
            }
            i += 1;
            continue;
        }
        if let Some(arg) = directive_line(line, "trace-report") {
            match trace_report(book, &dir, arg) {
                Ok(html) => {
                    out.push('\n');
                    out.push_str(&html);
                    out.push_str("\n\n");
                }
                Err(p) => problems.push(format!("{shown}:{}: `{line}` {p}", i + 1)),
            }
            i += 1;
            continue;
        }
        if let Some(arg) = directive_line(line, "trace-viewer") {
            match trace_viewer(book, &dir, arg, &mut ids) {
                Ok(html) => {
                    out.push('\n');
                    out.push_str(&html);
                    out.push_str("\n\n");
                }
                Err(p) => problems.push(format!("{shown}:{}: `{line}` {p}", i + 1)),
            }
            i += 1;
            continue;
        }
        out.push_str(lines[i]);
        i += 1;
    }
    // Every scenario table the chapter includes must have become a figure.
    for d in directives(content) {
        if d.name != "include"
            || !split_include(d.args).0.ends_with(".snap")
            || drawn.contains(&d.line)
        {
            continue;
        }
        let (path, selector) = split_include(d.args);
        let file = normalise(&dir.join(path));
        let is_table = fs::read_to_string(&file)
            .ok()
            .and_then(|text| select(&text, &selector).ok())
            .is_some_and(|body| scenario_tables::parse(&body).is_ok());
        if is_table {
            problems.push(format!(
                "{shown}:{}: `{{{{#include {}}}}}` includes a scenario table outside a figure: \
                 put it alone in a ```text block, so that it is drawn (table, swimlane, viewer)",
                d.line, d.args
            ));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// `Some(args)` if `line` is exactly `{{#name args}}`.
fn directive_line<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.trim()
        .strip_prefix("{{#")?
        .strip_prefix(name)?
        .strip_prefix(' ')?
        .strip_suffix("}}")
        .map(str::trim)
}

fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn check_include(book: &Book, dir: &Path, arg: &str) -> Result<String, String> {
    let (path, selector) = split_include(arg);
    if path.is_empty() {
        return Err("names no file".to_string());
    }
    let file = normalise(&dir.join(path));
    let exercises = book.workspace.join("exercises");
    if file.starts_with(&exercises) {
        let rel = file.strip_prefix(&exercises).unwrap_or(&file);
        return Err(format!(
            "includes {}, a file students edit: their edits (or a deleted ANCHOR line) would \
             change the book. Include the starter as shipped instead, .course/starters/{} \
             (from a chapter: ../../.course/starters/{})",
            book.show(&file),
            rel.to_string_lossy(),
            rel.to_string_lossy()
        ));
    }
    let text = fs::read_to_string(&file).map_err(|e| {
        let starters = book.workspace.join(".course/starters");
        let hint = if file.starts_with(&starters) {
            ": `cargo course verify --update-starters` copies the starters there"
        } else {
            ""
        };
        format!(
            "includes {}, which cannot be read ({e}){hint}",
            book.show(&file)
        )
    })?;
    select(&text, &selector)
}

/// The figure for an included snapshot, or `None` if the snapshot is not a table.
fn snapshot_figure(
    book: &Book,
    dir: &Path,
    arg: &str,
    ids: &mut HashMap<String, usize>,
) -> Result<Option<String>, String> {
    let (path, selector) = split_include(arg);
    let file = normalise(&dir.join(path));
    let text =
        fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", book.show(&file)))?;
    let selected = select(&text, &selector).map_err(|p| format!("{}: {p}", book.show(&file)))?;
    let table = match scenario_tables::parse(&selected) {
        Ok(t) => t,
        Err(scenario_tables::Error::NotATable) => return Ok(None),
        Err(e) => {
            return Err(format!(
                "{} does not read as a table: {e} (counting from the included line)",
                book.show(&file)
            ));
        }
    };
    let name = scenario_tables::title_of(&file);
    let id = unique(ids, &format!("sc-{}", slug(&stem(&file))));
    let (kind, picture, table_html) = match &table {
        Table::Scenario(s) => (
            "scenario",
            Picture::scenario(&id, &name, s),
            scenario_table_html(s),
        ),
        Table::Timeline(t) => (
            "timeline",
            Picture::timeline(&id, &name, t),
            timeline_table_html(t),
        ),
    };
    let label = match kind {
        "scenario" => "Scenario",
        _ => "Timeline",
    };
    let mut html = String::new();
    html.push_str(&format!(
        "<figure class=\"scenario\" id=\"{id}\" data-viewer=\"{kind}\">\n"
    ));
    html.push_str(&format!(
        "<figcaption><span class=\"scenario-name\">{label}: {}</span> <span class=\"scenario-source\">from <code>{}</code></span></figcaption>\n",
        esc(&name),
        esc(&book.show(&file))
    ));
    html.push_str(&format!(
        "<div class=\"scenario-table-wrap\">{table_html}</div>\n"
    ));
    html.push_str(&format!(
        "<div class=\"swimlane-wrap\">{}</div>\n",
        picture.svg()
    ));
    html.push_str(&format!(
        "<details class=\"snapshot-text\"><summary>The snapshot file, as the test compares it</summary><pre><code class=\"language-text\">{}</code></pre></details>\n",
        esc(&selected).replace('\n', "&#10;")
    ));
    html.push_str(&format!(
        "<script type=\"application/json\" class=\"viewer-data\">{}</script>\n</figure>",
        script_json(&picture.viewer_json(kind))
    ));
    Ok(Some(html))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn unique(ids: &mut HashMap<String, usize>, base: &str) -> String {
    let n = ids.entry(base.to_string()).or_insert(0);
    *n += 1;
    if *n == 1 {
        base.to_string()
    } else {
        format!("{base}-{n}")
    }
}

/// One call per line; a call never breaks inside, its value (` -> ...`) may.
fn entries(items: &[String]) -> String {
    items
        .iter()
        .map(|i| match i.split_once(" -> ") {
            Some((call, value)) => format!(
                "<span class=\"st-c\"><span class=\"st-k\">{}</span> <span class=\"st-v\">-&gt; {}</span></span>",
                esc(call),
                esc(value)
            ),
            None => format!(
                "<span class=\"st-c\"><span class=\"st-k\">{}</span></span>",
                esc(i)
            ),
        })
        .collect()
}

fn scenario_table_html(s: &scenario_tables::Scenario) -> String {
    let mut h = String::from(
        "<table class=\"scenario-table\"><thead><tr><th scope=\"col\">step</th><th scope=\"col\">call</th><th scope=\"col\">returned</th><th scope=\"col\">still blocked</th>",
    );
    if s.has_state {
        h.push_str("<th scope=\"col\">state</th>");
    }
    h.push_str("</tr></thead><tbody>");
    for (i, step) in s.steps.iter().enumerate() {
        let returned: Vec<String> = step.returned.iter().map(|r| r.to_string()).collect();
        let blocked: Vec<String> = step.blocked.iter().map(|b| b.to_string()).collect();
        h.push_str(&format!(
            "<tr data-row=\"{i}\"><td class=\"st-step\">{}</td><td class=\"st-call\"><span class=\"st-c\"><span class=\"st-k\">{}</span></span></td><td class=\"st-out st-returned\">{}</td><td class=\"st-out st-blocked\">{}</td>",
            step.number,
            esc(&step.call.to_string()),
            entries(&returned),
            entries(&blocked)
        ));
        if let Some(state) = &step.state {
            h.push_str(&format!(
                "<td class=\"st-out st-state\"><span>{}</span></td>",
                esc(state)
            ));
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody>");
    if let Some(end) = &s.end {
        h.push_str(&format!(
            "<tfoot><tr><td colspan=\"{}\">end: {}</td></tr></tfoot>",
            if s.has_state { 5 } else { 4 },
            esc(end)
        ));
    }
    h.push_str("</table>");
    h
}

fn timeline_table_html(t: &scenario_tables::Timeline) -> String {
    let lanes: Vec<&String> = t
        .threads
        .iter()
        .filter(|th| t.events.iter().any(|e| &e.thread == *th))
        .collect();
    let mut h = String::from(
        "<table class=\"scenario-table timeline-table\"><thead><tr><th scope=\"col\">step</th>",
    );
    for l in &lanes {
        h.push_str(&format!("<th scope=\"col\">{}</th>", esc(l)));
    }
    h.push_str("</tr></thead><tbody>");
    for (i, e) in t.events.iter().enumerate() {
        h.push_str(&format!(
            "<tr data-row=\"{i}\"><td class=\"st-step\">{}</td>",
            e.step
        ));
        for l in &lanes {
            if **l == e.thread {
                let class = if e.phrase.starts_with("panics") {
                    " st-fail"
                } else {
                    ""
                };
                h.push_str(&format!(
                    "<td class=\"st-out{class}\"><span>{}</span></td>",
                    esc(&e.phrase)
                ));
            } else {
                h.push_str("<td></td>");
            }
        }
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    h
}

fn figure(
    book: &Book,
    dir: &Path,
    arg: &str,
    ids: &mut HashMap<String, usize>,
) -> Result<String, String> {
    let file = normalise(&dir.join(arg));
    let text =
        fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", book.show(&file)))?;
    let start = text
        .find("<svg")
        .ok_or_else(|| format!("{} has no <svg> element", book.show(&file)))?;
    let svg = &text[start..];
    for (needle, what) in [
        ("role=\"img\"", "role=\"img\" on the <svg> element"),
        (
            "<title",
            "a <title> (the figure's accessible name and caption)",
        ),
        ("<desc", "a <desc> (what the figure shows, in words)"),
    ] {
        if !svg.contains(needle) {
            return Err(format!("{} lacks {what}", book.show(&file)));
        }
    }
    let title = svg
        .split_once("<title")
        .and_then(|(_, r)| r.split_once('>'))
        .and_then(|(_, r)| r.split_once("</title>"))
        .map(|(t, _)| t.trim().to_string())
        .unwrap_or_default();
    let id = unique(ids, &format!("fig-{}", slug(&stem(&file))));
    let body: String = svg
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    // The caption repeats the title as the figure's visible name; the title stays the SVG's
    // accessible name.
    Ok(format!(
        "<figure class=\"diagram\" id=\"{id}\">\n{}\n<figcaption>{title}</figcaption>\n</figure>",
        body.trim_end()
    ))
}

/// Reads a failing schedule exported by the engine.
fn exported(book: &Book, file: &Path) -> Result<(ExportedFailure, String), String> {
    let text = fs::read_to_string(file).map_err(|e| {
        format!(
            "cannot read {}: {e} (the failing schedules are made by `python3 scripts/book-traces.py`)",
            book.show(file)
        )
    })?;
    let failure: ExportedFailure = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a failing schedule as interleave exports it: {e}",
            book.show(file)
        )
    })?;
    Ok((failure, text))
}

/// `{{#trace-report path.json}}`: the report of a failing schedule, as the test prints it.
fn trace_report(book: &Book, dir: &Path, arg: &str) -> Result<String, String> {
    let (failure, _) = exported(book, &normalise(&dir.join(arg)))?;
    Ok(format!(
        "<pre class=\"trace-report-text\"><code class=\"language-text\">{}</code></pre>",
        esc(failure.report.trim_end()).replace('\n', "&#10;")
    ))
}

fn trace_viewer(
    book: &Book,
    dir: &Path,
    arg: &str,
    ids: &mut HashMap<String, usize>,
) -> Result<String, String> {
    let file = normalise(&dir.join(arg));
    let (failure, text) = exported(book, &file)?;
    let source: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let caption = source
        .pointer("/source/caption")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| stem(&file).replace(['_', '-'], " "));
    let test = source
        .pointer("/source/test")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let id = unique(ids, &format!("tr-{}", slug(&stem(&file))));
    let picture = Picture::trace(&id, &caption, &failure);
    let mut html = String::new();
    html.push_str(&format!(
        "<figure class=\"scenario trace\" id=\"{id}\" data-viewer=\"trace\">\n"
    ));
    html.push_str(&format!(
        "<figcaption><span class=\"scenario-name\">Failing schedule: {}</span> <span class=\"scenario-source\">{}</span></figcaption>\n",
        esc(&caption),
        if test.is_empty() {
            String::new()
        } else {
            format!("from <code>{}</code>", esc(&test))
        }
    ));
    html.push_str(&format!(
        "<div class=\"swimlane-wrap swimlane-tall\">{}</div>\n",
        picture.svg()
    ));
    html.push_str(&format!(
        "<details class=\"trace-report\"><summary>The report, as the test prints it</summary><pre><code class=\"language-text\">{}</code></pre></details>\n",
        esc(&failure.report).replace('\n', "&#10;")
    ));
    html.push_str(&format!(
        "<script type=\"application/json\" class=\"viewer-data\">{}</script>\n</figure>",
        script_json(&picture.viewer_json("trace"))
    ));
    Ok(html)
}

#[cfg(test)]
mod tests;
