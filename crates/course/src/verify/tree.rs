//! Checks of the files themselves: no stray files in exercises/ or solutions/, TODO markers
//! where they belong, each step's files wired into its crate, no pending snapshots.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::syllabus::{StepRef, Syllabus, Topic};

fn topics<'a>(syllabus: &'a Syllabus, only: Option<&'a Topic>) -> impl Iterator<Item = &'a Topic> {
    syllabus
        .topics
        .iter()
        .filter(move |t| only.is_none_or(|o| std::ptr::eq(*t, o)))
}

/// Every file under exercises/ and solutions/ is declared by a step, and every folder
/// directly under them is a topic's `dir`.
pub fn stray_files(syllabus: &Syllabus, only: Option<&Topic>) -> Vec<String> {
    let mut problems = Vec::new();
    for top in ["exercises", "solutions"] {
        let base = syllabus.root.join(top);
        if only.is_none() {
            if let Ok(entries) = fs::read_dir(&base) {
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                for name in names {
                    let path = base.join(&name);
                    if !path.is_dir() {
                        problems.push(format!(
                            "stray file {top}/{name}: only topic folders belong in {top}/; move or delete it"
                        ));
                    } else if !syllabus.topics.iter().any(|t| t.dir == name) {
                        problems.push(format!(
                            "stray folder {top}/{name}/: no topic in course.toml has dir = \"{name}\"; add the topic or remove the folder"
                        ));
                    }
                }
            }
        }
        for topic in topics(syllabus, only) {
            let declared: BTreeSet<&str> = topic.steps.iter().map(|s| s.file.as_str()).collect();
            let dir = base.join(&topic.dir);
            let mut found = Vec::new();
            walk(&dir, "", &mut found);
            found.sort();
            for (rel, is_dir) in found {
                if is_dir {
                    if !declared.iter().any(|d| d.starts_with(&format!("{rel}/"))) {
                        problems.push(format!(
                            "stray folder {top}/{}/{rel}/: no step of `{}` has a file in it; remove it",
                            topic.dir, topic.name
                        ));
                    }
                } else if !declared.contains(rel.as_str()) {
                    problems.push(format!(
                        "stray file {top}/{}/{rel}: no step of `{}` declares it in course.toml; remove it (or declare it)",
                        topic.dir, topic.name
                    ));
                }
            }
        }
    }
    problems
}

/// Collects (relative path, is_dir) under `dir`; does not descend into folders that hold no
/// declared file (the caller reports the folder as a whole).
fn walk(dir: &Path, prefix: &str, found: &mut Vec<(String, bool)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let path = entry.path();
        if path.is_dir() {
            found.push((rel.clone(), true));
            walk(&path, &rel, found);
        } else {
            found.push((rel, false));
        }
    }
}

/// Starters carry at least one TODO comment; references carry none, nor a todo macro.
pub fn todo_markers(syllabus: &Syllabus, only: Option<&Topic>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for topic in topics(syllabus, only) {
        for step in &topic.steps {
            let s = StepRef { topic, step };
            if !seen.insert(s.exercise_rel()) {
                continue; // a file shared by several steps is checked once
            }
            if let Ok(text) = fs::read_to_string(syllabus.root.join(s.exercise_rel())) {
                if !text.contains("// TODO") {
                    problems.push(format!(
                        "the starter {} has no `// TODO`: mark every place the student edits",
                        s.exercise_rel()
                    ));
                }
            }
            if let Ok(text) = fs::read_to_string(syllabus.root.join(s.solution_rel())) {
                for (n, line) in text.lines().enumerate() {
                    for marker in ["// TODO", "todo!("] {
                        if line.contains(marker) {
                            problems.push(format!(
                                "the reference {}:{} still has `{marker}`: finish it (and explain the fix in a comment)",
                                s.solution_rel(),
                                n + 1
                            ));
                        }
                    }
                }
            }
        }
    }
    problems
}

/// Each step's starter and reference are named in its crate (the `#[path]` attributes that
/// switch between them with the `solution` feature).
pub fn module_wiring(syllabus: &Syllabus, only: Option<&Topic>) -> Vec<String> {
    let mut problems = Vec::new();
    for topic in topics(syllabus, only) {
        let dir = syllabus.root.join("crates").join(&topic.package);
        if !dir.is_dir() {
            continue;
        }
        let mut text = String::new();
        gather_sources(&dir, &mut text);
        for step in &topic.steps {
            let s = StepRef { topic, step };
            for (rel, feature) in [
                (s.exercise_rel(), "not(feature = \"solution\")"),
                (s.solution_rel(), "feature = \"solution\""),
            ] {
                if !text.contains(&rel) {
                    problems.push(format!(
                        "crates/{} never names {rel}, so step `{}` does not build it; add `#[cfg_attr({feature}, path = \"../../../{rel}\")]` to the step's module",
                        topic.package,
                        s.id()
                    ));
                }
            }
        }
    }
    problems
}

/// The text of the crate's sources (src/, build.rs, Cargo.toml), not its tests.
fn gather_sources(dir: &Path, text: &mut String) {
    for name in ["build.rs", "Cargo.toml"] {
        if let Ok(t) = fs::read_to_string(dir.join(name)) {
            text.push_str(&t);
        }
    }
    fn walk(dir: &Path, text: &mut String) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, text);
            } else if path.extension().is_some_and(|e| e == "rs") {
                if let Ok(t) = fs::read_to_string(&path) {
                    text.push_str(&t);
                    text.push('\n');
                }
            }
        }
    }
    walk(&dir.join("src"), text);
}

/// No `.snap.new` or `.pending-snap` under crates/ (insta's unreviewed snapshots).
pub fn pending_snapshots(syllabus: &Syllabus, only: Option<&Topic>) -> Vec<String> {
    let crates = syllabus.root.join("crates");
    let mut found = Vec::new();
    match only {
        Some(topic) => find_pending(
            &crates.join(&topic.package),
            &format!("crates/{}", topic.package),
            &mut found,
        ),
        None => find_pending(&crates, "crates", &mut found),
    }
    found.sort();
    found
        .into_iter()
        .map(|rel| {
            format!("pending snapshot {rel}: review it with `cargo insta review` (accept or reject), or delete it")
        })
        .collect()
}

fn find_pending(dir: &Path, rel: &str, found: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let child = format!("{rel}/{name}");
        if path.is_dir() {
            // Build output and the runner's own test fixtures are not the course's.
            if name == "target" || name.starts_with('.') || child == "crates/course/tests/fixtures"
            {
                continue;
            }
            find_pending(&path, &child, found);
        } else if name.ends_with(".snap.new") || name.ends_with(".pending-snap") {
            found.push(child);
        }
    }
}
