//! `ordered N`: forks N temperature children through the student's `convert_in_children`
//! (step `fork/ordered`) and prints their results in value order, then `Spawned N
//! processes from PID`. Only the parent prints, so the output is the same on every run.
//! Before exiting, the demo checks that it has no child left and no descriptor open beyond
//! 0, 1 and 2; it reports any and exits with 1.

use fork::sys::Audit;
use fork::{cli, fahrenheit_values, ordered};
use nix::unistd::getpid;
use std::process::ExitCode;

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let audit = Audit::start();
    let mut args = cli::args("ordered", "", "fork/ordered");
    let count = cli::count(&mut args);
    args.finish();
    let mut ok = true;
    match ordered::convert_in_children(&fahrenheit_values(count)) {
        Ok(conversions) => {
            for c in &conversions {
                println!(
                    "{:.6} F is {:.6} C (pid {})",
                    c.fahrenheit, c.celsius, c.pid
                );
            }
            println!("Spawned {} processes from {}", conversions.len(), getpid());
        }
        Err(err) => {
            ok = false;
            eprintln!("ordered: convert_in_children failed: {err}");
        }
    }
    for problem in audit.problems() {
        ok = false;
        eprintln!("ordered: before exiting, the parent found {problem}");
    }
    if ok {
        println!("audit: every child waited for, no descriptor left open");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
