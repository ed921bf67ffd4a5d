//! `cargo course watch [--poll]`: re-checks the current step on every save of its file.
//!
//! Saves are seen through file notifications (the `notify` crate) on the file's folder, with
//! a modification-time poll alongside: when the poll sees a change that no notification
//! reported, notifications are not arriving (some network and container file systems) and
//! the watch switches to polling, saying so. `--poll` polls from the start.
//!
//! Each check starts on a cleared screen (on a terminal) with the keys, and ends with its
//! verdict line. Keys: h hint, a all hints seen, n next step (once the current one passes),
//! l list, c check again, q quit. On a terminal they act at once (raw mode); otherwise
//! standard input is read line by line.

use std::collections::VecDeque;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::state::{State, mtime};
use crate::syllabus::{StepRef, Syllabus};
use crate::ui::{self, CrLf, dim, green, just, red, yellow};

/// How often the file's modification time is polled.
const POLL_EVERY: Duration = Duration::from_millis(400);
/// How long after a change seen by polling a notification may still arrive.
const NOTIFY_GRACE: Duration = Duration::from_secs(3);
/// Saves closer together than this are one change (editors write in several steps).
const DEBOUNCE: Duration = Duration::from_millis(150);

static RAW_MODE: AtomicBool = AtomicBool::new(false);

/// Gives the terminal back (leaves raw mode) if watch had taken it.
pub fn restore_terminal() {
    if RAW_MODE.swap(false, Ordering::SeqCst) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

struct RawModeGuard;

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

enum Event {
    Key(char),
    Changed,
    InputClosed,
}

/// Watches until `q` (or every step is done).
pub fn run(syllabus: &Syllabus, poll: bool) -> Result<ExitCode> {
    let Some(first) = State::load(syllabus).current(syllabus) else {
        println!(
            "{} ({} to see them)",
            green("Every step is done: nothing to watch."),
            just("list")
        );
        return Ok(ExitCode::SUCCESS);
    };

    let (tx, rx) = mpsc::channel();
    let interactive = io::stdin().is_terminal();
    let _guard = if interactive && crossterm::terminal::enable_raw_mode().is_ok() {
        RAW_MODE.store(true, Ordering::SeqCst);
        spawn_key_reader(tx.clone());
        Some(RawModeGuard)
    } else {
        spawn_line_reader(tx.clone());
        None
    };
    let mut out: Box<dyn Write> = if RAW_MODE.load(Ordering::SeqCst) {
        Box::new(CrLf(io::stdout()))
    } else {
        Box::new(io::stdout())
    };

    let target = Arc::new(Mutex::new(absolute(
        &syllabus.root.join(first.exercise_rel()),
    )));
    let mut watcher = if poll {
        None
    } else {
        match start_watcher(&target, tx.clone()) {
            Ok(watcher) => Some(watcher),
            Err(e) => {
                writeln!(
                    out,
                    "{}",
                    yellow(format!(
                        "note: file notifications are not available ({e}); polling instead"
                    ))
                )?;
                None
            }
        }
    };

    let mut session = Session {
        syllabus,
        step: first,
        passed: false,
        notifications: watcher.is_some(),
        clear: io::stdout().is_terminal(),
        out: &mut *out,
    };
    session.check()?;

    let mut pending: VecDeque<Event> = VecDeque::new();
    let mut last_mtime = mtime(&lock(&target));
    let mut unreported_change: Option<Instant> = None;
    loop {
        let event = match pending.pop_front() {
            Some(event) => Some(event),
            None => match rx.recv_timeout(POLL_EVERY) {
                Ok(event) => Some(event),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            },
        };
        match event {
            Some(Event::Changed) => {
                // Let the editor finish writing, and fold the burst into one change.
                thread::sleep(DEBOUNCE);
                while let Ok(event) = rx.try_recv() {
                    if !matches!(event, Event::Changed) {
                        pending.push_back(event);
                    }
                }
                unreported_change = None;
                let now = mtime(&lock(&target));
                if now == last_mtime && now.is_some() {
                    continue; // a notification for another file, or an access
                }
                last_mtime = now;
                session.check()?;
            }
            Some(Event::Key(key)) => match key {
                'q' => break,
                'h' => {
                    writeln!(session.out)?;
                    crate::hint::show_next(syllabus, session.step, session.out)?;
                }
                'a' => {
                    writeln!(session.out)?;
                    crate::hint::show_revealed(syllabus, session.step, session.out)?;
                }
                'c' => session.check()?,
                'l' => {
                    let state = State::load(syllabus);
                    crate::list::print(syllabus, &state, session.out)?;
                }
                'n' if session.passed => {
                    let state = State::load(syllabus);
                    let Some(next) = state.next_after(syllabus, session.step) else {
                        writeln!(session.out, "{}", green("Every step is done. Well done!"))?;
                        break;
                    };
                    session.step = next;
                    let path = absolute(&syllabus.root.join(next.exercise_rel()));
                    if let Some(w) = watcher.as_mut() {
                        let old = lock(&target).clone();
                        if let Some(dir) = old.parent() {
                            let _ = w.unwatch(dir);
                        }
                        if let Some(dir) = path.parent() {
                            let _ = w.watch(dir, RecursiveMode::NonRecursive);
                        }
                    }
                    *lock(&target) = path;
                    last_mtime = mtime(&lock(&target));
                    unreported_change = None;
                    session.check()?;
                }
                'n' => writeln!(
                    session.out,
                    "{}",
                    yellow(format!(
                        "n moves on once {} passes; save your file to re-check it",
                        session.step.id()
                    ))
                )?,
                _ => session.help()?,
            },
            Some(Event::InputClosed) => {
                writeln!(
                    session.out,
                    "{}",
                    dim("(standard input closed: keys are off; Ctrl-C stops watching)")
                )?;
            }
            None => {
                let now = mtime(&lock(&target));
                if now == last_mtime {
                    if let Some(since) = unreported_change {
                        if watcher.is_some() && since.elapsed() > NOTIFY_GRACE {
                            writeln!(
                                session.out,
                                "{}",
                                yellow(format!(
                                    "note: {} changed but no file notification arrived; notifications seem not to work here (a network or container file system?). Polling from now on ({} starts that way).",
                                    session.step.exercise_rel(),
                                    just("watch --poll")
                                ))
                            )?;
                            watcher = None;
                            session.notifications = false;
                            unreported_change = None;
                            session.check()?;
                        }
                    }
                    continue;
                }
                last_mtime = now;
                if watcher.is_some() {
                    unreported_change.get_or_insert_with(Instant::now);
                } else {
                    session.check()?;
                }
            }
        }
    }
    crate::cargo::stop_running_children();
    Ok(ExitCode::SUCCESS)
}

struct Session<'a, 'o> {
    syllabus: &'a Syllabus,
    step: StepRef<'a>,
    passed: bool,
    notifications: bool,
    /// Clear the screen before each check (standard output is a terminal).
    clear: bool,
    out: &'o mut dyn Write,
}

impl Session<'_, '_> {
    /// Checks the step on a fresh screen: the keys first, the verdict last.
    fn check(&mut self) -> Result<()> {
        if self.clear {
            // Clear the screen and the scrollback, cursor home (as rustlings does).
            write!(self.out, "\x1b[2J\x1b[3J\x1b[H")?;
        } else {
            writeln!(self.out)?;
        }
        self.help()?;
        match crate::check::check_step(
            self.syllabus,
            self.step,
            crate::check::AfterPass::WatchKeys,
            self.out,
        ) {
            Ok(verdict) => self.passed = verdict.passed(),
            Err(e) => {
                self.passed = false;
                writeln!(self.out, "{} {e:#}", red("error:"))?;
            }
        }
        self.out.flush()?;
        Ok(())
    }

    fn help(&mut self) -> Result<()> {
        let how = if self.notifications {
            "file notifications"
        } else {
            "polling"
        };
        let enter = if RAW_MODE.load(Ordering::SeqCst) {
            ""
        } else {
            " (then Enter)"
        };
        writeln!(
            self.out,
            "{}",
            ui::fit(
                &dim(format!(
                    "watching {} ({how}) · keys{enter}: h hint · a hints seen · n next · l list · c check · q quit",
                    self.step.exercise_rel()
                )),
                ui::WIDTH
            )
        )?;
        self.out.flush()?;
        Ok(())
    }
}

fn lock(target: &Mutex<PathBuf>) -> std::sync::MutexGuard<'_, PathBuf> {
    target
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Watches the target file's folder (editors often save by renaming a new file over the old
/// one, which a watch on the file itself would lose) and reports events about the file.
fn start_watcher(
    target: &Arc<Mutex<PathBuf>>,
    tx: Sender<Event>,
) -> notify::Result<RecommendedWatcher> {
    let filter = Arc::clone(target);
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        let target = lock(&filter).clone();
        let name = target.file_name();
        if event
            .paths
            .iter()
            .any(|p| p == &target || p.file_name() == name)
        {
            let _ = tx.send(Event::Changed);
        }
    })?;
    let dir = lock(target).parent().map(Path::to_path_buf);
    if let Some(dir) = dir {
        watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    }
    Ok(watcher)
}

/// Keys from a terminal in raw mode, acting at once. Ctrl-C leaves immediately (raw mode
/// turns it into a key, so no signal would stop a running check).
fn spawn_key_reader(tx: Sender<Event>) {
    use crossterm::event::{self, KeyCode, KeyEventKind, KeyModifiers};
    thread::spawn(move || {
        while let Ok(event) = event::read() {
            let event::Event::Key(key) = event else {
                continue;
            };
            if key.kind != KeyEventKind::Press {
                continue;
            }
            let c = match key.code {
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    restore_terminal();
                    crate::cargo::stop_running_children();
                    println!();
                    std::process::exit(130);
                }
                KeyCode::Char(c) => c.to_ascii_lowercase(),
                KeyCode::Esc => 'q',
                KeyCode::Enter => continue,
                _ => '?',
            };
            if tx.send(Event::Key(c)).is_err() {
                break;
            }
        }
    });
}

/// Keys from standard input when it is not a terminal: the first letter of each line.
fn spawn_line_reader(tx: Sender<Event>) {
    thread::spawn(move || {
        for line in io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if let Some(c) = line.trim().chars().next() {
                if tx.send(Event::Key(c.to_ascii_lowercase())).is_err() {
                    return;
                }
            }
        }
        let _ = tx.send(Event::InputClosed);
    });
}
