//! A watchdog for tests that call the student's code in the test process itself (no fork:
//! a non-blocking read, a `poll`, cutting a stream into records).

use crate::Process;
use std::fmt;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a call run by [`within`] returned, with what it cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timed<T> {
    /// The call's result.
    pub value: T,
    /// The CPU time of the thread that made the call, during the call: next to nothing
    /// for a call that blocked, about its share of the machine for one that spun.
    pub cpu: Duration,
    /// Wall-clock time of the call, for messages only.
    pub wall: Duration,
    /// How many times the thread was switched out while still ready to run, during the
    /// call: next to none for a call that blocked, many for one that yielded in a loop on a
    /// busy machine ([`crate::cpu::YIELD_SPIN`]).
    pub preempted: u64,
}

/// A call run by [`within`] that had not returned after its budget, with what its thread
/// was doing then.
#[derive(Debug, Clone)]
pub struct Stuck {
    /// What the call was, in the test's words.
    pub what: String,
    /// The budget that expired.
    pub after: Duration,
    /// The thread that made the call, as `/proc` showed it then (`None` if it could not be
    /// read).
    pub thread: Option<Box<Process>>,
}

impl Stuck {
    /// Whether the thread was blocked in the system call `name` (`read`, `poll`...).
    pub fn blocked_in(&self, name: &str) -> bool {
        self.thread
            .as_ref()
            .and_then(|t| t.blocked_in.as_ref())
            .is_some_and(|s| s.name == name)
    }

    /// Whether the thread was runnable (state `R`) at each of three looks 10 ms apart
    /// (see [`Call::finish`]): spinning, whatever share of a busy machine's CPU it got. A
    /// blocked thread sleeps in state `S`.
    pub fn spinning(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| t.state == 'R')
    }
}

impl fmt::Display for Stuck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} did not return within {}",
            self.what,
            crate::cpu::seconds(self.after)
        )?;
        match &self.thread {
            Some(thread) => match (&thread.blocked_in, thread.state) {
                (Some(call), _) => write!(f, ": its thread is blocked in {}()", call.name),
                (None, 'R') => write!(
                    f,
                    ": its thread is running, not blocked (it used {} of CPU)",
                    crate::cpu::seconds(thread.cpu)
                ),
                (None, state) => write!(f, ": its thread is in state {state}"),
            },
            None => Ok(()),
        }
    }
}

/// Runs `work` on a thread of its own and returns what it returned, with the CPU time
/// that thread used; or, when it has not returned after `budget`, what the thread was
/// doing then ([`Stuck`]). `what` names the call for the message ("wait_readable on an
/// empty pipe"). A panic in `work` is passed on. A stuck thread cannot be killed: it is
/// left behind and ends with the test binary (close the descriptor it waits on to free
/// it earlier). [`Call`] does the same in two steps, for a test that has something to do
/// (wait for another thread's work) before the budget starts.
///
/// The budget is a watchdog, never a verdict: a correct call returns long before.
///
/// ```
/// use proctest::within;
/// use std::time::Duration;
///
/// let done = within(Duration::from_secs(10), "adding", || 2 + 2).unwrap();
/// assert_eq!(done.value, 4);
///
/// let (_keep, wait) = std::sync::mpsc::channel::<()>();
/// let stuck = within(Duration::from_millis(200), "a wait nobody ends", move || wait.recv())
///     .unwrap_err();
/// assert!(stuck.to_string().starts_with("a wait nobody ends did not return within 0.2"));
/// ```
///
/// # Errors
///
/// [`Stuck`] when `work` has not returned after `budget`.
///
/// # Panics
///
/// When `work` panics (with its own message).
pub fn within<T, F>(budget: Duration, what: &str, work: F) -> Result<Timed<T>, Stuck>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    Call::start(what, work).finish(budget)
}

/// A call of the student's code running on a thread of its own (see [`within`]).
#[derive(Debug)]
pub struct Call<T> {
    what: String,
    tid: i32,
    done: mpsc::Receiver<std::thread::Result<Timed<T>>>,
}

impl<T: Send + 'static> Call<T> {
    /// Starts `work` on a new thread; `what` names it for the messages.
    ///
    /// # Panics
    ///
    /// When no thread can be started.
    pub fn start<F>(what: &str, work: F) -> Self
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let (started_tx, started) = mpsc::channel();
        let (done_tx, done) = mpsc::channel();
        let _ = std::thread::Builder::new()
            .name("call-under-test".to_owned())
            .spawn(move || {
                // SAFETY: gettid takes no argument and cannot fail.
                let tid = unsafe { libc::gettid() };
                let _ = started_tx.send(tid);
                let cpu = crate::cpu::thread_cpu();
                let preempted = crate::cpu::thread_preempted();
                let wall = Instant::now();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
                let timed = result.map(|value| Timed {
                    value,
                    cpu: crate::cpu::thread_cpu().saturating_sub(cpu),
                    wall: wall.elapsed(),
                    preempted: crate::cpu::thread_preempted().saturating_sub(preempted),
                });
                let _ = done_tx.send(timed);
            })
            .expect("cannot start the thread for the call under test");
        let tid = started.recv().expect("the thread under test starts");
        Self {
            what: what.to_owned(),
            tid,
            done,
        }
    }

    /// The thread the call runs on (its kernel thread id, for `/proc/self/task/TID` or a
    /// signal aimed at it with `tgkill`).
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// Interrupts the call with a signal once its thread sleeps in a system call: see
    /// [`interrupt_thread`], which this calls with the call's thread.
    pub fn interrupt(&self, budget: Duration) -> Option<String> {
        interrupt_thread(self.tid, budget)
    }

    /// Waits at most `budget` from now for the call to return.
    ///
    /// # Errors
    ///
    /// [`Stuck`] when it has not returned by then.
    ///
    /// # Panics
    ///
    /// When the call panicked (with its own message).
    pub fn finish(self, budget: Duration) -> Result<Timed<T>, Stuck> {
        match self.done.recv_timeout(budget) {
            Ok(Ok(timed)) => Ok(timed),
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => {
                // Look three times: a thread that is runnable each time is spinning,
                // whatever share of the CPU a busy machine gives it; a blocked one sleeps.
                let mut thread = Process::thread_of_self(self.tid);
                for _ in 0..2 {
                    std::thread::sleep(Duration::from_millis(10));
                    let again = Process::thread_of_self(self.tid);
                    if let (Some(first), Some(now)) = (&mut thread, again) {
                        if now.state != 'R' {
                            *first = now;
                        }
                    }
                }
                Err(Stuck {
                    what: self.what,
                    after: budget,
                    thread: thread.map(Box::new),
                })
            }
        }
    }
}

/// Interrupts a system call of the thread `tid` (of this process) with a signal: waits (at
/// most `budget`) until the thread is asleep in one (not in a futex: a lock of the allocator
/// is not the call under test), sends it SIGUSR2, whose handler
/// (installed here without SA_RESTART, so the call fails with EINTR) only counts, and
/// waits until the handler has run. Returns the name of the call it interrupted, or
/// `None` when the thread never slept (it returned first) or the signal never came.
/// Nothing else in the test binary may use SIGUSR2.
pub fn interrupt_thread(tid: i32, budget: Duration) -> Option<String> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    use std::sync::atomic::{AtomicU64, Ordering};
    static DELIVERED: AtomicU64 = AtomicU64::new(0);
    extern "C" fn on_sigusr2(_: libc::c_int) {
        DELIVERED.fetch_add(1, Ordering::SeqCst);
    }
    let action = SigAction::new(
        SigHandler::Handler(on_sigusr2),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only adds to an atomic, which is async-signal-safe.
    unsafe { sigaction(Signal::SIGUSR2, &action) }.ok()?;
    let started = Instant::now();
    let asleep = || {
        Process::thread_of_self(tid).map(|t| {
            (t.state == 'S')
                .then(|| t.blocked_in.map(|call| call.name))
                .flatten()
                .filter(|name| name != "futex")
        })
    };
    let call = loop {
        match asleep() {
            Some(Some(call)) => break call,
            Some(None) if started.elapsed() < budget => std::thread::yield_now(),
            _ => return None,
        }
    };
    let before = DELIVERED.load(Ordering::SeqCst);
    // SAFETY: tgkill sends SIGUSR2 to one thread of this process, whose handler is set.
    unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR2) };
    while DELIVERED.load(Ordering::SeqCst) == before {
        if started.elapsed() >= budget {
            return None;
        }
        std::thread::yield_now();
    }
    Some(call)
}
