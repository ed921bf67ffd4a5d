//! Command-line parsing for the demo binaries: bad input gets a usage message on
//! standard error and exit status 2, the convention for a usage error.
//!
//! Every message has the same shape: `PROGRAM: PROBLEM`, then `usage: ...`. The problem
//! names what was wrong and, for a number, the valid range, so that a student who typed
//! a wrong argument knows what to type instead.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// The text of a usage error: `PROGRAM: PROBLEM`, then `usage: USAGE`.
///
/// ```
/// use proctest::args::usage_message;
///
/// assert_eq!(
///     usage_message("pingpong", "too many arguments", "pingpong [ROUNDS]"),
///     "pingpong: too many arguments\nusage: pingpong [ROUNDS]"
/// );
/// ```
pub fn usage_message(program: &str, problem: &str, usage: &str) -> String {
    format!("{program}: {problem}\nusage: {usage}")
}

/// The usage line of a demo that belongs to a step: the synopsis, then an example and
/// the command that checks the step.
///
/// ```
/// use proctest::args::step_usage;
///
/// assert_eq!(
///     step_usage("reap N", "reap 4", "fork/reap"),
///     "reap N\nexample: reap 4   (this demo belongs to step fork/reap: `just check fork/reap`)"
/// );
/// ```
pub fn step_usage(synopsis: &str, example: &str, step: &str) -> String {
    format!(
        "{synopsis}\nexample: {example}   (this demo belongs to step {step}: `just check {step}`)"
    )
}

/// Prints a usage error on standard error (see [`usage_message`]) and exits with status
/// 2, the convention for bad command-line input.
pub fn usage_error(program: &str, problem: &str, usage: &str) -> ! {
    eprintln!("{}", usage_message(program, problem, usage));
    std::process::exit(2)
}

/// Parses `value` as a number in `min..=max`, or exits through [`usage_error`] with a
/// message naming the valid range: `W must be a whole number from 1 to 16, not "0"`.
pub fn parse_in_range<T>(program: &str, what: &str, value: &str, min: T, max: T, usage: &str) -> T
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    match value.parse::<T>() {
        Ok(n) if n >= min && n <= max => n,
        _ => usage_error(
            program,
            &format!("{what} must be a whole number from {min} to {max}, not {value:?}"),
            usage,
        ),
    }
}

/// Parses the count `N` a demo takes as its first argument (how many children, how many
/// units of work), or says what is wrong with it in words: it is missing, it is not a
/// number of `noun`, or it is outside `range` (which the message names).
///
/// ```
/// use proctest::args::parse_count;
///
/// assert_eq!(parse_count(Some("4"), "children", 1..=64), Ok(4));
/// assert_eq!(
///     parse_count(None, "children", 1..=64),
///     Err("missing the number of children".to_owned())
/// );
/// assert_eq!(
///     parse_count(Some("-3"), "children", 1..=64),
///     Err("-3 is out of range: N must be between 1 and 64".to_owned())
/// );
/// assert_eq!(
///     parse_count(Some("abc"), "children", 1..=64),
///     Err("\"abc\" is not a number of children".to_owned())
/// );
/// ```
///
/// # Errors
///
/// The problem in words, for [`usage_message`].
pub fn parse_count<T>(arg: Option<&str>, noun: &str, range: RangeInclusive<T>) -> Result<T, String>
where
    T: TryFrom<i128> + PartialOrd + fmt::Display,
{
    let Some(arg) = arg else {
        return Err(format!("missing the number of {noun}"));
    };
    // Parse wide, so that "-3" or "1000" is out of range rather than "not a number".
    match arg.parse::<i128>() {
        Ok(n) => T::try_from(n)
            .ok()
            .filter(|n| range.contains(n))
            .ok_or_else(|| {
                format!(
                    "{arg} is out of range: N must be between {} and {}",
                    range.start(),
                    range.end()
                )
            }),
        Err(_) => Err(format!("{arg:?} is not a number of {noun}")),
    }
}
