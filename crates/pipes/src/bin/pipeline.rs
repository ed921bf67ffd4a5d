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

use nix::sys::wait::WaitStatus;
use pipes::pipeline::run_pipeline;
use pipes::sys::{Audit, Exec};
use proctest::args::Args;
use proctest::cpu::Meter;

const USAGE: &str = "pipeline [--fork-fails-after K] COMMAND [COMMAND...]
       (one command per argument, split on spaces: pipeline 'printf b\\na\\nb\\n' sort 'uniq -c')
then run `just check pipes/pipeline`";

fn main() {
    proctest::lifetime::children_die_with_parent();
    let mut parsed = Args::from_env("pipeline", USAGE);
    // Every argument is a command (`uniq -c` is one argument), options included.
    let mut args = parsed.rest();
    let mut fails_after = None;
    if args.first().map(String::as_str) == Some("--fork-fails-after") {
        let k = args.get(1).cloned().unwrap_or_default();
        let k: u32 = proctest::args::number_in("K", &k, &(0..=64))
            .unwrap_or_else(|problem| parsed.fail(&problem));
        fails_after = Some(k);
        args.drain(..2);
    }
    if args.is_empty() {
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
    if let Some(k) = fails_after {
        if let Err(err) = proctest::faults::forks_fail_after(k) {
            eprintln!("pipeline: cannot make fork fail here: {err}");
            std::process::exit(1);
        }
    }
    let audit = Audit::start();
    let meter = Meter::start("run_pipeline");
    let ran = run_pipeline(&commands);
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
    eprintln!("{}", audit.report());
    std::process::exit(code);
}
