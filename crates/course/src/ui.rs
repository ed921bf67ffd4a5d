//! Terminal output shared by the modes: colours that follow NO_COLOR and the terminal, the
//! error kind for bad input (exit code 2), and small text helpers.

use std::fmt;
use std::io::{self, Write};
use std::sync::OnceLock;

use anstyle::{AnsiColor, Style};

/// Bad input from the user (an unknown topic or step, a missing course.toml): exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Whether standard output gets colours: anstream's decision, which follows NO_COLOR,
/// CLICOLOR, CLICOLOR_FORCE, TERM=dumb and whether stdout is a terminal.
pub fn color_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        !matches!(
            anstream::AutoStream::choice(&io::stdout()),
            anstream::ColorChoice::Never
        )
    })
}

fn paint(style: Style, text: impl fmt::Display) -> String {
    if color_enabled() {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}

/// Success: green.
pub fn green(text: impl fmt::Display) -> String {
    paint(AnsiColor::Green.on_default(), text)
}

/// Failure: red.
pub fn red(text: impl fmt::Display) -> String {
    paint(AnsiColor::Red.on_default(), text)
}

/// Warnings and hints: yellow.
pub fn yellow(text: impl fmt::Display) -> String {
    paint(AnsiColor::Yellow.on_default(), text)
}

/// Commands to type: cyan.
pub fn cyan(text: impl fmt::Display) -> String {
    paint(AnsiColor::Cyan.on_default(), text)
}

/// Headings and the current step: bold.
pub fn bold(text: impl fmt::Display) -> String {
    paint(Style::new().bold(), text)
}

/// Secondary information: dimmed.
pub fn dim(text: impl fmt::Display) -> String {
    paint(Style::new().dimmed(), text)
}

/// The `just` command that does `args`, quoted for use inside a sentence.
pub fn just(args: &str) -> String {
    cyan(format!("`just {args}`"))
}

/// The `just` command that does `args`, for a line of its own (`hint: just hint x/y`).
pub fn just_bare(args: &str) -> String {
    cyan(format!("just {args}"))
}

/// Removes ANSI escape sequences (cargo's colours) from `text`.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                // CSI: parameters and intermediates, then one final byte in @..=~.
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Indents every non-empty line of `text` by `prefix`.
pub fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|line| {
            if line.trim().is_empty() {
                String::new()
            } else {
                format!("{prefix}{line}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A writer that turns `\n` into `\r\n`, for output while the terminal is in raw mode
/// (`watch`), where the terminal no longer does it.
pub struct CrLf<W: Write>(pub W);

impl<W: Write> Write for CrLf<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut start = 0;
        for (i, &b) in buf.iter().enumerate() {
            if b == b'\n' {
                self.0.write_all(&buf[start..i])?;
                self.0.write_all(b"\r\n")?;
                start = i + 1;
            }
        }
        self.0.write_all(&buf[start..])?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// `n thing` or `n things`.
pub fn plural(n: usize, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// Seconds with one decimal: `1.3 s`.
pub fn secs(d: std::time::Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_ansi_removes_colour_codes_only() {
        assert_eq!(
            strip_ansi("\u{1b}[1m\u{1b}[31merror\u{1b}[0m: x"),
            "error: x"
        );
    }

    #[test]
    fn crlf_translates_every_newline() {
        let mut out = CrLf(Vec::new());
        out.write_all(b"a\nb\n\nc").unwrap();
        assert_eq!(out.0, b"a\r\nb\r\n\r\nc");
    }
}
