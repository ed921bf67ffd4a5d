//! Nothing left behind, nothing lost: the real runner binary under interruption, under
//! concurrent calls, beside the reference tests, and with a slow build.
//!
//! - Ctrl-C (SIGINT) during a check of a process step (the real `pipes/pipeline` starter,
//!   whose demo hangs with `sort` and `uniq` blocked on pipes): when the runner exits, no
//!   process of the check is left and its TMPDIR holds nothing new.
//! - 20 runner calls at once record 20 results in the progress file.
//! - A check running in a loop beside the reference tests of the same topic never changes
//!   their verdict (the starter's demo binary never replaces the reference's).
//! - A cold build slower than the tests' watchdog is not reported as a deadlock.
//!
//! The last three use a small generated course (`Course::generate`), built in a target
//! folder of its own.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Waits until `done` holds, for at most `limit`; false if it never did.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

/// The pids of the processes whose environment holds `token` (ours excepted).
fn processes_with(token: &str) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let zombie = stat
            .rfind(')')
            .and_then(|at| stat[at + 2..].chars().next())
            .is_some_and(|state| state == 'Z');
        if !zombie
            && environ
                .split(|b| *b == 0)
                .any(|var| var == format!("COURSE_TEST_TOKEN={token}").as_bytes())
        {
            let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            found.push((pid, comm.trim().to_string()));
        }
    }
    found
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace exists")
}

/// The target folder this test was built in (the runner's builds go beside it).
fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_course"))
        .parent()
        .and_then(Path::parent)
        .expect("the runner lives in target/<profile>/")
        .to_path_buf()
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

fn runner(root: &Path, target: &Path) -> Command {
    let bin = std::env::var("COURSE_TEST_RUNNER_BIN");
    let mut cmd = Command::new(bin.as_deref().unwrap_or(env!("CARGO_BIN_EXE_course")));
    cmd.current_dir(root)
        .env("CARGO_TARGET_DIR", target)
        .env("NO_COLOR", "1")
        .env("COURSE_USE_JUST", "0")
        .env_remove("COURSE_TIMEOUT_SECS")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null());
    cmd
}

#[test]
fn ctrl_c_during_a_process_check_leaves_no_process_and_no_temporary_file() {
    let real = workspace();
    let scratch = tempfile::tempdir().unwrap();
    let root = scratch.path().join("course");
    fs::create_dir_all(&root).unwrap();
    for entry in ["Cargo.toml", "Cargo.lock", "course.toml"] {
        fs::copy(real.join(entry), root.join(entry)).unwrap();
    }
    for entry in ["crates", "solutions", ".course"] {
        std::os::unix::fs::symlink(real.join(entry), root.join(entry)).unwrap();
    }
    // The starters as shipped, whatever the developer's own exercises/ holds.
    copy_dir(&real.join(".course/starters"), &root.join("exercises"));
    let tmp = tempfile::tempdir().unwrap();
    let token = format!("{}-{:?}", std::process::id(), Instant::now());
    let mut check: Child = runner(&root, &target_dir())
        .args(["check", "pipes/pipeline"])
        .env("TMPDIR", tmp.path())
        .env("COURSE_TEST_TOKEN", &token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The starter's pipeline blocks `sort` on a pipe whose write end is never closed.
    let blocked = eventually(Duration::from_secs(600), || {
        processes_with(&token)
            .iter()
            .any(|(_, name)| name == "sort")
    });
    let during = processes_with(&token);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(check.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    );
    let exited = eventually(Duration::from_secs(60), || {
        check.try_wait().ok().flatten().is_some()
    });
    if !exited {
        let _ = check.kill();
    }
    let status = check.wait().unwrap();
    let mut stderr = String::new();
    let _ = check.stderr.take().unwrap().read_to_string(&mut stderr);
    let left = processes_with(&token);
    for (pid, _) in &left {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let files: Vec<PathBuf> = fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(blocked, "the pipeline never blocked: {during:?}\n{stderr}");
    assert!(exited, "the runner did not stop after SIGINT");
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        left.is_empty(),
        "processes of the check outlived Ctrl-C: {left:?} (during the check: {during:?})"
    );
    assert!(files.is_empty(), "left in TMPDIR: {files:?}");
    assert!(stderr.contains("interrupted"), "{stderr}");
}

/// A small course generated in a temporary folder: one topic `gamma` whose steps are all
/// checked by one test target, and a demo binary whose output tells the starter from the
/// reference.
struct Course {
    _dir: tempfile::TempDir,
    root: PathBuf,
    target: PathBuf,
}

impl Course {
    /// `steps` steps (`s1`, `s2`, ...); with `slow_build`, the crate's build script takes
    /// 8 s, as a cold build on a busy machine does.
    fn generate(steps: usize, slow_build: bool) -> Course {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("course");
        let write = |rel: &str, text: &str| {
            let path = root.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write(
            "Cargo.toml",
            "[workspace]\nresolver = \"3\"\nmembers = [\"crates/*\"]\n",
        );
        let mut toml = String::from(
            "[course]\ntitle = \"Generated\"\n\n[[topics]]\nname = \"gamma\"\ntitle = \"Gamma\"\npackage = \"gamma\"\ndir = \"01_gamma\"\n",
        );
        let mut lib = String::new();
        for i in 1..=steps {
            toml.push_str(&format!(
                "\n[[topics.steps]]\nname = \"s{i}\"\nfile = \"s{i}.rs\"\ntest = \"demo\"\npoints = 1\nhints = [\"one\", \"two\"]\n"
            ));
            lib.push_str(&format!(
                "#[cfg_attr(not(feature = \"solution\"), path = \"../../../exercises/01_gamma/s{i}.rs\")]\n#[cfg_attr(feature = \"solution\", path = \"../../../solutions/01_gamma/s{i}.rs\")]\npub mod s{i};\n"
            ));
            let starter = "// TODO: say the right word.\npub fn word() -> &'static str {\n    \"starter\"\n}\n";
            write(&format!("exercises/01_gamma/s{i}.rs"), starter);
            write(&format!(".course/starters/01_gamma/s{i}.rs"), starter);
            write(
                &format!("solutions/01_gamma/s{i}.rs"),
                "/// The word.\npub fn word() -> &'static str {\n    \"reference\"\n}\n",
            );
        }
        write("course.toml", &toml);
        write(
            "crates/gamma/Cargo.toml",
            &format!(
                "[package]\nname = \"gamma\"\nversion = \"0.1.0\"\nedition = \"2024\"\n{}\n[features]\nsolution = []\n",
                if slow_build {
                    "build = \"build.rs\"\n"
                } else {
                    ""
                }
            ),
        );
        if slow_build {
            write(
                "crates/gamma/build.rs",
                "fn main() {\n    std::thread::sleep(std::time::Duration::from_secs(8));\n}\n",
            );
        }
        write("crates/gamma/src/lib.rs", &lib);
        write(
            "crates/gamma/src/bin/show.rs",
            "fn main() {\n    println!(\"{}\", gamma::s1::word());\n}\n",
        );
        write(
            "crates/gamma/tests/demo.rs",
            "#[test]\nfn the_demo_says_the_reference_word() {\n    let out = std::process::Command::new(env!(\"CARGO_BIN_EXE_show\")).output().unwrap();\n    assert_eq!(String::from_utf8_lossy(&out.stdout), \"reference\\n\", \"the demo said the wrong word\");\n}\n",
        );
        let target = dir.path().join("target");
        Course {
            _dir: dir,
            root,
            target,
        }
    }

    fn course(&self, args: &[&str]) -> std::process::Output {
        runner(&self.root, &self.target)
            .args(args)
            .output()
            .unwrap()
    }
}

#[test]
fn twenty_runner_calls_at_once_record_twenty_results() {
    let course = Course::generate(20, false);
    // Build once, so that the calls below race on the progress file, not on cargo.
    let first = course.course(&["check", "gamma/s1"]);
    assert_eq!(first.status.code(), Some(1), "{first:?}");
    let children: Vec<Child> = (1..=20)
        .map(|i| {
            let args = if i % 2 == 0 {
                vec!["check".to_string(), format!("gamma/s{i}")]
            } else {
                vec!["hint".to_string(), format!("gamma/s{i}")]
            };
            runner(&course.root, &course.target)
                .args(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut errors = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        if !matches!(out.status.code(), Some(0 | 1)) {
            errors.push(String::from_utf8_lossy(&out.stderr).into_owned());
        }
    }
    assert!(errors.is_empty(), "{errors:?}");
    let state: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(course.root.join(".course-state.json")).unwrap())
            .unwrap();
    let steps = state["steps"].as_object().unwrap();
    let recorded = (1..=20)
        .filter(|i| {
            let s = &steps
                .get(&format!("gamma/s{i}"))
                .cloned()
                .unwrap_or_default();
            if i % 2 == 0 {
                s["status"] == "failing"
            } else {
                s["hints_shown"] == 1
            }
        })
        .count();
    assert_eq!(recorded, 20, "{state:#}");
    let leftovers: Vec<String> = fs::read_dir(&course.root)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_check_beside_the_reference_tests_never_changes_their_verdict() {
    let course = Course::generate(1, false);
    let reference = || {
        Command::new(env!("CARGO"))
            .args([
                "test",
                "-p",
                "gamma",
                "--features",
                "gamma/solution",
                "--test",
                "demo",
            ])
            .current_dir(&course.root)
            .env("CARGO_TARGET_DIR", &course.target)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    };
    assert!(reference().status.success(), "the reference passes alone");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let checks = {
        let stop = stop.clone();
        let (root, target) = (course.root.clone(), course.target.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let out = runner(&root, &target)
                    .args(["check", "gamma/s1"])
                    .output()
                    .unwrap();
                assert_eq!(out.status.code(), Some(1), "the starter fails: {out:?}");
                n += 1;
            }
            n
        })
    };
    let mut failures = Vec::new();
    for _ in 0..15 {
        let out = reference();
        if !out.status.success() {
            failures.push(String::from_utf8_lossy(&out.stdout).into_owned());
        }
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let checks = checks.join().expect("the checks ran");
    assert!(checks > 0);
    assert!(
        failures.is_empty(),
        "{} of 15 reference runs failed beside {checks} checks:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_cold_build_slower_than_the_watchdog_is_not_a_deadlock() {
    let course = Course::generate(1, true);
    let out = runner(&course.root, &course.target)
        .args(["check", "gamma/s1"])
        .env("COURSE_TIMEOUT_SECS", "5")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("still running"), "{stdout}");
    assert!(!stdout.contains("deadlock"), "{stdout}");
    let last = stdout.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("✗ gamma/s1: the demo said the wrong word"),
        "{stdout}"
    );
}
