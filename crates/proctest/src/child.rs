//! What a forked child may call: async-signal-safe output, input and exit.
//!
//! After `fork` in a process that may have other threads (or that has a signal handler
//! running), only async-signal-safe functions are allowed until `exec` or `_exit`: no
//! `println!`, no `format!`, no allocation, no lock. Everything here is built on `read()`,
//! `write()` and `_exit()` alone. [`Line`] builds a line of output in a fixed buffer on
//! the stack so that a child can write it with one `write()`; [`exit_now`] leaves without
//! running destructors or flushing anything.
//!
//! The demo binaries of the process topics reach these through their crate's `sys`
//! module (`crate::sys::Line`...), so that the students' files name one place.

use nix::errno::Errno;
use nix::unistd::{getpid, read, write};
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd};

/// The hook [`Line::print`] calls with each line before writing it (see [`before_print`]).
static BEFORE_PRINT: std::sync::OnceLock<fn(&[u8])> = std::sync::OnceLock::new();

/// Registers `hook`, which [`Line::print`] then calls with each line just before writing
/// it, in this process and in the children it forks from now on: a demo that must pace an
/// exchange where the student's code cannot skip it (every line is printed) does it here.
/// The first registration wins. `hook` must be async-signal-safe: forked children call it.
pub fn before_print(hook: fn(&[u8])) {
    let _ = BEFORE_PRINT.set(hook);
}

/// Standard output as a borrowed descriptor, without touching `std::io::stdout()`'s
/// buffer or lock (so a forked child may use it).
pub fn stdout_fd() -> BorrowedFd<'static> {
    // SAFETY: descriptor 1 stays open for the whole life of the process (nothing in the
    // demos closes it); if someone did close it, writes fail with EBADF, which is harmless.
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

/// Reads from `fd` until `buf` is full or end of file, retrying on EINTR (a signal
/// handler ran meanwhile). Returns how many bytes were read (less than `buf.len()` only
/// at end of file). Async-signal-safe: it only calls `read()`.
///
/// # Errors
///
/// The first error `read()` reports other than EINTR.
pub fn read_full(fd: impl AsFd, buf: &mut [u8]) -> nix::Result<usize> {
    let fd = fd.as_fd();
    let mut done = 0;
    while done < buf.len() {
        match read(fd, &mut buf[done..]) {
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

/// The scheduler state of process `pid` as `/proc/PID/stat` shows it (`b'R'` running,
/// `b'S'` asleep in a call that a signal can interrupt, `b'Z'` a zombie...), read
/// without allocating, so that a forked child may watch its parent: it only calls
/// `open()`, `read()` and `close()`. `None` if the process is gone or the file unreadable.
///
/// ```
/// use proctest::child::process_state;
///
/// // A process that reads its own state is running.
/// assert_eq!(process_state(nix::unistd::getpid()), Some(b'R'));
/// ```
pub fn process_state(pid: nix::unistd::Pid) -> Option<u8> {
    let path = Line::new()
        .text(b"/proc/")
        .num_i64(pid.as_raw().into())
        .text(b"/stat\0");
    // SAFETY: the path is NUL-terminated (it is short, far from the line's capacity), and
    // open() is async-signal-safe.
    let fd = unsafe {
        libc::open(
            path.as_bytes().as_ptr().cast(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: open() returned this descriptor and nothing else owns it; OwnedFd closes it.
    let file = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let mut buf = [0u8; 512];
    let n = read_full(&file, &mut buf).ok()?;
    // `pid (comm) S ...`: the name may hold spaces and parentheses, so the state is the
    // second byte after the last `)`.
    let close = buf[..n].iter().rposition(|&b| b == b')')?;
    buf[..n].get(close + 2).copied()
}

/// A line of output built on the stack, for a process that must not allocate (a child
/// between `fork` and `exec` or `_exit`). Text beyond [`Line::CAPACITY`] bytes is
/// dropped.
///
/// # Examples
///
/// Build the line before the fork where you can, finish it in the child, and write it
/// with one `write()`:
///
/// ```
/// use proctest::child::Line;
///
/// let line = Line::new().text(b"child: read ").num(42).text(b" bytes\n");
/// assert_eq!(line.as_bytes(), b"child: read 42 bytes\n");
///
/// let line = Line::new().text(b"offset ").num_i64(-17).text(b", max ").num(u64::MAX);
/// assert_eq!(line.as_bytes(), b"offset -17, max 18446744073709551615");
///
/// let pid = std::process::id();
/// assert_eq!(Line::new().pid().as_bytes(), pid.to_string().as_bytes());
/// ```
///
/// What does not fit is dropped, never a panic (a child has nobody to report it to):
///
/// ```
/// use proctest::child::Line;
///
/// let long = [b'x'; Line::CAPACITY + 10];
/// let line = Line::new().text(&long).text(b"lost");
/// assert_eq!(line.as_bytes().len(), Line::CAPACITY);
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

    /// Appends bytes (as many as still fit).
    pub fn text(mut self, bytes: &[u8]) -> Self {
        let take = bytes.len().min(Self::CAPACITY - self.len);
        self.buf[self.len..self.len + take].copy_from_slice(&bytes[..take]);
        self.len += take;
        self
    }

    /// Appends an unsigned number in decimal, formatted by hand (no allocation). Smaller
    /// unsigned types convert with `.into()`.
    pub fn num(self, mut n: u64) -> Self {
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        loop {
            start -= 1;
            // n % 10 < 10: the cast cannot truncate.
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.text(&digits[start..])
    }

    /// Appends a signed number in decimal, with a `-` when it is negative (no
    /// allocation). Smaller signed types (a pid's `i32`) convert with `.into()`.
    pub fn num_i64(self, n: i64) -> Self {
        let line = if n < 0 { self.text(b"-") } else { self };
        line.num(n.unsigned_abs())
    }

    /// Appends the calling process's pid (`getpid()` is async-signal-safe), so a line
    /// prepared before the fork can name the child that writes it.
    pub fn pid(self) -> Self {
        self.num_i64(getpid().as_raw().into())
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
    /// one to tell). The hook registered with [`before_print`], if any, runs first.
    pub fn print(&self) {
        if let Some(hook) = BEFORE_PRINT.get() {
            hook(self.as_bytes());
        }
        let _ = self.write_to(stdout_fd());
    }

    /// Writes the line to standard error, ignoring errors.
    pub fn eprint(&self) {
        let _ = self.write_to(stderr_fd());
    }
}

/// Parses a decimal number made of ASCII digits only (no sign, no spaces), without
/// allocating, so a child can read a number it was sent. `None` for anything else or
/// for a value that does not fit.
///
/// ```
/// use proctest::child::parse_u32;
///
/// assert_eq!(parse_u32(b"4096"), Some(4096));
/// assert_eq!(parse_u32(b"-1"), None);
/// assert_eq!(parse_u32(b"4294967296"), None);
/// ```
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
