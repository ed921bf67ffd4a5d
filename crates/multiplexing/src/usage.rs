//! Command-line checks shared by the demo binaries: bad input is a usage error on
//! standard error, exit code 2, before anything is forked or bound.

use std::ops::RangeInclusive;
use std::process;

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

/// Prints `error: MESSAGE`, then the usage line and what to do next, and exits with
/// code 2.
pub fn fail(message: &str, usage: &str, next: &str) -> ! {
    eprintln!("error: {message}");
    eprintln!("usage: {usage}");
    eprintln!("{next}");
    process::exit(2);
}
