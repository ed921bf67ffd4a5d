//! What `grade` reads in a submitted file before running it: calls and attributes that a
//! step has no reason to use unless its reference does, because they can fake a pass or
//! reach beyond the student's file.
//!
//! The file is read as Rust tokens (comments and the insides of strings are not code), and a
//! finding is kept only when the step's reference and starter have none of the same kind
//! and name: `_exit` in a fork child is the lesson of topic `fork`, `std::process::exit` in a
//! monitor is not. Two kinds make `grade` refuse the step ("rejected"): linker attributes and
//! assembly (code that can run before the test harness, where the grader's evidence is
//! set up), and files read at compile time (`include!`, `#[path]`: a way to the teacher's
//! files). The others are flags for the teacher to look at; the verdict stands.

use std::collections::BTreeSet;
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// What a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// Ends the process: `exit`, `_exit`, `abort`, `exit_group`...
    ProcessExit,
    /// Runs or places code outside Rust's rules: `link_section`, `export_name`,
    /// `no_mangle`, `used`, `asm!`, `global_asm!`.
    Linker,
    /// Reads other files at compile time: `include!`, `include_str!`, `include_bytes!`,
    /// `#[path = ...]`.
    CompileTimeFiles,
    /// Reads the compiler's environment: `env!`, `option_env!`.
    CompileTimeEnv,
    /// Declares foreign functions: an `extern "C" { ... }` block.
    Ffi,
    /// Sends or handles signals: `sigaction`, `signal`, `raise`, `kill`, `tgkill`...
    Signals,
    /// Reads the test process itself: `env::args`, `current_exe`, `/proc/self`.
    OwnProcess,
}

impl Kind {
    /// The name in results (`process_exit`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::ProcessExit => "process_exit",
            Kind::Linker => "linker",
            Kind::CompileTimeFiles => "compile_time_files",
            Kind::CompileTimeEnv => "compile_time_env",
            Kind::Ffi => "ffi",
            Kind::Signals => "signals",
            Kind::OwnProcess => "own_process",
        }
    }

    /// Whether `grade` refuses to run a file with this finding.
    pub fn rejects(self) -> bool {
        matches!(self, Kind::Linker | Kind::CompileTimeFiles)
    }
}

/// One thing found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Its kind.
    pub kind: Kind,
    /// What was used (`std::process::exit`, `#[no_mangle]`, `include_str!`).
    pub what: String,
    /// The line (1-based).
    pub line: usize,
}

impl Finding {
    /// `process_exit: std::process::exit (line 12)`.
    pub fn describe(&self) -> String {
        format!("{}: {} (line {})", self.kind.name(), self.what, self.line)
    }

    /// The name compared with the reference's: its kind and the last segment of its path
    /// (`process_exit:_exit`).
    pub fn key(&self) -> String {
        let last = self.what.rsplit("::").next().unwrap_or(&self.what);
        format!("{}:{last}", self.kind.name())
    }
}

const EXITS: &[&str] = &[
    "exit",
    "_exit",
    "_Exit",
    "quick_exit",
    "abort",
    "exit_group",
    "SYS_exit",
    "SYS_exit_group",
];
const SIGNALS: &[&str] = &[
    "sigaction",
    "signal",
    "raise",
    "kill",
    "killpg",
    "tgkill",
    "tkill",
    "pthread_kill",
];
const LINKER_ATTRIBUTES: &[&str] = &[
    "link_section",
    "export_name",
    "no_mangle",
    "used",
    "link",
    "naked",
];

/// Everything `source` uses of the kinds above. A file that is not valid Rust tokens has no
/// findings (it does not compile either).
pub fn scan(source: &str) -> Vec<Finding> {
    let Ok(stream) = TokenStream::from_str(source) else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    walk(stream, &mut findings);
    findings.sort_by_key(|f| f.line);
    findings
}

/// The keys ([`Finding::key`]) of what `sources` (a step's reference and starter) use.
pub fn allowed<'a>(sources: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    sources
        .into_iter()
        .flat_map(scan)
        .map(|f| f.key())
        .collect()
}

/// The findings of `student` that neither `reference` nor `starter` has (same kind, same
/// name), one per kind and name, first occurrence first.
#[cfg(test)]
pub fn unexpected(student: &str, reference: Option<&str>, starter: Option<&str>) -> Vec<Finding> {
    unexpected_given(
        student,
        &allowed([reference, starter].into_iter().flatten()),
    )
}

/// The findings of `student` whose key is not in `allowed`, one per key.
pub fn unexpected_given(student: &str, allowed: &BTreeSet<String>) -> Vec<Finding> {
    let mut seen = BTreeSet::new();
    scan(student)
        .into_iter()
        .filter(|f| !allowed.contains(&f.key()) && seen.insert(f.key()))
        .collect()
}

fn walk(stream: TokenStream, findings: &mut Vec<Finding>) {
    let tokens: Vec<TokenTree> = stream.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        let next = tokens.get(i + 1);
        match token {
            TokenTree::Group(group) => {
                // `#[...]` and `#![...]`: an attribute.
                let is_attribute = group.delimiter() == Delimiter::Bracket
                    && i >= 1
                    && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '#'
                        || (p.as_char() == '!' && i >= 2
                            && matches!(&tokens[i - 2], TokenTree::Punct(h) if h.as_char() == '#')));
                if is_attribute {
                    attribute(group.stream(), findings);
                }
                walk(group.stream(), findings);
            }
            TokenTree::Ident(ident) => {
                let name = ident.to_string();
                let line = ident.span().start().line;
                let bang = matches!(next, Some(TokenTree::Punct(p)) if p.as_char() == '!');
                let after_dot =
                    i >= 1 && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
                let mut push = |kind, what: String| findings.push(Finding { kind, what, line });
                if bang {
                    match name.as_str() {
                        "asm" | "global_asm" | "naked_asm" => {
                            push(Kind::Linker, format!("{name}!"))
                        }
                        "include" | "include_str" | "include_bytes" => {
                            push(Kind::CompileTimeFiles, format!("{name}!"))
                        }
                        "env" | "option_env" => push(Kind::CompileTimeEnv, format!("{name}!")),
                        _ => {}
                    }
                    continue;
                }
                if after_dot {
                    continue; // a method or a field of the student's own
                }
                if EXITS.contains(&name.as_str()) {
                    push(Kind::ProcessExit, path_ending_at(&tokens, i));
                } else if SIGNALS.contains(&name.as_str()) {
                    push(Kind::Signals, path_ending_at(&tokens, i));
                } else if matches!(name.as_str(), "args" | "args_os" | "current_exe") {
                    let path = path_ending_at(&tokens, i);
                    if path.contains("env::") {
                        push(Kind::OwnProcess, path);
                    }
                } else if name == "extern" {
                    // `extern "C" { ... }` or `extern { ... }`: foreign declarations. (`extern
                    // "C" fn` defines a function others may call: a signal handler.)
                    let block = match next {
                        Some(TokenTree::Literal(_)) => matches!(tokens.get(i + 2),
                            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace),
                        Some(TokenTree::Group(g)) => g.delimiter() == Delimiter::Brace,
                        _ => false,
                    };
                    if block {
                        push(Kind::Ffi, "extern block".to_string());
                    }
                }
            }
            TokenTree::Literal(literal) => {
                let text = literal.to_string();
                if text.contains("/proc/") {
                    findings.push(Finding {
                        kind: Kind::OwnProcess,
                        what: "/proc".to_string(),
                        line: literal.span().start().line,
                    });
                }
            }
            TokenTree::Punct(_) => {}
        }
    }
}

/// The inside of `#[...]`: `no_mangle`, `unsafe(link_section = ".init_array")`, `path = "x"`.
fn attribute(inner: TokenStream, findings: &mut Vec<Finding>) {
    let tokens: Vec<TokenTree> = inner.into_iter().collect();
    let (name, line) = match tokens.first() {
        Some(TokenTree::Ident(i)) if i == "unsafe" => match tokens.get(1) {
            Some(TokenTree::Group(g)) => match g.stream().into_iter().next() {
                Some(TokenTree::Ident(i)) => (i.to_string(), i.span().start().line),
                _ => return,
            },
            _ => return,
        },
        Some(TokenTree::Ident(i)) => (i.to_string(), i.span().start().line),
        _ => return,
    };
    if LINKER_ATTRIBUTES.contains(&name.as_str()) {
        findings.push(Finding {
            kind: Kind::Linker,
            what: format!("#[{name}]"),
            line,
        });
    } else if name == "path" {
        findings.push(Finding {
            kind: Kind::CompileTimeFiles,
            what: "#[path]".to_string(),
            line,
        });
    }
}

/// `std::process::exit` for the `exit` at `at`, with the segments before it.
fn path_ending_at(tokens: &[TokenTree], at: usize) -> String {
    let mut segments = vec![tokens[at].to_string()];
    let mut i = at;
    while i >= 3 {
        let colons = matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == ':')
            && matches!(&tokens[i - 2], TokenTree::Punct(p) if p.as_char() == ':');
        match (&tokens[i - 3], colons) {
            (TokenTree::Ident(ident), true) => {
                segments.push(ident.to_string());
                i -= 3;
            }
            _ => break,
        }
    }
    segments.reverse();
    segments.join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_are_found_with_their_path_and_line_but_not_in_comments_or_strings() {
        let source = "// std::process::exit(0) in a comment\nfn f() {\n    println!(\"exit(0)\");\n    std::process::exit(0);\n    unsafe { libc::_exit(1) };\n    self.abort();\n}\n";
        let found = scan(source);
        assert_eq!(
            found,
            [
                Finding {
                    kind: Kind::ProcessExit,
                    what: "std::process::exit".into(),
                    line: 4
                },
                Finding {
                    kind: Kind::ProcessExit,
                    what: "libc::_exit".into(),
                    line: 5
                },
            ]
        );
    }

    #[test]
    fn linker_attributes_and_compile_time_files_reject() {
        let source = "#[unsafe(link_section = \".init_array\")]\n#[used]\nstatic I: fn() = f;\n#[path = \"/x/solutions/a.rs\"]\nmod a;\nconst S: &str = include_str!(\"../x\");\n";
        let found: Vec<(Kind, String)> =
            scan(source).into_iter().map(|f| (f.kind, f.what)).collect();
        assert_eq!(
            found,
            [
                (Kind::Linker, "#[link_section]".to_string()),
                (Kind::Linker, "#[used]".to_string()),
                (Kind::CompileTimeFiles, "#[path]".to_string()),
                (Kind::CompileTimeFiles, "include_str!".to_string()),
            ]
        );
        assert!(found.iter().all(|(k, _)| k.rejects()));
    }

    #[test]
    fn what_the_reference_uses_is_not_flagged() {
        let reference = "fn child() -> ! { unsafe { nix::libc::_exit(0) } }\nextern \"C\" fn on_signal(_: i32) {}\n";
        let student = "fn child() -> ! { unsafe { libc::_exit(0) } }\nfn g() { std::process::exit(3) }\nextern \"C\" fn on_signal(_: i32) {}\nunsafe extern \"C\" { fn getpid() -> i32; }\n";
        let flagged: Vec<String> = unexpected(student, Some(reference), None)
            .iter()
            .map(Finding::describe)
            .collect();
        assert_eq!(
            flagged,
            [
                "process_exit: std::process::exit (line 2)",
                "ffi: extern block (line 4)"
            ]
        );
    }
}
