//! Rules no run can see, checked in the student's source: what a forked child and a
//! signal handler may call.
//!
//! After `fork` in a process that may have other threads, the child may only call
//! async-signal-safe functions until it execs or leaves with `_exit`: another thread may
//! have held malloc's lock or stdout's lock at the moment of the fork, and in the child
//! nobody will ever release it. A signal handler runs in the middle of whatever the
//! process was doing, so the same list applies to it. A demo is single-threaded, so a
//! `println!` in a child works in every run: only the source shows the mistake.
//!
//! [`Source`] parses a step's file with `syn` and walks:
//! - every child branch of a `fork` (`match fork() { ForkResult::Child => .. }`, `if let`,
//!   or a pid compared with 0): each call must be async-signal-safe, the branch may not
//!   return, `?`, `break` or `continue` into the parent's code, and must leave with
//!   `_exit` (`exit_now`), an `exec` or a function that never returns;
//! - every signal handler (an `extern "C" fn` used as a value): each call must be
//!   async-signal-safe, and it must not write a `static mut` (only atomics);
//! - a function the demo runs in a child ([`Source::runs_in_child`]).
//!
//! Calls are judged like this. Allowed: POSIX's async-signal-safe functions (`write`,
//! `read`, `close`, `_exit`, `dup2`, the `exec` family, `kill`, `getpid`, `waitpid`,
//! `sigprocmask`, `sigsuspend`...) whatever crate wraps them (`nix`, `libc`), the helpers
//! of [`crate::child`] (`Line`, `write_all`, `read_full`, `exit_now`...), atomics, and
//! the methods of plain values. A function of the file itself is allowed when its body
//! is (it is checked too). Rejected, with the reason: output and formatting macros
//! (`println!`, `format!`...), allocation (`Vec::new`, `to_string`, `collect`...), locks,
//! `std::process::exit`, panics (`unwrap`, `expect`, `panic!`), and functions of `libc`
//! or `nix` that are not on POSIX's list. Anything else (a function of another module
//! of the course, say) is given the benefit of the doubt.
//!
//! ```
//! use proctest::source::Source;
//!
//! let code = r#"
//!     fn spawn() {
//!         match unsafe { fork() } {
//!             Ok(ForkResult::Child) => {
//!                 println!("child");
//!                 exit_now(0)
//!             }
//!             _ => {}
//!         }
//!     }
//! "#;
//! let source = Source::parse("spawn.rs", code).unwrap();
//! let found = source.fork_children();
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].line, 5);
//! assert!(found[0].to_string().starts_with("spawn.rs:5: in `spawn`, the child calls `println!`"));
//! ```

use proc_macro2::Span;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, ImplItem, Item, Pat, Stmt};

/// The path of a step's file, as the tests of a topic crate find it: the reference under
/// `--features solution`, the student's file otherwise.
///
/// ```ignore
/// let path = proctest::step_file!("08_fork/spawn.rs");
/// ```
#[macro_export]
macro_rules! step_file {
    ($file:literal) => {
        if cfg!(feature = "solution") {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../solutions/", $file)
        } else {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../exercises/", $file)
        }
    };
}

/// Which rule a [`Violation`] breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// After `fork`, the child calls only async-signal-safe functions and leaves with
    /// `_exit`.
    ForkChild,
    /// A signal handler touches only atomics or writes to a self-pipe.
    SignalHandler,
}

/// One place in the source where a rule is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule.
    pub rule: Rule,
    /// The file, as given to [`Source::parse`].
    pub file: String,
    /// The line (from 1).
    pub line: usize,
    /// The column (from 0), to list violations in the order of the source.
    pub column: usize,
    /// The function the line is in.
    pub function: String,
    /// Where that function runs, when it is not where the rule starts: "called in the
    /// child", "called by the handler `on_signal`".
    pub context: Option<String>,
    /// What it does: "calls `println!`".
    pub what: String,
    /// Why that breaks the rule.
    pub why: String,
    /// What the crate gives a child to use instead, named in the advice.
    pub helpers: Helpers,
}

/// The module of a step's crate that holds what a forked child may call (`crate::sys`),
/// and those helpers' names, the one to leave with last (`exit_now`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helpers {
    /// The module, as the step's file names it: `crate::sys`.
    pub module: String,
    /// The helpers' names; the last one leaves the child (`_exit`).
    pub names: Vec<String>,
}

impl Default for Helpers {
    fn default() -> Self {
        Self {
            module: "crate::sys".to_owned(),
            names: ["Line", "write_all", "read_full", "exit_now"]
                .map(str::to_owned)
                .to_vec(),
        }
    }
}

impl Helpers {
    /// The helper that leaves the child: `crate::sys::exit_now`.
    fn leave(&self) -> String {
        let last = self.names.last().map_or("exit_now", String::as_str);
        format!("{}::{last}", self.module)
    }

    /// The advice of the rules, with the crate's module and exit helper in place of
    /// `crate::sys` and `crate::sys::exit_now`.
    fn apply(&self, text: &str) -> String {
        text.replace("crate::sys::exit_now", &self.leave())
            .replace("crate::sys", &self.module)
    }
}

impl Violation {
    /// The violation in one sentence, for a verdict: where, who, what, and the place in
    /// the file (`in `main`, the child calls `println!` (src/x.rs:4).`).
    pub fn headline(&self) -> String {
        let subject = match self.rule {
            Rule::ForkChild => "the child",
            Rule::SignalHandler => "the signal handler",
        };
        format!(
            "in `{}`, {subject} {} ({}:{}).",
            self.function, self.what, self.file, self.line
        )
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match &self.context {
            Some(context) => format!("in `{}` ({context})", self.function),
            None => format!("in `{}`", self.function),
        };
        let subject = match self.rule {
            Rule::ForkChild => "the child",
            Rule::SignalHandler => "the signal handler",
        };
        write!(
            f,
            "{}:{}: {place}, {subject} {}: {}",
            self.file, self.line, self.what, self.why
        )
    }
}

/// A step's source file, parsed.
pub struct Source {
    file: String,
    ast: syn::File,
    allowed: BTreeSet<String>,
    helpers: Helpers,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Source").field("file", &self.file).finish()
    }
}

impl Source {
    /// Reads and parses the file at `path`; messages name it by its last two components
    /// (`08_fork/spawn.rs`).
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not valid Rust (the compiler says more).
    pub fn read(path: impl AsRef<Path>) -> Result<Self, String> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
        let components: Vec<_> = path.components().rev().take(3).collect();
        let name = components
            .iter()
            .rev()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        Self::parse(&name, &text)
    }

    /// Parses `text`, named `file` in the messages.
    ///
    /// # Errors
    ///
    /// When `text` is not valid Rust.
    pub fn parse(file: &str, text: &str) -> Result<Self, String> {
        let ast = syn::parse_file(text).map_err(|err| {
            let at = err.span().start();
            format!("{file}:{}: cannot parse: {err}", at.line)
        })?;
        Ok(Self {
            file: file.to_owned(),
            ast,
            allowed: BTreeSet::new(),
            helpers: Helpers::default(),
        })
    }

    /// Also allows calls to these functions (by name), defined elsewhere and known to be
    /// async-signal-safe: `celsius`, which only computes.
    pub fn allow(mut self, names: &[&str]) -> Self {
        self.allowed.extend(names.iter().map(|n| (*n).to_owned()));
        self
    }

    /// Names the module that gives a child its helpers, and the helpers, the one that
    /// leaves last, when they are not `crate::sys`'s `Line`, `write_all`, `read_full` and
    /// `exit_now`: `.helpers("crate::child", &["Line", "write_all", "exit"])`. The advice
    /// of a violation names them.
    pub fn helpers(mut self, module: &str, names: &[&str]) -> Self {
        self.helpers = Helpers {
            module: module.to_owned(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
        };
        self
    }

    /// Checks every child branch of a `fork` in the file.
    pub fn fork_children(&self) -> Vec<Violation> {
        let mut checker = Checker::new(self, Rule::ForkChild);
        for (name, body) in self.functions() {
            let mut finder = ForkFinder::default();
            finder.visit_block(body);
            let mut streams = StreamLocals {
                imports: &checker.imports,
                bindings: Vec::new(),
            };
            streams.visit_block(body);
            let bindings = streams.bindings;
            for child in &finder.children {
                let handles = live_streams(&bindings, child.span().start());
                checker.check_child_branch(&name, child, handles);
            }
        }
        checker.sorted()
    }

    /// Checks every signal handler in the file: each `extern "C" fn` that the file uses
    /// as a value (`SigHandler::Handler(on_signal)`).
    pub fn signal_handlers(&self) -> Vec<Violation> {
        let mut checker = Checker::new(self, Rule::SignalHandler);
        let mut used = ValueUses::default();
        used.visit_file(&self.ast);
        for item in &self.ast.items {
            if let Item::Fn(function) = item {
                let is_extern = function.sig.abi.is_some();
                let name = function.sig.ident.to_string();
                if is_extern && used.names.contains(&name) {
                    checker.check_function(&name, &function.block, None);
                }
            }
        }
        checker.sorted()
    }

    /// Checks the function `name` of the file, which the demo calls in a forked child
    /// (`wait_for`, in the handshake's child): its body must be async-signal-safe. No
    /// violation when the file has no such function.
    pub fn runs_in_child(&self, name: &str) -> Vec<Violation> {
        let mut checker = Checker::new(self, Rule::ForkChild);
        if let Some(body) = self.function(name) {
            checker.check_function(
                name,
                body,
                Some("which runs in the forked child".to_owned()),
            );
        }
        checker.sorted()
    }

    /// Every function of the file with a body: free functions and methods, by name.
    fn functions(&self) -> Vec<(String, &syn::Block)> {
        let mut all = Vec::new();
        for item in &self.ast.items {
            match item {
                Item::Fn(function) => all.push((function.sig.ident.to_string(), &*function.block)),
                Item::Impl(block) => {
                    for item in &block.items {
                        if let ImplItem::Fn(method) = item {
                            all.push((method.sig.ident.to_string(), &method.block));
                        }
                    }
                }
                _ => {}
            }
        }
        all
    }

    /// The free function `name` of the file (not a method).
    fn free_function(&self, name: &str) -> Option<&syn::Block> {
        self.ast.items.iter().find_map(|item| match item {
            Item::Fn(function) if function.sig.ident == name => Some(&*function.block),
            _ => None,
        })
    }

    fn function(&self, name: &str) -> Option<&syn::Block> {
        self.functions()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, body)| body)
    }

    /// Whether the function `name` of the file returns `!`.
    fn never_returns(&self, name: &str) -> bool {
        let returns_never = |sig: &syn::Signature| matches!(&sig.output, syn::ReturnType::Type(_, ty) if matches!(**ty, syn::Type::Never(_)));
        self.ast.items.iter().any(|item| {
            match item {
            Item::Fn(function) => function.sig.ident == name && returns_never(&function.sig),
            Item::Impl(block) => block.items.iter().any(|item| {
                matches!(item, ImplItem::Fn(m) if m.sig.ident == name && returns_never(&m.sig))
            }),
            _ => false,
        }
        })
    }

    /// What the file's `use` items import, by the name they are used under:
    /// `write` -> `nix::unistd::write`.
    fn imports(&self) -> HashMap<String, String> {
        let mut map = HashMap::new();
        for item in &self.ast.items {
            if let Item::Use(item) = item {
                collect_use(&item.tree, String::new(), &mut map);
            }
        }
        map
    }

    /// The names of the file's `static mut` items.
    fn static_muts(&self) -> BTreeSet<String> {
        self.ast
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Static(s) if matches!(s.mutability, syn::StaticMutability::Mut(_)) => {
                    Some(s.ident.to_string())
                }
                _ => None,
            })
            .collect()
    }
}

fn collect_use(tree: &syn::UseTree, prefix: String, map: &mut HashMap<String, String>) {
    let join = |name: &str| {
        if prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{prefix}::{name}")
        }
    };
    match tree {
        syn::UseTree::Path(path) => collect_use(&path.tree, join(&path.ident.to_string()), map),
        syn::UseTree::Name(name) => {
            let name = name.ident.to_string();
            if name != "self" {
                map.insert(name.clone(), join(&name));
            } else if let Some(last) = prefix.rsplit("::").next() {
                map.insert(last.to_owned(), prefix.clone());
            }
        }
        syn::UseTree::Rename(rename) => {
            map.insert(rename.rename.to_string(), join(&rename.ident.to_string()));
        }
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                collect_use(tree, prefix.clone(), map);
            }
        }
        syn::UseTree::Glob(_) => {}
    }
}

/// Asserts that `violations` is empty; otherwise panics with every violation, wrapped at
/// 100 columns, then what the rule allows, then the verdict.
///
/// # Panics
///
/// When there is a violation.
#[track_caller]
pub fn assert_none(violations: &[Violation]) {
    if violations.is_empty() {
        return;
    }
    // In the shape the runner reads (as rustc's): each violation as evidence, the notes,
    // then the first violation on the `error:` line, the verdict last.
    let indented = |text: &str, width: usize, pad: &str| -> String {
        crate::wrap(text, width).replace('\n', &format!("\n{pad}"))
    };
    let mut text = String::new();
    for v in violations {
        text.push_str(&indented(&v.to_string(), 96, "  "));
        text.push('\n');
    }
    let fork = violations.iter().any(|v| v.rule == Rule::ForkChild);
    let handler = violations.iter().any(|v| v.rule == Rule::SignalHandler);
    if fork {
        let helpers = &violations[0].helpers;
        let names = match helpers.names.as_slice() {
            [] => String::new(),
            [one] => one.clone(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        text.push_str("note: ");
        text.push_str(&indented(
            &format!(
                "between fork and _exit (or exec) a child may only call async-signal-safe \
                 functions: another thread of the parent may have held malloc's or stdout's \
                 lock at the fork, and in the child nobody ever releases it. Allowed: write, \
                 read, close, dup2, the exec family, kill, getpid, waitpid, _exit, atomics, and \
                 {}'s {names}. Build text before the fork, and leave with {}.",
                helpers.module,
                helpers.leave()
            ),
            92,
            "      ",
        ));
        text.push('\n');
    }
    if handler {
        text.push_str("note: ");
        text.push_str(&indented(
            "a signal handler interrupts the program anywhere, even inside malloc or while it \
             holds a lock: it may only store to an atomic (a SignalFlag) or write() a byte to \
             a self-pipe, and let the main code do the rest.",
            92,
            "      ",
        ));
        text.push('\n');
    }
    let first = &violations[0];
    text.push_str("error: ");
    text.push_str(&indented(&first.headline(), 91, "       "));
    text.push_str("\n       ");
    text.push_str(match (fork, handler) {
        (true, true) => "Not async-signal-safe: after fork, and in a signal handler.",
        (true, false) => "Not async-signal-safe after fork.",
        _ => "Not async-signal-safe in a signal handler.",
    });
    panic!("{text}");
}

/// POSIX's async-signal-safe functions (signal-safety(7)), plus a few Linux calls of the
/// same kind, by the name their wrappers keep in `libc` and `nix`.
const ASYNC_SIGNAL_SAFE: &[&str] = &[
    "_exit",
    "_Exit",
    "abort",
    "accept",
    "accept4",
    "access",
    "alarm",
    "bind",
    "cfgetispeed",
    "cfgetospeed",
    "cfsetispeed",
    "cfsetospeed",
    "chdir",
    "chmod",
    "chown",
    "clock_gettime",
    "clock_nanosleep",
    "close",
    "connect",
    "creat",
    "dup",
    "dup2",
    "dup2_stdin",
    "dup2_stdout",
    "dup2_stderr",
    "dup3",
    "execl",
    "execle",
    "execlp",
    "execv",
    "execve",
    "execveat",
    "execvp",
    "execvpe",
    "faccessat",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchownat",
    "fcntl",
    "fdatasync",
    "fexecve",
    "fork",
    "fstat",
    "fstatat",
    "fsync",
    "ftruncate",
    "futimens",
    "getegid",
    "geteuid",
    "getgid",
    "getgroups",
    "getpeername",
    "getpgrp",
    "getpid",
    "getppid",
    "getsockname",
    "getsockopt",
    "getuid",
    "kill",
    "killpg",
    "link",
    "linkat",
    "listen",
    "lseek",
    "lstat",
    "mkdir",
    "mkdirat",
    "mkfifo",
    "mkfifoat",
    "mknod",
    "mknodat",
    "nanosleep",
    "open",
    "openat",
    "pause",
    "pipe",
    "pipe2",
    "poll",
    "ppoll",
    "pselect",
    "pthread_kill",
    "pthread_self",
    "pthread_sigmask",
    "raise",
    "read",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmsg",
    "rename",
    "renameat",
    "rmdir",
    "select",
    "send",
    "sendmsg",
    "sendto",
    "setgid",
    "setpgid",
    "setsid",
    "setsockopt",
    "setuid",
    "shutdown",
    "sigaction",
    "sigaddset",
    "sigdelset",
    "sigemptyset",
    "sigfillset",
    "sigismember",
    "signal",
    "sigpending",
    "sigprocmask",
    "sigqueue",
    "sigsuspend",
    "sleep",
    "socket",
    "socketpair",
    "stat",
    "symlink",
    "symlinkat",
    "tcdrain",
    "tcflow",
    "tcflush",
    "tcgetattr",
    "tcgetpgrp",
    "tcsendbreak",
    "tcsetattr",
    "tcsetpgrp",
    "time",
    "times",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimes",
    // Linux: one system call, and glibc's manual marks it AS-Safe.
    "close_range",
    "wait",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
    "memcpy",
    "memmove",
    "memset",
    "strlen",
    "__errno_location",
    "syscall",
];

/// The helpers of [`crate::child`] and the topics' `sys` modules written for a child
/// (they only call the functions above), and `std` functions that do no more than those.
const SAFE_HELPERS: &[&str] = &[
    "exit_now",
    "write_all",
    "read_full",
    "stdout_fd",
    "stderr_fd",
    "parse_u32",
    "work",
    "black_box",
    "drop",
    "forget",
    "size_of",
    "size_of_val",
    "swap",
    "replace",
    "take",
    "borrow_raw",
    "from_raw_fd",
    "from_raw",
    "from_ne_bytes",
    "from_le_bytes",
    "from_be_bytes",
    "to_ne_bytes",
    "to_le_bytes",
    "to_be_bytes",
    "from",
    "try_from",
    "min",
    "max",
    "last",
    "result",
    "this",
    "null",
    "null_mut",
    "addr_of",
    "addr_of_mut",
    "copy_nonoverlapping",
    "write_bytes",
    "read_volatile",
    "write_volatile",
    "zeroed",
];

/// Functions that never return, with which a child may leave.
const LEAVES: &[&str] = &[
    "_exit", "_Exit", "exit_now", "abort", "execl", "execle", "execlp", "execv", "execve",
    "execvp", "execvpe", "fexecve",
];

/// Macros a child or a handler must not use, with the reason.
fn macro_reason(name: &str) -> Option<&'static str> {
    Some(match name {
        "println" | "print" | "eprintln" | "eprint" | "dbg" => {
            "it locks the standard stream and formats into a buffer, neither async-signal-safe \
             (in a forked child, build the line first and write it with one write(), e.g. \
             crate::sys::Line; in a signal handler, set a flag and print outside it)"
        }
        "format" | "vec" => "it allocates, and malloc is not async-signal-safe",
        "panic" | "unreachable" | "todo" | "unimplemented" | "assert" | "assert_eq"
        | "assert_ne" => {
            "a panic formats, allocates and unwinds, and in a child it unwinds into the \
             parent's code"
        }
        _ => return None,
    })
}

/// Methods a child or a handler must not call, with the reason.
fn method_reason(name: &str) -> Option<&'static str> {
    Some(match name {
        "to_string" | "to_owned" | "to_vec" | "into_owned" | "collect" | "push" | "push_str"
        | "extend" | "extend_from_slice" | "insert" | "append" | "reserve" | "resize" | "join"
        | "concat" | "repeat" | "to_string_lossy" | "into_boxed_slice" | "to_uppercase"
        | "to_lowercase" | "read_to_end" | "read_to_string" => {
            "it allocates, and malloc is not async-signal-safe"
        }
        "lock" | "try_lock" | "read_lock" | "write_lock" | "lock_arc" => {
            "it takes a lock, which the code it interrupted (or, after fork, a thread that no \
             longer exists) may hold: it would wait forever"
        }
        "unwrap" | "expect" | "unwrap_err" | "expect_err" => {
            "it panics on failure, and a panic formats, allocates and unwinds (in a child, into \
             the parent's code): handle the error and leave with exit_now"
        }
        "spawn" | "output" | "status" => {
            "it starts a process through std, which allocates: use fork and exec by hand"
        }
        "wait" | "wait_timeout" | "wait_while" => {
            "a `.wait()` is sigwait (nix's SigSet::wait), a Condvar's or a Barrier's wait, or \
             std's Child::wait: none is on POSIX's list of async-signal-safe functions. To \
             take a blocked signal, read() a signalfd, or wait with sigsuspend"
        }
        _ => return None,
    })
}

/// Paths of functions a child or a handler must not call, with the reason.
fn path_reason(path: &str) -> Option<&'static str> {
    let last = path.rsplit("::").next().unwrap_or(path);
    let first = path.split("::").next().unwrap_or(path);
    if (path.ends_with("process::exit") || path == "libc::exit" || path == "exit")
        && !path.contains("_exit")
    {
        return Some(
            "exit runs the exit handlers and flushes stdio buffers the child inherited (the \
             parent's output, twice): leave with _exit (crate::sys::exit_now)",
        );
    }
    let allocating = [
        "Vec",
        "String",
        "Box",
        "Rc",
        "Arc",
        "CString",
        "OsString",
        "PathBuf",
        "HashMap",
        "BTreeMap",
        "HashSet",
        "BTreeSet",
        "VecDeque",
        "BinaryHeap",
    ];
    if allocating.contains(&first)
        || allocating
            .iter()
            .any(|t| path.contains(&format!("::{t}::")))
    {
        return Some("it allocates, and malloc is not async-signal-safe");
    }
    // std's file functions copy the path into an allocated C string (`fs::write`,
    // `File::open`); wrapping a descriptor (`File::from`) and reading it do not.
    let in_fs = path.starts_with("std::fs::") || path.starts_with("fs::");
    let fs_function = last.starts_with(char::is_lowercase) && !path.contains("File::");
    if in_fs && (fs_function || matches!(last, "open" | "create" | "options" | "create_new")) {
        return Some("std's file functions allocate (the path, the buffer)");
    }
    // std's buffered I/O allocates its buffer (a plain `Read::read` on a `File` is a read,
    // and `io::copy` copies through a buffer on the stack, or the kernel's).
    let in_io = path.starts_with("std::io::") || path.starts_with("io::");
    let buffered = ["BufReader", "BufWriter", "LineWriter"]
        .iter()
        .any(|t| path.contains(t));
    if in_io && buffered {
        return Some("it allocates its buffer, and malloc is not async-signal-safe");
    }
    if in_io && matches!(last, "read_to_string" | "read_to_end") {
        return Some(
            "it grows a String or a Vec as it reads: it allocates, and malloc is not async-signal-safe",
        );
    }
    if matches!(last, "stdout" | "stderr" | "stdin") && !path.contains("libc") {
        return Some(
            "std's standard streams are buffered behind a lock: write() to the descriptor instead (crate::sys::stdout_fd)",
        );
    }
    for (module, reason) in [
        ("std::thread::spawn", "it allocates and starts a thread"),
        ("thread::spawn", "it allocates and starts a thread"),
        (
            "std::env::",
            "std's environment functions allocate and take a lock",
        ),
        (
            "env::",
            "std's environment functions allocate and take a lock",
        ),
        (
            "Command::",
            "std's Command allocates: use fork and exec by hand",
        ),
        (
            "process::Command",
            "std's Command allocates: use fork and exec by hand",
        ),
    ] {
        if path.starts_with(module) || path.contains(&format!("::{module}")) {
            return Some(reason);
        }
    }
    // A type's own functions (`SigSet::empty`, `Signal::try_from`, `Pid::from_raw`) work
    // on plain values or wrap a call of the list (`SigSet::thread_get_mask` is
    // pthread_sigmask): only free functions are held to the list.
    let of_a_type = path
        .rsplit("::")
        .nth(1)
        .is_some_and(|t| t.starts_with(char::is_uppercase));
    if (first == "libc" || first == "nix")
        && !of_a_type
        && !ASYNC_SIGNAL_SAFE.contains(&last)
        && !SAFE_HELPERS.contains(&last)
    {
        return Some("it is not on POSIX's list of async-signal-safe functions");
    }
    None
}

/// Walks one child branch or handler, and the file's functions it calls.
struct Checker<'a> {
    source: &'a Source,
    rule: Rule,
    imports: HashMap<String, String>,
    static_muts: BTreeSet<String>,
    /// Functions of the file already checked (or being checked), by name.
    visited: BTreeSet<String>,
    found: Vec<Violation>,
}

impl<'a> Checker<'a> {
    fn new(source: &'a Source, rule: Rule) -> Self {
        Self {
            source,
            rule,
            imports: source.imports(),
            static_muts: source.static_muts(),
            visited: BTreeSet::new(),
            found: Vec::new(),
        }
    }

    /// What was found, in the order of the source.
    fn sorted(mut self) -> Vec<Violation> {
        self.found.sort_by_key(|v| (v.line, v.column));
        self.found
    }

    fn report(
        &mut self,
        function: &str,
        context: &Option<String>,
        span: Span,
        what: String,
        why: &str,
    ) {
        let violation = Violation {
            rule: self.rule,
            file: self.source.file.clone(),
            line: span.start().line,
            column: span.start().column,
            function: function.to_owned(),
            context: context.clone(),
            what,
            why: self.source.helpers.apply(why),
            helpers: self.source.helpers.clone(),
        };
        if !self.found.contains(&violation) {
            self.found.push(violation);
        }
    }

    /// The child branch of a fork in `function`, where `handles` are the locals bound
    /// before the fork to one of std's standard streams.
    fn check_child_branch(
        &mut self,
        function: &str,
        branch: &Expr,
        handles: HashMap<String, StreamLocal>,
    ) {
        let mut walker = Walker::new(self, function, None, true);
        walker.handles = handles;
        walker.visit_expr(branch);
        let calls = std::mem::take(&mut walker.local_calls);
        // A branch that is only a value (`Ok(ForkResult::Child) => None`) belongs to a
        // wrapper that hands the fork's outcome to its caller: not followed further.
        if !self.diverges(branch) && !is_plain_value(branch) {
            self.report(
                function,
                &None,
                last_span(branch),
                "does not leave at the end of its branch".to_owned(),
                "it goes on with the parent's code after the fork; end the branch with \
                 crate::sys::exit_now (_exit), or an exec",
            );
        }
        self.check_local_calls(calls, "called in the child");
    }

    /// A whole function: a handler, or one the demo runs in a child.
    fn check_function(&mut self, name: &str, body: &syn::Block, context: Option<String>) {
        self.visited.insert(name.to_owned());
        let mut walker = Walker::new(self, name, context, false);
        walker.visit_block(body);
        let calls = std::mem::take(&mut walker.local_calls);
        let how = match self.rule {
            Rule::ForkChild => "called in the child".to_owned(),
            Rule::SignalHandler => format!("called by the handler `{name}`"),
        };
        self.check_local_calls(calls, &how);
    }

    fn check_local_calls(&mut self, calls: Vec<String>, context: &str) {
        for name in calls {
            if self.visited.insert(name.clone()) {
                if let Some(body) = self.source.function(&name) {
                    let mut walker = Walker::new(self, &name, Some(context.to_owned()), false);
                    walker.visit_block(body);
                    let more = std::mem::take(&mut walker.local_calls);
                    self.check_local_calls(more, context);
                }
            }
        }
    }

    /// Whether evaluating `expr` can never finish normally: it ends in `_exit`, an exec,
    /// a function of the file that returns `!`, a `loop` without `break`, or branches that
    /// all do.
    fn diverges(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Block(block) => self.block_diverges(&block.block),
            Expr::Unsafe(block) => self.block_diverges(&block.block),
            Expr::Paren(inner) => self.diverges(&inner.expr),
            Expr::Call(call) => match &*call.func {
                Expr::Path(path) => {
                    // `exit` leaves too (it is reported for what it flushes, not here).
                    let name = last_segment(&path.path);
                    LEAVES.contains(&name.as_str())
                        || name == "exit"
                        || self.source.never_returns(&name)
                }
                _ => false,
            },
            Expr::MethodCall(call) => {
                let name = call.method.to_string();
                name == "exec" || self.source.never_returns(&name)
            }
            Expr::Loop(body) => !contains_break(&body.body),
            Expr::If(branch) => match &branch.else_branch {
                Some((_, other)) => {
                    self.block_diverges(&branch.then_branch) && self.diverges(other)
                }
                None => false,
            },
            Expr::Match(branch) => {
                !branch.arms.is_empty() && branch.arms.iter().all(|arm| self.diverges(&arm.body))
            }
            Expr::Macro(mac) => {
                let name = last_segment(&mac.mac.path);
                matches!(
                    name.as_str(),
                    "unreachable" | "panic" | "todo" | "unimplemented"
                )
            }
            _ => false,
        }
    }

    fn block_diverges(&self, block: &syn::Block) -> bool {
        block.stmts.iter().any(|stmt| match stmt {
            Stmt::Expr(expr, _) => self.diverges(expr),
            Stmt::Macro(mac) => {
                let name = last_segment(&mac.mac.path);
                matches!(
                    name.as_str(),
                    "unreachable" | "panic" | "todo" | "unimplemented"
                )
            }
            Stmt::Local(local) => local
                .init
                .as_ref()
                .is_some_and(|init| self.diverges(&init.expr)),
            _ => false,
        })
    }

    /// Judges a call of the path `path` (as written, resolved through the file's `use`
    /// items). Returns the reason it is not allowed.
    fn judge_path(&self, written: &str) -> Option<&'static str> {
        let resolved = resolve(&self.imports, written);
        let last = resolved.rsplit("::").next().unwrap_or(&resolved);
        if self.source.allowed.contains(last) {
            return None;
        }
        path_reason(&resolved)
    }
}

/// `written` (a path as the file writes it) with its first segment replaced by what the
/// file's `use` items import under that name: `io::stdout` -> `std::io::stdout`.
fn resolve(imports: &HashMap<String, String>, written: &str) -> String {
    let first = written.split("::").next().unwrap_or(written);
    match imports.get(first) {
        Some(full) => written.replacen(first, full, 1),
        None => written.to_owned(),
    }
}

/// One `let` of a function, in the order of the source: the name it binds, where, and
/// the standard stream of std it holds a handle on (`std::io::stdout()`), if it does.
#[derive(Debug, Clone)]
struct StreamLocal {
    name: String,
    line: usize,
    column: usize,
    /// How the handle was made, as the file resolves it: `std::io::stdout()`. `None` for a
    /// binding of anything else (which shadows an earlier handle of the same name).
    stream: Option<String>,
}

/// Collects the `let`s of a function body that bind a handle on std's standard output or
/// error: `let out = std::io::stdout();`, `let out = io::stderr().lock();`, or a
/// reference to such a local (`let handle = &out;`). A child that writes through one takes
/// the stream's lock and goes through its buffer, whatever method it calls on it.
struct StreamLocals<'i> {
    imports: &'i HashMap<String, String>,
    bindings: Vec<StreamLocal>,
}

impl StreamLocals<'_> {
    /// The stream `expr` is a handle on, if it is one.
    fn stream_of(&self, expr: &Expr) -> Option<String> {
        match expr {
            Expr::Call(call) => {
                let Expr::Path(path) = &*call.func else {
                    return None;
                };
                let resolved = resolve(self.imports, &path_text(&path.path));
                let last = resolved.rsplit("::").next().unwrap_or(&resolved);
                (matches!(last, "stdout" | "stderr") && !resolved.contains("libc"))
                    .then(|| format!("{resolved}()"))
            }
            Expr::MethodCall(call)
                if matches!(call.method.to_string().as_str(), "lock" | "by_ref") =>
            {
                self.stream_of(&call.receiver)
            }
            Expr::Reference(inner) => self.stream_of(&inner.expr),
            Expr::Paren(inner) => self.stream_of(&inner.expr),
            Expr::Path(path) => {
                let name = path.path.get_ident()?.to_string();
                self.bindings
                    .iter()
                    .rev()
                    .find(|b| b.name == name)
                    .and_then(|b| b.stream.clone())
            }
            _ => None,
        }
    }
}

impl<'ast> Visit<'ast> for StreamLocals<'_> {
    fn visit_local(&mut self, node: &'ast syn::Local) {
        syn::visit::visit_local(self, node);
        if let Some(ident) = bound_ident(&node.pat) {
            let start = node.span().start();
            let stream = node
                .init
                .as_ref()
                .and_then(|init| self.stream_of(&init.expr));
            self.bindings.push(StreamLocal {
                name: ident,
                line: start.line,
                column: start.column,
                stream,
            });
        }
    }

    fn visit_item(&mut self, _: &'ast Item) {}
}

/// The name a `let` pattern binds, when it binds one name: `out`, `mut out`, `out: Stdout`.
fn bound_ident(pat: &Pat) -> Option<String> {
    match pat {
        Pat::Ident(ident) => Some(ident.ident.to_string()),
        Pat::Type(typed) => bound_ident(&typed.pat),
        _ => None,
    }
}

/// The handles on a standard stream bound before `at` (the start of a child branch), by
/// name: for each name, its last binding before that point, if it is such a handle.
fn live_streams(
    bindings: &[StreamLocal],
    at: proc_macro2::LineColumn,
) -> HashMap<String, StreamLocal> {
    let mut live = HashMap::new();
    for binding in bindings
        .iter()
        .filter(|b| (b.line, b.column) < (at.line, at.column))
    {
        if binding.stream.is_some() {
            live.insert(binding.name.clone(), binding.clone());
        } else {
            live.remove(&binding.name);
        }
    }
    live
}

/// Whether `expr` is only a value: a literal, a path, or constructors of them
/// (`None`, `Some(0)`, `Ok(None)`).
fn is_plain_value(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(_) | Expr::Path(_) => true,
        Expr::Paren(inner) => is_plain_value(&inner.expr),
        Expr::Tuple(tuple) => tuple.elems.iter().all(is_plain_value),
        Expr::Call(call) => {
            matches!(&*call.func, Expr::Path(p) if last_segment(&p.path).starts_with(char::is_uppercase))
                && call.args.iter().all(is_plain_value)
        }
        _ => false,
    }
}

/// The span of the last statement of `expr` (where a branch ends).
fn last_span(expr: &Expr) -> Span {
    let block = match expr {
        Expr::Block(block) => Some(&block.block),
        Expr::Unsafe(block) => Some(&block.block),
        _ => None,
    };
    match block.and_then(|b| b.stmts.last()) {
        Some(stmt) => stmt.span(),
        None => expr.span(),
    }
}

fn last_segment(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn path_text(path: &syn::Path) -> String {
    path.segments
        .iter()
        .map(|s| s.ident.to_string())
        .collect::<Vec<_>>()
        .join("::")
}

/// Whether a `loop` body contains a `break` that leaves that loop (one without a label,
/// outside nested loops and closures, or one with any label).
fn contains_break(body: &syn::Block) -> bool {
    struct Breaks {
        depth: usize,
        found: bool,
    }
    impl<'ast> Visit<'ast> for Breaks {
        fn visit_expr_break(&mut self, node: &'ast syn::ExprBreak) {
            if self.depth == 0 || node.label.is_some() {
                self.found = true;
            }
        }
        fn visit_expr_loop(&mut self, node: &'ast syn::ExprLoop) {
            self.depth += 1;
            syn::visit::visit_expr_loop(self, node);
            self.depth -= 1;
        }
        fn visit_expr_while(&mut self, node: &'ast syn::ExprWhile) {
            self.depth += 1;
            syn::visit::visit_expr_while(self, node);
            self.depth -= 1;
        }
        fn visit_expr_for_loop(&mut self, node: &'ast syn::ExprForLoop) {
            self.depth += 1;
            syn::visit::visit_expr_for_loop(self, node);
            self.depth -= 1;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
    }
    let mut breaks = Breaks {
        depth: 0,
        found: false,
    };
    breaks.visit_block(body);
    breaks.found
}

/// Visits the code of one function or branch, reporting what the rule forbids.
struct Walker<'c, 'a> {
    checker: &'c mut Checker<'a>,
    function: String,
    context: Option<String>,
    /// In a child branch: control flow that leaves the branch goes back to the parent's
    /// code.
    branch: bool,
    /// Loops entered inside the branch (a `break` in one of them stays in the branch).
    loops: usize,
    /// Closures entered (a `?` or `return` in one leaves only the closure).
    closures: usize,
    /// Functions of the file called, to check next.
    local_calls: Vec<String>,
    /// In a child branch: the locals bound before the fork to a handle on std's standard
    /// output or error, by name, until the branch binds the name to something else.
    handles: HashMap<String, StreamLocal>,
}

impl<'c, 'a> Walker<'c, 'a> {
    fn new(
        checker: &'c mut Checker<'a>,
        function: &str,
        context: Option<String>,
        branch: bool,
    ) -> Self {
        Self {
            checker,
            function: function.to_owned(),
            context,
            branch,
            loops: 0,
            closures: 0,
            local_calls: Vec::new(),
            handles: HashMap::new(),
        }
    }

    fn report(&mut self, span: Span, what: String, why: &str) {
        let context = self.context.clone();
        self.checker
            .report(&self.function, &context, span, what, why);
    }

    fn call_path(&mut self, path: &syn::Path, span: Span) {
        let written = path_text(path);
        let last = last_segment(path);
        if path.segments.len() == 1 && self.checker.source.free_function(&last).is_some() {
            self.local_calls.push(last);
            return;
        }
        if let Some(why) = self.checker.judge_path(&written) {
            self.report(span, format!("calls `{written}`"), why);
        }
    }

    fn macro_call(&mut self, mac: &syn::Macro) {
        let name = last_segment(&mac.path);
        if let Some(why) = macro_reason(&name) {
            self.report(mac.span(), format!("calls `{name}!`"), why);
            return;
        }
        // Look inside the arguments of other macros (write!, matches!...), when they
        // parse as expressions.
        if let Ok(args) = mac
            .parse_body_with(syn::punctuated::Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        {
            for arg in &args {
                self.visit_expr(arg);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Walker<'_, '_> {
    fn visit_expr_call(&mut self, node: &'ast syn::ExprCall) {
        if let Expr::Path(path) = &*node.func {
            self.call_path(&path.path, node.span());
        }
        syn::visit::visit_expr_call(self, node);
    }

    fn visit_expr_method_call(&mut self, node: &'ast syn::ExprMethodCall) {
        let name = node.method.to_string();
        if let Some(why) = method_reason(&name) {
            self.report(node.method.span(), format!("calls `.{name}()`"), why);
        } else if self.checker.source.function(&name).is_some()
            && !SAFE_HELPERS.contains(&name.as_str())
        {
            self.local_calls.push(name);
        }
        syn::visit::visit_expr_method_call(self, node);
    }

    fn visit_macro(&mut self, node: &'ast syn::Macro) {
        self.macro_call(node);
    }

    fn visit_expr_try(&mut self, node: &'ast syn::ExprTry) {
        if self.branch && self.closures == 0 {
            self.report(
                node.question_token.span(),
                "uses `?`".to_owned(),
                "on an error it returns from the child's branch into the parent's code, and \
                 the child goes on as a second parent; handle the error and leave with \
                 exit_now",
            );
        }
        syn::visit::visit_expr_try(self, node);
    }

    fn visit_expr_return(&mut self, node: &'ast syn::ExprReturn) {
        if self.branch && self.closures == 0 {
            self.report(
                node.span(),
                "returns".to_owned(),
                "it goes back into the parent's code, and the child goes on as a second \
                 parent; leave with exit_now instead",
            );
        }
        syn::visit::visit_expr_return(self, node);
    }

    fn visit_expr_break(&mut self, node: &'ast syn::ExprBreak) {
        if self.branch && self.closures == 0 && (self.loops == 0 || node.label.is_some()) {
            self.report(
                node.span(),
                "breaks out of the parent's loop".to_owned(),
                "the child goes on with the parent's code after the loop; leave with exit_now",
            );
        }
        syn::visit::visit_expr_break(self, node);
    }

    fn visit_expr_continue(&mut self, node: &'ast syn::ExprContinue) {
        if self.branch && self.closures == 0 && (self.loops == 0 || node.label.is_some()) {
            self.report(
                node.span(),
                "continues the parent's loop".to_owned(),
                "the child goes on forking children of its own; leave with exit_now",
            );
        }
        syn::visit::visit_expr_continue(self, node);
    }

    fn visit_expr_loop(&mut self, node: &'ast syn::ExprLoop) {
        self.loops += 1;
        syn::visit::visit_expr_loop(self, node);
        self.loops -= 1;
    }

    fn visit_expr_while(&mut self, node: &'ast syn::ExprWhile) {
        self.loops += 1;
        syn::visit::visit_expr_while(self, node);
        self.loops -= 1;
    }

    fn visit_expr_for_loop(&mut self, node: &'ast syn::ExprForLoop) {
        self.loops += 1;
        syn::visit::visit_expr_for_loop(self, node);
        self.loops -= 1;
    }

    fn visit_expr_closure(&mut self, node: &'ast syn::ExprClosure) {
        self.closures += 1;
        syn::visit::visit_expr_closure(self, node);
        self.closures -= 1;
    }

    fn visit_expr_assign(&mut self, node: &'ast syn::ExprAssign) {
        if self.checker.rule == Rule::SignalHandler {
            if let Expr::Path(path) = &*node.left {
                let name = last_segment(&path.path);
                if self.checker.static_muts.contains(&name) {
                    self.report(
                        node.span(),
                        format!("writes the `static mut` {name}"),
                        "the main code may never see the change (the compiler keeps the old \
                         value in a register); store to an atomic (AtomicBool, SignalFlag)",
                    );
                }
            }
        }
        syn::visit::visit_expr_assign(self, node);
    }

    fn visit_expr_path(&mut self, node: &'ast syn::ExprPath) {
        let handle = node
            .path
            .get_ident()
            .and_then(|ident| self.handles.remove(&ident.to_string()));
        if let Some(handle) = handle {
            let stream = handle.stream.unwrap_or_default();
            let descriptor = if stream.ends_with("stderr()") {
                "descriptor 2, standard error"
            } else {
                "crate::sys::stdout_fd"
            };
            let why = format!(
                "writing through it takes the stream's lock and goes through its buffer, \
                 neither async-signal-safe (after fork, a thread that no longer exists may hold \
                 that lock): write() to the descriptor instead ({descriptor})"
            );
            self.report(
                node.span(),
                format!(
                    "uses `{}`, a handle on `{stream}` taken before the fork (line {})",
                    handle.name, handle.line
                ),
                &why,
            );
        }
        syn::visit::visit_expr_path(self, node);
    }

    fn visit_local(&mut self, node: &'ast syn::Local) {
        syn::visit::visit_local(self, node);
        // A name bound again inside the branch no longer holds the parent's handle.
        if let Some(name) = bound_ident(&node.pat) {
            self.handles.remove(&name);
        }
    }

    // Items nested in a function body are not run by it.
    fn visit_item(&mut self, _: &'ast Item) {}
}

/// Finds the child branches of forks in a function body.
#[derive(Default)]
struct ForkFinder {
    /// Variables bound to the result of a fork (`let pid = unsafe { fork() }?;`).
    bound: BTreeSet<String>,
    /// The child branches found (copies, spans included).
    children: Vec<Expr>,
}

/// Whether `expr` calls `fork` (through `unsafe`, `?`, `.expect()`, parentheses...) or
/// is a variable bound to such a call.
fn is_fork(expr: &Expr, bound: &BTreeSet<String>) -> bool {
    match expr {
        Expr::Call(call) => matches!(&*call.func, Expr::Path(p) if last_segment(&p.path) == "fork"),
        Expr::Unsafe(block) => block_value(&block.block).is_some_and(|e| is_fork(e, bound)),
        Expr::Block(block) => block_value(&block.block).is_some_and(|e| is_fork(e, bound)),
        Expr::Try(inner) => is_fork(&inner.expr, bound),
        Expr::Paren(inner) => is_fork(&inner.expr, bound),
        Expr::Reference(inner) => is_fork(&inner.expr, bound),
        Expr::MethodCall(call) => is_fork(&call.receiver, bound),
        Expr::Path(path) => path
            .path
            .get_ident()
            .is_some_and(|i| bound.contains(&i.to_string())),
        _ => false,
    }
}

fn block_value(block: &syn::Block) -> Option<&Expr> {
    match block.stmts.last()? {
        Stmt::Expr(expr, None) => Some(expr),
        _ => None,
    }
}

/// Whether a pattern names the child side: `ForkResult::Child`, `Ok(Child)`, or `0`.
fn is_child_pattern(pat: &Pat) -> bool {
    match pat {
        Pat::Path(path) => last_segment(&path.path) == "Child",
        Pat::Ident(ident) => ident.ident == "Child",
        Pat::TupleStruct(tuple) => {
            last_segment(&tuple.path) == "Child" || tuple.elems.iter().any(is_child_pattern)
        }
        Pat::Struct(s) => last_segment(&s.path) == "Child",
        Pat::Lit(lit) => matches!(&lit.lit, syn::Lit::Int(i) if i.base10_digits() == "0"),
        Pat::Or(or) => or.cases.iter().any(is_child_pattern),
        Pat::Paren(inner) => is_child_pattern(&inner.pat),
        _ => false,
    }
}

/// Whether `cond` is `X == 0` or `0 == X` with `X` a fork's result.
fn is_child_test(cond: &Expr, bound: &BTreeSet<String>) -> bool {
    match cond {
        Expr::Binary(binary) if matches!(binary.op, syn::BinOp::Eq(_)) => {
            let zero = |e: &Expr| matches!(e, Expr::Lit(l) if matches!(&l.lit, syn::Lit::Int(i) if i.base10_digits() == "0"));
            (zero(&binary.right) && is_fork(&binary.left, bound))
                || (zero(&binary.left) && is_fork(&binary.right, bound))
        }
        Expr::Paren(inner) => is_child_test(&inner.expr, bound),
        _ => false,
    }
}

impl<'ast> Visit<'ast> for ForkFinder {
    fn visit_local(&mut self, node: &'ast syn::Local) {
        if let Some(init) = &node.init {
            if is_fork(&init.expr, &self.bound) {
                if let Pat::Ident(ident) = &node.pat {
                    self.bound.insert(ident.ident.to_string());
                } else if let Pat::Type(typed) = &node.pat {
                    if let Pat::Ident(ident) = &*typed.pat {
                        self.bound.insert(ident.ident.to_string());
                    }
                }
            }
        }
        syn::visit::visit_local(self, node);
    }

    fn visit_expr_match(&mut self, node: &'ast syn::ExprMatch) {
        if is_fork(&node.expr, &self.bound) {
            for arm in &node.arms {
                if is_child_pattern(&arm.pat) {
                    self.children.push((*arm.body).clone());
                }
            }
        }
        syn::visit::visit_expr_match(self, node);
    }

    fn visit_expr_if(&mut self, node: &'ast syn::ExprIf) {
        let child = match &*node.cond {
            Expr::Let(binding) => {
                is_fork(&binding.expr, &self.bound) && is_child_pattern(&binding.pat)
            }
            cond => is_child_test(cond, &self.bound),
        };
        if child {
            // The then-branch, as an expression of its own.
            self.children.push(Expr::Block(syn::ExprBlock {
                attrs: Vec::new(),
                label: None,
                block: node.then_branch.clone(),
            }));
        }
        syn::visit::visit_expr_if(self, node);
    }

    fn visit_item(&mut self, _: &'ast Item) {}
}

/// The names used as values (not called) anywhere in the file: a handler passed to
/// `SigHandler::Handler(on_signal)` or cast with `on_signal as usize`.
#[derive(Default)]
struct ValueUses {
    names: BTreeSet<String>,
}

impl<'ast> Visit<'ast> for ValueUses {
    fn visit_expr_call(&mut self, node: &'ast syn::ExprCall) {
        // The callee itself is not a use as a value; its arguments may be.
        for arg in &node.args {
            self.visit_expr(arg);
        }
    }

    fn visit_expr_path(&mut self, node: &'ast syn::ExprPath) {
        if let Some(ident) = node.path.get_ident() {
            self.names.insert(ident.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fork_check(code: &str) -> Vec<Violation> {
        Source::parse("step.rs", code)
            .unwrap_or_else(|e| panic!("{e}"))
            .allow(&["celsius"])
            .fork_children()
    }

    fn handler_check(code: &str) -> Vec<Violation> {
        Source::parse("step.rs", code)
            .unwrap_or_else(|e| panic!("{e}"))
            .signal_handlers()
    }

    fn whats(found: &[Violation]) -> Vec<String> {
        found
            .iter()
            .map(|v| format!("{}: {}", v.line, v.what))
            .collect()
    }

    #[test]
    fn the_reference_style_child_passes() {
        let found = fork_check(
            r#"
use crate::sys::{Line, exit_now, stdout_fd, write_all};
use nix::unistd::{ForkResult, Pid, fork, getpid};
pub fn spawn_children(values: &[f64]) -> nix::Result<Vec<Pid>> {
    let mut pids = Vec::with_capacity(values.len());
    for &f in values {
        let text = format!("{f:.6} F is {:.6} C (pid ", celsius(f));
        let line = Line::new().text(text.as_bytes());
        match unsafe { fork() }? {
            ForkResult::Parent { child } => pids.push(child),
            ForkResult::Child => {
                let line = line.pid().text(b")\n");
                let code = match write_all(stdout_fd(), line.as_bytes()) {
                    Ok(()) => 0,
                    Err(_) => 1,
                };
                exit_now(code)
            }
        }
    }
    Ok(pids)
}
"#,
        );
        assert_eq!(whats(&found), Vec::<String>::new());
    }

    #[test]
    fn println_return_and_falling_through_are_found() {
        let found = fork_check(
            r#"
use nix::unistd::{ForkResult, fork, getpid};
pub fn spawn_children(values: &[f64]) -> nix::Result<Vec<i32>> {
    for &f in values {
        match unsafe { fork() }? {
            ForkResult::Parent { child } => {}
            ForkResult::Child => {
                println!("{f} (pid {})", getpid());
                return Ok(Vec::new());
            }
        }
    }
    Ok(Vec::new())
}
"#,
        );
        assert_eq!(
            whats(&found),
            [
                "8: calls `println!`",
                "9: returns",
                "9: does not leave at the end of its branch",
                "9: calls `Vec::new`"
            ]
        );
        let text = found[0].to_string();
        assert!(
            text.starts_with("step.rs:8: in `spawn_children`, the child calls `println!`"),
            "{text}"
        );
    }

    #[test]
    fn process_exit_unwrap_and_question_mark_are_found() {
        let found = fork_check(
            r#"
use nix::unistd::{fork, write, ForkResult};
use std::process::exit;
fn f(fd: &OwnedFd) -> nix::Result<()> {
    let result = unsafe { fork() };
    if let Ok(ForkResult::Child) = result {
        write(fd, b"x")?;
        write(fd, b"y").unwrap();
        exit(0);
    }
    Ok(())
}
"#,
        );
        assert_eq!(
            whats(&found),
            ["7: uses `?`", "8: calls `.unwrap()`", "9: calls `exit`"]
        );
    }

    #[test]
    fn local_functions_are_checked_where_they_run() {
        let found = fork_check(
            r#"
fn child_side(sock: &OwnedFd) -> nix::Result<()> {
    let text = format!("child");
    helper();
    Ok(())
}
fn helper() { let v = vec![1]; }
fn parent_side() { println!("fine in the parent"); }
fn ping() {
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let code = if child_side(&sock).is_ok() { 0 } else { 1 };
            crate::sys::exit_now(code)
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => parent_side(),
        Err(_) => {}
    }
}
"#,
        );
        assert_eq!(whats(&found), ["3: calls `format!`", "7: calls `vec!`"]);
        assert_eq!(found[1].context.as_deref(), Some("called in the child"));
        assert_eq!(found[1].function, "helper");
    }

    #[test]
    fn a_standard_stream_taken_before_the_fork_is_found_where_the_child_uses_it() {
        let found = fork_check(
            r#"
use std::io::{self, Write};
fn spawn(values: &[f64]) {
    let out = io::stdout();
    let err = std::io::stderr().lock();
    let mut log = io::stdout();
    writeln!(log, "in the parent: fine").ok();
    for _ in values {
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                let mut handle = &out;
                let _ = handle.write_all(b"x\n");
                let _ = (&err).write_all(b"y\n");
                let log = crate::sys::stdout_fd();
                let _ = write_all(log, b"z\n");
                exit_now(0)
            }
            _ => {}
        }
    }
    let out = 1;
    match unsafe { fork() } {
        Ok(ForkResult::Child) => exit_now(out),
        _ => {}
    }
}
"#,
        );
        assert_eq!(
            whats(&found),
            [
                "11: uses `out`, a handle on `std::io::stdout()` taken before the fork (line 4)",
                "13: uses `err`, a handle on `std::io::stderr()` taken before the fork (line 5)",
            ]
        );
    }

    #[test]
    fn std_files_are_judged_by_what_they_do() {
        let found = fork_check(
            r#"
use std::fs::{self, File};
fn f(fd: OwnedFd) {
    match unsafe { fork() } {
        Ok(ForkResult::Child) => {
            let mut file = File::from(fd);
            let mut buf = [0u8; 64];
            let _ = std::io::Read::read(&mut file, &mut buf);
            let _ = fs::write("/tmp/x", b"no");
            let _ = File::open("/tmp/x");
            exit_now(0)
        }
        _ => {}
    }
}
"#,
        );
        assert_eq!(
            whats(&found),
            ["9: calls `fs::write`", "10: calls `File::open`"]
        );
    }

    #[test]
    fn libc_style_children_and_execs_are_understood() {
        // (A type's functions from nix are allowed: SigSet::empty, SigSet::thread_get_mask.)
        let found = fork_check(
            r#"
fn run(argv: &[*const i8]) {
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        unsafe {
            libc::dup2(3, 1);
            libc::execvp(argv[0], argv.as_ptr());
            libc::printf(b"failed\0".as_ptr().cast());
            libc::_exit(127);
        }
    }
}
fn shell(command: &Exec) {
    match unsafe { fork() } {
        Ok(ForkResult::Child) => command.exec(),
        Ok(ForkResult::Parent { .. }) | Err(_) => {}
    }
}
fn waiter() -> ! { loop { nix::unistd::pause(); } }
fn signals() {
    match unsafe { fork() } {
        Ok(ForkResult::Child) => waiter(),
        _ => {}
    }
}
"#,
        );
        assert_eq!(whats(&found), ["8: calls `libc::printf`"]);
    }

    #[test]
    fn a_continue_in_the_parents_loop_is_found_but_a_loop_of_the_child_is_fine() {
        let found = fork_check(
            r#"
fn spawn(n: u32) {
    for i in 0..n {
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                for _ in 0..3 { if write_all(stdout_fd(), b"x").is_err() { break; } }
                continue;
            }
            ForkResult::Parent { .. } => {}
        }
    }
}
"#,
        );
        assert_eq!(
            whats(&found),
            [
                "7: continues the parent's loop",
                "7: does not leave at the end of its branch"
            ]
        );
    }

    #[test]
    fn handlers_may_store_atomics_and_write_a_self_pipe_only() {
        let good = handler_check(
            r#"
static GOT: SignalFlag = SignalFlag::new();
static WAKE: AtomicI32 = AtomicI32::new(-1);
extern "C" fn on_signal(signo: libc::c_int) {
    if signo == Signal::SIGUSR1 as libc::c_int { GOT.set(); }
    let fd = WAKE.load(Ordering::SeqCst);
    unsafe { libc::write(fd, b"!".as_ptr().cast(), 1) };
}
fn install() {
    let action = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
}
"#,
        );
        assert_eq!(whats(&good), Vec::<String>::new());
        let bad = handler_check(
            r#"
static COUNT: Mutex<u32> = Mutex::new(0);
static mut GOT: bool = false;
extern "C" fn on_signal(_: libc::c_int) {
    *COUNT.lock() += 1;
    unsafe { GOT = true; }
    log("signal");
}
fn log(what: &str) { eprintln!("{what}"); }
extern "C" fn not_a_handler() { println!("never installed"); }
fn install() { unsafe { libc::signal(libc::SIGTERM, on_signal as libc::sighandler_t) }; }
"#,
        );
        assert_eq!(
            whats(&bad),
            [
                "5: calls `.lock()`",
                "6: writes the `static mut` GOT",
                "9: calls `eprintln!`"
            ]
        );
        assert_eq!(
            bad[2].context.as_deref(),
            Some("called by the handler `on_signal`")
        );
    }

    #[test]
    fn the_report_is_wrapped_and_ends_with_the_verdict() {
        let found = fork_check(
            "fn f() { match unsafe { fork() } { Ok(ForkResult::Child) => { println!(\"x\"); exit_now(0) } _ => {} } }",
        );
        let text = std::panic::catch_unwind(|| assert_none(&found))
            .expect_err("a violation panics")
            .downcast::<String>()
            .expect("a message");
        assert!(text.lines().all(|l| l.len() <= 100), "{text}");
        assert!(
            text.ends_with("Not async-signal-safe after fork."),
            "{text}"
        );
    }
}
