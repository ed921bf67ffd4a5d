//! Helpers for tests that run student code on real OS threads (real mode), where the
//! scheduler cannot see a hang: a thread spinning forever or blocked on a lock nobody
//! releases would freeze the test binary.
//!
//! [`within`] runs the work on a helper thread and gives up after a budget: the test then
//! fails with a message that says what did not finish, instead of hanging. The stuck
//! thread is left behind (a thread cannot be killed) and dies when the test binary exits,
//! so it costs CPU until then but never blocks the verdict. The budget is a watchdog,
//! never a way to decide an outcome: correct code finishes long before it.

use std::sync::mpsc;
use std::time::Duration;

/// Runs `work` on a new OS thread and returns its result, or panics with `what` (the
/// student-facing description of the work, such as "3 threads counting to 300 under the
/// ticket lock") if it has not finished after `budget`. A panic inside `work` is passed on
/// with its own message.
///
/// # Panics
///
/// When `work` panics, or does not finish within `budget`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let sum = interleave::real::within(Duration::from_secs(10), "summing", || 2 + 2);
/// assert_eq!(sum, 4);
/// ```
pub fn within<T, F>(budget: Duration, what: &str, work: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    // A panic of the student's code on these threads is printed with its place in the
    // student's file and its function.
    crate::report::install_panic_hook();
    let (done, finished) = mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("real-threads-under-test".into())
        .spawn(move || {
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
            let _ = done.send(result);
        })
        .expect("spawn the thread that runs the work under its watchdog");
    match finished.recv_timeout(budget) {
        Ok(Ok(value)) => {
            let _ = worker.join();
            value
        }
        Ok(Err(panic)) => {
            let _ = worker.join();
            std::panic::resume_unwind(panic)
        }
        Err(_) => panic!(
            "{what} did not finish within {} s on real threads: a thread is spinning \
             forever or blocked on something nobody will release (a lock still held, a \
             wake-up that never comes)",
            budget.as_secs()
        ),
    }
}
