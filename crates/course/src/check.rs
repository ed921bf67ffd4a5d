//! `cargo course check [TOPIC[/STEP]]`: runs a step's tests against the student's file and
//! prints a short verdict: compile errors as cargo prints them, else the first failing
//! test's own explanation and the replay line, else "passed" and the next step.

use std::io::Write;
use std::process::ExitCode;

use std::time::Duration;

use anyhow::{Result, bail};

use crate::cargo::{Phase, TestCommand, Verdict};
use crate::explain;
use crate::shadow::{self, Students};
use crate::state::{State, mtime};
use crate::syllabus::{Selection, StepRef, Syllabus};
use crate::ui::{self, bold, dim, green, just, red};

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
    let single = steps.len() == 1;
    for (i, step) in steps.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let after = if single {
            AfterPass::Next
        } else {
            AfterPass::Nothing
        };
        if check_step(syllabus, *step, after, out)?.passed() {
            passed += 1;
        }
    }
    if !single {
        writeln!(out)?;
        if passed == steps.len() {
            let state = State::load(syllabus);
            print_next(syllabus, &state, steps[steps.len() - 1], out)?;
        }
        let summary = format!("{passed} of {} steps pass", steps.len());
        if passed == steps.len() {
            writeln!(out, "{}", green(format!("✓ {summary}")))?;
        } else {
            writeln!(out, "{}", red(format!("✗ {summary}")))?;
        }
    }
    Ok(if passed == steps.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
            // Two lines: one would pass 100 columns for the longer step names.
            "next: {} ({})\n      then {}",
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

/// Builds and runs `step`'s tests against the student's file in the student's build
/// folder (see [`crate::shadow`]), and reads the verdict.
pub fn run_step(
    syllabus: &Syllabus,
    step: StepRef<'_>,
    color: bool,
    still_building: &mut dyn FnMut(Duration),
) -> Result<Verdict> {
    let workspace = shadow::prepare(syllabus, Students::Step(step))?;
    let mut command = TestCommand::for_step(step, false);
    command.color = color;
    command.target_dir = Some(workspace.target.clone());
    let run = command.run_with_progress(&workspace.root, false, still_building)?;
    let source = test_source(syllabus, step);
    let mut verdict = Verdict::of(&run, source.as_deref());
    if let Verdict::Crashed {
        running, finished, ..
    } = &mut verdict
    {
        if running.is_empty() {
            // libtest names a test when it finishes: the ones that never did were running.
            *running = list_tests(&command, &workspace.root)
                .into_iter()
                .filter(|t| !finished.contains(t))
                .collect();
        }
    }
    Ok(verdict)
}

/// The names of the tests `command` runs (`-- --list`), without running them.
fn list_tests(command: &TestCommand, root: &std::path::Path) -> Vec<String> {
    let mut list = command.clone();
    list.color = false;
    list.harness_args.push("--list".to_string());
    let Ok(run) = list.run(root, false) else {
        return Vec::new();
    };
    run.stdout
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .map(str::to_string)
        .collect()
}

/// The source of `step`'s test target, to order its failures as the file does.
pub fn test_source(syllabus: &Syllabus, step: StepRef<'_>) -> Option<String> {
    let dir = syllabus
        .root
        .join("crates")
        .join(&step.topic.package)
        .join("tests");
    std::fs::read_to_string(dir.join(format!("{}.rs", step.step.test)))
        .or_else(|_| std::fs::read_to_string(dir.join(&step.step.test).join("main.rs")))
        .ok()
}

/// What a pass says about what comes next (before the verdict line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPass {
    /// Nothing (one step of several).
    Nothing,
    /// The next step and the command to check it.
    Next,
    /// `watch`'s keys: n for the next step.
    WatchKeys,
}

/// Checks one step: runs its tests, prints the verdict (last) and records it in the state
/// file.
pub fn check_step(
    syllabus: &Syllabus,
    step: StepRef<'_>,
    after_pass: AfterPass,
    out: &mut dyn Write,
) -> Result<Verdict> {
    let id = step.id();
    preflight(syllabus, step)?;
    writeln!(
        out,
        "{}",
        dim(format!("checking {id} ({})", step.exercise_rel()))
    )?;
    out.flush()?;
    let checked_mtime = mtime(&syllabus.root.join(step.exercise_rel()));
    let mut noted = false;
    let verdict = {
        let mut note = |elapsed: Duration| {
            if !noted {
                noted = true;
                let _ = writeln!(
                    out,
                    "{}",
                    dim(format!(
                        "still compiling ({}; a topic's first build takes a minute or two)...",
                        ui::secs(elapsed)
                    ))
                );
                let _ = out.flush();
            }
        };
        run_step(syllabus, step, ui::color_enabled(), &mut note)?
    };
    let build_stopped = matches!(
        verdict,
        Verdict::TimedOut {
            phase: Phase::Build,
            ..
        }
    );
    if !build_stopped {
        // A build stopped by the watchdog says nothing about the student's code.
        State::update(syllabus, |state| {
            state.record(step, checked_mtime, verdict.passed());
        })?;
    }
    if verdict.passed() {
        let state = State::load(syllabus);
        match after_pass {
            AfterPass::Nothing => {}
            AfterPass::Next => print_next(syllabus, &state, step, out)?,
            AfterPass::WatchKeys => match state.next_after(syllabus, step) {
                Some(next) => writeln!(
                    out,
                    "Press {} for the next step ({}), or keep improving this one (the reference: {}).",
                    bold("n"),
                    next.id(),
                    just(&format!("solution {id}"))
                )?,
                None => writeln!(
                    out,
                    "{}",
                    green("That was the last step: every step is done. Press q to quit.")
                )?,
            },
        }
    }
    // A thread step's file that uses std's (or parking_lot's) threads, locks or clocks
    // fails for that reason, whatever table or exploration failed first: say so.
    let escape = match &verdict {
        Verdict::Failed { .. } => std::fs::read_to_string(syllabus.root.join(step.exercise_rel()))
            .ok()
            .filter(|text| text.contains("interleave"))
            .and_then(|text| interleave::escape_report(&step.exercise_rel(), &text)),
        _ => None,
    };
    print_verdict_noting(step, &verdict, escape.as_deref(), out)?;
    Ok(verdict)
}

/// Refuses early, with the fix, when the step's files are not there.
pub fn preflight(syllabus: &Syllabus, step: StepRef<'_>) -> Result<()> {
    let id = step.id();
    let exercise = step.exercise_rel();
    if !syllabus.root.join(&exercise).is_file() {
        bail!(
            "{exercise} is missing; restore the starter with `{}`",
            ui::command(&format!("reset {id} --yes"))
        );
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

/// Writes a heading (bold), within the width.
fn heading(out: &mut dyn Write, text: &str) -> Result<()> {
    writeln!(out, "{}", ui::fit(&bold(text), ui::WIDTH))?;
    Ok(())
}

/// Writes `text` indented and within the width.
fn block(out: &mut dyn Write, text: &str, indent: &str) -> Result<()> {
    let fitted = ui::fit(&ui::indent(text, indent), ui::WIDTH);
    if !fitted.trim().is_empty() {
        writeln!(out, "{fitted}")?;
    }
    Ok(())
}

/// Writes the verdict's line, last, within the width.
fn verdict_line(out: &mut dyn Write, mark: String, cause: &str, detail: &str) -> Result<()> {
    let plain = format!(
        "{mark} {cause}{}",
        if detail.is_empty() {
            String::new()
        } else {
            format!(" ({detail})")
        }
    );
    let fitted = ui::fit(&plain, ui::WIDTH);
    let mut lines = fitted.lines();
    if let Some(first) = lines.next() {
        writeln!(out, "{}", red(first))?;
    }
    for line in lines {
        writeln!(out, "{}", red(line))?;
    }
    Ok(())
}

/// Writes what a check found: the explanation, the replay and hint lines, and the verdict
/// line last (so that it is what stays on screen).
pub fn print_verdict(step: StepRef<'_>, verdict: &Verdict, out: &mut dyn Write) -> Result<()> {
    print_verdict_noting(step, verdict, None, out)
}

/// [`print_verdict`], with the escapes the student's file uses (`interleave`'s report), if
/// any: printed after the first failure, and made the verdict, since they are its cause.
fn print_verdict_noting(
    step: StepRef<'_>,
    verdict: &Verdict,
    escape: Option<&str>,
    out: &mut dyn Write,
) -> Result<()> {
    let id = step.id();
    let package = &step.topic.package;
    let mut replay = None;
    let (cause, detail) = match verdict {
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
            let detail = format!("{failed} of {} failed", ui::plural(total, "test"));
            match failures.first() {
                Some(first) => {
                    let explained = explain::failure(&first.output, package);
                    writeln!(out)?;
                    heading(out, &format!("`{}` failed:", first.name))?;
                    block(
                        out,
                        &crate::trace::narrow_keeping(&explained.body, true),
                        "  ",
                    )?;
                    writeln!(out)?;
                    if failures.len() > 1 {
                        let others: Vec<String> = failures[1..]
                            .iter()
                            .map(|f| format!("`{}`", f.name))
                            .collect();
                        block(
                            out,
                            &dim(format!("also failing: {}", others.join(", "))),
                            "",
                        )?;
                    }
                    replay = explained.replay;
                    let cause = if let Some(report) = escape {
                        let report = report.strip_prefix("interleave: ").unwrap_or(report);
                        block(out, report, "")?;
                        writeln!(out)?;
                        let first = report.lines().nth(1).unwrap_or_default();
                        let first = first.split(';').next().unwrap_or(first);
                        format!(
                            "{} uses what the simulation cannot see ({first})",
                            step.exercise_rel()
                        )
                    } else if explained.headline.is_empty() {
                        format!("`{}` failed", first.name)
                    } else {
                        explain::short(&explained.headline, 180)
                    };
                    (cause, detail)
                }
                None => (
                    format!("{failed} of {} failed", ui::plural(total, "test")),
                    String::new(),
                ),
            }
        }
        Verdict::BuildFailed { diagnostics, files } => {
            let diagnostics = explain::shorten_paths(diagnostics, package);
            writeln!(out)?;
            if diagnostics.trim().is_empty() {
                writeln!(
                    out,
                    "  (cargo printed nothing; run `cargo test -p {package} --test {}` to see why)",
                    step.step.test
                )?;
            } else {
                block(out, &diagnostics, "")?;
            }
            writeln!(out)?;
            let mine = step.exercise_rel();
            let first_error = first_error_line(&diagnostics);
            let cause = match files.first() {
                Some(file) if *file == mine || file.starts_with("exercises/") => {
                    format!("{file} does not compile")
                }
                Some(file) if file.starts_with("crates/") && file.contains("/tests/") => format!(
                    "the tests ({file}) do not compile against your {mine}: did a public name or signature change?"
                ),
                Some(file) => format!("{file} does not compile"),
                None => "cargo could not build the tests".to_string(),
            };
            (cause, first_error)
        }
        Verdict::NoTests => (
            format!(
                "no test ran: the filter `{}` matches no test in {}; this is a course bug: tell your teacher (`cargo course verify` reports it)",
                step.step.filter.as_deref().unwrap_or(""),
                step.test_rel()
            ),
            String::new(),
        ),
        Verdict::Crashed {
            report,
            how,
            running,
            output,
            ..
        } => {
            let report = ui::localize_commands(&explain::shorten_paths(report, package));
            let (report, replayed) = explain::take_replay(&report);
            let during = match running.as_slice() {
                [] => String::new(),
                names => format!(
                    " while {} ran",
                    names
                        .iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            writeln!(out)?;
            let overflow = report.contains("has overflowed its stack");
            if overflow {
                heading(out, &format!("the test process ran out of stack{during}:"))?;
                block(out, &report, "  ")?;
                writeln!(out)?;
                block(
                    out,
                    "note: every call takes stack space until it returns; a function that calls itself (directly, or through another call or a trait method) without reaching a case that stops the recursion uses it all up. Look for such a call in your code.",
                    "",
                )?;
            } else {
                heading(
                    out,
                    &format!("the test process died{during}; what it said last:"),
                )?;
                if report.trim().is_empty() && output.trim().is_empty() {
                    block(out, "(nothing: it was stopped without a report)", "  ")?;
                    if how == "SIGABRT" {
                        writeln!(out)?;
                        block(
                            out,
                            "note: an abort without a report is a stack overflow, a panic while panicking, or the course's watchdog stopping a simulation stuck outside the scheduler: a loop that never takes a lock, waits on a condvar or uses a channel, or a real sleep or std lock in simulated code.",
                            "",
                        )?;
                    }
                } else if report.trim().is_empty() {
                    block(out, &explain::shorten_paths(output, package), "  ")?;
                } else {
                    block(out, &report, "  ")?;
                }
            }
            writeln!(out)?;
            replay = replayed;
            let error_line = explain::error_line(&report);
            let cause = if overflow {
                "a test overflowed its stack: endless recursion?".to_string()
            } else {
                error_line
                    .as_deref()
                    .or_else(|| {
                        report
                            .lines()
                            .map(str::trim)
                            .find(|l| !l.is_empty() && !l.starts_with("thread '"))
                    })
                    .map(|l| explain::short(l, 180))
                    .unwrap_or_else(|| match running.as_slice() {
                        [] => "the test process died".to_string(),
                        [one] => format!("the test process died while `{one}` ran"),
                        [first, rest @ ..] => format!(
                            "the test process died while `{first}` and {} ran",
                            ui::plural(rest.len(), "other test")
                        ),
                    })
            };
            (
                cause,
                if how.is_empty() {
                    String::new()
                } else {
                    how.clone()
                },
            )
        }
        Verdict::TimedOut {
            after,
            phase: Phase::Build,
            ..
        } => {
            writeln!(out)?;
            (
                format!(
                    "still compiling after {}; stopped. The machine is busy? Check again (COURSE_BUILD_TIMEOUT_SECS raises the limit)",
                    ui::secs(*after)
                ),
                String::new(),
            )
        }
        Verdict::TimedOut {
            after,
            phase: Phase::Tests,
            output,
            running,
        } => {
            writeln!(out)?;
            if !running.is_empty() {
                let names: Vec<String> = running.iter().map(|n| format!("`{n}`")).collect();
                block(out, &format!("still running: {}", names.join(", ")), "")?;
            }
            if !output.trim().is_empty() {
                writeln!(out, "{}", dim("the last lines the tests printed:"))?;
                block(out, &explain::shorten_paths(output, package), "  ")?;
            }
            writeln!(out)?;
            (
                format!(
                    "the tests were still running after {} and were stopped: is a thread waiting forever (a deadlock, a lost wake-up) or a loop never ending?",
                    ui::secs(*after)
                ),
                String::new(),
            )
        }
    };
    finish(out, id, &replay, &cause, &detail)
}

/// The replay and hint lines, then the verdict line.
fn finish(
    out: &mut dyn Write,
    id: String,
    replay: &Option<String>,
    cause: &str,
    detail: &str,
) -> Result<()> {
    if let Some(replay) = replay {
        writeln!(out, "replay: {}", ui::cyan(replay))?;
    }
    writeln!(out, "hint:   {}", ui::just_bare(&format!("hint {id}")))?;
    verdict_line(out, format!("✗ {id}:"), cause, detail)?;
    Ok(())
}

/// The first compiler error's message (`mismatched types`).
fn first_error_line(diagnostics: &str) -> String {
    ui::strip_ansi(diagnostics)
        .lines()
        .find(|l| l.starts_with("error") && !l.starts_with("error: could not compile"))
        .map(|l| {
            let message = l.split_once(": ").map_or(l, |(_, m)| m);
            explain::short(message, 50)
        })
        .unwrap_or_default()
}
