//! The command line: clap's types for `cargo course [--root DIR] [COMMAND]`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The course runner. Without a command it lists every step and what to do next.
///
/// Steps are named `topic/step` (`tunnel/basic`); where a command takes a step, a topic with
/// a single step may be named alone.
#[derive(Debug, Parser)]
#[command(
    name = "cargo course",
    bin_name = "cargo course",
    version,
    after_help = "With `just` installed, every command also works through it: `just check tunnel/basic` is `cargo course check tunnel/basic`."
)]
pub struct Cli {
    /// The course's workspace (the folder holding course.toml). Default: the nearest
    /// folder, from the current one upwards, that holds a course.toml.
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// What to do (default: `list`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// One mode of the runner.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every topic and step with its status, your progress and the command to run next.
    List,

    /// Build and run a step's tests against your file and print a short verdict.
    ///
    /// Exit code 0 only when every checked step passes.
    Check {
        /// `topic/step`, or a topic for all its steps. Default: the current step (the
        /// first one not done).
        step: Option<String>,
    },

    /// Re-check the current step every time you save its file.
    ///
    /// The screen is cleared before each check. Keys: h hint, a all hints seen, n next step
    /// (once this one passes), l list, c check again, q quit.
    Watch {
        /// Poll the file's modification time instead of using file notifications (for
        /// network or container file systems whose notifications do not arrive).
        #[arg(long)]
        poll: bool,
    },

    /// Show the next hint for a step (each call reveals one more).
    Hint {
        /// `topic/step`. Default: the current step.
        step: Option<String>,
        /// Show again every hint revealed so far, without revealing a new one.
        #[arg(long)]
        all: bool,
    },

    /// Replay the schedule of a failing test as a timeline.
    ///
    /// Failing checks print the exact command, e.g. `cargo course trace tunnel/fair --seed 7
    /// --strategy pct:3`. Without a seed, the step is checked first and its first failing
    /// test is replayed.
    Trace {
        /// `topic/step`. Default: the current step.
        step: Option<String>,
        /// The schedule's seed (INTERLEAVE_SEED).
        #[arg(long)]
        seed: Option<u64>,
        /// The scheduling strategy, as failure messages print it (INTERLEAVE_STRATEGY):
        /// `canonical`, `random`, `pct:D`, `dfs:D` or `delay:D`.
        #[arg(long)]
        strategy: Option<String>,
        /// Only the test with this name (default: the first failing one).
        #[arg(long, value_name = "NAME")]
        test: Option<String>,
        /// Also print the detailed trace and backtraces of panics.
        #[arg(long)]
        verbose: bool,
    },

    /// Predict a scenario table step by step, then see it and your score.
    ///
    /// Prints the script with the outcomes hidden, asks for each step which calls return
    /// (numbers or actors, `-` for none), and reveals each row. Uses the reference's table,
    /// so it needs no solved exercise.
    Predict {
        /// `topic/step` (a thread step with a scenario table).
        step: String,
        /// Which of the step's scenarios (from 1; default 1).
        #[arg(long, value_name = "N")]
        scenario: Option<usize>,
    },

    /// A coloured diff from your file to the reference solution (once the step passes).
    Solution {
        /// `topic/step`.
        step: String,
        /// Show it even though the step does not pass yet.
        #[arg(long)]
        force: bool,
    },

    /// Restore the step's file to the starter as shipped (your changes are lost).
    Reset {
        /// `topic/step`.
        step: String,
        /// Do not ask for confirmation (needed when standard input is not a terminal).
        #[arg(long, short)]
        yes: bool,
    },

    /// Check every step and print the points earned (for classroom autograders).
    ///
    /// The JSON is `{"course", "steps": [{"topic", "step", "points", "earned", "status"}],
    /// "points", "earned", "passed", "total"}`; status is one of "passed", "failed",
    /// "compile_error", "timed_out", "error".
    Report {
        /// Print JSON on standard output (progress goes to standard error).
        #[arg(long)]
        json: bool,
    },

    /// The teachers' and CI's gate: every problem in the course, exit code 1 if any.
    ///
    /// References pass; starters compile without warnings, carry a TODO comment and fail as
    /// shipped (unless `starter_passes`); course.toml, exercises/, solutions/, snapshots and
    /// the book agree. Every cargo run has a watchdog (COURSE_TIMEOUT_SECS, default 300).
    Verify {
        /// Only this topic.
        topic: Option<String>,
        /// First copy exercises/ into .course/starters/ (what `reset` restores), after a
        /// starter was changed on purpose.
        #[arg(long)]
        update_starters: bool,
    },

    /// Internal: runs a program so that nothing it starts outlives it (used by the runner
    /// for every cargo run).
    #[command(hide = true, name = "internal-supervise")]
    Supervise {
        /// The run's private TMPDIR, removed at the end.
        #[arg(long)]
        tmpdir: Option<PathBuf>,
        /// The program and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<std::ffi::OsString>,
    },
}
