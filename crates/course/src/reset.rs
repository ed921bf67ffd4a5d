//! `cargo course reset TOPIC/STEP [--yes]`: restores the starter as shipped (the course's
//! committed copy in `.course/starters/`, see [`crate::pristine`]), after a confirmation.

use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::pristine;
use crate::state::State;
use crate::syllabus::Syllabus;
use crate::ui::{bold, green, just, yellow};

/// Restores the step's exercise file.
pub fn run(syllabus: &Syllabus, spec: &str, yes: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let step = syllabus.resolve_step(spec, "reset")?;
    let id = step.id();
    let rel = step.exercise_rel();
    let Some(starter) = pristine::read(&syllabus.root, step) else {
        bail!(
            "this course has no copy of the starter of {id} ({} is missing), so I cannot restore it; if the course is a git repository, `git log -- {rel}` shows its versions; tell your teacher",
            pristine::rel(step)
        );
    };
    let path = syllabus.root.join(&rel);
    if fs::read(&path).is_ok_and(|current| current == starter) {
        writeln!(
            out,
            "{rel} is already the starter as shipped; nothing to do."
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if !yes {
        if !io::stdin().is_terminal() {
            writeln!(
                out,
                "Not resetting {rel}: standard input is not a terminal, so I cannot ask you to confirm. To reset without asking: {}",
                just(&format!("reset {id} --yes"))
            )?;
            return Ok(ExitCode::FAILURE);
        }
        write!(
            out,
            "Replace {} with the starter? Your changes to it will be lost. [y/N] ",
            bold(&rel)
        )?;
        out.flush()?;
        let mut answer = String::new();
        io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            writeln!(out, "{}", yellow(format!("Left {rel} unchanged.")))?;
            return Ok(ExitCode::FAILURE);
        }
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    fs::write(&path, starter)
        .with_context(|| format!("cannot write {rel}; check that it is writable"))?;
    State::update(syllabus, |state| state.forget_check(step))?;
    writeln!(
        out,
        "{} Start again with {}",
        green(format!("Restored {rel} to the starter.")),
        just(&format!("check {id}"))
    )?;
    Ok(ExitCode::SUCCESS)
}
