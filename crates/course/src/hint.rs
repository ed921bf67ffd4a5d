//! `cargo course hint [TOPIC/STEP] [--all]`: the next hint each call (the count is kept in
//! the state file); `--all` shows again every hint revealed so far, without a new one.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::state::State;
use crate::syllabus::{StepRef, Syllabus};
use crate::ui::{bold, dim, green, just, yellow};

/// Shows the next hint of the named step (default: the current one), or with `all` the
/// hints already revealed.
pub fn run(
    syllabus: &Syllabus,
    spec: Option<&str>,
    all: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let step = match spec {
        Some(spec) => syllabus.resolve_step(spec, "hint")?,
        None => match State::load(syllabus).current(syllabus) {
            Some(step) => step,
            None => {
                writeln!(out, "{}", green("Every step is done: no hints needed."))?;
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    if all {
        show_revealed(syllabus, step, out)?;
    } else {
        show_next(syllabus, step, out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Reveals the next hint of `step`, records it, and shows it.
pub fn show_next(syllabus: &Syllabus, step: StepRef<'_>, out: &mut dyn Write) -> Result<()> {
    let id = step.id();
    let hints = &step.step.hints;
    if hints.is_empty() {
        return no_hints(step, out);
    }
    let (already, shown) = State::update(syllabus, |state| {
        let already = state.get(step).hints_shown;
        (already, state.next_hint(step))
    })?;
    print_hint(step, shown, out)?;
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
        writeln!(
            out,
            "{} {} {}",
            dim("More:"),
            just(&format!("hint {id}")),
            dim(format!(
                "(all you have seen: {})",
                just(&format!("hint {id} --all"))
            ))
        )?;
    } else {
        writeln!(out, "{}", dim("That was the last hint."))?;
    }
    Ok(())
}

/// Shows again every hint of `step` revealed so far.
pub fn show_revealed(syllabus: &Syllabus, step: StepRef<'_>, out: &mut dyn Write) -> Result<()> {
    let id = step.id();
    let hints = &step.step.hints;
    if hints.is_empty() {
        return no_hints(step, out);
    }
    let shown = State::load(syllabus).get(step).hints_shown.min(hints.len());
    if shown == 0 {
        writeln!(
            out,
            "No hint for {id} revealed yet; {} shows the first.",
            just(&format!("hint {id}"))
        )?;
        return Ok(());
    }
    for n in 1..=shown {
        if n > 1 {
            writeln!(out)?;
        }
        print_hint(step, n, out)?;
    }
    if shown < hints.len() {
        writeln!(
            out,
            "{} {}",
            dim("The next one:"),
            just(&format!("hint {id}"))
        )?;
    }
    Ok(())
}

fn print_hint(step: StepRef<'_>, n: usize, out: &mut dyn Write) -> Result<()> {
    let hints = &step.step.hints;
    writeln!(
        out,
        "{} {}",
        bold(format!("hint for {}", step.id())),
        dim(format!("(hint {n} of {})", hints.len()))
    )?;
    writeln!(out, "{}", wrap(&hints[n - 1], 88, "  "))?;
    Ok(())
}

fn no_hints(step: StepRef<'_>, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "{} has no hints. Its file's header and the book's chapter say what to do.",
        step.id()
    )?;
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
