//! Run a demo binary of a process topic the way a careful reviewer would.
//!
//! The tests of the process topics (fork, signals, pipes, mmap, multiplexing) never fork
//! inside the multi-threaded test harness: they run a demo binary that calls the
//! student's code. [`Demo`] starts that binary in a process group of its own, feeds its
//! standard input, captures its output, and watches it:
//!
//! - if the demo has not finished after its timeout, nothing hangs: the watchdog takes a
//!   [`Snapshot`] of every process in the group (which system call each one is blocked
//!   in, which descriptors it holds open), kills the group, and returns a [`Hang`] whose
//!   `Display` is a diagnosis a student can read;
//! - when the demo exits, any process of its group still alive is a leftover (a child
//!   that was never waited for, an orphan): [`Finished::leftovers`] lists them and they
//!   are killed, so one failing test cannot leave strays behind;
//! - if the test process itself dies first (Ctrl-C on `cargo test`, a watchdog killing the
//!   test binary), a small guard process in the demo's group, which only waits for the
//!   test process to go away, kills the group: a demo blocked on a pipe never outlives
//!   its test;
//! - a demo that prints or writes in a loop fills neither the test's memory nor the disk:
//!   the test keeps the first [`OUTPUT_KEPT`] bytes of each output, the demo may not
//!   write a file past [`FILE_SIZE_LIMIT`] (SIGXFSZ stops it), and each of its processes
//!   may take at most [`MEMORY_LIMIT`] of memory.
//!
//! The timeout is a watchdog, never a way to decide an outcome: a correct demo finishes
//! in milliseconds, and the timeout only bounds how long a broken one may take to be
//! diagnosed. A process that sleeps on purpose (`sleep`, for pacing) is not stuck, nor is
//! one that computes on a busy machine: while one sleeps, or one is runnable, the watchdog
//! extends the timeout, up to [`Demo::hard_cap`]. One that spins in system calls that
//! return at once (a `poll` that reports POLLHUP for ever) once its children have ended
//! is not computing: nothing is left to change what it waits for, and it gets no more
//! time.
//!
//! The watchdog also measures the CPU time of the demo ([`Finished::cpu`], and each
//! process's in a [`Hang`]), so that a test can tell a process that blocks while it waits
//! from one that busy-waits: see [`cpu`].
//!
//! ```
//! use proctest::Demo;
//!
//! // A topic's test names its demo with env!("CARGO_BIN_EXE_<demo>").
//! let run = Demo::new("sh")
//!     .args(["-c", "echo 110.000000 F is 43.333333 C"])
//!     .run()
//!     .unwrap_or_else(|hang| panic!("{hang}"));
//! assert!(run.status.success(), "{}", run.stderr);
//! assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
//! assert_eq!(run.stdout, "110.000000 F is 43.333333 C\n");
//! ```
//!
//! The other side, the demo binaries themselves, share four modules: [`child`] (what a
//! forked child may call: output built on the stack, `write`, `_exit`), [`audit`] (the
//! children and descriptors a parent must not leave behind), [`args`] (usage errors
//! that name the valid range and exit with status 2) and [`lifetime`] (children that die
//! with their parent when a demo runs on its own).
//!
//! Two more tools check what no output shows: [`source`] reads the student's file and
//! checks that a forked child and a signal handler only make async-signal-safe calls
//! ([`step_file!`] finds the file), and [`within`] runs a call of the student's code in
//! the test process itself under a watchdog, with the CPU time its thread used.

pub mod args;
pub mod audit;
pub mod child;
pub mod cpu;
pub mod faults;
pub mod lifetime;
mod procfs;
pub mod source;
mod within;

pub use cpu::{CpuReport, CpuTime};
pub use procfs::{Fd, Process, Signals, Snapshot, Syscall};
pub use within::{Call, Stuck, Timed, interrupt_thread, within};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::os::fd::{AsFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a demo may run before the watchdog diagnoses it, unless [`Demo::timeout`]
/// says otherwise. Generous, because CI machines are slow and busy; a correct demo
/// finishes long before.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the watchdog may extend a demo's timeout while some of its processes sleep on
/// purpose or compute (see [`Demo::hard_cap`]), unless told otherwise.
pub const DEFAULT_HARD_CAP: Duration = Duration::from_secs(30);

/// How long the watchdog waits, before calling a demo stuck, for one that may be ending
/// right then.
const EXIT_GRACE: Duration = Duration::from_millis(300);

/// The most of a demo's standard output, and of its standard error, kept for the test: a
/// demo that prints in a loop would otherwise fill the test's memory before the watchdog
/// stops it. What comes after is read and counted, and a last line says how much.
pub const OUTPUT_KEPT: usize = 64 << 20;

/// The largest file a demo may write (`RLIMIT_FSIZE`, the soft limit only): one that
/// prints in a loop with its standard output in a file ([`StdoutTo::File`]), or writes a
/// file in a loop, is stopped by SIGXFSZ long before it fills the disk.
pub const FILE_SIZE_LIMIT: u64 = 1 << 30;

/// The most memory a demo's process may take (`RLIMIT_DATA`, the soft limit only): a
/// demo that gathers output in a loop fails its allocation (Rust aborts with `memory
/// allocation of N bytes failed`) instead of taking the machine's memory, and the kernel's
/// out-of-memory killer, which might pick any process, the test's included. `RLIMIT_DATA`
/// counts the heap and private writable mappings, not the address space malloc reserves
/// for its arenas, nor shared mappings: a demo with many threads is not limited for that.
pub const MEMORY_LIMIT: u64 = 8 << 30;

/// Where the demo's standard output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdoutTo {
    /// A pipe read by the test (the default).
    Pipe,
    /// A regular file in a temporary directory, read back after the demo exits. Output
    /// to a file is fully buffered by C stdio, which is what exposes a buffer that
    /// `fork` duplicated.
    File,
}

/// What [`Demo::watch`] calls with each snapshot of the demo's group; it returns whether
/// to go on watching.
pub type Watcher = Box<dyn FnMut(&Snapshot) -> bool + Send>;

/// How often [`Demo::watch`]'s watcher looks at the demo's group.
const WATCH_EVERY: Duration = Duration::from_millis(1);

/// A demo binary to run under the watchdog. Build it with the methods below, then call
/// [`Demo::run`].
pub struct Demo {
    program: OsString,
    args: Vec<OsString>,
    envs: Vec<(OsString, OsString)>,
    stdin: Option<Vec<u8>>,
    stdout_to: StdoutTo,
    timeout: Duration,
    hard_cap: Duration,
    file_size_limit: u64,
    memory_limit: u64,
    watch: Option<Watcher>,
}

impl fmt::Debug for Demo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Demo")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("timeout", &self.timeout)
            .field("watched", &self.watch.is_some())
            .finish_non_exhaustive()
    }
}

impl Demo {
    /// A demo that runs `program`, usually `env!("CARGO_BIN_EXE_<name>")`.
    pub fn new(program: impl AsRef<OsStr>) -> Self {
        Self {
            program: program.as_ref().to_owned(),
            args: Vec::new(),
            envs: Vec::new(),
            stdin: None,
            stdout_to: StdoutTo::Pipe,
            timeout: DEFAULT_TIMEOUT,
            hard_cap: DEFAULT_HARD_CAP,
            file_size_limit: FILE_SIZE_LIMIT,
            memory_limit: MEMORY_LIMIT,
            watch: None,
        }
    }

    /// Looks at the demo's process group every millisecond while it runs, and calls
    /// `watcher` with what it saw, until the watcher returns `false` or the demo ends.
    /// The watcher may act on what it sees (send a signal to a process that reached a
    /// chosen state, resume one the demo stopped): this is how a check reaches a moment
    /// that the scheduler would only give by luck, by waiting for an observed state, not
    /// for time to pass. The watchdog's timeout still applies.
    pub fn watch(mut self, watcher: impl FnMut(&Snapshot) -> bool + Send + 'static) -> Self {
        self.watch = Some(Box::new(watcher));
        self
    }

    /// Adds one command-line argument.
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Adds several command-line arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable for the demo.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.envs
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Writes `bytes` to the demo's standard input, then closes it. Without this, the
    /// demo's standard input is `/dev/null`.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Chooses where standard output goes (a pipe by default).
    pub fn stdout_to(mut self, to: StdoutTo) -> Self {
        self.stdout_to = to;
        self
    }

    /// Sets the watchdog's timeout (default [`DEFAULT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how long the watchdog may wait in all (default [`DEFAULT_HARD_CAP`]) when the
    /// timeout expires while a process of the demo sleeps on purpose (`sleep`, or a `poll`
    /// with a timeout: see [`Syscall::has_timeout`]), or while one is runnable (state `R`:
    /// computing, or waiting for a CPU, which a busy machine makes slow): a sleeping or
    /// working process is not stuck, so the watchdog gives it another timeout, again and
    /// again up to this cap, before calling it a hang. A demo blocked for good has no such
    /// process and is reported at the first timeout, as is one whose only runnable process
    /// spins in system calls ([`Process::spins_in_system_calls`]) while all its other
    /// processes have ended; other spinning looks like a computation and is reported at
    /// the cap. A cap below the timeout is the timeout.
    pub fn hard_cap(mut self, cap: Duration) -> Self {
        self.hard_cap = cap;
        self
    }

    /// Sets the largest file the demo may write (default [`FILE_SIZE_LIMIT`]); a demo
    /// that writes past it is stopped by SIGXFSZ.
    pub fn file_size_limit(mut self, bytes: u64) -> Self {
        self.file_size_limit = bytes;
        self
    }

    /// Sets the most memory (heap and private mappings) each process of the demo may take
    /// (default [`MEMORY_LIMIT`]); past it, allocations fail.
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Runs the demo to completion, or until the watchdog fires.
    ///
    /// Returns [`Finished`] when the demo exited (successfully or not), and [`Hang`]
    /// when it was still running after the timeout; in that case the whole process group
    /// has been killed and reaped.
    ///
    /// # Panics
    ///
    /// If the demo cannot be started at all (a missing binary), since no test can
    /// continue from there.
    // A Hang is large (a snapshot, the output so far), but it is built once per run and
    // the signature is part of the API the topics use: no boxing.
    #[allow(clippy::result_large_err)]
    pub fn run(mut self) -> Result<Finished, Hang> {
        // The scratch directory: the CPU reports of the demo's meters, and its standard
        // output when it goes to a file.
        let scratch = TempDir::new();
        let report_file = scratch.path.join("cpu");
        let mut command = Command::new(&self.program);
        command
            .args(&self.args)
            .env(cpu::REPORT_ENV, &report_file)
            .envs(self.envs.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped())
            // Under a test, leftovers are found and reported by the watchdog, so the
            // demo's children must not die with it on their own (see `lifetime`).
            .env(lifetime::UNDER_TEST, "1")
            // A group of its own: the watchdog can find and kill every process the demo
            // started, and nothing it does reaches the test harness.
            .process_group(0);
        only_standard_descriptors(&mut command);
        lower_limit(&mut command, libc::RLIMIT_FSIZE, self.file_size_limit);
        lower_limit(&mut command, libc::RLIMIT_DATA, self.memory_limit);
        let stdout_file = (self.stdout_to == StdoutTo::File).then(|| scratch.path.join("stdout"));
        match &stdout_file {
            None => command.stdout(Stdio::piped()),
            Some(path) => command.stdout(
                std::fs::File::create(path).expect("cannot create the stdout file for the demo"),
            ),
        };
        let started = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|err| {
            panic!(
                "cannot start the demo {}: {err} (was it built? tests name it with env!(\"CARGO_BIN_EXE_...\"))",
                self.program.to_string_lossy()
            )
        });
        let pgid = Pid::from_raw(i32::try_from(child.id()).expect("pids fit in i32"));
        let guard = GroupGuard::start(pgid);
        let guard_pid = guard.as_ref().map(GroupGuard::pid);

        let stdin_writer = child.stdin.take().map(|mut pipe| {
            let bytes = self.stdin.clone().unwrap_or_default();
            std::thread::spawn(move || {
                // The demo may exit without reading everything: a broken pipe is its
                // business, not a test failure here.
                let _ = pipe.write_all(&bytes);
            })
        });
        let stdout_reader = child.stdout.take().map(reader);
        let stderr_reader = child.stderr.take().map(reader);

        let (tx, rx) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            // wait4 rather than `child.wait()`: it also gives the CPU time of the demo and
            // of every descendant it waited for.
            let ended = wait4(pgid);
            let _ = tx.send(());
            (child, ended)
        });

        // The guard is in the group only to kill it if the test process dies: it is never
        // part of what the demo did.
        let of_group = || {
            let mut snapshot = Snapshot::of_group(pgid);
            snapshot.processes.retain(|p| Some(p.pid) != guard_pid);
            snapshot
        };
        let cap = started + self.hard_cap.max(self.timeout);
        let mut deadline = started + self.timeout;
        let mut watch = self.watch.take();
        let hang_snapshot = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Some(watcher) = watch.as_mut() {
                if rx.recv_timeout(left.min(WATCH_EVERY)).is_ok() {
                    break None;
                }
                if Instant::now() < deadline {
                    if !watcher(&of_group()) {
                        watch = None;
                    }
                    continue;
                }
            } else if rx.recv_timeout(left).is_ok() {
                break None;
            }
            let snapshot = of_group();
            // A process that sleeps on purpose goes on by itself, and one that is runnable
            // (state R: computing, or waiting for a CPU on a very busy machine) is making
            // progress: give the demo more time, up to the cap. A demo blocked for good has
            // neither. Nor does one that spins in system calls (calls that return at once,
            // again and again) once all its other processes have ended: it waits for what
            // more time will not bring.
            let now = Instant::now();
            let alone = |p: &Process| {
                snapshot.processes.len() > 1
                    && snapshot
                        .processes
                        .iter()
                        .all(|q| q.pid == p.pid || q.state == 'Z')
            };
            let computing = snapshot
                .processes
                .iter()
                .any(|p| p.state == 'R' && !(p.spins_in_system_calls() && alone(p)));
            let sleeping = snapshot.sleeping().next().is_some();
            // The demo may have ended between the timeout and the snapshot: nothing left
            // but zombies (or nothing at all) is an exit in progress, not a hang.
            let exiting = snapshot.processes.iter().all(|p| p.state == 'Z');
            if exiting || ((sleeping || computing) && now < cap) {
                deadline = (now + self.timeout).min(cap);
                continue;
            }
            // A demo caught in the middle of its exit (closing its files, say) is neither
            // asleep nor runnable: give it a moment to end before calling it stuck.
            if rx.recv_timeout(EXIT_GRACE).is_ok() {
                break None;
            }
            break Some(snapshot);
        };
        // Whatever is still in the group now is either hung (the demo itself) or left
        // behind (the demo exited): record it, then kill it so nothing outlives the test.
        let leftovers = if hang_snapshot.is_none() {
            of_group().processes
        } else {
            Vec::new()
        };
        let _ = killpg(pgid, Signal::SIGKILL);
        if let Some(guard) = guard {
            guard.reap();
        }
        // SIGKILL takes effect when the process next runs: let it, so that no leftover is
        // still running when `run` returns.
        wait_until_ended(&leftovers, Duration::from_secs(2));
        let (_child, ended) = waiter.join().expect("the waiter thread never panics");
        let (status, cpu) = ended.expect("waiting for the demo failed");
        if let Some(writer) = stdin_writer {
            let _ = writer.join();
        }
        let cpu_reports = std::fs::read_to_string(&report_file)
            .unwrap_or_default()
            .lines()
            .filter_map(CpuReport::from_line)
            .collect();
        let stdout = match (stdout_reader, &stdout_file) {
            (Some(handle), _) => handle.join().expect("the reader thread never panics"),
            (None, Some(path)) => std::fs::File::open(path).map_or_else(|_| String::new(), kept),
            (None, None) => String::new(),
        };
        let stderr = stderr_reader
            .map(|h| h.join().expect("the reader thread never panics"))
            .unwrap_or_default();
        drop(scratch);

        match hang_snapshot {
            Some(snapshot) => Err(Hang {
                command: self.describe(),
                after: started.elapsed(),
                budget: self.timeout,
                snapshot,
                stdout,
                stderr,
            }),
            None => Ok(Finished {
                status,
                stdout,
                stderr,
                leftovers,
                elapsed: started.elapsed(),
                cpu,
                cpu_reports,
            }),
        }
    }

    fn describe(&self) -> String {
        let name = PathBuf::from(&self.program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::iter::once(name)
            .chain(self.args.iter().map(|a| shell_word(&a.to_string_lossy())))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `arg` as a shell reads it back: as it is when it is plain, else in single quotes (so a
/// command line in a message can be pasted into a shell: `'printf b\na\n' sort`).
fn shell_word(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// Waits for the process `pid` to end with `wait4`, retrying on EINTR: its exit status,
/// and the CPU time it and the descendants it waited for used.
fn wait4(pid: Pid) -> std::io::Result<(ExitStatus, CpuTime)> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 writes the status and the rusage into the valid, exclusive
        // pointers we pass, and reads nothing else of ours.
        let got = unsafe { libc::wait4(pid.as_raw(), &mut status, 0, &mut usage) };
        if got == pid.as_raw() {
            return Ok((ExitStatus::from_raw(status), CpuTime::from_rusage(&usage)));
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Makes `command`'s process start with descriptors 0, 1 and 2 only: whatever else the
/// test inherited (a terminal's or an editor's descriptors, a CI runner's pipes) is closed
/// at `exec`. A demo then starts the same everywhere, and the descriptors a hang report
/// lists are the ones the demo opened itself.
fn only_standard_descriptors(command: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec, after std has set up
    // descriptors 0-2; it makes only system calls (close_range, getrlimit, fcntl), all
    // async-signal-safe, and allocates nothing. Marking close-on-exec instead of closing
    // keeps std's own error-reporting pipe (already close-on-exec) working.
    unsafe {
        command.pre_exec(|| {
            let flags = libc::CLOSE_RANGE_CLOEXEC as libc::c_int;
            if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, flags) == 0 {
                return Ok(());
            }
            // Before Linux 5.11: one descriptor at a time, up to the limit (at most 4096).
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            let top = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
                limit.rlim_cur.min(4096) as libc::c_int
            } else {
                1024
            };
            for fd in 3..top {
                let old = libc::fcntl(fd, libc::F_GETFD);
                if old >= 0 {
                    libc::fcntl(fd, libc::F_SETFD, old | libc::FD_CLOEXEC);
                }
            }
            Ok(())
        });
    }
}

/// A process in the demo's group that kills the group if the test process dies: `sh`
/// blocked reading a pipe whose only write end this process holds. When the test process
/// ends, however it ends, the kernel closes that end, the read fails, and the guard runs
/// `kill -KILL 0` (its own group: the demo's). While the test lives, the guard does
/// nothing; the watchdog kills it with the group.
struct GroupGuard {
    child: std::process::Child,
}

impl GroupGuard {
    /// Starts the guard in `pgid`'s group; `None` if the group is already gone (the demo
    /// and all its processes have exited, so there is nothing left to guard).
    fn start(pgid: Pid) -> Option<Self> {
        let mut command = Command::new("/bin/sh");
        command
            .args(["-c", "read -r _ || kill -KILL 0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(pgid.as_raw());
        only_standard_descriptors(&mut command);
        command.spawn().ok().map(|child| Self { child })
    }

    fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pids fit in i32")
    }

    /// Waits for the guard, killed with the group, so that it leaves no zombie.
    fn reap(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits, for at most `limit` in all, until each process in `processes` has ended (it may
/// stay a zombie until its new parent reaps it). Uses a pidfd, which becomes readable
/// when its process ends, so nothing sleeps or spins.
fn wait_until_ended(processes: &[Process], limit: Duration) {
    let deadline = Instant::now() + limit;
    for process in processes {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1; it
        // reads and writes no memory of ours.
        let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, process.pid, 0) };
        let Ok(raw) = RawFd::try_from(raw) else {
            continue;
        };
        if raw < 0 {
            continue; // ESRCH: already reaped, nothing to wait for.
        }
        // SAFETY: `raw` is a descriptor pidfd_open just opened for us and nobody else owns.
        let pidfd = unsafe { OwnedFd::from_raw_fd(raw) };
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
        let _ = poll(
            &mut [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)],
            timeout,
        );
    }
}

/// Lowers the demo's soft `resource` limit to `bytes`, unless it is lower already (the
/// hard limit stays: a demo may raise it back, as the shm launcher does).
fn lower_limit(command: &mut Command, resource: libc::__rlimit_resource_t, bytes: u64) {
    // SAFETY: the closure runs in the forked child before exec; getrlimit and setrlimit
    // are plain system calls (async-signal-safe) on a local struct, and nothing allocates.
    unsafe {
        command.pre_exec(move || {
            let mut limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::getrlimit(resource, &mut limit) == 0 && limit.rlim_cur > bytes {
                limit.rlim_cur = bytes.min(limit.rlim_max);
                libc::setrlimit(resource, &limit);
            }
            Ok(())
        });
    }
}

/// Everything `source` gives until its end, as text: its first [`OUTPUT_KEPT`] bytes, and
/// a last line counting the bytes not kept, if any.
fn kept(mut source: impl Read) -> String {
    let mut bytes = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut dropped: u64 = 0;
    loop {
        match source.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                let keep = n.min(OUTPUT_KEPT.saturating_sub(bytes.len()));
                bytes.extend_from_slice(&chunk[..keep]);
                dropped += (n - keep) as u64;
            }
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if dropped > 0 {
        text.push_str(&format!(
            "\n[{dropped} more bytes after these {OUTPUT_KEPT}, not kept]\n"
        ));
    }
    text
}

fn reader(pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || kept(pipe))
}

/// A demo that exited before the watchdog fired.
#[derive(Debug)]
pub struct Finished {
    /// How the demo itself ended.
    pub status: ExitStatus,
    /// Everything it wrote to standard output (lossily decoded as UTF-8).
    pub stdout: String,
    /// Everything it wrote to standard error.
    pub stderr: String,
    /// Processes of its group still present after it exited: children it never waited
    /// for, or orphans. They have been killed since.
    pub leftovers: Vec<Process>,
    /// Wall-clock time the demo took: for reports only, never for a verdict.
    pub elapsed: Duration,
    /// The CPU time used by the demo and by every descendant it waited for (from
    /// `wait4`): compare it with the CPU work the demo was asked to do to tell a blocking
    /// wait from a busy one (see [`cpu`]).
    pub cpu: CpuTime,
    /// What the demo's [`cpu::Meter`]s reported, in the order they reported.
    pub cpu_reports: Vec<CpuReport>,
}

impl Finished {
    /// The exit code, or `None` when the demo was killed by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// The signal that killed the demo, if any.
    pub fn signal(&self) -> Option<i32> {
        self.status.signal()
    }

    /// How the demo ended, in words: `exited with status 1`, `killed by signal SIGKILL`.
    pub fn ended(&self) -> String {
        match (self.code(), self.signal()) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(signal)) => match nix::sys::signal::Signal::try_from(signal) {
                Ok(signal) => format!("killed by signal {}", signal.as_str()),
                Err(_) => format!("killed by signal {signal}"),
            },
            (None, None) => format!("ended ({})", self.status),
        }
    }

    /// Checks a demo that was given bad command-line input: it exited with status 2 (the
    /// usage-error convention), wrote `usage:` and every one of `expected` (the valid
    /// range, the step...) on standard error, each line within [`args::MAX_COLUMNS`]
    /// columns, wrote nothing on standard output (nothing ran) and left no process behind.
    /// `input` names the input in the failure messages.
    ///
    /// # Panics
    ///
    /// When any of those checks fails, with a message that names `input` and quotes what
    /// the demo wrote.
    #[track_caller]
    pub fn assert_usage_error(&self, input: &str, expected: &[&str]) {
        assert_eq!(
            self.code(),
            Some(2),
            "{input} must be rejected with exit status 2; stderr:\n{}",
            self.stderr
        );
        let missing: Vec<&str> = std::iter::once("usage:")
            .chain(expected.iter().copied())
            .filter(|text| !self.stderr.contains(text))
            .collect();
        assert!(
            missing.is_empty(),
            "the usage error for {input} must show {missing:?}; stderr:\n{}",
            self.stderr
        );
        args::assert_within_columns(input, "standard error", &self.stderr);
        assert!(
            self.stdout.is_empty(),
            "nothing may run on bad input {input}; stdout:\n{}",
            self.stdout
        );
        assert!(self.leftovers.is_empty(), "{}", self.describe_leftovers());
    }

    /// The last report of the demo's [`cpu::Meter`] labelled `label`, if it made one.
    pub fn cpu_report(&self, label: &str) -> Option<&CpuReport> {
        self.cpu_reports.iter().rev().find(|r| r.label == label)
    }

    /// Checks that the demo blocked while it waited for `effort` of CPU work that its own
    /// processes were asked to do ([`cpu::work`]): the CPU of the whole demo beyond that
    /// work, [`Finished::cpu`] minus `effort`, is what its waiting cost. `None` when it
    /// blocked; the [`cpu::BusyWait`] found otherwise, to [`explain`](cpu::BusyWait::explain)
    /// in the step's words.
    pub fn busy_wait(&self, effort: Duration) -> Option<cpu::BusyWait> {
        cpu::busy_wait(
            self.cpu.total().saturating_sub(effort),
            effort,
            self.elapsed,
        )
    }

    /// A sentence for an assertion message about the leftover processes.
    pub fn describe_leftovers(&self) -> String {
        if self.leftovers.is_empty() {
            return "no process was left behind".to_owned();
        }
        let mut text = format!(
            "{} process(es) of the demo were still there after it exited (children never waited for, or orphans):\n",
            self.leftovers.len()
        );
        for process in &self.leftovers {
            text.push_str(&format!("  {process}\n"));
        }
        text
    }
}

/// A demo still running when the watchdog fired, with what every process of its group
/// was doing at that moment.
#[derive(Debug)]
pub struct Hang {
    /// The command line, for the message.
    pub command: String,
    /// How long the demo ran before the watchdog gave up: the timeout, or more when the
    /// watchdog extended it because a process was sleeping or computing (see
    /// [`Demo::hard_cap`]).
    pub after: Duration,
    /// The timeout the demo was given.
    pub budget: Duration,
    /// Every process of the demo's group, as the watchdog found it.
    pub snapshot: Snapshot,
    /// Standard output written before the watchdog fired.
    pub stdout: String,
    /// Standard error written before the watchdog fired.
    pub stderr: String,
}

impl Hang {
    /// The processes blocked in the system call named `syscall` (as in [`Syscall::name`]).
    pub fn blocked_in<'a>(&'a self, syscall: &'a str) -> impl Iterator<Item = &'a Process> + 'a {
        self.snapshot
            .processes
            .iter()
            .filter(move |p| p.blocked_in.as_ref().is_some_and(|s| s.name == syscall))
    }
}

impl Hang {
    /// The CPU time the demo's processes used until the watchdog fired (each process,
    /// and the children they waited for).
    pub fn cpu(&self) -> Duration {
        self.snapshot.cpu()
    }

    /// The processes that were running, not blocked, with a large share of their life
    /// on the CPU: busy-waiting.
    pub fn spinning(&self) -> impl Iterator<Item = &Process> + '_ {
        self.snapshot.spinning()
    }
}

impl fmt::Display for Hang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let after = cpu::seconds(self.after);
        let headline = if self.after > self.budget + Duration::from_millis(500) {
            format!(
                "`{}` did not finish within {after} (its budget of {}, extended while a process \
                 slept or computed): it is stuck. What each of its processes was doing:",
                self.command,
                cpu::seconds(self.budget)
            )
        } else {
            format!(
                "`{}` did not finish within {after}: it is stuck. What each of its processes was \
                 doing:",
                self.command
            )
        };
        writeln!(f, "{}", wrap(&headline, 98))?;
        write!(f, "{}", self.snapshot)?;
        if !self.stdout.is_empty() {
            writeln!(f, "its output so far:\n{}", indent(&self.stdout))?;
        }
        if !self.stderr.is_empty() {
            writeln!(f, "its error output so far:\n{}", indent(&self.stderr))?;
        }
        Ok(())
    }
}

/// The failure message for a hang, in the shape the runner reads (as rustc's): the
/// watchdog's evidence first (what each process was doing), then the cause. The first line
/// of `diagnosis` becomes the `error:` line, which the runner shows as the verdict; each
/// further line becomes a `note:`. Wrapped to 98 columns, continuation lines indented, so
/// that the runner's two-column indentation keeps everything within 100.
///
/// ```
/// let text = proctest::verdict(&"`demo` did not finish", "the reader waits.\nso does the writer.");
/// assert!(text.ends_with("error: the reader waits.\nnote: so does the writer."));
/// ```
pub fn verdict(evidence: &dyn fmt::Display, diagnosis: &str) -> String {
    let mut out = format!(
        "{evidence}
"
    );
    for (i, cause) in diagnosis
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
    {
        let label = if i == 0 { "error: " } else { "note: " };
        let wrapped = wrap(cause.trim(), 98 - label.len());
        let pad = " ".repeat(label.len());
        for (k, line) in wrapped.lines().enumerate() {
            out.push('\n');
            out.push_str(if k == 0 { label } else { &pad });
            out.push_str(line);
        }
    }
    out
}

/// Wraps `text` at `width` columns, on spaces, keeping its line breaks.
///
/// ```
/// assert_eq!(proctest::wrap("one two three", 7), "one two\nthree");
/// ```
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, paragraph) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut column = 0;
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            let len = word.chars().count();
            if column > 0 && column + 1 + len > width {
                out.push('\n');
                column = 0;
            } else if column > 0 {
                out.push(' ');
                column += 1;
            }
            out.push_str(word);
            column += len;
        }
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("  | {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A temporary directory removed on drop (for [`StdoutTo::File`]).
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new() -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "proctest-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("cannot create a temporary directory");
        Self { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
