//! The student's progress, in `.course-state.json` at the workspace root (ignored by git):
//! each step's status from its last check, the hints seen, and the current step.
//!
//! The file is a cache of what checks found, never the source of truth: a missing, corrupt
//! or stale file is rebuilt with a one-line notice (a corrupt one is kept beside it first),
//! and `check` brings any step up to date.
//!
//! Several runner calls may run at once (`watch` in one terminal, `check` in another, an
//! autograder checking steps in parallel). Every change therefore goes through
//! [`State::update`]: under an advisory lock on `.course-state.lock`, it reads the file as
//! it is now, applies the one change and writes the result through a temporary file of its
//! own, renamed over the old one. Two calls never lose each other's results.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::syllabus::{StepRef, Syllabus};

/// The state file's name, at the workspace root.
pub const FILE: &str = ".course-state.json";
/// The lock file's name, at the workspace root (never removed: removing a lock file while
/// another process waits on it would let a third one lock a new file).
pub const LOCK_FILE: &str = ".course-state.lock";
const VERSION: u32 = 1;

/// A step's status, as its last check left it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Never checked.
    #[default]
    NotStarted,
    /// Checked and failed (or did not compile).
    Failing,
    /// Checked and passed.
    Done,
}

impl Status {
    /// How `list` shows it.
    pub fn label(self) -> &'static str {
        match self {
            Status::NotStarted => "not started",
            Status::Failing => "failing",
            Status::Done => "done",
        }
    }
}

/// What the state file remembers about one step.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct StepState {
    /// The last check's result.
    #[serde(default)]
    pub status: Status,
    /// How many hints `hint` has shown.
    #[serde(default)]
    pub hints_shown: usize,
    /// The exercise file's modification time at the last check (nanoseconds since the
    /// epoch), to tell "done" from "done, edited since".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_mtime: Option<u128>,
}

/// The whole state file.
#[derive(Debug, Serialize, Deserialize)]
pub struct State {
    version: u32,
    /// The current step (first not done), for tools that read the file.
    #[serde(default)]
    current: Option<String>,
    /// Per step, keyed by `topic/step`.
    #[serde(default)]
    steps: BTreeMap<String, StepState>,
    #[serde(skip)]
    path: PathBuf,
    #[serde(skip)]
    dirty: bool,
}

impl State {
    /// Loads the state of `syllabus`'s workspace, to read it. Never fails: an unreadable or
    /// stale file is replaced in memory (the next [`State::update`] writes the replacement,
    /// with a one-line notice on standard error). Changes go through [`State::update`].
    pub fn load(syllabus: &Syllabus) -> State {
        Self::read(syllabus, false)
    }

    /// Applies `change` to the state file as it is now, under the lock, and saves it.
    ///
    /// # Errors
    ///
    /// When the lock or the file cannot be written (a read-only folder).
    pub fn update<R>(syllabus: &Syllabus, change: impl FnOnce(&mut State) -> R) -> Result<R> {
        let lock_path = syllabus.root.join(LOCK_FILE);
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| {
                format!(
                    "cannot open {}; check that the course's folder is writable",
                    lock_path.display()
                )
            })?;
        let _guard = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, errno)| errno)
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
        let mut state = Self::read(syllabus, true);
        let result = change(&mut state);
        state.save(syllabus)?;
        Ok(result)
    }

    /// Reads the file; with `locked` (the caller holds the lock), a corrupt file is kept
    /// as a backup before it is replaced.
    fn read(syllabus: &Syllabus, locked: bool) -> State {
        let path = syllabus.root.join(FILE);
        let fresh = || State {
            version: VERSION,
            current: None,
            steps: BTreeMap::new(),
            path: path.clone(),
            dirty: true,
        };
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return fresh(),
            Err(e) => {
                if locked {
                    notice(&format!("cannot read {FILE} ({e}); starting a fresh one"));
                }
                return fresh();
            }
        };
        let mut state = match serde_json::from_str::<State>(&text) {
            Ok(state) if state.version == VERSION => state,
            Ok(state) if locked => {
                notice(&format!(
                    "{FILE} is from another version of the runner (version {}); starting a fresh one{}",
                    state.version,
                    backup(&path, locked)
                ));
                return fresh();
            }
            Ok(_) => return fresh(),
            Err(e) if locked => {
                notice(&format!(
                    "{FILE} is corrupt ({e}); starting a fresh one{} (your exercise files are untouched; `check` restores each step's status)",
                    backup(&path, locked)
                ));
                return fresh();
            }
            Err(_) => return fresh(),
        };
        state.path = path;
        let stale: Vec<String> = state
            .steps
            .keys()
            .filter(|id| syllabus.step(id).is_none())
            .cloned()
            .collect();
        if !stale.is_empty() {
            if locked {
                notice(&format!(
                    "forgetting progress on {} no longer in course.toml: {}",
                    if stale.len() == 1 { "a step" } else { "steps" },
                    stale.join(", ")
                ));
            }
            for id in &stale {
                state.steps.remove(id);
            }
            state.dirty = true;
        }
        for step in syllabus.steps() {
            if let Some(s) = state.steps.get_mut(&step.id()) {
                let max = step.step.hints.len();
                if s.hints_shown > max {
                    s.hints_shown = max;
                    state.dirty = true;
                }
            }
        }
        let current = state.current(syllabus).map(|s| s.id());
        if current != state.current {
            state.current = current;
            state.dirty = true;
        }
        state
    }

    /// Writes the file atomically: a temporary file of this process's own, renamed over it.
    /// The caller holds the lock ([`State::update`]).
    fn save(&mut self, syllabus: &Syllabus) -> Result<()> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        self.current = self.current(syllabus).map(|s| s.id());
        let tmp = self.path.with_file_name(format!(
            "{FILE}.{}-{}.tmp",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(e).with_context(|| {
                format!(
                    "cannot save your progress to {}; check that the folder is writable",
                    self.path.display()
                )
            });
        }
        self.dirty = false;
        Ok(())
    }

    /// Whether loading had to change something (a rebuilt file, a forgotten step).
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The step's remembered state.
    pub fn get(&self, step: StepRef<'_>) -> StepState {
        self.steps.get(&step.id()).cloned().unwrap_or_default()
    }

    /// The step's status.
    pub fn status(&self, step: StepRef<'_>) -> Status {
        self.get(step).status
    }

    /// Whether the step is done but its file changed after the check that said so.
    pub fn edited_since_check(&self, step: StepRef<'_>, root: &Path) -> bool {
        let s = self.get(step);
        s.status == Status::Done
            && s.checked_mtime.is_some()
            && s.checked_mtime != mtime(&root.join(step.exercise_rel()))
    }

    /// Records a check's result; `checked_mtime` is the exercise file's [`mtime`] when the
    /// check started (a save during the check makes the step "edited since").
    pub fn record(&mut self, step: StepRef<'_>, checked_mtime: Option<u128>, passed: bool) {
        let entry = self.steps.entry(step.id()).or_default();
        entry.status = if passed {
            Status::Done
        } else {
            Status::Failing
        };
        entry.checked_mtime = checked_mtime;
        self.dirty = true;
    }

    /// Forgets a step's check (after `reset`), keeping its hints.
    pub fn forget_check(&mut self, step: StepRef<'_>) {
        if let Some(entry) = self.steps.get_mut(&step.id()) {
            entry.status = Status::NotStarted;
            entry.checked_mtime = None;
            self.dirty = true;
        }
    }

    /// Counts one more hint seen for `step` (up to its number of hints) and returns how
    /// many have now been shown.
    pub fn next_hint(&mut self, step: StepRef<'_>) -> usize {
        let max = step.step.hints.len();
        let entry = self.steps.entry(step.id()).or_default();
        entry.hints_shown = (entry.hints_shown + 1).min(max);
        self.dirty = true;
        entry.hints_shown
    }

    /// The current step: the first one, in syllabus order, that is not done.
    pub fn current<'a>(&self, syllabus: &'a Syllabus) -> Option<StepRef<'a>> {
        syllabus.steps().find(|s| self.status(*s) != Status::Done)
    }

    /// The first step not done after `after` in syllabus order, wrapping around.
    pub fn next_after<'a>(
        &self,
        syllabus: &'a Syllabus,
        after: StepRef<'_>,
    ) -> Option<StepRef<'a>> {
        let steps: Vec<StepRef<'a>> = syllabus.steps().collect();
        let at = steps.iter().position(|s| s.id() == after.id()).unwrap_or(0);
        steps[at + 1..]
            .iter()
            .chain(&steps[..at])
            .find(|s| self.status(**s) != Status::Done)
            .copied()
    }
}

/// A file's modification time in nanoseconds since the epoch.
pub fn mtime(path: &Path) -> Option<u128> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    Some(
        modified
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    )
}

/// Keeps an unreadable state file as `.course-state.corrupt-<seconds>.json` (with the lock
/// held only: two processes must not both move it), and says where it went.
fn backup(path: &Path, locked: bool) -> String {
    if !locked {
        return String::new();
    }
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let kept = path.with_file_name(format!(".course-state.corrupt-{secs}.json"));
    match fs::rename(path, &kept) {
        Ok(()) => format!(
            " (the old one is kept as {})",
            kept.file_name().unwrap_or_default().to_string_lossy()
        ),
        Err(_) => String::new(),
    }
}

fn notice(message: &str) {
    eprintln!("{} {message}", crate::ui::yellow("note:"));
}
