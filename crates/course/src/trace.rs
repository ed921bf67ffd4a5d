//! `cargo course trace TOPIC/STEP [--seed N] [--strategy S] [--test NAME] [--verbose]`:
//! replays the schedule of one failing test and prints it as a timeline.
//!
//! Which test: the one named with `--test`, else the first failing one (in the order of the
//! test file) under the given schedule, or, without a seed, in a normal check. Then that
//! test alone runs once more on that one schedule (`INTERLEAVE_SEED`,
//! `INTERLEAVE_STRATEGY`, `INTERLEAVE_ITERATIONS=1`, `INTERLEAVE_TRACE=1`), and the runner
//! prints its timeline and explanation, within 100 columns: the one-column-per-thread table
//! when it fits, else the event list (one line per event). Backtraces and the detailed
//! trace only with `--verbose`.
//!
//! Process steps run real processes, which no seed replays: `trace` says so, and that
//! checking the step again shows its failure again.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::cargo::{TestCommand, Verdict};
use crate::explain;
use crate::shadow::{self, Students};
use crate::state::State;
use crate::syllabus::{StepRef, Syllabus};
use crate::ui::{self, UsageError, dim, green, just, red};

/// What the command line asked for.
#[derive(Debug, Default)]
pub struct Request {
    /// `topic/step` (default: the current step).
    pub spec: Option<String>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// `--strategy`.
    pub strategy: Option<String>,
    /// `--test`.
    pub test: Option<String>,
    /// `--verbose`.
    pub verbose: bool,
}

/// The strategies `interleave` understands, for a check before anything is built.
const STRATEGIES: &str = "canonical, random, portfolio, pct, pct:D, delay:B, schedule:...";

/// Whether `s` is a strategy `interleave` parses (see `interleave::explore::Strategy`).
pub fn valid_strategy(s: &str) -> bool {
    let number = |n: &str| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit());
    match s.split_once(':') {
        None => matches!(s, "canonical" | "random" | "portfolio" | "pct"),
        Some(("pct" | "delay", n)) => number(n),
        Some(("schedule", steps)) => !steps.trim().is_empty(),
        Some(_) => false,
    }
}

/// Replays one failing test's schedule.
pub fn run(syllabus: &Syllabus, request: &Request, out: &mut dyn Write) -> Result<ExitCode> {
    if let Some(strategy) = &request.strategy {
        if !valid_strategy(strategy.trim()) {
            return Err(UsageError(format!(
                "--strategy {strategy:?} is not a strategy; use one of {STRATEGIES} (failing checks print the one to use)"
            ))
            .into());
        }
    }
    let step = match &request.spec {
        Some(spec) => syllabus.resolve_step(spec, "trace")?,
        None => match State::load(syllabus).current(syllabus) {
            Some(step) => step,
            None => {
                writeln!(
                    out,
                    "Every step is done; name the step to trace: {}",
                    just("trace TOPIC/STEP")
                )?;
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    let id = step.id();
    if is_process_step(syllabus, step) {
        return Err(UsageError(format!(
            "{id} runs real processes, which no seed can replay: there is no schedule to trace. Check the step again to see its failure again ({}); a hang is diagnosed the same way each time",
            ui::command(&format!("check {id}"))
        ))
        .into());
    }
    crate::check::preflight(syllabus, step)?;

    // 1. Which test, and (without a seed) which schedule.
    let (test, seed, strategy) = match &request.test {
        Some(test) => (test.clone(), request.seed, request.strategy.clone()),
        None => {
            writeln!(
                out,
                "{}",
                dim(format!("finding the first failing test of {id}..."))
            )?;
            out.flush()?;
            let (verdict, _) = run_tests(syllabus, step, request, None, false)?;
            match &verdict {
                Verdict::Failed { failures, .. } if !failures.is_empty() => {
                    let first = &failures[0];
                    let (seed, strategy) = match request.seed {
                        Some(seed) => (Some(seed), request.strategy.clone()),
                        None => explain::failure(&first.output, &step.topic.package)
                            .replay
                            .as_deref()
                            .map(seed_and_strategy)
                            .unwrap_or((None, None)),
                    };
                    (
                        first.name.clone(),
                        seed,
                        strategy.or(request.strategy.clone()),
                    )
                }
                Verdict::Passed { .. } => {
                    writeln!(
                        out,
                        "{}",
                        green(format!(
                            "✓ every test of {id} passes{}: there is no failing schedule to replay (name one with --test to see its schedule)",
                            if request.seed.is_some() {
                                " on this schedule"
                            } else {
                                ""
                            }
                        ))
                    )?;
                    return Ok(ExitCode::SUCCESS);
                }
                other => {
                    // It does not even run: show why, as `check` would.
                    crate::check::print_verdict(step, other, out)?;
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
    };

    // 2. That test alone, on that schedule, traced.
    let mut settings = Vec::new();
    if let Some(seed) = seed {
        settings.push(format!("seed {seed}"));
    }
    if let Some(strategy) = &strategy {
        settings.push(format!("strategy {strategy}"));
    }
    writeln!(
        out,
        "{}",
        ui::fit(
            &dim(format!(
                "tracing `{test}` of {id} on {}",
                if settings.is_empty() {
                    "the default schedule".to_string()
                } else {
                    settings.join(", ")
                }
            )),
            ui::WIDTH
        )
    )?;
    out.flush()?;
    let replay = Request {
        spec: None,
        seed,
        strategy: strategy.clone(),
        test: Some(test.clone()),
        verbose: request.verbose,
    };
    let (verdict, passed_output) = run_tests(syllabus, step, &replay, Some(&test), true)?;
    writeln!(out)?;
    match &verdict {
        Verdict::Failed { failures, .. } if !failures.is_empty() => {
            let explained = explain::failure(&failures[0].output, &step.topic.package);
            // The failure's own report shows the schedule: the timeline INTERLEAVE_TRACE
            // printed too would say it twice.
            let report = without_sections(
                &explained.body,
                &["interleave: schedule ", "interleave: scenario trace"],
            );
            let body = if request.verbose {
                report
            } else {
                narrow(&report)
            };
            writeln!(out, "{}", ui::fit(&body, ui::WIDTH))?;
            writeln!(out)?;
            writeln!(
                out,
                "{}",
                red(ui::fit(
                    &format!(
                        "✗ `{test}` fails on this schedule: {}",
                        explain::short(&explained.headline, 80)
                    ),
                    ui::WIDTH
                ))
            )?;
            Ok(ExitCode::FAILURE)
        }
        Verdict::Passed { .. } => {
            let shown = narrow(passed_output.trim());
            if !shown.is_empty() {
                writeln!(out, "{}", ui::fit(&shown, ui::WIDTH))?;
                writeln!(out)?;
            }
            writeln!(
                out,
                "{}",
                green(format!("✓ `{test}` passes on this schedule"))
            )?;
            Ok(ExitCode::SUCCESS)
        }
        other => {
            crate::check::print_verdict(step, other, out)?;
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Runs `step`'s tests (only `exact` if given, then with its output shown even when it
/// passes) with the request's schedule settings. Returns the verdict and the output of the
/// passing tests.
fn run_tests(
    syllabus: &Syllabus,
    step: StepRef<'_>,
    request: &Request,
    exact: Option<&str>,
    trace: bool,
) -> Result<(Verdict, String)> {
    let workspace = shadow::prepare(syllabus, Students::Step(step))?;
    let mut command = TestCommand::for_step(step, false);
    command.target_dir = Some(workspace.target.clone());
    if let Some(test) = exact {
        command.harness_args = vec![
            test.to_string(),
            "--exact".to_string(),
            "--show-output".to_string(),
        ];
    }
    let mut set = |k: &str, v: String| {
        command.env.retain(|(key, _)| key != k);
        command.env.push((k.to_string(), v));
    };
    if let Some(seed) = request.seed {
        set("INTERLEAVE_SEED", seed.to_string());
        set("INTERLEAVE_ITERATIONS", "1".to_string());
    }
    if let Some(strategy) = &request.strategy {
        set("INTERLEAVE_STRATEGY", strategy.trim().to_string());
    }
    if trace {
        set("INTERLEAVE_TRACE", "1".to_string());
    }
    if request.verbose {
        set("RUST_BACKTRACE", "1".to_string());
    }
    let run = command.run(&workspace.root, false)?;
    let source = crate::check::test_source(syllabus, step);
    Ok((Verdict::of(&run, source.as_deref()), successes(&run.stdout)))
}

/// The output libtest shows for passing tests with `--show-output` (its `successes:`
/// section).
fn successes(stdout: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for line in stdout.lines() {
        if line == "successes:" {
            inside = !inside || out.is_empty();
            continue;
        }
        if line.starts_with("test result:") {
            break;
        }
        if inside
            && !(line.starts_with("---- ") && line.ends_with(" stdout ----"))
            && !line.starts_with("    ")
        {
            out.push(line);
        }
    }
    out.join("\n").trim().to_string()
}

/// Keeps the one-column-per-thread table when it fits in the width; otherwise replaces it
/// with the event list (`detailed trace:`), which has one narrow line per event. The
/// detailed trace is dropped when the table is kept.
pub fn narrow(body: &str) -> String {
    narrow_keeping(body, false)
}

/// As [`narrow`]; with `keep_detail`, the detailed trace stays even when the table fits.
pub fn narrow_keeping(body: &str, keep_detail: bool) -> String {
    let sections = sections(body);
    let table = sections
        .iter()
        .position(|(title, _)| title.trim_start().starts_with("interleaving"));
    let detail = sections
        .iter()
        .position(|(title, _)| title.trim_start().starts_with("detailed trace"));
    let too_wide = |i: usize| {
        sections[i]
            .1
            .iter()
            .any(|l| ui::visible_width(l) + 2 > ui::WIDTH)
    };
    // Two threads with the same name share one column name: the table would mix their
    // events (or repeat them); the event list keeps them in order, one line each.
    let ambiguous = |i: usize| {
        let header: Vec<&str> = sections[i]
            .1
            .first()
            .map(|h| h.split('|').map(str::trim).collect())
            .unwrap_or_default();
        header
            .iter()
            .enumerate()
            .any(|(j, name)| !name.is_empty() && header[..j].contains(name))
    };
    let drop = match (table, detail) {
        (Some(t), Some(_)) if too_wide(t) || ambiguous(t) => Some(t),
        (Some(_), Some(d)) if !keep_detail => Some(d),
        _ => None,
    };
    let mut kept: Vec<String> = Vec::new();
    for (i, (title, lines)) in sections.iter().enumerate() {
        if Some(i) == drop {
            continue;
        }
        for line in std::iter::once(title).chain(lines) {
            if line.trim().is_empty() && kept.last().is_none_or(|l| l.trim().is_empty()) {
                continue; // one blank line between sections
            }
            kept.push(line.clone());
        }
    }
    kept.join("\n").trim().to_string()
}

/// `body` without the sections whose title starts with one of `titles`.
fn without_sections(body: &str, titles: &[&str]) -> String {
    let mut kept: Vec<String> = Vec::new();
    for (title, lines) in sections(body) {
        let plain = ui::strip_ansi(&title);
        if titles.iter().any(|t| plain.starts_with(t)) && !lines.is_empty() {
            continue;
        }
        kept.push(title);
        kept.extend(lines);
    }
    kept.join("\n").trim().to_string()
}

/// Splits text into sections: a title line ending in `:` and the lines up to the next blank
/// line. Text outside such sections is kept as sections without lines.
fn sections(body: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut open = false;
    for line in body.lines() {
        let plain = ui::strip_ansi(line);
        if line.trim().is_empty() {
            open = false;
            out.push((String::new(), Vec::new()));
            continue;
        }
        if !open && plain.trim_end().ends_with(':') && !plain.starts_with(' ') {
            out.push((line.to_string(), Vec::new()));
            open = true;
            continue;
        }
        if open {
            if let Some(last) = out.last_mut() {
                last.1.push(line.to_string());
                continue;
            }
        }
        out.push((line.to_string(), Vec::new()));
    }
    out
}

/// `(seed, strategy)` from a replay command (`... --seed 7 --strategy pct:3`).
fn seed_and_strategy(replay: &str) -> (Option<u64>, Option<String>) {
    let words: Vec<&str> = replay.split_whitespace().collect();
    let after = |flag: &str| {
        words
            .iter()
            .position(|w| *w == flag)
            .and_then(|i| words.get(i + 1))
            .map(|w| w.trim_matches('`').to_string())
    };
    (
        after("--seed").and_then(|s| s.parse().ok()),
        after("--strategy"),
    )
}

/// Whether the step's package is a process topic (its tests run demo binaries under
/// `proctest`): no schedule of threads to replay.
fn is_process_step(syllabus: &Syllabus, step: StepRef<'_>) -> bool {
    let manifest = syllabus
        .root
        .join("crates")
        .join(&step.topic.package)
        .join("Cargo.toml");
    std::fs::read_to_string(manifest)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .is_some_and(|table| {
            ["dependencies", "dev-dependencies"].iter().any(|section| {
                table
                    .get(*section)
                    .and_then(|d| d.as_table())
                    .is_some_and(|d| d.contains_key("proctest"))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategies_are_checked_before_anything_is_built() {
        for good in [
            "canonical",
            "random",
            "pct",
            "pct:3",
            "delay:2",
            "schedule:0,1",
        ] {
            assert!(valid_strategy(good), "{good}");
        }
        for bad in ["pct3", "rnadom", "pct:", "pct:x", "delay", ""] {
            assert!(!valid_strategy(bad), "{bad}");
        }
    }

    #[test]
    fn a_wide_table_gives_way_to_the_event_list() {
        let wide = format!("step | N1 | S1\n10   | {} |", "x".repeat(120));
        let body = format!("headline\n\ninterleaving:\n{wide}\n\ndetailed trace:\n  10 N1 enter\n");
        let narrowed = narrow(&body);
        assert!(!narrowed.contains("interleaving"), "{narrowed}");
        assert!(narrowed.contains("10 N1 enter"), "{narrowed}");
        let body =
            "headline\n\ninterleaving:\nstep | N1\n10 | enter\n\ndetailed trace:\n  10 N1 enter\n";
        let narrowed = narrow(body);
        assert!(narrowed.contains("interleaving"), "{narrowed}");
        assert!(!narrowed.contains("detailed trace"), "{narrowed}");
    }

    #[test]
    fn two_threads_with_one_name_get_the_event_list() {
        let body = "interleaving:\nstep | reader | reader\n1 | read | \n\ndetailed trace:\n  1 reader read\n";
        let narrowed = narrow(body);
        assert!(!narrowed.contains("interleaving"), "{narrowed}");
        assert!(narrowed.contains("1 reader read"), "{narrowed}");
    }

    #[test]
    fn the_schedule_is_read_from_the_replay_line() {
        assert_eq!(
            seed_and_strategy("cargo course trace t/s --seed 7 --strategy pct:3"),
            (Some(7), Some("pct:3".to_string()))
        );
    }
}
