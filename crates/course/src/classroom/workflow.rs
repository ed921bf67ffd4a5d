//! The GitHub Classroom workflow of a handout: `.github/workflows/classroom.yml`.
//!
//! GitHub Classroom's own autograding actions: one
//! `classroom-resources/autograding-command-grader@v1` per step (its test passes when
//! `cargo course grade . --steps TOPIC/STEP --exit-code` exits 0, and is worth the step's
//! points), then
//! `classroom-resources/autograding-grading-reporter@v1`, which reads each grader's
//! `result` output from the environment variable `<ID>_RESULTS` (the step id in capitals)
//! and reports the total to GitHub Classroom. The command grader runs its command with
//! only PATH and HOME from the job's environment, so nothing here relies on other
//! variables.
//!
//! `grade` rather than `check`: the same per-step build, plus the harness's end-of-run
//! evidence and the scan of the file, so a step that prints a pass and exits fails here
//! too. It still grades the repository's own copy of the tests, which the student can
//! change: the teacher's `cargo course grade` of the repositories is the grade that does
//! not depend on them.
//!
//! cargo's registry and the build folder are cached (restored first, saved even when a
//! step fails, since a push with failing steps is the usual case), so after the first push
//! a push is graded in minutes: only the topics' crates and the student's files rebuild.

use std::collections::BTreeMap;

use crate::syllabus::{StepRef, Syllabus};

/// Where the workflow lives in a handout.
pub const PATH: &str = ".github/workflows/classroom.yml";

/// Minutes each step's check may take (the first one builds the dependencies).
pub const STEP_TIMEOUT_MINUTES: u32 = 15;

/// The id of a step's grader: `warmup_scoped_sum` (letters, digits and `_`).
pub fn step_id(step: StepRef<'_>) -> String {
    let id: String = format!("{}_{}", step.topic.name, step.step.name)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if id.starts_with(|c: char| c.is_ascii_digit()) {
        format!("step_{id}")
    } else {
        id
    }
}

/// The workflow for the course `syllabus` (a handout's).
pub fn classroom_yaml(syllabus: &Syllabus) -> String {
    let steps: Vec<StepRef<'_>> = syllabus.steps().collect();
    let points: u32 = steps.iter().map(|s| s.step.points).sum();
    let mut yaml = format!(
        r#"# GitHub Classroom autograding, written by `cargo course handout`: one graded test per step
# ({n} steps, {points} points), each `cargo course grade . --steps TOPIC/STEP --exit-code`,
# worth the step's points in course.toml. It builds the step with only its own file from
# exercises/ (the other steps from their starters as shipped, .course/starters/), and a pass
# needs the test harness's own end-of-run evidence (a printed summary and an exit do not pass).
name: Autograding Tests
"on":
  push:
  repository_dispatch:
  workflow_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 120
    steps:
      - name: Checkout code
        uses: actions/checkout@v4
      - name: Rust toolchain
        run: rustup toolchain install stable --profile minimal --no-self-update && rustup default stable
      - name: Restore cargo's registry and build folder
        id: cache
        uses: actions/cache/restore@v4
        with:
          path: |
            ~/.cargo/registry/index/
            ~/.cargo/registry/cache/
            ~/.cargo/git/db/
            target/
          key: course-${{{{ runner.os }}}}-${{{{ hashFiles('Cargo.lock', 'rust-toolchain', 'rust-toolchain.toml') }}}}
      - name: Build the runner
        run: cargo build -p course
"#,
        n = steps.len()
    );
    for step in &steps {
        let id = step_id(*step);
        yaml.push_str(&format!(
            r#"      - name: {name}
        id: {id}
        uses: classroom-resources/autograding-command-grader@v1
        with:
          test-name: {name}
          command: cargo course grade . --steps {name} --out target/classroom --exit-code
          timeout: {STEP_TIMEOUT_MINUTES}
          max-score: {points}
"#,
            name = step.id(),
            points = step.step.points,
        ));
    }
    yaml.push_str(
        r#"      - name: Save cargo's registry and build folder
        if: always() && steps.cache.outputs.cache-hit != 'true'
        uses: actions/cache/save@v4
        with:
          path: |
            ~/.cargo/registry/index/
            ~/.cargo/registry/cache/
            ~/.cargo/git/db/
            target/
          key: ${{ steps.cache.outputs.cache-primary-key }}
      - name: Autograding Reporter
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
"#,
    );
    for step in &steps {
        let id = step_id(*step);
        yaml.push_str(&format!(
            "          {}_RESULTS: \"${{{{ steps.{id}.outputs.result }}}}\"\n",
            id.to_uppercase()
        ));
    }
    let ids: Vec<String> = steps.iter().map(|s| step_id(*s)).collect();
    yaml.push_str(&format!(
        "        with:\n          runners: {}\n",
        ids.join(",")
    ));
    yaml
}

/// What is wrong with a workflow for `syllabus`: a step without its graded test or with other
/// points, a test of no step, a grader the reporter does not read.
pub fn problems(yaml: &str, syllabus: &Syllabus) -> Vec<String> {
    // test-name -> (id, max-score), read block by block (`- name:` starts a step).
    let mut graded: BTreeMap<String, (String, Option<u32>)> = BTreeMap::new();
    let mut runners: Vec<String> = Vec::new();
    let mut env_results: Vec<String> = Vec::new();
    let (mut id, mut name, mut score): (Option<String>, Option<String>, Option<u32>) =
        (None, None, None);
    let mut finish =
        |id: &mut Option<String>, name: &mut Option<String>, score: &mut Option<u32>| {
            if let Some(name) = name.take() {
                graded.insert(name, (id.take().unwrap_or_default(), score.take()));
            }
            *id = None;
            *score = None;
        };
    for line in yaml.lines() {
        let t = line.trim();
        if t.starts_with("- name:") {
            finish(&mut id, &mut name, &mut score);
        } else if let Some(v) = t.strip_prefix("id:") {
            id = Some(v.trim().to_string());
        } else if let Some(v) = t.strip_prefix("test-name:") {
            name = Some(v.trim().trim_matches(['"', '\'']).to_string());
        } else if let Some(v) = t.strip_prefix("max-score:") {
            score = v.trim().trim_matches(['"', '\'']).parse().ok();
        } else if let Some(v) = t.strip_prefix("runners:") {
            runners = v.split(',').map(|r| r.trim().to_string()).collect();
        } else if let Some((key, _)) = t.split_once("_RESULTS:") {
            env_results.push(key.trim().to_string());
        }
    }
    finish(&mut id, &mut name, &mut score);
    let mut problems = Vec::new();
    for step in syllabus.steps() {
        match graded.remove(&step.id()) {
            None => problems.push(format!(
                "{PATH}: step {} has no graded test (`test-name: {}`); regenerate the handout",
                step.id(),
                step.id()
            )),
            Some((id, score)) => {
                if score != Some(step.step.points) {
                    problems.push(format!(
                        "{PATH}: the test of {} is worth {}, course.toml says {} points",
                        step.id(),
                        score.map_or("nothing".to_string(), |s| format!("{s} points")),
                        step.step.points
                    ));
                }
                if !runners.contains(&id) {
                    problems.push(format!(
                        "{PATH}: the reporter's `runners` does not list `{id}` ({}), so its points never reach GitHub Classroom",
                        step.id()
                    ));
                }
                if !env_results.contains(&id.to_uppercase()) {
                    problems.push(format!(
                        "{PATH}: the reporter has no `{}_RESULTS` variable for `{id}` ({})",
                        id.to_uppercase(),
                        step.id()
                    ));
                }
            }
        }
    }
    for (name, _) in graded {
        problems.push(format!(
            "{PATH}: the graded test `{name}` is no step of course.toml"
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const COURSE: &str = r#"
[course]
title = "T"

[[topics]]
name = "warmup"
title = "W"
package = "warmup"
dir = "00_warmup"

[[topics.steps]]
name = "scoped_sum"
file = "scoped_sum.rs"
test = "scoped_sum"
points = 5

[[topics]]
name = "2d"
title = "D"
package = "d"
dir = "01_d"

[[topics.steps]]
name = "a-b"
file = "a.rs"
test = "a"
points = 7
"#;

    #[test]
    fn every_step_is_graded_with_its_points_and_reported() {
        let syllabus = Syllabus::parse(std::path::Path::new("."), COURSE).unwrap();
        let yaml = classroom_yaml(&syllabus);
        assert!(yaml.contains("test-name: warmup/scoped_sum\n          command: cargo course grade . --steps warmup/scoped_sum --out target/classroom --exit-code\n          timeout: 15\n          max-score: 5\n"), "{yaml}");
        assert!(yaml.contains("id: step_2d_a_b\n"), "{yaml}");
        assert!(yaml.contains("STEP_2D_A_B_RESULTS: \"${{ steps.step_2d_a_b.outputs.result }}\""));
        assert!(yaml.contains("runners: warmup_scoped_sum,step_2d_a_b\n"));
        assert_eq!(problems(&yaml, &syllabus), Vec::<String>::new());
    }

    #[test]
    fn changed_points_and_missing_runners_are_problems() {
        let syllabus = Syllabus::parse(std::path::Path::new("."), COURSE).unwrap();
        let yaml = classroom_yaml(&syllabus)
            .replace("max-score: 7", "max-score: 70")
            .replace("runners: warmup_scoped_sum,", "runners: ");
        assert_eq!(
            problems(&yaml, &syllabus),
            [
                ".github/workflows/classroom.yml: the reporter's `runners` does not list `warmup_scoped_sum` (warmup/scoped_sum), so its points never reach GitHub Classroom",
                ".github/workflows/classroom.yml: the test of 2d/a-b is worth 70 points, course.toml says 7 points",
            ]
        );
    }
}
