//! `cargo course trace TOPIC/STEP [--seed N] [--strategy S]`: replays one schedule of the
//! step's tests with the scheduler's trace printed (the `interleave` crate reads the
//! INTERLEAVE_* variables set here).

use std::process::ExitCode;

use anyhow::Result;

use crate::cargo::{TestCommand, Verdict};
use crate::state::State;
use crate::syllabus::Syllabus;
use crate::ui::{self, dim, green, just, red};

/// Runs the step's tests once, single-threaded, output not captured, tracing on.
pub fn run(
    syllabus: &Syllabus,
    spec: Option<&str>,
    seed: Option<u64>,
    strategy: Option<&str>,
) -> Result<ExitCode> {
    let step = match spec {
        Some(spec) => syllabus.resolve_step(spec, "trace")?,
        None => match State::load(syllabus).current(syllabus) {
            Some(step) => step,
            None => {
                println!(
                    "Every step is done; name the step to trace: {}",
                    just("trace TOPIC/STEP")
                );
                return Ok(ExitCode::SUCCESS);
            }
        },
    };
    crate::check::preflight(syllabus, step)?;
    let mut command = TestCommand::for_step(step, false);
    command.env.retain(|(k, _)| k != "RUST_BACKTRACE");
    command
        .harness_args
        .extend(["--nocapture".to_string(), "--test-threads=1".to_string()]);
    let mut settings = Vec::new();
    if let Some(seed) = seed {
        command
            .env
            .push(("INTERLEAVE_SEED".into(), seed.to_string()));
        settings.push(format!("seed {seed}"));
    }
    if let Some(strategy) = strategy {
        command
            .env
            .push(("INTERLEAVE_STRATEGY".into(), strategy.to_string()));
        settings.push(format!("strategy {strategy}"));
    }
    command
        .env
        .push(("INTERLEAVE_ITERATIONS".into(), "1".into()));
    command.env.push(("INTERLEAVE_TRACE".into(), "1".into()));
    println!(
        "{}",
        dim(format!(
            "tracing {} with {} ({})",
            step.id(),
            if settings.is_empty() {
                "the default schedule".to_string()
            } else {
                settings.join(", ")
            },
            command.display()
        ))
    );
    let run = command.run(&syllabus.root, true)?;
    let verdict = Verdict::of(&run);
    println!();
    match &verdict {
        Verdict::Passed { .. } => println!(
            "{}",
            green(format!("✓ {} passed on this schedule", step.id()))
        ),
        Verdict::TimedOut { after, .. } => println!(
            "{}",
            red(format!(
                "✗ stopped after {}: the run did not finish",
                ui::secs(*after)
            ))
        ),
        other => println!(
            "{}",
            red(format!(
                "✗ {} {}",
                step.id(),
                other.word().replace('_', " ")
            ))
        ),
    }
    Ok(if verdict.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
