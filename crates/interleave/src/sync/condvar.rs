use std::borrow::Cow;
use std::panic::Location;
use std::time::Duration;

use super::mutex::{self, GuardImp, MutexGuard};
use super::{SimRef, me};
use crate::runtime::text::Text;
use crate::runtime::{self, Execution, Wait, WaitKind};
use crate::site::Naming;

enum Imp {
    Real(parking_lot::Condvar),
    Sim(SimRef),
}

/// A condition variable with parking_lot's API: `wait(&mut guard)`, `notify_one`,
/// `notify_all`, `wait_while`, `wait_for`.
///
/// In a simulation, waiters are woken in FIFO order; there are no spurious wake-ups, but
/// a woken thread must re-acquire the mutex and can be overtaken (Mesa semantics), so
/// conditions must be re-checked in a `while` loop (or with [`Condvar::wait_while`]).
/// An exploration with [`crate::explore::CondvarSemantics::Std`] allows what std's
/// `Condvar` does: `notify_one` wakes any waiter, and a wait may return spuriously.
/// Timeouts use the virtual clock.
///
/// # Examples
///
/// ```
/// use interleave::sync::{Arc, Condvar, Mutex};
/// use interleave::thread;
///
/// let pair = Arc::new((Mutex::new(false), Condvar::new()));
/// let p = pair.clone();
/// let t = thread::spawn(move || {
///     *p.0.lock() = true;
///     p.1.notify_one();
/// });
/// let mut ready = pair.0.lock();
/// while !*ready {
///     pair.1.wait(&mut ready);
/// }
/// drop(ready);
/// t.join().unwrap();
/// ```
pub struct Condvar {
    imp: Imp,
}

/// Whether a timed wait ended by timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// True if the wait ended because the timeout elapsed.
    pub fn timed_out(self) -> bool {
        self.0
    }
}

impl Default for Condvar {
    #[track_caller]
    fn default() -> Self {
        Condvar::new()
    }
}

impl std::fmt::Debug for Condvar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Condvar { .. }")
    }
}

impl Condvar {
    /// Creates a condition variable. In a simulation it is named in traces after what
    /// the creating line binds it to (`not_full: Condvar::new()` is `not_full`).
    #[track_caller]
    pub fn new() -> Self {
        Self::build(Naming::Site(Location::caller()))
    }

    /// Creates a condition variable with an explicit name for traces and reports
    /// (`busy`): an override for tests. Student code uses [`Condvar::new`].
    pub fn named(name: impl Into<String>) -> Self {
        Self::build(Naming::Explicit(name.into()))
    }

    fn build(naming: Naming) -> Self {
        let imp = match runtime::current() {
            None => Imp::Real(parking_lot::Condvar::new()),
            Some(e) => Imp::Sim(SimRef::new(e, "Condvar", naming)),
        };
        Condvar { imp }
    }

    /// Atomically unlocks the guard's mutex and blocks until notified, then re-locks.
    pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
        self.wait_deadline(guard, None);
    }

    /// Waits until notified or until `timeout` has elapsed (virtual time in a simulation).
    pub fn wait_for<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Duration,
    ) -> WaitTimeoutResult {
        self.wait_deadline(guard, Some(timeout))
    }

    /// Waits while `condition` returns true (re-checked after every wake-up).
    pub fn wait_while<T, F>(&self, guard: &mut MutexGuard<'_, T>, mut condition: F)
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut **guard) {
            self.wait(guard);
        }
    }

    /// Like [`Condvar::wait_while`] with a timeout for the whole wait.
    pub fn wait_while_for<T, F>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        mut condition: F,
        timeout: Duration,
    ) -> WaitTimeoutResult
    where
        F: FnMut(&mut T) -> bool,
    {
        let end = crate::time::Instant::now() + timeout;
        while condition(&mut **guard) {
            let now = crate::time::Instant::now();
            if now >= end {
                return WaitTimeoutResult(true);
            }
            self.wait_for(guard, end - now);
        }
        WaitTimeoutResult(false)
    }

    /// Waits until notified or until `deadline` (virtual time in a simulation).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use interleave::sync::{Condvar, Mutex};
    /// use interleave::time::Instant;
    ///
    /// let (m, cv) = (Mutex::new(()), Condvar::new());
    /// let mut g = m.lock();
    /// let r = cv.wait_until(&mut g, Instant::now() + Duration::from_millis(1));
    /// assert!(r.timed_out()); // nobody notifies
    /// ```
    pub fn wait_until<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        deadline: crate::time::Instant,
    ) -> WaitTimeoutResult {
        match (&self.imp, &mut guard.imp) {
            (Imp::Real(cv), GuardImp::Real(g)) if !runtime::active() => {
                WaitTimeoutResult(cv.wait_until(g, deadline.to_std()).timed_out())
            }
            _ => {
                let left = deadline.duration_since(crate::time::Instant::now());
                self.wait_for(guard, left)
            }
        }
    }

    /// Like [`Condvar::wait_while`], giving up at `deadline`.
    pub fn wait_while_until<T, F>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        mut condition: F,
        deadline: crate::time::Instant,
    ) -> WaitTimeoutResult
    where
        F: FnMut(&mut T) -> bool,
    {
        while condition(&mut **guard) {
            if crate::time::Instant::now() >= deadline {
                return WaitTimeoutResult(true);
            }
            self.wait_until(guard, deadline);
        }
        WaitTimeoutResult(false)
    }

    fn wait_deadline<T>(
        &self,
        guard: &mut MutexGuard<'_, T>,
        timeout: Option<Duration>,
    ) -> WaitTimeoutResult {
        match (&self.imp, &mut guard.imp) {
            (Imp::Real(cv), GuardImp::Real(g)) => match timeout {
                _ if runtime::active() => {
                    runtime::real_block_in_simulation("Condvar");
                    unreachable!("a real Condvar cannot wait inside a simulation")
                }
                None => {
                    cv.wait(g);
                    WaitTimeoutResult(false)
                }
                Some(t) => WaitTimeoutResult(cv.wait_for(g, t).timed_out()),
            },
            (Imp::Sim(s), GuardImp::Sim(m)) => {
                let e = s.exec("Condvar");
                let ms = m.sim_ref().expect("simulated guard of a simulated mutex");
                WaitTimeoutResult(sim_wait(e, s, ms, timeout))
            }
            _ => panic!(
                "interleave: a Condvar and a Mutex from different worlds (one created inside a \
                 simulation, the other outside) are used together"
            ),
        }
    }

    /// Wakes the longest-waiting thread, if any. Returns true if one was woken.
    pub fn notify_one(&self) -> bool {
        match &self.imp {
            Imp::Real(cv) => cv.notify_one(),
            Imp::Sim(s) => sim_notify(s.exec("Condvar"), s, false) > 0,
        }
    }

    /// Wakes every waiting thread. Returns how many were woken.
    pub fn notify_all(&self) -> usize {
        match &self.imp {
            Imp::Real(cv) => cv.notify_all(),
            Imp::Sim(s) => sim_notify(s.exec("Condvar"), s, true),
        }
    }
}

/// How a trace shows a spurious wake-up.
const SPURIOUS: &str = "spurious wake-up (std allows them: re-check the condition in a loop)";

fn sim_wait(e: &Execution, s: &SimRef, m: &SimRef, timeout: Option<Duration>) -> bool {
    e.point();
    let who = me(e, "Condvar::wait");
    if e.spurious_wakeup() {
        // std's contract: the wait may return without a notification.
        e.lock()
            .push_event(Some(s.id), "wait".into(), Some(SPURIOUS.into()), false);
        mutex::release(e, m, false);
        e.point();
        mutex::acquire(e, m, "relock");
        return false;
    }
    let deadline = {
        let mut st = e.lock();
        st.objects[s.id].waiters.push_back(who);
        let outcome = timeout.map(|t| Cow::Owned(format!("timeout {t:?}")));
        st.push_event(Some(s.id), "wait".into(), outcome, false);
        timeout.map(|t| st.clock.saturating_add(t.as_nanos() as u64))
    };
    mutex::release(e, m, false);
    let timed_out = e.block(Wait::on(WaitKind::Notify, s.id), deadline);
    if timed_out {
        let mut st = e.lock();
        st.objects[s.id].waiters.retain(|&w| w != who);
        st.push_event(Some(s.id), "wait".into(), Some("timed out".into()), false);
    } else if e.woke_spuriously() {
        let mut st = e.lock();
        st.objects[s.id].waiters.retain(|&w| w != who);
        st.push_event(Some(s.id), "wait".into(), Some(SPURIOUS.into()), false);
    }
    mutex::acquire(e, m, "relock");
    timed_out
}

fn sim_notify(e: &Execution, s: &SimRef, all: bool) -> usize {
    e.point();
    let mut st = e.lock();
    if !all {
        // One waiter: the longest waiting, or under std's contract any of them.
        let first = st.objects[s.id].waiters.front().copied();
        let woken = e.next_waiter(&mut st.objects[s.id].waiters);
        let outcome = match woken {
            None => Text::Static("no waiter"),
            Some(w) if Some(w) == first => Text::Thread("wakes", w),
            Some(w) => Text::Thread2("wakes", w, "(std lets notify_one wake any waiter)"),
        };
        if let Some(w) = woken {
            st.wake(w);
        }
        st.push(Some(s.id), Text::Static("notify_one"), Some(outcome), false);
        return usize::from(woken.is_some());
    }
    let mut woken = Vec::new();
    while let Some(w) = st.objects[s.id].waiters.pop_front() {
        st.wake(w);
        woken.push(w);
    }
    let names: Vec<String> = woken
        .iter()
        .map(|&w| st.thread_name(w).to_string())
        .collect();
    let outcome = if names.is_empty() {
        "no waiter".to_string()
    } else {
        format!("wakes {}", names.join(", "))
    };
    st.push_event(Some(s.id), "notify_all".into(), Some(outcome.into()), false);
    woken.len()
}
