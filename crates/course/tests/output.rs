//! What the runner prints, snapshotted: the real `course` binary checks a step of the real
//! course in a scratch copy where one exercise file is swapped for a fixture.
//!
//! Fixtures: `tests/cases/<topic>/<step>/<case>.rs` is a wrong (or right) solution of
//! `exercises/<dir>/<step file>`; the case `starter` checks the starter as shipped. Each
//! output is first checked for what must never reach a student (a line over 100 columns,
//! "scenario error", insta's own footer, a paragraph printed twice, a verdict that is not
//! last or does not name the cause), then snapshotted as one insta snapshot,
//! `tests/snapshots/output__<topic>__<step>__<case>.snap`, with pids, thread ids, inodes,
//! times and paths redacted and the lines the runner wrapped joined again (a pid one digit
//! longer moves every wrap after it).
//!
//! The messages themselves belong to the topics' tests and change often; to regenerate
//! the snapshots after reading the new output:
//!
//! ```text
//! INSTA_UPDATE=always cargo test -p course --test output   # then review the diff in git
//! ```
//!
//! The scratch copies share the workspace's target folder, so each case rebuilds only its
//! topic's crate. Cases are chosen to fail fast (every topic once, the hangs and crashes
//! the runner must explain: an endless loop in simulated code, a stack overflow, a process
//! blocked on a pipe).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The workspace's root (two levels above this crate).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace exists")
}

/// The target folder this test was built in (the runner's builds go beside it).
fn target_dir() -> PathBuf {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_course"));
    // target/<profile>/course
    exe.parent()
        .and_then(Path::parent)
        .expect("the runner lives in target/<profile>/")
        .to_path_buf()
}

/// A scratch course: links to the real course's folders, its own `exercises/`.
struct Scratch {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Scratch {
    /// A copy of the course where `exercises/<rel>` holds `contents` (when given).
    fn new(swap: Option<(&str, &str)>) -> Scratch {
        let real = workspace();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let root = dir.path().join("course");
        fs::create_dir_all(&root).unwrap();
        for entry in ["Cargo.toml", "Cargo.lock", "course.toml"] {
            fs::copy(real.join(entry), root.join(entry)).unwrap();
        }
        for entry in ["crates", "solutions", ".course", ".cargo", "book"] {
            if real.join(entry).exists() {
                std::os::unix::fs::symlink(real.join(entry), root.join(entry)).unwrap();
            }
        }
        // The starters as shipped, whatever the developer's own exercises/ holds.
        copy_dir(&real.join(".course/starters"), &root.join("exercises"));
        if let Some((rel, contents)) = swap {
            fs::write(root.join("exercises").join(rel), contents).unwrap();
        }
        Scratch { _dir: dir, root }
    }

    /// Runs the runner with `args` as a student on a machine without `just` would.
    fn course(&self, args: &[&str]) -> String {
        let output = Command::new(env!("CARGO_BIN_EXE_course"))
            .args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", target_dir())
            .env("NO_COLOR", "1")
            .env("COURSE_USE_JUST", "0")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CARGO_TERM_COLOR")
            .env_remove("RUST_BACKTRACE")
            .env_remove("COURSE_TIMEOUT_SECS")
            .env_remove("INTERLEAVE_SEED")
            .env_remove("INTERLEAVE_STRATEGY")
            .env_remove("INTERLEAVE_ITERATIONS")
            .stdin(Stdio::null())
            .output()
            .expect("the runner runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        // How long a build takes depends on the machine, not on the step.
        text.replace(&*self.root.to_string_lossy(), "[COURSE]")
            .lines()
            .filter(|l| !l.starts_with("still compiling ("))
            .collect::<Vec<_>>()
            .join("\n")
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

/// The exercise file of `topic/step`, from course.toml (`<dir>/<file>`).
fn exercise_of(id: &str) -> String {
    let (topic, step) = id.split_once('/').expect("topic/step");
    let toml: toml::Table = fs::read_to_string(workspace().join("course.toml"))
        .unwrap()
        .parse()
        .unwrap();
    for t in toml["topics"].as_array().unwrap() {
        if t["name"].as_str() != Some(topic) {
            continue;
        }
        for s in t["steps"].as_array().unwrap() {
            if s["name"].as_str() == Some(step) {
                return format!(
                    "{}/{}",
                    t["dir"].as_str().unwrap(),
                    s["file"].as_str().unwrap()
                );
            }
        }
    }
    panic!("no step {id} in course.toml")
}

/// The redactions that make an output the same on every run and machine.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\(pid \d+", "(pid [PID]"),
        (r"\bparent \d+", "parent [PID]"),
        (r"\bfrom \d{3,}\b", "from [PID]"),
        (r"\bpid \d+", "pid [PID]"),
        (r"\bpids? \[?\d+(, \d+)*\]?", "pid [PID]"),
        (r"thread '([^']*)' \(\d+\)", "thread '$1' ([TID])"),
        (r"(pipe|socket|anon_inode):\[\d+\]", "$1:[INODE]"),
        (r"\b\d+\.\d+ s\b", "[TIME]"),
        // A duration read from the real clock (std's Instant in a simulation): nanoseconds.
        (r"\b\d+\.\d{4,}s\b *", "[REAL DURATION] "),
        (r"0x[0-9a-f]{6,}", "[ADDR]"),
        (r"/tmp/[^\s:`'\)]+", "[TMP]"),
        (r"course-check-\d+-\d+", "[TMPDIR]"),
        // Parallel tests that all hang: whichever the watchdog catches first.
        (
            r"real time in test\s+`[a-z_]+`",
            "real time in test `[TEST]`",
        ),
        // The starter of ipc/process_queue reads the feeder's error in close() without
        // joining the feeder (the TODO the step asks to fix): whether the feeder has failed
        // by then is the scheduler's choice, so that one test passes or fails with the
        // starter, and the count with it.
        ("`close_reports_values_nobody_will_ever_read`, ", ""),
        (
            r"(ipc/process_queue: [^\n]*)\((?:13|14) of 19 tests failed\)",
            "$1([13 or 14] of 19 tests failed)",
        ),
        // The starter of signals/handshake waits with pause(): in the natural handshake,
        // whether SIGUSR1 comes before the pause (and is lost) in one of ten runs is the
        // scheduler's choice, so that one test passes or fails with the starter.
        (
            ", `handshake_completes_whenever_the_scheduler_delivers_sigusr1`",
            "",
        ),
        (
            r"(signals/handshake: [^\n]*)\((?:6|7) of 20 tests failed\)",
            "$1([6 or 7] of 20 tests failed)",
        ),
        // interleave and proctest wrap their own error, note and help lines (where, depends
        // on the width of the pids in them): join them again, one continuation per pass.
        (r"((?:error|note|help): [^\n]*)\n {8,}", "$1 "),
        (r"((?:error|note|help): [^\n]*)\n {8,}", "$1 "),
        (r"((?:error|note|help): [^\n]*)\n {8,}", "$1 "),
        (r"((?:error|note|help): [^\n]*)\n {8,}", "$1 "),
        (r"((?:error|note|help): [^\n]*)\n {8,}", "$1 "),
        (r"((?:error|note|help): [^\n]*)\n {8,}", "$1 "),
    ]
}

/// Checks `topic/step` with the fixture `case` (or the starter) and snapshots the output.
fn check(id: &str, case: &str) {
    let rel = exercise_of(id);
    let fixture = (case != "starter").then(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/cases")
            .join(id)
            .join(format!("{case}.rs"));
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    });
    let scratch = Scratch::new(fixture.as_deref().map(|text| (rel.as_str(), text)));
    let output = scratch.course(&["check", id]);
    assert_readable(id, case, &output);
    let name = format!("{}__{case}", id.replace('/', "__"));
    let output = unwrap(&output);
    insta::with_settings!({
        filters => filters(),
        prepend_module_to_snapshot => true,
        omit_expression => true,
        description => format!("cargo course check {id}, with tests/cases/{id}/{case}.rs"),
    }, {
        insta::assert_snapshot!(name, output);
    });
}

/// Joins the lines the runner wrapped to fit 100 columns (its rule: a continuation is
/// indented two spaces more than the line it continues, and starts with the word that did
/// not fit on that line).
fn unwrap(output: &str) -> String {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let mut lines: Vec<String> = Vec::new();
    let mut previous = "";
    let mut continuation_indent: Option<usize> = None;
    for line in output.lines() {
        let first_word = line.split_whitespace().next().unwrap_or_default();
        let expected = continuation_indent.unwrap_or(indent(previous) + 2);
        let continues = !lines.is_empty()
            && !line.trim().is_empty()
            && indent(line) == expected
            && previous.chars().count() + 1 + first_word.chars().count() > 100;
        if continues {
            let joined = lines.last_mut().expect("checked");
            joined.push(' ');
            joined.push_str(line.trim_start());
            continuation_indent = Some(expected);
        } else {
            lines.push(line.to_string());
            continuation_indent = None;
        }
        previous = line;
    }
    lines.join("\n")
}

/// What must hold for every output, whatever the topic's messages say.
fn assert_readable(id: &str, case: &str, output: &str) {
    let what = format!("`check {id}` with {case}");
    for line in output.lines() {
        assert!(
            line.chars().count() <= 100,
            "{what}: a line over 100 columns ({}):\n{line}\n\nin:\n{output}",
            line.chars().count()
        );
    }
    // insta's own words (not `Instant`, which a clock step may well name).
    let lower = output.to_lowercase();
    assert!(
        !lower
            .match_indices("insta")
            .any(|(at, _)| !lower[at + 5..].starts_with(|c: char| c.is_alphanumeric())),
        "{what}: `insta` must not reach a student:\n{output}"
    );
    for banned in [
        "scenario error",
        "cargo-insta",
        "RUST_BACKTRACE",
        "stack backtrace",
        "test result:",
        "note: run with",
    ] {
        assert!(
            !output.to_lowercase().contains(&banned.to_lowercase()),
            "{what}: `{banned}` must not reach a student:\n{output}"
        );
    }
    let last = output.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("✗ ") || last.starts_with("✓ ") || last.starts_with("  "),
        "{what}: the verdict must come last, not:\n{last}\n\nin:\n{output}"
    );
    let lines: Vec<&str> = output.trim_end().lines().collect();
    let verdict_start = lines
        .iter()
        .rposition(|l| l.starts_with("✗ ") || l.starts_with("✓ "))
        .expect("a verdict line");
    let verdict = &lines[verdict_start..];
    let verdict = verdict.join(" ");
    assert!(
        verdict.len() > format!("✗ {id}: ").len() + 10,
        "{what}: the verdict must name the cause:\n{verdict}"
    );
    // The runner says each thing once: one replay line, one hint line, one verdict, and no
    // paragraph of the explanation twice (a panic reported again by the scheduler).
    for (what_line, prefix) in [
        ("replay", "replay: "),
        ("hint", "hint: "),
        ("verdict", "✗ "),
    ] {
        let count = output.lines().filter(|l| l.starts_with(prefix)).count();
        assert!(count <= 1, "{what}: {count} {what_line} lines:\n{output}");
    }
    let mut paragraphs: Vec<String> = output
        .split("\n\n")
        .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join("\n"))
        .filter(|p| p.lines().count() >= 2)
        .collect();
    paragraphs.sort_unstable();
    for pair in paragraphs.windows(2) {
        assert!(
            pair[0] != pair[1],
            "{what}: a paragraph is printed twice:\n{}\n\nin:\n{output}",
            pair[0]
        );
    }
}

/// One test per topic, each checking its cases in turn (they share the runner's build
/// folder and run one at a time anyway).
macro_rules! cases {
    ($($test:ident: $step:literal => [$($case:literal),+ $(,)?];)+) => {
        $(
            #[test]
            fn $test() {
                $( check($step, $case); )+
            }
        )+
    };
}

cases! {
    warmup: "warmup/scoped_sum" => ["starter", "stack_overflow"];
    monitor: "monitor/balance" => ["starter", "endless_loop"];
    bounded_buffer: "bounded_buffer/monitor" => ["starter"];
    tunnel: "tunnel/basic" => ["starter"];
    rw_monitor: "rw_monitor/mesa" => ["starter"];
    rw_monitor_table: "rw_monitor/hoare" => ["starter"];
    philosophers: "philosophers/ordering" => ["starter"];
    messages: "messages/mailbox" => ["starter"];
    locks: "locks/reentrant" => ["starter"];
    locks_clocks: "locks/clocks" => ["std_instant"];
    fork: "fork/spawn" => ["starter"];
    fork_memory: "fork/memory" => ["made_up_view"];
    signals: "signals/handshake" => ["starter"];
    pipes: "pipes/oneway" => ["starter"];
    pipes_hang: "pipes/pipeline" => ["starter"];
    mmap: "mmap/file" => ["starter"];
    multiplexing: "multiplexing/readiness" => ["starter"];
    ipc: "ipc/process_queue" => ["starter"];
}

#[test]
fn a_later_step_that_does_not_compile_does_not_fail_an_earlier_one() {
    // tunnel/fair broken, tunnel/basic solved: basic passes, fair is blamed on its file.
    let real = workspace();
    let scratch = Scratch::new(Some((
        "03_tunnel/fair.rs",
        "this is not Rust, a student's half-written step\n",
    )));
    fs::copy(
        real.join("solutions/03_tunnel/basic.rs"),
        scratch.root.join("exercises/03_tunnel/basic.rs"),
    )
    .unwrap();
    let basic = scratch.course(&["check", "tunnel/basic"]);
    assert!(
        basic
            .trim_end()
            .ends_with("✓ tunnel/basic passed (5 tests)")
            || basic.contains("✓ tunnel/basic passed"),
        "{basic}"
    );
    let fair = scratch.course(&["check", "tunnel/fair"]);
    let last = fair.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("✗ tunnel/fair: exercises/03_tunnel/fair.rs does not compile"),
        "{fair}"
    );
}
