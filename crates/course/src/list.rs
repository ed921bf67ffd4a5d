//! `cargo course` / `cargo course list`: the syllabus with the student's progress. Instant:
//! statuses come from the state file, no test runs.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::state::{State, Status};
use crate::syllabus::{StepRef, Syllabus};
use crate::ui::{bold, dim, green, just, red, yellow};

const BAR_WIDTH: usize = 30;

/// Prints the list and saves the state if it had to be rebuilt.
pub fn run(syllabus: &Syllabus, out: &mut dyn Write) -> Result<ExitCode> {
    let state = State::load(syllabus);
    print(syllabus, &state, out)?;
    if state.is_dirty() {
        // A new, rebuilt or stale file: write it once (with its notice).
        State::update(syllabus, |_| ())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the list: title, progress bar, every step with its status, what to do next.
pub fn print(syllabus: &Syllabus, state: &State, out: &mut dyn Write) -> Result<()> {
    let steps: Vec<StepRef<'_>> = syllabus.steps().collect();
    let done = steps
        .iter()
        .filter(|s| state.status(**s) == Status::Done)
        .count();
    let points: u32 = steps.iter().map(|s| s.step.points).sum();
    let earned: u32 = steps
        .iter()
        .filter(|s| state.status(**s) == Status::Done)
        .map(|s| s.step.points)
        .sum();
    let filled = (done * BAR_WIDTH).checked_div(steps.len()).unwrap_or(0);
    writeln!(out, "{}", bold(&syllabus.title))?;
    writeln!(
        out,
        "[{}{}] {done}/{} steps done, {earned}/{points} points",
        green("█".repeat(filled)),
        dim("░".repeat(BAR_WIDTH - filled)),
        steps.len()
    )?;

    let current = state.current(syllabus);
    let is_current = |s: &StepRef<'_>| current.is_some_and(|c| c.id() == s.id());
    let width = steps.iter().map(|s| s.id().len()).max().unwrap_or(0);
    for topic in &syllabus.topics {
        writeln!(out)?;
        writeln!(
            out,
            "{} {}",
            bold(&topic.title),
            dim(format!("({})", topic.name))
        )?;
        if topic.steps.is_empty() {
            writeln!(out, "  {}", dim("(no steps yet)"))?;
        }
        for step in &topic.steps {
            let s = StepRef { topic, step };
            let status = state.status(s);
            let mark = match status {
                Status::Done => green("✓"),
                Status::Failing => red("✗"),
                Status::NotStarted => dim("·"),
            };
            let mut label = match status {
                Status::Done => green(status.label()),
                Status::Failing => red(status.label()),
                Status::NotStarted => dim(status.label()),
            };
            if state.edited_since_check(s, &syllabus.root) {
                label.push_str(&dim(", edited since"));
            }
            let id = format!("{:<width$}", s.id());
            if is_current(&s) {
                writeln!(
                    out,
                    "{} {mark} {}  {label}  {}",
                    bold("▶"),
                    bold(id),
                    yellow("← current")
                )?;
            } else {
                writeln!(out, "  {mark} {id}  {label}")?;
            }
        }
    }

    writeln!(out)?;
    match current {
        None if steps.is_empty() => {
            writeln!(out, "course.toml has no steps yet.")?;
        }
        None => {
            writeln!(
                out,
                "{} Compare your work with the references: {}",
                green(format!(
                    "Every step is done: {earned}/{points} points. Well done!"
                )),
                just("solution TOPIC/STEP")
            )?;
        }
        Some(step) => {
            let id = step.id();
            match state.status(step) {
                Status::Failing => writeln!(
                    out,
                    "Next: fix {}, then {} (or {} to re-check on every save). Stuck? {}",
                    bold(step.exercise_rel()),
                    just(&format!("check {id}")),
                    just("watch"),
                    just(&format!("hint {id}"))
                )?,
                _ => writeln!(
                    out,
                    "Next: open {} (its header says what to do), then {} (re-checks it on every save) or {}",
                    bold(step.exercise_rel()),
                    just("watch"),
                    just(&format!("check {id}"))
                )?,
            }
        }
    }
    Ok(())
}
