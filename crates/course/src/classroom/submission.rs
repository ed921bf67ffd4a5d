//! A submission: where its step files are, and the copies `grade` takes of them.
//!
//! Only the files the teacher's course.toml declares under `exercises/` are taken, each as
//! a regular file (a symbolic link could point at the teacher's own files), small and in
//! UTF-8, copied into the grader's folder before anything is built. Everything else in
//! the submission (its tests, snapshots, course.toml, crates) is never read.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::cargo::{Job, run_supervised};
use crate::syllabus::StepRef;

/// The largest step file taken (a starter is a few KiB).
pub const MAX_FILE: u64 = 512 * 1024;

/// A submission's step files, copied.
#[derive(Debug)]
pub struct Submission {
    /// Each step found: `exercises/<dir>/<file>` -> the grader's copy.
    pub files: BTreeMap<String, PathBuf>,
    /// Each step file that was there but not taken, and why.
    pub refused: BTreeMap<String, String>,
}

/// Whether `arg` names a git repository to clone rather than a folder to read.
pub fn is_git(arg: &str) -> bool {
    if arg.contains("://") || (arg.starts_with("git@") && arg.contains(':')) {
        return true;
    }
    let path = Path::new(arg);
    path.is_dir()
        && (arg.trim_end_matches('/').ends_with(".git")
            || (path.join("HEAD").is_file() && path.join("objects").is_dir()))
}

/// The name of a submission given as `arg`: the last part of its path or URL, without
/// `.git`, in letters, digits, `-`, `_` and `.` only.
pub fn name_of(arg: &str) -> String {
    let trimmed = arg.trim_end_matches('/');
    let last = trimmed
        .rsplit(['/', ':'])
        .next()
        .unwrap_or(trimmed)
        .trim_end_matches(".git");
    let name: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with('.') {
        format!("submission{name}")
    } else {
        name
    }
}

/// Opens the submission `arg` (a folder, or a git repository's path or URL, cloned into
/// `work/clones/<name>`) and copies its step files for `steps` into `work/files/<name>`.
pub fn open(arg: &str, name: &str, steps: &[StepRef<'_>], work: &Path) -> Result<Submission> {
    let root = if is_git(arg) {
        let dest = work.join("clones").join(name);
        let _ = fs::remove_dir_all(&dest);
        fs::create_dir_all(work.join("clones"))?;
        let job = Job {
            program: "git".into(),
            args: vec![
                "clone".into(),
                "--quiet".into(),
                "--depth".into(),
                "1".into(),
                "--no-tags".into(),
                "--".into(),
                arg.to_string(),
                dest.to_string_lossy().into_owned(),
            ],
            cwd: work.to_path_buf(),
            // Never ask for a password: a private repository is an error, not a prompt.
            env: vec![("GIT_TERMINAL_PROMPT".into(), "0".into())],
            echo: false,
        };
        let run = run_supervised(&job, &mut |_| {})
            .with_context(|| format!("cannot run `git clone {arg}`; is git installed?"))?;
        if !run.success() {
            bail!(
                "`git clone {arg}` failed: {}",
                run.stderr.trim().lines().last().unwrap_or("no message")
            );
        }
        dest
    } else {
        let path = PathBuf::from(arg);
        if !path.is_dir() {
            bail!(
                "{arg} is neither a folder nor a git repository; give a student's folder, a repository's path or its URL"
            );
        }
        path
    };
    let staged = work.join("files").join(name);
    let _ = fs::remove_dir_all(&staged);
    let base = exercises_folder(&root);
    let mut submission = Submission {
        files: BTreeMap::new(),
        refused: BTreeMap::new(),
    };
    let mut loose: Option<Vec<PathBuf>> = None;
    for step in steps {
        let rel = step.exercise_rel();
        let found = match &base {
            Some(base) => Some(base.join(&step.topic.dir).join(&step.step.file))
                .filter(|p| fs::symlink_metadata(p).is_ok()),
            None => {
                // Files uploaded without their folders (Gradescope): `<dir>/<file>`, or a
                // file name no other step of the course shares.
                let files = loose.get_or_insert_with(|| {
                    let mut found = Vec::new();
                    files_under(&root, 0, &mut found);
                    found
                });
                find_loose(files, step, steps)
            }
        };
        let Some(found) = found else {
            continue;
        };
        match take(&found) {
            Ok(bytes) => {
                let to = staged.join(&rel);
                fs::create_dir_all(to.parent().expect("a step file has a folder"))?;
                fs::write(&to, bytes).with_context(|| format!("cannot write {}", to.display()))?;
                submission.files.insert(rel, to);
            }
            Err(why) => {
                submission.refused.insert(rel, why);
            }
        }
    }
    Ok(submission)
}

/// The submission's `exercises/` folder: at its root, or one or two folders down (an
/// archive that wraps the repository in a folder).
fn exercises_folder(root: &Path) -> Option<PathBuf> {
    let direct = root.join("exercises");
    if direct.is_dir() {
        return Some(direct);
    }
    let mut level = vec![root.to_path_buf()];
    for _ in 0..2 {
        let mut next = Vec::new();
        for dir in level {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            let mut children: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .filter(|p| !p.ends_with(".git") && !p.ends_with("target"))
                .collect();
            children.sort();
            for child in children {
                if child.join("exercises").is_dir() {
                    return Some(child.join("exercises"));
                }
                next.push(child);
            }
        }
        level = next;
    }
    None
}

fn files_under(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > 4 {
        return;
    }
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            let name = entry.file_name();
            if name != ".git" && name != "target" {
                files_under(&path, depth + 1, out);
            }
        } else {
            out.push(path);
        }
    }
}

fn find_loose(files: &[PathBuf], step: &StepRef<'_>, steps: &[StepRef<'_>]) -> Option<PathBuf> {
    let in_dir = Path::new(&step.topic.dir).join(&step.step.file);
    if let Some(found) = files.iter().find(|p| p.ends_with(&in_dir)) {
        return Some(found.clone());
    }
    let name = Path::new(&step.step.file).file_name()?;
    let shared = steps
        .iter()
        .filter(|s| Path::new(&s.step.file).file_name() == Some(name))
        .count();
    let matching: Vec<&PathBuf> = files
        .iter()
        .filter(|p| p.file_name() == Some(name))
        .collect();
    match (shared, matching.as_slice()) {
        (1, [one]) => Some((*one).clone()),
        _ => None,
    }
}

/// Reads a step file if it may be taken.
fn take(path: &Path) -> Result<Vec<u8>, String> {
    let meta = fs::symlink_metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err("is a symbolic link; the grader takes only regular files".to_string());
    }
    if !meta.is_file() {
        return Err("is not a regular file".to_string());
    }
    if meta.len() > MAX_FILE {
        return Err(format!(
            "has {} bytes, more than the {MAX_FILE} a step file may have",
            meta.len()
        ));
    }
    let bytes = fs::read(path).map_err(|e| format!("cannot be read: {e}"))?;
    if std::str::from_utf8(&bytes).is_err() {
        return Err("is not UTF-8 text".to_string());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_last_part_of_a_path_or_url() {
        assert_eq!(name_of("subs/alice/"), "alice");
        assert_eq!(name_of("https://github.com/class/hw1-bob.git"), "hw1-bob");
        assert_eq!(name_of("git@github.com:class/hw1 carol.git"), "hw1_carol");
        assert_eq!(name_of("/"), "submission");
    }

    #[test]
    fn urls_and_bare_repositories_are_cloned() {
        assert!(is_git("https://github.com/class/hw1-bob"));
        assert!(is_git("git@github.com:class/hw1-bob.git"));
        assert!(!is_git("subs/alice"));
    }
}
