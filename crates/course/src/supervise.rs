//! The supervisor of one cargo run: nothing a check starts outlives it.
//!
//! The runner never starts cargo itself. It starts a copy of itself in this hidden mode
//! (`course internal-supervise --tmpdir DIR -- cargo test ...`), in a process group of its
//! own, with a control pipe on standard input. The supervisor:
//!
//! - makes itself a *child subreaper* (`PR_SET_CHILD_SUBREAPER`): every process of the check
//!   that loses its parent (a demo whose test binary was killed, a `sort` whose `pipeline`
//!   died, a daemon that double-forked) is re-parented to the supervisor instead of init, so
//!   the supervisor's descendants are exactly the check's processes, whatever process groups
//!   the demos put themselves in;
//! - runs cargo with standard input closed and its output going where the supervisor's goes
//!   (the runner's pipes);
//! - when cargo ends, or when anything arrives on the control pipe (the runner's watchdog
//!   or Ctrl-C writes `stop`; the runner's death closes it), sends SIGTERM to every
//!   descendant, gives them [`GRACE`] to clean up, then SIGKILLs whatever is left and reaps
//!   everything;
//! - removes the check's private TMPDIR (what a killed `sort` or echo server left there);
//! - exits with cargo's exit code (128 + N when a signal N ended it).

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;

/// How long the check's processes get between SIGTERM and SIGKILL.
pub const GRACE: Duration = Duration::from_secs(2);

/// Runs `program args` under supervision (see the module's documentation).
pub fn run(tmpdir: Option<PathBuf>, program: OsString, args: Vec<OsString>) -> ExitCode {
    let _ = nix::sys::prctl::set_child_subreaper(true);
    let me = std::process::id() as i32;
    let child = Command::new(&program)
        .args(&args)
        .stdin(Stdio::null())
        .spawn();
    let cargo = match child {
        // Reaped below with waitpid, never through `Child::wait`.
        Ok(child) => Pid::from_raw(child.id() as i32),
        Err(e) => {
            eprintln!(
                "error: cannot run `{}`: {e}; is it installed and on your PATH?",
                program.to_string_lossy()
            );
            remove_tmpdir(tmpdir.as_deref());
            return ExitCode::from(127);
        }
    };
    // Only one termination at a time (the control thread's, or the final sweep's).
    let terminating = Arc::new(Mutex::new(()));
    // Signals sent to the supervisor itself mean the same.
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ]) {
        let terminating = Arc::clone(&terminating);
        thread::spawn(move || {
            if signals.forever().next().is_some() {
                let _guard = terminating.lock().unwrap_or_else(|p| p.into_inner());
                terminate_descendants(me, GRACE);
            }
        });
    }
    {
        let terminating = Arc::clone(&terminating);
        thread::spawn(move || {
            // Any line ("stop") or end of file (the runner is gone) means: stop now.
            let mut line = String::new();
            let _ = io::stdin().lock().read_line(&mut line);
            let _guard = terminating.lock().unwrap_or_else(|p| p.into_inner());
            terminate_descendants(me, GRACE);
        });
    }
    let mut code = 1;
    loop {
        match waitpid(None::<Pid>, None) {
            Ok(WaitStatus::Exited(pid, status)) if pid == cargo => {
                code = status;
                break;
            }
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == cargo => {
                code = 128 + signal as i32;
                break;
            }
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    // cargo is done: whatever is left is a stray of the check.
    {
        let _guard = terminating.lock().unwrap_or_else(|p| p.into_inner());
        terminate_descendants(me, GRACE);
    }
    // Reap everything re-parented to us; all of it has been killed.
    while let Ok(_) | Err(Errno::EINTR) = waitpid(None::<Pid>, None) {}
    remove_tmpdir(tmpdir.as_deref());
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn remove_tmpdir(dir: Option<&Path>) {
    if let Some(dir) = dir {
        let _ = fs::remove_dir_all(dir);
    }
}

/// SIGTERM to every living descendant of `root`, up to `grace` for them to exit, then
/// SIGKILL until none is left (processes forked meanwhile included).
pub fn terminate_descendants(root: i32, grace: Duration) {
    let living = descendants(root);
    if living.is_empty() {
        return;
    }
    for &pid in &living {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if descendants(root).is_empty() {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
    for _ in 0..500 {
        let living = descendants(root);
        if living.is_empty() {
            return;
        }
        for pid in living {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The living (not zombie) descendants of `root`, from `/proc/*/stat`.
pub fn descendants(root: i32) -> Vec<i32> {
    let mut table: Vec<(i32, i32, char)> = Vec::new();
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if let Some((ppid, state)) = stat(pid) {
            table.push((pid, ppid, state));
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for &(pid, ppid, state) in &table {
            if ppid == parent && pid != root {
                frontier.push(pid);
                if state != 'Z' && state != 'X' {
                    found.push(pid);
                }
            }
        }
    }
    found
}

/// The parent pid and state letter of `pid`, from `/proc/PID/stat` (the command name may
/// hold spaces and parentheses: the fields follow its last `)`).
fn stat(pid: i32) -> Option<(i32, char)> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}
