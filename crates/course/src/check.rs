//! `cargo course check [TOPIC[/STEP]]`: runs a step's tests against the student's file and
//! prints a short verdict: compile errors as cargo prints them, else the first failing
//! test's own explanation and the replay line, else "passed" and the next step.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};

use crate::cargo::{TestCommand, Verdict, replay_line};
use crate::state::{State, mtime};
use crate::syllabus::{Selection, StepRef, Syllabus};
use crate::ui::{self, bold, dim, green, indent, just, red, yellow};

/// Checks the named step (default: the current one) or every step of a topic.
pub fn run(syllabus: &Syllabus, spec: Option<&str>, out: &mut dyn Write) -> Result<ExitCode> {
    let steps: Vec<StepRef<'_>> = match spec {
        Some(spec) => match syllabus.resolve(spec)? {
            Selection::Step(step) => vec![step],
            Selection::Topic(topic) => topic
                .steps
                .iter()
                .map(|step| StepRef { topic, step })
                .collect(),
        },
        None => match State::load(syllabus).current(syllabus) {
            Some(step) => vec![step],
            None => {
                writeln!(
                    out,
                    "{} ({} to see them all)",
                    green("Every step is done."),
                    just("list")
                )?;
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    let mut passed = 0;
    for (i, step) in steps.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        if check_step(syllabus, *step, out)?.passed() {
            passed += 1;
        }
    }
    if steps.len() > 1 {
        writeln!(out)?;
        let summary = format!("{passed} of {} steps pass", steps.len());
        writeln!(
            out,
            "{}",
            if passed == steps.len() {
                green(summary)
            } else {
                red(summary)
            }
        )?;
    }
    if passed == steps.len() {
        let state = State::load(syllabus);
        let last = steps[steps.len() - 1];
        print_next(syllabus, &state, last, out)?;
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

/// After a pass: what comes next.
pub fn print_next(
    syllabus: &Syllabus,
    state: &State,
    after: StepRef<'_>,
    out: &mut dyn Write,
) -> Result<()> {
    match state.next_after(syllabus, after) {
        Some(next) => writeln!(
            out,
            "next: {} ({}), then {}",
            bold(next.id()),
            next.exercise_rel(),
            just(&format!("check {}", next.id()))
        )?,
        None => writeln!(
            out,
            "{} See {}",
            green("That was the last step: every step is done."),
            just("list")
        )?,
    }
    Ok(())
}

/// Checks one step: runs its tests, prints the verdict and records it in the state file.
pub fn check_step(syllabus: &Syllabus, step: StepRef<'_>, out: &mut dyn Write) -> Result<Verdict> {
    let id = step.id();
    preflight(syllabus, step)?;
    writeln!(
        out,
        "{}",
        dim(format!("checking {id} ({})...", step.exercise_rel()))
    )?;
    out.flush()?;
    let mut command = TestCommand::for_step(step, false);
    command.color = ui::color_enabled();
    let checked_mtime = mtime(&syllabus.root.join(step.exercise_rel()));
    let run = command.run(&syllabus.root, false)?;
    let verdict = Verdict::of(&run);
    print_verdict(step, &verdict, &command, out)?;

    let mut state = State::load(syllabus);
    state.record(step, checked_mtime, verdict.passed());
    state.save(syllabus)?;
    Ok(verdict)
}

/// Refuses early, with the fix, when the step's files are not there.
pub fn preflight(syllabus: &Syllabus, step: StepRef<'_>) -> Result<()> {
    let id = step.id();
    let exercise = step.exercise_rel();
    if !syllabus.root.join(&exercise).is_file() {
        bail!("{exercise} is missing; restore the starter with `cargo course reset {id} --yes`");
    }
    if !syllabus.test_target_exists(step) {
        bail!(
            "course.toml says {id} is checked by the test target `{}` of package `{}`, but {} does not exist; this is a course bug: tell your teacher (`cargo course verify` lists such problems)",
            step.step.test,
            step.topic.package,
            step.test_rel()
        );
    }
    Ok(())
}

/// Writes what a check found.
pub fn print_verdict(
    step: StepRef<'_>,
    verdict: &Verdict,
    command: &TestCommand,
    out: &mut dyn Write,
) -> Result<()> {
    let id = step.id();
    match verdict {
        Verdict::Passed { tests } => {
            writeln!(
                out,
                "{} {}",
                green(format!("✓ {id} passed")),
                dim(format!("({})", ui::plural(*tests, "test")))
            )?;
            return Ok(());
        }
        Verdict::Failed {
            passed,
            failed,
            failures,
        } => {
            let total = passed + failed;
            match failures.first() {
                Some(first) => {
                    writeln!(
                        out,
                        "{} {failed} of {} failed; the first, {}:",
                        red(format!("✗ {id}:")),
                        ui::plural(total, "test"),
                        bold(format!("`{}`", first.name))
                    )?;
                    writeln!(out)?;
                    // rustc names the step's file through the crate's `#[path]`:
                    // `crates/t/src/../../../exercises/..`; show the path the student knows.
                    let output = first
                        .output
                        .replace(&format!("crates/{}/src/../../../", step.topic.package), "");
                    writeln!(out, "{}", indent(&output, "  "))?;
                    if first.output.contains("not yet implemented") {
                        writeln!(out)?;
                        writeln!(
                            out,
                            "  {}",
                            yellow(
                                "(a `todo!()` in your code was reached: replace it with your implementation)"
                            )
                        )?;
                    }
                }
                None => writeln!(
                    out,
                    "{} {failed} of {} failed",
                    red(format!("✗ {id}:")),
                    ui::plural(total, "test")
                )?,
            }
            writeln!(out)?;
        }
        Verdict::BuildFailed { diagnostics } => {
            writeln!(
                out,
                "{} {} does not compile:",
                red(format!("✗ {id}:")),
                step.exercise_rel()
            )?;
            writeln!(out)?;
            if diagnostics.is_empty() {
                writeln!(
                    out,
                    "  (cargo printed nothing; run `{}` to see why)",
                    command.display()
                )?;
            } else {
                let diagnostics = diagnostics
                    .replace(&format!("crates/{}/src/../../../", step.topic.package), "");
                writeln!(out, "{diagnostics}")?;
            }
            writeln!(out)?;
        }
        Verdict::NoTests => {
            writeln!(
                out,
                "{} no test ran: the filter `{}` matches no test in {}. This is a course bug: tell your teacher (`cargo course verify` reports it).",
                red(format!("✗ {id}:")),
                step.step.filter.as_deref().unwrap_or(""),
                step.test_rel()
            )?;
        }
        Verdict::Crashed { output } => {
            writeln!(
                out,
                "{} the test process died before finishing (an abort, a signal, or `process::exit`):",
                red(format!("✗ {id}:"))
            )?;
            writeln!(out)?;
            writeln!(out, "{}", indent(output, "  "))?;
            writeln!(out)?;
        }
        Verdict::TimedOut { after, output } => {
            writeln!(
                out,
                "{} the tests were still running after {} and were stopped. Is a thread waiting forever (a deadlock, a lost wake-up) or a loop never ending?",
                red(format!("✗ {id}:")),
                ui::secs(*after)
            )?;
            if !output.trim().is_empty() {
                writeln!(out, "{}", dim("the last lines they printed:"))?;
                writeln!(out, "{}", indent(output, "  "))?;
            }
            writeln!(out)?;
        }
    }
    writeln!(out, "hint: {}", ui::just_bare(&format!("hint {id}")))?;
    if let Verdict::Failed { failures, .. } = verdict {
        if let Some(replay) = failures.first().and_then(|f| replay_line(&f.output)) {
            writeln!(out, "replay: {}", ui::cyan(replay))?;
        }
    }
    Ok(())
}
