//! `cargo course grade SUBMISSION...`: grades submissions against the teacher's pristine
//! course.
//!
//! Run in the teacher's course (the one with `solutions/`). From each submission it takes
//! only the step files under `exercises/` ([`super::submission`]); tests, snapshots,
//! course.toml, the engine and the runner are the teacher's. Each step is built as `check`
//! builds it (the runner's per-step mirror: that step's file is the student's, every other
//! step file is the starter as shipped), in the grader's own mirror, which holds no
//! `solutions/` (a student's file cannot `#[path]` its way to a reference) and whose test
//! targets carry the end-of-run evidence ([`super::evidence`]). A pass needs that evidence;
//! what the file uses beyond its reference is flagged or refused ([`super::scan`]); a run
//! that changes the course's files in the mirror is not trusted.
//!
//! The grader's folder is `target/course/grade` (`--build-dir`): one mirror and one build
//! folder per parallel job (`slot-N`), reused from submission to submission, so only the
//! first submission pays for building the dependencies. Files never mix: a slot grades one
//! step of one submission at a time, and prepares its mirror from scratch for each.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Mutex, mpsc};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use super::evidence;
use super::scan;
use super::submission::{self, Submission};
use crate::cargo::{Job, TestCommand, Verdict, run_supervised};
use crate::pristine;
use crate::report::{self, Results, StepResult};
use crate::shadow;
use crate::syllabus::{StepRef, Syllabus};
use crate::ui::{self, UsageError, bold, dim, green, red, yellow};

/// Options of `cargo course grade`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Folders, repository paths or URLs.
    pub submissions: Vec<String>,
    /// Where the per-submission JSON files and class.csv go.
    pub out: PathBuf,
    /// Submissions graded at once (each in its own slot).
    pub jobs: usize,
    /// `--topics`.
    pub topics: Vec<String>,
    /// `--steps`.
    pub steps: Vec<String>,
    /// Also write Gradescope's results.json here (one submission only).
    pub gradescope: Option<PathBuf>,
    /// Only build the pristine course and list its tests (for an autograder's image).
    pub prepare: bool,
    /// The grader's folder (default `target/course/grade`).
    pub build_dir: Option<PathBuf>,
    /// Exit with 1 unless every graded step of every submission passed (for a CI step).
    pub exit_code: bool,
}

/// What every slot builds from: the teacher's files, by path in the mirror.
struct Plan<'a> {
    syllabus: &'a Syllabus,
    steps: Vec<StepRef<'a>>,
    dir: PathBuf,
    /// The teacher's course without `solutions/`, every step file as shipped, and the
    /// graded test targets with the evidence module appended.
    base: BTreeMap<PathBuf, PathBuf>,
    /// What each step's reference uses of what [`scan`] flags, in a Gradescope bundle
    /// (which has no `solutions/`).
    allowed: BTreeMap<String, Vec<String>>,
}

/// Grades every submission and writes the results.
pub fn run(syllabus: &Syllabus, options: &Options, out: &mut dyn Write) -> Result<ExitCode> {
    let steps = report::select(syllabus, &options.topics, &options.steps)?;
    if options.submissions.is_empty() && !options.prepare {
        return Err(UsageError(
            "name the submissions to grade: `cargo course grade subs/alice subs/bob` (folders, repository paths or URLs), or `--prepare` to build the pristine course first".to_string(),
        )
        .into());
    }
    if options.gradescope.is_some() && options.submissions.len() != 1 {
        return Err(UsageError(
            "--gradescope writes the results of one submission: give exactly one".to_string(),
        )
        .into());
    }
    if syllabus.root.join(super::handout::MARKER).is_file() {
        writeln!(
            out,
            "{}",
            ui::fit(
                &format!(
                    "{} this is a handout: grading against its own copy of the tests, which a student can change; a grade that does not depend on them comes from the teacher's full course",
                    yellow("note:")
                ),
                ui::WIDTH
            )
        )?;
    }
    let jobs = options.jobs.max(1);
    let dir = match &options.build_dir {
        Some(dir) => std::path::absolute(dir)?,
        None => shadow::target_dir(&syllabus.root).join("course/grade"),
    };
    let plan = Plan::new(syllabus, steps, dir)?;

    let started = Instant::now();
    let heading = format!(
        "{} {} ({}, {}) against {} {}",
        bold("grading"),
        ui::plural(options.submissions.len(), "submission"),
        ui::plural(plan.steps.len(), "step"),
        ui::plural(jobs, "job"),
        syllabus.title,
        dim(format!(
            "(course {})",
            report::course_commit(&syllabus.root)
        ))
    );
    writeln!(out, "{}", ui::fit(&heading, ui::WIDTH))?;
    out.flush()?;
    let expected = expected_tests(&plan, &plan.dir.join("slot-1"))?;
    writeln!(
        out,
        "{}",
        dim(format!(
            "the course's tests listed from its pristine build ({})",
            ui::secs(started.elapsed())
        ))
    )?;
    if options.prepare {
        // Warm every other slot's build folder with the pristine course too.
        for slot in 2..=jobs {
            let ws = shadow::prepare_in(&plan.dir.join(format!("slot-{slot}")), &plan.base)?;
            for package in plan.packages() {
                let tests = plan.tests_of(package);
                list_package(&ws, package, &tests)?;
            }
        }
        writeln!(
            out,
            "{}",
            green(format!(
                "ready: {} to grade, in {}",
                ui::plural(plan.steps.len(), "step"),
                plan.dir.display()
            ))
        )?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut names: Vec<String> = Vec::new();
    for arg in &options.submissions {
        // A folder by its own name (`.` is the folder it names).
        let base = match std::path::absolute(arg) {
            Ok(path) if !submission::is_git(arg) && path.is_dir() => {
                submission::name_of(&path.canonicalize().unwrap_or(path).to_string_lossy())
            }
            _ => submission::name_of(arg),
        };
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        names.push(name);
    }
    fs::create_dir_all(&options.out)
        .with_context(|| format!("cannot create {}", options.out.display()))?;
    let queue: Mutex<VecDeque<(usize, &String, &String)>> = Mutex::new(
        options
            .submissions
            .iter()
            .zip(&names)
            .enumerate()
            .map(|(i, (arg, name))| (i, arg, name))
            .collect(),
    );
    let (tx, rx) = mpsc::channel::<(usize, Result<Results>)>();
    let mut all: Vec<Option<Results>> = vec![None; options.submissions.len()];
    std::thread::scope(|scope| -> Result<()> {
        for slot in 1..=jobs {
            let tx = tx.clone();
            let (plan, queue, expected) = (&plan, &queue, &expected);
            scope.spawn(move || {
                let slot_dir = plan.dir.join(format!("slot-{slot}"));
                loop {
                    let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    let Some((index, arg, name)) = next else {
                        break;
                    };
                    let results = grade_submission(plan, expected, &slot_dir, arg, name);
                    if tx.send((index, results)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for (index, results) in rx {
            let results = results?;
            let path = options.out.join(format!("{}.json", names[index]));
            fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")
                .with_context(|| format!("cannot write {}", path.display()))?;
            let flags: usize = results.steps.iter().map(|s| s.flags.len()).sum();
            writeln!(
                out,
                "{} {}: {}/{} points, {} of {} passed{} {}",
                if results.passed == results.total {
                    green("✓")
                } else {
                    red("·")
                },
                bold(&names[index]),
                results.earned,
                results.points,
                results.passed,
                ui::plural(results.total, "step"),
                if flags > 0 {
                    yellow(format!(", {}", ui::plural(flags, "flag")))
                } else {
                    String::new()
                },
                dim(format!("→ {}", path.display()))
            )?;
            let quiet = ["passed", "not_attempted", "missing"];
            for s in results
                .steps
                .iter()
                .filter(|s| !quiet.contains(&s.status.as_str()))
            {
                writeln!(
                    out,
                    "{}",
                    ui::fit(
                        &dim(format!("    {}: {}: {}", s.id(), s.status, s.reason)),
                        ui::WIDTH
                    )
                )?;
            }
            let untouched: Vec<String> = results
                .steps
                .iter()
                .filter(|s| matches!(s.status.as_str(), "not_attempted" | "missing"))
                .map(|s| s.id())
                .collect();
            if !untouched.is_empty() {
                writeln!(
                    out,
                    "{}",
                    ui::fit(
                        &dim(format!(
                            "    not attempted or missing: {}",
                            untouched.join(", ")
                        )),
                        ui::WIDTH
                    )
                )?;
            }
            out.flush()?;
            all[index] = Some(results);
        }
        Ok(())
    })?;
    let all: Vec<Results> = all.into_iter().flatten().collect();
    let csv = options.out.join("class.csv");
    let mut file =
        fs::File::create(&csv).with_context(|| format!("cannot write {}", csv.display()))?;
    write_class_csv(&mut file, &plan.steps, &all)?;
    if let (Some(path), Some(results)) = (&options.gradescope, all.first()) {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        fs::write(
            path,
            serde_json::to_string_pretty(&results.gradescope())? + "\n",
        )
        .with_context(|| format!("cannot write {}", path.display()))?;
    }
    writeln!(
        out,
        "{}",
        bold(format!(
            "graded {} in {}; the class: {}",
            ui::plural(all.len(), "submission"),
            ui::secs(started.elapsed()),
            csv.display()
        ))
    )?;
    if options.exit_code && all.iter().any(|r| r.passed < r.total) {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// The class's CSV: one row per submission, the points of each step, the flags.
fn write_class_csv(out: &mut dyn Write, steps: &[StepRef<'_>], all: &[Results]) -> Result<()> {
    let mut header: Vec<String> = ["submission", "earned", "points", "passed", "steps"]
        .map(str::to_string)
        .to_vec();
    header.extend(steps.iter().map(|s| s.id()));
    header.extend(["flags", "runner_version", "course_commit"].map(str::to_string));
    let mut rows = vec![header];
    for r in all {
        let mut row = vec![
            r.submission.clone().unwrap_or_default(),
            r.earned.to_string(),
            r.points.to_string(),
            r.passed.to_string(),
            r.total.to_string(),
        ];
        for step in steps {
            let id = step.id();
            row.push(
                r.steps
                    .iter()
                    .find(|s| s.id() == id)
                    .map_or(String::new(), |s| s.earned.to_string()),
            );
        }
        let flags: Vec<String> = r
            .steps
            .iter()
            .flat_map(|s| s.flags.iter().map(move |f| format!("{}: {f}", s.id())))
            .collect();
        row.push(flags.join("; "));
        row.push(r.runner_version.clone());
        row.push(r.course_commit.clone());
        rows.push(row);
    }
    report::write_csv(out, &rows)
}

impl<'a> Plan<'a> {
    fn new(syllabus: &'a Syllabus, steps: Vec<StepRef<'a>>, dir: PathBuf) -> Result<Plan<'a>> {
        let root = &syllabus.root;
        let mut base = BTreeMap::new();
        for entry in shadow::MIRRORED
            .iter()
            .filter(|e| !matches!(**e, "solutions" | "exercises"))
        {
            shadow::collect(root, Path::new(entry), &mut base);
        }
        for step in syllabus.steps() {
            let rel = step.exercise_rel();
            let source = pristine::path(root, step).unwrap_or_else(|| root.join(&rel));
            if source.is_file() {
                base.insert(PathBuf::from(rel), source);
            }
        }
        let injected = dir.join("injected");
        for step in &steps {
            let package = Path::new("crates").join(&step.topic.package);
            let Some(file) = evidence::test_root_file(&root.join(&package), &step.step.test) else {
                bail!(
                    "step {}: its test target `{}` is not in {} (run `cargo course verify`)",
                    step.id(),
                    step.step.test,
                    package.display()
                );
            };
            let rel = package.join(file);
            let text = fs::read_to_string(root.join(&rel))
                .with_context(|| format!("cannot read {}", rel.display()))?;
            let copy = injected.join(&rel);
            let text = text + &evidence::injected_code();
            if fs::read_to_string(&copy).ok().as_deref() != Some(text.as_str()) {
                fs::create_dir_all(copy.parent().expect("a test file has a folder"))?;
                fs::write(&copy, text)
                    .with_context(|| format!("cannot write {}", copy.display()))?;
            }
            base.insert(rel, copy);
        }
        let allowed = fs::read_to_string(root.join(super::gradescope::ALLOWED))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        Ok(Plan {
            syllabus,
            steps,
            dir,
            base,
            allowed,
        })
    }
}

impl Plan<'_> {
    /// The graded packages, each once.
    fn packages(&self) -> Vec<&str> {
        let mut packages: Vec<&str> = self
            .steps
            .iter()
            .map(|s| s.topic.package.as_str())
            .collect();
        packages.sort_unstable();
        packages.dedup();
        packages
    }

    /// The graded test targets of `package`.
    fn tests_of(&self, package: &str) -> Vec<&str> {
        let mut tests: Vec<&str> = self
            .steps
            .iter()
            .filter(|s| s.topic.package == package)
            .map(|s| s.step.test.as_str())
            .collect();
        tests.dedup();
        tests
    }
}

/// The tests each step must pass, by step id.
type Expected = BTreeMap<String, Listed>;

/// The tests of a test target (or of a step: those its filter selects).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Listed {
    /// The tests that run.
    tests: Vec<String>,
    /// The `#[ignore]`d ones (libtest counts them, reports them `ignored`, runs them not).
    ignored: Vec<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct ExpectedCache {
    /// By package: the key of its sources, and the tests of each test target.
    packages: BTreeMap<String, (String, BTreeMap<String, Listed>)>,
}

/// Lists the tests of every graded step from the pristine course built in `slot_dir`
/// (cached in `expected.json`, keyed by the files the lists can depend on).
fn expected_tests(plan: &Plan<'_>, slot_dir: &Path) -> Result<Expected> {
    let cache_path = plan.dir.join("expected.json");
    let mut cache: ExpectedCache = fs::read_to_string(&cache_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let mut workspace = None;
    for package in plan.packages() {
        let key = format!("{:016x}", package_key(&plan.syllabus.root, package));
        let tests = plan.tests_of(package);
        if cache
            .packages
            .get(package)
            .is_some_and(|(k, listed)| *k == key && tests.iter().all(|t| listed.contains_key(*t)))
        {
            continue;
        }
        let ws = match &workspace {
            Some(ws) => ws,
            None => workspace.insert(shadow::prepare_in(slot_dir, &plan.base)?),
        };
        let listed = list_package(ws, package, &tests)?;
        cache.packages.insert(package.to_string(), (key, listed));
    }
    drop(workspace);
    fs::create_dir_all(&plan.dir)?;
    fs::write(&cache_path, serde_json::to_string_pretty(&cache)?)?;
    let mut expected = Expected::new();
    for step in &plan.steps {
        let listed = cache
            .packages
            .get(&step.topic.package)
            .and_then(|(_, listed)| listed.get(&step.step.test))
            .cloned()
            .unwrap_or_default();
        let selected = |names: Vec<String>| -> Vec<String> {
            names
                .into_iter()
                .filter(|n| step.step.filter.as_deref().is_none_or(|f| n.contains(f)))
                .collect()
        };
        let names = Listed {
            tests: selected(listed.tests),
            ignored: selected(listed.ignored),
        };
        if names.tests.is_empty() {
            bail!(
                "step {}: the pristine build of `{}` has no test to grade it (filter {:?}); run `cargo course verify`",
                step.id(),
                step.step.test,
                step.step.filter
            );
        }
        expected.insert(step.id(), names);
    }
    Ok(expected)
}

/// Builds the test targets `tests` of `package` in the pristine mirror and lists their
/// tests (`--list`: nothing runs).
fn list_package(
    ws: &shadow::Workspace,
    package: &str,
    tests: &[&str],
) -> Result<BTreeMap<String, Listed>> {
    let mut args: Vec<String> = ["test", "-p", package, "--no-run", "--message-format=json"]
        .map(str::to_string)
        .to_vec();
    for test in tests {
        args.extend(["--test".to_string(), test.to_string()]);
    }
    args.push("--color=never".to_string());
    let job = Job {
        program: crate::cargo::cargo_program(),
        args,
        cwd: ws.root.clone(),
        env: vec![(
            "CARGO_TARGET_DIR".to_string(),
            ws.target.to_string_lossy().into_owned(),
        )],
        echo: false,
    };
    let run = run_supervised(&job, &mut |_| {})?;
    if !run.success() {
        bail!(
            "the course's own starters of `{package}` do not build, so there is nothing to grade against; run `cargo course verify`:\n{}",
            ui::indent(&crate::cargo::diagnostics(&run.stderr), "  ")
        );
    }
    let mut listed = BTreeMap::new();
    for line in run.stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let target = &message["target"];
        let is_test = target["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "test"));
        let (Some(name), Some(exe)) = (target["name"].as_str(), message["executable"].as_str())
        else {
            continue;
        };
        if !is_test || !tests.contains(&name) {
            continue;
        }
        let list = |ignored: bool| -> Result<Vec<String>> {
            let mut args = vec!["--list".to_string()];
            if ignored {
                args.push("--ignored".to_string());
            }
            let list = run_supervised(
                &Job {
                    program: exe.into(),
                    args,
                    cwd: ws.root.join("crates").join(package),
                    env: Vec::new(),
                    echo: false,
                },
                &mut |_| {},
            )?;
            if !list.success() {
                bail!("cannot list the tests of {package}/{name}: {}", list.stderr);
            }
            Ok(list
                .stdout
                .lines()
                .filter_map(|l| l.strip_suffix(": test"))
                .map(str::to_string)
                .collect())
        };
        let ignored = list(true)?;
        let tests = list(false)?
            .into_iter()
            .filter(|t| !ignored.contains(t))
            .collect();
        listed.insert(name.to_string(), Listed { tests, ignored });
    }
    Ok(listed)
}

/// A stable hash (FNV-1a) of what a package's list of tests can depend on: the package's
/// files, the engine's (whose macros could write tests), the workspace's manifest and lock.
fn package_key(root: &Path, package: &str) -> u64 {
    let mut files = BTreeMap::new();
    for dir in [package, "interleave", "proctest"] {
        shadow::collect(root, &Path::new("crates").join(dir), &mut files);
    }
    shadow::collect(root, Path::new("Cargo.toml"), &mut files);
    shadow::collect(root, Path::new("Cargo.lock"), &mut files);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (rel, path) in files {
        let bytes = fs::read(path).unwrap_or_default();
        for b in rel.to_string_lossy().bytes().chain(bytes) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}

/// Grades one submission in the slot `slot_dir`.
fn grade_submission(
    plan: &Plan<'_>,
    expected: &Expected,
    slot_dir: &Path,
    arg: &str,
    name: &str,
) -> Result<Results> {
    let work = plan.dir.join("submissions");
    let submission = match submission::open(arg, name, &plan.steps, &work) {
        Ok(s) => s,
        Err(e) => {
            let why = format!("the submission could not be read: {e:#}");
            let steps = plan
                .steps
                .iter()
                .map(|s| StepResult::new(*s, "error", why.clone()))
                .collect();
            return Ok(Results::new(plan.syllabus, Some(name.to_string()), steps));
        }
    };
    let mut steps = Vec::new();
    for step in &plan.steps {
        let started = Instant::now();
        let result = grade_step(plan, expected, slot_dir, &submission, *step)?;
        eprintln!(
            "{}",
            dim(format!(
                "  {name} {}: {} ({})",
                step.id(),
                result.status,
                ui::secs(started.elapsed())
            ))
        );
        steps.push(result);
    }
    let _ = fs::remove_dir_all(work.join("files").join(name));
    let _ = fs::remove_dir_all(work.join("clones").join(name));
    Ok(Results::new(plan.syllabus, Some(name.to_string()), steps))
}

/// Grades one step of one submission.
fn grade_step(
    plan: &Plan<'_>,
    expected: &Expected,
    slot_dir: &Path,
    submission: &Submission,
    step: StepRef<'_>,
) -> Result<StepResult> {
    let root = &plan.syllabus.root;
    let rel = step.exercise_rel();
    let Some(file) = submission.files.get(&rel) else {
        return Ok(match submission.refused.get(&rel) {
            Some(why) => StepResult::new(step, "rejected", format!("{rel} {why}")),
            None => StepResult::new(step, "missing", format!("{rel} is not in the submission")),
        });
    };
    let text = fs::read_to_string(file)?;
    let reference = fs::read_to_string(root.join(step.solution_rel())).ok();
    let starter = pristine::read(root, step)
        .or_else(|| fs::read(root.join(&rel)).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let mut allowed = scan::allowed(
        [reference.as_deref(), starter.as_deref()]
            .into_iter()
            .flatten(),
    );
    if reference.is_none() {
        allowed.extend(plan.allowed.get(&step.id()).into_iter().flatten().cloned());
    }
    let findings = scan::unexpected_given(&text, &allowed);
    let flags: Vec<String> = findings.iter().map(scan::Finding::describe).collect();
    let flagged = |mut result: StepResult| {
        result.flags = flags.clone();
        result
    };
    if let Some(refused) = findings.iter().find(|f| f.kind.rejects()) {
        return Ok(flagged(StepResult::new(
            step,
            "rejected",
            format!(
                "{rel} uses {} (line {}), which the grader does not build: code placed by the linker or files read at compile time could fake a pass or read the teacher's files",
                refused.what, refused.line
            ),
        )));
    }
    if !step.step.starter_passes && starter.as_deref() == Some(text.as_str()) {
        return Ok(flagged(StepResult::new(
            step,
            "not_attempted",
            format!("{rel} is the starter as shipped"),
        )));
    }

    let mut files = plan.base.clone();
    files.insert(PathBuf::from(&rel), file.clone());
    let ws = shadow::prepare_in(slot_dir, &files)?;
    let source = crate::check::test_source(plan.syllabus, step);

    // Build first, without the nonce anywhere near cargo or rustc.
    let mut build = TestCommand::for_step(step, false);
    build.no_run = true;
    build.target_dir = Some(ws.target.clone());
    let built = build.run(&ws.root, false)?;
    if !built.success() {
        let verdict = Verdict::of(&built, source.as_deref());
        return Ok(flagged(StepResult::new(
            step,
            report::status(&verdict),
            report::reason(step, &verdict),
        )));
    }

    let nonce = evidence::new_nonce()?;
    let nonce_file = slot_dir.join(format!("nonce-{}", evidence::new_nonce()?));
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&nonce_file)?;
        f.write_all(nonce.as_bytes())?;
    }
    let mut command = TestCommand::for_step(step, false);
    command.target_dir = Some(ws.target.clone());
    command.env.push((
        evidence::NONCE_ENV.to_string(),
        nonce_file.to_string_lossy().into_owned(),
    ));
    let run = command.run(&ws.root, false);
    let _ = fs::remove_file(&nonce_file);
    let run = run?;
    let changed = changed_files(&ws.root, &files);
    drop(ws);

    if !changed.is_empty() {
        let mut result = flagged(StepResult::new(
            step,
            "failed",
            format!(
                "the tests' run changed the course's own files ({}), so its result is not trusted",
                changed.join(", ")
            ),
        ));
        result
            .flags
            .push(format!("tampering: {}", changed.join(", ")));
        return Ok(result);
    }
    let rebuilt = run.stderr.lines().any(|l| {
        let l = ui::strip_ansi(l);
        l.starts_with(' ') && l.trim_start().starts_with("Compiling ")
    });
    if rebuilt {
        return Ok(flagged(StepResult::new(
            step,
            "rejected",
            "the build changed when the grader's environment did (env! or option_env! of the grader's variables?)",
        )));
    }
    let verdict = Verdict::of(&run, source.as_deref());
    if verdict.passed() || run.success() {
        let listed = expected.get(&step.id()).cloned().unwrap_or_default();
        return Ok(
            match evidence::judge(&run.stdout, &listed.tests, listed.ignored.len(), &nonce) {
                Ok(()) => flagged(StepResult::new(step, "passed", "")),
                Err(why) => {
                    let early = why.contains("without the test harness finishing");
                    let mut result = flagged(StepResult::new(step, "failed", why));
                    if early {
                        result
                            .flags
                            .push("early_exit: the test process ended before its harness".into());
                    }
                    result
                }
            },
        );
    }
    Ok(flagged(StepResult::new(
        step,
        report::status(&verdict),
        report::reason(step, &verdict),
    )))
}

/// The course files (not Cargo.lock, which cargo may rewrite) whose contents in the mirror
/// differ from their source after a run.
fn changed_files(ws_root: &Path, files: &BTreeMap<PathBuf, PathBuf>) -> Vec<String> {
    files
        .iter()
        .filter(|(rel, _)| rel.as_path() != Path::new("Cargo.lock"))
        .filter(|(rel, source)| fs::read(ws_root.join(rel)).ok() != fs::read(source).ok())
        .map(|(rel, _)| rel.to_string_lossy().into_owned())
        .collect()
}
