//! What the steps and demos share and the student does not write.
//!
//! After `fork`, a child may only call async-signal-safe functions: no `println!`, no
//! `format!`, no allocation, no lock. [`Line`] builds a line of output in a fixed buffer
//! on the stack and writes it with one `write()`, so a child can still report what it
//! did; [`exit_now`] leaves without running destructors or flushing anything; [`Exec`]
//! prepares a command line *before* the fork so that the child only has to call
//! `execvp`. The rest is for the demos: the [`record`] format of `atomic_writes`, the
//! [`Audit`] every demo makes before exiting, and argument parsing.

use nix::errno::Errno;
use nix::unistd::write;
use std::ffi::{CString, c_char};
use std::fmt;
use std::fs;
use std::os::fd::{AsFd, BorrowedFd};
use std::str::FromStr;

/// The largest write the kernel promises to keep whole in a pipe (`PIPE_BUF`, 4096 bytes
/// on Linux): two writes of at most this size to the same pipe never interleave.
pub const PIPE_BUF: usize = libc::PIPE_BUF;

/// Standard output as a borrowed descriptor, without touching `std::io::stdout()`'s
/// buffer or lock (so a forked child may use it).
pub fn stdout_fd() -> BorrowedFd<'static> {
    // SAFETY: descriptor 1 stays open for the whole life of the process (nothing in this
    // crate closes it); if someone did close it, writes fail with EBADF, which is harmless.
    unsafe { BorrowedFd::borrow_raw(libc::STDOUT_FILENO) }
}

/// Standard error as a borrowed descriptor (see [`stdout_fd`]).
pub fn stderr_fd() -> BorrowedFd<'static> {
    // SAFETY: as for `stdout_fd`, descriptor 2 stays open for the life of the process.
    unsafe { BorrowedFd::borrow_raw(libc::STDERR_FILENO) }
}

/// Writes all of `bytes` to `fd`, looping over short writes and retrying on EINTR.
/// Async-signal-safe: it only calls `write()`.
///
/// # Errors
///
/// The first error `write()` reports other than EINTR (EPIPE when no reader is left,
/// EAGAIN on a full non-blocking pipe...).
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

/// Ends the calling process at once with `code`, like C's `_exit`: no destructor runs and
/// no buffer is flushed. This is how a forked child leaves.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: `_exit` is async-signal-safe and has no precondition; it never returns.
    unsafe { libc::_exit(code) }
}

/// A line of output built on the stack, for processes that must not allocate (a child
/// between `fork` and `exec` or `_exit`). Text beyond [`Line::CAPACITY`] bytes is
/// dropped.
///
/// # Examples
///
/// ```
/// use pipes::sys::Line;
///
/// let line = Line::new().text(b"child: read ").num(42).text(b" bytes\n");
/// assert_eq!(line.as_bytes(), b"child: read 42 bytes\n");
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
    pub const CAPACITY: usize = 512;

    /// An empty line.
    pub const fn new() -> Self {
        Self {
            buf: [0; Self::CAPACITY],
            len: 0,
        }
    }

    /// Appends bytes.
    pub fn text(mut self, bytes: &[u8]) -> Self {
        let room = Self::CAPACITY - self.len;
        let take = bytes.len().min(room);
        self.buf[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
        self
    }

    /// Appends a number in decimal, formatted by hand (no allocation).
    pub fn num(self, mut n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.text(&digits[start..])
    }

    /// The bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Writes the line to `fd` (see [`write_all`]).
    ///
    /// # Errors
    ///
    /// As [`write_all`].
    pub fn write_to(&self, fd: impl AsFd) -> nix::Result<()> {
        write_all(fd, self.as_bytes())
    }

    /// Writes the line to standard output with `write()`, ignoring errors (there is no
    /// one to tell).
    pub fn print(&self) {
        let _ = self.write_to(stdout_fd());
    }

    /// Writes the line to standard error, ignoring errors.
    pub fn eprint(&self) {
        let _ = self.write_to(stderr_fd());
    }
}

/// Parses a decimal number made of ASCII digits only (no sign, no spaces), without
/// allocating. `None` for anything else or for a value that does not fit.
pub fn parse_u32(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u32::from(b - b'0'))
    })
}

/// A command line prepared for `execvp` before the fork, so that the child only has to
/// call [`Exec::exec`] (which allocates nothing).
pub struct Exec {
    words: Vec<CString>,
    argv: Vec<*const c_char>,
}

impl fmt::Debug for Exec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.words).finish()
    }
}

impl Exec {
    /// Prepares `words` (the program, then its arguments). `None` when `words` is empty
    /// or a word contains a NUL byte.
    pub fn new<S: AsRef<str>>(words: &[S]) -> Option<Self> {
        let words: Vec<CString> = words
            .iter()
            .map(|w| CString::new(w.as_ref()).ok())
            .collect::<Option<_>>()?;
        if words.is_empty() {
            return None;
        }
        let argv = words
            .iter()
            .map(|w| w.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        Some(Self { words, argv })
    }

    /// The program's name, as given.
    pub fn program(&self) -> &str {
        self.words[0].to_str().unwrap_or("?")
    }

    /// Replaces the calling process with the command (`execvp`, which searches `PATH`).
    /// If that fails, writes `no such command: NAME` (or `cannot run NAME`) to standard
    /// error and exits with 127 (126 when the program exists but cannot be run), as a
    /// shell does. Resets SIGPIPE to its default action first. Async-signal-safe: meant
    /// for a forked child.
    pub fn exec(&self) -> ! {
        // A Rust program starts with SIGPIPE ignored, and an ignored signal stays ignored
        // across exec: put the default back, so that a command writing into a pipe whose
        // reader is gone dies quietly of SIGPIPE, as under a shell.
        // SAFETY: signal() is async-signal-safe, and SIG_DFL installs no handler.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
        // SAFETY: `argv` is a NULL-terminated array of pointers into `words`, which
        // outlive this call (on success the process image is replaced; on failure we
        // only read them again below). POSIX does not list `execvp` as async-signal-safe
        // because of the PATH search, but glibc builds each candidate path in a stack
        // buffer and takes no lock, so it is safe in a child of a single-threaded demo.
        unsafe { libc::execvp(self.argv[0], self.argv.as_ptr()) };
        let errno = Errno::last();
        let name = self.words[0].as_bytes();
        if errno == Errno::ENOENT || errno == Errno::ENOTDIR {
            Line::new()
                .text(b"no such command: ")
                .text(name)
                .text(b"\n")
                .eprint();
            exit_now(127)
        }
        Line::new()
            .text(b"cannot run ")
            .text(name)
            .text(b": ")
            .text(errno.desc().as_bytes())
            .text(b"\n")
            .eprint();
        exit_now(126)
    }
}

/// The record format of the `atomic_writes` step.
///
/// A record of `size` bytes reads `w01 s000017 bbbb...bbbb 5f0c...e2\n`: the writer's
/// number, the record's sequence number, a payload of the writer's letter (`a` for writer
/// 0, `b` for 1...), and a 64-bit FNV-1a checksum of everything before it in 16 hex
/// digits. A record that lost or gained bytes from another writer fails the check.
pub mod record {
    /// The smallest record size the format allows.
    pub const MIN_SIZE: usize = 32;
    const HEADER: usize = 12;
    const TRAILER: usize = 18;

    /// The letter that fills writer `writer`'s payloads.
    pub fn letter(writer: u32) -> u8 {
        b'a' + (writer % 26) as u8
    }

    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
            (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// Record `seq` of writer `writer`, `size` bytes long.
    ///
    /// # Panics
    ///
    /// If `size < MIN_SIZE`, `writer > 99` or `seq > 999_999`.
    pub fn encode(writer: u32, seq: u32, size: usize) -> Vec<u8> {
        assert!(size >= MIN_SIZE && writer <= 99 && seq <= 999_999);
        let mut bytes = format!("w{writer:02} s{seq:06} ").into_bytes();
        bytes.resize(size - TRAILER, letter(writer));
        let sum = fnv1a(&bytes);
        bytes.extend_from_slice(format!(" {sum:016x}\n").as_bytes());
        debug_assert_eq!(bytes.len(), size);
        bytes
    }

    /// Checks one record: returns `(writer, seq)` when it is whole, or says what is wrong.
    pub fn check(bytes: &[u8]) -> Result<(u32, u32), String> {
        let size = bytes.len();
        if size < MIN_SIZE {
            return Err(format!("{size} bytes is too short for a record"));
        }
        let text = |range: std::ops::Range<usize>| String::from_utf8_lossy(&bytes[range]);
        let header = text(0..HEADER);
        let parsed = (|| {
            let rest = header.strip_prefix('w')?;
            let (writer, rest) = rest.split_once(" s")?;
            let seq = rest.strip_suffix(' ')?;
            Some((writer.parse::<u32>().ok()?, seq.parse::<u32>().ok()?))
        })();
        let Some((writer, seq)) = parsed else {
            return Err(format!("the header {header:?} is garbled"));
        };
        let payload = &bytes[HEADER..size - TRAILER];
        if let Some(at) = payload.iter().position(|&b| b != letter(writer)) {
            return Err(format!(
                "writer {writer}'s record {seq} holds {:?} at byte {} where its payload has only {:?}: bytes of another write landed inside it",
                payload[at] as char,
                HEADER + at,
                letter(writer) as char
            ));
        }
        let expected = format!(" {:016x}\n", fnv1a(&bytes[..size - TRAILER]));
        if bytes[size - TRAILER..] != *expected.as_bytes() {
            return Err(format!(
                "writer {writer}'s record {seq} ends with {:?} instead of its checksum {expected:?}",
                text(size - TRAILER..size)
            ));
        }
        Ok((writer, seq))
    }
}

/// One open descriptor of the calling process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFd {
    /// Its number.
    pub fd: i32,
    /// What it refers to (`/dev/null`, `pipe:[1234]`...), from `/proc/self/fd`.
    pub target: String,
}

/// The calling process's open descriptors, from `/proc/self/fd`, without the one used to
/// read that directory.
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
    entries
        .into_iter()
        .filter(|&(fd, _)| {
            // SAFETY: F_GETFD only reads the descriptor's flags; an fd that is not open
            // makes it fail with EBADF and nothing else happens.
            unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
        })
        .map(|(fd, target)| OpenFd { fd, target })
        .collect()
}

/// The pids of the calling process's children that have not been waited for (zombies
/// included), from `/proc/self/task/*/children`.
pub fn children() -> Vec<i32> {
    let mut pids: Vec<i32> = fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    pids.sort_unstable();
    pids
}

/// What a careful reviewer checks when a demo ends: the descriptors open at the end
/// against those open at the start, and the children never waited for.
#[derive(Debug)]
pub struct Audit {
    baseline: Vec<OpenFd>,
}

impl Audit {
    /// Records the descriptors open now, as the baseline.
    pub fn start() -> Self {
        Self {
            baseline: open_fds(),
        }
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
        let numbers = |fds: &[OpenFd]| -> String {
            fds.iter()
                .map(|fd| {
                    if self.baseline.contains(fd) {
                        fd.fd.to_string()
                    } else {
                        format!("{} -> {}", fd.fd, fd.target)
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let children = children();
        let children = if children.is_empty() {
            "none".to_owned()
        } else {
            children
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "audit: descriptors at start: {}\naudit: descriptors at end: {}\naudit: children never waited for: {children}",
            numbers(&self.baseline),
            numbers(&open_fds()),
        )
    }
}

/// Prints a usage error on standard error and exits with status 2, the convention for
/// bad command-line input.
pub fn usage_error(program: &str, problem: &str, usage: &str) -> ! {
    eprintln!("{program}: {problem}\nusage: {usage}");
    std::process::exit(2)
}

/// Parses `value` as a number in `min..=max`, or exits through [`usage_error`] with a
/// message naming the valid range.
pub fn parse_in_range<T>(program: &str, what: &str, value: &str, min: T, max: T, usage: &str) -> T
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    match value.parse::<T>() {
        Ok(n) if n >= min && n <= max => n,
        _ => usage_error(
            program,
            &format!("{what} must be a whole number from {min} to {max}, not {value:?}"),
            usage,
        ),
    }
}
