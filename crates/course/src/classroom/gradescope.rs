//! `cargo course gradescope --out DIR [--topics ...]`: a Gradescope autograder bundle.
//!
//! Gradescope builds an image from `setup.sh` (run once, as root, on its Ubuntu base image),
//! then runs `run_autograder` for each submission, which must write
//! `/autograder/results/results.json`. The bundle is:
//!
//! - `setup.sh`: installs a C linker and git with apt, Rust with rustup (the toolchain that
//!   made the bundle), fetches the dependencies, builds the runner and the pristine course
//!   (`cargo course grade --prepare`), so that grading a submission only builds its files;
//! - `run_autograder`: `cargo course grade /autograder/submission --gradescope
//!   /autograder/results/results.json`, offline, and a results.json that says so if the
//!   grader itself failed;
//! - `course/`: the pristine course of the chosen topics, without `solutions/` (student code
//!   runs in the same container and must not be able to read them); `.course/commit`
//!   records the course's commit, `.course/allowed-findings.json` what each reference uses
//!   of what `grade` flags (names only, no code).
//!
//! `DIR/autograder.zip` holds them with `setup.sh` and `run_autograder` at its root, as
//! Gradescope requires: upload it as the assignment's autograder.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{handout, scan, zip};
use crate::pristine;
use crate::syllabus::Syllabus;
use crate::ui::{UsageError, bold, dim, green, plural};

/// Options of `cargo course gradescope`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The bundle's folder (must not exist, or be empty).
    pub out: PathBuf,
    /// The topics graded (default: all).
    pub topics: Vec<String>,
    /// The Rust toolchain setup.sh installs (default: this machine's rustc version).
    pub toolchain: Option<String>,
}

/// The file, in a bundle's course, that lists what each step's reference uses.
pub const ALLOWED: &str = ".course/allowed-findings.json";

/// Where Gradescope's image keeps the grader's build folder.
const BUILD_DIR: &str = "/autograder/grade";

/// Writes the bundle.
pub fn run(syllabus: &Syllabus, options: &Options, out: &mut dyn Write) -> Result<ExitCode> {
    if handout::is_handout(&syllabus.root) || !syllabus.root.join("solutions").is_dir() {
        return Err(UsageError(
            "make the bundle from the teacher's full course (the one with solutions/)".to_string(),
        )
        .into());
    }
    let chosen = handout::topics(syllabus, &options.topics)?;
    if let Ok(mut entries) = fs::read_dir(&options.out) {
        if entries.next().is_some() {
            return Err(UsageError(format!(
                "{} already exists and is not empty; give a new folder to --out",
                options.out.display()
            ))
            .into());
        }
    }
    let dest = std::path::absolute(&options.out)?;
    let course = dest.join("course");
    fs::create_dir_all(&course).with_context(|| format!("cannot create {}", course.display()))?;
    handout::copy_course(syllabus, &chosen, &course, true)?;
    fs::write(
        course.join(".course/commit"),
        crate::report::course_commit(&syllabus.root) + "\n",
    )?;
    let mut allowed: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for topic in &chosen {
        for step in &topic.steps {
            let s = crate::syllabus::StepRef { topic, step };
            let reference = fs::read_to_string(syllabus.root.join(s.solution_rel())).ok();
            let starter = pristine::read(&syllabus.root, s).and_then(|b| String::from_utf8(b).ok());
            let keys = scan::allowed(
                [reference.as_deref(), starter.as_deref()]
                    .into_iter()
                    .flatten(),
            );
            allowed.insert(s.id(), keys.into_iter().collect());
        }
    }
    fs::write(
        course.join(ALLOWED),
        serde_json::to_string_pretty(&allowed)? + "\n",
    )?;
    let toolchain = options.toolchain.clone().unwrap_or_else(rustc_version);
    fs::write(dest.join("setup.sh"), setup_sh(&toolchain))?;
    fs::write(dest.join("run_autograder"), RUN_AUTOGRADER)?;
    set_mode(&dest.join("setup.sh"), 0o755)?;
    set_mode(&dest.join("run_autograder"), 0o755)?;

    let mut entries = Vec::new();
    for name in ["setup.sh", "run_autograder"] {
        entries.push(zip::Entry {
            name: name.to_string(),
            mode: 0o755,
            data: fs::read(dest.join(name))?,
        });
    }
    collect_entries(&dest, Path::new("course"), &mut entries)?;
    let zip_path = dest.join("autograder.zip");
    let mut file = fs::File::create(&zip_path)
        .with_context(|| format!("cannot write {}", zip_path.display()))?;
    zip::write(&mut file, &entries)?;

    let steps: usize = chosen.iter().map(|t| t.steps.len()).sum();
    let points: u32 = chosen
        .iter()
        .flat_map(|t| t.steps.iter())
        .map(|s| s.points)
        .sum();
    writeln!(
        out,
        "{} {} ({}, {points} points, Rust {toolchain}) in {}",
        green("Gradescope bundle written:"),
        plural(chosen.len(), "topic"),
        plural(steps, "step"),
        dest.display()
    )?;
    writeln!(
        out,
        "upload {} as the assignment's autograder (\"Zip file upload\"; Ubuntu base image)",
        bold(zip_path.display())
    )?;
    writeln!(
        out,
        "{}",
        dim(
            "students submit their repository (GitHub) or their exercises/ folder; each step is a test worth its points"
        )
    )?;
    Ok(ExitCode::SUCCESS)
}

fn collect_entries(base: &Path, rel: &Path, entries: &mut Vec<zip::Entry>) -> Result<()> {
    let path = base.join(rel);
    let mut children: Vec<_> = fs::read_dir(&path)?.filter_map(Result::ok).collect();
    children.sort_by_key(|e| e.file_name());
    for entry in children {
        let child = rel.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            collect_entries(base, &child, entries)?;
        } else if kind.is_file() {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.metadata()?.permissions().mode() & 0o777;
            entries.push(zip::Entry {
                name: child.to_string_lossy().replace('\\', "/"),
                mode,
                data: fs::read(entry.path())?,
            });
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// This machine's rustc version (`1.95.0`), else `stable`.
fn rustc_version() -> String {
    std::process::Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8(o.stdout)
                .ok()?
                .split_whitespace()
                .nth(1)
                .map(str::to_string)
        })
        .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| "stable".to_string())
}

fn setup_sh(toolchain: &str) -> String {
    format!(
        r#"#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (Ubuntu).
# Written by `cargo course gradescope`: a C linker and git, Rust {toolchain} with rustup, the
# course's dependencies, and the pristine course built and its tests listed, so that grading
# a submission only builds the submission's files.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates curl build-essential git
curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs \
    | sh -s -- -y --profile minimal --default-toolchain {toolchain}
# shellcheck source=/dev/null
source "$HOME/.cargo/env"
cd /autograder/source/course
cargo fetch
cargo build -p course
cargo course grade --prepare --build-dir {BUILD_DIR}
"#
    )
}

const RUN_AUTOGRADER: &str = r#"#!/usr/bin/env bash
# Gradescope runs this for each submission. Written by `cargo course gradescope`: it grades
# /autograder/submission against the pristine course in /autograder/source/course (only the
# step files under exercises/ are taken from the submission) and writes
# /autograder/results/results.json: one test per step, worth its points.
set -uo pipefail
# shellcheck source=/dev/null
source "$HOME/.cargo/env"
export CARGO_NET_OFFLINE=true
results=/autograder/results
mkdir -p "$results"
cd /autograder/source/course
cargo course grade /autograder/submission \
    --build-dir /autograder/grade \
    --out "$results/grades" \
    --gradescope "$results/results.json"
status=$?
if [ ! -s "$results/results.json" ]; then
    printf '{"score": 0, "output": "The autograder could not grade this submission (exit code %s). Your teacher can see why in the autograder output."}\n' \
        "$status" >"$results/results.json"
fi
"#;
