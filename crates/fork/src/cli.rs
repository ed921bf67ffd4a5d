//! Command-line parsing shared by the demos: a count of children in `1..=64`.

use std::ops::RangeInclusive;

/// How many children a demo may fork.
pub const COUNTS: RangeInclusive<usize> = 1..=64;

/// A usage message: `problem`, then how to call `program` (`options` are shown after `N`),
/// then an example and the step it belongs to.
pub fn usage(program: &str, options: &str, step: &str, problem: &str) -> String {
    format!(
        "{program}: {problem}\nusage: {program} N{options}   (N: how many children to fork, {}..={})\nexample: {program} 4   (this demo belongs to step {step}: `just check {step}`)",
        COUNTS.start(),
        COUNTS.end()
    )
}

/// Parses a count of children. Returns the problem in words when `arg` is missing, not
/// a number or out of [`COUNTS`].
pub fn parse_count(arg: Option<&str>) -> Result<usize, String> {
    let Some(arg) = arg else {
        return Err("missing the number of children".to_owned());
    };
    match arg.parse::<usize>() {
        Ok(n) if COUNTS.contains(&n) => Ok(n),
        Ok(_) => Err(format!(
            "{arg} is out of range: N must be between {} and {}",
            COUNTS.start(),
            COUNTS.end()
        )),
        Err(_) if arg.parse::<i64>().is_ok() => Err(format!(
            "{arg} is out of range: N must be between {} and {}",
            COUNTS.start(),
            COUNTS.end()
        )),
        Err(_) => Err(format!("{arg:?} is not a number of children")),
    }
}

/// Parses the command line of a demo that takes exactly one argument, the count.
pub fn count_only(args: &[String]) -> Result<usize, String> {
    match args {
        [] => parse_count(None),
        [one] => parse_count(Some(one)),
        [_, extra, ..] => Err(format!("unexpected argument {extra:?}")),
    }
}
