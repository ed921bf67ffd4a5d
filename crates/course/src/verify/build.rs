//! Building a package's tests once (`cargo test --no-run --message-format=json`) and
//! finding the compiler warnings whose span lies in exercises/ or solutions/.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use crate::cargo::TestCommand;
use crate::syllabus::Syllabus;

/// What building one package with one feature set found.
pub struct Built {
    /// The build failed (compile errors are reported per step, with the test runs).
    pub failed: bool,
    /// Warnings in the starters (or, with the references built, in solutions/).
    pub warnings: Vec<String>,
    /// Anything else that went wrong (the watchdog fired).
    pub other_problems: Vec<String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Builds every test target of `package`, starters (in the student's build folder, see
/// [`crate::shadow`]) or references (in the course folder).
pub fn build(syllabus: &Syllabus, package: &str, solution: bool) -> Result<Built> {
    let workspace = if solution {
        None
    } else {
        Some(crate::shadow::prepare(
            syllabus,
            crate::shadow::Students::All,
        )?)
    };
    let root = workspace
        .as_ref()
        .map_or(syllabus.root.as_path(), |w| &w.root);
    let command = TestCommand {
        package: package.to_string(),
        test: None,
        solution,
        no_run: true,
        json: true,
        color: false,
        harness_args: Vec::new(),
        env: Vec::new(),
        target_dir: workspace.as_ref().map(|w| w.target.clone()),
    };
    let run = command.run(root, false)?;
    let (dir, what) = if solution {
        ("solutions", "reference")
    } else {
        ("exercises", "starter")
    };
    let mut seen = BTreeSet::new();
    let mut warnings = Vec::new();
    for line in run.stdout.lines().filter(|l| l.starts_with('{')) {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] != "compiler-message" || message["message"]["level"] != "warning" {
            continue;
        }
        let diagnostic = &message["message"];
        let spans = diagnostic["spans"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let Some(span) = spans
            .iter()
            .find(|s| s["is_primary"] == true)
            .or_else(|| spans.first())
        else {
            continue;
        };
        let Some(file) = span["file_name"].as_str() else {
            continue;
        };
        let Some(rel) = relative_to_root(root, file) else {
            continue;
        };
        if !rel.starts_with(&format!("{dir}/")) {
            continue;
        }
        let line_no = span["line_start"].as_u64().unwrap_or(0);
        let text = diagnostic["message"].as_str().unwrap_or("a warning");
        if seen.insert((rel.clone(), line_no, text.to_string())) {
            warnings.push(format!(
                "{what} {rel}:{line_no} compiles with a warning: {text} (every {what} must compile without warnings; see `cargo test -p {package}{}`)",
                if solution { format!(" --features {package}/solution") } else { String::new() }
            ));
        }
    }
    let mut other_problems = Vec::new();
    if let Some((after, _)) = run.timed_out {
        other_problems.push(format!(
            "building {package} ({what}s) was still running after {} and was stopped (COURSE_BUILD_TIMEOUT_SECS raises the limit)",
            crate::ui::secs(after)
        ));
    }
    Ok(Built {
        failed: !run.success(),
        warnings,
        other_problems,
        elapsed: run.elapsed,
    })
}

/// A span's file as a path relative to the workspace root, `/`-separated and without `..`
/// (rustc names files relative to the workspace root: `crates/x/src/../../../exercises/..`).
pub fn relative_to_root(root: &Path, file: &str) -> Option<String> {
    let path = root.join(file);
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    let rel = normal.strip_prefix(normalise(root)).ok()?;
    Some(
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/"),
    )
}

fn normalise(path: &Path) -> PathBuf {
    let mut normal = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    normal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn span_paths_are_made_relative_to_the_root() {
        let root = Path::new("/w/course");
        assert_eq!(
            relative_to_root(root, "crates/warmup/src/../../../exercises/00_warmup/a.rs")
                .as_deref(),
            Some("exercises/00_warmup/a.rs")
        );
        assert_eq!(
            relative_to_root(root, "/w/course/solutions/x/a.rs").as_deref(),
            Some("solutions/x/a.rs")
        );
        assert_eq!(relative_to_root(root, "/elsewhere/a.rs"), None);
    }
}
