//! Command-line checks shared by the demo binaries: bad input is a usage error on
//! standard error, exit code 2, before anything is forked or bound.
//!
//! The messages keep this topic's wording rather than [`proctest::args`]'s:
//! `error: PROBLEM`, the usage line, then a line saying what to run next, and a range
//! error ends in ``got `abc` `` (proctest's `PROGRAM: PROBLEM` has no next line and ends
//! in `not "abc"`). Only the exit status, 2, is the same.

use proctest::args::{Args, Style};
use std::ops::RangeInclusive;
use std::process;

/// The command line of `program` through [`proctest::args::Args`], in this topic's wording:
/// `--help` prints the usage and exits with 0; a usage error prints `error: PROBLEM`, the
/// usage line and `next`, and exits with 2.
pub fn args(program: &str, usage: &str, next: &str) -> Args {
    Args::from_env(program, usage).style(Style::Error {
        next: next.to_owned(),
    })
}

/// Reads the optional number a demo takes after its flags (see [`optional_number`]), or
/// exits with the usage error: `default` when there is none, `unexpected argument` for an
/// unknown option, `too many arguments` for a second value.
pub fn number_arg(args: &mut Args, default: u64, name: &str, range: RangeInclusive<u64>) -> u64 {
    let value = args.positional();
    if let Some(extra) = args.remaining().first() {
        if extra.starts_with("--") {
            args.fail(&format!("unexpected argument `{extra}`"));
        }
        args.fail("too many arguments");
    }
    value
        .map_or(Ok(default), |text| parse_in_range(name, &text, range))
        .unwrap_or_else(|message| args.fail(&message))
}

/// Parses `text` as an integer in `range`, or explains what was expected.
///
/// # Errors
///
/// A sentence naming the argument, what was given and the valid range.
pub fn parse_in_range(name: &str, text: &str, range: RangeInclusive<u64>) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(value) if range.contains(&value) => Ok(value),
        _ => Err(format!(
            "{name} must be a whole number from {} to {}, got `{text}`",
            range.start(),
            range.end()
        )),
    }
}

/// The optional number a demo takes after its flags: `default` when `args` is empty,
/// the number (see [`parse_in_range`]) when it holds one argument.
///
/// ```
/// use multiplexing::usage::optional_number;
///
/// let args = |list: &[&str]| list.iter().map(|a| a.to_string()).collect::<Vec<_>>();
/// assert_eq!(optional_number(&args(&[]), 256, "KIB", 1..=16384), Ok(256));
/// assert_eq!(optional_number(&args(&["64"]), 256, "KIB", 1..=16384), Ok(64));
/// assert_eq!(
///     optional_number(&args(&["1", "2"]), 256, "KIB", 1..=16384),
///     Err("too many arguments".to_owned())
/// );
/// ```
///
/// # Errors
///
/// `too many arguments`, or the sentence of [`parse_in_range`].
pub fn optional_number(
    args: &[String],
    default: u64,
    name: &str,
    range: RangeInclusive<u64>,
) -> Result<u64, String> {
    match args {
        [] => Ok(default),
        [text] => parse_in_range(name, text, range),
        _ => Err("too many arguments".to_owned()),
    }
}

/// Prints `error: MESSAGE`, then the usage line and what to do next, and exits with
/// code 2.
pub fn fail(message: &str, usage: &str, next: &str) -> ! {
    eprintln!("error: {message}");
    eprintln!("usage: {usage}");
    eprintln!("{next}");
    process::exit(2);
}
