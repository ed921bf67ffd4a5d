//! Text layout for reports a student reads in a terminal: word wrapping, tables that fit
//! a width, numbers with thousands separators.

/// The width every report fits in: 100 columns, less the 2 the course runner indents by.
pub(crate) const WIDTH: usize = 98;

/// The width of `s` in columns (one per `char`, as `{:<w$}` pads).
pub(crate) fn width(s: &str) -> usize {
    s.chars().count()
}

/// `9980` as `9,980`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Splits `text` into lines of at most `width` columns: breaks after `, ` first, then at
/// spaces, and cuts a word longer than the line. Never returns an empty vector.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    wrap_with(text, width, true)
}

/// Like [`wrap`], for prose: breaks at spaces only.
pub(crate) fn wrap_prose(text: &str, width: usize) -> Vec<String> {
    wrap_with(text, width, false)
}

fn wrap_with(text: &str, width: usize, lists: bool) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut rest: &str = text;
    while self::width(rest) > width {
        let cut = break_point(rest, width, lists);
        let (line, tail) = rest.split_at(cut);
        lines.push(line.trim_end().to_string());
        rest = tail.trim_start();
    }
    if !rest.is_empty() || lines.is_empty() {
        lines.push(rest.to_string());
    }
    lines
}

/// Where to cut `s` (a byte index) so that the first part fits in `width` columns.
fn break_point(s: &str, width: usize, lists: bool) -> usize {
    // The byte index just past the `width`-th char.
    let limit = s
        .char_indices()
        .nth(width)
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let head = &s[..limit];
    // After a list separator, if it leaves a line not much shorter than the width.
    if lists
        && let Some(i) = head.rfind(", ")
        && i + 1 >= limit * 2 / 3
    {
        return i + 1;
    }
    // At a space (the character after the head may be a space too).
    if s[limit..].starts_with(' ') {
        return limit;
    }
    if let Some(i) = head.rfind(' ')
        && i > 0
    {
        return i;
    }
    limit
}

/// Writes `label` then `text`, wrapped to `width`, continuation lines indented under the
/// text: `note: ...`.
pub(crate) fn labelled(label: &str, text: &str, width: usize) -> String {
    let indent = self::width(label);
    let mut out = String::new();
    for (i, para) in text.lines().enumerate() {
        let lines = if para.contains(" | ") {
            vec![para.to_string()]
        } else {
            wrap_prose(para, width.saturating_sub(indent).max(20))
        };
        for (j, l) in lines.iter().enumerate() {
            if i == 0 && j == 0 {
                out.push_str(label);
            } else if !l.is_empty() {
                out.push_str(&" ".repeat(indent));
            }
            out.push_str(l);
            out.push('\n');
        }
    }
    if out.is_empty() {
        out.push_str(label.trim_end());
        out.push('\n');
    }
    out
}

/// A table to render within a width: a header, rows of cells, and a prefix per row (the
/// margin, such as `- ` or `+ `).
pub(crate) struct Grid {
    pub(crate) header: Vec<String>,
    pub(crate) rows: Vec<(String, Vec<String>)>,
    /// Columns that are never narrowed (step numbers).
    pub(crate) fixed: Vec<usize>,
}

impl Grid {
    /// Renders the grid in at most `max` columns (when the columns' minimum widths allow
    /// it): the widest columns are narrowed first and their cells wrapped, so a row may
    /// take several lines. Cells are separated by ` | `, with a rule under the header.
    pub(crate) fn render(&self, max: usize) -> String {
        let cols = self.header.len();
        let margin = self.rows.iter().map(|(m, _)| width(m)).max().unwrap_or(0);
        let mut widths: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|(_, r)| r.get(c).map_or(0, |s| width(s)))
                    .chain([width(&self.header[c])])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let overhead = margin + 3 * cols.saturating_sub(1);
        // A column never gets narrower than its header, nor than 12 columns (or its
        // natural width if smaller); fixed columns keep their natural width.
        let floor: Vec<usize> = (0..cols)
            .map(|c| {
                if self.fixed.contains(&c) {
                    widths[c]
                } else {
                    widths[c].min(width(&self.header[c]).max(12))
                }
            })
            .collect();
        while widths.iter().sum::<usize>() + overhead > max {
            // Narrow the widest column that may still shrink.
            let Some(c) = (0..cols)
                .filter(|&c| widths[c] > floor[c])
                .max_by_key(|&c| (widths[c], c))
            else {
                break;
            };
            widths[c] -= 1;
        }
        let mut out = String::new();
        let emit = |prefix: &str, cells: &[String], out: &mut String| {
            let wrapped: Vec<Vec<String>> = (0..cols)
                .map(|c| wrap(cells.get(c).map_or("", |s| s.as_str()), widths[c]))
                .collect();
            let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
            for l in 0..height {
                let mut line = format!("{prefix:<margin$}");
                for (c, w) in wrapped.iter().enumerate() {
                    if c > 0 {
                        line.push_str(" | ");
                    }
                    let cell = w.get(l).map_or("", |s| s.as_str());
                    let pad = widths[c];
                    line.push_str(&format!("{cell:<pad$}"));
                }
                out.push_str(line.trim_end());
                out.push('\n');
            }
        };
        emit("", &self.header, &mut out);
        let total = widths.iter().sum::<usize>() + overhead;
        out.push_str(&"-".repeat(total));
        out.push('\n');
        for (prefix, cells) in &self.rows {
            emit(prefix, cells, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(9980), "9,980");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn wrap_prefers_list_separators_then_spaces() {
        assert_eq!(
            wrap("N1 arrive(North), N2 arrive(North), N3 arrive(North)", 40),
            ["N1 arrive(North), N2 arrive(North),", "N3 arrive(North)"]
        );
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), [""]);
    }

    #[test]
    fn a_grid_fits_its_width() {
        let long = "N1 arrive(North), N2 arrive(North), N3 arrive(North), S1 depart(South)";
        let g = Grid {
            header: vec!["step".into(), "returned".into(), "state".into()],
            rows: vec![
                ("".into(), vec!["1".into(), long.into(), "x".repeat(50)]),
                ("+ ".into(), vec!["2".into(), "".into(), "y".into()]),
            ],
            fixed: vec![0],
        };
        let text = g.render(60);
        assert!(text.lines().all(|l| width(l) <= 60), "{text}");
        assert!(text.contains("S1 depart(South)"), "{text}");
        assert!(text.contains("+ 2"), "{text}");
    }
}
