//! `cargo course hint [TOPIC/STEP]`: the next hint each call; the count is kept in the
//! state file.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::state::State;
use crate::syllabus::{StepRef, Syllabus};
use crate::ui::{bold, dim, green, just, yellow};

/// Shows the next hint of the named step (default: the current one).
pub fn run(syllabus: &Syllabus, spec: Option<&str>, out: &mut dyn Write) -> Result<ExitCode> {
    let mut state = State::load(syllabus);
    let step = match spec {
        Some(spec) => syllabus.resolve_step(spec, "hint")?,
        None => match state.current(syllabus) {
            Some(step) => step,
            None => {
                writeln!(out, "{}", green("Every step is done: no hints needed."))?;
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    show_next(&mut state, step, out)?;
    state.save(syllabus)?;
    Ok(ExitCode::SUCCESS)
}

/// Shows the next hint of `step` and counts it (the caller saves the state).
pub fn show_next(state: &mut State, step: StepRef<'_>, out: &mut dyn Write) -> Result<()> {
    let id = step.id();
    let hints = &step.step.hints;
    if hints.is_empty() {
        writeln!(
            out,
            "{id} has no hints. Its file's header and the book's chapter say what to do."
        )?;
        return Ok(());
    }
    let already = state.get(step).hints_shown;
    let shown = state.next_hint(step);
    writeln!(
        out,
        "{} {}",
        bold(format!("hint for {id}")),
        dim(format!("(hint {shown} of {})", hints.len()))
    )?;
    writeln!(out, "{}", wrap(&hints[shown - 1], 88, "  "))?;
    if already == hints.len() {
        writeln!(
            out,
            "{}",
            yellow("There are no more hints: that was the last one, again.")
        )?;
        writeln!(
            out,
            "Once the step passes, {} shows the reference; {} shows it now.",
            just(&format!("solution {id}")),
            just(&format!("solution {id} --force"))
        )?;
    } else if shown < hints.len() {
        writeln!(out, "{} {}", dim("More:"), just(&format!("hint {id}")))?;
    } else {
        writeln!(out, "{}", dim("That was the last hint."))?;
    }
    Ok(())
}

/// Word-wraps `text` at `width` columns, each line starting with `prefix`.
fn wrap(text: &str, width: usize, prefix: &str) -> String {
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            if !line.is_empty()
                && prefix.len() + line.chars().count() + 1 + word.chars().count() > width
            {
                lines.push(format!("{prefix}{line}"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        lines.push(format!("{prefix}{line}"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(super::wrap("aa bb cc", 7, "  "), "  aa bb\n  cc");
    }
}
