//! `cargo course predict`: the real binary on the course's own snapshots (it reads files
//! only: nothing is built), with answers piped in.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use scenario_tables::{Table, parse, read_snapshot, step_snapshots};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn predict(args: &[&str], input: &str) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_course"))
        .arg("--root")
        .arg(root())
        .arg("predict")
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the course binary runs");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(input.as_bytes())
        .expect("the answers are written");
    let out = child.wait_with_output().expect("it finishes");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every step of course.toml with its package and test target: (`topic/step`, package,
/// test, filter).
fn steps() -> Vec<(String, String, String, Option<String>)> {
    let text = std::fs::read_to_string(root().join("course.toml")).expect("course.toml");
    let toml: toml::Value = toml::from_str(&text).expect("course.toml parses");
    let mut steps = Vec::new();
    for topic in toml["topics"].as_array().expect("topics") {
        for step in topic["steps"].as_array().into_iter().flatten() {
            steps.push((
                format!(
                    "{}/{}",
                    topic["name"].as_str().unwrap(),
                    step["name"].as_str().unwrap()
                ),
                topic["package"].as_str().unwrap().to_string(),
                step["test"].as_str().unwrap().to_string(),
                step.get("filter")
                    .and_then(|f| f.as_str())
                    .map(str::to_string),
            ));
        }
    }
    steps
}

/// The right answer to every step of every scenario of `step`, one line per step, as the
/// actors whose call returns (or `-`).
fn right_answers(package: &str, test: &str, filter: Option<&str>) -> Vec<String> {
    let mut all = Vec::new();
    for path in step_snapshots(&root(), package, test) {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        if filter.is_some_and(|f| !name.contains(f)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if let Ok(Table::Scenario(s)) = parse(&read_snapshot(&text).body) {
            let answers: Vec<String> = s
                .steps
                .iter()
                .map(|row| {
                    let actors: Vec<&str> =
                        row.returned.iter().map(|r| r.call.actor.as_str()).collect();
                    if actors.is_empty() {
                        "-".to_string()
                    } else {
                        actors.join(" ")
                    }
                })
                .collect();
            all.push(answers.join("\n") + "\n");
        }
    }
    all
}

/// The `--scenario` number of the tunnel/basic scenario whose file name contains `name`
/// (scenarios are numbered in file-name order, and other scenarios may be added).
fn tunnel_scenario(name: &str) -> String {
    let files = step_snapshots(&root(), "tunnel", "basic");
    let i = files
        .iter()
        .position(|f| f.to_string_lossy().contains(name))
        .unwrap_or_else(|| panic!("no tunnel/basic scenario named like {name}"));
    (i + 1).to_string()
}

#[test]
fn every_thread_step_with_a_scenario_can_be_predicted_right_within_100_columns() {
    let mut predicted = Vec::new();
    for (id, package, test, filter) in steps() {
        for (i, answers) in right_answers(&package, &test, filter.as_deref())
            .iter()
            .enumerate()
        {
            let n = answers.lines().count();
            let scenario = (i + 1).to_string();
            let out = predict(&[&id, "--scenario", &scenario], answers);
            assert_eq!(
                out.code, 0,
                "{id} scenario {scenario}:\n{}{}",
                out.stdout, out.stderr
            );
            assert!(
                out.stdout
                    .contains(&format!("{n} of {n} steps predicted right.")),
                "{id} scenario {scenario}:\n{}",
                out.stdout
            );
            assert_eq!(out.stdout.matches("✓ right").count(), n, "{}", out.stdout);
            // Within 100 columns; a file's path, on a line of its own, cannot be cut.
            for line in out.stdout.lines().filter(|l| l.trim().contains(' ')) {
                assert!(
                    line.chars().count() <= 100,
                    "{id} scenario {scenario}: a line of {} columns:\n{line}",
                    line.chars().count()
                );
            }
            predicted.push(format!("{id}#{scenario}"));
        }
    }
    for must in [
        "tunnel/basic#1",
        "rw_monitor/hoare#1",
        "messages/workers#1",
        "locks/convoy#1",
    ] {
        assert!(
            predicted.iter().any(|p| p == must),
            "{must} not predicted: {predicted:?}"
        );
    }
}

#[test]
fn wrong_answers_are_scored_and_the_whole_table_is_revealed() {
    let southbound = tunnel_scenario("southbound_waits_until_the_last_northbound_car_leaves");
    let out = predict(
        &["tunnel/basic", "--scenario", &southbound],
        &"-\n".repeat(6),
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    // The script is shown with its outcomes hidden, then each row is revealed.
    assert!(
        out.stdout.contains("1    | N1 arrive(North) | ?"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("✗ not quite: you picked nothing"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("returned:      N2 depart(North), S1 arrive(South)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("The whole table:"), "{}", out.stdout);
    assert!(
        out.stdout.contains("1 of 6 steps predicted right."),
        "{}",
        out.stdout
    );
}

#[test]
fn answers_may_name_the_actors_in_any_order_and_case() {
    let southbound = tunnel_scenario("southbound_waits_until_the_last_northbound_car_leaves");
    let out = predict(
        &["tunnel/basic", "--scenario", &southbound],
        "n1\n-\nN2\nN1\ns1 n2\n1\n",
    );
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("6 of 6 steps predicted right."),
        "{}",
        out.stdout
    );
}

#[test]
fn input_that_ends_before_the_last_step_is_an_error_naming_the_step() {
    let out = predict(&["tunnel/basic"], "1\n");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("standard input ended before step 2 of 6 was answered"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains('…'),
        "the message is cut: {}",
        out.stderr
    );
    let out = predict(&["tunnel/basic"], "");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("before step 1 of 6"), "{}", out.stderr);
}

#[test]
fn a_bad_answer_from_a_pipe_is_an_error_that_says_what_is_accepted() {
    let out = predict(&["tunnel/basic"], "9\n");
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("step 1: no call numbered 9: choose among 1 to 1, or `-` for none"),
        "{}",
        out.stderr
    );
    let out = predict(&["tunnel/basic"], "S7\n");
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("`S7` is neither a number from 1 to 1 nor one of the actors S1"),
        "{}",
        out.stderr
    );
    let out = predict(&["tunnel/basic"], "\n");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no answer"), "{}", out.stderr);
}

#[test]
fn quitting_reports_the_score_so_far() {
    let out = predict(&["tunnel/basic"], "1\nq\n");
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("Stopped at step 2: 1 of 1 right so far."),
        "{}",
        out.stdout
    );
}

#[test]
fn a_step_without_a_scenario_or_a_scenario_out_of_range_is_refused() {
    let out = predict(&["fork/spawn"], "");
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains("step `fork/spawn` has no scenario table"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("tunnel/basic"), "{}", out.stderr);
    assert!(
        !out.stderr.contains('…'),
        "the message is cut: {}",
        out.stderr
    );
    let n = step_snapshots(&root(), "tunnel", "basic").len();
    let out = predict(&["tunnel/basic", "--scenario", "99"], "");
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains(&format!(
            "has {n} scenarios (numbered from 1), not a scenario 99"
        )),
        "{}",
        out.stderr
    );
    let out = predict(&["tunnel/nope"], "");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("no step `nope`"), "{}", out.stderr);
}
