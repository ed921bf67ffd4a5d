//! Pipes, step 2: a shell pipeline, `printf ... | sort | uniq -c`.
//!
//! Task: run the commands side by side, each one's standard output connected to the
//! next one's standard input by a pipe (`fork`, `dup2`, then `exec`), wait for all of
//! them, and return the last command's status, as a shell does.
//! Invariant: every pipe has exactly one reader process and one writer process. Any
//! other copy of a write end (in the parent, in a sibling, in the reader itself) keeps
//! the reader from ever seeing end of file: `sort` and `wc` wait for it forever.
//! Nothing leaks: when the function returns, the parent holds no pipe descriptor and
//! has reaped every child.
//! Time budget: each check gives the demo 5 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine; a wait must block
//! in the kernel, not spin (the checks compare CPU time with the work waited for).
//! Done when `just check pipes/pipeline` (or `cargo course check pipes/pipeline`) passes.

use crate::sys::{Exec, exit_now};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, dup2_stdin, dup2_stdout, fork, pipe2};
use std::os::fd::OwnedFd;

/// Runs `commands` as a pipeline and returns the last command's wait status, once every
/// command has exited. A command that cannot be started reports `no such command: NAME`
/// on standard error and exits with status 127 (see [`Exec::exec`]); the others still
/// run, as in a shell.
///
/// # Errors
///
/// `EINVAL` when `commands` is empty; any error of `pipe`, `fork` or `waitpid`. Children
/// started before an error are still waited for.
// ANCHOR: run_pipeline
pub fn run_pipeline(commands: &[Exec]) -> nix::Result<WaitStatus> {
    if commands.is_empty() {
        return Err(Errno::EINVAL);
    }
    let mut children = Vec::new();
    let started = start_all(commands, &mut children);
    // Reap every child that was started, even after an error: no zombie, no orphan.
    let mut last = None;
    let mut wait_error = None;
    for child in children {
        match waitpid(child, None) {
            Ok(status) => last = Some(status),
            Err(err) => wait_error = Some(err),
        }
    }
    started?;
    if let Some(err) = wait_error {
        return Err(err);
    }
    last.ok_or(Errno::ECHILD)
}
// ANCHOR_END: run_pipeline

/// Starts the commands left to right, pushing each child's pid. Instead of creating every
/// pipe up front, it creates each pipe just before the fork that needs it and keeps only
/// the read end the next command will inherit: the parent never holds more than that.
fn start_all(commands: &[Exec], children: &mut Vec<Pid>) -> nix::Result<()> {
    // The read end of the previous pipe: the next command's standard input.
    let mut upstream: Option<OwnedFd> = None;
    for (i, command) in commands.iter().enumerate() {
        let last = i + 1 == commands.len();
        // O_CLOEXEC: the copies a child inherits but does not dup2 onto 0 or 1 close
        // themselves at exec (dup2 clears the flag on the new descriptor only). Without
        // it, each child would also have to close them by hand.
        let downstream = if last {
            None
        } else {
            Some(pipe2(OFlag::O_CLOEXEC)?)
        };
        // SAFETY: the demo is single-threaded, and the child only calls async-signal-safe
        // functions (dup2, execvp, write, _exit) on data prepared before the fork.
        match unsafe { fork() }? {
            ForkResult::Child => {
                if let Some(input) = &upstream {
                    if dup2_stdin(input).is_err() {
                        exit_now(126);
                    }
                }
                if let Some((_, output)) = &downstream {
                    if dup2_stdout(output).is_err() {
                        exit_now(126);
                    }
                }
                // Every other pipe descriptor is close-on-exec: after exec the command
                // holds exactly its standard input and output.
                command.exec()
            }
            ForkResult::Parent { child } => {
                children.push(child);
                // Drop the parent's copies at once: the previous read end now belongs to
                // this child, and the new write end belongs to it too. Only the new read
                // end stays, for the next command.
                upstream = downstream.map(|(read_end, _write_end)| read_end);
            }
        }
    }
    Ok(())
}
