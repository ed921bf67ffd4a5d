//! Command-line parsing shared by the demos: a count of children in `1..=64`, with the
//! usage message every process topic uses (see [`proctest::args`]).

use proctest::args::{Args, step_usage, synopsis_with_note, usage_message};
use std::ops::RangeInclusive;

/// How many children a demo may fork.
pub const COUNTS: RangeInclusive<usize> = 1..=64;

/// A usage message: `problem`, then how to call `program` (`options` are shown after `N`),
/// then an example and the step it belongs to.
pub fn usage(program: &str, options: &str, step: &str, problem: &str) -> String {
    usage_message(
        program,
        problem,
        &step_usage(&synopsis(program, options), &format!("{program} 4"), step),
    )
}

/// `PROGRAM N OPTIONS` and what N is: on one line when it fits in 100 columns, the note
/// on the next one otherwise.
fn synopsis(program: &str, options: &str) -> String {
    synopsis_with_note(
        &format!("{program} N{options}"),
        &format!(
            "N: how many children to fork, {}..={}",
            COUNTS.start(),
            COUNTS.end()
        ),
    )
}

/// The command line of `program` (see [`proctest::args::Args`]): `--help` prints the usage
/// of [`usage`] and exits with 0, a usage error prints it after the problem and exits
/// with 2.
pub fn args(program: &str, options: &str, step: &str) -> Args {
    Args::from_env(
        program,
        &step_usage(&synopsis(program, options), &format!("{program} 4"), step),
    )
}

/// Reads the count N, the first positional argument (see [`parse_count`]), or exits with
/// the usage error.
pub fn count(args: &mut Args) -> usize {
    let first = args.positional();
    parse_count(first.as_deref()).unwrap_or_else(|problem| args.fail(&problem))
}

/// Parses a count of children. Returns the problem in words when `arg` is missing, not
/// a number or out of [`COUNTS`].
pub fn parse_count(arg: Option<&str>) -> Result<usize, String> {
    proctest::args::parse_count(arg, "children", COUNTS)
}

/// Parses the command line of a demo that takes exactly one argument, the count.
pub fn count_only(args: &[String]) -> Result<usize, String> {
    match args {
        [] => parse_count(None),
        [one] => parse_count(Some(one)),
        [_, extra, ..] => Err(format!("unexpected argument {extra:?}")),
    }
}
