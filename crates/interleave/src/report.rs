//! Failure reports: what happened, in which schedule, and how to see it again.

use std::fmt;

use crate::trace::Trace;

/// How many primitive-level events the detailed trace shows at most (the last ones).
pub(crate) const DETAIL_LIMIT: usize = 400;
/// How many rows the interleaving table shows at most (the last ones).
const TABLE_LIMIT: usize = 120;

/// Kinds of failure an execution can end with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Threads wait for each other in a cycle, or for something no thread will do.
    Deadlock,
    /// A thread waits for a notification that no remaining thread can send.
    LostWakeup,
    /// A simulated thread panicked.
    Panic,
    /// An invariant registered with [`crate::explore::invariant()`] returned false.
    Invariant,
    /// The step budget was exceeded (livelock or busy-waiting).
    Budget,
    /// A thread was bypassed more often than a [`crate::explore::Fairness`] bound allows.
    Unfair,
    /// A primitive escaped the scheduler (real primitive blocking inside a simulation...).
    Escape,
}

impl FailureKind {
    /// The headline word used in reports.
    pub fn headline(self) -> &'static str {
        match self {
            FailureKind::Deadlock => "deadlock",
            FailureKind::LostWakeup => "deadlock (lost wake-up)",
            FailureKind::Panic => "panic",
            FailureKind::Invariant => "invariant violated",
            FailureKind::Budget => "step budget exceeded",
            FailureKind::Unfair => "bounded waiting violated",
            FailureKind::Escape => "escape from the scheduler",
        }
    }
}

/// A failure found by [`crate::explore::check`], with everything needed to replay it.
#[derive(Clone, Debug)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The diagnosis in one or two sentences.
    pub message: String,
    /// The strategy string that replays the failing schedule (`pct:3`, `schedule:4.9`).
    pub strategy: String,
    /// The seed of the failing schedule.
    pub seed: u64,
    /// Which schedule of the exploration failed (1 is the first).
    pub schedule: usize,
    /// The trace of the failing schedule up to the failure.
    pub trace: Trace,
}

impl Failure {
    /// The replay line printed at the end of the report.
    pub fn replay_line(&self) -> String {
        replay_line(self.seed, &self.strategy)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps = self.trace.events.last().map(|e| e.step).unwrap_or(0);
        writeln!(
            f,
            "interleave: {} in schedule {} (strategy {}, seed {}), after {} steps",
            self.kind.headline(),
            self.schedule,
            self.strategy,
            self.seed,
            steps
        )?;
        writeln!(f, "{}", self.message)?;
        writeln!(f)?;
        let api = self.trace.api_only();
        let (title, mut table) = if api.events.is_empty() {
            ("interleaving (primitive operations)", self.trace.clone())
        } else {
            ("interleaving", api)
        };
        let skipped = table.events.len().saturating_sub(TABLE_LIMIT);
        table.events.drain(..skipped);
        writeln!(f, "{title}:")?;
        if skipped > 0 {
            writeln!(f, "({skipped} earlier rows not shown)")?;
        }
        write!(f, "{}", table.timeline())?;
        writeln!(f)?;
        writeln!(f, "detailed trace:")?;
        let mut detail = self.trace.clone();
        let skipped = detail.events.len().saturating_sub(DETAIL_LIMIT);
        detail.events.drain(..skipped);
        if skipped > 0 {
            writeln!(f, "({skipped} earlier events not shown)")?;
        }
        write!(f, "{}", detail.compact())?;
        writeln!(f)?;
        write!(f, "{}", self.replay_line())
    }
}

/// `replay: just trace tunnel/fair --seed 7 --strategy pct:3` under the course runner
/// (when `COURSE_STEP` is set), otherwise the environment variables and cargo command.
pub fn replay_line(seed: u64, strategy: &str) -> String {
    if let Ok(step) = std::env::var("COURSE_STEP")
        && !step.is_empty()
    {
        return format!("replay: just trace {step} --seed {seed} --strategy {strategy}");
    }
    let mut cmd = String::from("cargo test");
    if let Ok(pkg) = std::env::var("CARGO_PKG_NAME") {
        cmd.push_str(&format!(" -p {pkg}"));
    }
    if let Some(bin) = test_binary()
        && Some(bin.as_str()) != std::env::var("CARGO_CRATE_NAME").ok().as_deref()
    {
        cmd.push_str(&format!(" --test {bin}"));
    }
    if let Some(name) = std::thread::current().name()
        && name != "main"
    {
        cmd.push_str(&format!(" -- {name} --exact"));
    }
    format!(
        "replay: INTERLEAVE_SEED={seed} INTERLEAVE_STRATEGY={strategy} INTERLEAVE_ITERATIONS=1 {cmd}"
    )
}

/// The test binary's name without cargo's hash suffix.
fn test_binary() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let stem = exe.file_stem()?.to_str()?;
    let name = match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            name
        }
        _ => stem,
    };
    Some(name.to_string())
}
