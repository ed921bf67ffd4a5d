//! The work of the `shutdown` step's worker, which the student does not write.
//!
//! A unit of work has a beginning and an end with a wait in between: the worker says
//! `worker: unit K started`, waits for the parent's go-ahead (one byte on its standard
//! input), appends a record to its temporary file and says `worker: unit K done`. The
//! parent can therefore send a signal while a unit is surely in progress, with no sleep.

use nix::unistd::Pid;
use std::time::Duration;

/// The CPU work each side of the handshake does before it signals the other, under
/// `handshake --slow`: what the other side waits for, without using the CPU if it sleeps.
pub const SLOW_WORK: Duration = Duration::from_millis(200);
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// The worker's temporary file: `signals-worker-PID.tmp` in the temporary directory
/// (`$TMPDIR`, else `/tmp`). The parent computes the same path to check it is gone.
pub fn temp_path(worker: Pid) -> PathBuf {
    std::env::temp_dir().join(format!("signals-worker-{worker}.tmp"))
}

/// The worker's source of work: its standard input, where the parent sends one byte per
/// unit.
#[derive(Debug, Default)]
pub struct Work {
    _private: (),
}

impl Work {
    /// Work driven by standard input.
    pub fn from_stdin() -> Self {
        Self { _private: () }
    }

    /// Does unit `unit`: says it started, waits for the go-ahead, appends `unit K` to
    /// `file`, says it is done. Standard output is flushed after each line, so the parent
    /// sees them at once.
    ///
    /// # Errors
    ///
    /// Writing to `file` or standard output failed, or standard input ended before the
    /// go-ahead (`UnexpectedEof`: the parent went away).
    pub fn unit(&mut self, unit: u32, file: &mut File) -> io::Result<()> {
        let mut out = io::stdout().lock();
        writeln!(out, "worker: unit {unit} started")?;
        out.flush()?;
        // std's read retries by itself when a signal handler interrupts it (EINTR).
        let mut go = [0u8; 1];
        io::stdin().lock().read_exact(&mut go)?;
        writeln!(file, "unit {unit}")?;
        file.flush()?;
        writeln!(out, "worker: unit {unit} done")?;
        out.flush()
    }
}
