//! What the steps and demos share and the student does not write.
//!
//! After `fork`, a child may only call async-signal-safe functions: no `println!`, no
//! `format!`, no allocation, no lock. [`Line`] builds a line of output in a fixed buffer
//! on the stack so that a child can write it with one `write()`, and [`exit_now`] leaves
//! without running destructors or flushing anything. The rest is for the demos: what a
//! careful reviewer checks before a parent exits ([`unreaped_children`], [`open_fds`]) and
//! how a child ended, in words ([`describe`]).

use nix::errno::Errno;
use nix::sys::wait::WaitStatus;
use nix::unistd::{Pid, getpid, write};
use std::fmt;
use std::fs;
use std::os::fd::{AsFd, BorrowedFd};

/// Standard output as a borrowed descriptor, without touching `std::io::stdout()`'s
/// buffer or lock (so a forked child may use it).
pub fn stdout_fd() -> BorrowedFd<'static> {
    // SAFETY: descriptor 1 stays open for the whole life of the process (nothing in this
    // crate closes it); if someone did close it, writes fail with EBADF, which is harmless.
    unsafe { BorrowedFd::borrow_raw(libc::STDOUT_FILENO) }
}

/// Writes all of `bytes` to `fd`, retrying on EINTR and after a short write.
/// Async-signal-safe: it only calls `write()`.
///
/// # Errors
///
/// The first error `write()` reports other than EINTR (EPIPE when no reader is left...).
pub fn write_all(fd: impl AsFd, mut bytes: &[u8]) -> nix::Result<()> {
    let fd = fd.as_fd();
    while !bytes.is_empty() {
        match write(fd, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Reads from `fd` until `buf` is full or end of file, retrying on EINTR. Returns how
/// many bytes were read (less than `buf.len()` only at end of file).
///
/// # Errors
///
/// The first error `read()` reports other than EINTR.
pub fn read_full(fd: impl AsFd, buf: &mut [u8]) -> nix::Result<usize> {
    let fd = fd.as_fd();
    let mut done = 0;
    while done < buf.len() {
        match nix::unistd::read(fd, &mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(Errno::EINTR) => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(done)
}

/// Ends the calling process at once with `code`, like C's `_exit`: no destructor runs,
/// no `atexit` handler, and no buffer is flushed. This is how a forked child leaves.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` is async-signal-safe and has no precondition; it never returns.
    unsafe { libc::_exit(code) }
}

/// A line of output built on the stack, for a process that must not allocate (a child
/// between `fork` and `_exit`). Text beyond [`Line::CAPACITY`] bytes is dropped.
///
/// # Examples
///
/// ```
/// use fork::sys::Line;
///
/// let line = Line::new().text(b"110.000000 F is 43.333333 C (pid ").num(4242).text(b")\n");
/// assert_eq!(line.as_bytes(), b"110.000000 F is 43.333333 C (pid 4242)\n");
/// ```
#[derive(Clone)]
pub struct Line {
    buf: [u8; Line::CAPACITY],
    len: usize,
}

impl Default for Line {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Line({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl Line {
    /// How many bytes a line holds.
    pub const CAPACITY: usize = 256;

    /// An empty line.
    pub const fn new() -> Self {
        Self {
            buf: [0; Self::CAPACITY],
            len: 0,
        }
    }

    /// Appends bytes.
    pub fn text(mut self, bytes: &[u8]) -> Self {
        let take = bytes.len().min(Self::CAPACITY - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
        self
    }

    /// Appends a number in decimal, formatted by hand (no allocation).
    pub fn num(self, n: i64) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = n.unsigned_abs();
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let line = if n < 0 { self.text(b"-") } else { self };
        line.text(&digits[start..])
    }

    /// Appends the calling process's pid (`getpid()` is async-signal-safe).
    pub fn pid(self) -> Self {
        self.num(getpid().as_raw().into())
    }

    /// The bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The pids of the calling process's children that nobody has waited for yet, zombies
/// included, found by scanning `/proc/*/stat` for processes whose parent is this one
/// (this does not reap them).
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

fn parent_of(pid: i32) -> Option<i32> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: parse after the last ')'.
    let mut fields = text[text.rfind(')')? + 1..].split_whitespace();
    fields.next()?; // state
    fields.next()?.parse().ok()
}

/// The calling process's open descriptors (numbers), from `/proc/self/fd`, without the
/// one used to read that directory.
pub fn open_fds() -> Vec<i32> {
    let listed: Vec<i32> = fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect();
    // The directory's own descriptor is closed now: keep only what is still open.
    let mut open: Vec<i32> = listed
        .into_iter()
        .filter(|&fd| {
            // SAFETY: F_GETFD only reads the descriptor's flags; an fd that is not open
            // makes it fail with EBADF and nothing else happens.
            unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
        })
        .collect();
    open.sort_unstable();
    open
}

/// What a careful reviewer checks before a parent exits: every child has been waited for,
/// and no descriptor opened since [`Audit::start`] is still open.
#[derive(Debug)]
pub struct Audit {
    baseline: Vec<i32>,
}

impl Audit {
    /// Records the descriptors open now (those the demo inherited) as the baseline.
    pub fn start() -> Self {
        Self {
            baseline: open_fds(),
        }
    }

    /// One sentence per problem found now (empty when all is well).
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let children = unreaped_children();
        if !children.is_empty() {
            let pids: Vec<String> = children.iter().map(|p| p.to_string()).collect();
            problems.push(format!(
                "{} child(ren) never waited for (still running, or zombies): pids {}",
                children.len(),
                pids.join(", ")
            ));
        }
        let leaked: Vec<String> = open_fds()
            .into_iter()
            .filter(|fd| !self.baseline.contains(fd))
            .map(|fd| {
                let target = fs::read_link(format!("/proc/self/fd/{fd}"))
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                format!("{fd} -> {target}")
            })
            .collect();
        if !leaked.is_empty() {
            problems.push(format!("descriptor(s) still open: {}", leaked.join(", ")));
        }
        problems
    }
}

/// How a child ended, in words: `exited with status 3`, `killed by signal SIGKILL`.
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
