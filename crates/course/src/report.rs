//! `cargo course report`: checks the steps of a checkout and reports the points earned, as
//! text, JSON, CSV or Gradescope's results.json; and the results model that `grade` shares.
//!
//! A report runs in the student's own checkout, so it grades whatever tests and course.toml
//! that checkout holds: it is the student's view (and GitHub Classroom's, which runs in the
//! student's repository). A grade that must not depend on the student's checkout comes from
//! `cargo course grade`, run in the teacher's course.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use crate::cargo::{Phase, Verdict};
use crate::explain;
use crate::state::{State, mtime};
use crate::syllabus::{Selection, StepRef, Syllabus};
use crate::ui::{self, UsageError, bold, dim, green, red, yellow};

/// The runner's version, in every result.
pub const RUNNER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// How results are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Text,
    /// The results as JSON.
    Json,
    /// One CSV row per step (report) or per submission (grade).
    Csv,
    /// Gradescope's results.json: one test per step.
    Gradescope,
}

/// One step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepResult {
    /// The topic's name.
    pub topic: String,
    /// The step's name.
    pub step: String,
    /// The step's points in course.toml.
    pub points: u32,
    /// The points earned: all of them when the step passes, else none.
    pub earned: u32,
    /// passed, failed, compile_error, timed_out, not_attempted, missing, rejected, error.
    pub status: String,
    /// Why it did not pass, in one line (empty when it passed).
    pub reason: String,
    /// What a teacher should look at even when it passed (`process_exit: std::process::exit
    /// (line 12)`), see `cargo course grade --help`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
}

impl StepResult {
    /// `topic/step`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.topic, self.step)
    }

    /// A result for `step` with this status and reason (points earned only for a pass).
    pub fn new(step: StepRef<'_>, status: &str, reason: impl Into<String>) -> StepResult {
        StepResult {
            topic: step.topic.name.clone(),
            step: step.step.name.clone(),
            points: step.step.points,
            earned: if status == "passed" {
                step.step.points
            } else {
                0
            },
            status: status.to_string(),
            reason: reason.into(),
            flags: Vec::new(),
        }
    }
}

/// The results of one checkout or submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// The course's title.
    pub course: String,
    /// The submission's name (grade only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<String>,
    /// The runner's version.
    pub runner_version: String,
    /// The course's commit (`git rev-parse HEAD`, `+dirty` when files differ from it), or
    /// what `.course/commit` records in a bundle without git.
    pub course_commit: String,
    /// One per step, in syllabus order.
    pub steps: Vec<StepResult>,
    /// The points of the steps reported.
    pub points: u32,
    /// The points earned.
    pub earned: u32,
    /// How many steps passed.
    pub passed: usize,
    /// How many steps were reported.
    pub total: usize,
}

impl Results {
    /// Results with the totals computed from `steps`.
    pub fn new(syllabus: &Syllabus, submission: Option<String>, steps: Vec<StepResult>) -> Results {
        Results {
            course: syllabus.title.clone(),
            submission,
            runner_version: RUNNER_VERSION.to_string(),
            course_commit: course_commit(&syllabus.root),
            points: steps.iter().map(|s| s.points).sum(),
            earned: steps.iter().map(|s| s.earned).sum(),
            passed: steps.iter().filter(|s| s.status == "passed").count(),
            total: steps.len(),
            steps,
        }
    }

    /// Writes the results in `format`.
    pub fn write(&self, format: Format, out: &mut dyn Write) -> Result<()> {
        match format {
            Format::Text => self.write_text(out),
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, self)?;
                writeln!(out)?;
                Ok(())
            }
            Format::Csv => {
                let mut rows = vec![
                    ["step", "points", "earned", "status", "reason", "flags"]
                        .map(str::to_string)
                        .to_vec(),
                ];
                for s in &self.steps {
                    rows.push(vec![
                        s.id(),
                        s.points.to_string(),
                        s.earned.to_string(),
                        s.status.clone(),
                        s.reason.clone(),
                        s.flags.join("; "),
                    ]);
                }
                write_csv(out, &rows)
            }
            Format::Gradescope => {
                serde_json::to_writer_pretty(&mut *out, &self.gradescope())?;
                writeln!(out)?;
                Ok(())
            }
        }
    }

    fn write_text(&self, out: &mut dyn Write) -> Result<()> {
        let width = self.steps.iter().map(|s| s.id().len()).max().unwrap_or(0);
        writeln!(
            out,
            "{}",
            bold(match &self.submission {
                Some(name) => format!("{}: {name}", self.course),
                None => self.course.clone(),
            })
        )?;
        for s in &self.steps {
            let status = format!("{:<13}", s.status);
            let line = format!(
                "  {:<width$}  {}  {:>3}/{}",
                s.id(),
                if s.status == "passed" {
                    green(status)
                } else {
                    red(status)
                },
                s.earned,
                s.points
            );
            writeln!(out, "{line}")?;
            if !s.reason.is_empty() {
                writeln!(
                    out,
                    "{}",
                    ui::fit(&dim(format!("      {}", s.reason)), ui::WIDTH)
                )?;
            }
            for flag in &s.flags {
                writeln!(
                    out,
                    "{}",
                    ui::fit(&yellow(format!("      flag: {flag}")), ui::WIDTH)
                )?;
            }
        }
        writeln!(
            out,
            "{}",
            bold(format!(
                "total: {}/{} points, {} of {} passed",
                self.earned,
                self.points,
                self.passed,
                ui::plural(self.total, "step")
            ))
        )?;
        Ok(())
    }

    /// Gradescope's results.json (its documented format: one test per step with name,
    /// score, max_score, output and visibility; the total is the sum of the tests').
    pub fn gradescope(&self) -> serde_json::Value {
        let tests: Vec<serde_json::Value> = self
            .steps
            .iter()
            .map(|s| {
                let mut output = match s.status.as_str() {
                    "passed" => "passed".to_string(),
                    status => format!("{}: {}", status.replace('_', " "), s.reason),
                };
                for flag in &s.flags {
                    output.push_str(&format!("\nflag: {flag}"));
                }
                serde_json::json!({
                    "name": s.id(),
                    "score": s.earned,
                    "max_score": s.points,
                    "status": if s.status == "passed" { "passed" } else { "failed" },
                    "output": output,
                    "visibility": "visible",
                })
            })
            .collect();
        serde_json::json!({
            "output": format!(
                "{}: {}/{} points, {} of {} passed (runner {}, course {})",
                self.course,
                self.earned,
                self.points,
                self.passed,
                ui::plural(self.total, "step"),
                self.runner_version,
                self.course_commit
            ),
            "tests": tests,
        })
    }
}

/// Writes `rows` as CSV (RFC 4180: fields with a comma, quote or line break are quoted).
pub fn write_csv(out: &mut dyn Write, rows: &[Vec<String>]) -> Result<()> {
    for row in rows {
        let fields: Vec<String> = row
            .iter()
            .map(|f| {
                if f.contains([',', '"', '\n', '\r']) {
                    format!("\"{}\"", f.replace('"', "\"\""))
                } else {
                    f.clone()
                }
            })
            .collect();
        writeln!(out, "{}", fields.join(","))?;
    }
    Ok(())
}

/// The course's commit: `.course/commit` when present (a bundle without git), else
/// `git rev-parse HEAD` with `+dirty` when tracked files differ from it, else `unknown`.
pub fn course_commit(root: &std::path::Path) -> String {
    if let Ok(text) = std::fs::read_to_string(root.join(".course/commit")) {
        let text = text.trim();
        if !text.is_empty() {
            return text.to_string();
        }
    }
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "HEAD"]) {
        Some(head) if !head.is_empty() => {
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{head}+dirty") } else { head }
        }
        _ => "unknown".to_string(),
    }
}

/// The steps named by `--topics` and `--steps` (every step when both are empty), in
/// syllabus order. Unknown names are a usage error naming the nearest one.
pub fn select<'a>(
    syllabus: &'a Syllabus,
    topics: &[String],
    steps: &[String],
) -> Result<Vec<StepRef<'a>>, UsageError> {
    let mut wanted: Vec<String> = Vec::new();
    for name in topics.iter().flat_map(|t| t.split(',')) {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        match syllabus.resolve(name)? {
            Selection::Topic(topic) => {
                wanted.extend(
                    topic
                        .steps
                        .iter()
                        .map(|s| format!("{}/{}", topic.name, s.name)),
                );
            }
            Selection::Step(step) => {
                return Err(UsageError(format!(
                    "--topics takes topics, not steps: `--steps {}` (or `--topics {}`)",
                    step.id(),
                    step.topic.name
                )));
            }
        }
    }
    for name in steps.iter().flat_map(|s| s.split(',')) {
        let name = name.trim();
        if name.is_empty() {
            continue;
        }
        wanted.push(syllabus.resolve_step(name, "report --steps")?.id());
    }
    Ok(syllabus
        .steps()
        .filter(|s| wanted.is_empty() || wanted.contains(&s.id()))
        .collect())
}

/// The status word of a verdict.
pub fn status(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Passed { .. } => "passed",
        Verdict::Failed { .. } | Verdict::Crashed { .. } => "failed",
        Verdict::BuildFailed { .. } => "compile_error",
        Verdict::TimedOut { .. } => "timed_out",
        Verdict::NoTests => "error",
    }
}

/// Why a verdict is not a pass, in one line: the first failing test and the first line of
/// its explanation, the first compile error, how the test process died, or the watchdog.
pub fn reason(step: StepRef<'_>, verdict: &Verdict) -> String {
    let package = &step.topic.package;
    let line = match verdict {
        Verdict::Passed { .. } => String::new(),
        Verdict::Failed {
            passed,
            failed,
            failures,
        } => match failures.first() {
            Some(first) => {
                let headline = explain::failure(&first.output, package).headline;
                if headline.is_empty() {
                    format!("`{}` failed", first.name)
                } else {
                    format!("`{}`: {}", first.name, explain::short(&headline, 160))
                }
            }
            None => format!("{failed} of {} failed", ui::plural(passed + failed, "test")),
        },
        Verdict::BuildFailed { diagnostics, files } => {
            let plain = ui::strip_ansi(&explain::shorten_paths(diagnostics, package));
            let error = plain
                .lines()
                .find(|l| l.starts_with("error") && !l.starts_with("error: could not compile"))
                .unwrap_or("cargo could not build the tests")
                .to_string();
            match files.first() {
                Some(file) => format!("{file} does not compile: {error}"),
                None => error,
            }
        }
        Verdict::NoTests => format!(
            "no test ran: the filter `{}` matches no test in {} (a course bug)",
            step.step.filter.as_deref().unwrap_or(""),
            step.test_rel()
        ),
        Verdict::Crashed {
            report,
            how,
            running,
            ..
        } => {
            let during = match running.first() {
                Some(name) => format!(" while `{name}` ran"),
                None => String::new(),
            };
            let how = if how.is_empty() {
                String::new()
            } else {
                format!(" ({how})")
            };
            let said = explain::error_line(report).or_else(|| {
                report
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty() && !l.starts_with("thread '"))
                    .map(str::to_string)
            });
            match said {
                Some(said) => format!(
                    "the test process died{during}{how}: {}",
                    explain::short(&said, 120)
                ),
                None => format!("the test process died{during}{how}"),
            }
        }
        Verdict::TimedOut {
            after,
            phase: Phase::Build,
            ..
        } => format!("still compiling after {}; stopped", ui::secs(*after)),
        Verdict::TimedOut { after, .. } => format!(
            "the tests were still running after {} and were stopped (a deadlock, a lost wake-up or an endless loop?)",
            ui::secs(*after)
        ),
    };
    line.replace('\n', " ")
}

/// Options of `cargo course report`.
#[derive(Debug, Clone)]
pub struct Options {
    /// How to write the results.
    pub format: Format,
    /// `--topics`.
    pub topics: Vec<String>,
    /// `--steps`.
    pub steps: Vec<String>,
}

/// Checks the selected steps (progress on standard error) and prints the results.
pub fn run(syllabus: &Syllabus, options: &Options, out: &mut dyn Write) -> Result<ExitCode> {
    let steps = select(syllabus, &options.topics, &options.steps)?;
    let mut results = Vec::new();
    for step in steps {
        eprint!("{}", dim(format!("checking {}... ", step.id())));
        let result = match crate::check::preflight(syllabus, step) {
            Err(e) => StepResult::new(step, "error", e.to_string()),
            Ok(()) => {
                let checked_mtime = mtime(&syllabus.root.join(step.exercise_rel()));
                let verdict = crate::check::run_step(syllabus, step, false, &mut |_| {})?;
                State::update(syllabus, |state| {
                    state.record(step, checked_mtime, verdict.passed());
                })?;
                StepResult::new(step, status(&verdict), reason(step, &verdict))
            }
        };
        eprintln!(
            "{}",
            if result.status == "passed" {
                green(&result.status)
            } else {
                red(&result.status)
            }
        );
        results.push(result);
    }
    Results::new(syllabus, None, results).write(options.format, out)?;
    Ok(ExitCode::SUCCESS)
}
