//! Shared by the drivers: run work on real threads under a watchdog, so that a hang
//! becomes a failure that names the work instead of a frozen CI job.

use std::sync::mpsc;
use std::time::Duration;

/// Runs `work` on a new thread; panics naming `what` if it does not finish in a minute.
pub fn within<T: Send + 'static>(what: &str, work: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
        let _ = done.send(r);
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(v)) => v,
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("{what}: did not finish within 60 s on real threads"),
    }
}

/// Runs `n` threads, each running `f(i)`, and joins them.
pub fn threads(n: usize, f: impl Fn(usize) + Send + Sync + 'static) {
    let f = std::sync::Arc::new(f);
    let hs: Vec<_> = (0..n)
        .map(|i| {
            let f = f.clone();
            std::thread::spawn(move || f(i))
        })
        .collect();
    for h in hs {
        h.join().expect("a driver thread panicked");
    }
}
