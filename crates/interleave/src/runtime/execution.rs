//! One execution: the thread table, the object table, the trace, and the loop that
//! resumes one coroutine at a time as the strategy decides.
//!
//! The hot path (one step: pick a thread, resume it, record what it did) allocates
//! nothing: the ready threads are kept in canonical order as they change state rather
//! than collected and sorted every step, trace events store numbers and static words
//! (rendered only when a trace is shown), and the tables' buffers are reused from one
//! execution to the next.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use corosensei::{CoroutineResult, Yielder};
use parking_lot::Mutex;

pub(crate) use crate::report::FailureKind;
use crate::scheduler::{Decision, Scheduler};
use crate::site::Naming;
use crate::trace::{Event, Trace};

use super::text::Text;
use super::thread::{self, Co};
pub(crate) use super::thread::{TState, ThreadRec, Tid, Wait, WaitKind};

/// Index of a simulated object in the object table.
pub(crate) type ObjId = usize;

/// A creation site and the kind it creates: (file, line, column, kind).
type SiteKey = (usize, u32, u32, &'static str);

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
    op: Text,
    outcome: Option<Text>,
    api: bool,
}

/// A failure found in one execution.
#[derive(Clone, Debug)]
pub(crate) struct Failure {
    pub(crate) kind: FailureKind,
    pub(crate) message: String,
}

/// How many spurious wake-ups one thread may get in one execution under std's condvar
/// contract: enough to break a `wait` without a loop, few enough that a correct loop
/// ends.
const SPURIOUS_PER_THREAD: u8 = 2;

pub(crate) struct State {
    pub(crate) threads: Vec<ThreadRec>,
    pub(crate) objects: Vec<ObjRec>,
    pub(crate) events: Vec<RawEvent>,
    pub(crate) current: Option<Tid>,
    last: Option<Tid>,
    pub(crate) step: u64,
    /// Steps at which more than one thread was ready (PCT's k counts these).
    pub(crate) decisions: u64,
    /// A hash of the threads chosen so far: what a `select!` uses to pick among ready
    /// operations, so that the pick depends on the schedule and a replay repeats it.
    pub(crate) trail: u64,
    /// The ready threads, by the time each became ready (stamps only grow, so a thread
    /// that becomes ready is appended).
    ready: Vec<Tid>,
    /// The ready threads in canonical order, rebuilt in place for each decision.
    order: Vec<Tid>,
    /// Virtual monotonic clock, in nanoseconds since the start of the execution.
    pub(crate) clock: u64,
    /// Offset of the simulated wall clock from the real one, in nanoseconds.
    pub(crate) wall_offset: i128,
    stamp: u64,
    pub(crate) failure: Option<Failure>,
    pub(crate) counters: std::collections::HashMap<&'static str, usize>,
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

/// How an execution models what the program may observe.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Modes {
    /// std's condvar contract: `notify_one` wakes any waiter, a wait may return
    /// spuriously (both chosen by the strategy).
    pub(crate) condvar_std: bool,
    /// Count decisions as PCT's scheduling points would ([`Scheduler::pct_points`]): a
    /// lock release with other threads ready counts, the point before a join on a
    /// running thread does not. The canonical run that measures PCT's k does this, so
    /// that k matches the PCT runs, while its schedule and trace stay the canonical ones.
    pub(crate) count_like_pct: bool,
}

/// A simulation in progress. Lives on one OS thread; every coroutine runs on it.
pub(crate) struct Execution {
    pub(crate) shared: Arc<Shared>,
    local: RefCell<Local>,
    pub(crate) generation: u64,
    /// The managed thread running now (also in `State::current`, for the watchdog).
    cur: Cell<Option<Tid>>,
    /// The number of the step running now, for the strategy's data decisions.
    step_now: Cell<u64>,
    /// PCT's scheduling points (the strategy asks for them).
    pct_points: bool,
    /// The next decision is not counted as a step of PCT's k: the thread suspends at a
    /// point PCT skips (in the run that measures k), or has just finished (a change
    /// point there would lower the priority of a thread that will never run again).
    uncounted: Cell<bool>,
    /// The thread just started, until its first scheduling point.
    fresh: Cell<Option<Tid>>,
    modes: Modes,
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

/// Buffers kept from one execution to the next on this OS thread, emptied.
#[derive(Default)]
struct Spare {
    events: Vec<RawEvent>,
    threads: Vec<ThreadRec>,
    ready: Vec<Tid>,
    order: Vec<Tid>,
    cos: Vec<Option<Box<Co>>>,
    yielders: Vec<*const Yielder<(), ()>>,
}

thread_local! {
    static SPARE: RefCell<Option<Spare>> = const { RefCell::new(None) };
    /// Default thread names (`T1`, `T2`...), made once per OS thread and index.
    static NAMES: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

/// The default name of thread `tid`: `main` for the first, then `T1`, `T2`...
fn default_name(tid: Tid) -> &'static str {
    if tid == 0 {
        return "main";
    }
    NAMES.with(|n| {
        let mut n = n.borrow_mut();
        while n.len() <= tid {
            // Leaked once per index and OS thread: a handful of short strings in all.
            let name: &'static str = Box::leak(format!("T{}", n.len()).into_boxed_str());
            n.push(name);
        }
        n[tid]
    })
}

impl Execution {
    pub(crate) fn new(scheduler: Box<dyn Scheduler>, limits: Limits) -> Self {
        Self::with_modes(scheduler, limits, Modes::default())
    }

    pub(crate) fn with_modes(scheduler: Box<dyn Scheduler>, limits: Limits, modes: Modes) -> Self {
        let spare = SPARE.with(|s| s.borrow_mut().take()).unwrap_or_default();
        let pct_points = scheduler.pct_points();
        Execution {
            shared: Arc::new(Shared {
                st: Mutex::new(State {
                    threads: spare.threads,
                    objects: Vec::new(),
                    events: spare.events,
                    current: None,
                    last: None,
                    step: 0,
                    decisions: 0,
                    trail: 0,
                    ready: spare.ready,
                    order: spare.order,
                    clock: 0,
                    wall_offset: 0,
                    stamp: 0,
                    failure: None,
                    counters: Default::default(),
                    sites: Default::default(),
                    max_steps: limits.max_steps,
                    max_streak: limits.max_streak,
                    record: true,
                }),
                progress: AtomicU64::new(0),
                running: AtomicBool::new(true),
            }),
            local: RefCell::new(Local {
                cos: spare.cos,
                yielders: spare.yielders,
                invariants: Vec::new(),
                scheduler: Some(scheduler),
            }),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            cur: Cell::new(None),
            step_now: Cell::new(0),
            pct_points,
            uncounted: Cell::new(false),
            fresh: Cell::new(None),
            modes,
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
    #[inline]
    pub(crate) fn me(&self) -> Option<Tid> {
        self.cur.get()
    }

    /// True if std's condvar contract is explored (see [`Modes::condvar_std`]).
    pub(crate) fn condvar_std(&self) -> bool {
        self.modes.condvar_std
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
        op: impl Into<Text>,
        outcome: Option<Cow<'static, str>>,
        api: bool,
    ) {
        let mut st = self.lock();
        st.push(obj, op.into(), outcome.map(Text::from), api);
    }

    /// Records a trace event whose words are put together only if the trace is shown.
    pub(crate) fn event_text(&self, obj: Option<ObjId>, op: Text, outcome: Option<Text>) {
        let mut st = self.lock();
        st.push(obj, op, outcome, false);
    }

    /// Adds a thread running `f`, ready to run. Returns its id.
    pub(crate) fn spawn(&self, name: Option<String>, f: Box<dyn FnOnce()>) -> Tid {
        let tid = {
            let mut st = self.lock();
            let tid = st.threads.len();
            let name = match name {
                Some(n) => Cow::Owned(n),
                None => Cow::Borrowed(default_name(tid)),
            };
            st.stamp += 1;
            let stamp = st.stamp;
            st.threads.push(ThreadRec {
                name,
                state: TState::Ready,
                stamp,
                streak: 0,
                yielded: false,
                timed_out: false,
                spurious_left: SPURIOUS_PER_THREAD,
                woke_spuriously: false,
                select: Vec::new(),
                unparked: false,
            });
            st.ready.push(tid);
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
    ///
    /// Under PCT's points, the first point of a thread is skipped: the thread was just
    /// started, has done nothing the others can see, and starting it was a decision
    /// already, so a second decision there adds a step to PCT's k and nothing else.
    #[inline]
    pub(crate) fn point(&self) {
        if let Some(me) = self.cur.get() {
            if self.fresh.get() == Some(me) {
                self.fresh.set(None);
                if self.pct_points {
                    return;
                }
                if self.modes.count_like_pct {
                    self.uncounted.set(true);
                }
            }
            self.suspend(me);
        }
    }

    /// Called just before a lock is released: a scheduling point if the strategy asks
    /// for one there (PCT: a thread delayed while it still holds the lock makes every
    /// other contender queue up behind it), or a counted decision in the run that
    /// measures PCT's k. Never while unwinding: another thread must not run while this
    /// one panics (the panic count is per OS thread).
    #[inline]
    pub(crate) fn release_point(&self) {
        if self.pct_points {
            if !std::thread::panicking() {
                self.point();
            }
        } else if self.modes.count_like_pct && self.cur.get().is_some() {
            let mut st = self.lock();
            if st.ready.len() > 1 {
                st.decisions += 1;
            }
        }
    }

    /// The scheduling point before a join on a thread (`finished` or not). PCT skips it
    /// when the thread is still running: the join blocks at once, which is a scheduling
    /// point already, and a preemption just before it changes nothing the program can
    /// observe. The others keep it (their traces are numbered with it).
    pub(crate) fn join_point(&self, finished: bool) {
        if !finished {
            if self.pct_points {
                return;
            }
            if self.modes.count_like_pct {
                self.uncounted.set(true);
            }
        }
        self.point();
    }

    /// Like [`Execution::point`], but the current thread goes to the back of the canonical
    /// order (and is deprioritised by PCT).
    pub(crate) fn yield_now(&self) {
        let Some(me) = self.cur.get() else { return };
        {
            let mut st = self.lock();
            st.stamp += 1;
            let stamp = st.stamp;
            let t = &mut st.threads[me];
            t.yielded = true;
            t.stamp = stamp;
            // A new stamp: to the back of the ready list.
            if let Some(i) = st.ready.iter().position(|&r| r == me) {
                st.ready.remove(i);
                st.ready.push(me);
            }
        }
        if let Some(s) = self.local.borrow_mut().scheduler.as_mut() {
            s.on_yield(me);
        }
        self.suspend(me);
    }

    /// Blocks the current thread until [`Execution::wake`] or the deadline. Returns true if
    /// the deadline passed first.
    pub(crate) fn block(&self, wait: Wait, deadline: Option<u64>) -> bool {
        let Some(me) = self.cur.get() else {
            escape_from_scheduler_context();
        };
        {
            let mut st = self.lock();
            let t = &mut st.threads[me];
            t.state = TState::Blocked { wait, deadline };
            t.streak = 0;
            t.timed_out = false;
            t.woke_spuriously = false;
            st.unready(me);
        }
        self.suspend(me);
        let mut st = self.lock();
        std::mem::take(&mut st.threads[me].timed_out)
    }

    /// Makes a blocked thread ready again.
    pub(crate) fn wake(&self, tid: Tid) {
        self.lock().wake(tid);
    }

    /// Lets the strategy pick one of `threads` (FIFO order, so index 0 is the canonical
    /// choice) for `what`. Does not lock the state, so callers may hold it.
    pub(crate) fn pick(&self, what: Pick, threads: &[Tid]) -> usize {
        if threads.len() < 2 {
            return 0;
        }
        let d = match what {
            Pick::Handoff => Decision::Handoff(threads),
            Pick::Notify => Decision::Notify(threads),
        };
        self.decide(d).min(threads.len() - 1)
    }

    /// The next waiter a `notify_one` (or `signal`) wakes: the longest waiting, or under
    /// std's condvar contract any of them, as the strategy decides. Does not lock the
    /// state.
    pub(crate) fn next_waiter(&self, waiters: &mut VecDeque<Tid>) -> Option<Tid> {
        if !self.modes.condvar_std {
            return waiters.pop_front();
        }
        let i = self.pick(Pick::Notify, waiters.make_contiguous());
        waiters.remove(i)
    }

    /// Under std's condvar contract, whether the current thread's wait returns at once,
    /// without a notification (a spurious wake-up), as the strategy decides; each thread
    /// gets at most a few per execution. Always false otherwise.
    pub(crate) fn spurious_wakeup(&self) -> bool {
        if !self.modes.condvar_std {
            return false;
        }
        let Some(me) = self.cur.get() else {
            return false;
        };
        if self.lock().threads[me].spurious_left == 0 {
            return false;
        }
        if self.decide(Decision::Spurious) == 0 {
            return false;
        }
        self.lock().threads[me].spurious_left -= 1;
        true
    }

    /// True if the current thread's last wait ended with a spurious wake-up given while
    /// it was blocked (see [`Execution::offer_spurious_wakeups`]).
    pub(crate) fn woke_spuriously(&self) -> bool {
        match self.cur.get() {
            Some(me) => std::mem::take(&mut self.lock().threads[me].woke_spuriously),
            None => false,
        }
    }

    /// Under std's condvar contract, when time passes (the virtual clock jumps because
    /// every thread waits), each thread waiting on a condition variable may wake up
    /// spuriously at that moment, as the strategy decides: a wake-up late in a timed
    /// wait, which a loop that restarts its full timeout turns into a longer wait.
    fn offer_spurious_wakeups(&self, st: &mut State) {
        for t in 0..st.threads.len() {
            let th = &st.threads[t];
            let TState::Blocked { wait, .. } = th.state else {
                continue;
            };
            let on_condvar = wait.kind == WaitKind::Notify
                && wait.obj.is_some_and(|o| st.objects[o].kind == "Condvar");
            if !on_condvar || th.spurious_left == 0 {
                continue;
            }
            if self.decide(Decision::Spurious) == 1 {
                let th = &mut st.threads[t];
                th.spurious_left -= 1;
                th.woke_spuriously = true;
                st.wake(t);
            }
        }
    }

    fn decide(&self, d: Decision<'_>) -> usize {
        let step = self.step_now.get();
        match self.local.borrow_mut().scheduler.as_mut() {
            Some(s) => s.decide(d, step),
            None => 0,
        }
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
            self.check_invariants();
            let next = {
                let mut st = self.lock();
                st.current = None;
                if st.failure.is_some() {
                    return RunEnd::Failed;
                }
                if st.ready.is_empty() {
                    if st.advance_clock() {
                        if self.modes.condvar_std {
                            self.offer_spurious_wakeups(&mut st);
                        }
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
                st.fill_order();
                let uncounted = self.uncounted.replace(false);
                let counted = st.order.len() > 1 && !uncounted;
                if counted {
                    st.decisions += 1;
                }
                let step = st.step;
                let next = {
                    let mut local = self.local.borrow_mut();
                    let sched = local.scheduler.as_mut().expect("scheduler present");
                    if counted {
                        sched.on_decision();
                    }
                    sched.choose(&st.order, step)
                };
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
                self.step_now.set(st.step);
                self.shared.progress.store(st.step, Ordering::Relaxed);
                next
            };
            self.cur.set(Some(next));
            let mut co = self.local.borrow_mut().cos[next]
                .take()
                .expect("a ready thread has a coroutine");
            if !co.started() {
                self.fresh.set(Some(next));
            }
            let result = co.resume(());
            self.cur.set(None);
            self.fresh.set(None);
            match result {
                CoroutineResult::Yield(()) => self.local.borrow_mut().cos[next] = Some(co),
                CoroutineResult::Return(panic) => {
                    self.uncounted.set(true);
                    thread::recycle(*co);
                    let mut st = self.lock();
                    st.threads[next].state = TState::Finished;
                    st.unready(next);
                    st.current = Some(next);
                    match &panic {
                        None => st.push(None, Text::Static("finish"), None, false),
                        Some(msg) => {
                            let what = Text::Owned(format!("panics: {msg}"));
                            st.push(None, what, None, true)
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
                        let name = st.threads[next].name.to_string();
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
            threads: st.threads.iter().map(|t| t.name.to_string()).collect(),
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

impl Drop for Execution {
    fn drop(&mut self) {
        // Keep the buffers for the next execution on this OS thread (emptied: their
        // contents belong to this one). Coroutines that never ran are dropped here.
        let mut local = self.local.borrow_mut();
        let mut cos = std::mem::take(&mut local.cos);
        cos.clear();
        let mut yielders = std::mem::take(&mut local.yielders);
        yielders.clear();
        drop(local);
        let mut st = self.shared.st.lock();
        let mut spare = Spare {
            events: std::mem::take(&mut st.events),
            threads: std::mem::take(&mut st.threads),
            ready: std::mem::take(&mut st.ready),
            order: std::mem::take(&mut st.order),
            cos,
            yielders,
        };
        drop(st);
        spare.events.clear();
        spare.threads.clear();
        spare.ready.clear();
        spare.order.clear();
        SPARE.with(|s| *s.borrow_mut() = Some(spare));
    }
}

/// What a primitive asks the strategy to pick a thread for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pick {
    /// Which waiter a released lock goes to.
    Handoff,
    /// Which waiter a `notify_one` wakes (std's condvar contract only).
    Notify,
}

impl State {
    pub(crate) fn push_event(
        &mut self,
        obj: Option<ObjId>,
        op: Cow<'static, str>,
        outcome: Option<Cow<'static, str>>,
        api: bool,
    ) {
        self.push(obj, op.into(), outcome.map(Text::from), api);
    }

    /// Records an event of the current thread.
    #[inline]
    pub(crate) fn push(&mut self, obj: Option<ObjId>, op: Text, outcome: Option<Text>, api: bool) {
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
        let name = |t: Tid| self.threads[t].name.to_string();
        Event {
            step: e.step,
            thread: e.thread.map(name).unwrap_or_else(|| "-".to_string()),
            object: e.obj.map(|o| self.objects[o].name.clone()),
            op: e.op.render(name),
            outcome: e.outcome.as_ref().map(|o| o.render(name)),
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
            self.ready.push(tid);
        }
    }

    /// Takes a thread that blocked or finished off the ready list.
    fn unready(&mut self, tid: Tid) {
        if let Some(i) = self.ready.iter().rposition(|&r| r == tid) {
            self.ready.remove(i);
        }
    }

    /// The ready threads in canonical order, into `order`: the last thread first (unless
    /// it yielded), then by the time each became ready.
    fn fill_order(&mut self) {
        self.order.clear();
        let first = self.last.filter(|&l| {
            let t = &self.threads[l];
            matches!(t.state, TState::Ready) && !t.yielded
        });
        if let Some(l) = first {
            self.order.push(l);
        }
        for &t in &self.ready {
            if Some(t) != first {
                self.order.push(t);
            }
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
        self.push(
            None,
            Text::Owned(format!("clock advances to {ms}ms")),
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
