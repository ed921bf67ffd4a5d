//! Drives the real `course` binary over a copy of the fixture workspace
//! `tests/fixtures/good` (two topics, three steps, no dependencies): every mode, the verdicts,
//! the problems `verify` must catch, and bad input.
//!
//! Each test copies the fixture into its own temporary folder and builds it into its own
//! target folder beside it: the copies share crate names and relative paths, so one shared
//! target folder would let a copy pick up another copy's build (cargo compares modification
//! times, and records files outside a package, like exercises/, by absolute path).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    target: PathBuf,
}

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path().join("course");
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good"),
            &root,
        );
        let target = dir.path().join("target");
        Fixture {
            _dir: dir,
            root,
            target,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_course"));
        cmd.args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CARGO_TERM_COLOR")
            .env_remove("RUST_BACKTRACE")
            .env_remove("COURSE_TIMEOUT_SECS")
            // As on a machine without `just`: commands are suggested as `cargo course ...`.
            .env("COURSE_USE_JUST", "0");
        cmd
    }

    fn course(&self, args: &[&str]) -> Out {
        let output = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .expect("the course binary runs");
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }

    /// Solves a step by copying its reference over the starter.
    fn solve(&self, file: &str) {
        let text = self.read(&format!("solutions/{file}"));
        self.write(&format!("exercises/{file}"), &text);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// The verdict comes last, so that it is what stays on screen.
#[track_caller]
fn assert_last_line(output: &str, expected: &str) {
    let last = output.trim_end().lines().last().unwrap_or_default();
    assert_eq!(last, expected, "the last line of\n{output}");
}

#[track_caller]
fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected to find\n  {needle}\nin\n{haystack}"
    );
}

#[test]
fn list_shows_every_step_the_current_one_and_what_to_do_next() {
    let f = Fixture::new();
    let out = f.course(&[]);
    assert_eq!(out.code, 0, "{out:?}");
    let s = &out.stdout;
    assert_contains(s, "Fixture course");
    assert_contains(s, "0/3 steps done, 0/6 points");
    assert_contains(s, "Alpha: arithmetic");
    assert_contains(s, "▶ · alpha/add");
    assert_contains(s, "← current");
    assert_contains(s, "· alpha/double  not started");
    assert_contains(s, "· beta/greet    not started");
    assert_contains(s, "exercises/01_alpha/add.rs");
    assert_contains(s, "cargo course check alpha/add");
    assert!(
        !s.contains('\u{1b}'),
        "NO_COLOR must mean no escape codes:\n{s}"
    );
    // `list` is the same, and works from any subfolder of the course.
    let mut cmd = f.command(&["list"]);
    cmd.current_dir(f.path("crates/alpha/src"));
    let again = cmd.output().unwrap();
    assert_eq!(String::from_utf8_lossy(&again.stdout), out.stdout);
}

#[test]
fn check_shows_the_failing_tests_own_message_then_pass_and_next_step() {
    let f = Fixture::new();
    let out = f.course(&["check"]);
    assert_eq!(out.code, 1, "{out:?}");
    let s = &out.stdout;
    assert_contains(s, "`two_plus_three_is_five` failed:");
    assert_contains(s, "your code panicked at exercises/01_alpha/add.rs:8:5:");
    assert_contains(s, "not yet implemented");
    assert_contains(s, "hint:   cargo course hint alpha/add");
    assert_last_line(
        s,
        "✗ alpha/add: reached a `todo!()` at exercises/01_alpha/add.rs:8:5 (1 of 1 test failed)",
    );
    for noise in [
        "running 1 test",
        "test result:",
        "failures:",
        "RUST_BACKTRACE",
        "Compiling",
    ] {
        assert!(
            !s.contains(noise),
            "libtest or cargo noise `{noise}` in:\n{s}"
        );
    }
    assert_contains(&f.course(&[]).stdout, "✗ alpha/add     failing");

    f.solve("01_alpha/add.rs");
    let out = f.course(&["check", "alpha/add"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_contains(&out.stdout, "next: alpha/double");
    assert_last_line(&out.stdout, "✓ alpha/add passed (1 test)");
    let list = f.course(&["list"]).stdout;
    assert_contains(&list, "✓ alpha/add     done");
    assert_contains(&list, "▶ · alpha/double");
    assert_contains(&list, "1/3 steps done, 2/6 points");

    // Edited after passing: still done, but list says so.
    f.write(
        "exercises/01_alpha/add.rs",
        &(f.read("exercises/01_alpha/add.rs") + "\n"),
    );
    assert_contains(&f.course(&["list"]).stdout, "done, edited since");
}

#[test]
fn check_keeps_the_replay_line_and_runs_only_the_filtered_tests() {
    let f = Fixture::new();
    let out = f.course(&["check", "alpha/double"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_contains(&out.stdout, "1 of 1 test failed");
    assert_contains(&out.stdout, "double(2) must be 4");
    // std's `left:`/`right:` told as what was found and what was expected.
    assert_contains(&out.stdout, "found:    2");
    assert_contains(
        &out.stdout,
        "replay: cargo course trace alpha/double --seed 7 --strategy pct:3",
    );
}

#[test]
fn check_shows_compile_errors_as_cargo_prints_them() {
    let f = Fixture::new();
    f.write(
        "exercises/01_alpha/add.rs",
        "// TODO\npub fn add(a: u32, b: u32) -> u32 {\n    \"not a number\"\n}\n",
    );
    let out = f.course(&["check", "alpha/add"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_contains(&out.stdout, "error[E0308]: mismatched types");
    assert_last_line(
        &out.stdout,
        "✗ alpha/add: exercises/01_alpha/add.rs does not compile (mismatched types)",
    );
    assert_contains(&out.stdout, "--> exercises/01_alpha/add.rs:3:5");
    assert_contains(&out.stdout, "hint:   cargo course hint alpha/add");
    assert!(!out.stdout.contains("Compiling"), "{}", out.stdout);
}

#[test]
fn check_of_a_topic_checks_each_step_and_passes_only_if_all_do() {
    let f = Fixture::new();
    f.solve("01_alpha/add.rs");
    let out = f.course(&["check", "alpha"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_contains(&out.stdout, "✓ alpha/add passed");
    assert_contains(&out.stdout, "✗ alpha/double");
    assert_last_line(&out.stdout, "✗ 1 of 2 steps pass");
    f.solve("01_alpha/double.rs");
    let out = f.course(&["check", "alpha"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_last_line(&out.stdout, "✓ 2 of 2 steps pass");
    assert_contains(&out.stdout, "next: beta/greet");
}

#[test]
fn a_hanging_test_is_stopped_by_the_watchdog() {
    let f = Fixture::new();
    // Build everything first, so that the watchdog's time goes to the one rebuild below.
    assert_eq!(f.course(&["check", "alpha/add"]).code, 1);
    f.write(
        "exercises/01_alpha/add.rs",
        "// TODO\npub fn add(_: u32, _: u32) -> u32 {\n    loop {\n        std::thread::park();\n    }\n}\n",
    );
    let mut cmd = f.command(&["check", "alpha/add"]);
    // Long enough to rebuild the fixture on a busy machine, short enough for a test.
    cmd.env("COURSE_TIMEOUT_SECS", "8");
    let output = cmd.stdin(Stdio::null()).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert_contains(
        &stdout,
        "the tests were still running after 8.0 s and were stopped",
    );
}

#[test]
fn hints_come_one_at_a_time_then_the_last_repeats() {
    let f = Fixture::new();
    let first = f.course(&["hint", "alpha/double"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_contains(&first.stdout, "(hint 1 of 3)");
    assert_contains(&first.stdout, "Twice as much.");
    assert_contains(&f.course(&["hint", "alpha/double"]).stdout, "(hint 2 of 3)");
    let third = f.course(&["hint", "alpha/double"]).stdout;
    assert_contains(&third, "(hint 3 of 3)");
    assert_contains(&third, "That was the last hint.");
    let again = f.course(&["hint", "alpha/double"]).stdout;
    assert_contains(&again, "(hint 3 of 3)");
    assert_contains(&again, "Really: `x * 2`.");
    assert_contains(&again, "There are no more hints");
    // Without a step: the current one.
    assert_contains(
        &f.course(&["hint"]).stdout,
        "hint for alpha/add (hint 1 of 2)",
    );
}

#[test]
fn reset_restores_the_starter_and_asks_first() {
    let f = Fixture::new();
    let starter = f.read("exercises/01_alpha/add.rs");
    f.solve("01_alpha/add.rs");
    assert_eq!(f.course(&["check", "alpha/add"]).code, 0);

    let refused = f.course(&["reset", "alpha/add"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_contains(&refused.stdout, "standard input is not a terminal");
    assert_contains(&refused.stdout, "cargo course reset alpha/add --yes");
    assert_ne!(f.read("exercises/01_alpha/add.rs"), starter);

    let out = f.course(&["reset", "alpha/add", "--yes"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_contains(
        &out.stdout,
        "Restored exercises/01_alpha/add.rs to the starter.",
    );
    assert_eq!(f.read("exercises/01_alpha/add.rs"), starter);
    assert_contains(&f.course(&["list"]).stdout, "▶ · alpha/add");

    // A deleted file comes back too.
    fs::remove_file(f.path("exercises/01_alpha/double.rs")).unwrap();
    let check = f.course(&["check", "alpha/double"]);
    assert_eq!(check.code, 1);
    // (wrapped to fit 100 columns)
    assert_contains(
        &check.stderr.replace("\n  ", " "),
        "cargo course reset alpha/double --yes",
    );
    assert_eq!(f.course(&["reset", "alpha/double", "-y"]).code, 0);
    assert!(f.path("exercises/01_alpha/double.rs").is_file());
}

#[test]
fn reset_restores_the_starter_as_shipped_after_course_toml_changes_and_cargo_clean() {
    let f = Fixture::new();
    let starter = f.read("exercises/01_alpha/add.rs");
    assert_eq!(f.course(&["check", "alpha/add"]).code, 1); // builds the runner's folder
    f.solve("01_alpha/add.rs");
    // What used to re-embed the student's edit as "the starter": course.toml edited (as by
    // a `git pull`), the build folder removed (`cargo clean`).
    let toml = f.read("course.toml");
    f.write(
        "course.toml",
        &format!("{toml}\n# a new line from upstream\n"),
    );
    fs::remove_dir_all(&f.target).unwrap();
    let out = f.course(&["reset", "alpha/add", "--yes"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(f.read("exercises/01_alpha/add.rs"), starter);
}

#[test]
fn hint_all_shows_again_the_hints_already_seen() {
    let f = Fixture::new();
    let none = f.course(&["hint", "alpha/double", "--all"]);
    assert_eq!(none.code, 0, "{none:?}");
    assert_contains(&none.stdout, "No hint for alpha/double revealed yet");
    f.course(&["hint", "alpha/double"]);
    f.course(&["hint", "alpha/double"]);
    let all = f.course(&["hint", "alpha/double", "--all"]).stdout;
    assert_contains(&all, "(hint 1 of 3)");
    assert_contains(&all, "Twice as much.");
    assert_contains(&all, "(hint 2 of 3)");
    assert!(
        !all.contains("(hint 3 of 3)"),
        "--all reveals nothing new:\n{all}"
    );
    assert_contains(&all, "The next one: `cargo course hint alpha/double`");
}

#[test]
fn commands_are_suggested_with_just_where_just_is_installed() {
    let f = Fixture::new();
    let out = f
        .command(&["hint", "alpha/add"])
        .env("COURSE_USE_JUST", "1")
        .output()
        .unwrap();
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        "More: `just hint alpha/add`",
    );
    // Without the override, the runner looks for `just` on PATH.
    let empty = tempfile::tempdir().unwrap();
    let cargo_dir = PathBuf::from(env!("CARGO"));
    let path = std::env::join_paths([empty.path(), cargo_dir.parent().unwrap()]).unwrap();
    let out = f
        .command(&["hint", "alpha/double"])
        .env_remove("COURSE_USE_JUST")
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        "More: `cargo course hint alpha/double`",
    );
    let fake_just = empty.path().join("just");
    fs::write(&fake_just, "#!/bin/sh\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&fake_just, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = f
        .command(&["hint", "beta/greet"])
        .env_remove("COURSE_USE_JUST")
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_contains(
        &String::from_utf8_lossy(&out.stdout),
        "More: `just hint beta/greet`",
    );
}

#[test]
fn solution_is_refused_until_the_step_passes_unless_forced() {
    let f = Fixture::new();
    let refused = f.course(&["solution", "alpha/double"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_contains(&refused.stdout, "alpha/double does not pass yet");
    assert_contains(
        &refused.stdout,
        "cargo course solution alpha/double --force",
    );

    let forced = f.course(&["solution", "alpha/double", "--force"]);
    assert_eq!(forced.code, 0, "{forced:?}");
    let s = &forced.stdout;
    assert_contains(s, "--- exercises/01_alpha/double.rs (yours)");
    assert_contains(s, "+++ solutions/01_alpha/double.rs (the reference)");
    assert_contains(s, "@@ ");
    assert_contains(s, "-    // TODO: double it.");
    assert_contains(s, "+    x * 2");

    f.write(
        "exercises/01_alpha/double.rs",
        "// TODO\npub fn double(x: u32) -> u32 {\n    x + x\n}\n",
    );
    assert_eq!(f.course(&["check", "alpha/double"]).code, 0);
    let shown = f.course(&["solution", "alpha/double"]);
    assert_eq!(shown.code, 0, "{shown:?}");
    assert_contains(&shown.stdout, "-    x + x");
}

#[test]
fn report_json_gives_points_per_step_and_totals() {
    let f = Fixture::new();
    f.solve("01_alpha/double.rs");
    let out = f.course(&["report", "--json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let report: Value = serde_json::from_str(&out.stdout).expect("stdout is only JSON");
    assert_eq!(report["course"], "Fixture course");
    let steps = report["steps"].as_array().unwrap();
    let row = |name: &str| {
        steps
            .iter()
            .find(|s| s["step"] == name)
            .unwrap_or_else(|| panic!("no {name} in {report}"))
            .clone()
    };
    assert_eq!(row("add")["topic"], "alpha");
    assert_eq!(row("add")["status"], "failed");
    assert_eq!(row("add")["earned"], 0);
    assert_eq!(row("double")["status"], "passed");
    assert_eq!(row("double")["earned"], 3);
    assert_eq!(row("greet")["status"], "passed");
    assert_eq!(row("greet")["points"], 1);
    assert_eq!(report["points"], 6);
    assert_eq!(report["earned"], 4);
    assert_eq!(report["passed"], 2);
    assert_eq!(report["total"], 3);
    assert_contains(&out.stderr, "checking alpha/add... failed");
    // The statuses are remembered.
    assert_contains(&f.course(&["list"]).stdout, "✓ alpha/double  done");
}

#[test]
fn trace_runs_one_test_on_one_schedule_with_the_scheduler_settings() {
    let f = Fixture::new();
    f.solve("01_alpha/add.rs");
    let out = f.course(&[
        "trace",
        "alpha/add",
        "--test",
        "two_plus_three_is_five",
        "--seed",
        "42",
        "--strategy",
        "pct:3",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_contains(
        &out.stdout,
        "tracing `two_plus_three_is_five` of alpha/add on seed 42, strategy pct:3",
    );
    assert_contains(&out.stdout, "trace: seed 42, step alpha/add");
    assert_last_line(
        &out.stdout,
        "✓ `two_plus_three_is_five` passes on this schedule",
    );
}

#[test]
fn trace_replays_the_first_failing_test_and_checks_the_strategy_first() {
    let f = Fixture::new();
    let out = f.course(&["trace", "alpha/double", "--strategy", "pct3"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_contains(&out.stderr, "--strategy \"pct3\" is not a strategy");
    assert!(
        !f.target.join("course").exists(),
        "nothing may be built for a bad strategy"
    );
    let out = f.course(&["trace", "alpha/double"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_contains(
        &out.stdout,
        "tracing `double_of_two_is_four` of alpha/double on seed 7, strategy pct:3",
    );
    assert_contains(&out.stdout, "double(2) must be 4");
    assert!(!out.stdout.contains("unrelated_test"), "{}", out.stdout);
    assert_last_line(
        &out.stdout,
        "✗ `double_of_two_is_four` fails on this schedule: double(2) must be 4",
    );
}

#[test]
fn verify_passes_on_a_sound_course() {
    let f = Fixture::new();
    let out = f.course(&["verify"]);
    assert_eq!(out.code, 0, "{}", out.all());
    let s = &out.stdout;
    assert_contains(
        s,
        "[1/3] alpha/add     reference ✓ 1 test · starter ✓ fails as shipped",
    );
    assert_contains(
        s,
        "[3/3] beta/greet    reference ✓ 1 test · starter ✓ passes (a demo step)",
    );
    assert_contains(s, "verify passed: 2 topics, 3 steps, no problem");
    // One topic only.
    let out = f.course(&["verify", "beta"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_contains(&out.stdout, "1 topic, 1 step");
}

#[test]
fn verify_lists_every_problem_in_the_steps() {
    let f = Fixture::new();
    // A solved starter.
    f.solve("01_alpha/add.rs");
    f.write(
        "exercises/01_alpha/add.rs",
        &(f.read("exercises/01_alpha/add.rs") + "// TODO: nothing left\n"),
    );
    // A broken reference (it fails its test) that still has a todo.
    f.write(
        "solutions/01_alpha/double.rs",
        "//! Double.\n\n/// Twice.\npub fn double(x: u32) -> u32 {\n    x + 1 // todo!(later)\n}\n",
    );
    // A starter without TODO, and with a warning.
    f.write(
        "exercises/02_beta/greet.rs",
        "/// A greeting.\npub fn greet() -> String {\n    let unused = 1;\n    \"hello\".to_string()\n}\n",
    );
    let out = f.course(&["verify"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let s = &out.stdout;
    assert_contains(s, "the starter of alpha/add passes its tests as shipped");
    assert_contains(
        s,
        "the reference of alpha/double (solutions/01_alpha/double.rs) fails 1 test; the first, `double_of_two_is_four`",
    );
    assert_contains(s, "double(2) must be 4");
    assert_contains(
        s,
        "the reference solutions/01_alpha/double.rs:5 still has `todo!(`",
    );
    assert_contains(s, "the starter exercises/02_beta/greet.rs has no `// TODO`");
    assert_contains(
        s,
        "starter exercises/02_beta/greet.rs:3 compiles with a warning: unused variable: `unused`",
    );
    assert_contains(
        s,
        ".course/starters/01_alpha/add.rs (what `reset` restores) differs from the starter exercises/01_alpha/add.rs; if exercises/ holds the starters as they should ship, run `cargo course verify --update-starters`",
    );
    assert_contains(
        s,
        ".course/starters/02_beta/greet.rs (what `reset` restores) differs",
    );
    assert_contains(s, "verify found 7 problems");
    // A teacher who meant the change refreshes the copies in the same run.
    let out = f.course(&["verify", "--update-starters"]);
    assert_contains(
        &out.stdout,
        "updated the starters as shipped: .course/starters/01_alpha/add.rs, .course/starters/02_beta/greet.rs",
    );
    assert!(
        !out.stdout.contains("what `reset` restores"),
        "{}",
        out.stdout
    );
    assert_eq!(
        f.read(".course/starters/02_beta/greet.rs"),
        f.read("exercises/02_beta/greet.rs")
    );
}

#[test]
fn verify_catches_tree_snapshot_and_book_problems() {
    let f = Fixture::new();
    f.write("exercises/01_alpha/notes.txt", "scratch");
    f.write("solutions/99_ghost/x.rs", "");
    f.write(
        "crates/alpha/tests/snapshots/add__table.snap.new",
        "pending",
    );
    fs::remove_file(f.path("crates/beta/tests/greet.rs")).unwrap();
    f.write(
        "book/src/alpha.md",
        "# Alpha\n\nSee [nowhere](missing.md) and [the code](../../crates/alpha/src/lib.rs).\n\n```rust\n{{#include ../../.course/starters/01_alpha/add.rs:nope}}\n{{#include ../../.course/starters/01_alpha/gone.rs}}\n```\n",
    );
    f.write("book/src/SUMMARY.md", "# Summary\n\n- [Alpha](alpha.md)\n");
    let out = f.course(&["verify"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let s = &out.stdout;
    for expected in [
        "stray file exercises/01_alpha/notes.txt: no step of `alpha` declares it",
        "stray folder solutions/99_ghost/: no topic in course.toml has dir = \"99_ghost\"",
        "pending snapshot crates/alpha/tests/snapshots/add__table.snap.new",
        "step `beta/greet`: no test target `greet` in package `beta` (expected crates/beta/tests/greet.rs)",
        "book/src/alpha.md:3: link `missing.md` points to a file that does not exist",
        "book/src/alpha.md:3: link `../../crates/alpha/src/lib.rs` points outside book/src",
        "book/src/alpha.md:6: `{{#include ../../.course/starters/01_alpha/add.rs:nope}}` needs the anchor `nope`",
        "book/src/alpha.md:7: `{{#include ../../.course/starters/01_alpha/gone.rs}}` includes ../../.course/starters/01_alpha/gone.rs, which does not exist",
        "book/src/SUMMARY.md does not link the chapter of topic `beta`",
        "[3/3] beta/greet    skipped: see the problems above",
        "verify found 9 problems",
    ] {
        assert_contains(s, expected);
    }
}

#[test]
fn unknown_names_suggest_the_nearest_and_exit_2() {
    let f = Fixture::new();
    let out = f.course(&["check", "alpah"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_contains(&out.stderr, "no topic `alpah`; did you mean `alpha`?");
    let out = f.course(&["hint", "alpha/dubble"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_contains(
        &out.stderr,
        "no step `dubble` in topic `alpha`; did you mean `alpha/double`?",
    );
    let out = f.course(&["solution", "alpha"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_contains(&out.stderr, "topic `alpha` has 2 steps");
    let out = f.course(&["bogus"]);
    assert_eq!(out.code, 2, "{out:?}");
    let elsewhere = tempfile::tempdir().unwrap();
    let mut cmd = f.command(&["list"]);
    let out = cmd.current_dir(elsewhere.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_contains(&String::from_utf8_lossy(&out.stderr), "no course.toml in");
}

#[test]
fn a_corrupt_state_file_is_rebuilt_with_a_notice() {
    let f = Fixture::new();
    f.write(".course-state.json", "{ this is not json");
    let out = f.course(&["list"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_contains(&out.stderr, ".course-state.json is corrupt");
    assert_contains(&out.stdout, "▶ · alpha/add");
    let state: Value = serde_json::from_str(&f.read(".course-state.json")).expect("rebuilt");
    assert_eq!(state["current"], "alpha/add");
    // Stale entries (steps no longer in course.toml) are dropped, the rest kept.
    f.write(
        ".course-state.json",
        r#"{"version": 1, "steps": {"alpha/add": {"status": "done"}, "gone/away": {"status": "done"}}}"#,
    );
    let out = f.course(&["list"]);
    assert_contains(
        &out.stderr,
        "forgetting progress on a step no longer in course.toml: gone/away",
    );
    assert_contains(&out.stdout, "✓ alpha/add");
    assert!(!f.read(".course-state.json").contains("gone/away"));
    assert!(
        f.course(&["list"]).stderr.is_empty(),
        "the notice comes once"
    );
}

#[test]
fn syllabus_errors_are_precise() {
    let f = Fixture::new();
    let toml = f.read("course.toml");
    f.write(
        "course.toml",
        &toml.replace("name = \"double\"", "name = \"add\""),
    );
    let out = f.course(&["list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_contains(&out.stderr, "duplicate step name `alpha/add`");
    f.write(
        "course.toml",
        &toml.replace(
            "hints = [\"It already works.\", \"Change the text if you like.\"]",
            "hints = [\"Only one.\"]",
        ),
    );
    assert_eq!(
        f.course(&["list"]).code,
        0,
        "too few hints does not stop students"
    );
    let out = f.course(&["verify", "beta"]);
    assert_contains(
        &out.stdout,
        "course.toml: step `beta/greet` has 1 hint; give at least 2",
    );
}

#[test]
fn watch_checks_on_save_moves_on_with_n_and_quits_with_q() {
    let f = Fixture::new();
    let mut child = f
        .command(&["watch", "--poll"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |needle: &str| {
        while !seen.contains(needle) {
            match rx.recv_timeout(Duration::from_secs(120)) {
                Ok(line) => {
                    seen.push_str(&line);
                    seen.push('\n');
                }
                Err(_) => panic!("watch never printed `{needle}`; it printed:\n{seen}"),
            }
        }
        let at = seen.find(needle).unwrap() + needle.len();
        seen.drain(..at);
    };
    // Each check starts with the keys and ends with the verdict.
    wait_for("watching exercises/01_alpha/add.rs (polling) · keys (then Enter): h hint");
    wait_for("✗ alpha/add");
    writeln!(stdin, "n").unwrap(); // not yet: the step fails
    wait_for("n moves on once alpha/add passes");
    f.solve("01_alpha/add.rs");
    wait_for("Press n for the next step (alpha/double)");
    wait_for("✓ alpha/add passed");
    writeln!(stdin, "n").unwrap();
    wait_for("watching exercises/01_alpha/double.rs (polling)");
    wait_for("✗ alpha/double");
    writeln!(stdin, "h").unwrap();
    wait_for("hint for alpha/double (hint 1 of 3)");
    writeln!(stdin, "a").unwrap();
    wait_for("hint for alpha/double (hint 1 of 3)");
    wait_for("The next one: `cargo course hint alpha/double`");
    writeln!(stdin, "q").unwrap();
    let status = child.wait().unwrap();
    assert!(status.success());
}

#[test]
fn verify_says_once_when_cargo_cannot_load_the_workspace() {
    let f = Fixture::new();
    f.write(
        "crates/beta/Cargo.toml",
        "[package]\nname = \"beta\"\nversion = \n",
    );
    let out = f.course(&["verify"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let s = &out.stdout;
    assert_contains(
        s,
        "cargo cannot load the workspace, so nothing was built or tested",
    );
    assert_contains(s, "crates/beta/Cargo.toml");
    assert_contains(s, "[1/3] alpha/add     skipped");
    assert!(!s.contains("does not compile"), "{s}");
}

#[test]
fn colours_follow_clicolor_force_and_reach_cargo() {
    let f = Fixture::new();
    f.write(
        "exercises/01_alpha/add.rs",
        "// TODO\npub fn add(a: u32, b: u32) -> u32 {\n    \"not a number\"\n}\n",
    );
    let output = f
        .command(&["check", "alpha/add"])
        .env_remove("NO_COLOR")
        .env("CLICOLOR_FORCE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_contains(&stdout, "\u{1b}[");
    // cargo's own diagnostics keep their colours, and the path is still shortened.
    assert_contains(&stdout, "\u{1b}[91merror[E0308]");
    assert_contains(&stdout, "\u{1b}[0mexercises/01_alpha/add.rs:3:5");
}
