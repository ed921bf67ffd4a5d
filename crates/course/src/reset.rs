//! `cargo course reset TOPIC/STEP [--yes]`: restores the starter as shipped (embedded in the
//! runner at build time), after a confirmation.

use std::fs;
use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::starters;
use crate::state::State;
use crate::syllabus::Syllabus;
use crate::ui::{bold, green, just, yellow};

/// Restores the step's exercise file.
pub fn run(syllabus: &Syllabus, spec: &str, yes: bool, out: &mut dyn Write) -> Result<ExitCode> {
    let step = syllabus.resolve_step(spec, "reset")?;
    let id = step.id();
    let rel = step.exercise_rel();
    let Some(starter) = starters::find(&syllabus.title, &step.starter_key()) else {
        if starters::has_course(&syllabus.title) {
            bail!(
                "this build of the runner has no starter for {rel} (it was built before the file existed); rebuild it with `touch course.toml` and run this again, or restore the file with `git checkout -- {rel}`"
            );
        }
        bail!(
            "this runner was built for another course than \"{}\"; run it from this course's workspace (`cargo course reset {id}`), or restore the file with `git checkout -- {rel}`",
            syllabus.title
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
    let mut state = State::load(syllabus);
    state.forget_check(step);
    state.save(syllabus)?;
    writeln!(
        out,
        "{} Start again with {}",
        green(format!("Restored {rel} to the starter.")),
        just(&format!("check {id}"))
    )?;
    Ok(ExitCode::SUCCESS)
}
