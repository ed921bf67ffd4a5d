//! The evidence `grade` requires before it counts a step as passed: proof that the test
//! harness itself finished, which the student's code cannot print.
//!
//! A test binary runs the student's code in its own process, so anything the binary prints
//! the student's code can print too: `test result: ok. 9 passed` on standard output, then
//! `std::process::exit(0)`, reads like a pass to a reader of libtest's output. So the grader
//! does not take the binary's word for it:
//!
//! 1. The tests a step must pass come from the teacher's pristine build (the starters as
//!    shipped, `--list`), never from a binary built with the student's code.
//! 2. In its private copy of the course, the grader appends a module to each graded test
//!    target ([`INJECTED`]). Before `main` (an `.init_array` constructor, so before any
//!    test and any student code runs), it reads a fresh random nonce from the file named by
//!    [`NONCE_ENV`], deletes the file and the variable, and registers an `atexit` handler.
//!    The handler prints [`EVIDENCE_PREFIX`] and the nonce only when the process exits from
//!    its main thread: after libtest's `main` returns (or exits 101 on a failure). Tests,
//!    and so the student's code, run on libtest's test threads: an `exit`, `_exit` or
//!    `abort` there ends the process without the nonce.
//! 3. A pass needs, in the run's standard output: the nonce; `test NAME ... ok` for every
//!    expected test; `running N tests` and `test result: ok. N passed` with N the expected
//!    count; and an exit code of 0. The nonce is written by the grader to a file only the
//!    constructor reads, after the build (cargo and rustc never see it) and just before the
//!    run.
//!
//! What it does not stop (the guarantee is against printing and exiting, not a sandbox):
//! student code that targets this mechanism, such as an `atexit` or signal handler of its
//! own that makes the main thread exit, reading the nonce from the process's memory, or
//! rewriting file descriptor 1. Those need `unsafe` foreign calls or linker tricks, which
//! [`crate::classroom::scan`] flags or rejects when the step's reference has no such
//! thing; and the code runs with the grader's rights, so untrusted submissions belong in a
//! container or CI runner (GitHub Classroom, Gradescope), not on a teacher's own account.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The variable naming the nonce's file, for the injected constructor.
pub const NONCE_ENV: &str = "COURSE_GRADE_NONCE_FILE";

/// What the injected `atexit` handler prints before the nonce.
pub const EVIDENCE_PREFIX: &str = "course-grade-evidence: ";

/// The module appended to the grader's copy of a test target (see the module's
/// documentation). It uses only std and libc's `atexit`, `getpid`, `gettid` and `write`.
pub const INJECTED: &str = r#"

// ---- Appended by `cargo course grade` to its private copy of this test target (never to
// the course's own file): the harness's end-of-run evidence, see the runner's
// classroom/evidence.rs.
#[doc(hidden)]
mod __course_grade_evidence {
    use std::ffi::{c_int, c_void};
    use std::sync::OnceLock;

    static NONCE: OnceLock<String> = OnceLock::new();

    unsafe extern "C" {
        fn atexit(handler: extern "C" fn()) -> c_int;
        fn getpid() -> c_int;
        fn gettid() -> c_int;
        fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    }

    extern "C" fn at_exit() {
        // SAFETY: getpid and gettid have no preconditions.
        let main_thread = unsafe { gettid() == getpid() };
        if !main_thread {
            return; // an exit from a test thread: no evidence
        }
        if let Some(nonce) = NONCE.get() {
            let line = format!("\n__EVIDENCE_PREFIX__{nonce}\n");
            // SAFETY: the buffer is valid for `line.len()` bytes.
            unsafe { write(1, line.as_ptr().cast(), line.len()) };
        }
    }

    extern "C" fn before_main() {
        let Some(path) = std::env::var_os("__NONCE_ENV__") else {
            return;
        };
        // SAFETY: this runs before main, while the process has a single thread.
        unsafe { std::env::remove_var("__NONCE_ENV__") };
        let Ok(nonce) = std::fs::read_to_string(&path) else {
            return;
        };
        let _ = std::fs::remove_file(&path);
        if NONCE.set(nonce.trim().to_string()).is_ok() {
            // SAFETY: `at_exit` is a plain function that lives as long as the program.
            unsafe { atexit(at_exit) };
        }
    }

    #[used]
    #[unsafe(link_section = ".init_array")]
    static BEFORE_MAIN: extern "C" fn() = before_main;
}
"#;

/// [`INJECTED`] with its names filled in.
pub fn injected_code() -> String {
    INJECTED
        .replace("__EVIDENCE_PREFIX__", EVIDENCE_PREFIX)
        .replace("__NONCE_ENV__", NONCE_ENV)
}

/// The root file of test target `test` of the package at `package_dir` (relative to it):
/// `tests/<test>.rs`, `tests/<test>/main.rs`, or a `[[test]]`'s `path`.
pub fn test_root_file(package_dir: &Path, test: &str) -> Option<PathBuf> {
    if let Ok(text) = fs::read_to_string(package_dir.join("Cargo.toml")) {
        if let Ok(table) = toml::from_str::<toml::Table>(&text) {
            let declared = table
                .get("test")
                .and_then(|t| t.as_array())
                .and_then(|tests| {
                    tests.iter().find(|t| {
                        t.get("name").and_then(|n| n.as_str()) == Some(test)
                            && t.get("path").is_some()
                    })
                })
                .and_then(|t| t.get("path").and_then(|p| p.as_str()))
                .map(PathBuf::from);
            if let Some(path) = declared {
                return Some(path);
            }
        }
    }
    [
        PathBuf::from(format!("tests/{test}.rs")),
        PathBuf::from(format!("tests/{test}/main.rs")),
    ]
    .into_iter()
    .find(|p| package_dir.join(p).is_file())
}

/// A fresh nonce: 128 random bits from the system, in hex.
pub fn new_nonce() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Checks a run's standard output for the evidence of a pass of exactly `expected` (the
/// test names of the pristine build), beside `ignored` tests that libtest counts but does
/// not run. `Err` says, for the student, what is missing.
pub fn judge(stdout: &str, expected: &[String], ignored: usize, nonce: &str) -> Result<(), String> {
    let evidence = format!("{EVIDENCE_PREFIX}{nonce}");
    if !stdout.lines().any(|l| l.trim_end() == evidence) {
        return Err("the test process ended without the test harness finishing: does the code end the process (std::process::exit, _exit, abort)? What the tests printed before was not trusted".to_string());
    }
    let n = expected.len();
    let running = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("running "))
        .filter_map(|l| l.split(' ').next())
        .filter_map(|n| n.parse::<usize>().ok())
        .collect::<Vec<_>>();
    if running != [n + ignored] {
        return Err(format!(
            "the test binary ran {} where the course's tests have {}",
            match running.as_slice() {
                [] => "no tests".to_string(),
                [one] => crate::ui::plural(*one, "test"),
                _ => "several test binaries".to_string(),
            },
            crate::ui::plural(n + ignored, "test")
        ));
    }
    for name in expected {
        // `#[should_panic]` tests are reported `test NAME - should panic ... ok`.
        let ok = [
            format!("test {name} ... ok"),
            format!("test {name} - should panic ... ok"),
        ];
        if !stdout
            .lines()
            .any(|l| ok.iter().any(|ok| l.trim_end().ends_with(ok.as_str())))
        {
            return Err(format!("`{name}` did not report a pass"));
        }
    }
    let summary = format!("test result: ok. {n} passed; 0 failed; {ignored} ignored;");
    if !stdout.lines().any(|l| l.starts_with(&summary)) {
        return Err("the test harness did not report every test as passed".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const PASS: &str = "\nrunning 2 tests\ntest a ... ok\ntest m::b ... ok\n\ntest result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.01s\n\n\ncourse-grade-evidence: 00ff\n";

    #[test]
    fn a_finished_harness_with_the_nonce_and_every_name_passes() {
        assert_eq!(judge(PASS, &names(&["a", "m::b"]), 0, "00ff"), Ok(()));
    }

    #[test]
    fn a_printed_summary_without_the_nonce_is_an_early_exit() {
        let forged = PASS.replace("course-grade-evidence: 00ff\n", "");
        let e = judge(&forged, &names(&["a", "m::b"]), 0, "00ff").unwrap_err();
        assert!(
            e.contains("ended without the test harness finishing"),
            "{e}"
        );
        // Another run's nonce is no evidence either.
        assert!(judge(PASS, &names(&["a", "m::b"]), 0, "1234").is_err());
    }

    #[test]
    fn a_should_panic_test_passes_in_its_own_words() {
        let should_panic = PASS.replace("test m::b ... ok", "test m::b - should panic ... ok");
        assert_eq!(
            judge(&should_panic, &names(&["a", "m::b"]), 0, "00ff"),
            Ok(())
        );
    }

    #[test]
    fn ignored_tests_are_counted_but_need_no_pass() {
        let with_ignored = PASS
            .replace(
                "running 2 tests",
                "running 3 tests\ntest helper ... ignored",
            )
            .replace("0 failed; 0 ignored", "0 failed; 1 ignored");
        assert_eq!(
            judge(&with_ignored, &names(&["a", "m::b"]), 1, "00ff"),
            Ok(())
        );
        assert!(judge(&with_ignored, &names(&["a", "m::b"]), 0, "00ff").is_err());
    }

    #[test]
    fn a_missing_or_extra_test_is_named() {
        let e = judge(PASS, &names(&["a", "m::c"]), 0, "00ff").unwrap_err();
        assert_eq!(e, "`m::c` did not report a pass");
        let e = judge(PASS, &names(&["a"]), 0, "00ff").unwrap_err();
        assert!(
            e.contains("ran 2 tests where the course's tests have 1 test"),
            "{e}"
        );
    }

    #[test]
    fn the_injected_module_names_its_variable_and_prefix() {
        let code = injected_code();
        assert!(code.contains("\"COURSE_GRADE_NONCE_FILE\""));
        assert!(code.contains("course-grade-evidence: {nonce}"));
        assert!(!code.contains("__NONCE_ENV__") && !code.contains("__EVIDENCE_PREFIX__"));
    }
}
