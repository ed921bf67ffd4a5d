//! Failure messages laid out for the runner, which shows every line of a failure indented.

#![allow(dead_code)]

/// Columns for a failure the runner shows indented by two (a plain panic of the test).
pub const PLAIN: usize = 98;

/// Columns for a failure raised inside a simulation: the runner shows it after `error: `,
/// indented by nine.
pub const IN_SIMULATION: usize = 90;

/// `text` with each of its lines broken between words into lines of at most `width`
/// columns; the line breaks already in `text` stay.
pub fn wrap(text: &str, width: usize) -> String {
    text.lines()
        .map(|paragraph| {
            let mut out = String::new();
            let mut line = String::new();
            for word in paragraph.split(' ') {
                if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                    out.push_str(&line);
                    out.push('\n');
                    line.clear();
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            out + &line
        })
        .collect::<Vec<_>>()
        .join("\n")
}
