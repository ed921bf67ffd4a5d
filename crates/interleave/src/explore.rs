//! Explorations (the property tests): run a body under many schedules, with oracles.
//!
//! [`explore`] runs the body as the thread `main` of a fresh simulation, once per
//! schedule. The body creates the shared objects and spawns threads with
//! [`crate::thread::spawn`]; each schedule is checked for deadlocks and lost wake-ups,
//! panics in any thread, the step budget (livelock, busy-waiting), the [`invariant`]s the
//! body registers (checked after every step), and [`Fairness`] bounds. The first failing
//! schedule stops the exploration with a report: the diagnosis, the interleaving table,
//! the detailed trace and a replay line.
//!
//! Strategies ([`Strategy`]): the default is a portfolio, PCT with depth 3 and seeded
//! random in turns, which the empirical study of Thomson, Donaldson and Betts (TOPC 2016)
//! found the most effective; [`Strategy::DelayBounded`] is the exhaustive mode. It bounds
//! *delays* (deviations from the canonical scheduler, Emmi, Qadeer and Rakamarić, POPL
//! 2011) rather than preemptions as CHESS did: the same study found delay bounding
//! better, and it explores O(steps^bound) schedules where preemption bounding explodes on
//! a bounded buffer. It searches bound 0, then 1, then 2... so a bug is found with the
//! fewest delays it needs.
//!
//! Caps ([`Config::max_time`], [`Config::max_schedules`]) stop an exploration early
//! without failing it; [`Stats`] then says so, and for the exhaustive mode how much of
//! the bounded space was covered ([`Coverage`]).
//!
//! [`CondvarSemantics::Std`] explores what std's `Condvar` allows and the simulated one
//! does not do by default: a `notify_one` that wakes any waiter, and spurious wake-ups.
//!
//! The environment overrides the configuration: `INTERLEAVE_SEED`,
//! `INTERLEAVE_STRATEGY` (`canonical`, `random`, `pct:3`, `delay:2`, `schedule:...`,
//! `portfolio`), `INTERLEAVE_ITERATIONS`, `INTERLEAVE_CONDVAR` (`fifo`, `std`),
//! `INTERLEAVE_MEMORY` (`weak`, `seqcst`);
//! `INTERLEAVE_TRACE=1` prints the timeline of the first schedule even when it passes;
//! `INTERLEAVE_TRACE_JSON=<file>` writes a failing schedule to `<file>` as JSON (the book's
//! trace viewer is made from such files).

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::report::Failure;
use crate::runtime::execution::{Limits, Modes};
use crate::runtime::{self, Execution, FailureKind, Installed, RunEnd};
use crate::scheduler::{self, Scheduler};
use crate::trace::Trace;

/// How schedules are chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The canonical scheduler only: non-preemptive, FIFO wake-ups; one schedule.
    Canonical,
    /// Uniformly random choice at every scheduling point, seeded.
    Random,
    /// PCT (Burckhardt et al. 2010) with the given bug depth, seeded.
    Pct {
        /// The bug depth `d` (number of ordering constraints); 3 is a good default.
        depth: usize,
    },
    /// Every schedule that deviates at most `bound` times from the canonical one, with
    /// fewer deviations first.
    DelayBounded {
        /// The maximum number of delays.
        bound: usize,
    },
    /// One schedule, printed by a delay-bounded search (the part after `schedule:`).
    Schedule(String),
    /// PCT with depth 3 and random, in turns.
    Portfolio,
}

impl Strategy {
    /// Parses `canonical`, `random`, `pct:3`, `delay:2`, `schedule:3.17` or `portfolio`.
    ///
    /// # Errors
    ///
    /// A message naming the accepted forms.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let num = |v: &str| {
            v.parse::<usize>()
                .map_err(|e| format!("bad number in strategy {s:?}: {e}"))
        };
        match s.split_once(':') {
            None if s == "canonical" => Ok(Strategy::Canonical),
            None if s == "random" => Ok(Strategy::Random),
            None if s == "portfolio" => Ok(Strategy::Portfolio),
            None if s == "pct" => Ok(Strategy::Pct { depth: 3 }),
            Some(("pct", d)) => Ok(Strategy::Pct { depth: num(d)? }),
            Some(("delay", b)) => Ok(Strategy::DelayBounded { bound: num(b)? }),
            Some(("schedule", sch)) => {
                scheduler::Replay::parse(sch)?;
                Ok(Strategy::Schedule(sch.to_string()))
            }
            _ => Err(format!(
                "unknown strategy {s:?}: expected canonical, random, pct:D, delay:B, schedule:... or portfolio"
            )),
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Strategy::Canonical => write!(f, "canonical"),
            Strategy::Random => write!(f, "random"),
            Strategy::Pct { depth } => write!(f, "pct:{depth}"),
            Strategy::DelayBounded { bound } => write!(f, "delay:{bound}"),
            Strategy::Schedule(s) => write!(f, "schedule:{s}"),
            Strategy::Portfolio => write!(f, "portfolio"),
        }
    }
}

/// What a simulated [`crate::sync::Condvar`] (and a Mesa [`crate::monitor::Condition`])
/// may do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CondvarSemantics {
    /// The default, and always in scenarios: `notify_one` wakes the longest waiter, and a
    /// wait returns only when notified (or timed out).
    #[default]
    Fifo,
    /// std's contract: `notify_one` wakes any one waiter, and a wait may return without
    /// a notification (a spurious wake-up, at most twice per thread and schedule, so
    /// that a correct `while` loop ends). The strategy makes both choices, so they are
    /// explored and replayed like the thread schedule. A `wait` without a loop, or a
    /// `notify_one` on a condvar shared by different conditions, fails here.
    Std,
}

impl CondvarSemantics {
    /// Parses `fifo` or `std`.
    ///
    /// # Errors
    ///
    /// A message naming the accepted forms.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "fifo" => Ok(CondvarSemantics::Fifo),
            "std" => Ok(CondvarSemantics::Std),
            other => Err(format!(
                "unknown condvar semantics {other:?}: expected fifo or std"
            )),
        }
    }
}

impl fmt::Display for CondvarSemantics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CondvarSemantics::Fifo => "fifo",
            CondvarSemantics::Std => "std",
        })
    }
}

/// What atomics may do in an exploration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemoryModel {
    /// The default: the C11 model as loom approximates it (`runtime::memory`). A load may
    /// read an older store where its orderings allow it (a Relaxed flag does not publish
    /// the data written before it), Release stores read by Acquire loads order what came
    /// before them, SeqCst accesses and fences are totally ordered; and tracked cells
    /// ([`crate::cell::UnsafeCell`]) fail the schedule on a data race. Which store a load
    /// reads is the strategy's choice, explored and replayed like the thread schedule;
    /// the canonical choice is the latest store.
    #[default]
    Weak,
    /// Every atomic operation is sequentially consistent whatever its `Ordering`, and
    /// tracked cells check nothing (as in scenarios).
    SeqCst,
}

impl MemoryModel {
    /// Parses `weak` or `seqcst`.
    ///
    /// # Errors
    ///
    /// A message naming the accepted forms.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "weak" => Ok(MemoryModel::Weak),
            "seqcst" | "sc" => Ok(MemoryModel::SeqCst),
            other => Err(format!(
                "unknown memory model {other:?}: expected weak or seqcst"
            )),
        }
    }
}

impl fmt::Display for MemoryModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MemoryModel::Weak => "weak",
            MemoryModel::SeqCst => "seqcst",
        })
    }
}

/// The configuration of an exploration.
#[derive(Clone, Debug)]
pub struct Config {
    /// How schedules are chosen.
    pub strategy: Strategy,
    /// How many schedules (ignored by the canonical, exhaustive and replay strategies).
    pub iterations: usize,
    /// The base seed; schedule `i` uses a seed derived from it, printed in reports.
    pub seed: u64,
    /// Step budget of one schedule.
    pub max_steps: u64,
    /// How many steps one thread may run without blocking.
    pub max_steps_without_blocking: u64,
    /// Stop (without failing) once this much wall time has passed, between schedules.
    pub max_time: Option<Duration>,
    /// Stop (without failing) after this many schedules, whatever the strategy (the
    /// exhaustive one included).
    pub max_schedules: Option<usize>,
    /// What condition variables may do ([`CondvarSemantics`]).
    pub condvar: CondvarSemantics,
    /// The delay-bounded search goes bound by bound (0, then 1, then 2...), so that a
    /// bug is found with the fewest delays it needs, in as many schedules whatever the
    /// bound; otherwise (the default, for now) it runs every schedule within the bound in
    /// one depth-first pass, which finds a bug needing few delays late when the bound is
    /// high.
    pub iterative_deepening: bool,
    /// What atomics may do ([`MemoryModel`]; weak by default).
    pub memory: MemoryModel,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            strategy: Strategy::Portfolio,
            iterations: 1000,
            seed: 0,
            max_steps: 100_000,
            max_steps_without_blocking: 10_000,
            max_time: None,
            max_schedules: None,
            condvar: CondvarSemantics::Fifo,
            iterative_deepening: false,
            memory: MemoryModel::Weak,
        }
    }
}

impl Config {
    /// The default configuration: portfolio, 1000 schedules, seed 0.
    pub fn new() -> Self {
        Config::default()
    }

    /// Sets the strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Sets the number of schedules.
    pub fn iterations(mut self, n: usize) -> Self {
        self.iterations = n;
        self
    }

    /// Sets the base seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the step budget of one schedule.
    pub fn max_steps(mut self, n: u64) -> Self {
        self.max_steps = n;
        self
    }

    /// Sets how many steps a thread may run without blocking.
    pub fn max_steps_without_blocking(mut self, n: u64) -> Self {
        self.max_steps_without_blocking = n;
        self
    }

    /// Stops the exploration (without failing) once `d` of wall time has passed; the
    /// schedule running then finishes first. [`Stats::capped`] says so.
    pub fn max_time(mut self, d: Duration) -> Self {
        self.max_time = Some(d);
        self
    }

    /// Stops the exploration (without failing) after `n` schedules, whatever the
    /// strategy; for the exhaustive search, [`Stats::coverage`] says how far it got.
    pub fn max_schedules(mut self, n: usize) -> Self {
        self.max_schedules = Some(n);
        self
    }

    /// Makes the delay-bounded search go bound by bound (see
    /// [`Config::iterative_deepening`](Config#structfield.iterative_deepening)).
    pub fn iterative_deepening(mut self, on: bool) -> Self {
        self.iterative_deepening = on;
        self
    }

    /// Sets what condition variables may do ([`CondvarSemantics::Std`]: std's contract).
    pub fn condvar(mut self, semantics: CondvarSemantics) -> Self {
        self.condvar = semantics;
        self
    }

    /// Sets what atomics may do ([`MemoryModel::SeqCst`]: no weak-memory behaviour).
    pub fn memory(mut self, model: MemoryModel) -> Self {
        self.memory = model;
        self
    }

    /// Applies `INTERLEAVE_SEED`, `INTERLEAVE_STRATEGY`, `INTERLEAVE_ITERATIONS`,
    /// `INTERLEAVE_CONDVAR` and `INTERLEAVE_MEMORY`.
    ///
    /// # Panics
    ///
    /// If one of them does not parse.
    pub fn with_env(mut self) -> Self {
        if let Ok(s) = std::env::var("INTERLEAVE_SEED") {
            self.seed = s
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("INTERLEAVE_SEED={s:?}: {e}"));
        }
        if let Ok(s) = std::env::var("INTERLEAVE_STRATEGY") {
            self.strategy =
                Strategy::parse(&s).unwrap_or_else(|e| panic!("INTERLEAVE_STRATEGY: {e}"));
        }
        if let Ok(s) = std::env::var("INTERLEAVE_ITERATIONS") {
            self.iterations = s
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("INTERLEAVE_ITERATIONS={s:?}: {e}"));
        }
        if let Ok(s) = std::env::var("INTERLEAVE_CONDVAR") {
            self.condvar =
                CondvarSemantics::parse(&s).unwrap_or_else(|e| panic!("INTERLEAVE_CONDVAR: {e}"));
        }
        if let Ok(s) = std::env::var("INTERLEAVE_MEMORY") {
            self.memory =
                MemoryModel::parse(&s).unwrap_or_else(|e| panic!("INTERLEAVE_MEMORY: {e}"));
        }
        self
    }

    fn limits(&self) -> Limits {
        Limits {
            max_steps: self.max_steps,
            max_streak: self.max_steps_without_blocking,
        }
    }

    fn modes(&self) -> Modes {
        Modes {
            condvar_std: self.condvar == CondvarSemantics::Std,
            count_like_pct: false,
            weak_memory: self.memory == MemoryModel::Weak,
        }
    }
}

/// Why an exploration stopped before the end of its plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cap {
    /// [`Config::max_time`] had passed.
    Time(Duration),
    /// [`Config::max_schedules`] schedules had run.
    Schedules(usize),
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cap::Time(d) => write!(f, "its time cap ({d:?})"),
            Cap::Schedules(n) => write!(f, "its schedule cap ({n} schedules)"),
        }
    }
}

/// How much of the bounded space a delay-bounded search covered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coverage {
    /// The bound of the search.
    pub bound: usize,
    /// The search went bound by bound ([`Config::iterative_deepening`]).
    pub iterative: bool,
    /// Every schedule with at most this many delays ran (None: not known to be so for
    /// any bound). Equal to `bound` when the search is complete.
    pub complete_up_to: Option<usize>,
    /// When the search stopped early: how many schedules of the pass under way ran that
    /// no earlier pass had run (with exactly `complete_up_to + 1` delays when iterating,
    /// with at most `bound` otherwise).
    pub partial_schedules: usize,
    /// An estimate of the share of that pass done, in percent.
    pub partial_percent: u8,
}

impl Coverage {
    /// True if every schedule within the bound ran.
    pub fn complete(&self) -> bool {
        self.complete_up_to == Some(self.bound)
    }
}

impl fmt::Display for Coverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let delays = |n: usize| {
            if n == 1 {
                "1 delay".to_string()
            } else {
                format!("{n} delays")
            }
        };
        if self.complete() {
            return write!(f, "every schedule with at most {}", delays(self.bound));
        }
        if let Some(b) = self.complete_up_to {
            write!(f, "every schedule with at most {}, and ", delays(b))?;
        }
        let pass = if self.iterative {
            format!(
                "exactly {}",
                delays(self.complete_up_to.map_or(0, |b| b + 1))
            )
        } else {
            format!("at most {}", delays(self.bound))
        };
        write!(
            f,
            "{} schedules with {pass} (about {}% of them)",
            self.partial_schedules, self.partial_percent
        )
    }
}

/// What an exploration that found no failure did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// How many schedules ran.
    pub schedules: usize,
    /// How many steps the longest one took.
    pub max_steps: u64,
    /// The cap that stopped the exploration early, if one did.
    pub capped: Option<Cap>,
    /// For a delay-bounded search, how much of the bounded space it covered.
    pub coverage: Option<Coverage>,
}

type Body = Arc<dyn Fn() + Send + Sync>;

/// The seed of schedule `i`: the base seed itself for the first one, so that a reported
/// seed replays with `INTERLEAVE_ITERATIONS=1`.
fn derive_seed(base: u64, i: usize) -> u64 {
    if i == 0 {
        base
    } else {
        scheduler::mix(base ^ (i as u64).wrapping_mul(0xA076_1D64_78BD_642F))
    }
}

struct One {
    failure: Option<(FailureKind, String)>,
    trace: Trace,
    steps: u64,
    decisions: u64,
    describe: String,
    sched: Box<dyn Scheduler>,
}

fn run_one(
    body: &Body,
    sched: Box<dyn Scheduler>,
    limits: Limits,
    modes: Modes,
    want_trace: bool,
) -> One {
    let exec = Execution::with_modes(sched, limits, modes);
    let failure;
    let trace;
    let steps;
    let decisions;
    {
        let _installed = Installed::new(&exec);
        let b = body.clone();
        exec.spawn(Some("main".into()), Box::new(move || b()));
        let end = exec.run();
        failure = match end {
            RunEnd::Done => None,
            RunEnd::Stuck => {
                let f = exec.diagnose_stuck();
                Some((f.kind, f.message))
            }
            RunEnd::Failed => exec.lock().failure.clone().map(|f| (f.kind, f.message)),
        };
        trace = if failure.is_some() || want_trace {
            exec.trace()
        } else {
            Trace::default()
        };
        let st = exec.lock();
        steps = st.step;
        decisions = st.decisions;
    }
    let sched = exec.take_scheduler();
    One {
        failure,
        trace,
        steps,
        decisions,
        describe: sched.describe(),
        sched,
    }
}

/// Runs the schedules of one exploration, keeping the count and the caps.
struct Runner<'a> {
    body: &'a Body,
    limits: Limits,
    modes: Modes,
    print_first: bool,
    stats: Stats,
    started: Instant,
    max_time: Option<Duration>,
    max_schedules: Option<usize>,
}

impl Runner<'_> {
    /// The cap reached, if any (checked before each schedule).
    fn capped(&mut self) -> bool {
        let cap = if self
            .max_schedules
            .is_some_and(|n| self.stats.schedules >= n)
        {
            self.max_schedules.map(Cap::Schedules)
        } else if self.max_time.is_some_and(|d| self.started.elapsed() >= d) {
            self.max_time.map(Cap::Time)
        } else {
            None
        };
        self.stats.capped = cap;
        cap.is_some()
    }

    /// Runs one schedule; `count_like_pct` for the canonical run that measures PCT's k.
    fn run(
        &mut self,
        sched: Box<dyn Scheduler>,
        seed: u64,
        count_like_pct: bool,
    ) -> Result<One, Box<Failure>> {
        let first = self.stats.schedules == 0;
        let modes = Modes {
            count_like_pct,
            ..self.modes
        };
        let mut one = run_one(
            self.body,
            sched,
            self.limits,
            modes,
            first && self.print_first,
        );
        self.stats.schedules += 1;
        self.stats.max_steps = self.stats.max_steps.max(one.steps);
        if first && self.print_first {
            eprintln!(
                "interleave: schedule 1 (strategy {}, seed {seed}):\n{}",
                one.describe,
                one.trace.timeline()
            );
        }
        match one.failure.take() {
            None => Ok(one),
            Some((kind, message)) => Err(Box::new(Failure {
                kind,
                message,
                strategy: one.describe,
                seed,
                schedule: self.stats.schedules,
                trace: one.trace,
            })),
        }
    }
}

/// Runs `body` under the schedules of `config` (after the environment overrides), and
/// returns the first failure instead of panicking. Useful to test a test.
///
/// # Errors
///
/// The first failing schedule, as a [`Failure`] whose `Display` is the full report.
pub fn check<F>(config: Config, body: F) -> Result<Stats, Box<Failure>>
where
    F: Fn() + Send + Sync + 'static,
{
    let result = check_schedules(config, body);
    if let Err(failure) = &result {
        crate::trace::export_failure(failure);
    }
    result
}

/// [`check`] without the export of a failing schedule (`INTERLEAVE_TRACE_JSON`).
fn check_schedules<F>(config: Config, body: F) -> Result<Stats, Box<Failure>>
where
    F: Fn() + Send + Sync + 'static,
{
    assert!(
        !runtime::active(),
        "interleave: explore() cannot be called inside a simulation"
    );
    let config = config.with_env();
    let body: Body = Arc::new(body);
    let mut r = Runner {
        body: &body,
        limits: config.limits(),
        modes: config.modes(),
        print_first: std::env::var("INTERLEAVE_TRACE").is_ok_and(|v| v == "1"),
        stats: Stats {
            schedules: 0,
            max_steps: 0,
            capped: None,
            coverage: None,
        },
        started: Instant::now(),
        max_time: config.max_time,
        max_schedules: config.max_schedules,
    };
    let n = config.iterations.max(1);
    let base = config.seed;
    match &config.strategy {
        Strategy::Canonical => {
            if !r.capped() {
                r.run(Box::new(scheduler::Canonical), base, false)?;
            }
        }
        Strategy::Schedule(s) => {
            let replay = scheduler::Replay::parse(s).expect("validated by Strategy::parse");
            if !r.capped() {
                r.run(Box::new(replay), base, false)?;
            }
        }
        Strategy::Random => {
            for i in 0..n {
                if r.capped() {
                    break;
                }
                let seed = derive_seed(base, i);
                r.run(Box::new(scheduler::Random::new(seed)), seed, false)?;
            }
        }
        Strategy::Pct { depth } => {
            // k: the steps with a choice in the canonical schedule (releases counted).
            if !r.capped() {
                let k = r.run(Box::new(scheduler::Canonical), base, true)?.decisions;
                for i in 0..n {
                    if r.capped() {
                        break;
                    }
                    let seed = derive_seed(base, i);
                    r.run(Box::new(scheduler::Pct::new(*depth, seed, k)), seed, false)?;
                }
            }
        }
        Strategy::Portfolio => {
            // PCT and random in turns, so that a cap or a bug found early leaves neither
            // strategy out; schedule i replays alone with its own seed, as `pct:3` or
            // `random`.
            if !r.capped() {
                let k = r.run(Box::new(scheduler::Canonical), base, true)?.decisions;
                for i in 0..n {
                    if r.capped() {
                        break;
                    }
                    let seed = derive_seed(base, i);
                    let sched: Box<dyn Scheduler> = if i % 2 == 0 {
                        Box::new(scheduler::Pct::new(3, seed, k))
                    } else {
                        Box::new(scheduler::Random::new(seed))
                    };
                    r.run(sched, seed, false)?;
                }
            }
        }
        Strategy::DelayBounded { bound } => {
            let mut sched: Box<dyn Scheduler> = Box::new(scheduler::DelayBounded::new(
                *bound,
                config.iterative_deepening,
            ));
            while !r.capped() && sched.begin() {
                sched = r.run(sched, base, false)?.sched;
            }
            let p = sched
                .progress()
                .expect("a delay-bounded search knows its progress");
            r.stats.coverage = Some(Coverage {
                bound: *bound,
                iterative: p.iterative,
                complete_up_to: p.complete_up_to,
                partial_schedules: p.partial_new,
                partial_percent: (p.partial_share * 100.0).floor().clamp(0.0, 99.0) as u8,
            });
        }
    }
    if let Some(cap) = r.stats.capped {
        let what = match r.stats.coverage {
            Some(c) => format!(": it covered {c}"),
            None => String::new(),
        };
        eprintln!(
            "interleave: the exploration ({}) stopped at {cap} after {} schedules, without \
             failure{what}",
            config.strategy, r.stats.schedules
        );
    }
    Ok(r.stats)
}

/// Runs `body` under the schedules of `config` and panics with the report of the first
/// failing schedule (so `#[should_panic(expected = "deadlock")]` works).
///
/// # Panics
///
/// On the first failing schedule, with the full report as message.
///
/// # Examples
///
/// ```
/// use interleave::explore::{Config, explore};
/// use interleave::sync::{Arc, Mutex};
/// use interleave::thread;
///
/// explore(Config::new().iterations(50), || {
///     let counter = Arc::new(Mutex::new(0));
///     let handles: Vec<_> = (0..2)
///         .map(|_| {
///             let c = counter.clone();
///             thread::spawn(move || *c.lock() += 1)
///         })
///         .collect();
///     for h in handles {
///         h.join().unwrap();
///     }
///     assert_eq!(*counter.lock(), 2);
/// });
/// ```
pub fn explore<F>(config: Config, body: F) -> Stats
where
    F: Fn() + Send + Sync + 'static,
{
    match check(config, body) {
        Ok(stats) => stats,
        Err(failure) => crate::report::fail(failure.to_string()),
    }
}

/// Registers an invariant of the current schedule, checked after every step. The
/// closure must only read test-side state (an [`Observed`], an atomic of std): it runs
/// between steps, outside any simulated thread. Outside a simulation it does nothing.
///
/// # Examples
///
/// ```
/// use interleave::explore::{Config, Observed, explore, invariant};
///
/// explore(Config::new().iterations(10), || {
///     let inside = Observed::new(0u32);
///     let i = inside.clone();
///     invariant("at most one inside", move || i.get() <= 1);
///     inside.update(|n| *n += 1);
///     inside.update(|n| *n -= 1);
/// });
/// ```
pub fn invariant(name: impl Into<String>, check: impl Fn() -> bool + 'static) {
    if let Some(e) = runtime::current() {
        e.add_invariant(name.into(), Box::new(check));
    }
}

/// Test-side state for invariants: a shared value whose reads and updates are not
/// scheduling points (it belongs to the test, not to the program under test).
pub struct Observed<T> {
    inner: Arc<parking_lot::Mutex<T>>,
}

impl<T> Clone for Observed<T> {
    fn clone(&self) -> Self {
        Observed {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for Observed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observed { .. }")
    }
}

impl<T> Observed<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Observed {
            inner: Arc::new(parking_lot::Mutex::new(value)),
        }
    }

    /// Changes the value.
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.inner.lock())
    }

    /// Reads the value through a closure.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        f(&self.inner.lock())
    }
}

impl<T: Clone> Observed<T> {
    /// A copy of the value.
    pub fn get(&self) -> T {
        self.inner.lock().clone()
    }
}

/// A waiting thread: its name, when it started waiting (its arrival number, and the step
/// of the simulation if there is one), and who bypassed it (with the step).
type Waiter = (String, u64, Option<u64>, Vec<(String, Option<u64>)>);

/// The current step of the simulation, if there is one.
fn current_step() -> Option<u64> {
    runtime::current().map(|e| e.lock().step)
}

/// `CPU entered at steps 15 and 23 and IO2 entered at step 30` (or `CPU entered 2 times`
/// without steps).
fn bypasses(by: &[(String, Option<u64>)]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for (n, _) in by {
        if !names.contains(&n.as_str()) {
            names.push(n);
        }
    }
    let and = |items: Vec<String>| match items.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    and(names
        .iter()
        .map(|name| {
            let steps: Vec<String> = by
                .iter()
                .filter(|(n, _)| n == name)
                .filter_map(|(_, s)| s.map(|s| s.to_string()))
                .collect();
            let times = by.iter().filter(|(n, _)| n == name).count();
            match steps.len() {
                0 if times == 1 => format!("{name} entered"),
                0 => format!("{name} entered {times} times"),
                1 => format!("{name} entered at step {}", steps[0]),
                _ => format!("{name} entered at steps {}", and(steps)),
            }
        })
        .collect())
}

/// A bounded-waiting oracle: no thread waiting for a resource is bypassed more than
/// `bound` times. A bypass is an entry by a thread that arrived after the waiter: one
/// that started waiting later, or entered without waiting at all. A thread that was
/// already waiting when the waiter arrived does not bypass it by entering first, so
/// `bound = 0` checks strict FIFO order. Threads declare `waiting()` when they start to
/// wait and `entered()` when they get in; a violation fails the schedule (in real mode,
/// it panics).
///
/// # Examples
///
/// ```
/// use interleave::explore::Fairness;
///
/// let tunnel = Fairness::new("the tunnel", 2);
/// tunnel.waiting();
/// tunnel.entered();
/// ```
#[derive(Clone)]
pub struct Fairness {
    name: Arc<str>,
    bound: usize,
    /// Waiting threads in arrival order, and the next arrival number.
    waiting: Arc<parking_lot::Mutex<(Vec<Waiter>, u64)>>,
}

impl fmt::Debug for Fairness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fairness({:?}, bound {})", self.name, self.bound)
    }
}

impl Fairness {
    /// A fairness monitor for the resource `name` allowing `bound` bypasses.
    pub fn new(name: impl Into<String>, bound: usize) -> Self {
        Fairness {
            name: name.into().into(),
            bound,
            waiting: Default::default(),
        }
    }

    fn me() -> String {
        crate::thread::current()
            .name()
            .unwrap_or("unnamed")
            .to_string()
    }

    /// The current thread starts waiting for the resource.
    pub fn waiting(&self) {
        let me = Self::me();
        crate::trace::label(format!("waits for {}", self.name));
        let step = current_step();
        let mut guard = self.waiting.lock();
        let (waiters, next) = &mut *guard;
        if !waiters.iter().any(|(n, _, _, _)| *n == me) {
            waiters.push((me, *next, step, Vec::new()));
            *next += 1;
        }
    }

    /// The current thread enters the resource: every thread that was already waiting
    /// when it arrived is bypassed.
    ///
    /// # Panics
    ///
    /// In real mode, when the bound is exceeded.
    pub fn entered(&self) {
        let me = Self::me();
        crate::trace::label(format!("enters {}", self.name));
        let step = current_step();
        let mut guard = self.waiting.lock();
        let (waiters, next) = &mut *guard;
        // When this thread arrived: when it started waiting, or now if it never waited.
        let arrived = match waiters.iter().position(|(n, _, _, _)| *n == me) {
            Some(i) => waiters.remove(i).1,
            None => {
                *next += 1;
                *next - 1
            }
        };
        for (n, since, at, by) in waiters.iter_mut() {
            if *since > arrived {
                continue;
            }
            by.push((me.clone(), step));
            if by.len() > self.bound {
                let waiting = match at {
                    Some(at) => format!("{n}, waiting for {} since step {at},", self.name),
                    None => format!("{n}, waiting for {},", self.name),
                };
                let times = match by.len() {
                    1 => "once".to_string(),
                    k => format!("{k} times"),
                };
                let msg = format!(
                    "{waiting} was bypassed {times} (bound {}): while {n} waited, {}",
                    self.bound,
                    bypasses(by)
                );
                match runtime::current() {
                    Some(e) => e.fail(FailureKind::Unfair, msg),
                    None => panic!("{msg}"),
                }
                return;
            }
        }
    }
}
