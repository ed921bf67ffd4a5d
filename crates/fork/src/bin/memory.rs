//! `memory [INITIAL CHANGED]`: a variable `x` holds INITIAL (100 by default); the child of
//! a fork sets its `x` to CHANGED (200 by default). Both processes report the value and
//! the virtual address they see (step `fork/memory`): the same address, two values.

use fork::memory;
use fork::sys::Audit;
use std::process::ExitCode;

const USAGE: &str = "usage: memory [INITIAL CHANGED]   (two different whole numbers, 0..=18446744073709551615; default 100 200)\nexample: memory 100 200   (this demo belongs to step fork/memory: `just check fork/memory`)";

fn parse(args: &[String]) -> Result<(u64, u64), String> {
    let number = |text: &String| {
        text.parse::<u64>()
            .map_err(|_| format!("{text:?} is not a whole number from 0 to {}", u64::MAX))
    };
    match args {
        [] => Ok((100, 200)),
        [initial, changed] => {
            let (initial, changed) = (number(initial)?, number(changed)?);
            if initial == changed {
                return Err(format!(
                    "INITIAL and CHANGED are both {initial}: the child must change the value"
                ));
            }
            Ok((initial, changed))
        }
        _ => Err(format!("expected no argument or two, got {}", args.len())),
    }
}

fn main() -> ExitCode {
    let audit = Audit::start();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (initial, changed) = match parse(&args) {
        Ok(values) => values,
        Err(problem) => {
            eprintln!("memory: {problem}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut ok = true;
    match memory::observe(initial, changed) {
        Ok(views) => {
            let (child, parent) = (views.child, views.parent);
            println!("x = {initial} before the fork; the child sets it to {changed}");
            println!(
                "child  (pid {}): x = {} at {:#x}",
                child.pid, child.value, child.address
            );
            println!(
                "parent (pid {}): x = {} at {:#x}",
                parent.pid, parent.value, parent.address
            );
            let same_address = child.address == parent.address;
            println!(
                "same virtual address: {}; same value: {}",
                if same_address { "yes" } else { "no" },
                if child.value == parent.value {
                    "yes"
                } else {
                    "no"
                }
            );
            if same_address && child.value != parent.value {
                println!("one address, two values: each process has its own copy of x");
            }
        }
        Err(err) => {
            ok = false;
            eprintln!("memory: observe failed: {err}");
        }
    }
    for problem in audit.problems() {
        ok = false;
        eprintln!("memory: before exiting, the parent found {problem}");
    }
    if ok {
        println!("audit: every child waited for, no descriptor left open");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
