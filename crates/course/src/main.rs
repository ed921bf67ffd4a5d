//! `cargo course`: the course runner. It lists the syllabus and the student's progress,
//! checks a step's tests against the student's file, watches it, gives hints, replays a
//! schedule, shows the reference, restores a starter, reports points and verifies the whole
//! course for teachers and CI. `main` only dispatches; each mode has its own module.

#![forbid(unsafe_code)]

mod cargo;
mod check;
mod classroom;
mod cli;
mod explain;
mod hint;
mod list;
mod predict;
mod pristine;
mod report;
mod reset;
mod shadow;
mod solution;
mod state;
mod supervise;
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
    if let Some(Command::Supervise { tmpdir, command }) = cli.command {
        let mut command = command.into_iter();
        let program = command.next().expect("clap requires the program");
        return supervise::run(tmpdir, program, command.collect());
    }
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
            eprintln!(
                "{}",
                ui::fit(&format!("{} {error}", ui::red("error:")), ui::WIDTH)
            );
            for cause in error.chain().skip(1) {
                eprintln!(
                    "{}",
                    ui::fit(&format!("  {} {cause}", ui::dim("caused by:")), ui::WIDTH)
                );
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
        Command::Hint { step, all } => hint::run(&syllabus, step.as_deref(), all, &mut out),
        Command::Trace {
            step,
            seed,
            strategy,
            test,
            verbose,
        } => trace::run(
            &syllabus,
            &trace::Request {
                spec: step,
                seed,
                strategy,
                test,
                verbose,
            },
            &mut out,
        ),
        Command::Predict { step, scenario } => predict::run(&syllabus, &step, scenario, &mut out),
        Command::Solution { step, force } => solution::run(&syllabus, &step, force, &mut out),
        Command::Reset { step, yes } => reset::run(&syllabus, &step, yes, &mut out),
        Command::Report {
            json,
            format,
            topics,
            steps,
        } => report::run(
            &syllabus,
            &report::Options {
                format: if json { report::Format::Json } else { format },
                topics,
                steps,
            },
            &mut out,
        ),
        Command::Handout {
            out: dir,
            topics,
            solutions_note,
        } => classroom::handout::run(
            &syllabus,
            &classroom::handout::Options {
                out: dir,
                topics,
                solutions_note,
            },
            &mut out,
        ),
        Command::Grade {
            submissions,
            out: dir,
            jobs,
            topics,
            steps,
            gradescope,
            prepare,
            build_dir,
            exit_code,
        } => classroom::grade::run(
            &syllabus,
            &classroom::grade::Options {
                submissions,
                out: dir,
                jobs,
                topics,
                steps,
                gradescope,
                prepare,
                build_dir,
                exit_code,
            },
            &mut out,
        ),
        Command::Gradescope {
            out: dir,
            topics,
            toolchain,
        } => classroom::gradescope::run(
            &syllabus,
            &classroom::gradescope::Options {
                out: dir,
                topics,
                toolchain,
            },
            &mut out,
        ),
        Command::Verify {
            topic,
            update_starters,
        } => verify::run(&syllabus, topic.as_deref(), update_starters, &mut out),
        Command::Supervise { .. } => unreachable!("handled before"),
    }
}

/// On Ctrl-C, SIGTERM or SIGHUP (the terminal closed): stop the cargo runs we started
/// (their supervisors are in their own process groups, out of reach of the terminal's
/// Ctrl-C) and wait until everything they started has ended, give the terminal back, and
/// leave. (If the runner is killed outright, each supervisor sees its control pipe close
/// and does the same on its own.)
fn handle_interrupts() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            watch::restore_terminal();
            cargo::stop_running_children();
            eprintln!("\n(interrupted: the check and everything it started were stopped)");
            std::process::exit(128 + signal);
        }
    });
}
