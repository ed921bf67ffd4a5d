//! `cargo course`: the course runner. It lists the syllabus and the student's progress,
//! checks a step's tests against the student's file, watches it, gives hints, replays a
//! schedule, shows the reference, restores a starter, reports points and verifies the whole
//! course for teachers and CI. `main` only dispatches; each mode has its own module.

#![forbid(unsafe_code)]

mod cargo;
mod check;
mod cli;
mod hint;
mod list;
mod predict;
mod report;
mod reset;
mod solution;
mod starters;
mod state;
mod syllabus;
mod trace;
mod ui;
mod verify;
mod watch;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::syllabus::Syllabus;

fn main() -> ExitCode {
    let cli = Cli::parse();
    handle_interrupts();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            if error
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            {
                // `cargo course list | head`: the reader left; nothing to report.
                return ExitCode::SUCCESS;
            }
            eprintln!("{} {error}", ui::red("error:"));
            for cause in error.chain().skip(1) {
                eprintln!("  {} {cause}", ui::dim("caused by:"));
            }
            if error.downcast_ref::<ui::UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let root = Syllabus::find_root(cli.root.as_deref())?;
    let syllabus = Syllabus::load(&root)?;
    let mut out = std::io::stdout().lock();
    match cli.command.unwrap_or(Command::List) {
        Command::List => list::run(&syllabus, &mut out),
        Command::Check { step } => check::run(&syllabus, step.as_deref(), &mut out),
        Command::Watch { poll } => {
            drop(out);
            watch::run(&syllabus, poll)
        }
        Command::Hint { step } => hint::run(&syllabus, step.as_deref(), &mut out),
        Command::Trace {
            step,
            seed,
            strategy,
        } => {
            drop(out);
            trace::run(&syllabus, step.as_deref(), seed, strategy.as_deref())
        }
        Command::Predict { step, scenario } => predict::run(&syllabus, &step, scenario, &mut out),
        Command::Solution { step, force } => solution::run(&syllabus, &step, force, &mut out),
        Command::Reset { step, yes } => reset::run(&syllabus, &step, yes, &mut out),
        Command::Report { json } => report::run(&syllabus, json, &mut out),
        Command::Verify { topic } => verify::run(&syllabus, topic.as_deref(), &mut out),
    }
}

/// On Ctrl-C or SIGTERM: kill the cargo process groups we started (they are in their own
/// groups, out of reach of the terminal's Ctrl-C), give the terminal back, and leave.
fn handle_interrupts() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            cargo::kill_running_children();
            watch::restore_terminal();
            std::process::exit(128 + signal);
        }
    });
}
