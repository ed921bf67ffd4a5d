//! Signals, step 2: a worker that shuts down cleanly on SIGTERM.
//!
//! Task: the worker creates a temporary file and does units of work. When SIGTERM comes,
//! it finishes the unit in progress, removes its temporary file and exits with status 0.
//! The parent tells the two ways a process can end apart: "exited with status N" and
//! "was killed by signal S".
//! Invariant: a unit of work is never cut in half, no unit starts after SIGTERM, and the
//! temporary file never outlives the worker.
//! Time budget: each check gives the demo 4 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine.
//! Done when `just check signals/shutdown` (or `cargo course check signals/shutdown`)
//! passes.

use crate::flag::SignalFlag;
use crate::work::{Work, temp_path};
use nix::sys::wait::WaitStatus;
use nix::unistd::getpid;
use std::fs::{self, File};
use std::io;

/// Set by the SIGTERM handler: the worker stops after the unit in progress.
pub static STOP: SignalFlag = SignalFlag::new();

/// The SIGTERM handler: it only sets [`STOP`].
extern "C" fn on_sigterm(_signo: libc::c_int) {
    STOP.set();
}

/// Installs [`on_sigterm`] for SIGTERM, in the worker, before it starts working.
///
/// # Errors
///
/// The error of `sigaction`.
pub fn install_handler() -> nix::Result<()> {
    // TODO: nothing is installed, so SIGTERM keeps its default action: the kernel ends the
    // worker on the spot, in the middle of a unit, and its temporary file stays behind.
    // Install `on_sigterm` with `nix::sys::signal::sigaction` (flag SA_RESTART).
    let _ = on_sigterm;
    Ok(())
}

/// The worker: creates its temporary file ([`temp_path`]), does units `1..=units` with
/// `work`, stopping between two units once [`STOP`] is set, then removes the file.
/// Returns how many units it completed.
///
/// # Errors
///
/// Creating or removing the file, or a unit, failed (the file is removed anyway).
pub fn run_worker(units: u32, work: &mut Work) -> io::Result<u32> {
    let path = temp_path(getpid());
    let mut file = File::create(&path)?;
    println!("worker: temporary file created");
    let mut done = 0;
    for unit in 1..=units {
        // TODO: once SIGTERM has set STOP, start no new unit: print
        // "worker: SIGTERM received, stopping after unit {done}" and leave the loop.
        work.unit(unit, &mut file)?;
        done = unit;
    }
    drop(file);
    fs::remove_file(&path)?;
    println!("worker: temporary file removed");
    Ok(done)
}

/// How a process ended, in words: `exited with status 0`, `was killed by signal SIGTERM`.
pub fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        // TODO: a process killed by a signal has no exit status: say which signal it was,
        // as in "was killed by signal SIGTERM" (`Signal::as_str`).
        other => format!("ended: {other:?}"),
    }
}
