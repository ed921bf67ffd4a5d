//! `cargo course solution TOPIC/STEP [--force]`: a coloured unified diff from the student's
//! file to the reference, once the step passes.

use std::fs;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use similar::{ChangeTag, TextDiff};

use crate::state::{State, Status};
use crate::syllabus::Syllabus;
use crate::ui::{bold, cyan, dim, green, just, red, yellow};

/// Shows the diff, or refuses (exit code 1) when the step is not done and `force` is off.
pub fn run(syllabus: &Syllabus, spec: &str, force: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let step = syllabus.resolve_step(spec, "solution")?;
    let id = step.id();
    if let Some(handout) = crate::classroom::handout::marker(&syllabus.root) {
        if !syllabus.root.join(step.solution_rel()).is_file() {
            // A students' repository: the references come later, from the teacher.
            writeln!(
                out,
                "{} {}.",
                yellow(format!("No reference for {id} here:")),
                handout.solutions
            )?;
            writeln!(
                out,
                "Once you have it, put it at {} and {} shows the difference from yours.",
                step.solution_rel(),
                just(&format!("solution {id}"))
            )?;
            return Ok(ExitCode::FAILURE);
        }
    }
    let state = State::load(syllabus);
    if !force && state.status(step) != Status::Done {
        writeln!(
            out,
            "{} {id} does not pass yet (as far as its last check knows), and the reference is more useful after you have tried.",
            yellow("Not yet:")
        )?;
        writeln!(
            out,
            "Make it pass ({}, then {}), or see it anyway with {}",
            just(&format!("check {id}")),
            just(&format!("solution {id}")),
            just(&format!("solution {id} --force"))
        )?;
        return Ok(ExitCode::FAILURE);
    }
    let (mine_rel, reference_rel) = (step.exercise_rel(), step.solution_rel());
    let mine = fs::read_to_string(syllabus.root.join(&mine_rel)).with_context(|| {
        format!("cannot read {mine_rel}; restore the starter with `cargo course reset {id}`")
    })?;
    let reference = fs::read_to_string(syllabus.root.join(&reference_rel)).with_context(|| {
        format!(
            "cannot read the reference {reference_rel}; this is a course bug: tell your teacher"
        )
    })?;
    if mine == reference {
        writeln!(
            out,
            "{}",
            green(format!("Your {mine_rel} is identical to the reference."))
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let diff = TextDiff::from_lines(&mine, &reference);
    writeln!(out, "{}", bold(format!("--- {mine_rel} (yours)")))?;
    writeln!(
        out,
        "{}",
        bold(format!("+++ {reference_rel} (the reference)"))
    )?;
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        writeln!(out, "{}", cyan(hunk.header()))?;
        for change in hunk.iter_changes() {
            let line = change.value().trim_end_matches('\n');
            match change.tag() {
                ChangeTag::Delete => writeln!(out, "{}", red(format!("-{line}")))?,
                ChangeTag::Insert => writeln!(out, "{}", green(format!("+{line}")))?,
                ChangeTag::Equal => writeln!(out, " {line}")?,
            }
        }
    }
    writeln!(
        out,
        "{}",
        dim(format!(
            "(- your lines, + the reference's; the whole file: {reference_rel})"
        ))
    )?;
    Ok(ExitCode::SUCCESS)
}
