//! From a failed test's captured output to what a student reads: the test's own
//! explanation once (a panic reported again by the scheduler is not repeated), without the
//! harness's locations inside the tests, with the replay line kept aside for the end, and a
//! headline (the first line of the first panic) for the verdict.

use crate::ui;

/// A failed test's output, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The cause in one line: the first line of the first panic message.
    pub headline: String,
    /// The explanation, without the replay line.
    pub body: String,
    /// The replay command it printed, in the form that works on this machine.
    pub replay: Option<String>,
}

/// One `thread '...' panicked at LOC:` block, or the output printed before the first.
struct Block {
    location: Option<String>,
    lines: Vec<String>,
}

/// Explains the captured output of a failed test of `package`.
pub fn failure(output: &str, package: &str) -> Explanation {
    let output = plain_assertions(&shorten_paths(output, package));
    let output = snapshot_diff(&output).unwrap_or(output);
    let mut blocks: Vec<Block> = vec![Block {
        location: None,
        lines: Vec::new(),
    }];
    for line in output.lines() {
        if let Some(location) = panic_location(line) {
            blocks.push(Block {
                location: Some(location),
                lines: Vec::new(),
            });
        } else {
            blocks
                .last_mut()
                .expect("there is always a block")
                .lines
                .push(line.to_string());
        }
    }
    let first_panic = blocks.iter().find(|b| b.location.is_some());
    let mut headline = first_panic
        .map(|b| first_paragraph(&b.lines))
        .unwrap_or_default();
    let in_student_code = first_panic
        .and_then(|b| b.location.as_deref())
        .filter(|l| l.starts_with("exercises/"));
    if headline == "not yet implemented" || headline.starts_with("not yet implemented: ") {
        let at = first_panic
            .and_then(|b| b.location.clone())
            .filter(|l| l.starts_with("exercises/"))
            .map(|l| format!(" at {l}"))
            .unwrap_or_default();
        headline = format!("reached a `todo!()`{at}: replace it with your implementation");
    } else if let Some(location) = in_student_code {
        // A panic of the student's own code (an overflow, an index out of bounds): where
        // it happened is half of the diagnosis, and in which function, when the panic's
        // report names it (`(in `Deadline::remaining`)`).
        let function = first_panic
            .and_then(|b| {
                b.lines.iter().find_map(|l| {
                    l.trim()
                        .strip_prefix("(in `")
                        .and_then(|f| f.strip_suffix("`)"))
                })
            })
            .map(|f| format!(" in `{f}`"))
            .unwrap_or_default();
        headline = format!("your code panicked{function} at {location} ({headline})");
    }

    // A panic whose message a later block repeats (the scheduler reporting an actor's
    // panic with its trace) is shown once, in the later, fuller block.
    let texts: Vec<String> = blocks.iter().map(|b| b.lines.join("\n")).collect();
    let mut kept = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let message: Vec<&str> = block
            .lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
            .collect();
        let repeated = block.location.is_some()
            && !message.is_empty()
            && texts[i + 1..]
                .iter()
                .any(|later| message.iter().all(|line| later.contains(line)));
        if repeated {
            continue;
        }
        if let Some(location) = block
            .location
            .as_deref()
            .filter(|l| l.starts_with("exercises/"))
        {
            kept.push(format!("your code panicked at {location}:"));
        }
        kept.extend(block.lines.iter().cloned());
    }

    let mut replay = None;
    let mut body: Vec<String> = Vec::new();
    for line in kept {
        if let Some(command) = crate::cargo::replay_line(&line) {
            let rest = line.replace(&command, "");
            let rest = rest.trim_matches(|c: char| c.is_whitespace() || "`.:()'\"".contains(c));
            let rest = rest.trim_end_matches(|c: char| c == ':' || c.is_whitespace());
            if rest.is_empty() || rest.eq_ignore_ascii_case("replay") || rest.len() < 16 {
                replay.get_or_insert(ui::localize_commands(&command));
                continue;
            }
            replay.get_or_insert(ui::localize_commands(&command));
        }
        if line.trim().is_empty() && body.last().is_none_or(|l| l.trim().is_empty()) {
            continue;
        }
        body.push(ui::localize_commands(&line));
    }
    while body.last().is_some_and(|l| l.trim().is_empty()) {
        body.pop();
    }
    // Reports in rustc's shape (evidence first, then `error: CAUSE --> where`, `note:`,
    // `help:`) name the cause on their `error:` line.
    if let Some(error) = error_line(&body.join("\n")) {
        headline = error;
    }
    if headline.is_empty() {
        headline = body
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty())
            .unwrap_or_default()
            .trim_end_matches(':')
            .to_string();
    }
    Explanation {
        headline: ui::localize_commands(&headline),
        body: body.join("\n"),
        replay,
    }
}

/// std's `assert_eq!` and `assert_ne!` reports told in words: the test's message alone on
/// the first line (std's ``assertion `left == right` failed: `` before it is for whoever
/// wrote the test), and the two values as `found:` and `expected:` (the course's tests
/// always put the value they found first) instead of `left:` and `right:`.
fn plain_assertions(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let kind = [
            ("assertion `left == right` failed", true),
            ("assertion `left != right` failed", false),
        ]
        .into_iter()
        .find(|(start, _)| line.starts_with(start));
        // The message runs until std's `  left: ` line, which must follow for this to be
        // std's report (a test's own text that merely starts so is left alone).
        let left = kind.and_then(|_| {
            (i + 1..lines.len())
                .find(|&k| lines[k].starts_with("  left: "))
                .filter(|&k| lines.get(k + 1).is_some_and(|l| l.starts_with(" right: ")))
        });
        let (Some((start, equal)), Some(left)) = (kind, left) else {
            out.push(line.to_owned());
            i += 1;
            continue;
        };
        let message = line[start.len()..].trim_start_matches(':').trim();
        out.push(if message.is_empty() {
            if equal {
                "two values that must be equal differ:".to_owned()
            } else {
                "two values that must differ are equal:".to_owned()
            }
        } else {
            message.to_owned()
        });
        out.extend(lines[i + 1..left].iter().map(|l| (*l).to_owned()));
        let found = &lines[left]["  left: ".len()..];
        let expected = &lines[left + 1][" right: ".len()..];
        if equal {
            out.push(format!("  found:    {found}"));
            out.push(format!("  expected: {expected}"));
        } else {
            out.push(format!("  both:     {found}"));
        }
        i = left + 2;
    }
    let mut text = out.join("\n");
    if output.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A failed insta snapshot (a scenario table, or a demo's output, that is not the expected
/// one), told without insta's banner and developer footer: the expected table and the
/// student's, side by side in time, and the first row (or line) that differs. `None` when
/// `output` has no such report.
fn snapshot_diff(output: &str) -> Option<String> {
    if !output.contains("Snapshot Summary") {
        return None;
    }
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut expected = Vec::new();
    let mut yours = Vec::new();
    let mut in_report = false;
    let mut seen_report = false;
    for line in output.lines() {
        let plain = ui::strip_ansi(line);
        if plain.contains("Snapshot Summary") {
            in_report = true;
            seen_report = true;
            continue;
        }
        if in_report {
            if let Some((number, rest)) = plain.split_once('│') {
                if number.chars().all(|c| c.is_ascii_digit() || c == ' ') {
                    let mut chars = rest.chars();
                    match chars.next() {
                        Some('-') => expected.push(chars.as_str().to_string()),
                        Some('+') => yours.push(chars.as_str().to_string()),
                        Some(_) => {
                            expected.push(chars.as_str().to_string());
                            yours.push(chars.as_str().to_string());
                        }
                        None => {}
                    }
                    continue;
                }
            }
            if plain.starts_with("Stopped on the first failure")
                || plain.starts_with("To update snapshots")
            {
                in_report = false;
            }
            continue; // insta's banner: the file, the source, rules
        }
        if plain.starts_with("snapshot assertion for '")
            || (plain.starts_with("thread '") && plain.contains("insta"))
        {
            continue; // insta's panic and where it is raised
        }
        if seen_report {
            after.push(line.to_string());
        } else {
            before.push(line.to_string());
        }
    }
    // Rows compared cell by cell: a wider column elsewhere changes the padding only.
    let cells = |line: &str| -> String {
        if line.trim().chars().all(|c| c == '-') {
            return String::new();
        }
        line.split('|').map(str::trim).collect::<Vec<_>>().join("|")
    };
    let differs = expected
        .iter()
        .zip(&yours)
        .position(|(e, y)| cells(e) != cells(y))
        .unwrap_or(expected.len().min(yours.len()));
    let row = yours
        .get(differs)
        .or(expected.get(differs))
        .and_then(|l| l.split('|').next())
        .map(str::trim)
        .filter(|cell| !cell.is_empty() && cell.chars().all(|c| c.is_ascii_digit()))
        .map_or_else(
            || format!("row {}", differs + 1),
            |step| format!("step {step}"),
        );
    // A demo's output (a process step's snapshot) has lines, not a table's rows.
    let is_table = expected.iter().chain(&yours).any(|l| l.contains('|'));
    let mut text = before;
    if is_table {
        text.push(format!(
            "the table differs from the expected one, first at {row}:"
        ));
    } else {
        text.push(format!(
            "the output differs from the expected one, first at line {}:",
            differs + 1
        ));
    }
    text.push("expected:".to_string());
    text.extend(expected.iter().map(|l| format!("  {l}")));
    text.push("yours:".to_string());
    text.extend(yours.iter().map(|l| format!("  {l}")));
    text.extend(after);
    Some(text.join("\n"))
}

/// The cause a report in rustc's shape states on its (last) `error:` line, with the lines
/// that continue it (indented, up to `note:`, `help:` or `= ...`), without its ` --> place`.
pub fn error_line(report: &str) -> Option<String> {
    let lines: Vec<String> = report.lines().map(ui::strip_ansi).collect();
    let at = lines.iter().rposition(|l| l.starts_with("error: "))?;
    let mut text = lines[at]["error: ".len()..].trim().to_string();
    for line in &lines[at + 1..] {
        let trimmed = line.trim_start();
        if !line.starts_with(' ')
            || trimmed.is_empty()
            || trimmed.starts_with("= ")
            || trimmed.starts_with("note:")
            || trimmed.starts_with("help:")
            || trimmed.starts_with("-->")
        {
            break;
        }
        text.push(' ');
        text.push_str(trimmed);
    }
    let text = text.split(" --> ").next().unwrap_or_default().trim();
    Some(text.to_string()).filter(|t| !t.is_empty())
}

/// Takes the replay line out of a report (a dying test binary's), returning the report
/// without it and the command in the form that works here.
pub fn take_replay(report: &str) -> (String, Option<String>) {
    let mut replay = None;
    let kept: Vec<&str> = report
        .lines()
        .filter(|line| match crate::cargo::replay_line(line) {
            Some(command) => {
                replay.get_or_insert_with(|| ui::localize_commands(&command));
                false
            }
            None => true,
        })
        .collect();
    (kept.join("\n").trim_end().to_string(), replay)
}

/// `crates/<package>/src/../../../exercises/x.rs` (rustc's path through the crate's
/// `#[path]`) becomes `exercises/x.rs`, the path the student knows.
pub fn shorten_paths(text: &str, package: &str) -> String {
    text.replace(&format!("crates/{package}/src/../../../"), "")
}

/// The location of a panic header line: `thread 'NAME' (ID) panicked at LOC:` or, before
/// Rust 1.88, `thread 'NAME' panicked at LOC:`.
fn panic_location(line: &str) -> Option<String> {
    let plain = ui::strip_ansi(line);
    // A report that quotes where its panic was raised: `panicked at LOC:`, or a thread
    // without a name (`a thread panicked at LOC:`, as interleave's panic hook says it).
    if let Some(location) = plain
        .strip_prefix("panicked at ")
        .or_else(|| plain.strip_prefix("a thread panicked at "))
        .and_then(|l| l.strip_suffix(':'))
        .filter(|l| !l.contains(' '))
    {
        return Some(crate::cargo::normalize(location));
    }
    let rest = plain.strip_prefix("thread '")?;
    let at = rest.find("' ")?;
    let after = &rest[at + 2..];
    let after = match after.strip_prefix('(') {
        Some(id) => id.split_once(") ")?.1,
        None => after,
    };
    let location = after.strip_prefix("panicked at ")?.strip_suffix(':')?;
    Some(crate::cargo::normalize(location))
}

/// The first sentence-bearing paragraph of a panic message, on one line: its first
/// non-empty line and the lines that continue it (same indentation, not blank), since a
/// test wraps its prose at the width and the cause rarely ends with the first line. A
/// line ending in `:` introduces what follows and ends the paragraph.
fn first_paragraph(lines: &[String]) -> String {
    let mut lines = lines.iter().skip_while(|l| l.trim().is_empty());
    let Some(first) = lines.next() else {
        return String::new();
    };
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut text = first.trim().to_string();
    // Continuation lines keep the first line's indentation, or hang two columns deeper
    // (as `proctest::wrap` and the tests' `wrap` indent them), all alike.
    let mut continuation = None;
    let mut previous: &str = first;
    for line in lines {
        let at = indent(line);
        let fits = (at == indent(first) || at == indent(first) + 2)
            && continuation.is_none_or(|c| c == at);
        // A line that starts with `word:` is a label (`note:`, `left:`), unless the line
        // before it was wrapped mid-sentence (long, and ending in a word): then the wrap
        // fell just before a colon (`on the` / `clock): it kept`, `the wrong` / `bytes:
        // 1046879 arrived`).
        let mid_sentence = previous.trim_end().chars().count() >= 80
            && text.ends_with(|c: char| c.is_alphanumeric() || c == ',');
        previous = line;
        let label = ui::starts_a_part(line)
            && !(mid_sentence && ui::starts_a_part(&format!("{line}:")) && !starts_a_block(line));
        if line.trim().is_empty() || !fits || label {
            break;
        }
        continuation = Some(at);
        if text.ends_with(':') {
            break;
        }
        text.push(' ');
        text.push_str(line.trim());
    }
    text
}

/// A line that starts a list item, an arrow or a table row, whatever comes before it.
fn starts_a_block(line: &str) -> bool {
    let text = line.trim_start();
    ["- ", "* ", "| ", "-->"]
        .iter()
        .any(|m| text.starts_with(m))
        || text.matches(" | ").count() >= 2
}

/// The headline cut for the verdict line: its first sentence, up to the first `: ` or
/// `; ` that leaves at least 20 characters (what follows usually explains), and at most
/// `max` characters (cut between words, ending in `…`).
pub fn short(headline: &str, max: usize) -> String {
    let mut text = headline.trim().to_string();
    // `assertion `left == right` failed: MESSAGE`: the message is the cause.
    if text.starts_with("assertion `") {
        if let Some((_, message)) = text.split_once("` failed: ") {
            text = message.to_string();
        }
    }
    // Never inside `code` or a "quotation": a quoted line (`child recv: 10`, a scenario's
    // name "30 days: longer than...") is part of the cause.
    // Nor inside (parentheses), [brackets] or {braces}: `job 0 completed 2 times (M
    // collect() -> Done(job 0, W1): ...)` keeps its parenthesis whole, and a value
    // `OutOfBounds { file_len: 3, ... }` its fields.
    let in_code = |text: &str, at: usize| {
        let before = &text[..at];
        let open = |o: char, c: char| before.matches(o).count() > before.matches(c).count();
        before.matches('`').count() % 2 == 1
            || before.matches('"').count() % 2 == 1
            || open('(', ')')
            || open('[', ']')
            || open('{', '}')
    };
    if let Some(at) = text
        .match_indices(". ")
        .map(|(at, _)| at)
        .find(|&at| !in_code(&text, at))
    {
        text.truncate(at);
    }
    for separator in [": ", "; "] {
        if let Some(at) = text
            .match_indices(separator)
            .map(|(at, _)| at)
            .find(|&at| at >= 20 && !in_code(&text, at))
        {
            text.truncate(at);
        }
    }
    text.truncate(text.trim_end_matches(':').trim_end().len());
    if text.chars().count() > max {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        let next = text.chars().nth(max.saturating_sub(1));
        match cut.rfind(", ").filter(|&at| at >= max / 3) {
            // At the end of a clause, so that the cut does not move with the length of a
            // number in the text (a pid).
            Some(comma) => cut.truncate(comma),
            None if next.is_some_and(|c| c != ' ') => {
                if let Some(space) = cut.rfind(' ') {
                    cut.truncate(space); // not in the middle of a word
                }
            }
            None => {}
        }
        cut.truncate(cut.trim_end().len());
        cut.push('…');
        text = cut;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEDULER_REPORT: &str = "\
thread 'never_both' (7607) panicked at crates/tunnel/tests/common/mod.rs:142:13:
S1 entered while N1 was still inside: cars of both directions in the tunnel

thread 'never_both' (7607) panicked at crates/interleave/src/explore.rs:426:25:
interleave: panic in schedule 208 (strategy random, seed 108), after 29 steps
thread S1 panicked: S1 entered while N1 was still inside: cars of both directions in the tunnel

interleaving:
step | N1
10   | enter

  replay: just trace tunnel/basic --seed 108 --strategy random";

    #[test]
    fn a_panic_repeated_by_the_scheduler_is_shown_once_and_the_replay_kept_aside() {
        let e = failure(SCHEDULER_REPORT, "tunnel");
        assert_eq!(
            e.headline,
            "S1 entered while N1 was still inside: cars of both directions in the tunnel"
        );
        assert_eq!(
            e.body.matches("S1 entered while N1").count(),
            1,
            "{}",
            e.body
        );
        assert!(!e.body.contains("panicked at"), "{}", e.body);
        assert!(!e.body.contains("trace tunnel/basic"), "{}", e.body);
        assert!(
            e.replay
                .as_deref()
                .is_some_and(|r| r.ends_with("trace tunnel/basic --seed 108 --strategy random")),
            "{:?}",
            e.replay
        );
    }

    #[test]
    fn a_todo_in_the_students_file_is_named_with_its_place() {
        let e = failure(
            "thread 'two' panicked at crates/alpha/src/../../../exercises/01_alpha/add.rs:8:5:\nnot yet implemented",
            "alpha",
        );
        assert_eq!(
            e.headline,
            "reached a `todo!()` at exercises/01_alpha/add.rs:8:5: replace it with your implementation"
        );
        assert_eq!(
            e.body,
            "your code panicked at exercises/01_alpha/add.rs:8:5:\nnot yet implemented"
        );
    }

    #[test]
    fn an_insta_report_becomes_expected_and_yours_without_its_footer() {
        let report = "\
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ Snapshot Summary ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
Snapshot file: crates/t/tests/snapshots/x.snap
Snapshot: x
Source: crates/t/tests/x.rs:11
────────────────────────────────────────────────────────────────────────────────
-old snapshot
+new results
────────────┬───────────────────────────────────────────────────────────────────
    0     0 │ step | call
    1       │-1    | R1 read
          1 │+1    | R1 write
────────────┴───────────────────────────────────────────────────────────────────
Stopped on the first failure. Run `cargo insta test` to run all snapshots.

thread 'x' panicked at /home/.cargo/registry/src/insta/src/runtime.rs:734:13:
snapshot assertion for 'x' failed in line 11";
        let e = failure(report, "t");
        assert_eq!(
            e.headline,
            "the table differs from the expected one, first at step 1"
        );
        assert_eq!(
            e.body,
            "the table differs from the expected one, first at step 1:\nexpected:\n  step | call\n  1    | R1 read\nyours:\n  step | call\n  1    | R1 write"
        );
        assert!(!e.body.to_lowercase().contains("insta"));
    }

    #[test]
    fn a_demos_output_differs_at_a_line_not_a_table_row() {
        let report = "\
━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ Snapshot Summary ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━
Snapshot: x
────────────┬───────────────────────────────────────────────────────────────────
    0     0 │ worker: unit 1 started
    1       │-parent: the worker was killed by signal SIGKILL
          1 │+parent: the worker exited with status 137
────────────┴───────────────────────────────────────────────────────────────────

thread 'x' panicked at /home/.cargo/registry/src/insta/src/runtime.rs:734:13:
snapshot assertion for 'x' failed in line 11";
        let e = failure(report, "t");
        assert_eq!(
            e.headline,
            "the output differs from the expected one, first at line 2"
        );
    }

    #[test]
    fn a_report_in_rustcs_shape_is_headed_by_its_error_line() {
        let e = failure(
            "interleaving:\nstep | S1\n29   | panics\n\nerror: S1 panicked: S1 entered while N1 was inside --> crates/t/tests/common.rs:1:2\n   = at step 29\nhelp: look at enter\nreplay: just trace t/s --seed 7 --strategy random",
            "t",
        );
        assert_eq!(e.headline, "S1 panicked: S1 entered while N1 was inside");
        assert!(e.replay.is_some());
        assert!(!e.body.contains("replay"), "{}", e.body);
    }

    #[test]
    fn a_panic_of_an_unnamed_thread_is_headed_by_its_place_and_function_once() {
        let block = "a thread panicked at exercises/07_locks/convoy.rs:71:9:\n\
                     attempt to add with overflow\n\n(in `HandoffLock::lock`)\n";
        let e = failure(&format!("{block}\n{block}"), "locks");
        assert_eq!(
            e.headline,
            "your code panicked in `HandoffLock::lock` at exercises/07_locks/convoy.rs:71:9 \
             (attempt to add with overflow)"
        );
        assert_eq!(
            e.body.matches("attempt to add with overflow").count(),
            1,
            "{}",
            e.body
        );
    }

    #[test]
    fn a_panic_in_the_students_code_is_headed_by_where_it_happened() {
        let e = failure(
            "thread 't' (12) panicked at crates/m/src/../../../exercises/11_mmap/x.rs:45:9:\n\
             attempt to add with overflow\n",
            "m",
        );
        assert_eq!(
            e.headline,
            "your code panicked at exercises/11_mmap/x.rs:45:9 (attempt to add with overflow)"
        );
    }

    #[test]
    fn the_verdict_is_never_cut_inside_quoted_code() {
        assert_eq!(
            short(
                "line 1 is `child recv: 10` where `parent write: 10` was due: the parent printed",
                100
            ),
            "line 1 is `child recv: 10` where `parent write: 10` was due"
        );
    }

    #[test]
    fn the_verdict_is_never_cut_inside_a_value_in_braces() {
        assert_eq!(
            short(
                "read_at returned Err(FileError::OutOfBounds { file_len: 3, offset: 9 }): the \
                 offset is past the end",
                100
            ),
            "read_at returned Err(FileError::OutOfBounds { file_len: 3, offset: 9 })"
        );
    }

    #[test]
    fn the_verdict_keeps_the_first_clause() {
        assert_eq!(
            short(
                "S1 entered while N1 was still inside: cars of both directions",
                90
            ),
            "S1 entered while N1 was still inside"
        );
        let lines: Vec<String> = ["", "  a cause wrapped", "  over two lines. More", "", "x"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            first_paragraph(&lines),
            "a cause wrapped over two lines. More"
        );
        let lines: Vec<String> = ["the demo printed:", "the demo printed:"]
            .map(String::from)
            .to_vec();
        assert_eq!(first_paragraph(&lines), "the demo printed:");
        let lines: Vec<String> = ["a hanging", "  indent, then", "    a block"]
            .map(String::from)
            .to_vec();
        assert_eq!(first_paragraph(&lines), "a hanging indent, then");
        assert_eq!(
            plain_assertions(
                "thread 't' panicked at a.rs:1:2:\nassertion `left == right` failed: the count\n\
                 of 3\n  left: 4\n right: 3\nnote: run with\n"
            ),
            "thread 't' panicked at a.rs:1:2:\nthe count\nof 3\n  found:    4\n  expected: 3\n\
             note: run with\n"
        );
        assert_eq!(
            plain_assertions("assertion `left != right` failed\n  left: 4\n right: 4"),
            "two values that must differ are equal:\n  both:     4"
        );
        // Not std's report: no `left:` and `right:` lines follow.
        assert_eq!(
            plain_assertions("assertion `left == right` failed: x\n  lefty"),
            "assertion `left == right` failed: x\n  lefty"
        );
        let lines: Vec<String> = ["assertion `left == right` failed: x", "  left: 4"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            first_paragraph(&lines),
            "assertion `left == right` failed: x"
        );
        let lines: Vec<String> = [
            "  wait_readable used 0.328 s of CPU while the writer computed for 0.200 s (1.135 s on the",
            "  clock): it kept checking",
            "  note: more",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            first_paragraph(&lines),
            "wait_readable used 0.328 s of CPU while the writer computed for 0.200 s (1.135 s on \
             the clock): it kept checking"
        );
        let lines: Vec<String> = ["  a full sentence.", "  left: 4"]
            .map(String::from)
            .to_vec();
        assert_eq!(first_paragraph(&lines), "a full sentence.");
        assert_eq!(
            short(
                "read_timeout(30 days), scenario \"30 days: longer\": it returned",
                90
            ),
            "read_timeout(30 days), scenario \"30 days: longer\""
        );
        assert_eq!(
            short(
                "job 0 completed 2 times (M collect() -> Done(job 0, W1): twice): more",
                90
            ),
            "job 0 completed 2 times (M collect() -> Done(job 0, W1): twice)"
        );
        assert_eq!(short("x: y", 90), "x: y");
        assert_eq!(
            short(
                "lost update: the final balance is 110, but 112: two threads read it",
                150
            ),
            "lost update: the final balance is 110, but 112"
        );
        assert_eq!(short("Blocked. Then more.", 90), "Blocked");
        assert_eq!(short(&"word ".repeat(40), 20), "word word word word…");
        assert_eq!(
            short(
                "the child is blocked in read(), but a write end is open in the parent",
                50
            ),
            "the child is blocked in read()…"
        );
    }
}
