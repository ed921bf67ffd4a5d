//! One execution: the thread table, the object table, the trace, and the loop that
//! resumes one coroutine at a time as the strategy decides.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use corosensei::{CoroutineResult, Yielder};
use parking_lot::Mutex;

pub(crate) use crate::report::FailureKind;
use crate::scheduler::Scheduler;
use crate::site::Naming;
use crate::trace::{Event, Trace};

use super::thread::{self, Co};
pub(crate) use super::thread::{TState, ThreadRec, Tid, Wait, WaitKind};

/// A creation site and the kind it creates: (file, line, column, kind).
type SiteKey = (usize, u32, u32, &'static str);

/// Index of a simulated object in the object table.
pub(crate) type ObjId = usize;

pub(crate) struct ObjRec {
    pub(crate) name: String,
    pub(crate) kind: &'static str,
    /// Threads that hold the object (mutex holder, readers, monitor owner).
    pub(crate) holders: Vec<Tid>,
    /// FIFO of blocked threads, used by the primitives as they see fit.
    pub(crate) waiters: VecDeque<Tid>,
    /// A counter for the primitive (recursion depth, message count, writer flag...).
    pub(crate) count: usize,
}

/// An event as recorded: names are resolved only when a trace is rendered.
#[derive(Clone, Debug)]
pub(crate) struct RawEvent {
    step: u64,
    thread: Option<Tid>,
    obj: Option<ObjId>,
    op: Cow<'static, str>,
    outcome: Option<Cow<'static, str>>,
    api: bool,
}

/// A failure found in one execution.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub(crate) kind: FailureKind,
    pub(crate) message: String,
}

pub(crate) struct State {
    pub(crate) threads: Vec<ThreadRec>,
    pub(crate) objects: Vec<ObjRec>,
    pub(crate) events: Vec<RawEvent>,
    pub(crate) current: Option<Tid>,
    last: Option<Tid>,
    pub(crate) step: u64,
    /// A hash of the threads chosen so far: what a `select!` uses to pick among ready
    /// operations, so that the pick depends on the schedule and a replay repeats it.
    pub(crate) trail: u64,
    /// Virtual monotonic clock, in nanoseconds since the start of the execution.
    pub(crate) clock: u64,
    /// Offset of the simulated wall clock from the real one, in nanoseconds.
    pub(crate) wall_offset: i128,
    stamp: u64,
    pub(crate) failure: Option<Failure>,
    pub(crate) counters: std::collections::HashMap<&'static str, usize>,
    pub(crate) atomics: std::collections::HashMap<usize, ObjId>,
    /// How many objects each creation site made in this execution (see `crate::site`).
    sites: std::collections::HashMap<SiteKey, usize>,
    pub(crate) max_steps: u64,
    pub(crate) max_streak: u64,
    record: bool,
}

/// The part of an execution the watchdog may look at from another OS thread.
pub(crate) struct Shared {
    pub(crate) st: Mutex<State>,
    pub(crate) progress: AtomicU64,
    pub(crate) running: AtomicBool,
}

struct Local {
    cos: Vec<Option<Box<Co>>>,
    yielders: Vec<*const Yielder<(), ()>>,
    invariants: Vec<(String, Box<dyn Fn() -> bool>)>,
    scheduler: Option<Box<dyn Scheduler>>,
}

/// A simulation in progress. Lives on one OS thread; every coroutine runs on it.
pub(crate) struct Execution {
    pub(crate) shared: Arc<Shared>,
    local: RefCell<Local>,
    pub(crate) generation: u64,
}

/// How a call to [`Execution::run`] ended.
#[derive(Debug)]
pub(crate) enum RunEnd {
    /// Every thread finished.
    Done,
    /// Some threads are blocked and nothing can move.
    Stuck,
    /// A failure was detected.
    Failed,
}

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// Limits of one execution.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_steps: u64,
    pub(crate) max_streak: u64,
}

impl Execution {
    pub(crate) fn new(scheduler: Box<dyn Scheduler>, limits: Limits) -> Self {
        Execution {
            shared: Arc::new(Shared {
                st: Mutex::new(State {
                    threads: Vec::new(),
                    objects: Vec::new(),
                    events: Vec::new(),
                    current: None,
                    last: None,
                    step: 0,
                    trail: 0,
                    clock: 0,
                    wall_offset: 0,
                    stamp: 0,
                    failure: None,
                    counters: Default::default(),
                    atomics: Default::default(),
                    sites: Default::default(),
                    max_steps: limits.max_steps,
                    max_streak: limits.max_streak,
                    record: true,
                }),
                progress: AtomicU64::new(0),
                running: AtomicBool::new(true),
            }),
            local: RefCell::new(Local {
                cos: Vec::new(),
                yielders: Vec::new(),
                invariants: Vec::new(),
                scheduler: Some(scheduler),
            }),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Takes the scheduler back once the execution is over.
    pub(crate) fn take_scheduler(&self) -> Box<dyn Scheduler> {
        self.local
            .borrow_mut()
            .scheduler
            .take()
            .expect("scheduler present")
    }

    pub(crate) fn lock(&self) -> parking_lot::MutexGuard<'_, State> {
        self.shared.st.lock()
    }

    /// The managed thread running now, if the caller is one.
    pub(crate) fn me(&self) -> Option<Tid> {
        self.lock().current
    }

    /// Registers an object and returns its id. The default name is `Kind#n`, counted per
    /// kind in creation order.
    #[allow(dead_code)] // every facade object now names itself through `register_as`
    pub(crate) fn register(&self, kind: &'static str, name: Option<String>) -> ObjId {
        self.register_as(kind, name.map_or(Naming::Anonymous, Naming::Explicit))
    }

    /// Registers an object named as `naming` says: explicitly, or from its creation site
    /// (the k-th object of a site in this execution gets the site's k-th name), falling
    /// back to `Kind#n`.
    pub(crate) fn register_as(&self, kind: &'static str, naming: Naming) -> ObjId {
        // Reading the source happens before the state is locked (and is cached).
        let site = match &naming {
            Naming::Site(loc) => {
                crate::escape::check(loc.file());
                crate::site::site_name(loc, kind).map(|n| {
                    let key = (loc.file().as_ptr() as usize, loc.line(), loc.column(), kind);
                    (key, n)
                })
            }
            _ => None,
        };
        let mut st = self.lock();
        let n = st.counters.entry(kind).or_insert(0);
        *n += 1;
        let n = *n;
        let name = match (naming, site) {
            (Naming::Explicit(name), _) => name,
            (_, Some((key, site))) => {
                let k = st.sites.entry(key).or_insert(0);
                let name = site.nth(*k);
                *k += 1;
                name
            }
            _ => format!("{kind}#{n}"),
        };
        st.objects.push(ObjRec {
            name,
            kind,
            holders: Vec::new(),
            waiters: VecDeque::new(),
            count: 0,
        });
        st.objects.len() - 1
    }

    /// Records a trace event for the current thread.
    pub(crate) fn event(
        &self,
        obj: Option<ObjId>,
        op: impl Into<Cow<'static, str>>,
        outcome: Option<Cow<'static, str>>,
        api: bool,
    ) {
        let mut st = self.lock();
        st.push_event(obj, op.into(), outcome, api);
    }

    /// Adds a thread running `f`, ready to run. Returns its id.
    pub(crate) fn spawn(&self, name: Option<String>, f: Box<dyn FnOnce()>) -> Tid {
        let tid = {
            let mut st = self.lock();
            let tid = st.threads.len();
            let name = name.unwrap_or_else(|| {
                if tid == 0 {
                    "main".to_string()
                } else {
                    format!("T{tid}")
                }
            });
            st.stamp += 1;
            let stamp = st.stamp;
            st.threads.push(ThreadRec {
                name,
                state: TState::Ready,
                stamp,
                streak: 0,
                yielded: false,
                timed_out: false,
                select: Vec::new(),
                unparked: false,
            });
            tid
        };
        let co = thread::new_coroutine(move |y| {
            if let Some(exec) = super::current() {
                exec.local.borrow_mut().yielders[tid] = y as *const _;
            }
            f()
        });
        let mut local = self.local.borrow_mut();
        local.cos.push(Some(Box::new(co)));
        local.yielders.push(std::ptr::null());
        tid
    }

    /// Registers an invariant checked after every step.
    pub(crate) fn add_invariant(&self, name: String, check: Box<dyn Fn() -> bool>) {
        self.local.borrow_mut().invariants.push((name, check));
    }

    /// Gives control back to the scheduler. Must be called from a managed thread.
    fn suspend(&self, me: Tid) {
        let y = self.local.borrow().yielders[me];
        debug_assert!(!y.is_null());
        // SAFETY: `y` was stored by the coroutine of thread `me` when it started and points
        // into that coroutine's stack, which stays alive while the coroutine runs; we are
        // running inside that very coroutine (`me` is the current thread), so the yielder
        // is valid and this is the only place it is used.
        unsafe { (*y).suspend(()) };
    }

    /// A scheduling point: lets the strategy pick who runs next.
    pub(crate) fn point(&self) {
        let me = {
            let st = self.lock();
            match st.current {
                Some(me) => me,
                None => return,
            }
        };
        self.suspend(me);
    }

    /// Like [`Execution::point`], but the current thread goes to the back of the canonical
    /// order (and is deprioritised by PCT).
    pub(crate) fn yield_now(&self) {
        let me = {
            let mut st = self.lock();
            let Some(me) = st.current else { return };
            st.stamp += 1;
            let stamp = st.stamp;
            let t = &mut st.threads[me];
            t.yielded = true;
            t.stamp = stamp;
            me
        };
        if let Some(s) = self.local.borrow_mut().scheduler.as_mut() {
            s.on_yield(me);
        }
        self.suspend(me);
    }

    /// Blocks the current thread until [`Execution::wake`] or the deadline. Returns true if
    /// the deadline passed first.
    pub(crate) fn block(&self, wait: Wait, deadline: Option<u64>) -> bool {
        let me = {
            let mut st = self.lock();
            let Some(me) = st.current else {
                drop(st);
                escape_from_scheduler_context();
            };
            let t = &mut st.threads[me];
            t.state = TState::Blocked { wait, deadline };
            t.streak = 0;
            t.timed_out = false;
            me
        };
        self.suspend(me);
        let mut st = self.lock();
        std::mem::take(&mut st.threads[me].timed_out)
    }

    /// Makes a blocked thread ready again.
    pub(crate) fn wake(&self, tid: Tid) {
        self.lock().wake(tid);
    }

    /// Marks the execution failed; the run loop stops at the next scheduling point.
    pub(crate) fn fail(&self, kind: FailureKind, message: String) {
        let mut st = self.lock();
        if st.failure.is_none() {
            st.failure = Some(Failure { kind, message });
        }
    }

    /// Runs threads until all are finished, nothing can move, or a failure is found.
    pub(crate) fn run(&self) -> RunEnd {
        loop {
            if self.lock().failure.is_some() {
                return RunEnd::Failed;
            }
            self.check_invariants();
            let next = {
                let mut st = self.lock();
                if st.failure.is_some() {
                    return RunEnd::Failed;
                }
                let mut ready: Vec<Tid> = (0..st.threads.len())
                    .filter(|&t| matches!(st.threads[t].state, TState::Ready))
                    .collect();
                if ready.is_empty() {
                    if st.advance_clock() {
                        continue;
                    }
                    if st
                        .threads
                        .iter()
                        .all(|t| matches!(t.state, TState::Finished))
                    {
                        return RunEnd::Done;
                    }
                    return RunEnd::Stuck;
                }
                // Canonical order: the last thread first (unless it yielded), then by the
                // time each became ready, ties by creation order.
                ready.sort_by_key(|&t| {
                    let th = &st.threads[t];
                    let first = Some(t) == st.last && !th.yielded;
                    (!first, th.stamp, t)
                });
                let step = st.step;
                drop(st);
                let next = self
                    .local
                    .borrow_mut()
                    .scheduler
                    .as_mut()
                    .expect("scheduler present")
                    .choose(&ready, step);
                let mut st = self.lock();
                st.step += 1;
                if st.step > st.max_steps {
                    let msg = crate::report::budget_message(&st, None);
                    st.failure = Some(Failure {
                        kind: FailureKind::Budget,
                        message: msg,
                    });
                    return RunEnd::Failed;
                }
                let max_streak = st.max_streak;
                let th = &mut st.threads[next];
                th.yielded = false;
                th.streak += 1;
                if th.streak > max_streak {
                    let msg = crate::report::budget_message(&st, Some(next));
                    st.failure = Some(Failure {
                        kind: FailureKind::Budget,
                        message: msg,
                    });
                    return RunEnd::Failed;
                }
                st.current = Some(next);
                st.last = Some(next);
                st.trail = crate::scheduler::mix(st.trail ^ (next as u64 + 1));
                next
            };
            self.shared.progress.fetch_add(1, Ordering::Relaxed);
            let mut co = self.local.borrow_mut().cos[next]
                .take()
                .expect("a ready thread has a coroutine");
            let result = co.resume(());
            self.lock().current = None;
            match result {
                CoroutineResult::Yield(()) => self.local.borrow_mut().cos[next] = Some(co),
                CoroutineResult::Return(panic) => {
                    thread::recycle(*co);
                    let mut st = self.lock();
                    st.threads[next].state = TState::Finished;
                    st.current = Some(next);
                    match &panic {
                        None => st.push_event(None, Cow::Borrowed("finish"), None, false),
                        Some(msg) => {
                            let what = Cow::Owned(format!("panics: {msg}"));
                            st.push_event(None, what, None, true)
                        }
                    }
                    st.current = None;
                    for t in 0..st.threads.len() {
                        if let TState::Blocked { wait, .. } = st.threads[t].state
                            && wait.kind == WaitKind::Join
                            && wait.thread == Some(next)
                        {
                            st.wake(t);
                        }
                    }
                    if let Some(msg) = panic
                        && st.failure.is_none()
                    {
                        let name = st.threads[next].name.clone();
                        st.failure = Some(Failure {
                            kind: FailureKind::Panic,
                            message: format!("thread {name} panicked: {msg}"),
                        });
                    }
                }
            }
        }
    }

    fn check_invariants(&self) {
        let local = self.local.borrow();
        for (name, check) in &local.invariants {
            if !check() {
                let mut st = self.lock();
                let step = st.step;
                st.failure.get_or_insert(Failure {
                    kind: FailureKind::Invariant,
                    message: format!("invariant \"{name}\" does not hold after step {step}"),
                });
                return;
            }
        }
    }

    /// Explains why nothing can move (a deadlock or a lost wake-up).
    pub(crate) fn diagnose_stuck(&self) -> Failure {
        self.lock().diagnose_stuck()
    }

    /// The trace so far, with names resolved.
    pub(crate) fn trace(&self) -> Trace {
        let st = self.lock();
        Trace {
            threads: st.threads.iter().map(|t| t.name.clone()).collect(),
            events: st.events.iter().map(|e| st.resolve(e)).collect(),
        }
    }

    /// Ends the execution. Threads still suspended are leaked on purpose: unwinding them
    /// would run their destructors (guards) outside any schedule.
    pub(crate) fn finish(&self) {
        self.shared.running.store(false, Ordering::Relaxed);
        let mut local = self.local.borrow_mut();
        for co in local.cos.drain(..).flatten() {
            if co.started() && !co.done() {
                std::mem::forget(co);
            }
        }
        local.invariants.clear();
    }
}

impl State {
    pub(crate) fn push_event(
        &mut self,
        obj: Option<ObjId>,
        op: Cow<'static, str>,
        outcome: Option<Cow<'static, str>>,
        api: bool,
    ) {
        if !self.record {
            return;
        }
        self.events.push(RawEvent {
            step: self.step,
            thread: self.current,
            obj,
            op,
            outcome,
            api,
        });
    }

    /// The event with its names.
    pub(crate) fn resolve(&self, e: &RawEvent) -> Event {
        Event {
            step: e.step,
            thread: e
                .thread
                .map(|t| self.threads[t].name.clone())
                .unwrap_or_else(|| "-".to_string()),
            object: e.obj.map(|o| self.objects[o].name.clone()),
            op: e.op.to_string(),
            outcome: e.outcome.as_ref().map(|o| o.to_string()),
            api: e.api,
        }
    }

    pub(crate) fn wake(&mut self, tid: Tid) {
        if let TState::Blocked { .. } = self.threads[tid].state {
            self.stamp += 1;
            let stamp = self.stamp;
            let t = &mut self.threads[tid];
            t.state = TState::Ready;
            t.stamp = stamp;
        }
    }

    /// Jumps the virtual clock to the earliest deadline and wakes the threads whose
    /// deadline it is. Returns false if no thread has a deadline.
    fn advance_clock(&mut self) -> bool {
        let earliest = self
            .threads
            .iter()
            .filter_map(|t| match t.state {
                TState::Blocked { deadline, .. } => deadline,
                _ => None,
            })
            .min();
        let Some(at) = earliest else { return false };
        if at > self.clock {
            self.clock = at;
        }
        for t in 0..self.threads.len() {
            if let TState::Blocked {
                deadline: Some(d), ..
            } = self.threads[t].state
                && d <= self.clock
            {
                self.wake(t);
                self.threads[t].timed_out = true;
            }
        }
        let ms = self.clock as f64 / 1e6;
        self.push_event(
            None,
            Cow::Owned(format!("clock advances to {ms}ms")),
            None,
            false,
        );
        true
    }

    pub(crate) fn thread_name(&self, t: Tid) -> &str {
        &self.threads[t].name
    }

    pub(crate) fn describe_wait(&self, t: Tid) -> (String, Vec<Tid>) {
        let name = &self.threads[t].name;
        let TState::Blocked { wait, .. } = self.threads[t].state else {
            return (format!("{name} is not blocked"), vec![]);
        };
        let obj = wait.obj.map(|o| &self.objects[o]);
        let label = obj
            .map(|o| crate::report::object_label(o.kind, &o.name))
            .unwrap_or_default();
        match wait.kind {
            WaitKind::Acquire => {
                let holders: Vec<Tid> = obj.map(|o| o.holders.clone()).unwrap_or_default();
                let names: Vec<&str> = holders.iter().map(|&h| self.thread_name(h)).collect();
                let held = if names.is_empty() {
                    String::new()
                } else {
                    format!(" held by {}", names.join(" and "))
                };
                (format!("{name} waits for {label}{held}"), holders)
            }
            WaitKind::Notify => (format!("{name} waits on {label}"), vec![]),
            WaitKind::Send => (format!("{name} waits to send on {label}"), vec![]),
            WaitKind::Recv => {
                // Who still holds a sender of the channel, and could send (or drop it and
                // disconnect the channel): threads that have not finished.
                let mut holders: Vec<Tid> = obj.map(|o| o.holders.clone()).unwrap_or_default();
                holders.retain(|&h| !matches!(self.threads[h].state, TState::Finished));
                let text = crate::report::receive_wait(
                    name,
                    &label,
                    &holders
                        .iter()
                        .map(|&h| self.thread_name(h))
                        .collect::<Vec<_>>(),
                );
                (text, holders)
            }
            WaitKind::Join => {
                let j = wait.thread.expect("join names a thread");
                (
                    format!("{name} waits for thread {} to finish", self.thread_name(j)),
                    vec![j],
                )
            }
            WaitKind::Sleep => (format!("{name} sleeps"), vec![]),
            WaitKind::Select => {
                let ops = &self.threads[t].select;
                let parts: Vec<String> = ops
                    .iter()
                    .map(|&(kind, o)| {
                        let o = &self.objects[o];
                        let verb = if kind == WaitKind::Send {
                            "send on"
                        } else {
                            "receive on"
                        };
                        format!("{verb} {} {}", o.kind, o.name)
                    })
                    .collect();
                // Who could still send on one of its channels: the threads that hold a
                // Sender and have not finished.
                let mut holders: Vec<Tid> = Vec::new();
                for &(kind, o) in ops {
                    if kind == WaitKind::Recv {
                        for &h in &self.objects[o].holders {
                            let alive = !matches!(self.threads[h].state, TState::Finished);
                            if alive && !holders.contains(&h) {
                                holders.push(h);
                            }
                        }
                    }
                }
                let names: Vec<&str> = holders.iter().map(|&h| self.thread_name(h)).collect();
                let held = match names.as_slice() {
                    [] => String::new(),
                    [one] => format!(", whose Senders are still held by {one}"),
                    more => format!(", whose Senders are still held by {}", more.join(" and ")),
                };
                (
                    format!("{name} waits in select! to {}{held}", parts.join(" or to ")),
                    holders,
                )
            }
            WaitKind::Permit => {
                let last = obj
                    .and_then(|o| o.holders.last())
                    .map(|&h| format!("; last taken by {}", self.thread_name(h)))
                    .unwrap_or_default();
                (
                    format!("{name} waits on {label} (no permit left{last})"),
                    vec![],
                )
            }
            WaitKind::Park => (format!("{name} is parked (thread::park)"), vec![]),
        }
    }

    fn diagnose_stuck(&self) -> Failure {
        let blocked: Vec<Tid> = (0..self.threads.len())
            .filter(|&t| matches!(self.threads[t].state, TState::Blocked { .. }))
            .collect();
        // Look for a cycle in the wait-for graph, following the first holder.
        for &start in &blocked {
            let mut path = vec![start];
            let mut cur = start;
            loop {
                let (_, holders) = self.describe_wait(cur);
                let Some(&next) = holders
                    .iter()
                    .find(|&&h| matches!(self.threads[h].state, TState::Blocked { .. }))
                else {
                    break;
                };
                if let Some(pos) = path.iter().position(|&p| p == next) {
                    let cycle = &path[pos..];
                    if let [only] = cycle
                        && let TState::Blocked { wait, .. } = self.threads[*only].state
                        && wait.kind == WaitKind::Recv
                    {
                        // A cycle of one on a channel: the thread receives on a channel
                        // whose sender it holds itself.
                        let name = self.thread_name(*only);
                        return Failure {
                            kind: FailureKind::Deadlock,
                            message: format!(
                                "{}: {name} waits for a message that only {name} could send; \
                                 the channel never disconnects while {name} holds a Sender",
                                self.describe_wait(*only).0
                            ),
                        };
                    }
                    if let [only] = cycle {
                        // A cycle of one: the thread waits for a lock it holds itself
                        // (a non-reentrant lock taken twice).
                        let name = self.thread_name(*only);
                        let (text, _) = self.describe_wait(*only);
                        let what = text
                            .strip_prefix(&format!("{name} waits for "))
                            .and_then(|rest| rest.strip_suffix(&format!(" held by {name}")))
                            .unwrap_or(&text);
                        return Failure {
                            kind: FailureKind::Deadlock,
                            message: format!(
                                "{name} waits for {what}, which {name} already holds: a self-deadlock (the lock is not reentrant)"
                            ),
                        };
                    }
                    let parts: Vec<String> =
                        cycle.iter().map(|&t| self.describe_wait(t).0).collect();
                    return Failure {
                        kind: FailureKind::Deadlock,
                        message: format!("{}: a cycle", parts.join("; ")),
                    };
                }
                path.push(next);
                cur = next;
            }
        }
        let all: Vec<String> = blocked.iter().map(|&t| self.describe_wait(t).0).collect();
        let notify: Vec<Tid> = blocked
            .iter()
            .copied()
            .filter(|&t| {
                matches!(self.threads[t].state, TState::Blocked { wait, .. } if matches!(wait.kind, WaitKind::Notify | WaitKind::Park))
            })
            .collect();
        if let Some(&t) = notify.first() {
            let others: Vec<String> = blocked
                .iter()
                .filter(|&&o| o != t)
                .map(|&o| self.describe_wait(o).0)
                .collect();
            let tail = if others.is_empty() {
                "; no thread that could notify it is left".to_string()
            } else {
                format!(
                    "; no thread that could notify it is left (also blocked: {})",
                    others.join("; ")
                )
            };
            return Failure {
                kind: FailureKind::LostWakeup,
                message: format!("{}{tail}", self.describe_wait(t).0),
            };
        }
        Failure {
            kind: FailureKind::Deadlock,
            message: format!("{}; nothing else can move", all.join("; ")),
        }
    }
}

/// A blocking operation was called from scheduler context (an invariant closure, a
/// scenario's state closure): it cannot wait for anything.
fn escape_from_scheduler_context() -> ! {
    panic!(
        "interleave: a blocking operation was called outside a managed thread (in an invariant \
         or state closure?); read test-side state with explore::Observed instead"
    )
}
