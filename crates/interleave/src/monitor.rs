//! The textbook monitor: [`Monitor<S>`] protects a state `S`, [`Condition`]s are its
//! queues, with Hoare or Mesa signal semantics.
//!
//! - [`Semantics::Hoare`]: `signal` hands the monitor to the woken thread at once; the
//!   signaller waits on the *urgent* queue, which has priority over new entries. The
//!   woken thread finds the state exactly as the signaller left it, so `if` suffices.
//! - [`Semantics::Mesa`]: `signal` only moves the woken thread to the entry queue; it
//!   re-enters later, after others may have changed the state, so it must re-check its
//!   condition in a `while` loop.
//!
//! In an exploration with [`crate::explore::CondvarSemantics::Std`], a Mesa condition
//! keeps only what Mesa promises: `signal` wakes any one waiter (the strategy chooses),
//! and `wait` may return without a signal. Hoare semantics are unaffected.
//!
//! Entry is FIFO. Both semantics work in real mode (on parking_lot primitives, with
//! explicit hand-off tickets) and in a simulation, where `enter`, `wait` and `signal` are
//! scheduling points and topic-level events of the trace.
//!
//! `wait` and `signal` take the guard by `&mut`: under Hoare semantics another thread
//! runs inside the monitor during `signal`, so no reference into the state may be held
//! across it, and the borrow checker enforces that.
//!
//! # Examples
//!
//! ```
//! use interleave::monitor::{Condition, Monitor, Semantics};
//!
//! let m = Monitor::new(0u32, Semantics::Hoare);
//! let nonzero = Condition::new();
//! let mut g = m.enter();
//! *g += 1;
//! nonzero.signal(&mut g); // nobody waits: no effect
//! assert!(!nonzero.queue());
//! ```

use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::panic::Location;

use crate::runtime::execution::Tid;
use crate::runtime::{self, Execution, Wait, WaitKind};
use crate::site::Naming;
use crate::sync::{SimRef, me};

/// Which thread runs after a `signal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Semantics {
    /// The woken thread runs at once; the signaller waits (urgent queue).
    Hoare,
    /// The signaller continues; the woken thread re-enters later.
    Mesa,
}

/// A ticket: one request to own the monitor (`Tid` is meaningful in a simulation only).
type Ticket = (u64, Tid);

#[derive(Debug, Default)]
struct Ctl {
    owner: Option<u64>,
    entry: VecDeque<Ticket>,
    urgent: Vec<Ticket>,
    next: u64,
}

impl Ctl {
    fn ticket(&mut self, tid: Tid) -> Ticket {
        self.next += 1;
        (self.next, tid)
    }
}

/// A monitor protecting a state of type `S`.
pub struct Monitor<S> {
    semantics: Semantics,
    data: UnsafeCell<S>,
    ctl: parking_lot::Mutex<Ctl>,
    cv: parking_lot::Condvar,
    sim: Option<SimRef>,
}

// SAFETY: the state is only reached through a `MonitorGuard`, and the ticket protocol
// (under `ctl`'s lock) gives the monitor to one ticket at a time, so accesses to `S`
// from different threads are serialised and ordered by that lock; S: Send suffices,
// as for a mutex.
unsafe impl<S: Send> Sync for Monitor<S> {}
// SAFETY: moving the monitor moves the state: S: Send.
unsafe impl<S: Send> Send for Monitor<S> {}

impl<S> std::fmt::Debug for Monitor<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Monitor({:?})", self.semantics)
    }
}

impl<S> Monitor<S> {
    /// Creates a monitor around `state`. In a simulation it is named in traces after
    /// what the creating line binds it to (`inside: Monitor::new(..)` is `inside`).
    #[track_caller]
    pub fn new(state: S, semantics: Semantics) -> Self {
        Self::build(state, semantics, Naming::Site(Location::caller()))
    }

    /// Creates a monitor with an explicit name for traces: an override for tests.
    pub fn named(name: impl Into<String>, state: S, semantics: Semantics) -> Self {
        Self::build(state, semantics, Naming::Explicit(name.into()))
    }

    fn build(state: S, semantics: Semantics, naming: Naming) -> Self {
        Monitor {
            semantics,
            data: UnsafeCell::new(state),
            ctl: parking_lot::Mutex::new(Ctl::default()),
            cv: parking_lot::Condvar::new(),
            sim: runtime::current().map(|e| SimRef::new(e, "Monitor", naming)),
        }
    }

    /// The semantics chosen at creation.
    pub fn semantics(&self) -> Semantics {
        self.semantics
    }

    fn exec(&self) -> Option<&'static Execution> {
        self.sim.as_ref().map(|s| s.exec("Monitor"))
    }

    fn event(&self, op: String, outcome: Option<String>) {
        self.event_on(self.sim.as_ref().map(|s| s.id), op, outcome);
    }

    /// Records a topic-level event on object `obj` (the monitor or one of its conditions).
    fn event_on(&self, obj: Option<crate::runtime::ObjId>, op: String, outcome: Option<String>) {
        if let Some(e) = self.exec()
            && e.me().is_some()
        {
            e.event(obj, op, outcome.map(Into::into), true);
        }
    }

    /// Enters the monitor, blocking while another thread is inside (FIFO entry).
    pub fn enter(&self) -> MonitorGuard<'_, S> {
        let tid = match self.exec() {
            Some(e) => {
                e.point();
                me(e, "Monitor::enter")
            }
            None => 0,
        };
        let mut ctl = self.ctl.lock();
        let t = ctl.ticket(tid);
        if ctl.owner.is_none() && ctl.urgent.is_empty() && ctl.entry.is_empty() {
            self.grant(&mut ctl, t);
            drop(ctl);
            self.event("enter".into(), None);
        } else {
            ctl.entry.push_back(t);
            drop(ctl);
            self.event("enter".into(), Some("waits".into()));
            self.await_grant(t, None);
            self.event("enter".into(), Some("in".into()));
        }
        MonitorGuard { monitor: self }
    }

    /// Gives the monitor to ticket `t`.
    fn grant(&self, ctl: &mut Ctl, t: Ticket) {
        ctl.owner = Some(t.0);
        match self.exec() {
            None => {
                self.cv.notify_all();
            }
            Some(e) => {
                let s = self.sim.as_ref().expect("simulated");
                let mut st = e.lock();
                st.objects[s.id].holders = vec![t.1];
                st.wake(t.1);
            }
        }
    }

    /// Passes the monitor on: urgent queue first, then entry, else free.
    fn release(&self, ctl: &mut Ctl) {
        if let Some(t) = ctl.urgent.pop().or_else(|| ctl.entry.pop_front()) {
            self.grant(ctl, t);
        } else {
            ctl.owner = None;
            if let (Some(e), Some(s)) = (self.exec(), &self.sim) {
                e.lock().objects[s.id].holders.clear();
            }
        }
    }

    /// Whether a Mesa wait returns spuriously (std's condvar contract only).
    fn spurious_wakeup(&self) -> bool {
        self.semantics == Semantics::Mesa && self.exec().is_some_and(|e| e.spurious_wakeup())
    }

    /// Queues ticket `t` to enter again (as a signalled waiter does) and waits for it.
    fn reenter(&self, t: Ticket) {
        let mut ctl = self.ctl.lock();
        if ctl.owner.is_none() && ctl.urgent.is_empty() && ctl.entry.is_empty() {
            self.grant(&mut ctl, t);
        } else {
            ctl.entry.push_back(t);
        }
        drop(ctl);
        self.await_grant(t, None);
    }

    /// Blocks until ticket `t` owns the monitor. While `t` is in `cond`'s queue the thread
    /// waits on the condition, otherwise for the monitor.
    fn await_grant(&self, t: Ticket, cond: Option<&Condition>) {
        match self.exec() {
            None => {
                let mut ctl = self.ctl.lock();
                while ctl.owner != Some(t.0) {
                    self.cv.wait(&mut ctl);
                }
            }
            Some(e) => loop {
                if self.ctl.lock().owner == Some(t.0) {
                    return;
                }
                let on_cond = cond.and_then(|c| {
                    let queued = c.queue.lock().iter().any(|q| q.0 == t.0);
                    queued.then(|| c.sim.as_ref().expect("simulated condition").id)
                });
                let wait = match on_cond {
                    Some(id) => Wait::on(WaitKind::Notify, id),
                    None => Wait::on(WaitKind::Acquire, self.sim.as_ref().expect("simulated").id),
                };
                e.block(wait, None);
            },
        }
    }
}

/// Proof of being inside a [`Monitor`]; derefs to the state; leaving the monitor when
/// dropped.
#[must_use = "dropping the guard leaves the monitor at once"]
pub struct MonitorGuard<'a, S> {
    monitor: &'a Monitor<S>,
}

impl<S> Deref for MonitorGuard<'_, S> {
    type Target = S;
    fn deref(&self) -> &S {
        // SAFETY: a guard exists only while its thread owns the monitor (ticket
        // protocol), so no other thread accesses the state now.
        unsafe { &*self.monitor.data.get() }
    }
}

impl<S> DerefMut for MonitorGuard<'_, S> {
    fn deref_mut(&mut self) -> &mut S {
        // SAFETY: as in `deref`; `&mut self` makes this the only reference handed out.
        unsafe { &mut *self.monitor.data.get() }
    }
}

impl<S> Drop for MonitorGuard<'_, S> {
    fn drop(&mut self) {
        let m = self.monitor;
        if m.sim.is_some() && runtime::current().is_none() {
            return;
        }
        if let Some(e) = m.exec() {
            e.release_point();
        }
        m.event("exit".into(), None);
        let mut ctl = m.ctl.lock();
        m.release(&mut ctl);
    }
}

impl<S> std::fmt::Debug for MonitorGuard<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MonitorGuard { .. }")
    }
}

/// A condition (queue) of a monitor: `wait`, `signal`, `broadcast`, `queue`.
pub struct Condition {
    queue: parking_lot::Mutex<VecDeque<Ticket>>,
    sim: Option<SimRef>,
    name: String,
}

impl std::fmt::Debug for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Condition({})", self.name)
    }
}

impl Default for Condition {
    #[track_caller]
    fn default() -> Self {
        Condition::new()
    }
}

impl Condition {
    /// Creates a condition. In a simulation it is named in traces after what the
    /// creating line binds it to (`busy: Condition::new()` is `busy`).
    #[track_caller]
    pub fn new() -> Self {
        Self::build(Naming::Site(Location::caller()))
    }

    /// Creates a condition with an explicit name (`Condition::named("busy")`): an
    /// override for tests.
    pub fn named(name: impl Into<String>) -> Self {
        Self::build(Naming::Explicit(name.into()))
    }

    fn build(naming: Naming) -> Self {
        let explicit = match &naming {
            Naming::Explicit(n) => Some(n.clone()),
            _ => None,
        };
        let sim = runtime::current().map(|e| SimRef::new(e, "Condition", naming));
        let name = match (&sim, explicit) {
            (_, Some(n)) => n,
            (Some(s), None) => {
                let e = s.exec("Condition");
                e.lock().objects[s.id].name.clone()
            }
            (None, None) => "Condition".to_string(),
        };
        Condition {
            queue: parking_lot::Mutex::new(VecDeque::new()),
            sim,
            name,
        }
    }

    /// Leaves the monitor and blocks until signalled; returns inside the monitor again.
    /// Under Hoare semantics the signaller's state is seen unchanged; under Mesa it must
    /// be re-checked.
    pub fn wait<S>(&self, guard: &mut MonitorGuard<'_, S>) {
        let m = guard.monitor;
        let tid = match m.exec() {
            Some(e) => {
                e.point();
                me(e, "Condition::wait")
            }
            None => 0,
        };
        m.event_on(self.id(), "wait".into(), None);
        let mut ctl = m.ctl.lock();
        let t = ctl.ticket(tid);
        if m.spurious_wakeup() {
            // Mesa semantics under std's condvar contract: the wait may end without a
            // signal; the thread leaves, then queues to re-enter as if signalled.
            m.release(&mut ctl);
            drop(ctl);
            m.event_on(
                self.id(),
                "wait".into(),
                Some(
                    "spurious wake-up (Mesa allows them: re-check the condition in a loop)".into(),
                ),
            );
            if let Some(e) = m.exec() {
                e.point();
            }
            m.reenter(t);
        } else {
            self.queue.lock().push_back(t);
            m.release(&mut ctl);
            drop(ctl);
            m.await_grant(t, Some(self));
        }
        m.event_on(self.id(), "back from wait".into(), None);
    }

    /// Wakes the longest waiter, if any (see [`Semantics`] for who runs next). Returns
    /// true if a thread was woken.
    pub fn signal<S>(&self, guard: &mut MonitorGuard<'_, S>) -> bool {
        let m = guard.monitor;
        let tid = match m.exec() {
            Some(e) => {
                e.point();
                me(e, "Condition::signal")
            }
            None => 0,
        };
        self.signal_one(m, tid)
    }

    fn signal_one<S>(&self, m: &Monitor<S>, tid: Tid) -> bool {
        let mut ctl = m.ctl.lock();
        let Some(w) = self.next_waiter(m) else {
            drop(ctl);
            m.event_on(self.id(), "signal".into(), Some("no waiter".into()));
            return false;
        };
        let woken = self.thread_name(m, w.1);
        match m.semantics {
            Semantics::Hoare => {
                let s = ctl.ticket(tid);
                ctl.urgent.push(s);
                drop(ctl);
                m.event_on(
                    self.id(),
                    "signal".into(),
                    Some(format!("hands the monitor to {woken}")),
                );
                let mut ctl = m.ctl.lock();
                m.grant(&mut ctl, w);
                drop(ctl);
                m.await_grant(s, None);
                m.event_on(self.id(), "back from signal".into(), None);
            }
            Semantics::Mesa => {
                ctl.entry.push_back(w);
                drop(ctl);
                if let Some(e) = m.exec() {
                    e.wake(w.1);
                }
                m.event_on(
                    self.id(),
                    "signal".into(),
                    Some(format!("{woken} will re-enter")),
                );
            }
        }
        true
    }

    /// The waiter a signal wakes: the longest waiting, or under Mesa semantics and std's
    /// condvar contract any of them, as the strategy decides.
    fn next_waiter<S>(&self, m: &Monitor<S>) -> Option<Ticket> {
        let mut q = self.queue.lock();
        match m.exec() {
            Some(e) if m.semantics == Semantics::Mesa && e.condvar_std() && q.len() > 1 => {
                let tids: Vec<Tid> = q.iter().map(|t| t.1).collect();
                let i = e.pick(crate::runtime::Pick::Notify, &tids);
                q.remove(i)
            }
            _ => q.pop_front(),
        }
    }

    fn id(&self) -> Option<crate::runtime::ObjId> {
        self.sim.as_ref().map(|s| s.id)
    }

    fn thread_name<S>(&self, m: &Monitor<S>, t: Tid) -> String {
        match m.exec() {
            Some(e) => e.lock().thread_name(t).to_string(),
            None => "a waiter".to_string(),
        }
    }

    /// Wakes every waiter (under Hoare semantics, one after the other, each running before
    /// the signaller continues). Returns how many were woken.
    pub fn broadcast<S>(&self, guard: &mut MonitorGuard<'_, S>) -> usize {
        let m = guard.monitor;
        let tid = match m.exec() {
            Some(e) => {
                e.point();
                me(e, "Condition::broadcast")
            }
            None => 0,
        };
        let n = self.queue.lock().len();
        let mut woken = 0;
        for _ in 0..n {
            if self.signal_one(m, tid) {
                woken += 1;
            }
        }
        woken
    }

    /// True if threads wait on this condition (the notes' `queue(c)`).
    pub fn queue(&self) -> bool {
        !self.queue.lock().is_empty()
    }

    /// How many threads wait on this condition.
    pub fn waiters(&self) -> usize {
        self.queue.lock().len()
    }
}
