//! What the ipc tests share: messages wrapped to fit in 100 columns, a watchdog around
//! in-process calls that names the system call a stuck thread sits in, the descriptors this
//! process holds, and running a demo under proctest's watchdog.

#![allow(dead_code)] // each test file uses its own part of these helpers

use proctest::{Demo, Finished, Hang};
use std::sync::mpsc;
use std::time::Duration;

/// How long one in-process call of the student's code may take before the test reports it
/// stuck: a correct call takes milliseconds; this only bounds how long a broken one takes
/// to be diagnosed on a slow, busy machine.
pub const BUDGET: Duration = Duration::from_secs(10);

/// How long a demo may run before the watchdog diagnoses it (same reasoning).
pub const WATCHDOG: Duration = Duration::from_secs(10);

/// Wraps each line of `text` at 98 columns (at spaces; indented lines keep their indent): the
/// runner indents a failure by two.
pub fn wrap(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        let mut current = String::new();
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            if !current.is_empty() && current.len() + 1 + word.len() > 98 {
                out.push_str(&current);
                out.push('\n');
                current = format!("{indent}  ");
            } else if !current.is_empty() {
                current.push(' ');
            } else {
                current.push_str(&indent);
            }
            current.push_str(word);
        }
        out.push_str(&current);
        out.push('\n');
    }
    out.trim_end().to_owned()
}

/// Fails the test with `result`'s message, wrapped to fit in 100 columns once indented.
#[track_caller]
pub fn verdict(result: Result<(), String>) {
    if let Err(message) = result {
        panic!("\n{}", wrap(&message));
    }
}

/// The name of a system call by its number on this architecture, for the calls a stuck
/// step can sit in.
pub fn syscall_name(number: i64) -> String {
    #[cfg(target_arch = "x86_64")]
    let name = match number {
        0 => Some("read"),
        1 => Some("write"),
        7 => Some("poll"),
        17 => Some("pread64"),
        18 => Some("pwrite64"),
        40 => Some("sendfile"),
        61 => Some("wait4"),
        202 => Some("futex"),
        230 => Some("clock_nanosleep"),
        242 => Some("mq_timedsend"),
        243 => Some("mq_timedreceive"),
        271 => Some("ppoll"),
        275 => Some("splice"),
        _ => None,
    };
    #[cfg(target_arch = "aarch64")]
    let name = match number {
        63 => Some("read"),
        64 => Some("write"),
        67 => Some("pread64"),
        71 => Some("sendfile"),
        73 => Some("ppoll"),
        76 => Some("splice"),
        98 => Some("futex"),
        182 => Some("mq_timedsend"),
        183 => Some("mq_timedreceive"),
        260 => Some("wait4"),
        _ => None,
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let name: Option<&str> = None;
    name.map_or_else(|| format!("system call {number}"), str::to_owned)
}

/// What the thread `tid` of this process is blocked in, as `splice() on fd 7 (pipe:[123])`,
/// from `/proc/self/task/TID/syscall`.
pub fn thread_blocked_in(tid: i32) -> String {
    let Ok(text) = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")) else {
        return "(its state could not be read)".to_owned();
    };
    let mut fields = text.split_whitespace();
    let Some(number) = fields.next().and_then(|n| n.parse::<i64>().ok()) else {
        return "running, not in a system call".to_owned();
    };
    if number < 0 {
        return "running, not in a system call".to_owned();
    }
    let name = syscall_name(number);
    let fd = fields
        .next()
        .and_then(|a| i64::from_str_radix(a.trim_start_matches("0x"), 16).ok())
        .and_then(|a| i32::try_from(a).ok());
    let target = fd.and_then(|fd| {
        std::fs::read_link(format!("/proc/self/fd/{fd}"))
            .ok()
            .map(|t| (fd, t.to_string_lossy().into_owned()))
    });
    match target {
        Some((fd, target)) if !name.starts_with("futex") && !name.starts_with("wait") => {
            format!("{name}() on fd {fd} ({target})")
        }
        _ => format!("{name}()"),
    }
}

/// A stuck call as the code under test wrote it: glibc's `mq_receive` and `mq_send` are the
/// `mq_timedreceive` and `mq_timedsend` system calls, which is all the kernel shows.
pub fn as_called(blocked: &str) -> String {
    for (call, functions) in [
        (
            "mq_timedreceive()",
            "mq_receive() or mq_timedreceive() (one system call)",
        ),
        (
            "mq_timedsend()",
            "mq_send() or mq_timedsend() (one system call)",
        ),
    ] {
        if let Some(rest) = blocked.strip_prefix(call) {
            return format!("{functions}{rest}");
        }
    }
    blocked.to_owned()
}

/// The state of the thread `tid` of this process, from `/proc/self/task/TID/stat`: `R`
/// running, `S` asleep (waiting for something), `D`...; `None` once it has ended.
pub fn thread_state(tid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// The flags this process's descriptor `fd` was opened with (or set to since), from
/// `/proc/self/fdinfo/FD`: `O_NONBLOCK` and the like.
pub fn fd_flags(fd: i32) -> Option<i32> {
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).ok()?;
    let line = info.lines().find(|l| l.starts_with("flags:"))?;
    i32::from_str_radix(line["flags:".len()..].trim(), 8).ok()
}

/// The kernel's id of the calling thread.
pub fn gettid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// The name of the threads [`within`] runs the student's code on.
const WATCHED: &str = "watched call";

thread_local! {
    /// Where the current watched thread panicked (file:line), for the message.
    static PANIC_AT: std::cell::Cell<Option<String>> = const { std::cell::Cell::new(None) };
}

/// A panic in a watched thread is reported in the test's own message (with where it
/// happened), so the default hook's extra lines are not printed for those threads.
fn quiet_panics_in_watched_threads() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some(WATCHED) {
                let at = info.location().map(|l| {
                    let file = l
                        .file()
                        .rsplit_once("../../../")
                        .map_or(l.file(), |(_, f)| f);
                    format!("{file}:{}", l.line())
                });
                PANIC_AT.with(|cell| cell.set(at));
            } else {
                default(info);
            }
        }));
    });
}

/// Runs `f` on a thread of its own and waits at most [`BUDGET`] for it. A call still
/// running then is reported stuck, with the system call its thread is blocked in; `what`
/// names the call for the message and `why` says what usually causes the hang. The stuck
/// thread is abandoned (it dies with the test process).
pub fn within<T: Send + 'static>(
    what: &str,
    why: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    within_by(what, |_| why.to_owned(), f)
}

/// [`within`], with the explanation of a hang chosen from the system call the stuck thread
/// sits in (`read`, `wait4`, `splice`...; empty when it is not in one).
pub fn within_by<T: Send + 'static>(
    what: &str,
    why: impl FnOnce(&str) -> String,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    within_while(what, why, f, |_| {})
}

/// [`within_by`], which calls `meanwhile` with the watched thread's id once that thread
/// has started, before the budget starts: to look at the thread while it waits (in
/// `/proc/self/task/TID`), send it a signal, then let the call go on.
pub fn within_while<T: Send + 'static>(
    what: &str,
    why: impl FnOnce(&str) -> String,
    f: impl FnOnce() -> T + Send + 'static,
    meanwhile: impl FnOnce(i32),
) -> Result<T, String> {
    quiet_panics_in_watched_threads();
    let (tx, rx) = mpsc::channel();
    let (tid_tx, tid_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(WATCHED.to_owned())
        .spawn(move || {
            let _ = tid_tx.send(gettid());
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .map_err(|payload| (payload, PANIC_AT.with(|at| at.take())));
            let _ = tx.send(result);
        })
        .expect("spawn the watched thread");
    let tid = tid_rx.recv().expect("the watched thread starts");
    meanwhile(tid);
    match rx.recv_timeout(BUDGET) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err((payload, at))) => {
            let at = at.map_or(String::new(), |at| format!(" at {at}"));
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            if let Some(rest) = message.strip_prefix("not yet implemented") {
                let detail = rest.trim_start_matches(':').trim();
                let detail = detail.split_once(": ").map_or(detail, |(_, m)| m);
                // What is not written yet comes first: it is the verdict.
                Err(if detail.is_empty() {
                    format!("{what} reached a todo!(). Write it as its TODO comment says.")
                } else {
                    format!(
                        "{detail}: {what} reached its todo!(). Write it as its TODO comment says."
                    )
                })
            } else {
                Err(format!("{what} panicked{at}: {message}"))
            }
        }
        Err(_) => {
            let blocked = thread_blocked_in(tid);
            let call = blocked.split('(').next().unwrap_or_default().to_owned();
            let call = if blocked.starts_with("running") {
                String::new()
            } else {
                call
            };
            // A thread in no system call is still running (a loop), not stuck in a call.
            let state = if blocked.starts_with("running") {
                "still running, in no system call".to_owned()
            } else {
                format!("stuck in {}", as_called(&blocked))
            };
            Err(format!(
                "{what} did not return within {BUDGET:?}: it is {state}. {}",
                why(&call)
            ))
        }
    }
}

/// The descriptors of this process, as `fd -> target`, in increasing order.
pub fn open_fds() -> Vec<String> {
    proctest::audit::open_fds()
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// The descriptors open now that were not in `before`, in words.
pub fn new_fds(before: &[String]) -> Vec<String> {
    open_fds()
        .into_iter()
        .filter(|fd| !before.contains(fd))
        .collect()
}

/// Runs a demo under the watchdog; a hang becomes the watchdog's snapshot followed by
/// `diagnose(&hang)`, the test's diagnosis in the topic's words, on the `error:` line the
/// runner shows as the verdict.
pub fn run_demo(demo: Demo, diagnose: impl FnOnce(&Hang) -> String) -> Result<Finished, String> {
    demo.timeout(WATCHDOG)
        .run()
        .map_err(|hang| proctest::verdict(&hang, &diagnose(&hang)))
}
