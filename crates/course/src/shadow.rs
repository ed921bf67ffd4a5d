//! The workspace where the student's files are built: a mirror of the course under
//! `target/course/ws`, built into `target/course/target`.
//!
//! Checking a step builds its topic's crate, which includes every step's file. In the
//! mirror, only the checked step's file is the student's; the topic's other step files are
//! the starters as shipped (from `.course/starters/`, see [`crate::pristine`]; the
//! references where a course has no such copy). They compile and have the same API, and a
//! step's tests use only their own step's module. So a later step left half-done cannot
//! fail an earlier step's check or cost its points, a compile error is always the checked
//! file's, and while the student has edited only the step being checked, every step is
//! built from the same files (no rebuild when moving from step to step).
//!
//! The mirror also keeps the student's builds apart from the references': `cargo test
//! --features solution` in the course folder builds the demo binaries into
//! `target/debug/<demo>`, the checks into `target/course/target/debug/<demo>`, so a check
//! running beside the reference tests can never swap the binary a test runs.
//!
//! Files are copied, not linked (cargo and rustc would see through links to the original
//! folders), and only when their contents changed, so unchanged files keep their times and
//! cargo rebuilds only what changed. One runner at a time uses the mirror (an advisory lock
//! on `target/course/ws.lock`); a second one waits.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use nix::fcntl::{Flock, FlockArg};

use crate::pristine;
use crate::syllabus::{StepRef, Syllabus};

/// The top-level entries of the course that a build can need.
const MIRRORED: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "course.toml",
    "rust-toolchain",
    "rust-toolchain.toml",
    ".cargo",
    "crates",
    "solutions",
    "exercises",
];

/// Which of the student's files the mirror holds.
#[derive(Debug, Clone, Copy)]
pub enum Students<'a> {
    /// Only this step's file; the topic's other steps are references or pristine starters.
    Step(StepRef<'a>),
    /// Every file under `exercises/` as it is (for building all starters at once).
    All,
}

/// A prepared mirror, locked while this value lives.
pub struct Workspace {
    /// The mirror's root, where cargo runs.
    pub root: PathBuf,
    /// The target folder its builds use.
    pub target: PathBuf,
    _lock: Flock<File>,
}

/// The course's target folder: `CARGO_TARGET_DIR`, else `<root>/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => std::path::absolute(PathBuf::from(&dir)).unwrap_or_else(|_| dir.into()),
        None => root.join("target"),
    }
}

/// Brings the mirror up to date for `students` and locks it.
pub fn prepare(syllabus: &Syllabus, students: Students<'_>) -> Result<Workspace> {
    let base = target_dir(&syllabus.root).join("course");
    fs::create_dir_all(&base)
        .with_context(|| format!("cannot create {}; is the folder writable?", base.display()))?;
    let lock_path = base.join("ws.lock");
    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    let lock = Flock::lock(lock, FlockArg::LockExclusive)
        .map_err(|(_, errno)| errno)
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    let ws = base.join("ws");

    let mut expected: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    for entry in MIRRORED {
        collect(&syllabus.root, Path::new(entry), &mut expected);
    }
    if let Students::Step(step) = students {
        for other in &step.topic.steps {
            if other.name == step.step.name {
                continue;
            }
            let other = StepRef {
                topic: step.topic,
                step: other,
            };
            let rel = PathBuf::from(other.exercise_rel());
            let reference = syllabus.root.join(other.solution_rel());
            if let Some(pristine) = pristine::path(&syllabus.root, other) {
                expected.insert(rel, pristine);
            } else if reference.is_file() {
                expected.insert(rel, reference);
            }
        }
    }
    sync(&ws, &expected)
        .with_context(|| format!("cannot prepare the build folder {}", ws.display()))?;
    Ok(Workspace {
        root: ws,
        target: base.join("target"),
        _lock: lock,
    })
}

/// Adds every file under `root/rel` (a file or a folder) to `files`, keyed by its path
/// relative to `root`.
fn collect(root: &Path, rel: &Path, files: &mut BTreeMap<PathBuf, PathBuf>) {
    let path = root.join(rel);
    let Ok(meta) = fs::metadata(&path) else {
        return;
    };
    if meta.is_file() {
        let name = rel.to_string_lossy();
        if !name.ends_with(".snap.new") && !name.ends_with(".pending-snap") {
            files.insert(rel.to_path_buf(), path);
        }
        return;
    }
    if !meta.is_dir() {
        return;
    }
    let Ok(entries) = fs::read_dir(&path) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        collect(root, &rel.join(name), files);
    }
}

/// Makes `dir` hold exactly `files` (mirror path -> source), writing only what changed.
fn sync(dir: &Path, files: &BTreeMap<PathBuf, PathBuf>) -> std::io::Result<()> {
    for (rel, source) in files {
        let to = dir.join(rel);
        let new = fs::read(source)?;
        if fs::read(&to).is_ok_and(|old| old == new) {
            continue;
        }
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)?;
        }
        // A fresh file (not a rewrite in place): a build still reading the old one is
        // not disturbed, and the time changes so cargo sees it.
        let tmp = to.with_extension("course-tmp");
        fs::write(&tmp, &new)?;
        fs::set_permissions(&tmp, fs::metadata(source)?.permissions())?;
        fs::rename(&tmp, &to)?;
    }
    let keep: BTreeSet<&Path> = files.keys().map(PathBuf::as_path).collect();
    remove_extra(dir, Path::new(""), &keep)?;
    Ok(())
}

/// Removes what is under `dir/rel` but not in `keep` (except the Cargo.lock cargo writes
/// when the course has none).
fn remove_extra(dir: &Path, rel: &Path, keep: &BTreeSet<&Path>) -> std::io::Result<bool> {
    let mut empty = true;
    for entry in fs::read_dir(dir.join(rel))?.flatten() {
        let child = rel.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if remove_extra(dir, &child, keep)? {
                fs::remove_dir(dir.join(&child))?;
            } else {
                empty = false;
            }
        } else if keep.contains(child.as_path()) || child == Path::new("Cargo.lock") {
            empty = false;
        } else {
            fs::remove_file(dir.join(&child))?;
        }
    }
    Ok(empty)
}
