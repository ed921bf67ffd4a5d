//! Demo of step `shared_counter`: a parent and its child each add 1 to a counter in an
//! anonymous shared mapping, `ITERATIONS` times, at the same moment.
//!
//! Usage: `shared_counter [--racy] [ITERATIONS]` (1 to 100000000, default 1000000). Without
//! `--racy` the processes call your `increment`; with it, a deliberately racy increment (a
//! load then a store) that shows lost updates. Prints the total, then the leak check.
//! Exit code 0 when it ran (whatever the total), 1 on a system error or a leak, 2 on a usage
//! error.

use mmap::shared_counter::{count_together, increment};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

const USAGE: &str = "shared_counter [--racy] [ITERATIONS]
       ITERATIONS: increments per process, from 1 to 100000000 (default 1000000)
then try `just check mmap/shared_counter`";

// ANCHOR: racy
/// The lost-update race on purpose: the other process may store between our load and store.
fn racy_increment(counter: &AtomicU64) {
    let value = counter.load(Ordering::Relaxed);
    counter.store(value + 1, Ordering::Relaxed);
}
// ANCHOR_END: racy

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = proctest::args::Args::from_env("shared_counter", USAGE);
    let racy = args.flag("--racy");
    let mut iterations = 1_000_000u64;
    // Every other argument must be the one count, in range; the first bad one is named.
    for (i, arg) in args.rest().into_iter().enumerate() {
        match arg.parse::<u64>() {
            Ok(n @ 1..=100_000_000) if i == 0 => iterations = n,
            _ => args.fail(&format!("invalid argument `{arg}`")),
        }
    }
    let baseline = mmap::leaks::baseline();
    let (name, f): (&str, fn(&AtomicU64)) = if racy {
        ("the racy load-then-store increment", racy_increment)
    } else {
        ("your increment", increment)
    };
    println!("2 processes x {iterations} calls of {name}");
    let total = match count_together(iterations, f) {
        Ok(total) => total,
        Err(errno) => {
            eprintln!("shared_counter: {errno}");
            return ExitCode::FAILURE;
        }
    };
    let expected = 2 * iterations;
    if total == expected {
        println!("counter = {total}, expected {expected}: no update lost");
    } else {
        println!(
            "counter = {total}, expected {expected}: {} updates lost",
            expected.saturating_sub(total)
        );
    }
    mmap::leaks::finish(&baseline)
}
