//! `cargo course handout --out DIR [--topics ...]`: the repository a class receives.
//!
//! The chosen topics only (their crates, starters, starters as shipped, book chapters and
//! course.toml entries), no `solutions/`, the runner and its engines as they are
//! (`course`, `interleave`, `proctest`), a student README, and
//! `.github/workflows/classroom.yml` for GitHub Classroom's autograding. What names other
//! topics is trimmed or rewritten: SUMMARY.md, links between chapters, includes of files
//! not handed out, the paragraphs about `solutions/`, the teachers' recipes of the
//! justfile; CONTRIBUTING.md, `.ci/` and the teachers' scripts stay behind.
//!
//! `.course/handout.toml` marks the result as a handout: `cargo course solution` there says
//! when and how the references come, and `cargo course verify` checks it as a handout (no
//! `solutions/`, every starter fails as shipped, the workflow grades every step with its
//! points).

use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::workflow;
use crate::cargo::Verdict;
use crate::pristine;
use crate::syllabus::{Selection, StepRef, Syllabus, Topic};
use crate::ui::{self, UsageError, bold, dim, green, plural, red};

/// The file that marks a handout, relative to its root.
pub const MARKER: &str = ".course/handout.toml";

/// What `solution` says in a handout when the teacher gave no `--solutions-note`.
pub const DEFAULT_NOTE: &str = "the reference solutions are not part of this repository: your teacher publishes them after the assignment's deadline";

/// The crates every handout carries, whatever its topics.
pub const ENGINE: &[&str] = &[
    "course",
    "interleave",
    "proctest",
    "scenario_tables",
    "mdbook-course",
];

/// Options of `cargo course handout`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The new repository's folder (must not exist, or be empty).
    pub out: PathBuf,
    /// The topics to hand out (default: all).
    pub topics: Vec<String>,
    /// What `cargo course solution` tells the students.
    pub solutions_note: Option<String>,
}

/// `.course/handout.toml`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Marker {
    /// The topics handed out.
    pub topics: Vec<String>,
    /// The course's commit the handout was made from.
    pub source_commit: String,
    /// The runner that made it.
    pub runner_version: String,
    /// What `cargo course solution` says.
    pub solutions: String,
}

/// Whether the course at `root` is a handout.
pub fn is_handout(root: &Path) -> bool {
    root.join(MARKER).is_file()
}

/// The handout's marker, if `root` is a handout.
pub fn marker(root: &Path) -> Option<Marker> {
    let text = fs::read_to_string(root.join(MARKER)).ok()?;
    toml::from_str(&text).ok()
}

/// The topics named by `names` (comma-separated allowed), all when empty.
pub fn topics<'a>(syllabus: &'a Syllabus, names: &[String]) -> Result<Vec<&'a Topic>> {
    let mut chosen: Vec<&Topic> = Vec::new();
    for name in names.iter().flat_map(|n| n.split(',')) {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        match syllabus.resolve(name)? {
            Selection::Topic(topic) => {
                if !chosen.iter().any(|t| std::ptr::eq(*t, topic)) {
                    chosen.push(topic);
                }
            }
            Selection::Step(step) => {
                return Err(UsageError(format!(
                    "a handout is made of whole topics: `--topics {}`",
                    step.topic.name
                ))
                .into());
            }
        }
    }
    if chosen.is_empty() {
        chosen = syllabus.topics.iter().collect();
    }
    // In the syllabus's order, whatever the order on the command line.
    chosen.sort_by_key(|t| {
        syllabus
            .topics
            .iter()
            .position(|o| std::ptr::eq(o, *t))
            .unwrap_or(usize::MAX)
    });
    Ok(chosen)
}

/// Writes the handout and prints what to do next.
pub fn run(syllabus: &Syllabus, options: &Options, out: &mut dyn Write) -> Result<ExitCode> {
    if is_handout(&syllabus.root) {
        return Err(UsageError(
            "this course is already a handout; make handouts from the teacher's full course"
                .to_string(),
        )
        .into());
    }
    let chosen = topics(syllabus, &options.topics)?;
    let dest = &options.out;
    prepare_destination(dest)?;
    let dest = &std::path::absolute(dest)?;
    copy_course(syllabus, &chosen, dest, true)?;
    let handout = Syllabus::load(dest).context("the handout's course.toml does not load")?;

    copy_book(syllabus, &chosen, dest)?;
    copy_if_present(&syllabus.root, dest, "scripts/install-mdbook.sh")?;
    copy_if_present(&syllabus.root, dest, ".gitignore")?;
    if let Ok(justfile) = fs::read_to_string(syllabus.root.join("justfile")) {
        fs::write(
            dest.join("justfile"),
            remove_recipes(&justfile, &["verify", "test"]),
        )?;
    }
    fs::write(dest.join("README.md"), readme(&handout))?;
    let workflow_path = dest.join(workflow::PATH);
    fs::create_dir_all(workflow_path.parent().expect("the workflow has a folder"))?;
    fs::write(&workflow_path, workflow::classroom_yaml(&handout))?;
    let note = options
        .solutions_note
        .clone()
        .unwrap_or_else(|| DEFAULT_NOTE.to_string());
    let marker = Marker {
        topics: chosen.iter().map(|t| t.name.clone()).collect(),
        source_commit: crate::report::course_commit(&syllabus.root),
        runner_version: crate::report::RUNNER_VERSION.to_string(),
        solutions: note,
    };
    fs::write(
        dest.join(MARKER),
        format!(
            "# Written by `cargo course handout`: this repository is a handout of the course,\n# for students (no solutions/). `cargo course verify` checks it as such.\n{}",
            toml::to_string(&marker)?
        ),
    )?;
    prune_lockfile(dest);

    let steps: Vec<StepRef<'_>> = handout.steps().collect();
    let points: u32 = steps.iter().map(|s| s.step.points).sum();
    writeln!(
        out,
        "{} {} ({}, {}, {points} points) in {}",
        green("handout written:"),
        plural(chosen.len(), "topic"),
        chosen
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        plural(steps.len(), "step"),
        dest.display()
    )?;
    writeln!(out, "next:")?;
    writeln!(
        out,
        "  {}   check it: starters fail, no solutions/, the workflow grades every step",
        bold(format!("cargo course --root {} verify", dest.display()))
    )?;
    writeln!(
        out,
        "  {}   then push it as the assignment's template repository",
        bold(format!(
            "cd {} && git init -b main && git add -A && git commit -m Handout",
            dest.display()
        ))
    )?;
    writeln!(
        out,
        "{}",
        dim(
            "GitHub Classroom runs .github/workflows/classroom.yml on every push: one graded test per step."
        )
    )?;
    Ok(ExitCode::SUCCESS)
}

fn prepare_destination(dest: &Path) -> Result<()> {
    if let Ok(mut entries) = fs::read_dir(dest) {
        if entries.next().is_some() {
            return Err(UsageError(format!(
                "{} already exists and is not empty; give a new folder to --out",
                dest.display()
            ))
            .into());
        }
    } else if dest.exists() {
        return Err(UsageError(format!("{} is not a folder", dest.display())).into());
    }
    fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))
}

/// Copies the workspace files, the engine, the chosen topics' crates, starters and starters
/// as shipped, and a course.toml of the chosen topics only. With `handout`, the runner's
/// own tests stay behind (they drive the full course), as in a Gradescope bundle.
pub fn copy_course(
    syllabus: &Syllabus,
    chosen: &[&Topic],
    dest: &Path,
    handout: bool,
) -> Result<()> {
    let root = &syllabus.root;
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "rust-toolchain",
        "rust-toolchain.toml",
    ] {
        copy_if_present(root, dest, file)?;
    }
    copy_tree(&root.join(".cargo"), &dest.join(".cargo"), &[])?;
    let mut crates: Vec<&str> = ENGINE.to_vec();
    for topic in chosen {
        if !crates.contains(&topic.package.as_str()) {
            crates.push(&topic.package);
        }
    }
    for name in crates {
        let skip: &[&str] = if name == "course" && handout {
            &["tests"]
        } else {
            &[]
        };
        copy_tree(
            &root.join("crates").join(name),
            &dest.join("crates").join(name),
            skip,
        )?;
    }
    for topic in chosen {
        copy_tree(
            &root.join("exercises").join(&topic.dir),
            &dest.join("exercises").join(&topic.dir),
            &[],
        )?;
        copy_tree(
            &root.join(pristine::DIR).join(&topic.dir),
            &dest.join(pristine::DIR).join(&topic.dir),
            &[],
        )?;
    }
    let text = fs::read_to_string(root.join(crate::syllabus::FILE))?;
    let names: Vec<&str> = chosen.iter().map(|t| t.name.as_str()).collect();
    fs::write(
        dest.join(crate::syllabus::FILE),
        trim_course_toml(&text, &names)?,
    )?;
    Ok(())
}

fn copy_if_present(root: &Path, dest: &Path, rel: &str) -> Result<()> {
    let from = root.join(rel);
    if from.is_file() {
        let to = dest.join(rel);
        fs::create_dir_all(to.parent().expect("a file has a folder"))?;
        fs::copy(&from, &to).with_context(|| format!("cannot copy {rel}"))?;
    }
    Ok(())
}

/// Copies `from` to `to`, without `target/`, `.git`, insta's pending snapshots and the
/// top-level entries named in `skip`.
fn copy_tree(from: &Path, to: &Path, skip: &[&str]) -> Result<()> {
    let Ok(entries) = fs::read_dir(from) else {
        return Ok(());
    };
    fs::create_dir_all(to)?;
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if name_str == "target"
            || name_str == ".git"
            || name_str.ends_with(".snap.new")
            || name_str.ends_with(".pending-snap")
            || skip.contains(&name_str.as_ref())
        {
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(&name), &[])?;
        } else if kind.is_file() {
            fs::copy(entry.path(), to.join(&name))
                .with_context(|| format!("cannot copy {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// course.toml with only the `[[topics]]` named in `keep` (their text and comments as they
/// are). The steps' points are those of the kept topics; the runner totals them.
pub fn trim_course_toml(text: &str, keep: &[&str]) -> Result<String> {
    let mut segments: Vec<String> = vec![String::new()];
    for line in text.lines() {
        if line.trim() == "[[topics]]" {
            segments.push(String::new());
        }
        let last = segments.last_mut().expect("one segment at least");
        last.push_str(line);
        last.push('\n');
    }
    let mut out = segments[0].clone();
    for segment in &segments[1..] {
        let table: toml::Table = toml::from_str(segment)
            .with_context(|| "course.toml: a [[topics]] entry does not parse")?;
        let name = table
            .get("topics")
            .and_then(|t| t.as_array())
            .and_then(|t| t.first())
            .and_then(|t| t.get("name"))
            .and_then(|n| n.as_str())
            .unwrap_or_default();
        if keep.contains(&name) {
            out.push_str(segment);
        }
    }
    let trimmed = Syllabus::parse(Path::new("."), &out)?;
    let kept: Vec<&str> = trimmed.topics.iter().map(|t| t.name.as_str()).collect();
    if kept != keep {
        bail!("course.toml could not be trimmed to {keep:?} (got {kept:?})");
    }
    Ok(out)
}

/// The book's chapters other than the topics' (introduction, runner...), by file name.
fn is_topic_chapter(syllabus: &Syllabus, file: &str) -> bool {
    syllabus
        .topics
        .iter()
        .any(|t| format!("{}.md", t.name) == file)
}

/// Copies book.toml, the chapters that are not a topic's, the chosen topics' chapters, and
/// SUMMARY.md without the others; then rewrites what would dangle.
fn copy_book(syllabus: &Syllabus, chosen: &[&Topic], dest: &Path) -> Result<()> {
    let book = syllabus.root.join("book");
    if !book.join("src/SUMMARY.md").is_file() {
        return Ok(());
    }
    copy_if_present(&syllabus.root, dest, "book/book.toml")?;
    let src = book.join("src");
    let dest_src = dest.join("book/src");
    fs::create_dir_all(&dest_src)?;
    let mut kept: BTreeSet<String> = BTreeSet::new();
    for entry in fs::read_dir(&src)?.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let wanted = !is_topic_chapter(syllabus, &name)
            || chosen.iter().any(|t| format!("{}.md", t.name) == name);
        if !wanted || name == "SUMMARY.md" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &dest_src.join(&name), &[])?;
        } else {
            fs::copy(entry.path(), dest_src.join(&name))?;
        }
        kept.insert(name);
    }
    let summary = fs::read_to_string(src.join("SUMMARY.md"))?;
    fs::write(dest_src.join("SUMMARY.md"), trim_summary(&summary, &kept))?;
    for name in kept.iter().filter(|n| n.ends_with(".md")) {
        let path = dest_src.join(name);
        let text = fs::read_to_string(&path)?;
        fs::write(&path, rewrite_chapter(&text, &dest_src, dest))?;
    }
    // The viewer's script and style, and the failing schedules the kept chapters show.
    copy_tree(&book.join("theme"), &dest.join("book/theme"), &[])?;
    for name in kept.iter().filter(|n| n.ends_with(".md")) {
        let text = fs::read_to_string(dest_src.join(name))?;
        for trace in text.split("../traces/").skip(1) {
            let file: String = trace
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                .collect();
            copy_if_present(&syllabus.root, dest, &format!("book/traces/{file}"))?;
        }
    }
    Ok(())
}

/// SUMMARY.md without the links to chapters not kept, and without part titles left with
/// no chapter.
pub fn trim_summary(text: &str, kept: &BTreeSet<String>) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| {
            link_target(line).is_none_or(|dest| kept.contains(dest.trim_start_matches("./")))
        })
        .collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 && line.starts_with("# ") {
            let has_chapter = lines[i + 1..]
                .iter()
                .take_while(|l| !l.starts_with("# "))
                .any(|l| l.trim_start().starts_with("- ["));
            if !has_chapter {
                continue;
            }
        }
        out.push(*line);
    }
    let mut text = out.join("\n");
    while text.contains("\n\n\n") {
        text = text.replace("\n\n\n", "\n\n");
    }
    text.trim_end().to_string() + "\n"
}

/// The destination of the first `[text](dest)` link of a line, without its fragment.
fn link_target(line: &str) -> Option<&str> {
    let start = line.find("](")? + 2;
    let end = start + line[start..].find(')')?;
    let dest = &line[start..end];
    Some(&dest[..dest.find('#').unwrap_or(dest.len())])
}

/// A chapter as the handout has it: links to files it lacks become plain text, includes of
/// files it lacks become a note, and what speaks of `solutions/` goes.
pub fn rewrite_chapter(text: &str, chapter_dir: &Path, handout_root: &Path) -> String {
    let exists = |dest: &str| -> bool {
        let path = &dest[..dest.find(['#', '?']).unwrap_or(dest.len())];
        if path.is_empty() || dest.contains("://") || dest.starts_with("mailto:") {
            return true;
        }
        let target = chapter_dir.join(path);
        target.exists()
            || (target.extension().is_some_and(|e| e == "html")
                && target.with_extension("md").is_file())
    };
    // Blocks (paragraphs, list items, fenced code) first: what speaks of solutions/ goes.
    let mut out: Vec<String> = Vec::new();
    let mut in_code = false;
    let mut block: Vec<&str> = Vec::new();
    let flush = |block: &mut Vec<&str>, out: &mut Vec<String>| {
        if !block.iter().any(|l| l.contains("solutions/")) {
            out.extend(block.iter().map(|l| l.to_string()));
        }
        block.clear();
    };
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            flush(&mut block, &mut out);
            in_code = !in_code;
            out.push(line.to_string());
            continue;
        }
        if in_code {
            if !trimmed.starts_with("solutions/") {
                out.push(line.to_string());
            }
            continue;
        }
        let new_item = trimmed.starts_with("- ")
            || trimmed.starts_with("* ")
            || trimmed
                .split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        if line.trim().is_empty() || new_item || trimmed.starts_with('#') {
            flush(&mut block, &mut out);
        }
        if line.trim().is_empty() {
            out.push(String::new());
        } else {
            block.push(line);
        }
    }
    flush(&mut block, &mut out);
    let mut text = out.join("\n");
    while text.contains("\n\n\n") {
        text = text.replace("\n\n\n", "\n\n");
    }
    // Includes of files the handout does not have.
    let mut rewritten = String::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("{{#include ") {
        let Some(end) = rest[at..].find("}}") else {
            break;
        };
        let arg = rest[at + "{{#include ".len()..at + end].trim();
        let path = arg.split(':').next().unwrap_or(arg);
        rewritten.push_str(&rest[..at]);
        if at > 0 && rest[..at].ends_with('\\') || chapter_dir.join(path).is_file() {
            rewritten.push_str(&rest[at..at + end + 2]);
        } else {
            let shown = normalise_rel(&chapter_dir.join(path), handout_root);
            rewritten.push_str(&format!("(not in this handout: {shown})"));
        }
        rest = &rest[at + end + 2..];
    }
    rewritten.push_str(rest);
    // Links to files the handout does not have become their text.
    let mut linked = String::new();
    let mut rest = rewritten.as_str();
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|c| open + c) else {
            break;
        };
        let Some(end) = rest[close + 2..].find(')').map(|e| close + 2 + e) else {
            break;
        };
        let label = &rest[open + 1..close];
        let dest = &rest[close + 2..end];
        if label.contains('[') || dest.contains(' ') || exists(dest) {
            linked.push_str(&rest[..open + 1]);
            rest = &rest[open + 1..];
            continue;
        }
        let image = open > 0 && rest[..open].ends_with('!');
        linked.push_str(&rest[..if image { open - 1 } else { open }]);
        linked.push_str(label);
        rest = &rest[end + 1..];
    }
    linked.push_str(rest);
    linked.trim_end().to_string() + "\n"
}

fn normalise_rel(path: &Path, root: &Path) -> String {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                normal.pop();
            }
            std::path::Component::CurDir => {}
            other => normal.push(other),
        }
    }
    normal
        .strip_prefix(root)
        .unwrap_or(&normal)
        .to_string_lossy()
        .into_owned()
}

/// The justfile without the recipes named in `names` (and the comment lines above them).
pub fn remove_recipes(justfile: &str, names: &[&str]) -> String {
    let lines: Vec<&str> = justfile.lines().collect();
    let mut drop = vec![false; lines.len()];
    for (i, line) in lines.iter().enumerate() {
        let name: String = line
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        let is_recipe = !name.is_empty()
            && line[name.len()..].starts_with([' ', ':'])
            && !line.contains(":=")
            && line.contains(':');
        if !is_recipe || !names.contains(&name.as_str()) {
            continue;
        }
        drop[i] = true;
        let mut j = i;
        while j > 0 && lines[j - 1].starts_with('#') {
            j -= 1;
            drop[j] = true;
        }
        let mut k = i + 1;
        while k < lines.len() && (lines[k].starts_with([' ', '\t'])) {
            drop[k] = true;
            k += 1;
        }
        if k < lines.len() && lines[k].trim().is_empty() {
            drop[k] = true;
        }
    }
    let kept: Vec<&str> = lines
        .iter()
        .zip(&drop)
        .filter(|(_, d)| !**d)
        .map(|(l, _)| *l)
        .collect();
    kept.join("\n").trim_end().to_string() + "\n"
}

/// Lets cargo drop the lock file's entries that only the topics left behind used (offline:
/// it removes, it never adds). A failure only leaves them for the first build to drop.
fn prune_lockfile(dest: &Path) {
    let _ = std::process::Command::new(crate::cargo::cargo_program())
        .args(["metadata", "--format-version=1", "--offline", "--quiet"])
        .current_dir(dest)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// The student's README.
fn readme(handout: &Syllabus) -> String {
    let steps: Vec<StepRef<'_>> = handout.steps().collect();
    let points: u32 = steps.iter().map(|s| s.step.points).sum();
    let mut table = String::from("| topic | steps | points |\n|---|---|---|\n");
    for topic in &handout.topics {
        table.push_str(&format!(
            "| `{}`: {} | {} | {} |\n",
            topic.name,
            topic.title,
            topic
                .steps
                .iter()
                .map(|s| format!("`{}`", s.name))
                .collect::<Vec<_>>()
                .join(", "),
            topic.steps.iter().map(|s| s.points).sum::<u32>()
        ));
    }
    let first = steps.first().map_or("topic/step".to_string(), |s| s.id());
    let first_file = steps
        .first()
        .map_or("exercises/...".to_string(), |s| s.exercise_rel());
    format!(
        r#"# {title}

Your copy of the assignment: {n_topics}, {n_steps}, {points} points. You write the code in
`exercises/` (one file per step); the tests you never edit tell you, in the words of the
topic, what went wrong.

{table}
## Start

With Rust installed (rustup's stable toolchain), in this folder:

```sh
cargo course          # every step with its status, and what to do next
```

The first run builds the course's runner (a minute or two). Then work step by step:

| command | what it does |
|---|---|
| `cargo course check {first}` | runs that step's tests against your file and explains the first failure |
| `cargo course watch` | re-checks the current step each time you save (keys: `h` hint, `n` next, `q` quit) |
| `cargo course hint {first}` | the next hint for that step (each call shows one more) |
| `cargo course trace ...` | replays a failing schedule, as the failure's `replay:` line says |
| `cargo course reset {first}` | restores the starter as shipped (asks first) |
| `cargo course report` | every step and the points it earns |

With [`just`](https://github.com/casey/just) the same commands are shorter: `just check
{first}`. Start with `{first_file}`: its header says what to build and the rule to respect.

## The book

`book/` explains each topic, the exercises and their rules. Read it with `just book`, or
`bash scripts/install-mdbook.sh && mdbook serve book --open`.

## How your work is graded

Only your files under `exercises/` count. Every push to GitHub runs the workflow in
`.github/workflows/classroom.yml`: one graded test per step, which runs `cargo course grade
. --steps TOPIC/STEP --exit-code` (the same build and tests as `cargo course check`) and
earns the step's points when it passes (the table above). The Actions tab
of your repository shows each run. Your teacher may grade again from the course's own
copy of the tests, so editing anything outside `exercises/` (tests, snapshots,
course.toml, the workflow) changes nothing but your own view; and code that ends the test
process early to look like a pass is detected and counts as a failure.

The reference solutions are not in this repository: `cargo course solution` says when
they come.
"#,
        title = handout.title,
        n_topics = plural(handout.topics.len(), "topic"),
        n_steps = plural(steps.len(), "step"),
    )
}

/// `cargo course verify` in a handout: what a handout must be.
pub fn verify(syllabus: &Syllabus, out: &mut dyn Write) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let steps: Vec<StepRef<'_>> = syllabus.steps().collect();
    writeln!(
        out,
        "{} the handout {}: {}, {}",
        bold("verify"),
        syllabus.root.display(),
        plural(syllabus.topics.len(), "topic"),
        plural(steps.len(), "step")
    )?;
    let mut problems = static_problems(syllabus);
    writeln!(
        out,
        "{} no solutions/, course.toml, exercises/, the workflow and the book {}",
        if problems.is_empty() {
            green("✓")
        } else {
            red("✗")
        },
        dim(format!("({})", ui::secs(started.elapsed())))
    )?;
    let mut packages: Vec<&str> = syllabus.topics.iter().map(|t| t.package.as_str()).collect();
    packages.dedup();
    for package in packages {
        write!(out, "  building {package} (starters)... ")?;
        out.flush()?;
        let built = crate::verify::build::build(syllabus, package, false)?;
        writeln!(
            out,
            "{}",
            if built.warnings.is_empty() && !built.failed {
                dim(format!("ok ({})", ui::secs(built.elapsed)))
            } else {
                red("problems")
            }
        )?;
        problems.extend(built.warnings);
        problems.extend(built.other_problems);
    }
    for step in &steps {
        write!(out, "  {}  ", step.id())?;
        out.flush()?;
        let verdict = crate::check::run_step(syllabus, *step, false, &mut |_| {})?;
        let fine = match (&verdict, step.step.starter_passes) {
            (Verdict::Passed { .. }, true) => true,
            (Verdict::Failed { .. } | Verdict::Crashed { .. }, false) => true,
            (Verdict::Passed { .. }, false) => {
                problems.push(format!(
                    "the starter of {} passes its tests as shipped",
                    step.id()
                ));
                false
            }
            (other, _) => {
                problems.push(format!(
                    "the starter of {}: {} ({})",
                    step.id(),
                    crate::report::reason(*step, other),
                    other.word()
                ));
                false
            }
        };
        writeln!(
            out,
            "{}",
            if fine {
                green(if step.step.starter_passes {
                    "starter ✓ passes (a demo step)"
                } else {
                    "starter ✓ fails as shipped"
                })
            } else {
                red(format!("starter ✗ {}", verdict.word()))
            }
        )?;
    }
    writeln!(out)?;
    if problems.is_empty() {
        writeln!(
            out,
            "{}",
            green(format!(
                "verify passed: the handout is ready ({})",
                ui::secs(started.elapsed())
            ))
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    crate::verify::print_problems(out, &problems, "")
}

/// What a handout must be, checked without building.
pub fn static_problems(syllabus: &Syllabus) -> Vec<String> {
    use crate::verify::{book, tree};
    let root = &syllabus.root;
    let mut problems = Vec::new();
    if root.join("solutions").exists() {
        problems.push(
            "the handout has a solutions/ folder: the references must not reach the students"
                .to_string(),
        );
    }
    problems.extend(syllabus.lint(None));
    problems.extend(
        syllabus
            .tree_problems(None)
            .into_iter()
            .filter(|p| !p.contains("solutions/")),
    );
    problems.extend(tree::stray_files(syllabus, None));
    problems.extend(tree::todo_markers(syllabus, None));
    problems.extend(tree::pending_snapshots(syllabus, None));
    problems.extend(pristine::problems(syllabus, None));
    problems.extend(book::check(syllabus, None));
    match fs::read_to_string(root.join(workflow::PATH)) {
        Ok(yaml) => problems.extend(workflow::problems(&yaml, syllabus)),
        Err(_) => problems.push(format!(
            "{} is missing: GitHub Classroom would grade nothing",
            workflow::PATH
        )),
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handouts_of_the_real_course_leave_nothing_dangling() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let syllabus = Syllabus::load(&root).expect("the course's own syllabus loads");
        for topics in [&["messages"][..], &["fork", "mmap"], &[]] {
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("handout");
            let options = Options {
                out: out.clone(),
                topics: topics.iter().map(|t| t.to_string()).collect(),
                solutions_note: None,
            };
            run(&syllabus, &options, &mut Vec::new()).expect("the handout is written");
            let handout = Syllabus::load(&out).expect("its course.toml loads");
            let expected = if topics.is_empty() {
                syllabus.topics.len()
            } else {
                topics.len()
            };
            assert_eq!(handout.topics.len(), expected);
            assert_eq!(
                static_problems(&handout),
                Vec::<String>::new(),
                "{topics:?}"
            );
            assert!(!out.join("CONTRIBUTING.md").exists() && !out.join(".ci").exists());
            let justfile = fs::read_to_string(out.join("justfile")).unwrap();
            assert!(!justfile.contains("verify") && justfile.contains("\ncheck *args:"));
        }
    }

    #[test]
    fn summary_keeps_the_chapters_handed_out_and_their_parts() {
        let summary = "# Summary\n\n[Intro](intro.md)\n\n# Threads\n\n- [A](a.md)\n- [B](./b.md)\n\n# Processes\n\n- [C](c.md)\n";
        let kept: BTreeSet<String> = ["intro.md", "b.md"].map(String::from).into();
        assert_eq!(
            trim_summary(summary, &kept),
            "# Summary\n\n[Intro](intro.md)\n\n# Threads\n\n- [B](./b.md)\n"
        );
    }

    #[test]
    fn teachers_recipes_leave_the_justfile_with_their_comments() {
        let justfile = "# list\nlist:\n    @cargo course list\n\n# Teachers\n# gate\nverify *args:\n    @cargo course verify \"$@\"\n\n# book\nbook:\n    mdbook serve\n";
        assert_eq!(
            remove_recipes(justfile, &["verify"]),
            "# list\nlist:\n    @cargo course list\n\n# book\nbook:\n    mdbook serve\n"
        );
    }
}
