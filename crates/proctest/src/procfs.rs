//! What the watchdog reads about processes from `/proc` (Linux only).

use nix::unistd::Pid;
use std::fmt;
use std::fs;
use std::time::Duration;

/// Every process of one process group at one moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The processes, ordered by pid (so the demo, the group leader, comes first).
    pub processes: Vec<Process>,
}

/// One process as `/proc` showed it.
#[derive(Debug, Clone)]
pub struct Process {
    /// Its pid.
    pub pid: i32,
    /// Its parent's pid.
    pub ppid: i32,
    /// Its command name (`/proc/PID/comm`).
    pub name: String,
    /// Its scheduler state letter: `R` running, `S` sleeping, `D` disk wait, `Z` zombie,
    /// `T` stopped.
    pub state: char,
    /// The system call it is blocked in, when it is blocked in one.
    pub blocked_in: Option<Syscall>,
    /// Its open descriptors.
    pub fds: Vec<Fd>,
    /// The CPU time (user + system) it has used so far, from `/proc/PID/stat`.
    pub cpu: Duration,
    /// The part of [`Process::cpu`] spent in the kernel (system time): system calls.
    pub system_cpu: Duration,
    /// The CPU time of its children that ended and were waited for.
    pub children_cpu: Duration,
    /// How long ago it started (its age when the snapshot was taken).
    pub age: Duration,
    /// Its signal masks, from `/proc/PID/status`.
    pub signals: Signals,
}

/// The signal masks of a process (from `/proc/PID/status`): bit `n - 1` stands for
/// signal `n`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Signals {
    /// Blocked (`SigBlk`): during `sigsuspend`, the mask it was given.
    pub blocked: u64,
    /// Pending, for the thread or the whole process (`SigPnd` | `ShdPnd`): sent, not
    /// delivered yet.
    pub pending: u64,
    /// Caught by a handler (`SigCgt`).
    pub caught: u64,
    /// Ignored (`SigIgn`).
    pub ignored: u64,
}

impl Signals {
    fn bit(signal: i32) -> u64 {
        if (1..=64).contains(&signal) {
            1 << (signal - 1)
        } else {
            0
        }
    }

    /// Whether `signal` (a number, `libc::SIGUSR1`) is blocked.
    pub fn is_blocked(&self, signal: i32) -> bool {
        self.blocked & Self::bit(signal) != 0
    }

    /// Whether `signal` is pending.
    pub fn is_pending(&self, signal: i32) -> bool {
        self.pending & Self::bit(signal) != 0
    }

    /// Whether a handler catches `signal`.
    pub fn is_caught(&self, signal: i32) -> bool {
        self.caught & Self::bit(signal) != 0
    }

    /// Whether `signal` is ignored.
    pub fn is_ignored(&self, signal: i32) -> bool {
        self.ignored & Self::bit(signal) != 0
    }
}

fn read_signals(base: &str) -> Signals {
    let text = fs::read_to_string(format!("{base}/status")).unwrap_or_default();
    let mask = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
            .unwrap_or(0)
    };
    Signals {
        blocked: mask("SigBlk:"),
        pending: mask("SigPnd:") | mask("ShdPnd:"),
        caught: mask("SigCgt:"),
        ignored: mask("SigIgn:"),
    }
}

/// A system call a process is blocked in (from `/proc/PID/syscall`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Syscall {
    /// Its name (`read`, `write`, `wait4`, `pause`, `rt_sigsuspend`, `poll`,
    /// `epoll_wait`, `accept`, `openat`, ...) or `syscall N` for an unnamed one.
    pub name: String,
    /// The descriptor it works on, for the calls whose first argument is one.
    pub fd: Option<i32>,
    /// Its six arguments, as `/proc/PID/syscall` shows them.
    pub args: [u64; 6],
}

impl Syscall {
    /// Whether this call ends by itself after a while even if nothing happens: a
    /// `nanosleep`, or a `poll`, `epoll_wait` or `select` given a timeout. A process in
    /// one sleeps on purpose, it is not stuck.
    pub fn has_timeout(&self) -> bool {
        // A C int argument: -1 (no timeout) shows as 0xffffffffffffffff.
        let int = |i: usize| self.args[i] as i64 as i32;
        match self.name.as_str() {
            "nanosleep" | "clock_nanosleep" => true,
            "poll" => int(2) >= 0,
            "epoll_wait" | "epoll_pwait" => int(3) >= 0,
            // A pointer to the timeout: NULL waits for ever.
            "ppoll" => self.args[2] != 0,
            "select" | "pselect6" => self.args[4] != 0,
            "rt_sigtimedwait" => self.args[2] != 0,
            _ => false,
        }
    }
}

/// An open descriptor (from `/proc/PID/fd` and `/proc/PID/fdinfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fd {
    /// The descriptor number.
    pub fd: i32,
    /// What it refers to: a path, `pipe:[INODE]`, `socket:[INODE]`, `anon_inode:[eventpoll]`...
    pub target: String,
    /// Whether it was opened for reading.
    pub readable: bool,
    /// Whether it was opened for writing.
    pub writable: bool,
}

impl Fd {
    /// The inode of the pipe it refers to, if it is a pipe (anonymous or named: a FIFO
    /// shows as its path, so only anonymous pipes have one here).
    pub fn pipe_inode(&self) -> Option<u64> {
        self.target
            .strip_prefix("pipe:[")?
            .strip_suffix(']')?
            .parse()
            .ok()
    }

    /// The end of a pipe this descriptor is, in words: "read end", "write end".
    pub fn end(&self) -> &'static str {
        match (self.readable, self.writable) {
            (true, false) => "read end",
            (false, true) => "write end",
            _ => "read-write end",
        }
    }
}

impl Snapshot {
    /// Reads every process whose process group is `pgid`. Processes that vanish while
    /// being read are skipped.
    pub fn of_group(pgid: Pid) -> Self {
        let mut processes: Vec<Process> = fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(|pid| {
                let base = format!("/proc/{pid}");
                let stat = stat(&base)?;
                (stat.pgrp == pgid.as_raw()).then(|| Process::read(pid, &base, &stat))
            })
            .collect();
        processes.sort_by_key(|p| p.pid);
        Self { processes }
    }

    /// The demo itself: the process of the group whose parent is outside the group.
    pub fn leader(&self) -> Option<&Process> {
        self.processes
            .iter()
            .find(|p| !self.processes.iter().any(|q| q.pid == p.ppid))
    }

    /// The children of `parent` that are stopped (state `T`: by SIGSTOP, as
    /// [`crate::faults::children_stop_at_birth`] makes them).
    pub fn stopped_children<'a>(
        &'a self,
        parent: &'a Process,
    ) -> impl Iterator<Item = &'a Process> {
        self.processes
            .iter()
            .filter(move |p| p.ppid == parent.pid && p.state == 'T')
    }

    /// The processes holding the write end of the pipe with this inode open, with the
    /// descriptor number in each.
    pub fn pipe_writers(&self, inode: u64) -> Vec<(&Process, i32)> {
        self.holders(inode, |fd| fd.writable)
    }

    /// The processes holding the read end of the pipe with this inode open.
    pub fn pipe_readers(&self, inode: u64) -> Vec<(&Process, i32)> {
        self.holders(inode, |fd| fd.readable)
    }

    /// The processes sleeping on purpose, in `nanosleep` (a `sleep`) or in a wait with a
    /// timeout: they will go on by themselves, so they are not stuck.
    pub fn sleeping(&self) -> impl Iterator<Item = &Process> + '_ {
        self.processes.iter().filter(|p| p.is_sleeping())
    }

    /// The processes that are running instead of blocked, and have used the CPU for a
    /// large part of their life: busy-waiting, when the demo should be waiting.
    pub fn spinning(&self) -> impl Iterator<Item = &Process> + '_ {
        self.processes.iter().filter(|p| p.is_spinning())
    }

    /// The CPU time used by the group: every process in it, and every child they waited
    /// for.
    pub fn cpu(&self) -> Duration {
        self.processes.iter().map(|p| p.cpu + p.children_cpu).sum()
    }

    fn holders(&self, inode: u64, end: impl Fn(&Fd) -> bool) -> Vec<(&Process, i32)> {
        self.processes
            .iter()
            .flat_map(|p| {
                p.fds
                    .iter()
                    .filter(|fd| fd.pipe_inode() == Some(inode) && end(fd))
                    .map(move |fd| (p, fd.fd))
            })
            .collect()
    }
}

impl Process {
    /// One thread of the calling process, by its thread id (`gettid`), read like a process
    /// (its descriptors are the process's). `None` when it has ended.
    pub fn thread_of_self(tid: i32) -> Option<Self> {
        let base = format!("/proc/self/task/{tid}");
        let stat = stat(&base)?;
        Some(Self::read(tid, &base, &stat))
    }

    fn read(pid: i32, base: &str, stat: &Stat) -> Self {
        let name = fs::read_to_string(format!("{base}/comm"))
            .map(|s| s.trim_end().to_owned())
            .unwrap_or_default();
        let fds = read_fds(base);
        let state = stat.state;
        let blocked_in = if state == 'Z' || state == 'R' {
            None
        } else {
            syscall(base)
        };
        let signals = read_signals(base);
        Self {
            pid,
            ppid: stat.ppid,
            name,
            state,
            blocked_in,
            fds,
            cpu: stat.cpu,
            system_cpu: stat.system_cpu,
            children_cpu: stat.children_cpu,
            age: stat.age,
            signals,
        }
    }

    /// Whether it sleeps on purpose, in a call that ends by itself ([`Syscall::has_timeout`]:
    /// `nanosleep`, or a `poll` with a timeout): it will go on by itself.
    pub fn is_sleeping(&self) -> bool {
        self.blocked_in.as_ref().is_some_and(Syscall::has_timeout)
    }

    /// Whether it is running (state `R`: on a CPU or waiting for one) rather than blocked,
    /// and has used at least a fiftieth of its life and 20 ms on the CPU: a process that
    /// should wait but keeps checking. A blocked process is in state `S` and uses next to
    /// nothing; a spinning one stays runnable and gets its share of even a very busy
    /// machine.
    pub fn is_spinning(&self) -> bool {
        self.state == 'R' && self.cpu >= Duration::from_millis(20) && self.cpu * 50 >= self.age
    }

    /// Whether it spins in system calls: running, on the CPU for at least an eighth of its
    /// life (a busy machine shares it) and half a second in all, a quarter of it or more in
    /// the kernel (a debug build's own code takes the rest of each turn). That is a loop of calls that
    /// return at once (a `poll` on a pipe that reports POLLHUP for ever, a `waitpid` with
    /// WNOHANG, a read that fails with EAGAIN), not a computation, which runs in user space:
    /// more time will not help it.
    pub fn spins_in_system_calls(&self) -> bool {
        self.state == 'R'
            && self.cpu >= Duration::from_millis(500)
            && self.cpu * 8 >= self.age
            && self.system_cpu * 4 >= self.cpu
    }

    /// The descriptor numbered `fd`, if open.
    pub fn fd(&self, fd: i32) -> Option<&Fd> {
        self.fds.iter().find(|f| f.fd == fd)
    }

    /// The descriptor the process is blocked on, if its system call takes one.
    pub fn blocked_on_fd(&self) -> Option<&Fd> {
        self.fd(self.blocked_in.as_ref()?.fd?)
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (pid {}, parent {})", self.name, self.pid, self.ppid)?;
        match (self.state, &self.blocked_in) {
            ('Z', _) => write!(f, " is a zombie: it exited and nobody waited for it"),
            ('T', _) => write!(
                f,
                " is stopped (SIGSTOP or another stop signal): it goes on only when sent SIGCONT"
            ),
            ('R', _) => write!(
                f,
                " is running, not blocked: it used {} of CPU in its {} of life",
                crate::cpu::seconds(self.cpu),
                crate::cpu::seconds(self.age)
            ),
            (_, Some(call)) => {
                write!(f, " is blocked in {}()", call.name)?;
                if let Some(fd) = self.blocked_on_fd() {
                    write!(f, " on fd {} ({} {})", fd.fd, fd.end(), fd.target)?;
                }
                Ok(())
            }
            (state, None) => write!(f, " is in state {state}"),
        }
    }
}

impl fmt::Display for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for process in &self.processes {
            let text = crate::wrap(&process.to_string(), 96);
            for (i, line) in text.lines().enumerate() {
                let indent = if i == 0 { "  " } else { "      " };
                writeln!(f, "{indent}{line}")?;
            }
            let fds: Vec<String> = process
                .fds
                .iter()
                .filter(|fd| fd.fd > 2 || fd.pipe_inode().is_some())
                .map(|fd| format!("{}: {} {}", fd.fd, fd.end(), fd.target))
                .collect();
            if !fds.is_empty() {
                let list = crate::wrap(&format!("open descriptors: {}", fds.join(", ")), 94);
                for (i, line) in list.lines().enumerate() {
                    let indent = if i == 0 { "    " } else { "      " };
                    writeln!(f, "{indent}{line}")?;
                }
            }
        }
        Ok(())
    }
}

/// What the watchdog reads from `/proc/PID/stat`.
struct Stat {
    state: char,
    ppid: i32,
    pgrp: i32,
    cpu: Duration,
    system_cpu: Duration,
    children_cpu: Duration,
    age: Duration,
}

fn stat(base: &str) -> Option<Stat> {
    let text = fs::read_to_string(format!("{base}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: parse after the last ')'.
    // Field N of proc(5) (counting from 1, the pid) is then at index N - 3.
    let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    let number = |n: usize| -> u64 { fields.get(n - 3).and_then(|f| f.parse().ok()).unwrap_or(0) };
    let ticks = clock_ticks();
    let of_ticks = |t: u64| Duration::from_secs_f64(t as f64 / ticks);
    let started = of_ticks(number(22));
    let age = uptime().map_or(Duration::ZERO, |up| up.saturating_sub(started));
    Some(Stat {
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        cpu: of_ticks(number(14) + number(15)),
        system_cpu: of_ticks(number(15)),
        children_cpu: of_ticks(number(16) + number(17)),
        age,
    })
}

/// Clock ticks per second, the unit of the times in `/proc/PID/stat`.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// Time since boot, from `/proc/uptime`.
fn uptime() -> Option<Duration> {
    let text = fs::read_to_string("/proc/uptime").ok()?;
    Some(Duration::from_secs_f64(
        text.split_whitespace().next()?.parse().ok()?,
    ))
}

fn read_fds(base: &str) -> Vec<Fd> {
    let mut fds: Vec<Fd> = fs::read_dir(format!("{base}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let fd: i32 = entry.file_name().to_str()?.parse().ok()?;
            let target = fs::read_link(entry.path())
                .ok()?
                .to_string_lossy()
                .into_owned();
            let flags = fs::read_to_string(format!("{base}/fdinfo/{fd}"))
                .ok()
                .and_then(|info| {
                    let line = info.lines().find(|l| l.starts_with("flags:"))?;
                    u32::from_str_radix(line["flags:".len()..].trim(), 8).ok()
                })
                .unwrap_or(0);
            let access = flags & 0o3;
            Some(Fd {
                fd,
                target,
                readable: access == 0 || access == 2,
                writable: access == 1 || access == 2,
            })
        })
        .collect();
    fds.sort_by_key(|fd| fd.fd);
    fds
}

fn syscall(base: &str) -> Option<Syscall> {
    let text = fs::read_to_string(format!("{base}/syscall")).ok()?;
    let mut fields = text.split_whitespace();
    let number: i64 = fields.next()?.parse().ok()?;
    if number < 0 {
        return None;
    }
    let mut args = [0u64; 6];
    for (slot, field) in args.iter_mut().zip(fields) {
        *slot = u64::from_str_radix(field.trim_start_matches("0x"), 16).unwrap_or(0);
    }
    let (name, takes_fd) = syscall_name(number);
    Some(Syscall {
        name: name.map_or_else(|| format!("syscall {number}"), str::to_owned),
        fd: if takes_fd {
            i32::try_from(args[0]).ok()
        } else {
            None
        },
        args,
    })
}

/// The name of a blocking system call, and whether its first argument is a descriptor.
#[cfg(target_arch = "x86_64")]
fn syscall_name(number: i64) -> (Option<&'static str>, bool) {
    match number {
        0 => (Some("read"), true),
        1 => (Some("write"), true),
        7 => (Some("poll"), false),
        19 => (Some("readv"), true),
        20 => (Some("writev"), true),
        23 => (Some("select"), false),
        34 => (Some("pause"), false),
        35 => (Some("nanosleep"), false),
        42 => (Some("connect"), true),
        43 => (Some("accept"), true),
        44 => (Some("sendto"), true),
        45 => (Some("recvfrom"), true),
        46 => (Some("sendmsg"), true),
        47 => (Some("recvmsg"), true),
        61 => (Some("wait4"), false),
        62 => (Some("kill"), false),
        130 => (Some("rt_sigsuspend"), false),
        128 => (Some("rt_sigtimedwait"), false),
        202 => (Some("futex"), false),
        230 => (Some("clock_nanosleep"), false),
        232 => (Some("epoll_wait"), true),
        247 => (Some("waitid"), false),
        257 => (Some("openat"), false),
        270 => (Some("pselect6"), false),
        271 => (Some("ppoll"), false),
        281 => (Some("epoll_pwait"), true),
        288 => (Some("accept4"), true),
        _ => (None, false),
    }
}

/// The name of a blocking system call, and whether its first argument is a descriptor.
#[cfg(target_arch = "aarch64")]
fn syscall_name(number: i64) -> (Option<&'static str>, bool) {
    match number {
        63 => (Some("read"), true),
        64 => (Some("write"), true),
        65 => (Some("readv"), true),
        66 => (Some("writev"), true),
        56 => (Some("openat"), false),
        72 => (Some("pselect6"), false),
        73 => (Some("ppoll"), false),
        98 => (Some("futex"), false),
        101 => (Some("nanosleep"), false),
        115 => (Some("clock_nanosleep"), false),
        133 => (Some("rt_sigsuspend"), false),
        137 => (Some("rt_sigtimedwait"), false),
        202 => (Some("accept"), true),
        203 => (Some("connect"), true),
        206 => (Some("sendto"), true),
        207 => (Some("recvfrom"), true),
        211 => (Some("sendmsg"), true),
        212 => (Some("recvmsg"), true),
        22 => (Some("epoll_pwait"), true),
        242 => (Some("accept4"), true),
        260 => (Some("wait4"), false),
        95 => (Some("waitid"), false),
        129 => (Some("kill"), false),
        _ => (None, false),
    }
}

/// The name of a blocking system call, and whether its first argument is a descriptor.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn syscall_name(_number: i64) -> (Option<&'static str>, bool) {
    (None, false)
}
