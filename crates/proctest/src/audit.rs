//! What a careful reviewer checks before a demo's parent exits: every child has been
//! waited for, and no descriptor opened during the demo is still open.
//!
//! A demo binary calls [`Audit::start`] first thing, runs the student's code, and reports
//! what [`Audit::problems`] (one sentence per problem) or [`Audit::report`] (three lines
//! the tests parse) find. Children are found by scanning `/proc/*/stat` for processes
//! whose parent is this one, which works on every Linux kernel
//! (`/proc/self/task/*/children` needs `CONFIG_PROC_CHILDREN`, which many kernels lack).
//! This module allocates: it is for the parent, never for a forked child (see
//! [`crate::child`] for that).

use nix::sys::wait::WaitStatus;
use nix::unistd::{Pid, getpid};
use std::fmt;
use std::fs;

/// One open descriptor of the calling process.
///
/// ```
/// use proctest::audit::OpenFd;
///
/// let fd = OpenFd { fd: 4, target: "pipe:[1234]".to_owned() };
/// assert_eq!(fd.to_string(), "4 -> pipe:[1234]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFd {
    /// Its number.
    pub fd: i32,
    /// What it refers to (`/dev/null`, `pipe:[1234]`...), from `/proc/self/fd`.
    pub target: String,
}

impl fmt::Display for OpenFd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.fd, self.target)
    }
}

/// The calling process's open descriptors in increasing order, from `/proc/self/fd`,
/// without the one used to read that directory.
pub fn open_fds() -> Vec<OpenFd> {
    let entries: Vec<(i32, String)> = fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let fd = entry.file_name().to_str()?.parse().ok()?;
            let target = fs::read_link(entry.path()).ok()?;
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect();
    // The directory's own descriptor is closed now: keep only what is still open.
    let mut open: Vec<OpenFd> = entries
        .into_iter()
        .filter(|&(fd, _)| {
            // SAFETY: F_GETFD only reads the descriptor's flags; an fd that is not open
            // makes it fail with EBADF and nothing else happens.
            unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
        })
        .map(|(fd, target)| OpenFd { fd, target })
        .collect();
    open.sort_unstable_by_key(|fd| fd.fd);
    open
}

/// The pids of the calling process's children that nobody has waited for yet, zombies
/// included, in increasing order. Found by scanning `/proc/*/stat` for processes whose
/// parent is this one (this does not reap them).
pub fn unreaped_children() -> Vec<Pid> {
    let me = getpid().as_raw();
    let mut pids: Vec<Pid> = fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| parent_of(pid) == Some(me))
        .map(Pid::from_raw)
        .collect();
    pids.sort_unstable();
    pids
}

/// The parent pid of `pid`, from `/proc/PID/stat`; `None` when it has gone.
fn parent_of(pid: i32) -> Option<i32> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: parse after the last ')'.
    let mut fields = text[text.rfind(')')? + 1..].split_whitespace();
    fields.next()?; // state
    fields.next()?.parse().ok()
}

/// The descriptors and children of the calling process, checked against the
/// descriptors open when the demo started.
///
/// ```
/// use proctest::audit::Audit;
///
/// let audit = Audit::start();
/// assert!(audit.problems().is_empty(), "{:?}", audit.problems());
///
/// let file = std::fs::File::open("/dev/null").unwrap();
/// let problems = audit.problems();
/// assert_eq!(problems.len(), 1);
/// assert!(problems[0].starts_with("descriptor(s) still open: "), "{problems:?}");
/// assert!(problems[0].ends_with(" -> /dev/null"), "{problems:?}");
/// drop(file);
/// assert!(audit.problems().is_empty());
/// ```
#[derive(Debug)]
pub struct Audit {
    baseline: Vec<OpenFd>,
}

impl Audit {
    /// Records the descriptors open now (those the demo inherited) as the baseline.
    pub fn start() -> Self {
        Self {
            baseline: open_fds(),
        }
    }

    /// The descriptors open when [`Audit::start`] ran.
    pub fn baseline(&self) -> &[OpenFd] {
        &self.baseline
    }

    /// The descriptors open now that were not open at the start (or that now refer to
    /// something else).
    pub fn leaked_fds(&self) -> Vec<OpenFd> {
        open_fds()
            .into_iter()
            .filter(|fd| !self.baseline.contains(fd))
            .collect()
    }

    /// One sentence per problem found now, empty when all is well:
    /// `2 child(ren) never waited for (still running, or zombies): pids 41, 42` and
    /// `descriptor(s) still open: 4 -> pipe:[1234]`.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let children = unreaped_children();
        if !children.is_empty() {
            problems.push(format!(
                "{} child(ren) never waited for (still running, or zombies): pids {}",
                children.len(),
                join(children.iter().map(Pid::to_string))
            ));
        }
        let leaked = self.leaked_fds();
        if !leaked.is_empty() {
            problems.push(format!(
                "descriptor(s) still open: {}",
                join(leaked.iter().map(OpenFd::to_string))
            ));
        }
        problems
    }

    /// Three lines for standard error, which the tests parse and compare:
    ///
    /// ```text
    /// audit: descriptors at start: 0, 1, 2
    /// audit: descriptors at end: 0, 1, 2
    /// audit: children never waited for: none
    /// ```
    ///
    /// A descriptor open at the end but not at the start is shown with its target
    /// (`4 -> pipe:[1234]`); a child, by its pid.
    pub fn report(&self) -> String {
        let numbers = |fds: &[OpenFd]| {
            join(fds.iter().map(|fd| {
                if self.baseline.contains(fd) {
                    fd.fd.to_string()
                } else {
                    fd.to_string()
                }
            }))
        };
        let children = unreaped_children();
        let children = if children.is_empty() {
            "none".to_owned()
        } else {
            join(children.iter().map(Pid::to_string))
        };
        format!(
            "audit: descriptors at start: {}\naudit: descriptors at end: {}\naudit: children never waited for: {children}",
            numbers(&self.baseline),
            numbers(&open_fds()),
        )
    }
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// How a child ended, in words: `exited with status 3`, `killed by signal SIGKILL`
/// (with ` (core dumped)` when it dumped core).
///
/// ```
/// use nix::sys::signal::Signal;
/// use nix::sys::wait::WaitStatus;
/// use nix::unistd::Pid;
/// use proctest::audit::describe;
///
/// let pid = Pid::from_raw(4242);
/// assert_eq!(describe(&WaitStatus::Exited(pid, 3)), "exited with status 3");
/// assert_eq!(
///     describe(&WaitStatus::Signaled(pid, Signal::SIGKILL, false)),
///     "killed by signal SIGKILL"
/// );
/// ```
pub fn describe(status: &WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        WaitStatus::Signaled(_, signal, core) => format!(
            "killed by signal {}{}",
            signal.as_str(),
            if *core { " (core dumped)" } else { "" }
        ),
        other => format!("has not ended ({other:?})"),
    }
}
