//! What the steps and demos share and the student does not write.
//!
//! After `fork`, a child may only call async-signal-safe functions: no `println!`, no
//! `format!`, no allocation, no lock. [`Line`] builds a line of output in a fixed buffer
//! on the stack and writes it with one `write()`, so a child can still report what it
//! did; [`exit_now`] leaves without running destructors or flushing anything; [`Exec`]
//! prepares a command line *before* the fork so that the child only has to call
//! `execvp`. The rest is for the demos: the [`record`] format of `atomic_writes`, the
//! [`Audit`] every demo makes before exiting, and argument parsing.
//!
//! [`Exec`], [`record`] and [`PIPE_BUF`] belong to this topic; the rest are the process
//! topics' shared helpers from [`proctest::child`], [`proctest::audit`] and
//! [`proctest::args`], named here so that the steps say `crate::sys::...`.
//!
//! ```
//! use pipes::sys::Line;
//!
//! let line = Line::new().text(b"child: read ").num(42).text(b" bytes\n");
//! assert_eq!(line.as_bytes(), b"child: read 42 bytes\n");
//! ```

pub use proctest::args::{parse_in_range, usage_error};
pub use proctest::audit::{Audit, OpenFd, open_fds, unreaped_children};
pub use proctest::child::{Line, exit_now, parse_u32, stderr_fd, stdout_fd};

use nix::errno::Errno;
use std::os::fd::AsFd;

/// Writes all of `bytes` to `fd`, looping over short writes and retrying on EINTR, as
/// [`proctest::child::write_all`] does. Async-signal-safe.
///
/// Under the `pingpong` demo's strict turns ([`turns::arm`]), it then waits until the
/// other side has answered before returning (see [`turns`]).
///
/// # Errors
///
/// The first error `write()` reports other than EINTR (EPIPE when no reader is left).
pub fn write_all(fd: impl AsFd, bytes: &[u8]) -> nix::Result<()> {
    turns::before_send();
    proctest::child::write_all(fd.as_fd(), bytes)?;
    turns::after_send(fd.as_fd());
    Ok(())
}

/// Strict turns for the `pingpong` demo: once armed, every [`write_all`] (the student's
/// `send_count` uses it) returns only when the other side's answer has arrived (the
/// descriptor is readable, or the other side has closed it). So whatever a side prints
/// *after* its send comes out after the other side's lines, every time: a line printed
/// after the send that lets the other side go on is out of order in every run, not in
/// one run out of many. A side that prints before its send sees no difference.
///
/// With [`turns::slow`], each send is instead preceded by [`SLOW_WORK`](turns::SLOW_WORK)
/// of CPU work, which the other side waits for: asleep if it blocks in `read()`, burning
/// the CPU if it spins (the sender then does not wait for the answer in `write_all`, so
/// that its own receive waits for the other side's work).
///
/// Async-signal-safe (atomics, `poll`, the CPU clock): the forked child uses it too.
pub mod turns {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::BorrowedFd;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// The CPU work before each send under [`slow`].
    pub const SLOW_WORK: Duration = Duration::from_millis(200);

    static STRICT: AtomicBool = AtomicBool::new(false);
    static SLOW: AtomicBool = AtomicBool::new(false);

    /// Arms strict turns in this process and the children it forks from now on.
    pub fn arm() {
        STRICT.store(true, Ordering::SeqCst);
    }

    /// Whether this process has done the work of its next send already, printing the line
    /// that announces it (see [`slow`]).
    static WORKED: AtomicBool = AtomicBool::new(false);

    /// Makes each send first compute for [`SLOW_WORK`] of CPU: as the side prints the
    /// `... write: N` line that comes before its send, or, if it printed none, in
    /// [`write_all`](super::write_all). Printing is where a `send_count` that does not go
    /// through `write_all` (a `send()` of its own, as the notes do) still meets the work.
    pub fn slow() {
        SLOW.store(true, Ordering::SeqCst);
        proctest::child::before_print(|line| {
            let announces_a_send = line.windows(8).any(|w| w == b" write: ");
            if announces_a_send {
                proctest::cpu::work(SLOW_WORK);
                WORKED.store(true, Ordering::SeqCst);
            }
        });
    }

    pub(crate) fn before_send() {
        if SLOW.load(Ordering::SeqCst) && !WORKED.swap(false, Ordering::SeqCst) {
            proctest::cpu::work(SLOW_WORK);
        }
    }

    pub(crate) fn after_send(fd: BorrowedFd<'_>) {
        // Under `slow`, the sender must not wait here for the answer: its own receive has
        // to wait for the other side's work, which is what is measured.
        if !STRICT.load(Ordering::SeqCst) || SLOW.load(Ordering::SeqCst) {
            return;
        }
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        while poll(&mut fds, PollTimeout::NONE) == Err(nix::errno::Errno::EINTR) {}
    }
}
use std::ffi::{CString, c_char};
use std::fmt;

/// The largest write the kernel promises to keep whole in a pipe (`PIPE_BUF`, 4096 bytes
/// on Linux): two writes of at most this size to the same pipe never interleave.
pub const PIPE_BUF: usize = libc::PIPE_BUF;

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

/// A child of a demo's own that is not the step's: forked before the student's code runs
/// and already ended (a zombie, not yet waited for) when it starts. The demos'
/// `--bystander` option makes one, so that a step that reaps with `wait()` (any child)
/// instead of `waitpid` for the child it forked takes this one's status.
#[derive(Debug)]
pub struct Bystander {
    pid: nix::unistd::Pid,
}

impl Bystander {
    /// The exit status of the bystander: a step that reports it took the wrong child's.
    pub const STATUS: i32 = 42;

    /// Forks the bystander, which exits at once with [`Bystander::STATUS`], and returns
    /// once it has ended (waited for with `WNOWAIT`, so its status stays to be collected).
    /// For a single-threaded demo.
    ///
    /// # Errors
    ///
    /// The error of `fork` or `waitid`.
    pub fn start() -> nix::Result<Self> {
        use nix::sys::wait::{Id, WaitPidFlag, waitid};
        use nix::unistd::{ForkResult, fork};
        // SAFETY: the demos call this while single-threaded; the child only calls _exit.
        let pid = match unsafe { fork() }? {
            ForkResult::Child => exit_now(Self::STATUS),
            ForkResult::Parent { child } => child,
        };
        loop {
            match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
                Err(Errno::EINTR) => continue,
                other => return other.map(|_| Self { pid }),
            }
        }
    }

    /// Reaps the bystander after the step's code has run. `Err` with a sentence for the
    /// demo's standard error when the step had already taken its status.
    pub fn reap(self) -> Result<(), String> {
        use nix::sys::wait::waitpid;
        match waitpid(self.pid, None) {
            Ok(_) => Ok(()),
            Err(err) => Err(format!(
                "the bystander (pid {}, status {}) was already reaped: waitpid gave {err}",
                self.pid,
                Self::STATUS
            )),
        }
    }
}
