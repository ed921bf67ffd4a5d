//! Demo of `pipes/pipeline`: runs a shell-like pipeline.
//!
//! Each argument is one command, split on whitespace (no quoting): `pipeline
//! 'printf b\na\nb\n' sort 'uniq -c'` runs `printf 'b\na\nb\n' | sort | uniq -c`. The
//! commands' output goes to standard output; the demo then reports, on standard error,
//! the last command's status and its audit (descriptors still open compared with before
//! the pipeline, children never waited for), and exits with the last command's status
//! (128 + N when it was killed by signal N), as a shell does. Under the tests' watchdog it
//! also reports the CPU time the parent used inside `run_pipeline`, and its children's.
//!
//! `pipeline --fork-fails-after K COMMAND...` (for the tests) lets K forks succeed, then
//! makes every later one fail with EAGAIN (see `proctest::faults::forks_fail_after`), as
//! when the process limit is reached part-way: `run_pipeline` must return the error and
//! still wait for the K children it started.
//!
//! The other options, all for the tests and all before the commands, reach the rest of the
//! contract: `--fds-left K` lowers the descriptor limit (RLIMIT_NOFILE) for the call so
//! that the parent can open only K more descriptors, and `pipe` fails with EMFILE
//! part-way; `--bystander` forks one more child of the demo's own first, which exits at
//! once (status 42) and is waited for only afterwards: `run_pipeline` must wait for its
//! own children, not for any child; `--no-commands` calls `run_pipeline` with an empty
//! list, which must fail with EINVAL.

use nix::sys::resource::{Resource, getrlimit, setrlimit};
use nix::sys::wait::WaitStatus;
use pipes::pipeline::run_pipeline;
use pipes::sys::{Audit, Bystander, Exec};
use proctest::args::Args;
use proctest::cpu::Meter;

const USAGE: &str = "pipeline [--fork-fails-after K] [--fds-left K] [--bystander] COMMAND...
       pipeline --no-commands
       (one command per argument, split on spaces: pipeline 'printf b\\na\\nb\\n' sort 'uniq -c')
then run `just check pipes/pipeline`";

fn main() {
    proctest::lifetime::children_die_with_parent();
    let mut parsed = Args::from_env("pipeline", USAGE);
    // Every argument is a command (`uniq -c` is one argument), options included.
    let mut args = parsed.rest();
    let mut fails_after = None;
    let mut fds_left = None;
    let mut bystander = false;
    let mut no_commands = false;
    // The options come first: after them, every argument is a command.
    loop {
        let number = |at: usize| -> u32 {
            let k = args.get(at).cloned().unwrap_or_default();
            proctest::args::number_in("K", &k, &(0..=64))
                .unwrap_or_else(|problem| parsed.fail(&problem))
        };
        match args.first().map(String::as_str) {
            Some("--fork-fails-after") => {
                fails_after = Some(number(1));
                args.drain(..2);
            }
            Some("--fds-left") => {
                fds_left = Some(number(1));
                args.drain(..2);
            }
            Some("--bystander") => {
                bystander = true;
                args.drain(..1);
            }
            Some("--no-commands") => {
                no_commands = true;
                args.drain(..1);
            }
            _ => break,
        }
    }
    if no_commands && !args.is_empty() {
        parsed.fail("--no-commands takes no command");
    }
    if args.is_empty() && !no_commands {
        parsed.fail("no command given");
    }
    let commands: Vec<Exec> = args
        .iter()
        .enumerate()
        .map(|(i, arg)| {
            let words: Vec<&str> = arg.split_whitespace().collect();
            Exec::new(&words).unwrap_or_else(|| {
                parsed.fail(&format!(
                    "command {} ({arg:?}) is empty or contains a NUL byte",
                    i + 1
                ))
            })
        })
        .collect();
    // Before --fork-fails-after, which may make the very next fork fail.
    let bystander = bystander.then(|| {
        Bystander::start().unwrap_or_else(|err| {
            eprintln!("pipeline: cannot fork the bystander: {err}");
            std::process::exit(1);
        })
    });
    if let Some(k) = fails_after {
        if let Err(err) = proctest::faults::forks_fail_after(k) {
            eprintln!("pipeline: cannot make fork fail here: {err}");
            std::process::exit(1);
        }
    }
    let audit = Audit::start();
    let meter = Meter::start("run_pipeline");
    let limit = fds_left.map(|k| {
        limit_descriptors(k).unwrap_or_else(|err| {
            eprintln!("pipeline: cannot lower the descriptor limit: {err}");
            std::process::exit(1);
        })
    });
    let ran = run_pipeline(&commands);
    if let Some((soft, hard)) = limit {
        // The audit and the meter's report open files: give the limit back first.
        if let Err(err) = setrlimit(Resource::RLIMIT_NOFILE, soft, hard) {
            eprintln!("pipeline: cannot restore the descriptor limit: {err}");
            std::process::exit(1);
        }
    }
    meter.report();
    let code = match ran {
        Ok(WaitStatus::Exited(_, code)) => {
            eprintln!("pipeline: last command exited with status {code}");
            code
        }
        Ok(WaitStatus::Signaled(_, signal, _)) => {
            eprintln!("pipeline: last command was killed by {signal}");
            128 + signal as i32
        }
        Ok(other) => {
            eprintln!("pipeline: unexpected status {other:?}");
            1
        }
        Err(err) => {
            eprintln!("pipeline: {err}");
            1
        }
    };
    let taken = bystander.map(Bystander::reap).and_then(Result::err);
    if let Some(taken) = &taken {
        eprintln!("pipeline: {taken}");
    }
    eprintln!("{}", audit.report());
    std::process::exit(if taken.is_some() { 1 } else { code });
}

/// Lowers the soft limit on descriptors (RLIMIT_NOFILE) so that exactly `k` more can be
/// opened: the limit is one past the `k`-th free descriptor number, since a new descriptor
/// takes the lowest free number and must stay below the limit. Returns the limits before.
fn limit_descriptors(k: u32) -> nix::Result<(u64, u64)> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    let open: Vec<i32> = pipes::sys::open_fds().iter().map(|fd| fd.fd).collect();
    let mut free = 0;
    let mut limit = 0;
    while free < k {
        if !open.contains(&limit) {
            free += 1;
        }
        limit += 1;
    }
    // With k = 0: the lowest free number, so that no descriptor can be opened at all.
    while k == 0 && open.contains(&limit) {
        limit += 1;
    }
    let limit = u64::try_from(limit).expect("a small limit");
    setrlimit(Resource::RLIMIT_NOFILE, limit, hard)?;
    Ok((soft, hard))
}
