//! `cargo course predict TOPIC/STEP [--scenario N]`: predict a scenario table, then see it.
//!
//! Prints a scenario's script with the outcome cells hidden, asks for each step which calls
//! return during it (the others stay blocked), reveals the step's row after each answer,
//! then the whole table, and scores the answers. The table is the reference's snapshot
//! (`crates/<package>/tests/snapshots/<test>__*.snap`), the one every correct solution
//! must produce, so predicting needs no solved exercise and builds nothing. As OSTEP's
//! simulators do with `-c`: think first, then look.
//!
//! Answers are the numbers of the calls listed (`1 3`), their actors (`S1 N2`), or `-`
//! for none. A bad answer is asked again in a terminal; with piped input it is an error,
//! as is input that ends before the last step.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, bail};
use scenario_tables::{Call, Scenario, Table};

use crate::syllabus::{StepRef, Syllabus};
use crate::ui::{UsageError, bold, dim, green, just, red};

/// One scenario table of a step: its file and its rows.
struct Found {
    path: PathBuf,
    scenario: Scenario,
}

/// The scenario tables of a step, in file-name order.
fn scenarios(syllabus: &Syllabus, step: StepRef<'_>) -> Result<Vec<Found>> {
    let mut found = Vec::new();
    for path in
        scenario_tables::step_snapshots(&syllabus.root, &step.topic.package, &step.step.test)
    {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if let Some(filter) = &step.step.filter
            && !name.contains(filter.as_str())
        {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", rel(syllabus, &path)))?;
        match scenario_tables::parse(&scenario_tables::read_snapshot(&text).body) {
            Ok(Table::Scenario(scenario)) => found.push(Found { path, scenario }),
            Ok(Table::Timeline(_)) | Err(scenario_tables::Error::NotATable) => {}
            Err(e) => bail!(
                "{} is not a scenario table this runner can read ({e}); the tests still work, \
                 but `predict` cannot use it",
                rel(syllabus, &path)
            ),
        }
    }
    Ok(found)
}

fn rel(syllabus: &Syllabus, path: &Path) -> String {
    path.strip_prefix(&syllabus.root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The command: reads answers from standard input.
pub fn run(
    syllabus: &Syllabus,
    spec: &str,
    scenario: Option<usize>,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let stdin = io::stdin();
    let interactive = stdin.is_terminal();
    let mut input = stdin.lock();
    run_with(syllabus, spec, scenario, &mut input, interactive, out)
}

/// The command with its input given: `interactive` asks again after a bad answer instead
/// of failing.
pub fn run_with(
    syllabus: &Syllabus,
    spec: &str,
    scenario: Option<usize>,
    input: &mut dyn BufRead,
    interactive: bool,
    out: &mut dyn Write,
) -> Result<ExitCode> {
    let step = syllabus.resolve_step(spec, "predict")?;
    let id = step.id();
    let found = scenarios(syllabus, step)?;
    if found.is_empty() {
        let with: Vec<String> = syllabus
            .steps()
            .filter(|s| scenarios(syllabus, *s).is_ok_and(|f| !f.is_empty()))
            .map(|s| s.id())
            .collect();
        return Err(UsageError(format!(
            "step `{id}` has no scenario table to predict (its tests snapshot none); steps \
             with one: {}",
            if with.is_empty() {
                "none".to_string()
            } else {
                with.join(", ")
            }
        ))
        .into());
    }
    let index = match scenario {
        None => 0,
        Some(n) if (1..=found.len()).contains(&n) => n - 1,
        Some(n) => {
            return Err(UsageError(format!(
                "step `{id}` has {} (numbered from 1), not a scenario {n}: try `cargo course \
                 predict {id} --scenario 1`",
                crate::ui::plural(found.len(), "scenario")
            ))
            .into());
        }
    };
    let Found { path, scenario } = &found[index];
    let name = scenario_tables::title_of(path);
    writeln!(
        out,
        "{} {id}, scenario {} of {}:\n  {}",
        bold("Predict"),
        index + 1,
        found.len(),
        bold(&name)
    )?;
    writeln!(
        out,
        "{}\n  {}",
        dim("The reference's table (every correct solution produces it):"),
        dim(rel(syllabus, path))
    )?;
    if found.len() > 1 {
        writeln!(out, "{}", dim("Its other scenarios:"))?;
        for n in (1..=found.len()).filter(|n| *n != index + 1) {
            writeln!(
                out,
                "  {}",
                dim(format!("cargo course predict {id} --scenario {n}"))
            )?;
        }
    }
    writeln!(
        out,
        "\nThe script makes one call per step. After each call every thread runs until nothing \
         can move:\neach call has returned, or is blocked. For each step, say which calls return \
         during it.\n"
    )?;
    print_table(out, scenario, 0, &[])?;
    writeln!(out)?;

    let mut marks: Vec<bool> = Vec::new();
    for (i, step_row) in scenario.steps.iter().enumerate() {
        let candidates = step_row.candidates(scenario.blocked_before(i));
        writeln!(
            out,
            "{} {}",
            bold(format!("Step {}:", step_row.number)),
            step_row.call
        )?;
        writeln!(out, "  calls that could return during this step:")?;
        for (n, c) in candidates.iter().enumerate() {
            let note = if std::ptr::eq(*c, &step_row.call) {
                " (the call of this step)"
            } else {
                " (blocked so far)"
            };
            writeln!(out, "    {}) {c}{}", n + 1, dim(note))?;
        }
        let guess = loop {
            write!(
                out,
                "  Which return? Numbers or actors (e.g. `1 2`), `-` for none, `q` to stop: "
            )?;
            out.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                writeln!(out)?;
                bail!(
                    "standard input ended before step {} of {} was answered: `cargo course \
                     predict {id}` reads one answer per line, one line per step. Run it in a \
                     terminal, or give it a file with {} lines",
                    step_row.number,
                    scenario.steps.len(),
                    scenario.steps.len()
                );
            }
            if !interactive {
                // Piped answers are echoed, so that the transcript reads like a session.
                writeln!(out, "{}", line.trim_end())?;
            }
            match parse_answer(&line, &candidates) {
                Ok(Answer::Quit) => {
                    writeln!(
                        out,
                        "\nStopped at step {}: {} of {} right so far.",
                        step_row.number,
                        marks.iter().filter(|m| **m).count(),
                        marks.len()
                    )?;
                    return Ok(ExitCode::SUCCESS);
                }
                Ok(Answer::Returns(actors)) => break actors,
                Err(problem) if interactive => writeln!(out, "  {} {problem}", red("?"))?,
                Err(problem) => bail!(
                    "step {}: {problem}. Standard input is not a terminal, so the question is \
                     not asked again: fix that answer and run it again",
                    step_row.number
                ),
            }
        };
        let actual: Vec<&str> = step_row
            .returned
            .iter()
            .map(|r| r.call.actor.as_str())
            .collect();
        let right =
            guess.len() == actual.len() && guess.iter().all(|g| actual.contains(&g.as_str()));
        marks.push(right);
        let returned: Vec<String> = step_row.returned.iter().map(|r| r.to_string()).collect();
        let blocked: Vec<String> = step_row.blocked.iter().map(Call::to_string).collect();
        if right {
            writeln!(out, "  {}", green("✓ right"))?;
        } else {
            let said: Vec<String> = guess
                .iter()
                .filter_map(|a| candidates.iter().find(|c| c.actor == *a))
                .map(|c| c.to_string())
                .collect();
            writeln!(
                out,
                "  {} you picked {}",
                red("✗ not quite:"),
                wrap_list(&said, 28)
            )?;
        }
        writeln!(out, "    returned:      {}", wrap_list(&returned, 19))?;
        writeln!(out, "    still blocked: {}", wrap_list(&blocked, 19))?;
        if let Some(state) = &step_row.state {
            writeln!(out, "    {}", dim(format!("state:         {state}")))?;
        }
        writeln!(out)?;
    }
    let right = marks.iter().filter(|m| **m).count();
    writeln!(out, "{}", bold("The whole table:"))?;
    print_table(out, scenario, scenario.steps.len(), &marks)?;
    if let Some(end) = &scenario.end {
        writeln!(out, "end: {end}")?;
    }
    let verdict = format!("{right} of {} steps predicted right.", marks.len());
    writeln!(
        out,
        "\n{}",
        if right == marks.len() {
            green(verdict)
        } else {
            bold(verdict)
        }
    )?;
    if found.len() > index + 1 {
        writeln!(
            out,
            "Next: {}",
            just(&format!("predict {id} --scenario {}", index + 2))
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

enum Answer {
    Quit,
    Returns(Vec<String>),
}

/// Reads `1 3`, `1,3`, `S1 N2`, `-` or `none`, or `q`, against the calls listed.
fn parse_answer(line: &str, candidates: &[&Call]) -> Result<Answer, String> {
    let text = line.trim();
    match text.to_ascii_lowercase().as_str() {
        "" => {
            return Err(
                "no answer: type the numbers of the calls that return, or `-` if none does"
                    .to_string(),
            );
        }
        "q" | "quit" | "exit" => return Ok(Answer::Quit),
        "-" | "none" => return Ok(Answer::Returns(Vec::new())),
        _ => {}
    }
    let mut actors: Vec<String> = Vec::new();
    for token in text.split([' ', ',', '\t']).filter(|t| !t.is_empty()) {
        let pick = if let Ok(n) = token.parse::<usize>() {
            candidates
                .get(n.wrapping_sub(1))
                .map(|c| c.actor.clone())
                .ok_or_else(|| {
                    format!(
                        "no call numbered {n}: choose among 1 to {}, or `-` for none",
                        candidates.len()
                    )
                })?
        } else if let Some(c) = candidates
            .iter()
            .find(|c| c.actor.eq_ignore_ascii_case(token))
        {
            c.actor.clone()
        } else {
            let actors: Vec<&str> = candidates.iter().map(|c| c.actor.as_str()).collect();
            return Err(format!(
                "`{token}` is neither a number from 1 to {} nor one of the actors {}",
                candidates.len(),
                actors.join(", ")
            ));
        };
        if !actors.contains(&pick) {
            actors.push(pick);
        }
    }
    Ok(Answer::Returns(actors))
}

/// The width the runner's output keeps within.
const COLUMNS: usize = 100;

/// `a, b, c` (or `nothing`), continued on lines indented by `indent` columns so that no
/// line passes [`COLUMNS`].
fn wrap_list(items: &[String], indent: usize) -> String {
    if items.is_empty() {
        return "nothing".to_string();
    }
    let lines = wrap(&items.join(", "), COLUMNS.saturating_sub(indent).max(20));
    lines.join(&format!("\n{}", " ".repeat(indent)))
}

/// Cuts `text` into lines of at most `width` characters: after a `, ` where it can (a call
/// stays whole), after a space where it must, anywhere as a last resort.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let len = |s: &str| s.trim_end().chars().count();
    for unit in text.split_inclusive(", ") {
        if line.chars().count() + len(unit) > width && !line.is_empty() {
            lines.push(line.trim_end().to_string());
            line.clear();
        }
        if len(unit) <= width {
            line.push_str(unit);
            continue;
        }
        for word in unit.split_inclusive(' ') {
            if line.chars().count() + len(word) > width && !line.trim().is_empty() {
                lines.push(line.trim_end().to_string());
                line.clear();
            }
            let mut word = word.to_string();
            while len(&word) > width {
                lines.push(word.chars().take(width).collect());
                word = word.chars().skip(width).collect();
            }
            line.push_str(&word);
        }
    }
    if !line.trim().is_empty() || lines.is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// The table with the outcome of the steps from `revealed` on hidden (`?`), and a mark per
/// answered step.
fn print_table(
    out: &mut dyn Write,
    scenario: &Scenario,
    revealed: usize,
    marks: &[bool],
) -> io::Result<()> {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header = vec![
        "step".to_string(),
        "call".to_string(),
        "returned".to_string(),
        "blocked".to_string(),
    ];
    if scenario.has_state {
        header.push("state".to_string());
    }
    if !marks.is_empty() {
        header.push("you".to_string());
    }
    rows.push(header);
    for (i, s) in scenario.steps.iter().enumerate() {
        let shown = i < revealed;
        let hidden = || "?".to_string();
        let mut row = vec![
            s.number.to_string(),
            s.call.to_string(),
            if shown {
                s.returned
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                hidden()
            },
            if shown {
                s.blocked
                    .iter()
                    .map(Call::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            } else {
                hidden()
            },
        ];
        if scenario.has_state {
            row.push(if shown {
                s.state.clone().unwrap_or_default()
            } else {
                hidden()
            });
        }
        if let Some(m) = marks.get(i) {
            row.push(if *m {
                "✓".to_string()
            } else {
                "✗".to_string()
            });
        }
        rows.push(row);
    }
    let columns = rows[0].len();
    let mut widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    // Within 100 columns: the widest of the returned, blocked and state columns gives way
    // first, its cells continued on the next lines.
    let total = |w: &[usize]| w.iter().sum::<usize>() + 3 * (w.len() - 1);
    while total(&widths) > COLUMNS {
        let Some(widest) = (2..columns.min(5))
            .filter(|c| widths[*c] > 16)
            .max_by_key(|c| widths[*c])
        else {
            break;
        };
        widths[widest] -= 1;
    }
    for (r, row) in rows.iter().enumerate() {
        let cells: Vec<Vec<String>> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| wrap(cell, *w))
            .collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(1);
        for l in 0..height {
            let line: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{:<w$}", c.get(l).map_or("", String::as_str)))
                .collect();
            writeln!(out, "{}", line.join(" | ").trim_end())?;
        }
        if r == 0 {
            writeln!(out, "{}", "-".repeat(total(&widths)))?;
        }
    }
    Ok(())
}
