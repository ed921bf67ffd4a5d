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
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, dup2_stdin, dup2_stdout, fork, pipe};

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
    // pipes[i] connects command i (writing) to command i + 1 (reading).
    let mut pipes = Vec::new();
    for _ in 1..commands.len() {
        pipes.push(pipe()?);
    }
    let mut children = Vec::new();
    for (i, command) in commands.iter().enumerate() {
        // SAFETY: the demo is single-threaded, and the child only calls async-signal-safe
        // functions (dup2, close, execvp, write, _exit) on data prepared before the fork.
        match unsafe { fork() }? {
            ForkResult::Child => {
                if i > 0 && dup2_stdin(&pipes[i - 1].0).is_err() {
                    exit_now(126);
                }
                if i + 1 < commands.len() && dup2_stdout(&pipes[i].1).is_err() {
                    exit_now(126);
                }
                // TODO: the command only needs its standard input and output now. Every
                // other pipe descriptor it still holds survives `exec` (unless created
                // with O_CLOEXEC) and keeps a write end open.
                command.exec()
            }
            ForkResult::Parent { child } => children.push(child),
        }
    }
    // TODO: the parent neither reads nor writes any pipe: close its copies before it
    // waits, or the readers never see end of file.
    let mut last = None;
    for child in children {
        last = Some(waitpid(child, None)?);
    }
    last.ok_or(Errno::ECHILD)
}
// ANCHOR_END: run_pipeline
