//! Helpers shared by the mmap topic's in-process tests: a watchdog around the student's
//! code, what the calling thread read and wrote with system calls, and which mappings and
//! descriptors of a file the process still holds.
#![allow(dead_code)] // each test file uses its own part of these helpers

use std::path::Path;
use std::time::Duration;

/// How long one call of the student's code may take before the test reports it stuck: a
/// correct call takes milliseconds, and the watchdog only bounds how long a broken one
/// takes to be diagnosed on a slow, busy machine.
pub const BUDGET: Duration = Duration::from_secs(10);

/// Runs `work` under proctest's watchdog for in-process calls and returns its result, or
/// `Err(message)` when it has not returned within [`BUDGET`]: `what` names the call, `why`
/// says what can keep it from returning, in the step's words. A panic in `work` is passed
/// on as it is. A stuck thread cannot be stopped: it ends with the test process.
pub fn within<T: Send + 'static>(
    what: &str,
    why: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    proctest::within(BUDGET, what, work)
        .map(|timed| timed.value)
        .map_err(|stuck| format!("{stuck}: {why}"))
}

/// What the calling thread has read and written with system calls so far
/// (`/proc/thread-self/io`): bytes through `read()`-like calls and `write()`-like calls, and
/// how many `read()`-like calls it made. Accesses to a mapping are page faults, not system
/// calls: they count in none of these.
#[derive(Debug, Clone, Copy)]
pub struct Io {
    /// `rchar`: bytes returned by read(), pread(), readv()...
    pub read: u64,
    /// `wchar`: bytes passed to write(), pwrite(), writev()...
    pub written: u64,
    /// `syscr`: read(), pread(), readv()... calls, even those that returned 0 bytes.
    pub read_calls: u64,
}

/// The calling thread's [`Io`] with the length of the text it was read from, or `None` when
/// the kernel does not account it (`CONFIG_TASK_IO_ACCOUNTING` off). The kernel writes the
/// text during the one `read()` below, before it counts that call and its bytes: they show
/// in the next reading, not in this one.
fn thread_io_text() -> Option<(Io, u64)> {
    use std::io::Read;
    let mut file = std::fs::File::open("/proc/thread-self/io").ok()?;
    // One read() call into a buffer far larger than the seven lines: the whole text at once.
    let mut buf = [0u8; 4096];
    let len = file.read(&mut buf).ok()?;
    let text = std::str::from_utf8(&buf[..len]).ok()?;
    let field = |name: &str| -> Option<u64> {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
    };
    let io = Io {
        read: field("rchar:")?,
        written: field("wchar:")?,
        read_calls: field("syscr:")?,
    };
    Some((io, len as u64))
}

/// The calling thread's [`Io`], or `None` when the kernel does not account it
/// (`CONFIG_TASK_IO_ACCOUNTING` off): the checks that need it are then skipped.
pub fn thread_io() -> Option<Io> {
    thread_io_text().map(|(io, _)| io)
}

/// Runs `f` on the calling thread and returns its result with the bytes the thread read
/// and wrote through system calls meanwhile, and its read() calls (`None` without I/O
/// accounting). The one read() of `/proc/thread-self/io` before `f` is taken off: what
/// remains is `f`'s own.
pub fn with_io<T>(f: impl FnOnce() -> T) -> (T, Option<Io>) {
    let before = thread_io_text();
    let value = f();
    let after = thread_io();
    let delta = before.zip(after).map(|((b, own), a)| Io {
        read: a.read.saturating_sub(b.read).saturating_sub(own),
        written: a.written.saturating_sub(b.written),
        read_calls: a.read_calls.saturating_sub(b.read_calls).saturating_sub(1),
    });
    (value, delta)
}

/// The lines of `/proc/self/maps` that map `path`: a mapping still there after the call
/// that made it returned is a leak (the missing `munmap`).
pub fn mappings_of(path: &Path) -> Vec<String> {
    let name = path.to_string_lossy();
    std::fs::read_to_string("/proc/self/maps")
        .expect("read /proc/self/maps")
        .lines()
        .filter(|line| line.ends_with(&*name) || line.contains(&format!("{name} (deleted)")))
        .map(str::to_owned)
        .collect()
}

/// The descriptors of this process open on `path` (from `/proc/self/fd`): one still open
/// after the call that opened it returned is a leak (the missing `close`). Each test uses
/// files of its own, so another test's descriptors never count here.
pub fn descriptors_on(path: &Path) -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .flatten()
        .filter_map(|entry| {
            let fd = entry.file_name().to_str()?.parse().ok()?;
            let target = std::fs::read_link(entry.path()).ok()?;
            (target == path).then_some(fd)
        })
        .collect()
}

/// Checks that the call that used `path` left neither a mapping of it nor a descriptor
/// on it behind; `call` names that call in the message.
pub fn left_nothing_behind(call: &str, path: &Path) -> Result<(), String> {
    let maps = mappings_of(path);
    if !maps.is_empty() {
        return Err(format!(
            "{call} returned, but the process still maps {}: the mapping leaked. Drop the \
             `Mapping` (its Drop calls munmap) before returning; mem::forget or a raw mmap \
             without munmap keeps the pages mapped for the life of the process\n  {}\nMapping \
             leaked.",
            path.display(),
            maps.join("\n  ")
        ));
    }
    let fds = descriptors_on(path);
    if !fds.is_empty() {
        return Err(format!(
            "{call} returned, but descriptor(s) {fds:?} are still open on {}: the file was \
             never closed. A mapping keeps its own reference to the file, so the `File` can \
             be dropped as soon as the mapping exists. Descriptor leaked.",
            path.display()
        ));
    }
    Ok(())
}

/// Fails the test with `result`'s message, wrapped to fit in 100 columns once indented.
#[track_caller]
pub fn verdict(result: Result<(), String>) {
    if let Err(message) = result {
        panic!("{}", wrap(&message));
    }
}

/// Wraps `text` at 98 columns: the runner indents a failure by two.
pub fn wrap(text: &str) -> String {
    proctest::wrap(text, 98)
}
