//! course.toml, the syllabus: parsing, structural validation, the tree it describes, and
//! resolving `topic/step` names from the command line.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::ui::UsageError;

/// The syllabus file's name, at the workspace root.
pub const FILE: &str = "course.toml";

/// The parsed course.toml of one workspace.
#[derive(Debug)]
pub struct Syllabus {
    /// The workspace root (the folder holding course.toml).
    pub root: PathBuf,
    /// `[course] title`.
    pub title: String,
    /// Topics in the order students meet them.
    pub topics: Vec<Topic>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSyllabus {
    #[serde(default)]
    course: RawCourse,
    #[serde(default)]
    topics: Vec<Topic>,
}

#[derive(Debug, Default, Deserialize)]
struct RawCourse {
    #[serde(default)]
    title: Option<String>,
}

/// One `[[topics]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// The name on the command line (`tunnel`); also the book chapter `book/src/<name>.md`.
    pub name: String,
    /// Shown by `list`.
    pub title: String,
    /// The crate under `crates/` that owns the steps' API and tests.
    pub package: String,
    /// `exercises/<dir>/` and `solutions/<dir>/`.
    pub dir: String,
    /// The topic's steps, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
}

/// One `[[topics.steps]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The name on the command line (`basic` in `tunnel/basic`).
    pub name: String,
    /// The file under `exercises/<dir>/` and `solutions/<dir>/`.
    pub file: String,
    /// The integration test target `crates/<package>/tests/<test>.rs`.
    pub test: String,
    /// Only the tests whose name contains this string.
    #[serde(default)]
    pub filter: Option<String>,
    /// Points for `report`.
    pub points: u32,
    /// The starter legitimately passes its tests (a demo step).
    #[serde(default)]
    pub starter_passes: bool,
    /// Progressive hints; the last nearly gives the answer.
    #[serde(default)]
    pub hints: Vec<String>,
}

/// A step together with its topic: what every mode works on.
#[derive(Debug, Clone, Copy)]
pub struct StepRef<'a> {
    /// The step's topic.
    pub topic: &'a Topic,
    /// The step.
    pub step: &'a Step,
}

impl StepRef<'_> {
    /// `topic/step`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.topic.name, self.step.name)
    }

    /// `exercises/<dir>/<file>`, relative to the root, with `/` separators.
    pub fn exercise_rel(&self) -> String {
        format!("exercises/{}/{}", self.topic.dir, self.step.file)
    }

    /// `solutions/<dir>/<file>`, relative to the root.
    pub fn solution_rel(&self) -> String {
        format!("solutions/{}/{}", self.topic.dir, self.step.file)
    }

    /// `crates/<package>/tests/<test>.rs`, relative to the root: where the test target
    /// usually lives (see [`Syllabus::test_target_exists`]).
    pub fn test_rel(&self) -> String {
        format!("crates/{}/tests/{}.rs", self.topic.package, self.step.test)
    }
}

/// What a command-line name designates.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// `topic`: every step of a topic.
    Topic(&'a Topic),
    /// `topic/step`.
    Step(StepRef<'a>),
}

impl Syllabus {
    /// Finds the workspace root: `explicit` if given, else the nearest ancestor of the
    /// current directory holding a course.toml.
    pub fn find_root(explicit: Option<&Path>) -> Result<PathBuf> {
        if let Some(root) = explicit {
            if !root.join(FILE).is_file() {
                return Err(UsageError(format!(
                    "--root {}: there is no {FILE} in that folder; pass the folder that holds the course's {FILE}",
                    root.display()
                ))
                .into());
            }
            return Ok(root.to_path_buf());
        }
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        for dir in cwd.ancestors() {
            if dir.join(FILE).is_file() {
                return Ok(dir.to_path_buf());
            }
        }
        Err(UsageError(format!(
            "no {FILE} in {} or any folder above it; run this inside the course's folder (the one with {FILE}), or pass --root DIR",
            cwd.display()
        ))
        .into())
    }

    /// Reads and parses `root/course.toml`, failing on anything that makes names ambiguous
    /// or paths unsafe (duplicate or malformed names). Problems that only a teacher can fix
    /// and that do not stop a student (too few hints, missing files) are left to
    /// [`Syllabus::lint`] and [`Syllabus::tree_problems`], which `verify` reports.
    pub fn load(root: &Path) -> Result<Syllabus> {
        let path = root.join(FILE);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {}; is this the course's folder?",
                path.display()
            )
        })?;
        Self::parse(root, &text)
    }

    /// Parses course.toml's text (see [`Syllabus::load`]).
    pub fn parse(root: &Path, text: &str) -> Result<Syllabus> {
        let raw: RawSyllabus = toml::from_str(text).map_err(|e| {
            anyhow::anyhow!("{FILE} is not a valid syllabus; fix it and run again:\n{e}")
        })?;
        let syllabus = Syllabus {
            root: root.to_path_buf(),
            title: raw.course.title.unwrap_or_else(|| "The course".to_string()),
            topics: raw.topics,
        };
        let errors = syllabus.structural_errors();
        if !errors.is_empty() {
            bail!(
                "{FILE} has {}; fix them and run again:\n{}",
                crate::ui::plural(errors.len(), "error"),
                errors
                    .iter()
                    .map(|e| format!("  - {e}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        Ok(syllabus)
    }

    fn structural_errors(&self) -> Vec<String> {
        let mut errors = Vec::new();
        if self.topics.is_empty() {
            errors.push(
                "no topic is declared: add a [[topics]] table (name, title, package, dir) with its [[topics.steps]] (see the comment at the top of the course's own course.toml)"
                    .to_string(),
            );
        }
        let mut topic_names = HashSet::new();
        let mut dirs = HashSet::new();
        for topic in &self.topics {
            if !is_name(&topic.name) {
                errors.push(format!(
                    "topic name `{}`: use only letters, digits, `_` and `-`",
                    topic.name
                ));
            }
            if !topic_names.insert(topic.name.as_str()) {
                errors.push(format!("duplicate topic name `{}`", topic.name));
            }
            if !is_name(&topic.package) {
                errors.push(format!(
                    "topic `{}`: package `{}` is not a crate name",
                    topic.name, topic.package
                ));
            }
            if !is_name(&topic.dir) {
                errors.push(format!(
                    "topic `{}`: dir `{}` must be one folder name under exercises/ (letters, digits, `_`, `-`)",
                    topic.name, topic.dir
                ));
            }
            if !dirs.insert(topic.dir.as_str()) {
                errors.push(format!(
                    "topic `{}`: dir `{}` is already used by another topic",
                    topic.name, topic.dir
                ));
            }
            let mut step_names = HashSet::new();
            for step in &topic.steps {
                if !is_name(&step.name) {
                    errors.push(format!(
                        "step `{}/{}`: use only letters, digits, `_` and `-` in step names",
                        topic.name, step.name
                    ));
                }
                if !step_names.insert(step.name.as_str()) {
                    errors.push(format!(
                        "duplicate step name `{}/{}`",
                        topic.name, step.name
                    ));
                }
                if !is_relative_file(&step.file) {
                    errors.push(format!(
                        "step `{}/{}`: file `{}` must be a relative path inside exercises/{}/ (no `..`)",
                        topic.name, step.name, step.file, topic.dir
                    ));
                }
                if !is_name(&step.test) {
                    errors.push(format!(
                        "step `{}/{}`: test `{}` must be a test target's name (tests/<test>.rs), not a path",
                        topic.name, step.name, step.test
                    ));
                }
            }
        }
        errors
    }

    /// Teacher-facing problems that do not stop a student: too few hints, empty topics.
    pub fn lint(&self, only: Option<&Topic>) -> Vec<String> {
        let mut problems = Vec::new();
        for topic in self.topics_in(only) {
            if topic.steps.is_empty() {
                problems.push(format!(
                    "{FILE}: topic `{}` has no steps; add a [[topics.steps]] entry",
                    topic.name
                ));
            }
            for step in &topic.steps {
                let id = format!("{}/{}", topic.name, step.name);
                if step.hints.len() < 2 {
                    problems.push(format!(
                        "{FILE}: step `{id}` has {}; give at least 2, the last one nearly giving the answer",
                        crate::ui::plural(step.hints.len(), "hint")
                    ));
                }
                if step.hints.iter().any(|h| h.trim().is_empty()) {
                    problems.push(format!("{FILE}: step `{id}` has an empty hint"));
                }
                if step.filter.as_deref().is_some_and(|f| f.trim().is_empty()) {
                    problems.push(format!(
                        "{FILE}: step `{id}` has an empty filter; remove it to run every test of `{}`",
                        step.test
                    ));
                }
            }
        }
        problems
    }

    /// Mismatches between course.toml and the tree: missing package, test target, starter
    /// or reference.
    pub fn tree_problems(&self, only: Option<&Topic>) -> Vec<String> {
        let mut problems = Vec::new();
        for topic in self.topics_in(only) {
            let manifest = self
                .root
                .join("crates")
                .join(&topic.package)
                .join("Cargo.toml");
            if !manifest.is_file() {
                problems.push(format!(
                    "topic `{}`: package `{}` has no crates/{}/Cargo.toml",
                    topic.name, topic.package, topic.package
                ));
            } else {
                problems.extend(self.manifest_problems(topic, &manifest));
            }
            for step in &topic.steps {
                let r = StepRef { topic, step };
                if manifest.is_file() && !self.test_target_exists(r) {
                    problems.push(format!(
                        "step `{}`: no test target `{}` in package `{}` (expected {})",
                        r.id(),
                        step.test,
                        topic.package,
                        r.test_rel()
                    ));
                }
                for rel in [r.exercise_rel(), r.solution_rel()] {
                    if !self.root.join(&rel).is_file() {
                        problems.push(format!("step `{}`: {rel} does not exist", r.id()));
                    }
                }
            }
        }
        problems
    }

    fn manifest_problems(&self, topic: &Topic, manifest: &Path) -> Vec<String> {
        let rel = format!("crates/{}/Cargo.toml", topic.package);
        let table: toml::Table = match fs::read_to_string(manifest)
            .map_err(anyhow::Error::from)
            .and_then(|t| Ok(toml::from_str(&t)?))
        {
            Ok(table) => table,
            Err(e) => return vec![format!("{rel} cannot be read: {e}")],
        };
        let mut problems = Vec::new();
        let name = table
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str());
        if name != Some(topic.package.as_str()) {
            problems.push(format!(
                "topic `{}`: {rel} names its package {}, not `{}`",
                topic.name,
                name.map_or("nothing".to_string(), |n| format!("`{n}`")),
                topic.package
            ));
        }
        if table
            .get("features")
            .and_then(|f| f.get("solution"))
            .is_none()
        {
            problems.push(format!(
                "topic `{}`: {rel} has no `solution` feature; add `[features] solution = []` so the references can be tested",
                topic.name
            ));
        }
        problems
    }

    /// Whether the step's test target exists: `tests/<test>.rs`, `tests/<test>/main.rs`, or
    /// a `[[test]]` of that name in the package's Cargo.toml.
    pub fn test_target_exists(&self, step: StepRef<'_>) -> bool {
        let dir = self.root.join("crates").join(&step.topic.package);
        if dir
            .join("tests")
            .join(format!("{}.rs", step.step.test))
            .is_file()
            || dir
                .join("tests")
                .join(&step.step.test)
                .join("main.rs")
                .is_file()
        {
            return true;
        }
        let Ok(text) = fs::read_to_string(dir.join("Cargo.toml")) else {
            return false;
        };
        let Ok(table) = toml::from_str::<toml::Table>(&text) else {
            return false;
        };
        table
            .get("test")
            .and_then(|t| t.as_array())
            .is_some_and(|tests| {
                tests.iter().any(|t| {
                    t.get("name").and_then(|n| n.as_str()) == Some(step.step.test.as_str())
                        && t.get("path")
                            .and_then(|p| p.as_str())
                            .is_none_or(|p| dir.join(p).is_file())
                })
            })
    }

    fn topics_in<'a>(&'a self, only: Option<&'a Topic>) -> impl Iterator<Item = &'a Topic> {
        self.topics
            .iter()
            .filter(move |t| only.is_none_or(|o| std::ptr::eq(*t, o)))
    }

    /// Every step, in syllabus order.
    pub fn steps(&self) -> impl Iterator<Item = StepRef<'_>> {
        self.topics
            .iter()
            .flat_map(|topic| topic.steps.iter().map(move |step| StepRef { topic, step }))
    }

    /// The step named `id` (`topic/step`), if any.
    pub fn step(&self, id: &str) -> Option<StepRef<'_>> {
        self.steps().find(|s| s.id() == id)
    }

    /// Resolves a command-line name: `topic` or `topic/step`. Unknown names are a
    /// [`UsageError`] that suggests the nearest one.
    pub fn resolve(&self, spec: &str) -> Result<Selection<'_>, UsageError> {
        let spec = spec.trim().trim_end_matches('/');
        let (topic_name, step_name) = match spec.split_once('/') {
            Some((t, s)) => (t, Some(s)),
            None => (spec, None),
        };
        let Some(topic) = self.topics.iter().find(|t| t.name == topic_name) else {
            let names: Vec<&str> = self.topics.iter().map(|t| t.name.as_str()).collect();
            return Err(UsageError(format!(
                "no topic `{topic_name}`; {}",
                suggestion(topic_name, &names, "topics")
            )));
        };
        let Some(step_name) = step_name else {
            return Ok(Selection::Topic(topic));
        };
        match topic.steps.iter().find(|s| s.name == step_name) {
            Some(step) => Ok(Selection::Step(StepRef { topic, step })),
            None => {
                let names: Vec<&str> = topic.steps.iter().map(|s| s.name.as_str()).collect();
                Err(UsageError(format!(
                    "no step `{step_name}` in topic `{}`; {}",
                    topic.name,
                    suggestion(step_name, &names, "its steps")
                        .replace("did you mean `", &format!("did you mean `{}/", topic.name))
                )))
            }
        }
    }

    /// Resolves a name that must designate one step. A topic with a single step may be
    /// named alone.
    pub fn resolve_step(&self, spec: &str, command: &str) -> Result<StepRef<'_>, UsageError> {
        match self.resolve(spec)? {
            Selection::Step(step) => Ok(step),
            Selection::Topic(topic) if topic.steps.len() == 1 => Ok(StepRef {
                topic,
                step: &topic.steps[0],
            }),
            Selection::Topic(topic) => {
                let steps: Vec<String> = topic
                    .steps
                    .iter()
                    .map(|s| format!("{}/{}", topic.name, s.name))
                    .collect();
                Err(UsageError(format!(
                    "topic `{}` has {}; name one: `cargo course {command} {}`{}",
                    topic.name,
                    crate::ui::plural(steps.len(), "step"),
                    steps.first().map_or("", |s| s.as_str()),
                    if steps.len() > 1 {
                        format!(" (steps: {})", steps.join(", "))
                    } else {
                        String::new()
                    }
                )))
            }
        }
    }
}

/// "did you mean `x`?" when a name is close, else the list of names.
fn suggestion(wrong: &str, names: &[&str], what: &str) -> String {
    let best = names
        .iter()
        .map(|n| (strsim::jaro_winkler(wrong, n), *n))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((score, name)) if score >= 0.7 => format!("did you mean `{name}`?"),
        _ if names.is_empty() => "course.toml has none".to_string(),
        _ => format!("{what}: {}", names.join(", ")),
    }
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_relative_file(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('/')
        && !s.contains('\\')
        && s.split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[course]
title = "T"

[[topics]]
name = "tunnel"
title = "Tunnel"
package = "tunnel"
dir = "03_tunnel"

[[topics.steps]]
name = "basic"
file = "basic.rs"
test = "basic"
points = 5
hints = ["a", "b"]

[[topics.steps]]
name = "fair"
file = "fair.rs"
test = "fair"
points = 5
hints = ["a"]
"#;

    fn syllabus(text: &str) -> Result<Syllabus> {
        Syllabus::parse(Path::new("/nowhere"), text)
    }

    #[test]
    fn unknown_topic_suggests_the_nearest_name() {
        let s = syllabus(GOOD).unwrap();
        let e = s.resolve("tunel").unwrap_err();
        assert_eq!(e.0, "no topic `tunel`; did you mean `tunnel`?");
        let e = s.resolve("tunnel/fiar").unwrap_err();
        assert_eq!(
            e.0,
            "no step `fiar` in topic `tunnel`; did you mean `tunnel/fair`?"
        );
        let e = s.resolve("zzzzzz").unwrap_err();
        assert_eq!(e.0, "no topic `zzzzzz`; topics: tunnel");
    }

    #[test]
    fn a_topic_with_several_steps_is_not_a_step() {
        let s = syllabus(GOOD).unwrap();
        let e = s.resolve_step("tunnel", "hint").unwrap_err();
        assert!(e.0.contains("has 2 steps"), "{e}");
        assert_eq!(
            s.resolve_step("tunnel/fair", "hint").unwrap().id(),
            "tunnel/fair"
        );
    }

    #[test]
    fn duplicates_and_bad_names_are_fatal_and_all_listed() {
        let text = GOOD
            .replace("name = \"fair\"", "name = \"basic\"")
            .replace("file = \"fair.rs\"", "file = \"../fair.rs\"");
        let e = syllabus(&text).unwrap_err().to_string();
        assert!(e.contains("duplicate step name `tunnel/basic`"), "{e}");
        assert!(e.contains("file `../fair.rs`"), "{e}");
        assert!(e.contains("2 errors"), "{e}");
    }

    #[test]
    fn a_misspelt_field_is_named() {
        let text = GOOD.replace("hints = [\"a\"]", "hint = [\"a\"]");
        let e = syllabus(&text).unwrap_err().to_string();
        assert!(e.contains("unknown field `hint`"), "{e}");
    }

    #[test]
    fn an_empty_syllabus_is_refused() {
        for text in ["", "[course]\ntitle = \"T\"\n"] {
            let e = syllabus(text).unwrap_err().to_string();
            assert!(e.contains("no topic is declared"), "{e}");
        }
    }

    #[test]
    fn too_few_hints_is_a_lint() {
        let s = syllabus(GOOD).unwrap();
        assert_eq!(
            s.lint(None),
            [
                "course.toml: step `tunnel/fair` has 1 hint; give at least 2, the last one nearly giving the answer"
            ]
        );
    }
}
