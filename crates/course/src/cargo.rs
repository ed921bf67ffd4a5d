//! Running `cargo test` for a step (under a supervisor and a watchdog) and reading
//! libtest's output.
//!
//! Every cargo run goes through [`run_supervised`]: a supervisor process
//! ([`crate::supervise`]) owns everything the run starts, the run gets a private TMPDIR that
//! is removed afterwards, and a watchdog with two budgets stops it: one for building
//! (generous: a cold build on a busy machine is slow, not stuck) and one for the tests,
//! counted from the moment the first test binary starts.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::syllabus::StepRef;

/// How long the tests of one cargo run may take, from the start of the first test binary,
/// before the watchdog stops them. `COURSE_TIMEOUT_SECS` overrides it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// How long building may take before the watchdog gives up (a cold build of the whole
/// course on two busy cores takes minutes, never this long). `COURSE_BUILD_TIMEOUT_SECS`
/// overrides it.
pub const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// The tests' budget: `COURSE_TIMEOUT_SECS` or [`DEFAULT_TIMEOUT`].
pub fn timeout() -> Duration {
    secs_from_env("COURSE_TIMEOUT_SECS").unwrap_or(DEFAULT_TIMEOUT)
}

/// The build's budget: `COURSE_BUILD_TIMEOUT_SECS` or [`DEFAULT_BUILD_TIMEOUT`].
pub fn build_timeout() -> Duration {
    secs_from_env("COURSE_BUILD_TIMEOUT_SECS").unwrap_or(DEFAULT_BUILD_TIMEOUT)
}

fn secs_from_env(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map(Duration::from_secs)
}

/// The cargo to run: `$CARGO` (set by cargo for `cargo run` and tests), else `cargo`.
pub fn cargo_program() -> OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"))
}

/// One `cargo test` invocation for a step.
#[derive(Debug, Clone)]
pub struct TestCommand {
    /// `-p`.
    pub package: String,
    /// `--test` (None: every target of the package).
    pub test: Option<String>,
    /// `--features <package>/solution`.
    pub solution: bool,
    /// `--no-run`.
    pub no_run: bool,
    /// `--message-format=json`.
    pub json: bool,
    /// Ask cargo for colours.
    pub color: bool,
    /// Arguments after `--`, for the test harness (the filter first).
    pub harness_args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// `CARGO_TARGET_DIR`, when the build must not share the default target folder.
    pub target_dir: Option<PathBuf>,
}

impl TestCommand {
    /// The command that checks `step` (the student's file, or the reference with
    /// `solution`), with `COURSE_STEP` set.
    pub fn for_step(step: StepRef<'_>, solution: bool) -> TestCommand {
        TestCommand {
            package: step.topic.package.clone(),
            test: Some(step.step.test.clone()),
            solution,
            no_run: false,
            json: false,
            color: false,
            harness_args: step.step.filter.iter().cloned().collect(),
            // The harness's explanation is the point; a backtrace (a student's global
            // RUST_BACKTRACE=1) would bury it.
            env: vec![
                ("COURSE_STEP".to_string(), step.id()),
                ("RUST_BACKTRACE".to_string(), "0".to_string()),
                // A starter's table that differs from the snapshot is a failure to
                // explain, not a new snapshot: never leave `.snap.new` files behind.
                ("INSTA_UPDATE".to_string(), "no".to_string()),
            ],
            target_dir: None,
        }
    }

    /// The arguments after `cargo`.
    pub fn args(&self) -> Vec<String> {
        let mut args = vec!["test".to_string(), "-p".to_string(), self.package.clone()];
        if let Some(test) = &self.test {
            args.extend(["--test".to_string(), test.clone()]);
        }
        if self.solution {
            args.extend([
                "--features".to_string(),
                format!("{}/solution", self.package),
            ]);
        }
        if self.no_run {
            args.push("--no-run".to_string());
        }
        if self.json {
            args.push("--message-format=json".to_string());
        }
        args.push(format!(
            "--color={}",
            if self.color { "always" } else { "never" }
        ));
        if !self.harness_args.is_empty() {
            args.push("--".to_string());
            args.extend(self.harness_args.iter().cloned());
        }
        args
    }

    /// The command as a user would type it (for messages).
    pub fn display(&self) -> String {
        let mut args = self.args();
        args.retain(|a| !a.starts_with("--color="));
        format!("cargo {}", args.join(" "))
    }

    /// Runs it in `root` under the supervisor and the watchdog.
    pub fn run(&self, root: &Path, echo: bool) -> Result<Run> {
        self.run_with_progress(root, echo, &mut |_| {})
    }

    /// As [`TestCommand::run`], calling `still_building` now and then while cargo builds.
    pub fn run_with_progress(
        &self,
        root: &Path,
        echo: bool,
        still_building: &mut dyn FnMut(Duration),
    ) -> Result<Run> {
        let mut env = self.env.clone();
        if let Some(dir) = &self.target_dir {
            env.push((
                "CARGO_TARGET_DIR".to_string(),
                dir.to_string_lossy().into_owned(),
            ));
        }
        let job = Job {
            program: cargo_program(),
            args: self.args(),
            cwd: root.to_path_buf(),
            env,
            echo,
        };
        run_supervised(&job, still_building).with_context(|| {
            format!(
                "cannot run `{}`; is cargo installed and on your PATH?",
                self.display()
            )
        })
    }
}

/// A program to run under [`run_supervised`].
#[derive(Debug, Clone)]
pub struct Job {
    /// The program (cargo).
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its working folder.
    pub cwd: PathBuf,
    /// Environment variables to set.
    pub env: Vec<(String, String)>,
    /// Copy its output to ours as it arrives.
    pub echo: bool,
}

/// The part of a cargo run the watchdog stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Building (or waiting for cargo's lock): no test binary had started.
    Build,
    /// Running the tests.
    Tests,
}

/// A finished (or stopped) process's output.
#[derive(Debug)]
pub struct Run {
    /// The exit status (None when the watchdog stopped it).
    pub status: Option<ExitStatus>,
    /// Everything written to standard output.
    pub stdout: String,
    /// Everything written to standard error.
    pub stderr: String,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Stopped by the watchdog after this long in this phase.
    pub timed_out: Option<(Duration, Phase)>,
}

impl Run {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// A supervisor running now: how to stop it, and its private TMPDIR.
struct Running {
    pid: u32,
    control: Arc<Mutex<Option<ChildStdin>>>,
    tmpdir: PathBuf,
}

/// The supervisors running now, stopped if the runner is interrupted.
static RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());
static RUNNING_CHANGED: Condvar = Condvar::new();
/// Set (under the `RUNNING` lock) once the runner is interrupted: no new cargo run starts
/// after that, so nothing is started behind the back of the cleanup.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

fn stop(control: &Mutex<Option<ChildStdin>>) {
    let mut control = control.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(mut pipe) = control.take() {
        let _ = pipe.write_all(b"stop\n");
        // Dropping the pipe closes it: end of file also means stop.
    }
}

/// Stops every cargo run still going (on Ctrl-C, SIGTERM or quitting watch) and waits, at
/// most a few seconds, until their supervisors have ended every process they started and
/// removed their TMPDIRs.
pub fn stop_running_children() {
    // Normally the supervisors are done within GRACE; the margin is for a machine so busy
    // that their SIGKILL and reaping take seconds. Waiting ends as soon as they are done.
    let deadline = Instant::now() + crate::supervise::GRACE + Duration::from_secs(20);
    let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    INTERRUPTED.store(true, Ordering::SeqCst);
    for r in running.iter() {
        stop(&r.control);
    }
    while !running.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        running = RUNNING_CHANGED
            .wait_timeout(running, left)
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    for r in running.iter() {
        let _ = std::fs::remove_dir_all(&r.tmpdir);
        let _ = r.pid;
    }
}

/// A fresh private TMPDIR for one run: `<temp>/course-check-<pid>-<n>`, ours only.
fn private_tmpdir() -> io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::env::temp_dir();
    loop {
        let dir = base.join(format!(
            "course-check-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Runs `job` under a supervisor (see [`crate::supervise`]) with a private TMPDIR, its
/// standard input closed and its output captured (and, with `echo`, copied to ours as it
/// arrives). The watchdog stops it after [`build_timeout`] of building or [`timeout`] of
/// tests; `still_building` is called every 15 s of building.
pub fn run_supervised(job: &Job, still_building: &mut dyn FnMut(Duration)) -> io::Result<Run> {
    use std::os::unix::process::CommandExt;
    // The TMPDIR is made, the supervisor spawned and the run registered under the lock, so
    // that an interruption either sees this run (and stops it, and its TMPDIR goes) or
    // comes first (and nothing is made). Made before the lock, a TMPDIR could outlive a
    // runner that an interruption ended meanwhile.
    let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    if INTERRUPTED.load(Ordering::SeqCst) {
        return Err(io::Error::new(
            io::ErrorKind::Interrupted,
            "the runner was interrupted",
        ));
    }
    let tmpdir = private_tmpdir()?;
    // Our own binary, by name when it is still there (so that `ps` shows `course`); a
    // runner rebuilt while it runs still has /proc/self/exe.
    let me = std::env::current_exe()
        .ok()
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("/proc/self/exe"));
    let mut cmd = Command::new(me);
    cmd.arg("internal-supervise")
        .arg("--tmpdir")
        .arg(&tmpdir)
        .arg("--")
        .arg(&job.program)
        .args(&job.args)
        .current_dir(&job.cwd)
        .env("TMPDIR", &tmpdir)
        // Out of reach of the terminal's Ctrl-C: the runner stops it in order.
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &job.env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmpdir);
            return Err(e);
        }
    };
    let control = Arc::new(Mutex::new(child.stdin.take()));
    let pid = child.id();
    running.push(Running {
        pid,
        control: Arc::clone(&control),
        tmpdir: tmpdir.clone(),
    });
    drop(running);
    let tests_started: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let out = collect(child.stdout.take(), job.echo, false, None);
    let err = collect(
        child.stderr.take(),
        job.echo,
        true,
        Some(Arc::clone(&tests_started)),
    );
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(());
        status
    });
    let (tests_limit, build_limit) = (timeout(), build_timeout());
    let mut timed_out = None;
    let mut next_note = Duration::from_secs(15);
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if timed_out.is_some() {
            continue; // stopped; waiting for the supervisor to finish
        }
        let tests = *tests_started.lock().unwrap_or_else(|p| p.into_inner());
        match tests {
            Some(at) if at.elapsed() >= tests_limit => {
                timed_out = Some((tests_limit, Phase::Tests));
                stop(&control);
            }
            Some(_) => {}
            None if started.elapsed() >= build_limit => {
                timed_out = Some((build_limit, Phase::Build));
                stop(&control);
            }
            None => {
                if started.elapsed() >= next_note {
                    still_building(started.elapsed());
                    next_note += Duration::from_secs(15);
                }
            }
        }
    }
    let status = waiter.join().expect("the waiting thread does not panic");
    stop(&control);
    // Removed before the run leaves RUNNING: an interrupted runner exits as soon as
    // RUNNING is empty, and this thread would not get to it afterwards.
    let _ = std::fs::remove_dir_all(&tmpdir);
    {
        let mut running = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
        running.retain(|r| r.pid != pid);
        RUNNING_CHANGED.notify_all();
    }
    let status = status?;
    // The run's private TMPDIR is gone: where the tests name a file in it, `$TMPDIR` says
    // the same in fewer columns, and the same on every run.
    let private = tmpdir.to_string_lossy().into_owned();
    let stdout = out.join().unwrap_or_default().replace(&private, "$TMPDIR");
    let stderr = err.join().unwrap_or_default().replace(&private, "$TMPDIR");
    Ok(Run {
        status: if timed_out.is_some() {
            None
        } else {
            Some(status)
        },
        stdout,
        stderr,
        elapsed: started.elapsed(),
        timed_out,
    })
}

/// Whether a line of cargo's standard error says a test binary starts
/// (`     Running tests/basic.rs (target/...)`, `   Doc-tests x`).
fn starts_tests(line: &str) -> bool {
    let plain = crate::ui::strip_ansi(line);
    let trimmed = plain.trim_start();
    plain.starts_with(' ') && (trimmed.starts_with("Running ") || trimmed.starts_with("Doc-tests "))
}

fn collect<R: Read + Send + 'static>(
    pipe: Option<R>,
    echo: bool,
    to_stderr: bool,
    tests_started: Option<Arc<Mutex<Option<Instant>>>>,
) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let Some(pipe) = pipe else {
            return String::new();
        };
        let mut reader = BufReader::new(pipe);
        let mut all = Vec::new();
        let mut line = Vec::new();
        while let Ok(n) = reader.read_until(b'\n', &mut line) {
            if n == 0 {
                break;
            }
            if let Some(started) = &tests_started {
                if starts_tests(&String::from_utf8_lossy(&line)) {
                    let mut started = started.lock().unwrap_or_else(|p| p.into_inner());
                    started.get_or_insert_with(Instant::now);
                }
            }
            if echo {
                if to_stderr {
                    let _ = io::stderr().write_all(&line);
                } else {
                    let mut out = io::stdout().lock();
                    let _ = out.write_all(&line);
                    let _ = out.flush();
                }
            }
            all.extend_from_slice(&line);
            line.clear();
        }
        String::from_utf8_lossy(&all).into_owned()
    })
}

/// One failed test, from libtest's `failures:` section.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The test's name.
    pub name: String,
    /// Its captured output: what it printed, then the panic message.
    pub output: String,
}

/// What libtest's standard output says.
#[derive(Debug, Default)]
pub struct Libtest {
    /// A test binary ran (`running N tests` seen).
    pub ran: bool,
    /// From the `test result:` lines, summed over binaries.
    pub passed: usize,
    /// From the `test result:` lines.
    pub failed: usize,
    /// Whether every binary printed its `test result:` line (false: it crashed).
    pub finished: bool,
    /// The failures, in libtest's order.
    pub failures: Vec<Failure>,
    /// The tests that finished (`test NAME ... ok`, `FAILED`, `ignored`).
    pub finished_tests: Vec<String>,
    /// The tests libtest said were still running (`test NAME has been running for over
    /// 60 seconds`).
    pub slow: Vec<String>,
}

/// Parses libtest's default (pretty) output.
pub fn parse_libtest(stdout: &str) -> Libtest {
    let mut result = Libtest::default();
    let mut binaries = 0usize;
    let mut results = 0usize;
    let mut current: Option<Failure> = None;
    let mut in_failures = false;
    for line in stdout.lines() {
        if line.starts_with("running ") && (line.ends_with(" test") || line.ends_with(" tests")) {
            result.ran = true;
            binaries += 1;
            in_failures = false;
            continue;
        }
        if let Some(rest) = line.strip_prefix("test result: ") {
            results += 1;
            result.passed += count_before(rest, " passed");
            result.failed += count_before(rest, " failed");
            if let Some(f) = current.take() {
                result.failures.push(f);
            }
            in_failures = false;
            continue;
        }
        if !in_failures {
            if let Some(rest) = line.strip_prefix("test ") {
                if let Some(name) = rest.strip_suffix(" has been running for over 60 seconds") {
                    result.slow.push(name.to_string());
                } else if let Some((name, _)) = rest.rsplit_once(" ... ") {
                    result.finished_tests.push(name.to_string());
                }
            }
        }
        if line == "failures:" {
            if let Some(f) = current.take() {
                result.failures.push(f);
            }
            in_failures = true;
            continue;
        }
        if in_failures {
            if let Some(name) = line
                .strip_prefix("---- ")
                .and_then(|l| l.strip_suffix(" stdout ----"))
            {
                if let Some(f) = current.take() {
                    result.failures.push(f);
                }
                current = Some(Failure {
                    name: name.to_string(),
                    output: String::new(),
                });
                continue;
            }
            if let Some(f) = current.as_mut() {
                f.output.push_str(line);
                f.output.push('\n');
            }
        }
    }
    if let Some(f) = current.take() {
        result.failures.push(f);
    }
    for f in &mut result.failures {
        f.output = tidy_failure(&f.output);
    }
    result.finished = binaries > 0 && results == binaries;
    result
}

fn count_before(text: &str, word: &str) -> usize {
    text.find(word)
        .and_then(|end| {
            let start = text[..end]
                .rfind(|c: char| !c.is_ascii_digit())
                .map_or(0, |i| i + 1);
            text[start..end].parse().ok()
        })
        .unwrap_or(0)
}

/// Drops libtest's noise from a failure's output: the backtrace note and blank edges.
fn tidy_failure(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE=1`"))
        .collect();
    lines.join("\n").trim_matches('\n').trim_end().to_string()
}

/// The lines of cargo's standard error worth showing: diagnostics, without the progress
/// lines (`Compiling`, `Running`, ...) and the "test failed, to rerun" trailer.
pub fn diagnostics(stderr: &str) -> String {
    const STATUS: &[&str] = &[
        "Compiling",
        "Checking",
        "Finished",
        "Running",
        "Blocking",
        "Locking",
        "Updating",
        "Downloading",
        "Downloaded",
        "Fresh",
        "Adding",
        "Executable",
        "Doc-tests",
        "Waiting",
    ];
    let mut kept: Vec<&str> = Vec::new();
    for line in stderr.lines() {
        let plain = crate::ui::strip_ansi(line);
        let word = plain.trim_start().split(' ').next().unwrap_or("");
        if plain.starts_with(' ') && STATUS.contains(&word) {
            continue;
        }
        if plain.starts_with("error: test failed, to rerun pass")
            || plain.starts_with("error: 1 target failed")
            || (plain.starts_with("error: ") && plain.contains(" targets failed:"))
            || plain.starts_with("    `-p ")
        {
            continue;
        }
        kept.push(line);
    }
    kept.join("\n").trim_matches('\n').to_string()
}

/// What a check run found.
#[derive(Debug)]
pub enum Verdict {
    /// Every selected test passed.
    Passed {
        /// How many.
        tests: usize,
    },
    /// Some tests failed.
    Failed {
        /// How many passed.
        passed: usize,
        /// How many failed (at least one).
        failed: usize,
        /// The failures, in the order of the tests in their file (the first is what
        /// `check` explains), whichever finished first.
        failures: Vec<Failure>,
    },
    /// The code did not compile (or cargo failed before running anything).
    BuildFailed {
        /// cargo's diagnostics, colours kept.
        diagnostics: String,
        /// The files the errors are in, relative to the workspace, first error first.
        files: Vec<String>,
    },
    /// The filter selected no test.
    NoTests,
    /// The test binary died without finishing (abort, signal, `process::exit`).
    Crashed {
        /// What the test binary itself wrote on its standard error (a watchdog's
        /// diagnosis, a stack overflow report), without cargo's lines.
        report: String,
        /// How it ended, in cargo's words (`signal: 6, SIGABRT: process abort signal`).
        how: String,
        /// The tests known to be running when it died.
        running: Vec<String>,
        /// The tests that had finished.
        finished: Vec<String>,
        /// The end of libtest's output.
        output: String,
    },
    /// Stopped by the watchdog.
    TimedOut {
        /// After how long in that phase.
        after: Duration,
        /// Whether cargo was still building or the tests were running.
        phase: Phase,
        /// The end of the output.
        output: String,
        /// Tests libtest reported as running for a long time.
        running: Vec<String>,
    },
}

impl Verdict {
    /// Reads a finished `cargo test` run. `test_source` is the test target's source, to put
    /// the failures in the order of the file.
    pub fn of(run: &Run, test_source: Option<&str>) -> Verdict {
        let libtest = parse_libtest(&run.stdout);
        if let Some((after, phase)) = run.timed_out {
            let phase = if libtest.ran { Phase::Tests } else { phase };
            return Verdict::TimedOut {
                after,
                phase,
                output: tail(&run.stdout, 30),
                running: libtest.slow.clone(),
            };
        }
        if !libtest.ran {
            if run.success() {
                return Verdict::NoTests;
            }
            let diagnostics = diagnostics(&run.stderr);
            let files = error_files(&diagnostics);
            return Verdict::BuildFailed { diagnostics, files };
        }
        if libtest.failed > 0 || !libtest.failures.is_empty() {
            let mut failures = libtest.failures;
            sort_by_source(&mut failures, test_source);
            return Verdict::Failed {
                passed: libtest.passed,
                failed: libtest.failed.max(failures.len()),
                failures,
            };
        }
        if !libtest.finished || !run.success() {
            let (report, how) = binary_report(&run.stderr);
            let mut running = libtest.slow.clone();
            for name in threads_named(&report) {
                if !running.contains(&name) && !libtest.finished_tests.contains(&name) {
                    running.push(name);
                }
            }
            let output: Vec<&str> = run
                .stdout
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with("running "))
                .collect();
            return Verdict::Crashed {
                report,
                how: short_status(&how),
                running,
                finished: libtest.finished_tests.clone(),
                output: tail(&output.join("\n"), 30),
            };
        }
        if libtest.passed == 0 {
            return Verdict::NoTests;
        }
        Verdict::Passed {
            tests: libtest.passed,
        }
    }

    /// Whether the step passes.
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Passed { .. })
    }

    /// A short word for reports: passed, failed, compile_error, no_tests, crashed, timed_out.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Passed { .. } => "passed",
            Verdict::Failed { .. } => "failed",
            Verdict::BuildFailed { .. } => "compile_error",
            Verdict::NoTests => "no_tests",
            Verdict::Crashed { .. } => "crashed",
            Verdict::TimedOut { .. } => "timed_out",
        }
    }
}

/// Puts failures in the order their tests appear in `source` (a test not found there goes
/// last, by name): the first failure shown no longer depends on which parallel test
/// finished first.
fn sort_by_source(failures: &mut [Failure], source: Option<&str>) {
    let position = |name: &str| -> usize {
        let last = name.rsplit("::").next().unwrap_or(name);
        source
            .and_then(|text| {
                let mut from = 0;
                while let Some(at) = text[from..].find(&format!("fn {last}(")) {
                    let at = from + at;
                    let before = text[..at].chars().next_back();
                    if before.is_none_or(|c| !c.is_alphanumeric() && c != '_') {
                        return Some(at);
                    }
                    from = at + 1;
                }
                None
            })
            .unwrap_or(usize::MAX)
    };
    failures.sort_by(|a, b| {
        position(&a.name)
            .cmp(&position(&b.name))
            .then_with(|| a.name.cmp(&b.name))
    });
}

/// The files of the compile errors in cargo's diagnostics, first error first, as paths
/// relative to the workspace (`crates/t/src/../../../exercises/x.rs` becomes
/// `exercises/x.rs`).
pub fn error_files(diagnostics: &str) -> Vec<String> {
    let plain = crate::ui::strip_ansi(diagnostics);
    let mut files: Vec<String> = Vec::new();
    let mut in_error = false;
    for line in plain.lines() {
        if line.starts_with("error") {
            in_error = !line.starts_with("error: could not compile")
                && !line.starts_with("error: aborting");
            continue;
        }
        if line.starts_with("warning") {
            in_error = false;
            continue;
        }
        if !in_error {
            continue;
        }
        if let Some(at) = line.trim_start().strip_prefix("--> ") {
            let path = at.rsplitn(3, ':').last().unwrap_or(at);
            let path = normalize(path);
            if !files.contains(&path) {
                files.push(path);
            }
            in_error = false;
        }
    }
    files
}

/// `a/b/../c` becomes `a/c` (lexically, as rustc's paths through `#[path]` need).
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "." | "" if !parts.is_empty() => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// What a test binary that died wrote on its own standard error (between cargo's
/// `Running` line and its `error: test failed` trailer), and how it ended according to
/// cargo (`signal: 6, SIGABRT: process abort signal`).
pub fn binary_report(stderr: &str) -> (String, String) {
    let lines: Vec<String> = stderr.lines().map(crate::ui::strip_ansi).collect();
    let start = lines
        .iter()
        .rposition(|l| starts_tests(l))
        .map_or(0, |i| i + 1);
    let mut report = Vec::new();
    let mut how = String::new();
    let mut in_trailer = false;
    for line in &lines[start..] {
        if line.starts_with("error: test failed") || line.starts_with("error: 1 target failed") {
            in_trailer = true;
        }
        if let Some(at) = line.find("process didn't exit successfully: ") {
            let rest = &line[at..];
            if let (Some(open), true) = (rest.rfind(" ("), rest.ends_with(')')) {
                how = rest[open + 2..rest.len() - 1].to_string();
            }
            continue;
        }
        if !in_trailer {
            report.push(line.as_str());
        }
    }
    let report = report.join("\n").trim_matches('\n').trim_end().to_string();
    (report, how)
}

/// cargo's `signal: 6, SIGABRT: process abort signal` as `SIGABRT`; other statuses as
/// they are.
fn short_status(how: &str) -> String {
    how.split([',', ' ', ':'])
        .find(|w| w.starts_with("SIG"))
        .map_or_else(|| how.to_string(), str::to_string)
}

/// The test names in `thread 'NAME' ...` lines (a stack overflow, a panic while dying).
fn threads_named(report: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in report.lines() {
        if let Some(rest) = line.strip_prefix("thread '") {
            if let Some(end) = rest.find('\'') {
                let name = rest[..end].to_string();
                if name != "main" && !names.contains(&name) {
                    names.push(name);
                }
            }
        }
    }
    names
}

/// The last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join("\n")
}

/// The replay command in a failure message (`just trace tunnel/fair --seed 7 ...`), if any.
pub fn replay_line(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let at = line
            .find("just trace ")
            .or_else(|| line.find("cargo course trace "))?;
        let command = line[at..]
            .trim()
            .trim_end_matches(['`', '.', ')', '\'', '"']);
        Some(command.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAILED: &str = "
running 3 tests
test a ... ok
test b ... FAILED
test c ... FAILED

failures:

---- b stdout ----
printed by b

thread 'b' panicked at tests/x.rs:4:5:
b is wrong
replay: `just trace t/s --seed 7 --strategy pct:3`
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- c stdout ----

thread 'c' panicked at tests/x.rs:9:5:
not yet implemented


failures:
    b
    c

test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s

";

    #[test]
    fn failures_are_extracted_without_libtest_noise() {
        let t = parse_libtest(FAILED);
        assert!(t.ran && t.finished);
        assert_eq!((t.passed, t.failed), (1, 2));
        assert_eq!(t.failures.len(), 2);
        assert_eq!(t.failures[0].name, "b");
        assert_eq!(
            t.failures[0].output,
            "printed by b\n\nthread 'b' panicked at tests/x.rs:4:5:\nb is wrong\nreplay: `just trace t/s --seed 7 --strategy pct:3`"
        );
        assert_eq!(
            t.failures[1].output,
            "thread 'c' panicked at tests/x.rs:9:5:\nnot yet implemented"
        );
        assert_eq!(
            replay_line(&t.failures[0].output).as_deref(),
            Some("just trace t/s --seed 7 --strategy pct:3")
        );
    }

    #[test]
    fn a_binary_that_dies_is_not_finished() {
        let t = parse_libtest("\nrunning 2 tests\ntest a ... ok\n");
        assert!(t.ran && !t.finished);
    }

    #[test]
    fn progress_lines_are_dropped_from_diagnostics() {
        let stderr = "   Compiling warmup v0.1.0 (/x)\nerror[E0308]: mismatched types\n  --> src/lib.rs:1:1\n\nerror: could not compile `warmup`\n    Finished `test` profile\n";
        assert_eq!(
            diagnostics(stderr),
            "error[E0308]: mismatched types\n  --> src/lib.rs:1:1\n\nerror: could not compile `warmup`"
        );
    }
}
