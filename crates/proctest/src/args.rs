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

/// The widest line a student reads: every message of the course, usage errors included,
/// fits in this many columns (counted in characters).
pub const MAX_COLUMNS: usize = 100;

/// The lines of `text` wider than [`MAX_COLUMNS`], with their numbers (from 1).
///
/// ```
/// use proctest::args::long_lines;
///
/// let wide = "x".repeat(101);
/// assert_eq!(long_lines(&format!("short\n{wide}\n")), vec![(2, wide.as_str())]);
/// assert!(long_lines(&"µ".repeat(100)).is_empty());
/// ```
pub fn long_lines(text: &str) -> Vec<(usize, &str)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.chars().count() > MAX_COLUMNS)
        .map(|(i, line)| (i + 1, line))
        .collect()
}

/// Checks that every line `command` (the invocation, for the message: `` `reap --bogus` ``)
/// wrote on `stream` (`standard error`) is at most [`MAX_COLUMNS`] wide.
///
/// # Panics
///
/// When a line is wider, with a message naming the command, the stream and the long line.
#[track_caller]
pub fn assert_within_columns(command: &str, stream: &str, text: &str) {
    if let Some(&(number, line)) = long_lines(text).first() {
        panic!(
            "{command}: line {number} of {stream} is {} columns wide, more than {MAX_COLUMNS}; \
             every line a student reads must fit in {MAX_COLUMNS} columns (wrap it, continuation \
             lines indented under the synopsis):\n{line}\nthe whole {stream}:\n{text}",
            line.chars().count()
        );
    }
}

/// A one-line synopsis and a note on it in parentheses, `SYNOPSIS   (NOTE)`, when that fits
/// in [`MAX_COLUMNS`] after `usage: `; otherwise the note goes on a line of its own,
/// indented under the program's name.
///
/// ```
/// use proctest::args::synopsis_with_note;
///
/// assert_eq!(synopsis_with_note("reap N", "N: children"), "reap N   (N: children)");
/// let long = format!("reap N{}", " [--slow K]".repeat(8));
/// assert_eq!(
///     synopsis_with_note(&long, "N: children"),
///     format!("{long}\n       (N: children)")
/// );
/// ```
pub fn synopsis_with_note(synopsis: &str, note: &str) -> String {
    let line = format!("{synopsis}   ({note})");
    if "usage: ".len() + line.chars().count() <= MAX_COLUMNS {
        line
    } else {
        format!("{synopsis}\n       ({note})")
    }
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
    let belongs = format!("(this demo belongs to step {step}: `just check {step}`)");
    let line = format!("example: {example}   {belongs}");
    // Within 100 columns: a long step name puts the step on a line of its own.
    if line.chars().count() <= MAX_COLUMNS {
        format!("{synopsis}\n{line}")
    } else {
        format!("{synopsis}\nexample: {example}\n{belongs}")
    }
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

/// How a demo's usage errors look: proctest's `PROGRAM: PROBLEM` then `usage: USAGE`, or
/// `error: PROBLEM`, `usage: USAGE` and a line saying what to do next (the multiplexing
/// topic's wording).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Style {
    /// `PROGRAM: PROBLEM`, then `usage: USAGE`.
    Program,
    /// `error: PROBLEM`, then `usage: USAGE`, then this line.
    Error {
        /// What to run next (`build it with ...`).
        next: String,
    },
}

/// A demo's command line, read one option at a time; every demo parses its arguments
/// with it, so that all of them behave the same:
///
/// - `-h` or `--help` anywhere prints the usage on standard output and exits with 0;
/// - a bad value, a missing value, an unknown option or an extra argument prints the
///   problem and the usage on standard error and exits with 2 (no backtrace, nothing run);
/// - numbers are bounded: each option says its range, and the message names it.
///
/// Read the options first ([`Args::flag`], [`Args::value`], [`Args::number`]), then the
/// positional arguments ([`Args::positional`], [`Args::rest`]), then call
/// [`Args::finish`], which rejects whatever is left.
///
/// ```
/// use proctest::args::Args;
///
/// let mut args = Args::new("bench", "bench [--rounds N] [FILE]", ["--rounds", "20", "a.txt"]);
/// assert_eq!(args.number("--rounds", "N", 1..=1000u64), Some(20));
/// assert_eq!(args.positional().as_deref(), Some("a.txt"));
/// args.finish();
///
/// let mut args = Args::new("bench", "bench [--rounds N]", ["--rounds", "99999999999"]);
/// assert_eq!(
///     args.try_number("--rounds", "N", 1..=1000u64),
///     Err("N must be a whole number from 1 to 1000, not \"99999999999\"".to_owned())
/// );
/// ```
#[derive(Debug, Clone)]
pub struct Args {
    program: String,
    usage: String,
    style: Style,
    rest: Vec<String>,
}

impl Args {
    /// The arguments of this process (without the program's name). `-h`/`--help` are
    /// answered at once.
    pub fn from_env(program: &str, usage: &str) -> Self {
        Self::new(program, usage, std::env::args().skip(1))
    }

    /// Parses `args` for `program`, whose usage line (without `usage: `) is `usage`.
    /// `-h`/`--help` (before any `--`) print it on standard output and exit with 0.
    pub fn new<I, S>(program: &str, usage: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let rest: Vec<String> = args.into_iter().map(Into::into).collect();
        let parsed = Self {
            program: program.to_owned(),
            usage: usage.to_owned(),
            style: Style::Program,
            rest,
        };
        let asks_help = parsed
            .rest
            .iter()
            .take_while(|a| a.as_str() != "--")
            .any(|a| a == "-h" || a == "--help");
        if asks_help {
            println!("usage: {}", parsed.usage);
            std::process::exit(0);
        }
        parsed
    }

    /// Prints errors in `style` instead of the default [`Style::Program`].
    #[must_use]
    pub fn style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// The text of a usage error for `problem`, in this demo's style.
    pub fn message(&self, problem: &str) -> String {
        match &self.style {
            Style::Program => usage_message(&self.program, problem, &self.usage),
            Style::Error { next } => format!("error: {problem}\nusage: {}\n{next}", self.usage),
        }
    }

    /// Prints only the usage on standard error and exits with status 2: for a demo called
    /// without the arguments it needs, where the usage itself says what is missing.
    pub fn fail_with_usage(&self) -> ! {
        eprintln!("usage: {}", self.usage);
        std::process::exit(2)
    }

    /// Prints the usage error for `problem` on standard error and exits with status 2.
    pub fn fail(&self, problem: &str) -> ! {
        eprintln!("{}", self.message(problem));
        std::process::exit(2)
    }

    /// Whether the flag `name` (`--racy`) was given; it is taken out of the arguments.
    pub fn flag(&mut self, name: &str) -> bool {
        match self.position(name) {
            Some(at) => {
                self.rest.remove(at);
                true
            }
            None => false,
        }
    }

    /// The value of the option `name`: `--name VALUE` or `--name=VALUE`, taken out of the
    /// arguments. Exits with a usage error when the option has no value.
    pub fn value(&mut self, name: &str) -> Option<String> {
        self.try_value(name)
            .unwrap_or_else(|problem| self.fail(&problem))
    }

    /// As [`Args::value`], returning the problem instead of exiting.
    ///
    /// # Errors
    ///
    /// `NAME needs a value` when nothing follows the option (or another option does).
    pub fn try_value(&mut self, name: &str) -> Result<Option<String>, String> {
        let prefix = format!("{name}=");
        if let Some(at) = self.rest.iter().position(|a| a.starts_with(&prefix)) {
            let arg = self.rest.remove(at);
            return Ok(Some(arg[prefix.len()..].to_owned()));
        }
        let Some(at) = self.position(name) else {
            return Ok(None);
        };
        match self.rest.get(at + 1) {
            Some(value) if !value.starts_with("--") => {
                let value = value.clone();
                self.rest.drain(at..=at + 1);
                Ok(Some(value))
            }
            _ => Err(format!("{name} needs a value")),
        }
    }

    /// The value of the numeric option `name`, checked to lie in `range` (`what` names it
    /// in the message: `N must be a whole number from 1 to 1000, not "0"`). Exits with a
    /// usage error on a bad or missing value.
    pub fn number<T>(&mut self, name: &str, what: &str, range: RangeInclusive<T>) -> Option<T>
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        self.try_number(name, what, range)
            .unwrap_or_else(|problem| self.fail(&problem))
    }

    /// As [`Args::number`], returning the problem instead of exiting.
    ///
    /// # Errors
    ///
    /// The option has no value, or one that is not a number in `range`.
    pub fn try_number<T>(
        &mut self,
        name: &str,
        what: &str,
        range: RangeInclusive<T>,
    ) -> Result<Option<T>, String>
    where
        T: FromStr + PartialOrd + fmt::Display + Copy,
    {
        match self.try_value(name)? {
            None => Ok(None),
            Some(value) => number_in(what, &value, &range).map(Some),
        }
    }

    /// The next positional argument (not an option: options start with `--`; a negative
    /// number such as `-3` is positional), taken out of the arguments.
    pub fn positional(&mut self) -> Option<String> {
        let at = self.rest.iter().position(|a| !a.starts_with("--"))?;
        Some(self.rest.remove(at))
    }

    /// Every argument left, in order (for a list of paths or commands, after the options
    /// were read). A `--` among them is dropped.
    pub fn rest(&mut self) -> Vec<String> {
        std::mem::take(&mut self.rest)
            .into_iter()
            .filter(|a| a != "--")
            .collect()
    }

    /// The arguments not read yet.
    pub fn remaining(&self) -> &[String] {
        &self.rest
    }

    /// Rejects whatever was not read: an unknown option (`unknown option "--fast"`) or an
    /// extra argument (`unexpected argument "x"`), with a usage error.
    pub fn finish(self) {
        if let Some(problem) = self.leftover() {
            self.fail(&problem);
        }
    }

    /// What [`Args::finish`] would reject, if anything.
    pub fn leftover(&self) -> Option<String> {
        let first = self.rest.iter().find(|a| a.as_str() != "--")?;
        Some(if first.starts_with("--") {
            format!("unknown option {first:?}")
        } else {
            format!("unexpected argument {first:?}")
        })
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.rest
            .iter()
            .take_while(|a| a.as_str() != "--")
            .position(|a| a == name)
    }
}

/// Parses `value` as a number in `range`: `WHAT must be a whole number from MIN to MAX, not
/// "VALUE"` otherwise.
///
/// # Errors
///
/// That sentence.
pub fn number_in<T>(what: &str, value: &str, range: &RangeInclusive<T>) -> Result<T, String>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    match value.parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{what} must be a whole number from {} to {}, not {value:?}",
            range.start(),
            range.end()
        )),
    }
}

/// Checks that the demo at `program` follows the conventions every demo's command line
/// keeps (see [`Args`]): `--help` prints the usage on standard output and exits with 0;
/// each of `bad` (argument lists) is a usage error: exit status 2, `usage:` on standard
/// error, nothing on standard output, no panic or backtrace; and every line of the help
/// and of each usage error fits in [`MAX_COLUMNS`] columns.
///
/// # Panics
///
/// When a convention is broken, with a message naming the invocation and quoting what the
/// demo wrote.
#[track_caller]
pub fn assert_conventions(program: &str, bad: &[&[&str]]) {
    use std::process::{Command, Stdio};
    let name = std::path::Path::new(program)
        .file_name()
        .map_or_else(|| program.to_owned(), |n| n.to_string_lossy().into_owned());
    let run = |args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .env("RUST_BACKTRACE", "1")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
    };
    let help = run(&["--help"]);
    let stdout = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.status.code() == Some(0) && stdout.starts_with(&format!("usage: {name}")),
        "`{name} --help` must print its usage on standard output and exit with 0; it exited with {:?} and wrote:\n{stdout}{}",
        help.status.code(),
        String::from_utf8_lossy(&help.stderr)
    );
    assert_within_columns(&format!("`{name} --help`"), "standard output", &stdout);
    for args in bad {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let shown = format!("`{name} {}`", args.join(" "));
        assert_eq!(
            out.status.code(),
            Some(2),
            "{shown} must be a usage error (exit status 2):\n{stderr}"
        );
        assert!(
            stderr.contains("usage: "),
            "{shown}: no usage line:\n{stderr}"
        );
        assert!(
            !stderr.contains("panicked") && !stderr.contains("backtrace"),
            "{shown}: a panic instead of a usage error:\n{stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{shown}: nothing may run on bad input:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_within_columns(&shown, "standard error", &stderr);
    }
}
