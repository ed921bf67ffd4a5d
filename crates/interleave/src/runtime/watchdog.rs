//! A watchdog OS thread: if a simulation makes no progress for a few seconds of wall
//! time, the simulated code is stuck outside the scheduler (a std primitive or a real
//! sleep); it prints a diagnosis and aborts instead of hanging. It never decides the
//! outcome of a test, it only turns a hang into a message.

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

static WATCHED: OnceLock<Mutex<Vec<Weak<Shared>>>> = OnceLock::new();

/// Watches an execution until it stops running.
pub(crate) fn watch(shared: Arc<Shared>) {
    let mut started = false;
    let list = WATCHED.get_or_init(|| {
        started = true;
        Mutex::new(Vec::new())
    });
    list.lock().push(Arc::downgrade(&shared));
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
        list.retain(|s| {
            s.upgrade()
                .is_some_and(|s| s.running.load(Ordering::Relaxed))
        });
        let mut next = Vec::new();
        for s in list.iter().filter_map(Weak::upgrade) {
            let key = Arc::as_ptr(&s) as usize;
            let progress = s.progress.load(Ordering::Relaxed);
            let ticks = seen
                .iter()
                .find(|(k, p, _)| *k == key && *p == progress)
                .map(|(_, _, t)| t + 1)
                .unwrap_or(0);
            if tick * ticks >= stuck_after {
                report(&s);
            }
            next.push((key, progress, ticks));
        }
        seen = next;
    }
}

fn report(s: &Shared) -> ! {
    let os_thread = s.os_thread.load(Ordering::Relaxed);
    let mut msg = match crate::escape::os_thread_state(os_thread).filter(|_| os_thread != 0) {
        // What the kernel says the simulation's OS thread is doing names the culprit.
        Some(state) => {
            format!("interleave: the simulation is stuck outside the scheduler:\n{state}\n")
        }
        None => String::from(
            "interleave: the simulation is stuck outside the scheduler: a std primitive \
             (std::sync::Mutex, std::thread::sleep, a real channel...) or an endless loop without \
             any interleave operation in simulated code?\n",
        ),
    };
    match s.st.try_lock_for(Duration::from_millis(500)) {
        Some(st) => {
            if let Some(t) = st.current {
                msg.push_str(&format!("running thread: {}\n", st.threads[t].name));
            }
            msg.push_str("last events:\n");
            let start = st.events.len().saturating_sub(10);
            for e in &st.events[start..] {
                msg.push_str(&format!("  {}\n", st.resolve(e).compact()));
            }
        }
        None => msg.push_str("(the scheduler state is locked)\n"),
    }
    eprintln!("{msg}");
    std::process::abort();
}
