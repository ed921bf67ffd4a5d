//! Running `cargo test` for a step (under a watchdog) and reading libtest's output.

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::syllabus::StepRef;

/// How long one cargo invocation (build and tests) may take before the watchdog kills it.
/// `COURSE_TIMEOUT_SECS` overrides it.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// The watchdog's limit: `COURSE_TIMEOUT_SECS` or [`DEFAULT_TIMEOUT`].
pub fn timeout() -> Duration {
    std::env::var("COURSE_TIMEOUT_SECS")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .filter(|&s| s > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

/// The cargo to run: `$CARGO` (set by cargo for `cargo run` and tests), else `cargo`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
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
            // RUST_BACKTRACE=1) would bury it. `trace` restores the user's setting.
            env: vec![
                ("COURSE_STEP".to_string(), step.id()),
                ("RUST_BACKTRACE".to_string(), "0".to_string()),
                // A starter's table that differs from the snapshot is a failure to
                // explain, not a new snapshot: never leave `.snap.new` files behind.
                ("INSTA_UPDATE".to_string(), "no".to_string()),
            ],
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

    /// Runs it in `root` under the watchdog.
    pub fn run(&self, root: &Path, echo: bool) -> Result<Run> {
        let mut cmd = cargo();
        cmd.current_dir(root).args(self.args());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        run_watched(cmd, echo, timeout()).with_context(|| {
            format!(
                "cannot run `{}`; is cargo installed and on your PATH?",
                self.display()
            )
        })
    }
}

/// A finished (or killed) process's output.
#[derive(Debug)]
pub struct Run {
    /// The exit status (None when the watchdog killed it).
    pub status: Option<ExitStatus>,
    /// Everything written to standard output.
    pub stdout: String,
    /// Everything written to standard error.
    pub stderr: String,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// Killed by the watchdog after this long.
    pub timed_out: Option<Duration>,
}

impl Run {
    /// Exited with code 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Process groups of the children running now, killed if the runner is interrupted.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Kills every child process group still running (on Ctrl-C, SIGTERM or quitting watch).
pub fn kill_running_children() {
    let groups = RUNNING.lock().map(|g| g.clone()).unwrap_or_default();
    for pgid in groups {
        kill_group(pgid);
    }
}

fn kill_group(pgid: i32) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{Signal, killpg};
        use nix::unistd::Pid;
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = pgid;
}

/// Runs `cmd` with standard input closed and its output captured (and, with `echo`, copied
/// to ours as it arrives), in its own process group so that the watchdog can kill the whole
/// tree (cargo, rustc, the test binary and anything it spawned) after `limit`.
pub fn run_watched(mut cmd: Command, echo: bool, limit: Duration) -> io::Result<Run> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id() as i32;
    if let Ok(mut running) = RUNNING.lock() {
        running.push(pid);
    }
    let out = collect(child.stdout.take(), echo, false);
    let err = collect(child.stderr.take(), echo, true);
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send(());
        status
    });
    let timed_out = match rx.recv_timeout(limit) {
        Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => None,
        Err(mpsc::RecvTimeoutError::Timeout) => {
            kill_group(pid);
            Some(limit)
        }
    };
    let status = waiter.join().expect("the waiting thread does not panic")?;
    // The group's other processes may still hold the pipes (a test that spawned a child
    // and hung): kill them too, so that reading to the end finishes.
    kill_group(pid);
    if let Ok(mut running) = RUNNING.lock() {
        running.retain(|&p| p != pid);
    }
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
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

fn collect<R: Read + Send + 'static>(
    pipe: Option<R>,
    echo: bool,
    to_stderr: bool,
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
        /// The failures (the first is what `check` shows).
        failures: Vec<Failure>,
    },
    /// The code did not compile (or cargo failed before running anything).
    BuildFailed {
        /// cargo's diagnostics, colours kept.
        diagnostics: String,
    },
    /// The filter selected no test.
    NoTests,
    /// The test binary died without finishing (abort, signal, `process::exit`).
    Crashed {
        /// The end of its output, then cargo's error.
        output: String,
    },
    /// Killed by the watchdog.
    TimedOut {
        /// After how long.
        after: Duration,
        /// The end of the output.
        output: String,
    },
}

impl Verdict {
    /// Reads a finished `cargo test` run.
    pub fn of(run: &Run) -> Verdict {
        let libtest = parse_libtest(&run.stdout);
        if let Some(after) = run.timed_out {
            return Verdict::TimedOut {
                after,
                output: tail(&run.stdout, 30),
            };
        }
        if !libtest.ran {
            if run.success() {
                return Verdict::NoTests;
            }
            return Verdict::BuildFailed {
                diagnostics: diagnostics(&run.stderr),
            };
        }
        if libtest.failed > 0 || !libtest.failures.is_empty() {
            return Verdict::Failed {
                passed: libtest.passed,
                failed: libtest.failed.max(libtest.failures.len()),
                failures: libtest.failures,
            };
        }
        if !libtest.finished || !run.success() {
            let mut output = tail(&run.stdout, 30);
            let errors = diagnostics(&run.stderr);
            if !errors.is_empty() {
                output.push('\n');
                output.push_str(&errors);
            }
            return Verdict::Crashed { output };
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
