//! A watchdog OS thread: if a simulation makes no progress for a few seconds of wall
//! time, the simulated code is stuck outside the scheduler (an endless loop that touches
//! nothing the scheduler sees, a std primitive, a real sleep); it writes a diagnosis to
//! the real standard error (libtest's capture would swallow it, since the process is
//! about to die) and aborts instead of hanging. It never decides the outcome of a test,
//! it only turns a hang into a message.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use parking_lot::Mutex;

use super::execution::Shared;

/// How long a simulation may stay inside one step before the watchdog reports it
/// (`INTERLEAVE_WATCHDOG_SECS` overrides it).
fn stuck_after() -> Duration {
    std::env::var("INTERLEAVE_WATCHDOG_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(5))
}

/// What the watchdog knows about the OS thread that runs a simulation, captured on that
/// thread when the simulation starts.
#[derive(Debug)]
pub(crate) struct Origin {
    /// The OS thread's name, as it was when this was computed (the cache's key).
    thread: Option<String>,
    /// The test (libtest names each test's thread after it).
    pub(crate) test: Option<String>,
    /// The OS thread's id, to ask the kernel what it is doing.
    tid: Option<u32>,
    /// The line that runs the test again.
    pub(crate) replay: String,
}

thread_local! {
    static ORIGIN: std::cell::RefCell<Option<Arc<Origin>>> = const { std::cell::RefCell::new(None) };
}

/// The origin of the simulations on this OS thread (computed once per thread: libtest
/// runs each test on a thread of its own; an exploration runs thousands of simulations on
/// one thread, which must not each read /proc and format a replay line).
pub(crate) fn origin() -> Arc<Origin> {
    ORIGIN.with(|o| {
        let current = std::thread::current();
        let name = current.name();
        let mut o = o.borrow_mut();
        if let Some(known) = o.as_ref()
            && known.thread.as_deref() == name
        {
            return known.clone();
        }
        let name = name.map(String::from);
        let tid = std::fs::read_link("/proc/thread-self")
            .ok()
            .and_then(|p| p.file_name()?.to_str()?.parse().ok());
        let new = Arc::new(Origin {
            thread: name.clone(),
            test: name.filter(|n| n != "main"),
            tid,
            replay: crate::scenario::scenario_replay(),
        });
        *o = Some(new.clone());
        new
    })
}

type Watched = (Weak<Shared>, Arc<Origin>);

static WATCHED: OnceLock<Mutex<Vec<Watched>>> = OnceLock::new();

/// Watches an execution until it stops running.
pub(crate) fn watch(shared: Arc<Shared>) {
    crate::report::install_panic_hook();
    let origin = origin();
    super::overflow::arm(&origin);
    let mut started = false;
    let list = WATCHED.get_or_init(|| {
        started = true;
        Mutex::new(Vec::new())
    });
    list.lock().push((Arc::downgrade(&shared), origin));
    if started {
        std::thread::Builder::new()
            .name("interleave-watchdog".into())
            .spawn(run)
            .expect("spawn the interleave watchdog");
    }
}

fn run() {
    let tick = Duration::from_millis(250);
    let stuck_after = stuck_after();
    let mut seen: Vec<(usize, u64, u32)> = Vec::new();
    loop {
        std::thread::sleep(tick);
        let list = WATCHED.get().expect("initialised");
        let mut list = list.lock();
        list.retain(|(s, _)| {
            s.upgrade()
                .is_some_and(|s| s.running.load(Ordering::Relaxed))
        });
        let mut next = Vec::new();
        for (s, origin) in list.iter().filter_map(|(s, o)| Some((s.upgrade()?, o))) {
            let key = Arc::as_ptr(&s) as usize;
            let progress = s.progress.load(Ordering::Relaxed);
            let ticks = seen
                .iter()
                .find(|(k, p, _)| *k == key && *p == progress)
                .map(|(_, _, t)| t + 1)
                .unwrap_or(0);
            if tick * ticks >= stuck_after {
                report(&s, origin, stuck_after);
            }
            next.push((key, progress, ticks));
        }
        seen = next;
    }
}

/// What the kernel says the OS thread is doing: its state letter (`R` running, `S`
/// sleeping...) and where it sleeps.
fn kernel_view(tid: u32) -> Option<(char, String)> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The state follows the command name, which is in parentheses and may hold spaces.
    let state = stat.rsplit_once(") ")?.1.chars().next()?;
    let wchan = std::fs::read_to_string(format!("/proc/self/task/{tid}/wchan"))
        .unwrap_or_default()
        .trim()
        .to_string();
    Some((state, wchan))
}

/// The diagnosis of a simulation stuck outside the scheduler.
pub(crate) fn diagnosis(s: &Shared, origin: &Origin, after: Duration) -> String {
    let secs = after.as_secs().max(1);
    let mut out = String::new();
    let mut thread = None;
    match s.st.try_lock_for(Duration::from_millis(500)) {
        Some(st) => {
            thread = st.current.map(|t| st.threads[t].name.to_string());
            let start = st.events.len().saturating_sub(200);
            let events: Vec<_> = st.events[start..].iter().map(|e| st.resolve(e)).collect();
            if !events.is_empty() {
                out.push_str("the last events of the simulation:\n");
                out.push_str(&crate::trace::report_compact(&events, 12));
                out.push('\n');
            }
        }
        None => out.push_str("(the scheduler's state is locked: no events to show)\n\n"),
    }
    let who = thread
        .clone()
        .unwrap_or_else(|| "a simulated thread".to_string());
    let test = origin
        .test
        .as_deref()
        .map(|t| format!(" in test `{t}`"))
        .unwrap_or_default();
    let running = origin
        .tid
        .and_then(kernel_view)
        .map(|(state, wchan)| (state == 'R', wchan));
    // Blocked: which system call says what the std item is (Linux).
    let blocked = match &running {
        Some((false, _)) => origin.tid.and_then(crate::escape::blocked_in),
        _ => None,
    };
    let (headline, help) = match (&running, blocked) {
        (Some((true, _)) | None, _) => (
            format!(
                "{who} ran for {secs} s of real time{test} without reaching any interleave \
                 operation: an endless loop that never touches a shared interleave object?"
            ),
            "a loop that waits for another thread must block (a condition variable, a \
             channel) or at least read shared state through interleave (an atomic, a \
             lock) so that the other thread can run"
                .to_string(),
        ),
        (Some((false, _)), Some(crate::escape::Blocked::Futex)) => (
            format!(
                "{who} has been blocked for {secs} s of real time{test} in a futex, outside the \
                 scheduler: a std::sync::Mutex, RwLock, Condvar or Barrier, a std::sync::mpsc \
                 channel, std::thread::park, or a parking_lot or crossbeam-channel primitive in \
                 simulated code? Every simulated thread runs on this one OS thread, so nothing \
                 can release it"
            ),
            "use interleave::sync::Mutex (Condvar, RwLock), interleave::channel and \
             interleave::thread::park instead: the same API, and the scheduler sees them"
                .to_string(),
        ),
        (Some((false, _)), Some(crate::escape::Blocked::Sleep)) => (
            format!(
                "{who} has been sleeping for real for {secs} s{test}: std::thread::sleep in \
                 simulated code?"
            ),
            "use interleave::thread::sleep, which advances the simulation's virtual clock"
                .to_string(),
        ),
        (Some((false, wchan)), _) => {
            let inside = if wchan.is_empty() || wchan == "0" {
                String::new()
            } else {
                format!(" (in the kernel: {wchan})")
            };
            (
                format!(
                    "{who} has been blocked for {secs} s of real time{test} outside the \
                     scheduler{inside}: a std::sync::Mutex, a std channel, a real sleep or \
                     real I/O in simulated code?"
                ),
                "use interleave::sync, interleave::thread and interleave::channel instead of \
                 std's primitives in the code under test"
                    .to_string(),
            )
        }
    };
    let mut v = crate::report::Verdict::new(headline);
    v.notes.push(
        "in a simulation every thread runs until it reaches an interleave operation (a lock, \
         a wait, a send, an atomic, a yield); code that waits any other way, or loops \
         without one, never lets another thread run"
            .to_string(),
    );
    v.helps.push(help);
    v.replay = origin.replay.clone();
    out.push_str(&v.to_string());
    out
}

fn report(s: &Shared, origin: &Origin, after: Duration) -> ! {
    let msg = diagnosis(s, origin, after);
    // The real standard error, not `eprintln!`: libtest captures what the test prints
    // and would drop it with the process.
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "\n{msg}");
    let _ = err.flush();
    std::process::abort();
}
