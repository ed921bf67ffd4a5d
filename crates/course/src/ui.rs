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

/// Whether suggested commands use `just`: when `just` is on PATH (`COURSE_USE_JUST=0` or
/// `=1` overrides the detection), else they are spelt `cargo course ...`, which always works.
pub fn use_just() -> bool {
    static USE: OnceLock<bool> = OnceLock::new();
    *USE.get_or_init(|| match std::env::var("COURSE_USE_JUST").as_deref() {
        Ok("0") => false,
        Ok("1") => true,
        _ => on_path("just"),
    })
}

fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// The command that does `args` on this machine (`just args` or `cargo course args`),
/// unquoted and uncoloured.
pub fn command(args: &str) -> String {
    if use_just() {
        format!("just {args}")
    } else {
        format!("cargo course {args}")
    }
}

/// The command that does `args`, quoted for use inside a sentence.
pub fn just(args: &str) -> String {
    cyan(format!("`{}`", command(args)))
}

/// The command that does `args`, for a line of its own (`hint: cargo course hint x/y`).
pub fn just_bare(args: &str) -> String {
    cyan(command(args))
}

/// Rewrites the runner commands that tests and demos print (`just trace x/y --seed 7`) into
/// the form that works on this machine.
pub fn localize_commands(text: &str) -> String {
    const MODES: &[&str] = &[
        "list", "watch", "check", "hint", "trace", "solution", "reset", "report", "verify",
    ];
    if use_just() {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("just ") {
        let before_ok = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_alphanumeric() && c != '_');
        let after = &rest[at + 5..];
        let mode = MODES.iter().find(|m| {
            after.starts_with(**m)
                && after[m.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric() && c != '_')
        });
        out.push_str(&rest[..at]);
        if before_ok && mode.is_some() {
            out.push_str("cargo course ");
        } else {
            out.push_str("just ");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The width the runner's output keeps within.
pub const WIDTH: usize = 100;

/// Fits every line of `text` within `width` columns: prose is wrapped at spaces (the
/// continuation keeps the line's indentation, plus two spaces); a table row (two ` | `
/// separators or a leading `|`) or a word longer than the width is cut, ending in `…`.
///
/// A line of prose that overflows into the next line of the same paragraph (same
/// indentation, not blank, not another part: [`starts_a_part`]) hands its last words to that
/// line instead of to a line of their own: a message wrapped at 98 columns by a test and
/// then indented by the runner reads as one paragraph, not with a word alone on a line.
pub fn fit(text: &str, width: usize) -> String {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut carry = String::new();
    for (i, line) in lines.iter().enumerate() {
        let merged;
        let line = if carry.is_empty() {
            *line
        } else {
            let plain = strip_ansi(line);
            let indent = &plain[..plain.len() - plain.trim_start().len()];
            merged = format!(
                "{indent}{} {}",
                std::mem::take(&mut carry),
                plain.trim_start()
            );
            merged.as_str()
        };
        let continued = lines.get(i + 1).is_some_and(|next| continues(line, next));
        if continued && visible_width(line) > width && !is_table(&strip_ansi(line)) {
            let plain = strip_ansi(line);
            let mut kept = plain.clone();
            while kept.chars().count() > width {
                let Some(at) = kept.trim_end().rfind(' ') else {
                    break;
                };
                if kept[..at].trim().is_empty() {
                    break;
                }
                kept.truncate(at);
            }
            if kept.len() < plain.len() && !kept.trim().is_empty() {
                carry = plain[kept.len()..].trim().to_string();
                out.push(kept.trim_end().to_string());
                continue;
            }
        }
        fit_line(line, width, &mut out);
    }
    out.join("\n")
}

/// Whether `next` continues the paragraph of `line`: same indentation, not blank, and
/// not the start of another part ([`starts_a_part`]); a line ending in `:` introduces what
/// follows.
fn continues(line: &str, next: &str) -> bool {
    let (line, next) = (strip_ansi(line), strip_ansi(next));
    let indent = |l: &str| l.len() - l.trim_start().len();
    !next.trim().is_empty()
        && indent(&line) == indent(&next)
        && !starts_a_part(&next)
        && !line.trim_end().ends_with(':')
}

/// Whether `line` starts a part of its own rather than continuing the prose above: a list
/// item, a table row, a `-->` location, or a labelled line (`left:`, `help:`, `replay:`).
pub fn starts_a_part(line: &str) -> bool {
    let text = line.trim_start();
    ["- ", "* ", "| ", "-->"]
        .iter()
        .any(|m| text.starts_with(m))
        || is_table(line)
        || text
            .split_whitespace()
            .next()
            .is_some_and(|word| word.ends_with(':'))
}

/// A table row: it starts with `|` or has two ` | ` separators or more (prose may hold
/// one, as in `(flags | O_NONBLOCK)`).
fn is_table(plain: &str) -> bool {
    plain.matches(" | ").count() >= 2 || plain.trim_start().starts_with('|')
}

fn fit_line(line: &str, width: usize, out: &mut Vec<String>) {
    if visible_width(line) <= width {
        out.push(line.to_string());
        return;
    }
    let plain = strip_ansi(line);
    let indent: String = plain.chars().take_while(|c| *c == ' ').collect();
    if is_table(&plain) {
        out.push(truncate(&plain, width));
        return;
    }
    let continuation = format!("{indent}  ");
    let mut current = indent.clone();
    let mut first = true;
    for word in plain.trim_start().split(' ') {
        let prefix_len = current.chars().count();
        let fresh = current.trim().is_empty();
        if !fresh && prefix_len + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut current));
            current = continuation.clone();
            first = false;
        }
        if !current.trim().is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        if current.chars().count() > width {
            out.push(truncate(&current, width));
            current = continuation.clone();
        }
    }
    let _ = first;
    if !current.trim().is_empty() {
        out.push(current);
    }
}

fn truncate(line: &str, width: usize) -> String {
    let mut cut: String = line.chars().take(width.saturating_sub(1)).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// The number of columns `line` takes (colour codes take none).
pub fn visible_width(line: &str) -> usize {
    if line.contains('\u{1b}') {
        strip_ansi(line).chars().count()
    } else {
        line.chars().count()
    }
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
    fn long_prose_wraps_and_tables_are_cut() {
        let prose = format!("  {}", "word ".repeat(30).trim_end());
        let fitted = fit(&prose, 40);
        assert!(fitted.lines().all(|l| l.chars().count() <= 40), "{fitted}");
        assert!(
            fitted.lines().skip(1).all(|l| l.starts_with("    word")),
            "{fitted}"
        );
        assert_eq!(fitted.split_whitespace().count(), 30);
        let row = format!("1 | {} | x", "a".repeat(60));
        let fitted = fit(&row, 40);
        assert_eq!(fitted.chars().count(), 40);
        assert!(fitted.ends_with('…'));
        assert_eq!(fit("short\n\nlines", 40), "short\n\nlines");
    }

    #[test]
    fn a_paragraph_wrapped_a_little_too_wide_hands_its_last_words_to_the_next_line() {
        let text = "  one two three four five six seven eight\n  nine (a | b) eleven\n\n  - item";
        let fitted = fit(text, 36);
        assert_eq!(
            fitted,
            "  one two three four five six seven\n  eight nine (a | b) eleven\n\n  - item"
        );
        // Not into a list item, a line of another indentation, or after a colon.
        let text = "  one two three four five six seven eight:\n  - nine";
        assert_eq!(
            fit(text, 36),
            "  one two three four five six seven\n    eight:\n  - nine"
        );
    }

    #[test]
    fn just_commands_are_rewritten_only_when_just_is_missing() {
        if use_just() {
            return;
        }
        assert_eq!(
            localize_commands("replay: `just trace t/s --seed 7`, adjust the justice"),
            "replay: `cargo course trace t/s --seed 7`, adjust the justice"
        );
        assert_eq!(localize_commands("just do it"), "just do it");
    }

    #[test]
    fn crlf_translates_every_newline() {
        let mut out = CrLf(Vec::new());
        out.write_all(b"a\nb\n\nc").unwrap();
        assert_eq!(out.0, b"a\r\nb\r\n\r\nc");
    }
}
