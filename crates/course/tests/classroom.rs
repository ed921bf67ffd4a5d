//! Drives the real `course` binary through the classroom kit over the fixture course
//! `tests/fixtures/good` (two topics, three steps, no dependencies): a handout and its own
//! verify, a class graded from the pristine course (a complete submission, a partial one,
//! one that edits the tests and the points, one that forges a pass with `exit(0)`, one that
//! prints a summary, one that does not compile, one given as a git repository), a
//! Gradescope bundle grading a submission into results.json, and the report's formats.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// A temporary folder with a copy of the fixture course in `course/` and a target folder.
struct Class {
    dir: tempfile::TempDir,
    course: PathBuf,
    target: PathBuf,
}

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Class {
    fn new() -> Class {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let course = dir.path().join("course");
        copy_dir(&fixture(), &course);
        let target = dir.path().join("target");
        Class {
            dir,
            course,
            target,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs `course` in `cwd` with this class's target folder.
    fn course_in(&self, cwd: &Path, args: &[&str]) -> Out {
        let output = Command::new(env!("CARGO_BIN_EXE_course"))
            .args(args)
            .current_dir(cwd)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("RUST_BACKTRACE")
            .env_remove("COURSE_TIMEOUT_SECS")
            .stdin(Stdio::null())
            .output()
            .expect("the course binary runs");
        Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn course(&self, args: &[&str]) -> Out {
        self.course_in(&self.course, args)
    }

    /// A student's copy of the course under `subs/<name>`, changed by `edit`.
    fn submission(&self, name: &str, edit: impl FnOnce(&Path)) -> PathBuf {
        let root = self.path(&format!("subs/{name}"));
        copy_dir(&fixture(), &root);
        fs::remove_dir_all(root.join("solutions")).unwrap();
        edit(&root);
        root
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good")
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

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn solve(root: &Path, rel: &str) {
    let text = fs::read_to_string(fixture().join("solutions").join(rel)).unwrap();
    write(root, &format!("exercises/{rel}"), &text);
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=Student", "-c", "user.email=s@example.com"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?} in {}", dir.display());
}

#[track_caller]
fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected to find\n  {needle}\nin\n{haystack}"
    );
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", path.display()))
}

/// `(status, earned, reason, flags)` of step `id` in a submission's results.
fn step(results: &Value, id: &str) -> (String, u64, String, Vec<String>) {
    let s = results["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            format!(
                "{}/{}",
                s["topic"].as_str().unwrap(),
                s["step"].as_str().unwrap()
            ) == id
        })
        .unwrap_or_else(|| panic!("no {id} in {results}"));
    (
        s["status"].as_str().unwrap().to_string(),
        s["earned"].as_u64().unwrap(),
        s["reason"].as_str().unwrap().to_string(),
        s["flags"]
            .as_array()
            .map(|f| f.iter().map(|f| f.as_str().unwrap().to_string()).collect())
            .unwrap_or_default(),
    )
}

const FORGED_EXIT: &str = r#"//! Add two numbers.

/// The sum of `a` and `b`: or rather, a pass printed and the process ended.
pub fn add(a: u32, b: u32) -> u32 {
    use std::io::Write;
    let _ = (a, b);
    let mut out = std::io::stdout();
    let _ = out.write_all(b"test two_plus_three_is_five ... ok\n\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n\n");
    let _ = out.flush();
    std::process::exit(0)
}
"#;

const PRINTED_SUMMARY: &str = r#"//! Add two numbers.

/// The sum of `a` and `b`, wrong, behind a printed pass.
pub fn add(a: u32, b: u32) -> u32 {
    use std::io::Write;
    let _ = std::io::stdout().write_all(b"test two_plus_three_is_five ... ok\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s\n");
    a * b
}
"#;

#[test]
fn a_class_is_graded_from_the_pristine_course_whatever_the_submissions_hold() {
    let class = Class::new();
    let complete = class.submission("complete", |root| {
        solve(root, "01_alpha/add.rs");
        solve(root, "01_alpha/double.rs");
        solve(root, "02_beta/greet.rs");
    });
    // The complete one is handed in as a git repository (a bare one, as a server holds it).
    git(&complete, &["init", "-q"]);
    git(&complete, &["add", "-A"]);
    git(&complete, &["commit", "-q", "-m", "done"]);
    git(
        class.dir.path(),
        &["clone", "-q", "--bare", "subs/complete", "complete.git"],
    );
    let partial = class.submission("partial", |root| solve(root, "01_alpha/add.rs"));
    let edits = class.submission("edits", |root| {
        // A wrong add, the test rewritten to accept it, and the step worth 100 points.
        write(
            root,
            "exercises/01_alpha/add.rs",
            "//! Add.\n\n/// Wrong.\npub fn add(a: u32, b: u32) -> u32 {\n    a.wrapping_sub(b)\n}\n",
        );
        write(
            root,
            "crates/alpha/tests/add.rs",
            "#[test]\nfn two_plus_three_is_five() {\n    assert_eq!(alpha::add::add(2, 3), 2u32.wrapping_sub(3));\n}\n",
        );
        let toml = fs::read_to_string(root.join("course.toml")).unwrap();
        write(root, "course.toml", &toml.replace("points = 2", "points = 100"));
    });
    let forged = class.submission("forged", |root| {
        write(root, "exercises/01_alpha/add.rs", FORGED_EXIT)
    });
    let printed = class.submission("printed", |root| {
        write(root, "exercises/01_alpha/add.rs", PRINTED_SUMMARY)
    });
    let broken = class.submission("broken", |root| {
        solve(root, "01_alpha/add.rs");
        write(
            root,
            "exercises/01_alpha/double.rs",
            "pub fn double(x: u32) -> u32 { x * }\n",
        );
    });

    let grades = class.path("grades");
    let args: Vec<String> = [
        "grade".to_string(),
        "--jobs".to_string(),
        "2".to_string(),
        "--out".to_string(),
        grades.display().to_string(),
        class.path("complete.git").display().to_string(),
    ]
    .into_iter()
    .chain(
        [&partial, &edits, &forged, &printed, &broken]
            .iter()
            .map(|p| p.display().to_string()),
    )
    .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = class.course(&args);
    assert_eq!(out.code, 0, "{out:?}");
    assert_contains(&out.stdout, "graded 6 submissions");

    let r = read_json(&grades.join("complete.json"));
    assert_eq!(
        (r["earned"].as_u64(), r["points"].as_u64()),
        (Some(6), Some(6))
    );
    assert_eq!(r["submission"], "complete");
    assert_eq!(r["runner_version"], env!("CARGO_PKG_VERSION"));
    assert!(r["course_commit"].is_string());

    let r = read_json(&grades.join("partial.json"));
    assert_eq!(step(&r, "alpha/add").0, "passed");
    let (status, earned, reason, _) = step(&r, "alpha/double");
    assert_eq!((status.as_str(), earned), ("not_attempted", 0));
    assert_eq!(
        reason,
        "exercises/01_alpha/double.rs is the starter as shipped"
    );
    // A demo step whose starter passes is run, and passes.
    assert_eq!(step(&r, "beta/greet").0, "passed");
    assert_eq!(r["earned"], 3);

    // The teacher's test and points, not the submission's.
    let r = read_json(&grades.join("edits.json"));
    let (status, earned, reason, _) = step(&r, "alpha/add");
    assert_eq!((status.as_str(), earned), ("failed", 0));
    assert_eq!(reason, "`two_plus_three_is_five`: add(2, 3) must be 5");
    assert_eq!(r["points"], 6);

    // exit(0) after a printed pass: the harness never finished, and the exit is flagged.
    let r = read_json(&grades.join("forged.json"));
    let (status, earned, reason, flags) = step(&r, "alpha/add");
    assert_eq!((status.as_str(), earned), ("failed", 0));
    assert_contains(
        &reason,
        "the test process ended without the test harness finishing",
    );
    assert_eq!(
        flags,
        [
            "process_exit: std::process::exit (line 10)",
            "early_exit: the test process ended before its harness"
        ]
    );

    // A printed summary changes nothing: the real test fails.
    let r = read_json(&grades.join("printed.json"));
    let (status, _, reason, flags) = step(&r, "alpha/add");
    assert_eq!(status, "failed");
    assert_eq!(reason, "`two_plus_three_is_five`: add(2, 3) must be 5");
    assert!(flags.is_empty(), "{flags:?}");

    // A step that does not compile costs only that step.
    let r = read_json(&grades.join("broken.json"));
    assert_eq!(step(&r, "alpha/add").0, "passed");
    let (status, _, reason, _) = step(&r, "alpha/double");
    assert_eq!(status, "compile_error");
    assert_contains(
        &reason,
        "exercises/01_alpha/double.rs does not compile: error",
    );

    let csv = fs::read_to_string(grades.join("class.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(
        rows[0].starts_with(
            "submission,earned,points,passed,steps,alpha/add,alpha/double,beta/greet,flags,"
        ),
        "{csv}"
    );
    for expected in [
        "complete,6,6,3,3,2,3,1,,",
        "partial,3,6,2,3,2,0,1,,",
        "edits,1,6,1,3,0,0,1,,",
        "forged,1,6,1,3,0,0,1,alpha/add: process_exit: std::process::exit (line 10); alpha/add: early_exit: the test process ended before its harness,",
        "printed,1,6,1,3,0,0,1,,",
        "broken,3,6,2,3,2,0,1,,",
    ] {
        assert!(
            rows.iter().any(|r| r.starts_with(expected)),
            "no row {expected} in\n{csv}"
        );
    }
    // Nothing of the grader's is left in the teacher's course or the submissions.
    assert!(!class.course.join("target").exists());
    assert!(
        !fs::read_to_string(printed.join("crates/alpha/tests/add.rs"))
            .unwrap()
            .contains("course_grade")
    );
}

#[test]
fn a_file_that_reaches_outside_its_step_is_refused_and_a_missing_one_named() {
    let class = Class::new();
    let sneaky = class.submission("sneaky", |root| {
        // The reference, through a path the grader's copy has no solutions/ for, and the
        // linker's section that runs before main.
        write(
            root,
            "exercises/01_alpha/add.rs",
            "#[path = \"../../solutions/01_alpha/add.rs\"]\nmod reference;\npub use reference::add;\n",
        );
        write(
            root,
            "exercises/01_alpha/double.rs",
            "#[used]\n#[unsafe(link_section = \".init_array\")]\nstatic EARLY: extern \"C\" fn() = early;\nextern \"C\" fn early() {}\npub fn double(x: u32) -> u32 { x * 2 }\n",
        );
        fs::remove_file(root.join("exercises/02_beta/greet.rs")).unwrap();
    });
    let out = class.course(&[
        "grade",
        "--out",
        &class.path("grades").display().to_string(),
        &sneaky.display().to_string(),
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let r = read_json(&class.path("grades/sneaky.json"));
    let (status, _, reason, flags) = step(&r, "alpha/add");
    assert_eq!(status, "rejected");
    assert_contains(
        &reason,
        "uses #[path] (line 1), which the grader does not build",
    );
    assert_eq!(flags, ["compile_time_files: #[path] (line 1)"]);
    let (status, _, reason, _) = step(&r, "alpha/double");
    assert_eq!(status, "rejected");
    assert_contains(&reason, "uses #[used] (line 1)");
    let (status, _, reason, _) = step(&r, "beta/greet");
    assert_eq!(status, "missing");
    assert_eq!(
        reason,
        "exercises/02_beta/greet.rs is not in the submission"
    );
    assert_eq!(r["earned"], 0);
}

#[test]
fn a_handout_has_only_its_topics_no_references_and_passes_its_own_verify() {
    let class = Class::new();
    let handout = class.path("handout");
    let out = class.course(&[
        "handout",
        "--out",
        &handout.display().to_string(),
        "--topics",
        "alpha",
        "--solutions-note",
        "they are published on the course page after the deadline",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_contains(&out.stdout, "1 topic (alpha, 2 steps, 5 points)");
    assert!(!handout.join("solutions").exists());
    assert!(!handout.join("crates/beta").exists());
    assert!(!handout.join("exercises/02_beta").exists());
    assert!(!handout.join("book/src/beta.md").exists());
    assert!(handout.join(".course/starters/01_alpha/add.rs").is_file());
    let summary = fs::read_to_string(handout.join("book/src/SUMMARY.md")).unwrap();
    assert!(!summary.contains("beta"), "{summary}");
    // Links to a chapter left behind become plain text; the reference's include says why.
    let intro = fs::read_to_string(handout.join("book/src/intro.md")).unwrap();
    assert_contains(&intro, "Start with [alpha](alpha.md#top), then beta.");
    let alpha = fs::read_to_string(handout.join("book/src/alpha.md")).unwrap();
    assert_contains(&alpha, "(not in this handout: solutions/01_alpha/add.rs)");
    assert_contains(
        &alpha,
        "{{#include ../../.course/starters/01_alpha/add.rs:add}}",
    );
    let toml = fs::read_to_string(handout.join("course.toml")).unwrap();
    assert!(!toml.contains("beta"), "{toml}");
    let readme = fs::read_to_string(handout.join("README.md")).unwrap();
    assert_contains(&readme, "2 steps, 5 points");
    assert_contains(&readme, "`cargo course check alpha/add`");

    let workflow = fs::read_to_string(handout.join(".github/workflows/classroom.yml")).unwrap();
    for expected in [
        "uses: classroom-resources/autograding-command-grader@v1",
        "test-name: alpha/add\n          command: cargo course grade . --steps alpha/add --out target/classroom --exit-code\n          timeout: 15\n          max-score: 2\n",
        "test-name: alpha/double\n          command: cargo course grade . --steps alpha/double --out target/classroom --exit-code\n          timeout: 15\n          max-score: 3\n",
        "uses: classroom-resources/autograding-grading-reporter@v1",
        "ALPHA_ADD_RESULTS: \"${{ steps.alpha_add.outputs.result }}\"",
        "runners: alpha_add,alpha_double\n",
    ] {
        assert_contains(&workflow, expected);
    }

    // Its own verify: no solutions/, starters fail as shipped, the workflow grades every step.
    let verify = class.course_in(&handout, &["verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");
    assert_contains(&verify.stdout, "alpha/add  starter ✓ fails as shipped");
    assert_contains(&verify.stdout, "alpha/double  starter ✓ fails as shipped");
    assert_contains(&verify.stdout, "verify passed: the handout is ready");

    // The workflow's command, as GitHub Classroom runs it in the student's repository: a
    // printed pass and exit(0) fail there too; a solved step passes.
    let graded = |class: &Class| {
        class.course_in(
            &handout,
            &[
                "grade",
                ".",
                "--steps",
                "alpha/add",
                "--out",
                "target/classroom",
                "--exit-code",
            ],
        )
    };
    write(&handout, "exercises/01_alpha/add.rs", FORGED_EXIT);
    let out = graded(&class);
    assert_eq!(out.code, 1, "{out:?}");
    assert_contains(&out.stdout, "0/2 points");
    assert_contains(
        &out.stdout,
        "the test process ended without the test harness finishing",
    );
    solve(&handout, "01_alpha/add.rs");
    let out = graded(&class);
    assert_eq!(out.code, 0, "{out:?}");
    assert_contains(&out.stdout, "2/2 points");

    // The references: when and how they come.
    let solution = class.course_in(&handout, &["solution", "alpha/add", "--force"]);
    assert_eq!(solution.code, 1, "{solution:?}");
    assert_contains(
        &solution.stdout,
        "No reference for alpha/add here: they are published on the course page after the deadline.",
    );

    // A workflow that lost a step's points, a solved starter, a references folder: named.
    fs::write(
        handout.join(".github/workflows/classroom.yml"),
        workflow.replace("max-score: 3", "max-score: 30"),
    )
    .unwrap();
    solve(&handout, "01_alpha/double.rs");
    fs::create_dir_all(handout.join("solutions")).unwrap();
    let verify = class.course_in(&handout, &["verify"]);
    assert_eq!(verify.code, 1, "{verify:?}");
    assert_contains(&verify.stdout, "the handout has a solutions/ folder");
    assert_contains(
        &verify.stdout,
        "the test of alpha/double is worth 30 points, course.toml says 3 points",
    );
    assert_contains(
        &verify.stdout,
        "the starter of alpha/double passes its tests as shipped",
    );
}

#[test]
fn a_gradescope_bundle_grades_a_submission_into_results_json() {
    let class = Class::new();
    let bundle = class.path("bundle");
    let out = class.course(&[
        "gradescope",
        "--out",
        &bundle.display().to_string(),
        "--toolchain",
        "1.85.0",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let setup = fs::read_to_string(bundle.join("setup.sh")).unwrap();
    assert_contains(
        &setup,
        "sh -s -- -y --profile minimal --default-toolchain 1.85.0",
    );
    assert_contains(
        &setup,
        "cargo course grade --prepare --build-dir /autograder/grade",
    );
    let run = fs::read_to_string(bundle.join("run_autograder")).unwrap();
    assert_contains(&run, "cargo course grade /autograder/submission");
    assert_contains(&run, "--gradescope \"$results/results.json\"");
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(bundle.join("run_autograder"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "run_autograder must be executable");
    assert!(!bundle.join("course/solutions").exists());
    assert!(bundle.join("course/.course/commit").is_file());
    let zip = fs::read(bundle.join("autograder.zip")).unwrap();
    assert!(zip.starts_with(b"PK\x03\x04\x14\x00\x00\x08\x00\x00\x00\x00\x21\x00"));
    for name in ["setup.sh", "run_autograder", "course/course.toml"] {
        assert!(
            zip.windows(name.len()).any(|w| w == name.as_bytes()),
            "{name} is not in the zip"
        );
    }

    // What run_autograder does, from the bundle's course: one submission, results.json.
    let partial = class.submission("partial", |root| solve(root, "01_alpha/add.rs"));
    let results = class.path("results/results.json");
    let out = class.course_in(
        &bundle.join("course"),
        &[
            "grade",
            &partial.display().to_string(),
            "--out",
            &class.path("results/grades").display().to_string(),
            "--gradescope",
            &results.display().to_string(),
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let json = read_json(&results);
    let tests = json["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 3);
    assert_eq!(tests[0]["name"], "alpha/add");
    assert_eq!(
        (tests[0]["score"].as_u64(), tests[0]["max_score"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(tests[0]["visibility"], "visible");
    assert_eq!(tests[1]["score"], 0);
    assert_eq!(
        tests[1]["output"],
        "not attempted: exercises/01_alpha/double.rs is the starter as shipped"
    );
    assert_contains(json["output"].as_str().unwrap(), "3/6 points");
}

#[test]
fn report_selects_steps_and_speaks_csv_and_gradescope() {
    let class = Class::new();
    solve(&class.course, "01_alpha/add.rs");
    let out = class.course(&[
        "report",
        "--steps",
        "alpha/add,beta/greet",
        "--format",
        "csv",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout,
        "step,points,earned,status,reason,flags\nalpha/add,2,2,passed,,\nbeta/greet,1,1,passed,,\n"
    );
    let out = class.course(&["report", "--topics", "alpha", "--format", "json"]);
    let json: Value = serde_json::from_str(&out.stdout).expect("only JSON on stdout");
    assert_eq!(json["runner_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["total"], 2);
    let (status, _, reason, _) = step(&json, "alpha/double");
    assert_eq!(status, "failed");
    assert_eq!(reason, "`double_of_two_is_four`: double(2) must be 4");
    let out = class.course(&[
        "report",
        "--steps",
        "alpha/double",
        "--format",
        "gradescope",
    ]);
    let json: Value = serde_json::from_str(&out.stdout).expect("only JSON on stdout");
    assert_eq!(json["tests"][0]["max_score"], 3);
    assert_eq!(
        json["tests"][0]["output"],
        "failed: `double_of_two_is_four`: double(2) must be 4"
    );
    let out = class.course(&["report", "--topics", "alpha/add"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_contains(
        &out.stderr,
        "--topics takes topics, not steps: `--steps alpha/add`",
    );
}
