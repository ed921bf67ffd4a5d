//! Std items in simulated code: what the scheduler cannot see, found where it can be.
//!
//! Every simulated thread is a coroutine on one OS thread, and only interleave's own
//! operations are scheduling points. So a `std::sync::Mutex` that is contended blocks
//! that one OS thread for good, `std::thread::current()` returns the same thread for
//! every simulated thread, `std::thread::sleep` sleeps for real outside the virtual
//! clock, and a std atomic or `std::time::Instant` is invisible to the exploration.
//! None of these can be intercepted. Two things can be done:
//!
//! - [`check`]: the student's source files (under `exercises/` or `solutions/`) are
//!   read when they create a simulated object or thread (the constructors are
//!   `#[track_caller]`); a std, parking_lot or crossbeam-channel concurrency item in them
//!   fails the run at once, naming the line, what goes wrong and the facade item to use.
//! - [`blocked_in`]: when the watchdog finds a simulation stuck, it reads (on Linux)
//!   which system call the simulation's OS thread is in, so the report can say "blocked
//!   in a futex: a std::sync::Mutex ..." or "sleeping for real: std::thread::sleep".

use std::collections::HashMap;
use std::sync::OnceLock;

use parking_lot::Mutex;

/// An item the scheduler cannot see, what it does in a simulation, and what to use.
struct Escape {
    /// The full path (`std::thread::current`).
    path: &'static str,
    /// What goes wrong in a simulation.
    why: &'static str,
    /// The facade item to use instead.
    instead: &'static str,
}

const BLOCKS: &str =
    "blocks the one OS thread all simulated threads run on, unseen by the scheduler";

const ESCAPES: &[Escape] = &[
    Escape {
        path: "std::thread::current",
        why: "returns the same thread (same id, same name) for every simulated thread",
        instead: "interleave::thread::current",
    },
    Escape {
        path: "std::thread::spawn",
        why: "starts a real thread the scheduler does not manage",
        instead: "interleave::thread::spawn",
    },
    Escape {
        path: "std::thread::Builder",
        why: "starts a real thread the scheduler does not manage",
        instead: "interleave::thread::Builder",
    },
    Escape {
        path: "std::thread::scope",
        why: "starts real threads the scheduler does not manage",
        instead: "interleave::thread::scope",
    },
    Escape {
        path: "std::thread::sleep",
        why: "sleeps for real, outside the virtual clock of the simulation",
        instead: "interleave::thread::sleep",
    },
    Escape {
        path: "std::thread::park",
        why: BLOCKS,
        instead: "interleave::thread::park",
    },
    Escape {
        path: "std::thread::park_timeout",
        why: BLOCKS,
        instead: "interleave::thread::park_timeout",
    },
    Escape {
        path: "std::thread::yield_now",
        why: "lets no simulated thread run (it is not a scheduling point)",
        instead: "interleave::thread::yield_now",
    },
    Escape {
        path: "std::sync::Mutex",
        why: BLOCKS,
        instead: "interleave::sync::Mutex",
    },
    Escape {
        path: "std::sync::RwLock",
        why: BLOCKS,
        instead: "interleave::sync::RwLock",
    },
    Escape {
        path: "std::sync::Condvar",
        why: BLOCKS,
        instead: "interleave::sync::Condvar",
    },
    Escape {
        path: "std::sync::Barrier",
        why: BLOCKS,
        instead: "interleave::sync::{Mutex, Condvar} (a counter and a condition)",
    },
    Escape {
        path: "std::sync::mpsc",
        why: BLOCKS,
        instead: "interleave::channel",
    },
    Escape {
        path: "std::sync::atomic::Atomic",
        why: "is not a scheduling point: no interleaving of its operations is ever tried",
        instead: "interleave::sync::atomic::Atomic...",
    },
    Escape {
        path: "std::time::Instant",
        why: "reads the real clock, while sleeps and timeouts in the simulation use a virtual one",
        instead: "interleave::time::Instant",
    },
    Escape {
        path: "std::time::SystemTime",
        why: "reads the real wall clock, while the simulation's clock is virtual",
        instead: "interleave::time::SystemTime",
    },
    Escape {
        path: "thread_local!",
        why: "is one variable for every simulated thread (they all run on one OS thread)",
        instead: "state owned by each thread's closure, or a map keyed by \
                  interleave::thread::current().id()",
    },
    Escape {
        path: "parking_lot::",
        why: BLOCKS,
        instead: "interleave::sync (the same names and API)",
    },
    Escape {
        path: "crossbeam_channel::",
        why: BLOCKS,
        instead: "interleave::channel (the same names and API)",
    },
];

/// True for the files a student writes (or their references), which a simulation
/// checks: a path with a component `exercises` or `solutions`.
pub(crate) fn is_student_file(file: &str) -> bool {
    file.split(['/', '\\'])
        .any(|c| c == "exercises" || c == "solutions")
}

/// Fails (panics) if the student file `file`, which runs in a simulation, uses a
/// concurrency item the scheduler cannot see. Checked once per file and process.
pub(crate) fn check(file: &'static str) {
    if !is_student_file(file) {
        return;
    }
    type Verdict = Option<(String, usize, usize)>;
    static CHECKED: OnceLock<Mutex<HashMap<&'static str, Verdict>>> = OnceLock::new();
    let checked = CHECKED.get_or_init(Default::default);
    let cached = checked.lock().get(file).cloned();
    let verdict = match cached {
        Some(v) => v,
        None => {
            let v = crate::site::source(file).and_then(|src| {
                let text: String = src.iter().collect();
                let found = find(&text);
                let first = found.first().map(|f| (f.line, f.column));
                report(file, &found).zip(first).map(|(m, (l, c))| (m, l, c))
            });
            checked.lock().insert(file, v.clone());
            v
        }
    };
    let Some((msg, line, column)) = verdict else {
        return;
    };
    // In a simulated thread the report's `-->` is where the panic happened: make it the
    // student's line, not this one.
    if let Some(e) = crate::runtime::current()
        && let Some(mut st) = e.shared.st.try_lock()
        && st.current.is_some()
    {
        let at = format!("{}{file}:{line}:{column}", crate::trace::PANICKED_AT);
        st.push_event(None, at.into(), None, false);
        drop(st);
        std::panic::resume_unwind(Box::new(msg));
    }
    panic!("{msg}");
}

/// A use of an escape: the line (1-based), the text as written, and the escape.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) written: String,
    pub(crate) path: &'static str,
}

/// The message for the uses found in `file`, if any.
pub(crate) fn report(file: &str, found: &[Found]) -> Option<String> {
    if found.is_empty() {
        return None;
    }
    let mut msg = format!(
        "interleave: {file} runs in a simulation but uses what the scheduler cannot see \
         (every simulated thread runs on one OS thread, and only interleave's operations are \
         scheduling points):\n"
    );
    for f in found.iter().take(6) {
        let e = ESCAPES
            .iter()
            .find(|e| e.path == f.path)
            .expect("found escapes are listed");
        msg.push_str(&format!(
            "line {}: `{}` {}; use {} instead\n",
            f.line, f.written, e.why, e.instead
        ));
    }
    msg.push_str("help: import from interleave (the same names and API) so that the tests can run your threads");
    Some(msg)
}

/// The escapes used in `text` (already masked: no comments or literals), in line order.
pub(crate) fn find(text: &str) -> Vec<Found> {
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let column_of = |at: usize| {
        let start = text[..at].rfind('\n').map_or(0, |k| k + 1);
        text[start..at].chars().count() + 1
    };
    let mut found: Vec<Found> = Vec::new();
    let mut push = |at: usize, written: String, path: &'static str| {
        let line = line_of(at);
        if !found.iter().any(|f| f.line == line && f.path == path) {
            found.push(Found {
                line,
                column: column_of(at),
                written,
                path,
            });
        }
    };
    // Local names bound by `use` to std modules (`use std::thread;` -> `thread`).
    let mut modules: Vec<(String, String)> = Vec::new();
    let code = squeeze_paths(text);
    let decls = uses(&code.0);
    for (at, _, decl) in &decls {
        let at = *at;
        for (path, local) in expand_use(decl) {
            let full = path.trim_start_matches("::").to_string();
            if let Some(e) = escape_of(&full) {
                push(code.1[at], full.clone(), e);
            } else if full.starts_with("std::") || full.starts_with("core::") {
                modules.push((local, full));
            }
        }
    }
    // Paths written out in the code, and paths through an imported std module.
    let squeezed = &code.0;
    let b = squeezed.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
    let mut i = 0;
    while i < b.len() {
        if ident(b[i]) && (i == 0 || !ident(b[i - 1])) && !b[i].is_ascii_digit() {
            let mut j = i;
            while j < b.len() && (ident(b[j]) || (b[j] == b':' && b.get(j + 1) == Some(&b':'))) {
                j += if b[j] == b':' { 2 } else { 1 };
            }
            let path = &squeezed[i..j];
            let in_use = decls.iter().any(|(at, end, _)| (*at..*end).contains(&i));
            if path.contains("::") && !in_use {
                let (head, rest) = path.split_once("::").expect("has ::");
                let full = match modules.iter().find(|(local, _)| local == head) {
                    Some((_, module)) => format!("{module}::{rest}"),
                    None => path.to_string(),
                };
                if let Some(e) = escape_of(&full) {
                    push(code.1[i], path.to_string(), e);
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    // `thread_local!`, a macro of the prelude: no path to follow.
    let mut from = 0;
    while let Some(k) = squeezed[from..].find("thread_local!") {
        let at = from + k;
        let starts = at == 0 || !ident(b[at - 1]) || squeezed[..at].ends_with("std::");
        if starts {
            push(
                line_of(code.1[at]),
                "thread_local!".to_string(),
                "thread_local!",
            );
        }
        from = at + 1;
    }
    found.sort_by_key(|f| f.line);
    found
}

/// The escape `path` is (or starts with), if any.
fn escape_of(path: &str) -> Option<&'static str> {
    let path = path.trim_start_matches("::");
    ESCAPES
        .iter()
        .find(|e| {
            if e.path.ends_with("::") || e.path.ends_with("Atomic") {
                path.starts_with(e.path)
            } else {
                path == e.path
                    || path
                        .strip_prefix(e.path)
                        .is_some_and(|r| r.starts_with("::"))
            }
        })
        .map(|e| e.path)
}

/// The text with whitespace around `::` removed (`std :: thread` -> `std::thread`), and
/// for each char of the result its index in the original text.
fn squeeze_paths(text: &str) -> (String, Vec<usize>) {
    let chars: Vec<char> = text.chars().collect();
    let mut byte_at = Vec::with_capacity(chars.len());
    let mut b = 0;
    for c in &chars {
        byte_at.push(b);
        b += c.len_utf8();
    }
    let mut out = String::new();
    let mut map = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            // Drop whitespace next to `::`.
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let before = out.ends_with("::");
            let after = chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':');
            if before || after {
                i = j;
                continue;
            }
        }
        out.push(chars[i]);
        map.push(byte_at[i]);
        i += 1;
    }
    // `map` is indexed by char; callers index by byte of `out`: make it byte-indexed.
    let mut by_byte = Vec::with_capacity(out.len() + 1);
    for (k, c) in out.chars().enumerate() {
        for _ in 0..c.len_utf8() {
            by_byte.push(map[k]);
        }
    }
    by_byte.push(text.len());
    (out, by_byte)
}

/// The `use` declarations of `code`: (byte offset of `use`, of its `;`, the text
/// between them).
fn uses(code: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(k) = code[from..].find("use") {
        let at = from + k;
        from = at + 3;
        let before_ok = code[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after_ok = code[at + 3..].starts_with(|c: char| c.is_whitespace() || c == ':');
        if !(before_ok && after_ok) {
            continue;
        }
        // Only at the start of an item (after `;`, `{`, `}`, an attribute or `pub`).
        let prev = code[..at].trim_end();
        let item_start = prev.is_empty()
            || prev.ends_with([';', '{', '}', ']'])
            || prev.ends_with("pub")
            || prev.ends_with(')');
        if !item_start {
            continue;
        }
        if let Some(end) = code[at..].find(';') {
            out.push((at, at + end, code[at + 3..at + end].trim().to_string()));
        }
    }
    out
}

/// Expands a use tree into (path, local name): `std::{sync::{Arc, Mutex as M}, thread}`
/// -> `std::sync::Arc` (Arc), `std::sync::Mutex` (M), `std::thread` (thread).
fn expand_use(tree: &str) -> Vec<(String, String)> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    expand_into("", &tree, &mut out);
    out
}

fn expand_into(prefix: &str, tree: &str, out: &mut Vec<(String, String)>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = tree[..open].trim().trim_end_matches("::");
        let inner = tree[open + 1..].trim_end().trim_end_matches('}');
        let base = join(prefix, head);
        for part in split_top(inner) {
            expand_into(&base, part, out);
        }
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((p, a)) => (p.trim(), Some(a.trim())),
        None => (tree, None),
    };
    if path.is_empty() || path == "*" || path.ends_with("::*") {
        return;
    }
    let (full, last) = if path == "self" {
        let last = prefix.rsplit("::").next().unwrap_or(prefix).to_string();
        (prefix.to_string(), last)
    } else {
        let full = join(prefix, path);
        let last = path.rsplit("::").next().unwrap_or(path).to_string();
        (full, last)
    };
    let local = alias.map(str::to_string).unwrap_or(last);
    out.push((full, local));
}

fn join(prefix: &str, rest: &str) -> String {
    match (prefix.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_string(),
        (_, true) => prefix.to_string(),
        _ => format!("{prefix}::{rest}"),
    }
}

/// Splits at the commas that are not inside braces.
fn split_top(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (k, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&s[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// What a blocked OS thread waits in, as far as a std item goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// `futex`: a std or parking_lot lock, condition variable, channel or `park`.
    Futex,
    /// `nanosleep`: `std::thread::sleep`.
    Sleep,
}

/// What the OS thread `tid` of this process is blocked in, when the kernel says it is a
/// futex or a sleep (Linux: `/proc/self/task/<tid>/syscall`, or its `wchan`).
pub(crate) fn blocked_in(tid: u32) -> Option<Blocked> {
    let base = format!("/proc/self/task/{tid}");
    let syscall = std::fs::read_to_string(format!("{base}/syscall")).ok();
    let by_number = syscall
        .as_deref()
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse::<i64>().ok())
        .and_then(syscall_name);
    let name = by_number.map(str::to_string).or_else(|| {
        let wchan = std::fs::read_to_string(format!("{base}/wchan")).ok()?;
        Some(wchan.trim().to_string())
    })?;
    if name.contains("futex") {
        Some(Blocked::Futex)
    } else if name.contains("nanosleep") {
        Some(Blocked::Sleep)
    } else {
        None
    }
}

/// The name of a Linux system call number on this architecture (the few a stuck
/// simulation is likely to be in).
fn syscall_name(n: i64) -> Option<&'static str> {
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    let table: &[(i64, &str)] = &[
        (0, "read"),
        (7, "poll"),
        (23, "select"),
        (35, "nanosleep"),
        (202, "futex"),
        (230, "clock_nanosleep"),
        (232, "epoll_wait"),
        (270, "pselect6"),
        (271, "ppoll"),
        (281, "epoll_pwait"),
        (61, "wait4"),
        (45, "recvfrom"),
        (43, "accept"),
    ];
    #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
    let table: &[(i64, &str)] = &[
        (63, "read"),
        (73, "ppoll"),
        (72, "pselect6"),
        (101, "nanosleep"),
        (98, "futex"),
        (115, "clock_nanosleep"),
        (22, "epoll_pwait"),
        (260, "wait4"),
        (207, "recvfrom"),
        (202, "accept"),
    ];
    #[cfg(not(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    )))]
    let table: &[(i64, &str)] = &[];
    table.iter().find(|(k, _)| *k == n).map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(src: &str) -> Vec<(usize, String, &'static str)> {
        let masked: String = crate::site::mask(src).into_iter().collect();
        find(&masked)
            .into_iter()
            .map(|f| (f.line, f.written, f.path))
            .collect()
    }

    #[test]
    fn imports_of_std_primitives_are_found() {
        let src = "use std::sync::{Arc, Mutex};\nuse std::{thread, time::Instant as Now};\nuse interleave::sync::Condvar;\n";
        assert_eq!(
            found(src),
            vec![
                (1, "std::sync::Mutex".into(), "std::sync::Mutex"),
                (2, "std::time::Instant".into(), "std::time::Instant"),
            ]
        );
    }

    #[test]
    fn calls_through_an_imported_std_module_are_found() {
        let src = "use std::thread;\nfn f() {\n    let me = thread::current().id();\n    thread::sleep(d);\n}\n";
        assert_eq!(
            found(src),
            vec![
                (3, "thread::current".into(), "std::thread::current"),
                (4, "thread::sleep".into(), "std::thread::sleep"),
            ]
        );
    }

    #[test]
    fn interleave_modules_with_the_same_names_are_not_escapes() {
        let src = "use interleave::thread;\nuse interleave::sync::atomic::{AtomicUsize, Ordering};\nfn f() { thread::current(); thread::sleep(d); }\n";
        assert!(found(src).is_empty());
    }

    #[test]
    fn full_paths_in_code_are_found_but_not_in_comments_or_strings() {
        let src = "// std::thread::current() in a comment\n/// let t = std::thread::spawn(f);\nfn f() {\n    let s = \"std::sync::Mutex\";\n    let id = std::thread::current().id();\n    let a = std::sync::atomic::AtomicBool::new(false);\n    let o = std::sync::atomic::Ordering::SeqCst;\n}\n";
        assert_eq!(
            found(src),
            vec![
                (5, "std::thread::current".into(), "std::thread::current"),
                (
                    6,
                    "std::sync::atomic::AtomicBool::new".into(),
                    "std::sync::atomic::Atomic"
                ),
            ]
        );
    }

    #[test]
    fn the_real_crates_are_escapes_too() {
        let src = "use parking_lot::Mutex;\nuse crossbeam_channel::{bounded, Receiver};\n";
        let f = found(src);
        let lines: Vec<usize> = f.iter().map(|(l, _, _)| *l).collect();
        assert_eq!(lines, [1, 2], "{f:?}");
    }

    #[test]
    fn thread_locals_are_found() {
        let src = "thread_local! {\n    static MINE: Cell<u32> = Cell::new(0);\n}\n";
        assert_eq!(
            found(src),
            vec![(1, "thread_local!".into(), "thread_local!")]
        );
    }

    #[test]
    fn harmless_std_items_are_not_escapes() {
        let src = "use std::sync::Arc;\nuse std::time::Duration;\nuse std::collections::VecDeque;\nuse std::sync::atomic::Ordering;\nfn f() { std::thread::available_parallelism(); }\n";
        assert!(found(src).is_empty(), "{:?}", found(src));
    }

    #[test]
    fn the_report_names_the_line_the_item_and_the_replacement() {
        let src = "use std::thread;\nfn f() { thread::current(); }\n";
        let masked: String = crate::site::mask(src).into_iter().collect();
        let msg = report("exercises/07_locks/x.rs", &find(&masked)).expect("a report");
        assert!(msg.contains("line 2: `thread::current`"), "{msg}");
        assert!(
            msg.contains("use interleave::thread::current instead"),
            "{msg}"
        );
    }

    #[test]
    fn only_student_files_are_checked() {
        assert!(is_student_file(
            "crates/tunnel/src/../../../exercises/03_tunnel/basic.rs"
        ));
        assert!(is_student_file("solutions/07_locks/clocks.rs"));
        assert!(!is_student_file("crates/locks/tests/clocks.rs"));
    }

    #[test]
    fn a_thread_sleeping_or_blocked_on_a_std_mutex_is_recognised() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let tid = |tx: std::sync::mpsc::Sender<u32>| {
            let link = std::fs::read_link("/proc/thread-self").unwrap();
            tx.send(link.file_name().unwrap().to_str().unwrap().parse().unwrap())
                .unwrap();
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let t = tx.clone();
        std::thread::spawn(move || {
            tid(t);
            std::thread::sleep(std::time::Duration::from_secs(3));
        });
        let sleeper = rx.recv().unwrap();
        let lock = std::sync::Arc::new(std::sync::Mutex::new(()));
        let held = lock.lock().unwrap();
        let l = lock.clone();
        std::thread::spawn(move || {
            tid(tx);
            drop(l.lock());
        });
        let waiter = rx.recv().unwrap();
        // Give both threads time to reach their system call.
        let seen = |tid: u32, want: Blocked| {
            (0..200).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(5));
                blocked_in(tid) == Some(want)
            })
        };
        assert!(seen(sleeper, Blocked::Sleep));
        assert!(seen(waiter, Blocked::Futex));
        drop(held);
    }
}
