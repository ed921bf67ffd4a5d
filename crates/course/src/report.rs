//! `cargo course report [--json]`: checks every step and reports the points earned, for
//! classroom autograders.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::cargo::Verdict;
use crate::state::{State, mtime};
use crate::syllabus::Syllabus;
use crate::ui::{self, bold, dim, green, red};

#[derive(Serialize)]
struct Report<'a> {
    course: &'a str,
    steps: Vec<StepReport<'a>>,
    points: u32,
    earned: u32,
    passed: usize,
    total: usize,
}

#[derive(Serialize)]
struct StepReport<'a> {
    topic: &'a str,
    step: &'a str,
    points: u32,
    earned: u32,
    status: &'static str,
}

/// Checks every step (progress on standard error) and prints the report.
pub fn run(syllabus: &Syllabus, json: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let mut report = Report {
        course: &syllabus.title,
        steps: Vec::new(),
        points: 0,
        earned: 0,
        passed: 0,
        total: 0,
    };
    for step in syllabus.steps() {
        eprint!("{}", dim(format!("checking {}... ", step.id())));
        let status = if crate::check::preflight(syllabus, step).is_err() {
            "error"
        } else {
            let checked_mtime = mtime(&syllabus.root.join(step.exercise_rel()));
            let verdict = crate::check::run_step(syllabus, step, false, &mut |_| {})?;
            State::update(syllabus, |state| {
                state.record(step, checked_mtime, verdict.passed());
            })?;
            match verdict {
                Verdict::Passed { .. } => "passed",
                Verdict::Failed { .. } => "failed",
                Verdict::BuildFailed { .. } => "compile_error",
                Verdict::TimedOut { .. } => "timed_out",
                Verdict::Crashed { .. } => "failed",
                Verdict::NoTests => "error",
            }
        };
        eprintln!(
            "{}",
            if status == "passed" {
                green(status)
            } else {
                red(status)
            }
        );
        let earned = if status == "passed" {
            step.step.points
        } else {
            0
        };
        report.points += step.step.points;
        report.earned += earned;
        report.total += 1;
        report.passed += usize::from(status == "passed");
        report.steps.push(StepReport {
            topic: &step.topic.name,
            step: &step.step.name,
            points: step.step.points,
            earned,
            status,
        });
    }
    if json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    let width = report
        .steps
        .iter()
        .map(|s| s.topic.len() + s.step.len() + 1)
        .max()
        .unwrap_or(0);
    writeln!(out, "{}", bold(&syllabus.title))?;
    for s in &report.steps {
        let id = format!("{}/{}", s.topic, s.step);
        let status = format!("{:<13}", s.status);
        writeln!(
            out,
            "  {id:<width$}  {}  {:>3}/{}",
            if s.status == "passed" {
                green(status)
            } else {
                red(status)
            },
            s.earned,
            s.points
        )?;
    }
    writeln!(
        out,
        "{}",
        bold(format!(
            "total: {}/{} points, {} of {} passed",
            report.earned,
            report.points,
            report.passed,
            ui::plural(report.total, "step")
        ))
    )?;
    Ok(ExitCode::SUCCESS)
}
