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
//! Strategies ([`Strategy`]): the default is a portfolio, PCT with depth 3 then seeded
//! random, which the empirical study of Thomson, Donaldson and Betts (TOPC 2016) found the
//! most effective; [`Strategy::DelayBounded`] is the exhaustive mode. It bounds *delays*
//! (deviations from the canonical scheduler, Emmi, Qadeer and Rakamarić, POPL 2011)
//! rather than preemptions as CHESS did: the same study found delay bounding better, and
//! it explores O(steps^bound) schedules where preemption bounding explodes on a bounded
//! buffer.
//!
//! The environment overrides the configuration: `INTERLEAVE_SEED`,
//! `INTERLEAVE_STRATEGY` (`canonical`, `random`, `pct:3`, `delay:2`, `schedule:...`,
//! `portfolio`), `INTERLEAVE_ITERATIONS`; `INTERLEAVE_TRACE=1` prints the timeline of
//! the first schedule even when it passes; `INTERLEAVE_TRACE_JSON=<file>` writes a failing
//! schedule to `<file>` as JSON (the book's trace viewer is made from such files).

use std::fmt;
use std::sync::Arc;

use crate::report::Failure;
use crate::runtime::execution::Limits;
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
    /// Every schedule that deviates at most `bound` times from the canonical one.
    DelayBounded {
        /// The maximum number of delays.
        bound: usize,
    },
    /// One schedule, printed by a delay-bounded search (the part after `schedule:`).
    Schedule(String),
    /// PCT with depth 3 for half of the iterations, then random.
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            strategy: Strategy::Portfolio,
            iterations: 1000,
            seed: 0,
            max_steps: 100_000,
            max_steps_without_blocking: 10_000,
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

    /// Applies `INTERLEAVE_SEED`, `INTERLEAVE_STRATEGY` and `INTERLEAVE_ITERATIONS`.
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
        self
    }

    fn limits(&self) -> Limits {
        Limits {
            max_steps: self.max_steps,
            max_streak: self.max_steps_without_blocking,
        }
    }
}

/// What an exploration that found no failure did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// How many schedules ran.
    pub schedules: usize,
    /// How many steps the longest one took.
    pub max_steps: u64,
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
    describe: String,
}

fn run_one(body: &Body, sched: Box<dyn Scheduler>, limits: Limits, want_trace: bool) -> One {
    let exec = Execution::new(sched, limits);
    let failure;
    let trace;
    let steps;
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
        steps = exec.lock().step;
    }
    let describe = exec.take_scheduler().describe();
    One {
        failure,
        trace,
        steps,
        describe,
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
    let limits = config.limits();
    let print_first = std::env::var("INTERLEAVE_TRACE").is_ok_and(|v| v == "1");
    let mut stats = Stats {
        schedules: 0,
        max_steps: 0,
    };
    // The plan: (strategy builder, how many schedules).
    let run =
        |sched: Box<dyn Scheduler>, seed: u64, stats: &mut Stats| -> Result<u64, Box<Failure>> {
            let first = stats.schedules == 0;
            let one = run_one(&body, sched, limits, first && print_first);
            stats.schedules += 1;
            stats.max_steps = stats.max_steps.max(one.steps);
            if first && print_first {
                eprintln!(
                    "interleave: schedule 1 (strategy {}, seed {seed}):\n{}",
                    one.describe,
                    one.trace.timeline()
                );
            }
            match one.failure {
                None => Ok(one.steps),
                Some((kind, message)) => Err(Box::new(Failure {
                    kind,
                    message,
                    strategy: one.describe,
                    seed,
                    schedule: stats.schedules,
                    trace: one.trace,
                })),
            }
        };
    let n = config.iterations.max(1);
    let base = config.seed;
    match &config.strategy {
        Strategy::Canonical => {
            run(Box::new(scheduler::Canonical), base, &mut stats)?;
        }
        Strategy::Schedule(s) => {
            let r = scheduler::Replay::parse(s).expect("validated by Strategy::parse");
            run(Box::new(r), base, &mut stats)?;
        }
        Strategy::Random => {
            for i in 0..n {
                let seed = derive_seed(base, i);
                run(Box::new(scheduler::Random::new(seed)), seed, &mut stats)?;
            }
        }
        Strategy::Pct { depth } => {
            let k = run(Box::new(scheduler::Canonical), base, &mut stats)?;
            for i in 0..n {
                let seed = derive_seed(base, i);
                run(
                    Box::new(scheduler::Pct::new(*depth, seed, k)),
                    seed,
                    &mut stats,
                )?;
            }
        }
        Strategy::Portfolio => {
            let k = run(Box::new(scheduler::Canonical), base, &mut stats)?;
            let half = n.div_ceil(2);
            for i in 0..half {
                let seed = derive_seed(base, i);
                run(Box::new(scheduler::Pct::new(3, seed, k)), seed, &mut stats)?;
            }
            for i in half..n {
                let seed = derive_seed(base, i);
                run(Box::new(scheduler::Random::new(seed)), seed, &mut stats)?;
            }
        }
        Strategy::DelayBounded { bound } => {
            let mut sched: Box<dyn Scheduler> = Box::new(scheduler::DelayBounded::new(*bound));
            while sched.begin() {
                let exec_sched = sched;
                let first = stats.schedules == 0;
                let exec = Execution::new(exec_sched, limits);
                let (failure, trace, steps) = {
                    let _installed = Installed::new(&exec);
                    let b = body.clone();
                    exec.spawn(Some("main".into()), Box::new(move || b()));
                    let failure = match exec.run() {
                        RunEnd::Done => None,
                        RunEnd::Stuck => {
                            let f = exec.diagnose_stuck();
                            Some((f.kind, f.message))
                        }
                        RunEnd::Failed => exec.lock().failure.clone().map(|f| (f.kind, f.message)),
                    };
                    let trace = if failure.is_some() || (first && print_first) {
                        exec.trace()
                    } else {
                        Trace::default()
                    };
                    let steps = exec.lock().step;
                    (failure, trace, steps)
                };
                sched = exec.take_scheduler();
                stats.schedules += 1;
                stats.max_steps = stats.max_steps.max(steps);
                if first && print_first {
                    eprintln!("interleave: schedule 1 (canonical):\n{}", trace.timeline());
                }
                if let Some((kind, message)) = failure {
                    return Err(Box::new(Failure {
                        kind,
                        message,
                        strategy: sched.describe(),
                        seed: base,
                        schedule: stats.schedules,
                        trace,
                    }));
                }
            }
        }
    }
    Ok(stats)
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

/// A waiting thread: its name, when it started waiting, and who bypassed it.
type Waiter = (String, u64, Vec<String>);

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
        let mut guard = self.waiting.lock();
        let (waiters, next) = &mut *guard;
        if !waiters.iter().any(|(n, _, _)| *n == me) {
            waiters.push((me, *next, Vec::new()));
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
        let mut guard = self.waiting.lock();
        let (waiters, next) = &mut *guard;
        // When this thread arrived: when it started waiting, or now if it never waited.
        let arrived = match waiters.iter().position(|(n, _, _)| *n == me) {
            Some(i) => waiters.remove(i).1,
            None => {
                *next += 1;
                *next - 1
            }
        };
        for (n, since, by) in waiters.iter_mut() {
            if *since > arrived {
                continue;
            }
            by.push(me.clone());
            if by.len() > self.bound {
                let msg = format!(
                    "{n} was bypassed {} times while waiting for {} (bound {}): {} entered first",
                    by.len(),
                    self.name,
                    self.bound,
                    by.join(", ")
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
