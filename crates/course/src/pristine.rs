//! The starters as shipped: `.course/starters/<dir>/<file>`, a committed copy of every file
//! under `exercises/` that the student never edits.
//!
//! `reset` restores a step from it, and a check builds the topic's other steps from it when
//! the course has no `solutions/` (a student's repository). Being part of the repository,
//! it follows `git pull` and survives `cargo clean` and edits of course.toml; being outside
//! `exercises/`, it never holds the student's edits. `cargo course verify` checks that it
//! matches `exercises/` in the teacher's course, and `cargo course verify --update-starters`
//! refreshes it after a starter was changed on purpose.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::syllabus::{StepRef, Syllabus, Topic};

/// The folder of the copies, relative to the course's root.
pub const DIR: &str = ".course/starters";

/// `.course/starters/<dir>/<file>` of `step`, relative to the root.
pub fn rel(step: StepRef<'_>) -> String {
    format!("{DIR}/{}/{}", step.topic.dir, step.step.file)
}

/// The copy of `step`'s starter, if the course has one.
pub fn path(root: &Path, step: StepRef<'_>) -> Option<PathBuf> {
    Some(root.join(rel(step))).filter(|p| p.is_file())
}

/// The starter of `step` as shipped.
pub fn read(root: &Path, step: StepRef<'_>) -> Option<Vec<u8>> {
    fs::read(path(root, step)?).ok()
}

/// The steps (of `only`, or all) whose copy is missing or differs from `exercises/`, as
/// problems for `verify`.
pub fn problems(syllabus: &Syllabus, only: Option<&Topic>) -> Vec<String> {
    let mut problems = Vec::new();
    for step in syllabus
        .steps()
        .filter(|s| only.is_none_or(|o| std::ptr::eq(s.topic, o)))
    {
        let Ok(current) = fs::read(syllabus.root.join(step.exercise_rel())) else {
            continue; // reported as a missing starter already
        };
        let copy = read(&syllabus.root, step);
        let what = match copy {
            None => "is missing",
            Some(copy) if copy != current => "differs from the starter",
            Some(_) => continue,
        };
        problems.push(format!(
            "{} (what `reset` restores) {what} {}; if exercises/ holds the starters as they should ship, run `cargo course verify --update-starters`",
            rel(step),
            step.exercise_rel()
        ));
    }
    problems
}

/// Copies every step's starter from `exercises/` to `.course/starters/` and removes copies
/// of files no longer in course.toml. Returns the files written or removed.
pub fn update(syllabus: &Syllabus) -> Result<Vec<String>> {
    let mut changed = Vec::new();
    let mut keep = Vec::new();
    for step in syllabus.steps() {
        let rel = rel(step);
        keep.push(syllabus.root.join(&rel));
        let from = syllabus.root.join(step.exercise_rel());
        let Ok(current) = fs::read(&from) else {
            continue;
        };
        if read(&syllabus.root, step).as_deref() == Some(&current[..]) {
            continue;
        }
        let to = syllabus.root.join(&rel);
        if let Some(dir) = to.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        fs::write(&to, &current).with_context(|| format!("cannot write {rel}"))?;
        changed.push(rel);
    }
    remove_others(
        &syllabus.root.join(DIR),
        &keep,
        &syllabus.root,
        &mut changed,
    )?;
    Ok(changed)
}

fn remove_others(
    dir: &Path,
    keep: &[PathBuf],
    root: &Path,
    removed: &mut Vec<String>,
) -> Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_others(&path, keep, root, removed)?;
            let _ = fs::remove_dir(&path); // only if empty
        } else if !keep.contains(&path) {
            fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
            removed.push(
                path.strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    Ok(())
}
