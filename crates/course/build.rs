//! Embeds the pristine starters (every file under `exercises/`) in the runner, so that
//! `cargo course reset` can restore one after the student has edited it.
//!
//! Embedded course trees, each keyed by its `[course] title` from course.toml:
//! - the workspace's own course (`../../course.toml`, `../../exercises/`);
//! - each fixture workspace under `tests/fixtures/` (tiny; the runner's own tests reset them).
//!
//! Re-embedding is triggered by a change of course.toml, never by an edit of an exercise: a
//! student's edits must not become the "pristine" copy, and a rebuild of the runner on every
//! save would cost seconds in `cargo course check`. A teacher who changes a starter touches
//! course.toml (or runs `cargo clean -p course`) to refresh the embedded copy; `cargo course
//! verify` says when it is stale.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

fn main() {
    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=build.rs");

    let mut courses = Vec::new();
    let workspace = manifest_dir.join("../..");
    if workspace.join("course.toml").is_file() {
        println!(
            "cargo:rerun-if-changed={}",
            workspace.join("course.toml").display()
        );
        courses.push(workspace);
    }
    let fixtures = manifest_dir.join("tests/fixtures");
    println!("cargo:rerun-if-changed={}", fixtures.display());
    if let Ok(entries) = fs::read_dir(&fixtures) {
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join("course.toml").is_file())
            .collect();
        dirs.sort();
        courses.extend(dirs);
    }

    let mut code = String::from(
        "/// Every embedded course: its `[course] title`, then each starter's path under\n\
         /// `exercises/` (with `/` separators) and its pristine contents.\n\
         pub static COURSES: &[Course] = &[\n",
    );
    // The starters are copied into OUT_DIR and embedded from there: rustc lists every
    // `include_bytes!` file as a dependency of the crate, so embedding exercises/ directly
    // would rebuild the runner (and re-embed the student's edits) on every save.
    let copies = out_dir.join("starters");
    let _ = fs::remove_dir_all(&copies);
    for (index, root) in courses.iter().enumerate() {
        let toml = fs::read_to_string(root.join("course.toml")).unwrap_or_default();
        let title = course_title(&toml).unwrap_or_default();
        let mut files = Vec::new();
        walk(&root.join("exercises"), "", &mut files);
        files.sort();
        writeln!(code, "    ({title:?}, &[").unwrap();
        for (rel, original) in files {
            let copy = copies.join(index.to_string()).join(&rel);
            fs::create_dir_all(copy.parent().expect("a file has a folder"))
                .expect("OUT_DIR is writable");
            fs::copy(&original, &copy)
                .unwrap_or_else(|e| panic!("cannot copy {}: {e}", original.display()));
            writeln!(
                code,
                "        ({rel:?}, include_bytes!({:?})),",
                copy.display().to_string()
            )
            .unwrap();
        }
        code.push_str("    ]),\n");
    }
    code.push_str("];\n");
    fs::write(out_dir.join("starters.rs"), code).expect("OUT_DIR is writable");
}

/// Collects (relative path with `/`, absolute path) for every file under `dir`.
fn walk(dir: &Path, prefix: &str, files: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let path = entry.path();
        if path.is_dir() {
            walk(&path, &rel, files);
        } else if path.is_file() {
            files.push((rel, path));
        }
    }
}

/// The `title` of the `[course]` table, read without a TOML parser (a build dependency on
/// one would double its compile time). Handles the basic and literal string forms; the
/// runner compares it with the title its real parser reads, so a miss only disables `reset`.
fn course_title(toml: &str) -> Option<String> {
    let mut in_course = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_course = line == "[course]";
            continue;
        }
        if !in_course {
            continue;
        }
        let Some(rest) = line.strip_prefix("title") else {
            continue;
        };
        let rest = rest.trim_start().strip_prefix('=')?.trim();
        if let Some(body) = rest.strip_prefix('\'') {
            return body.find('\'').map(|end| body[..end].to_string());
        }
        let body = rest.strip_prefix('"')?;
        let mut out = String::new();
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => match chars.next()? {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    other => out.push(other),
                },
                c => out.push(c),
            }
        }
        return None;
    }
    None
}
