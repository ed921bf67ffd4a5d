//! `cargo course verify [TOPIC]`: the teachers' and CI's gate. It lists every problem it
//! finds and exits 1 if there is any:
//! - course.toml is sound and matches the tree (packages, test targets, file pairs, hints);
//! - exercises/ and solutions/ hold only the declared files; starters carry a TODO comment,
//!   references none (nor a todo macro); no pending insta snapshot under crates/;
//! - the book has a chapter per topic, linked from SUMMARY.md, and its links and includes
//!   resolve;
//! - every reference compiles without warnings and passes its step's tests; every starter
//!   compiles without warnings and fails its tests as shipped (unless `starter_passes`).
//!
//! - `.course/starters/` holds the starters as shipped (what `reset` restores);
//!   `--update-starters` refreshes it from exercises/ first.
//!
//! Every cargo invocation runs under the watchdog (`COURSE_TIMEOUT_SECS` for tests, default
//! 300 s, counted from the start of the tests; `COURSE_BUILD_TIMEOUT_SECS` for building,
//! default 30 min), so verify cannot hang.

pub mod book;
pub mod build;
pub mod tree;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;

use crate::cargo::{TestCommand, Verdict};
use crate::pristine;
use crate::syllabus::{Selection, StepRef, Syllabus, Topic};
use crate::ui::{self, UsageError, bold, dim, green, plural, red, strip_ansi, yellow};

/// Runs every check (of one topic, if named) and prints progress, then the problems.
pub fn run(
    syllabus: &Syllabus,
    topic: Option<&str>,
    update_starters: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let started = Instant::now();
    if crate::classroom::handout::is_handout(&syllabus.root) && !update_starters {
        // A students' repository: checked as a handout (no references to run).
        return crate::classroom::handout::verify(syllabus, out);
    }
    if update_starters {
        let changed = pristine::update(syllabus)?;
        if changed.is_empty() {
            writeln!(out, "{}/ already matches exercises/", pristine::DIR)?;
        } else {
            writeln!(
                out,
                "updated the starters as shipped: {}",
                changed.join(", ")
            )?;
        }
    }
    let only: Option<&Topic> = match topic {
        None => None,
        Some(name) => match syllabus.resolve(name)? {
            Selection::Topic(topic) => Some(topic),
            Selection::Step(step) => {
                return Err(UsageError(format!(
                    "verify takes a topic, not a step: `cargo course verify {}`",
                    step.topic.name
                ))
                .into());
            }
        },
    };
    let topics: Vec<&Topic> = syllabus
        .topics
        .iter()
        .filter(|t| only.is_none_or(|o| std::ptr::eq(*t, o)))
        .collect();
    let steps: Vec<StepRef<'_>> = syllabus
        .steps()
        .filter(|s| only.is_none_or(|o| std::ptr::eq(s.topic, o)))
        .collect();
    writeln!(
        out,
        "{} {}: {}, {}",
        bold("verify"),
        only.map_or_else(|| syllabus.title.clone(), |t| format!("topic `{}`", t.name)),
        plural(topics.len(), "topic"),
        plural(steps.len(), "step")
    )?;

    // 1. What can be checked without building anything.
    let mut problems: Vec<String> = Vec::new();
    let phase = Instant::now();
    problems.extend(syllabus.lint(only));
    let tree_problems = syllabus.tree_problems(only);
    problems.extend(tree_problems.iter().cloned());
    problems.extend(tree::stray_files(syllabus, only));
    problems.extend(tree::todo_markers(syllabus, only));
    problems.extend(tree::module_wiring(syllabus, only));
    problems.extend(tree::pending_snapshots(syllabus, only));
    problems.extend(pristine::problems(syllabus, only));
    problems.extend(book::check(syllabus, only));
    let static_count = problems.len();
    writeln!(
        out,
        "{} course.toml, exercises/, solutions/, snapshots and book {}",
        mark(static_count == 0),
        if static_count == 0 {
            dim(format!("({})", ui::secs(phase.elapsed())))
        } else {
            red(format!(
                "{} ({})",
                plural(static_count, "problem"),
                ui::secs(phase.elapsed())
            ))
        }
    )?;

    // 2. Build each package once per feature set, so that per-step runs only run tests,
    //    and collect the warnings in starters and references. Nothing builds if cargo
    //    cannot even load the workspace (a member's broken Cargo.toml): say that once.
    let workspace_error = workspace_loads(syllabus)?;
    let mut packages: Vec<&str> = Vec::new();
    if let Some(error) = &workspace_error {
        writeln!(out, "{} cargo cannot load the workspace", mark(false))?;
        problems.push(format!(
            "cargo cannot load the workspace, so nothing was built or tested; fix this first:\n{}",
            ui::indent(error, "  ")
        ));
    }
    let loadable: &[&Topic] = if workspace_error.is_none() {
        &topics
    } else {
        &[]
    };
    for topic in loadable {
        let buildable = syllabus
            .root
            .join("crates")
            .join(&topic.package)
            .join("Cargo.toml")
            .is_file()
            && !tree_problems
                .iter()
                .any(|p| p.contains(&format!("crates/{}/Cargo.toml", topic.package)));
        if buildable && !packages.contains(&topic.package.as_str()) {
            packages.push(&topic.package);
        }
    }
    for package in &packages {
        for solution in [true, false] {
            let what = if solution { "references" } else { "starters" };
            write!(out, "  building {package} ({what})... ")?;
            out.flush()?;
            let built = build::build(syllabus, package, solution)?;
            writeln!(
                out,
                "{}",
                match (&built.failed, built.warnings.len()) {
                    (true, _) => red(format!("does not compile ({})", ui::secs(built.elapsed))),
                    (false, 0) => dim(format!("ok ({})", ui::secs(built.elapsed))),
                    (false, n) => red(format!(
                        "{} ({})",
                        plural(n, "warning"),
                        ui::secs(built.elapsed)
                    )),
                }
            )?;
            problems.extend(built.warnings);
            problems.extend(built.other_problems);
        }
    }

    // 3. Each step: the reference passes, the starter fails as shipped.
    let width = steps.iter().map(|s| s.id().len()).max().unwrap_or(0);
    for (i, step) in steps.iter().enumerate() {
        let id = step.id();
        let counter = format!(
            "[{:>w$}/{}]",
            i + 1,
            steps.len(),
            w = steps.len().to_string().len()
        );
        let step_started = Instant::now();
        if tree_problems
            .iter()
            .any(|p| p.starts_with(&format!("step `{id}`:")))
            || !packages.contains(&step.topic.package.as_str())
        {
            writeln!(
                out,
                "{counter} {id:<width$}  {}",
                yellow("skipped: see the problems above")
            )?;
            continue;
        }
        write!(out, "{counter} {id:<width$}  ")?;
        out.flush()?;
        let reference = Verdict::of(
            &TestCommand::for_step(*step, true).run(&syllabus.root, false)?,
            None,
        );
        let reference_note = match &reference {
            Verdict::Passed { tests } => green(format!("reference ✓ {}", plural(*tests, "test"))),
            other => {
                problems.push(describe(*step, "the reference", other));
                red(format!("reference ✗ {}", other.word().replace('_', " ")))
            }
        };
        write!(out, "{reference_note} · ")?;
        out.flush()?;
        let starter = crate::check::run_step(syllabus, *step, false, &mut |_| {})?;
        let starter_note = match (&starter, step.step.starter_passes) {
            (Verdict::Passed { .. }, true) => green("starter ✓ passes (a demo step)"),
            (Verdict::Failed { .. } | Verdict::Crashed { .. }, false) => {
                green("starter ✓ fails as shipped")
            }
            (Verdict::Passed { .. }, false) => {
                problems.push(format!(
                    "the starter of {id} passes its tests as shipped ({}): a solved starter? Put the unsolved version in {} (or set `starter_passes = true` in course.toml for a demo step)",
                    step.exercise_rel(),
                    step.exercise_rel()
                ));
                red("starter ✗ passes")
            }
            (other, true) => {
                problems.push(describe(
                    *step,
                    "the starter (flagged starter_passes)",
                    other,
                ));
                red(format!("starter ✗ {}", other.word().replace('_', " ")))
            }
            (other, false) => {
                problems.push(describe(*step, "the starter", other));
                red(format!("starter ✗ {}", other.word().replace('_', " ")))
            }
        };
        writeln!(
            out,
            "{starter_note} {}",
            dim(format!("({})", ui::secs(step_started.elapsed())))
        )?;
    }

    writeln!(out)?;
    let elapsed = ui::secs(started.elapsed());
    if problems.is_empty() {
        writeln!(
            out,
            "{}",
            green(format!(
                "verify passed: {}, {}, no problem ({elapsed})",
                plural(topics.len(), "topic"),
                plural(steps.len(), "step")
            ))
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    print_problems(out, &problems, &format!(" ({elapsed})"))
}

/// `verify found N problems{after}:` and the numbered problems; the failing exit code.
pub fn print_problems(out: &mut dyn Write, problems: &[String], after: &str) -> Result<ExitCode> {
    writeln!(
        out,
        "{}",
        red(format!(
            "verify found {}{after}:",
            plural(problems.len(), "problem")
        ))
    )?;
    for (i, problem) in problems.iter().enumerate() {
        writeln!(
            out,
            "{:>3}. {}",
            i + 1,
            ui::indent(problem, "     ").trim_start()
        )?;
    }
    Ok(ExitCode::FAILURE)
}

/// `Some(cargo's error)` when `cargo metadata` cannot load the workspace.
fn workspace_loads(syllabus: &Syllabus) -> Result<Option<String>> {
    let job = crate::cargo::Job {
        program: crate::cargo::cargo_program(),
        args: [
            "metadata",
            "--no-deps",
            "--format-version=1",
            "--color=never",
        ]
        .map(String::from)
        .to_vec(),
        cwd: syllabus.root.clone(),
        env: Vec::new(),
        echo: false,
    };
    let run = crate::cargo::run_supervised(&job, &mut |_| {})?;
    Ok(if run.success() {
        None
    } else {
        Some(crate::cargo::diagnostics(&run.stderr))
    })
}

fn mark(ok: bool) -> String {
    if ok { green("✓") } else { red("✗") }
}

/// One problem from a verdict that should have been something else.
fn describe(step: StepRef<'_>, what: &str, verdict: &Verdict) -> String {
    let id = step.id();
    let file = if what.contains("reference") {
        step.solution_rel()
    } else {
        step.exercise_rel()
    };
    match verdict {
        Verdict::Passed { .. } => format!("{what} of {id} passes, but should not"),
        Verdict::Failed {
            failed, failures, ..
        } => {
            let first = failures.first().map_or(String::new(), |f| {
                format!(
                    "; the first, `{}`:\n{}",
                    f.name,
                    ui::indent(&head(&f.output, 8), "  ")
                )
            });
            format!(
                "{what} of {id} ({file}) fails {}{first}",
                plural(*failed, "test")
            )
        }
        Verdict::BuildFailed { diagnostics, .. } => format!(
            "{what} of {id} ({file}) does not compile:\n{}",
            ui::indent(&first_error(diagnostics), "  ")
        ),
        Verdict::NoTests => format!(
            "{id}: no test ran for {what}; the filter `{}` matches no test in {}",
            step.step.filter.as_deref().unwrap_or(""),
            step.test_rel()
        ),
        Verdict::Crashed {
            report,
            how,
            output,
            ..
        } => format!(
            "{what} of {id}: the test process died before finishing ({how}):\n{}",
            ui::indent(
                &head(
                    &strip_ansi(if report.is_empty() { output } else { report }),
                    8
                ),
                "  "
            )
        ),
        Verdict::TimedOut {
            after,
            phase: crate::cargo::Phase::Tests,
            ..
        } => format!(
            "{what} of {id}: the tests were still running after {} and were stopped (a deadlock or an endless loop; students would wait as long)",
            ui::secs(*after)
        ),
        Verdict::TimedOut { after, .. } => format!(
            "{what} of {id}: cargo was still building after {} and was stopped (COURSE_BUILD_TIMEOUT_SECS raises the limit)",
            ui::secs(*after)
        ),
    }
}

/// The first `n` lines of `text`, with "..." if there were more.
fn head(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = lines[..lines.len().min(n)].join("\n");
    if lines.len() > n {
        shown.push_str("\n...");
    }
    shown
}

/// The first compiler error (its message and location) from cargo's diagnostics.
fn first_error(diagnostics: &str) -> String {
    let plain = strip_ansi(diagnostics);
    let lines: Vec<&str> = plain.lines().collect();
    match lines.iter().position(|l| l.starts_with("error")) {
        Some(at) => head(&lines[at..].join("\n"), 6),
        None => head(&plain, 6),
    }
}
