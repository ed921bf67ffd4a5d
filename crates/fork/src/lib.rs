//! Fork topic: one process becomes two.
//!
//! The demo of the notes forks one child per temperature; each child converts its value
//! from Fahrenheit to Celsius and prints it. The steps build it up: spawn the children
//! ([`spawn`]), wait for them and report how each ended ([`reap`]), get their results back
//! in order over pipes ([`ordered`]), and see that a child's memory is a copy ([`memory`]).
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.
//! The demo binaries in `src/bin/` call these modules; the tests run the binaries and
//! never fork inside the test harness.

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/08_fork/spawn.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/08_fork/spawn.rs")]
pub mod spawn;

#[cfg_attr(not(feature = "solution"), path = "../../../exercises/08_fork/reap.rs")]
#[cfg_attr(feature = "solution", path = "../../../solutions/08_fork/reap.rs")]
pub mod reap;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/08_fork/ordered.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/08_fork/ordered.rs")]
pub mod ordered;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/08_fork/memory.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/08_fork/memory.rs")]
pub mod memory;

pub mod cli;

/// The system calls that write a buffer to a descriptor: what the demos' fault options
/// (`temperatures --count-writes`, `memory --hold-pieces`) watch a child make.
pub const WRITE_CALLS: [libc::c_long; 5] = [
    libc::SYS_write,
    libc::SYS_writev,
    libc::SYS_pwrite64,
    libc::SYS_pwritev,
    libc::SYS_pwritev2,
];
pub mod sys;

/// The temperatures of the notes' demo: child `i` (counting from 1, as the notes' loop
/// `for (int i = 1; i <= number; i++)` does) converts `100 + 10 * i` degrees Fahrenheit,
/// so four children get 110, 120, 130 and 140 °F, as in the notes' output.
pub fn fahrenheit_values(count: usize) -> Vec<f64> {
    (1..=count).map(|i| 100.0 + 10.0 * i as f64).collect()
}

/// Converts degrees Fahrenheit to degrees Celsius: `(F - 32) * 5/9`.
///
/// Step `fork/spawn` has the student write this conversion (`fork::spawn::celsius`); the
/// later steps and demos use this one, so that they do not depend on that step.
///
/// # Examples
///
/// ```
/// assert_eq!(format!("{:.6}", fork::celsius(110.0)), "43.333333");
/// ```
pub fn celsius(fahrenheit: f64) -> f64 {
    trial::on_convert(fahrenheit);
    (fahrenheit - 32.0) * 5.0 / 9.0
}

/// What the `ordered` demo can make one conversion do in a child, to show what the
/// parent does then: take long (the child ends after the others), die before it writes
/// anything, or stop (SIGSTOP) until someone continues it. Unarmed, [`celsius`] only
/// computes.
///
/// Only a child feels it: in the process that armed it, [`celsius`] only computes.
/// Everything here is async-signal-safe (atomics, `getpid`, `kill`, the CPU clock).
pub mod trial {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::getpid;
    use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
    use std::time::Duration;

    /// The CPU work of a slow conversion.
    pub const SLOW_WORK: Duration = Duration::from_millis(200);

    /// No value: NaN's bits, which no conversion is given.
    const NONE: u64 = u64::MAX;
    static SLOW: AtomicU64 = AtomicU64::new(NONE);
    static CRASH: AtomicU64 = AtomicU64::new(NONE);
    static STOP: AtomicU64 = AtomicU64::new(NONE);
    static ARMED_BY: AtomicI32 = AtomicI32::new(0);

    /// In a child, converting `fahrenheit` first computes for [`SLOW_WORK`] of CPU time.
    pub fn slow(fahrenheit: f64) {
        ARMED_BY.store(getpid().as_raw(), Ordering::SeqCst);
        SLOW.store(fahrenheit.to_bits(), Ordering::SeqCst);
    }

    /// In a child, converting `fahrenheit` kills the child with SIGKILL: it writes nothing.
    pub fn crash(fahrenheit: f64) {
        ARMED_BY.store(getpid().as_raw(), Ordering::SeqCst);
        CRASH.store(fahrenheit.to_bits(), Ordering::SeqCst);
    }

    /// In a child, converting `fahrenheit` first stops the child with SIGSTOP: it goes on
    /// (converts, writes its result) only once someone sends it SIGCONT.
    pub fn stop(fahrenheit: f64) {
        ARMED_BY.store(getpid().as_raw(), Ordering::SeqCst);
        STOP.store(fahrenheit.to_bits(), Ordering::SeqCst);
    }

    pub(crate) fn on_convert(fahrenheit: f64) {
        if getpid().as_raw() == ARMED_BY.load(Ordering::SeqCst) {
            return;
        }
        let bits = fahrenheit.to_bits();
        if bits == SLOW.load(Ordering::SeqCst) {
            proctest::cpu::work(SLOW_WORK);
        }
        if bits == CRASH.load(Ordering::SeqCst) {
            let _ = kill(getpid(), Signal::SIGKILL);
        }
        if bits == STOP.load(Ordering::SeqCst) {
            let _ = kill(getpid(), Signal::SIGSTOP);
        }
    }
}
