//! Checks of the book: a chapter per topic linked from SUMMARY.md, every relative link and
//! every `{{#include}}` in book/src resolving (file present, anchor present, never a file
//! under exercises/: the book shows `.course/starters/`), and the files of the book's own
//! directives present.

use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::syllabus::{Syllabus, Topic};

/// All the book's problems (for one topic's chapter only, if `only`).
pub fn check(syllabus: &Syllabus, only: Option<&Topic>) -> Vec<String> {
    let src = syllabus.root.join("book/src");
    let summary_path = src.join("SUMMARY.md");
    let Ok(summary) = fs::read_to_string(&summary_path) else {
        return vec![
            "book/src/SUMMARY.md is missing: the book needs it (one link per chapter)".to_string(),
        ];
    };
    let mut problems = Vec::new();
    let summary_links: Vec<String> = links(&summary)
        .into_iter()
        .map(|(_, dest)| strip_fragment(&dest).trim_start_matches("./").to_string())
        .collect();
    for topic in syllabus
        .topics
        .iter()
        .filter(|t| only.is_none_or(|o| std::ptr::eq(*t, o)))
    {
        let chapter = format!("{}.md", topic.name);
        if !src.join(&chapter).is_file() {
            problems.push(format!(
                "topic `{}` has no chapter: create book/src/{chapter}",
                topic.name
            ));
        }
        if !summary_links.contains(&chapter) {
            problems.push(format!(
                "book/src/SUMMARY.md does not link the chapter of topic `{}`: add `- [{}]({chapter})`",
                topic.name, topic.title
            ));
        }
    }

    let mut files = Vec::new();
    match only {
        Some(topic) => files.push(src.join(format!("{}.md", topic.name))),
        None => markdown_files(&src, &mut files),
    }
    files.sort();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else {
            continue;
        };
        let rel = display(&syllabus.root, &file);
        let dir = file.parent().unwrap_or(&src);
        for (line, dest) in links(&text) {
            if let Some(problem) = check_link(&src, dir, &dest) {
                problems.push(format!("{rel}:{line}: link `{dest}` {problem}"));
            }
        }
        for (line, arg) in includes(&text) {
            if let Some(problem) = student_file(&syllabus.root, dir, &arg) {
                problems.push(format!("{rel}:{line}: `{{{{#include {arg}}}}}` {problem}"));
            } else if let Some(problem) = check_include(dir, &arg) {
                problems.push(format!("{rel}:{line}: `{{{{#include {arg}}}}}` {problem}"));
            }
        }
        for (line, directive, arg) in book_directives(&text) {
            if !normalise(&dir.join(&arg)).is_file() {
                problems.push(format!(
                    "{rel}:{line}: `{{{{#{directive} {arg}}}}}` names a file that does not exist{}",
                    if directive.starts_with("trace-") {
                        " (`python3 scripts/book-traces.py` makes the failing schedules)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    problems
}

/// Why an include must not name a file under `exercises/`, if it does: students edit those
/// files, and the book would show their edits (or nothing, after a deleted anchor).
fn student_file(root: &Path, dir: &Path, arg: &str) -> Option<String> {
    let path = arg.split(':').next().unwrap_or(arg).trim();
    let target = normalise(&dir.join(path));
    let exercises = normalise(&root.join("exercises"));
    let rel = target.strip_prefix(&exercises).ok()?;
    Some(format!(
        "includes a file students edit (exercises/{}): include the starter as shipped, \
         ../../.course/starters/{}, instead",
        rel.display(),
        rel.display()
    ))
}

/// The book's own directives that name a file (`{{#figure f.svg}}`, `{{#trace-viewer
/// t.json}}`, expanded by book/'s preprocessor): `(line, directive, file)`.
fn book_directives(text: &str) -> Vec<(usize, &'static str, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for directive in ["figure", "trace-viewer", "trace-report"] {
            if let Some(arg) = line
                .trim()
                .strip_prefix(&format!("{{{{#{directive} "))
                .and_then(|r| r.strip_suffix("}}"))
            {
                found.push((n + 1, directive, arg.trim().to_string()));
            }
        }
    }
    found
}

fn markdown_files(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            markdown_files(&path, files);
        } else if path.extension().is_some_and(|e| e == "md") {
            files.push(path);
        }
    }
}

fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn strip_fragment(dest: &str) -> &str {
    let end = dest.find(['#', '?']).unwrap_or(dest.len());
    &dest[..end]
}

/// Why a relative link does not resolve, if it does not.
fn check_link(src: &Path, dir: &Path, dest: &str) -> Option<String> {
    if dest.contains("://") || dest.starts_with("mailto:") || dest.starts_with('#') {
        return None;
    }
    let path = strip_fragment(dest);
    if path.is_empty() {
        return None;
    }
    let target = match path.strip_prefix('/') {
        Some(from_src) => src.join(from_src),
        None => dir.join(path),
    };
    let target = normalise(&target);
    if !target.starts_with(normalise(src)) {
        return Some(
            "points outside book/src: the built book will not have that file (link to the chapter that includes it instead)"
                .to_string(),
        );
    }
    if target.exists() {
        return None;
    }
    if target.extension().is_some_and(|e| e == "html") && target.with_extension("md").is_file() {
        return None;
    }
    Some("points to a file that does not exist".to_string())
}

/// Why an include does not resolve, if it does not. `arg` is `path[:anchor]` or
/// `path[:start[:end]]` as mdBook reads it.
fn check_include(dir: &Path, arg: &str) -> Option<String> {
    let (path, selector) = match arg.split_once(':') {
        Some((path, selector)) => (path.trim(), selector.trim()),
        None => (arg.trim(), ""),
    };
    if path.is_empty() {
        return Some("names no file".to_string());
    }
    let file = dir.join(path);
    let Ok(text) = fs::read_to_string(&file) else {
        return Some(format!("includes {path}, which does not exist"));
    };
    if selector.is_empty() {
        return None;
    }
    if selector.chars().all(|c| c.is_ascii_digit() || c == ':') {
        let start: usize = selector
            .split(':')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1);
        let lines = text.lines().count();
        if start > lines {
            return Some(format!(
                "starts at line {start}, but {path} has {lines} lines"
            ));
        }
        return None;
    }
    let anchor = selector;
    let has = |marker: &str| {
        text.lines().any(|line| {
            line.split(marker).skip(1).any(|after| {
                let name: String = after
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                name == anchor
            })
        })
    };
    match (has("ANCHOR:"), has("ANCHOR_END:")) {
        (true, true) => None,
        (false, _) => Some(format!(
            "needs the anchor `{anchor}`, but {path} has no `ANCHOR: {anchor}` line"
        )),
        (true, false) => Some(format!(
            "needs the anchor `{anchor}`, but {path} has no `ANCHOR_END: {anchor}` line"
        )),
    }
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

/// Markdown link destinations `(line, dest)` outside code: inline `[text](dest)`, images,
/// and reference definitions `[label]: dest`.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut fence: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(open) = &fence {
            if trimmed.starts_with(open.as_str()) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            let ch = trimmed.chars().next().unwrap_or('`');
            let len = trimmed.chars().take_while(|c| *c == ch).count();
            fence = Some(ch.to_string().repeat(len));
            continue;
        }
        let line = without_code_spans(line);
        // Reference definitions: `[label]: dest`.
        let t = line.trim_start();
        if t.starts_with('[') && !t.starts_with("[^") {
            if let Some(close) = t.find("]:") {
                let dest = t[close + 2..].split_whitespace().next().unwrap_or("");
                let dest = dest.trim_start_matches('<').trim_end_matches('>');
                if !dest.is_empty() {
                    found.push((n + 1, dest.to_string()));
                }
                continue;
            }
        }
        let bytes = line.as_bytes();
        let mut i = 0;
        while let Some(at) = line[i..].find("](") {
            let start = i + at + 2;
            let mut depth = 0usize;
            let mut end = start;
            while end < bytes.len() {
                match bytes[end] {
                    b'(' => depth += 1,
                    b')' if depth == 0 => break,
                    b')' => depth -= 1,
                    _ => {}
                }
                end += 1;
            }
            let inner = line[start..end].trim();
            let dest = if let Some(rest) = inner.strip_prefix('<') {
                rest.split('>').next().unwrap_or("")
            } else {
                inner.split_whitespace().next().unwrap_or("")
            };
            if !dest.is_empty() {
                found.push((n + 1, dest.to_string()));
            }
            i = end.min(line.len());
            if i >= line.len() {
                break;
            }
        }
    }
    found
}

/// The line with its `code spans` blanked out.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(' ');
        } else if in_code {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// `{{#include ARG}}` and `{{#rustdoc_include ARG}}` everywhere (mdBook expands them in code
/// blocks too), except escaped ones (`\{{#include}}`): `(line, ARG)`.
fn includes(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        let mut offset = 0;
        while let Some(at) = rest.find("{{") {
            let escaped = at > 0 && rest.as_bytes()[at - 1] == b'\\';
            let after = &rest[at + 2..];
            let Some(close) = after.find("}}") else { break };
            let body = after[..close].trim();
            if !escaped {
                for keyword in ["#include", "#rustdoc_include"] {
                    if let Some(arg) = body.strip_prefix(keyword) {
                        if arg.is_empty() || arg.starts_with(char::is_whitespace) {
                            found.push((n + 1, arg.trim().to_string()));
                        }
                    }
                }
            }
            offset += at + 2 + close + 2;
            rest = &line[offset..];
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_skip_code_and_find_all_forms() {
        let text = "See [a](a.md) and ![img](img/x.png \"t\").\n`[not](code.md)`\n```\n[no](fence.md)\n```\n[ref]: ref.md\n[web](https://x.org)";
        let found: Vec<String> = links(text).into_iter().map(|(_, d)| d).collect();
        assert_eq!(found, ["a.md", "img/x.png", "ref.md", "https://x.org"]);
    }

    #[test]
    fn includes_are_found_in_code_but_not_when_escaped() {
        let text = "```rust\n{{#include ../x.rs:api}}\n```\n\\{{#include nope.rs}}\n{{ #rustdoc_include y.rs:2:5 }}";
        let found: Vec<(usize, String)> = includes(text);
        assert_eq!(
            found,
            [(2, "../x.rs:api".to_string()), (5, "y.rs:2:5".to_string())]
        );
    }
}
