//! CPU time: how a test tells a process that blocks from one that busy-waits.
//!
//! A process that waits the right way (`waitpid` without `WNOHANG`, `read` on a blocking
//! descriptor, `poll` with a timeout, `sigsuspend`) sleeps in the kernel and uses no CPU
//! until what it waits for happens. A busy-waiting one (a `WNOHANG` loop, `poll` with a
//! zero timeout, a non-blocking read in a loop) burns CPU all the while. Both give the
//! same output, so only the CPU time tells them apart.
//!
//! Wall-clock time alone cannot decide it on a busy machine, so the check compares two CPU
//! times instead. The demo makes the waiter wait for a known amount of *work*: another
//! process of the demo burns [`work`] `E` of its own CPU time before it does what the
//! waiter waits for. While it works, a blocking waiter uses nothing, and a spinning one
//! competes for the CPU like any runnable process: the scheduler gives it about as much
//! CPU as the worker gets, whatever the load, so it uses about `E` too. [`busy_wait`]
//! calls the waiter busy when it used more than a quarter of `E` (and at least
//! [`MIN_SPIN`]): a blocking waiter stays far below, a spinning one far above.
//!
//! Where the CPU comes from:
//! - the watchdog measures the whole demo: [`crate::Finished::cpu`] is the user and system
//!   time of the demo and of every descendant it waited for (from `wait4`), and a
//!   [`crate::Hang`] shows each process's CPU time from `/proc` next to its age;
//! - a demo measures one call of the student's code with a [`Meter`]: the CPU the calling
//!   process used during the call, the CPU of the children it reaped meanwhile, and the
//!   wall time. Under the watchdog, [`Meter::report`] hands the figures to the test
//!   ([`crate::Finished::cpu_report`]); run by hand, the demo prints nothing more.
//!
//! ```
//! use proctest::cpu::{CpuTime, work};
//! use std::time::Duration;
//!
//! let before = CpuTime::of_self();
//! work(Duration::from_millis(20));
//! let used = CpuTime::of_self() - before;
//! assert!(used.total() >= Duration::from_millis(20), "{used}");
//! ```

use std::fmt;
use std::ops::{Add, Sub};
use std::time::{Duration, Instant};

/// The environment variable through which the watchdog tells a demo's [`Meter`] where to
/// write its report (a file path). Unset when the demo is run by hand.
pub const REPORT_ENV: &str = "PROCTEST_CPU_REPORT";

/// Below this, CPU time used by a waiter is never called a busy-wait: the start of a
/// process, a `fork` or an `exec` cost a few milliseconds.
pub const MIN_SPIN: Duration = Duration::from_millis(30);

/// Involuntary context switches at which a waiter counts as spinning whatever CPU it got:
/// a loop that yields (`sched_yield`, a zero-timeout `poll`) on a busy machine is switched
/// out each time another process is ready, so it uses little CPU but is switched out
/// hundreds of times in a fraction of a second, whereas a waiter that blocks gives the
/// CPU up by sleeping, which is a voluntary switch, and is almost never switched out while
/// ready (measured on 2 loaded cores: 133 involuntary switches in 0.7 s for a
/// `sched_yield` loop that used 0.007 s of CPU; none for a blocking `read`).
pub const YIELD_SPIN: u64 = 50;

/// User and system CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct CpuTime {
    /// Time spent running the program's own code.
    pub user: Duration,
    /// Time spent in the kernel on its behalf (system calls: a `WNOHANG` loop spends most
    /// of its time there).
    pub system: Duration,
}

impl CpuTime {
    /// No CPU time at all.
    pub const ZERO: Self = Self {
        user: Duration::ZERO,
        system: Duration::ZERO,
    };

    /// User plus system time.
    pub fn total(self) -> Duration {
        self.user + self.system
    }

    /// The CPU time the calling process has used so far (`getrusage(RUSAGE_SELF)`).
    pub fn of_self() -> Self {
        usage(libc::RUSAGE_SELF)
    }

    /// The CPU time of the calling process's children that have ended *and been waited
    /// for* (`getrusage(RUSAGE_CHILDREN)`), with their own waited-for descendants.
    pub fn of_children() -> Self {
        usage(libc::RUSAGE_CHILDREN)
    }

    /// From the `rusage` that `getrusage` or `wait4` filled in.
    pub fn from_rusage(usage: &libc::rusage) -> Self {
        let time = |t: libc::timeval| {
            Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
                + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
        };
        Self {
            user: time(usage.ru_utime),
            system: time(usage.ru_stime),
        }
    }
}

fn usage(who: libc::c_int) -> CpuTime {
    rusage(who).map_or(CpuTime::ZERO, |usage| CpuTime::from_rusage(&usage))
}

fn rusage(who: libc::c_int) -> Option<libc::rusage> {
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage into the valid, exclusive pointer we pass.
    (unsafe { libc::getrusage(who, &mut usage) } == 0).then_some(usage)
}

/// How many times the calling process (`RUSAGE_SELF`: all its threads) or thread
/// (`RUSAGE_THREAD`) was switched out while still ready to run, so far (`ru_nivcsw`).
/// Not async-signal-safe by POSIX's list: a forked child does not call it.
fn preempted(who: libc::c_int) -> u64 {
    rusage(who).map_or(0, |usage| u64::try_from(usage.ru_nivcsw).unwrap_or(0))
}

/// How many times the calling thread was switched out while still ready to run, so far
/// (involuntary context switches, `getrusage(RUSAGE_THREAD)`): see [`YIELD_SPIN`].
pub fn thread_preempted() -> u64 {
    preempted(libc::RUSAGE_THREAD)
}

impl Add for CpuTime {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self {
            user: self.user + other.user,
            system: self.system + other.system,
        }
    }
}

impl Sub for CpuTime {
    type Output = Self;
    /// The difference, saturating at zero.
    fn sub(self, other: Self) -> Self {
        Self {
            user: self.user.saturating_sub(other.user),
            system: self.system.saturating_sub(other.system),
        }
    }
}

impl fmt::Display for CpuTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of CPU ({} user, {} system)",
            seconds(self.total()),
            seconds(self.user),
            seconds(self.system)
        )
    }
}

/// A duration in seconds with three decimals: `0.213 s`.
pub fn seconds(duration: Duration) -> String {
    format!("{:.3} s", duration.as_secs_f64())
}

/// The CPU time the calling thread has used, from `CLOCK_THREAD_CPUTIME_ID`.
/// Async-signal-safe (`clock_gettime` is), so a forked child may measure itself with it.
pub fn thread_cpu() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid pointer we pass; it is
    // async-signal-safe and takes no lock.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::from_secs(u64::try_from(now.tv_sec).unwrap_or(0))
        + Duration::from_nanos(u64::try_from(now.tv_nsec).unwrap_or(0))
}

/// Burns `amount` of the calling thread's CPU time (not wall time: on a busy machine it
/// takes longer on the clock, never less work), and returns a value computed along the
/// way so that the compiler cannot drop the work. This is the known amount of work a
/// demo makes a waiter wait for.
///
/// Async-signal-safe: it only computes and calls `clock_gettime`, so a forked child may
/// call it.
pub fn work(amount: Duration) -> u64 {
    let start = thread_cpu();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    while thread_cpu().saturating_sub(start) < amount {
        for _ in 0..1000 {
            // xorshift: cheap, and opaque enough to the optimiser.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
        }
        state = std::hint::black_box(state);
    }
    state
}

/// Measures one call of the student's code in a demo: the CPU the calling process used,
/// the CPU of the children it waited for meanwhile, and the wall time.
///
/// ```
/// use proctest::cpu::Meter;
///
/// let meter = Meter::start("wait_all");
/// // ... the student's call ...
/// let report = meter.stop();
/// assert_eq!(report.label, "wait_all");
/// meter.report(); // under the watchdog: hands the figures to the test
/// ```
#[derive(Debug, Clone)]
pub struct Meter {
    label: String,
    own: CpuTime,
    preempted: u64,
    children: CpuTime,
    wall: Instant,
}

impl Meter {
    /// Starts measuring; `label` names the call (`wait_all`, `run_pipeline`...): one
    /// word, spaces become `_`.
    pub fn start(label: &str) -> Self {
        Self {
            label: label.replace(' ', "_"),
            own: CpuTime::of_self(),
            preempted: preempted(libc::RUSAGE_SELF),
            children: CpuTime::of_children(),
            wall: Instant::now(),
        }
    }

    /// The figures since [`Meter::start`].
    pub fn stop(&self) -> CpuReport {
        CpuReport {
            label: self.label.clone(),
            own: (CpuTime::of_self() - self.own).total(),
            preempted: preempted(libc::RUSAGE_SELF).saturating_sub(self.preempted),
            children: (CpuTime::of_children() - self.children).total(),
            wall: self.wall.elapsed(),
        }
    }

    /// Under the watchdog (when [`REPORT_ENV`] names a file), appends the figures since
    /// [`Meter::start`] to that file for the test; otherwise does nothing, so a demo run
    /// by hand prints nothing more. Errors are ignored: a missing report makes the test's
    /// check inconclusive, never wrong.
    pub fn report(&self) {
        self.stop().report();
    }
}

/// What a [`Meter`] measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuReport {
    /// The call measured.
    pub label: String,
    /// CPU time (user + system) the measuring process used during the call.
    pub own: Duration,
    /// How many times the measuring process was switched out while still ready to run
    /// during the call (see [`YIELD_SPIN`]); 0 when not measured.
    pub preempted: u64,
    /// CPU time of the children it waited for during the call.
    pub children: Duration,
    /// Wall-clock time of the call, for the message only.
    pub wall: Duration,
}

impl CpuReport {
    /// Hands these figures to the test, as [`Meter::report`] does: for figures measured
    /// another way (a forked child measuring itself with [`thread_cpu`] and sending the
    /// result to its parent, say).
    pub fn report(&self) {
        let Some(path) = std::env::var_os(REPORT_ENV) else {
            return;
        };
        use std::io::Write;
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{}", self.to_line());
        }
    }

    /// `LABEL own=MICROS children=MICROS wall=MICROS preempted=COUNT`, one line.
    fn to_line(&self) -> String {
        format!(
            "{} own={} children={} wall={} preempted={}",
            self.label,
            self.own.as_micros(),
            self.children.as_micros(),
            self.wall.as_micros(),
            self.preempted
        )
    }

    /// Parses a line written by [`Meter::report`].
    pub(crate) fn from_line(line: &str) -> Option<Self> {
        let mut words = line.split_whitespace();
        let label = words.next()?.to_owned();
        let mut field = |name: &str| -> Option<u64> {
            words
                .next()?
                .strip_prefix(name)?
                .strip_prefix('=')?
                .parse()
                .ok()
        };
        Some(Self {
            own: Duration::from_micros(field("own")?),
            children: Duration::from_micros(field("children")?),
            wall: Duration::from_micros(field("wall")?),
            preempted: field("preempted")?,
            label,
        })
    }

    /// Whether the measuring process busy-waited while it waited for `effort` of CPU work
    /// done by another process: [`busy_wait_or_yield`] on these figures.
    pub fn busy_wait(&self, effort: Duration) -> Option<BusyWait> {
        busy_wait_or_yield(self.own, self.preempted, effort, self.wall)
    }
}

/// A waiter that used CPU while it should have been blocked: what [`busy_wait`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyWait {
    /// CPU time the waiter used while it waited.
    pub used: Duration,
    /// CPU time of the work it waited for.
    pub effort: Duration,
    /// Wall-clock time of the wait.
    pub wall: Duration,
    /// How many times the waiter was switched out while still ready to run (0 when not
    /// measured).
    pub preempted: u64,
}

/// Decides whether a waiter busy-waited: it used `used` of CPU while it waited for
/// `effort` of CPU work done by another process (during `wall` on the clock). Busy when
/// `used` is more than a quarter of `effort` and more than [`MIN_SPIN`]; `None` when it
/// blocked.
///
/// ```
/// use proctest::cpu::busy_wait;
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// assert_eq!(busy_wait(ms(3), ms(300), ms(320)), None); // it slept in the kernel
/// assert!(busy_wait(ms(250), ms(300), ms(600)).is_some()); // it spun alongside
/// ```
pub fn busy_wait(used: Duration, effort: Duration, wall: Duration) -> Option<BusyWait> {
    busy_wait_or_yield(used, 0, effort, wall)
}

/// As [`busy_wait`], and also busy when the waiter was switched out `preempted` times
/// while still ready to run, [`YIELD_SPIN`] or more: a loop that yields on a busy machine
/// gets little CPU, so its CPU time alone may look like a sleep.
///
/// ```
/// use proctest::cpu::busy_wait_or_yield;
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// assert_eq!(busy_wait_or_yield(ms(3), 2, ms(300), ms(900)), None); // it slept
/// assert!(busy_wait_or_yield(ms(7), 133, ms(300), ms(900)).is_some()); // it yielded
/// ```
pub fn busy_wait_or_yield(
    used: Duration,
    preempted: u64,
    effort: Duration,
    wall: Duration,
) -> Option<BusyWait> {
    let spun = used > effort / 4 && used > MIN_SPIN;
    (spun || preempted >= YIELD_SPIN).then_some(BusyWait {
        used,
        effort,
        wall,
        preempted,
    })
}

impl BusyWait {
    /// The diagnosis, in the step's words: `waiter` is who waited ("the parent, in
    /// wait_all"), `work` what it waited for ("child 2, which computed"), `fix` how to
    /// wait without using the CPU. Wrapped at 100 columns; ends with the verdict.
    pub fn explain(&self, waiter: &str, work: &str, fix: &str) -> String {
        let how = if self.used > self.effort / 4 && self.used > MIN_SPIN {
            format!(
                "{waiter} used {} of CPU while {work} for {} of CPU ({} on the clock)",
                seconds(self.used),
                seconds(self.effort),
                seconds(self.wall),
            )
        } else {
            format!(
                "{waiter} was switched out {} times while still ready to run, while {work} \
                 for {} of CPU ({} on the clock); a loop that yields the CPU uses little of it \
                 when other processes want it ({} here), but it never sleeps",
                self.preempted,
                seconds(self.effort),
                seconds(self.wall),
                seconds(self.used),
            )
        };
        let text = format!(
            "{how}: it kept checking instead of sleeping until there was something to do, a \
             busy-wait. {fix} The step's rule: a process that waits blocks in the kernel, \
             where it uses no CPU. Busy-waiting."
        );
        crate::wrap(&text, 98)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_line_round_trips() {
        let report = CpuReport {
            label: "wait_all".to_owned(),
            own: Duration::from_micros(1234),
            preempted: 7,
            children: Duration::from_micros(300_000),
            wall: Duration::from_micros(412_345),
        };
        assert_eq!(CpuReport::from_line(&report.to_line()), Some(report));
        assert_eq!(CpuReport::from_line("wait_all own=x"), None);
    }

    #[test]
    fn a_blocking_waiter_is_not_busy_and_a_spinning_one_is() {
        let ms = Duration::from_millis;
        assert_eq!(busy_wait(ms(20), ms(300), ms(900)), None);
        assert_eq!(busy_wait(ms(25), ms(60), ms(90)), None, "under MIN_SPIN");
        let spin = busy_wait(ms(150), ms(300), ms(900)).expect("a spin");
        let text = spin.explain("the parent, in wait_all,", "child 2 worked", "Use waitpid.");
        assert!(text.ends_with("Busy-waiting."), "{text}");
        assert!(text.lines().all(|l| l.len() <= 100), "{text}");
        assert!(
            text.contains("0.150 s of CPU while child 2 worked for 0.300 s"),
            "{text}"
        );
    }

    #[test]
    fn a_waiter_switched_out_while_ready_is_busy_whatever_cpu_it_got() {
        let ms = Duration::from_millis;
        assert_eq!(
            busy_wait_or_yield(ms(5), YIELD_SPIN - 1, ms(200), ms(700)),
            None
        );
        let spin = busy_wait_or_yield(ms(7), 133, ms(200), ms(700)).expect("a yield loop");
        let text = spin.explain("The master, in drain_then_wait,", "the worker computed", "");
        assert!(text.lines().all(|l| l.len() <= 100), "{text}");
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            text.contains("was switched out 133 times while still ready to run, while the worker computed for 0.200 s of CPU (0.700 s on the clock)"),
            "{text}"
        );
        assert!(text.contains("want it (0.007 s here)"), "{text}");
    }
}
