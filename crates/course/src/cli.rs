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

    /// Check every step of this checkout and print the points earned.
    ///
    /// It grades what this checkout holds (its tests, its course.toml): the student's view.
    /// A teacher grades from the pristine course with `grade`. The JSON is `{"course",
    /// "runner_version", "course_commit", "steps": [{"topic", "step", "points", "earned",
    /// "status", "reason"}], "points", "earned", "passed", "total"}`; status is one of
    /// "passed", "failed", "compile_error", "timed_out", "error".
    Report {
        /// Print JSON on standard output (the same as `--format json`).
        #[arg(long)]
        json: bool,
        /// How to print the results (progress goes to standard error).
        #[arg(long, value_enum, default_value = "text")]
        format: crate::report::Format,
        /// Only these topics (comma-separated or repeated).
        #[arg(long, value_name = "TOPIC")]
        topics: Vec<String>,
        /// Only these steps (`topic/step`, comma-separated or repeated).
        #[arg(long, value_name = "STEP")]
        steps: Vec<String>,
    },

    /// Write a students' repository of some topics, without the references (for teachers).
    ///
    /// The chosen topics' crates, starters, book chapters and course.toml entries, the
    /// runner and its engines, a student README, and .github/workflows/classroom.yml for
    /// GitHub Classroom's autograding (one graded test per step, worth its points). Check
    /// it with `cargo course --root DIR verify`.
    Handout {
        /// The new repository's folder (new, or empty).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The topics to hand out (comma-separated or repeated; default: all).
        #[arg(long, value_name = "TOPIC")]
        topics: Vec<String>,
        /// What `cargo course solution` tells the students about the references (default:
        /// they come from the teacher after the deadline).
        #[arg(long, value_name = "TEXT")]
        solutions_note: Option<String>,
    },

    /// Grade submissions against this (the teacher's) pristine course (for teachers).
    ///
    /// Only the step files under exercises/ are taken from each submission; the tests,
    /// snapshots, course.toml and engine are this course's. A pass needs the test harness's
    /// own end-of-run evidence, so a file that prints a summary and exits does not pass.
    /// Findings a step's reference does not have are flagged (process exits, signals,
    /// foreign calls, reading the process's arguments or /proc); linker attributes, asm and
    /// files read at compile time are refused. Writes OUT/<name>.json per submission and
    /// OUT/class.csv. Statuses: passed, failed, compile_error, timed_out, not_attempted (the
    /// starter as shipped), missing, rejected, error. Student code runs with your rights:
    /// grade untrusted submissions in a container or CI runner.
    Grade {
        /// Submissions: folders, git repositories' paths or URLs.
        #[arg(value_name = "SUBMISSION")]
        submissions: Vec<String>,
        /// Where the results go.
        #[arg(long, value_name = "DIR", default_value = "grades")]
        out: PathBuf,
        /// Submissions graded at once, each in its own build folder.
        #[arg(long, short, default_value_t = 1)]
        jobs: usize,
        /// Only these topics (comma-separated or repeated).
        #[arg(long, value_name = "TOPIC")]
        topics: Vec<String>,
        /// Only these steps (`topic/step`, comma-separated or repeated).
        #[arg(long, value_name = "STEP")]
        steps: Vec<String>,
        /// Also write Gradescope's results.json of the (single) submission here.
        #[arg(long, value_name = "FILE")]
        gradescope: Option<PathBuf>,
        /// Only build the pristine course and list its tests (an autograder image's setup).
        #[arg(long)]
        prepare: bool,
        /// The grader's build folder (default: target/course/grade).
        #[arg(long, value_name = "DIR")]
        build_dir: Option<PathBuf>,
        /// Exit with 1 unless every graded step passed (for a CI step, such as GitHub
        /// Classroom's command grader).
        #[arg(long)]
        exit_code: bool,
    },

    /// Write a Gradescope autograder bundle of some topics (for teachers).
    ///
    /// setup.sh (apt, rustup, a warm build), run_autograder (`grade` of the submission into
    /// results/results.json) and the pristine course without solutions/, zipped as
    /// DIR/autograder.zip.
    Gradescope {
        /// The bundle's folder (new, or empty).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The topics graded (comma-separated or repeated; default: all).
        #[arg(long, value_name = "TOPIC")]
        topics: Vec<String>,
        /// The Rust toolchain setup.sh installs (default: this machine's rustc version).
        #[arg(long, value_name = "VERSION")]
        toolchain: Option<String>,
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
