use std::fs;
use std::path::Path;

use super::*;

/// A workspace with a book, a starter, its pristine copy and a snapshot.
struct Ws {
    _dir: tempfile::TempDir,
    book: Book,
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

const STARTER: &str = "fn a() {}\n// ANCHOR: body\nfn b() {}\n// ANCHOR_END: body\n// ANCHOR: empty\n// ANCHOR_END: empty\n";

const SNAP: &str = "---
source: crates/t/tests/s.rs
expression: table.to_string()
---
step | call     | returned           | blocked  | state
------------------------------------------------------
1    | A wait() |                    | A wait() | nobody
2    | B go()   | B go(), A wait()   |          | A, B
";

fn ws() -> Ws {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("exercises/01_t/s.rs"), STARTER);
    write(&root.join(".course/starters/01_t/s.rs"), STARTER);
    write(
        &root.join("crates/t/tests/snapshots/s__a_waits_until_b_goes.snap"),
        SNAP,
    );
    write(
        &root.join("crates/t/tests/snapshots/out__usage.snap"),
        "---\nsource: x\n---\nusage: t N\n",
    );
    write(
        &root.join("book/src/figures/f.svg"),
        "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"f-t\">\n\n<title id=\"f-t\">A figure</title><desc>Two boxes.</desc>\n</svg>\n",
    );
    write(
        &root.join("book/src/figures/bad.svg"),
        "<svg><title>x</title></svg>\n",
    );
    Ws {
        book: Book::new(&root.join("book"), "src"),
        _dir: dir,
    }
}

fn run_chapter(ws: &Ws, content: &str) -> Result<String, Vec<String>> {
    chapter(&ws.book, Path::new("ch.md"), content)
}

#[test]
fn an_include_of_a_student_file_fails_the_build_and_names_the_copy() {
    let ws = ws();
    let err = run_chapter(&ws, "text\n{{#include ../../exercises/01_t/s.rs:body}}\n").unwrap_err();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].starts_with("book/src/ch.md:2: "), "{}", err[0]);
    assert!(err[0].contains("a file students edit"), "{}", err[0]);
    assert!(err[0].contains(".course/starters/01_t/s.rs"), "{}", err[0]);
    assert!(run_chapter(&ws, "{{#include ../../.course/starters/01_t/s.rs:body}}\n").is_ok());
}

#[test]
fn a_missing_or_empty_anchor_fails_the_build() {
    let ws = ws();
    let err = run_chapter(&ws, "{{#include ../../.course/starters/01_t/s.rs:gone}}\n").unwrap_err();
    assert!(err[0].contains("no `ANCHOR: gone` line"), "{err:?}");
    let err =
        run_chapter(&ws, "{{#include ../../.course/starters/01_t/s.rs:empty}}\n").unwrap_err();
    assert!(err[0].contains("marks no line"), "{err:?}");
    let err = run_chapter(&ws, "{{#include ../../.course/starters/01_t/s.rs:9:}}\n").unwrap_err();
    assert!(
        err[0].contains("starts at line 9, but the file has 6 lines"),
        "{err:?}"
    );
    let err = run_chapter(&ws, "{{#include ../../.course/starters/01_t/nope.rs}}\n").unwrap_err();
    assert!(err[0].contains("--update-starters"), "{err:?}");
    // An escaped directive is text, not an include.
    assert!(run_chapter(&ws, "\\{{#include nothing.rs}}\n").is_ok());
}

#[test]
fn anchors_are_selected_like_mdbook_does() {
    let sel = select(STARTER, &Selector::Anchor("body".into())).unwrap();
    assert_eq!(sel, "fn b() {}\n");
    assert_eq!(
        split_include("a.snap:5:"),
        ("a.snap", Selector::Lines(Some(5), None))
    );
    assert_eq!(
        split_include("a.rs:2:3"),
        ("a.rs", Selector::Lines(Some(2), Some(3)))
    );
    assert_eq!(split_include("a.rs"), ("a.rs", Selector::All));
}

#[test]
fn an_included_scenario_table_becomes_a_figure_with_table_swimlane_and_viewer_data() {
    let ws = ws();
    let md = "Before.\n\n```text\n{{#include ../../crates/t/tests/snapshots/s__a_waits_until_b_goes.snap:5:}}\n```\n\nAfter.\n";
    let out = run_chapter(&ws, md).unwrap();
    assert!(out.starts_with("Before.\n\n\n<figure class=\"scenario\" id=\"sc-s-a-waits-until-b-goes\" data-viewer=\"scenario\">"), "{out}");
    assert!(out.ends_with("</figure>\n\n\nAfter.\n"), "{out}");
    let figure = &out[out.find("<figure").unwrap()..out.find("</figure>").unwrap()];
    assert!(
        !figure.contains("\n\n"),
        "a blank line would end the HTML block: {figure}"
    );
    assert!(figure.contains("<table class=\"scenario-table\">"));
    assert!(figure.contains("<svg class=\"swimlane\""));
    assert!(figure.contains("<title id=\"sc-s-a-waits-until-b-goes-t\">"));
    assert!(figure.contains("Scenario: a waits until b goes"));
    let data = figure.split("class=\"viewer-data\">").nth(1).unwrap();
    let data = data.split("</script>").next().unwrap();
    let v: Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["lanes"], serde_json::json!(["A", "B"]));
    assert_eq!(v["predict"], true);
    assert_eq!(v["rows"][0]["lanes"][0]["status"], "blocked");
    assert_eq!(v["rows"][1]["lanes"][0]["status"], "returned");
    assert_eq!(
        v["rows"][1]["predict"]["returns"],
        serde_json::json!(["B", "A"])
    );
    assert_eq!(v["rows"][1]["state"], "A, B");
    assert_eq!(
        v["rows"][1]["text"],
        "Step 2: B go() returns, and A wait() returns."
    );
}

#[test]
fn an_included_snapshot_that_is_not_a_table_stays_a_code_block() {
    let ws = ws();
    let md = "```text\n{{#include ../../crates/t/tests/snapshots/out__usage.snap:4:}}\n```\n";
    assert_eq!(run_chapter(&ws, md).unwrap(), md);
}

#[test]
fn a_malformed_table_fails_the_build() {
    let ws = ws();
    write(
        &ws.book
            .workspace
            .join("crates/t/tests/snapshots/s__broken.snap"),
        &SNAP.replace("| A wait() | nobody", "|          | nobody"),
    );
    let md = "```text\n{{#include ../../crates/t/tests/snapshots/s__broken.snap:5:}}\n```\n";
    let err = run_chapter(&ws, md).unwrap_err();
    assert!(err[0].contains("does not read as a table"), "{err:?}");
}

#[test]
fn a_figure_is_inlined_with_its_title_as_caption_and_must_be_accessible() {
    let ws = ws();
    let out = run_chapter(&ws, "{{#figure figures/f.svg}}\n").unwrap();
    assert!(
        out.contains("<figure class=\"diagram\" id=\"fig-f\">\n<svg"),
        "{out}"
    );
    assert!(out.contains("<figcaption>A figure</figcaption>"), "{out}");
    assert!(!out.contains("<?xml"));
    let fig = &out[out.find("<figure").unwrap()..out.find("</figure>").unwrap()];
    assert!(!fig.contains("\n\n"));
    let err = run_chapter(&ws, "{{#figure figures/bad.svg}}\n").unwrap_err();
    assert!(err[0].contains("lacks role=\"img\""), "{err:?}");
}

#[test]
fn a_trace_viewer_draws_the_exported_failure() {
    let ws = ws();
    let json = serde_json::json!({
        "kind": "panic",
        "message": "S1 entered while N1 was inside",
        "strategy": "random", "seed": 1, "schedule": 2,
        "replay": "replay: x",
        "report": "interleaving:\n...\nerror: S1 entered while N1 was inside",
        "source": {"caption": "the notes' if on a Mesa monitor", "test": "crates/t/tests/s.rs"},
        "trace": {"threads": ["main", "N1", "S1"], "events": [
            {"step": 1, "thread": "main", "object": null, "op": "spawn N1", "outcome": null, "api": false},
            {"step": 2, "thread": "S1", "object": "busy", "op": "wait", "outcome": null, "api": true},
            {"step": 3, "thread": "N1", "object": "tunnel", "op": "enter", "outcome": "in", "api": true},
            {"step": 4, "thread": "S1", "object": null, "op": "panicked at x.rs:1:1", "outcome": null, "api": false},
            {"step": 4, "thread": "S1", "object": null, "op": "panics: S1 entered while N1 was inside", "outcome": null, "api": true}
        ]}
    });
    write(&ws.book.root.join("traces/t.json"), &json.to_string());
    let out = run_chapter(&ws, "{{#trace-viewer ../traces/t.json}}\n").unwrap();
    assert!(
        out.contains("Failing schedule: the notes&#39; if on a Mesa monitor"),
        "{out}"
    );
    let data = out.split("class=\"viewer-data\">").nth(1).unwrap();
    let data = data.split("</script>").next().unwrap();
    let v: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        v["rows"].as_array().unwrap().len(),
        4,
        "the `panicked at` event is left out"
    );
    assert_eq!(v["rows"][1]["lanes"][2]["status"], "blocked");
    assert_eq!(v["rows"][2]["text"], "Step 3: N1: enter monitor: in.");
    assert_eq!(v["rows"][3]["failure"], true);
    assert_eq!(v["rows"][3]["lanes"][2]["status"], "failed");
    assert_eq!(v["predict"], false);
    let report = run_chapter(&ws, "{{#trace-report ../traces/t.json}}\n").unwrap();
    assert!(
        report.contains("<pre class=\"trace-report-text\"><code class=\"language-text\">interleaving:&#10;...&#10;error: S1 entered while N1 was inside</code></pre>"),
        "{report}"
    );
    let err = run_chapter(&ws, "{{#trace-viewer ../traces/none.json}}\n").unwrap_err();
    assert!(err[0].contains("book-traces.py"), "{err:?}");
}

#[test]
fn a_scenario_table_included_outside_a_lone_fence_fails_the_build() {
    let ws = ws();
    let md = "```text\nThe table:\n{{#include ../../crates/t/tests/snapshots/s__a_waits_until_b_goes.snap:5:}}\n```\n";
    let err = run_chapter(&ws, md).unwrap_err();
    assert!(err[0].contains("outside a figure"), "{err:?}");
    assert!(err[0].starts_with("book/src/ch.md:3: "), "{err:?}");
}
