//! Threads with std's API: [`spawn`], [`Builder`] (for names), [`JoinHandle`],
//! [`scope`], [`yield_now`], [`sleep`], [`park`] and [`current`] (with [`Thread::id`]).
//!
//! Outside a simulation these are std threads. Inside one, a spawned thread is a
//! coroutine run by the scheduler on the same OS thread; `sleep` and `park_timeout` use
//! the virtual clock, and [`current`] tells the simulated threads apart (`std`'s cannot:
//! they all share one OS thread). Never use `std::thread` in simulated code: the
//! scheduler cannot see it (a student file that does is reported, naming the line).

use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use crate::runtime::execution::{TState, Tid};
use crate::runtime::text::Text;
use crate::runtime::{self, Wait, WaitKind};

/// A handle to join a thread and take its result.
pub struct JoinHandle<T> {
    imp: Imp<T>,
    thread: Thread,
}

enum Imp<T> {
    Real(std::thread::JoinHandle<T>),
    Sim {
        tid: Tid,
        generation: u64,
        slot: Arc<parking_lot::Mutex<Option<T>>>,
    },
}

impl<T> std::fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JoinHandle { .. }")
    }
}

impl<T> JoinHandle<T> {
    /// Waits for the thread to finish and returns its result, or the panic payload.
    pub fn join(self) -> std::thread::Result<T> {
        match self.imp {
            Imp::Real(h) => h.join(),
            Imp::Sim {
                tid,
                generation,
                slot,
            } => {
                let e = match runtime::current() {
                    Some(e) if e.generation == generation => e,
                    _ => runtime::foreign_use("JoinHandle", generation),
                };
                let finished = matches!(e.lock().threads[tid].state, TState::Finished);
                e.join_point(finished);
                loop {
                    let mut st = e.lock();
                    let done = matches!(st.threads[tid].state, TState::Finished);
                    let outcome = if done { "finished" } else { "blocked" };
                    st.push(None, Text::Thread("join", tid), Some(outcome.into()), false);
                    drop(st);
                    if done {
                        break;
                    }
                    e.block(
                        Wait {
                            kind: WaitKind::Join,
                            obj: None,
                            thread: Some(tid),
                        },
                        None,
                    );
                }
                match slot.lock().take() {
                    Some(v) => Ok(v),
                    None => Err(Box::new("the thread panicked")),
                }
            }
        }
    }

    /// The thread this handle joins.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// True if the thread has finished.
    pub fn is_finished(&self) -> bool {
        match &self.imp {
            Imp::Real(h) => h.is_finished(),
            Imp::Sim { tid, .. } => runtime::current()
                .map(|e| matches!(e.lock().threads[*tid].state, TState::Finished))
                .unwrap_or(true),
        }
    }
}

/// Thread factory, to give a thread a name (it appears in traces and reports).
///
/// # Examples
///
/// ```
/// let h = interleave::thread::Builder::new()
///     .name("P0".into())
///     .spawn(|| interleave::thread::current().name().map(String::from))
///     .unwrap();
/// assert_eq!(h.join().unwrap().as_deref(), Some("P0"));
/// ```
#[derive(Debug, Default)]
pub struct Builder {
    name: Option<String>,
    stack_size: Option<usize>,
}

impl Builder {
    /// A builder with no name set.
    pub fn new() -> Self {
        Builder::default()
    }

    /// Names the thread.
    pub fn name(mut self, name: String) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets the stack size of a real thread (simulated threads have a fixed stack).
    pub fn stack_size(mut self, size: usize) -> Self {
        self.stack_size = Some(size);
        self
    }

    fn std_builder(self) -> std::thread::Builder {
        let mut b = std::thread::Builder::new();
        if let Some(n) = self.name {
            b = b.name(n);
        }
        if let Some(s) = self.stack_size {
            b = b.stack_size(s);
        }
        b
    }

    /// Spawns the thread.
    ///
    /// # Errors
    ///
    /// Only in real mode, when the OS refuses to create a thread.
    #[track_caller]
    pub fn spawn<F, T>(self, f: F) -> std::io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match runtime::current() {
            None => self.std_builder().spawn(f).map(|h| JoinHandle {
                thread: Thread::real(h.thread().clone()),
                imp: Imp::Real(h),
            }),
            Some(e) => {
                crate::escape::check(Location::caller().file());
                let slot = Arc::new(parking_lot::Mutex::new(None));
                let s2 = slot.clone();
                let tid = e.spawn(
                    self.name,
                    Box::new(move || {
                        let v = f();
                        *s2.lock() = Some(v);
                    }),
                );
                let name = e.lock().thread_name(tid).to_string();
                if e.me().is_some() {
                    e.event(None, Text::Thread("spawn", tid), None, false);
                    e.point();
                }
                Ok(JoinHandle {
                    imp: Imp::Sim {
                        tid,
                        generation: e.generation,
                        slot,
                    },
                    thread: Thread::sim(name, tid, e.generation),
                })
            }
        }
    }

    /// Spawns a thread in `scope`, like [`Scope::spawn`] but with this builder's name.
    ///
    /// # Errors
    ///
    /// Only in real mode, when the OS refuses to create a thread.
    #[track_caller]
    pub fn spawn_scoped<'scope, 'env, F, T>(
        self,
        scope: &Scope<'scope, 'env>,
        f: F,
    ) -> std::io::Result<ScopedJoinHandle<'scope, T>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        match scope.real {
            Some(s) => {
                let h = self.std_builder().spawn_scoped(s, f)?;
                Ok(ScopedJoinHandle {
                    thread: Thread::real(h.thread().clone()),
                    imp: ScopedImp::Real(h),
                })
            }
            None => {
                crate::escape::check(Location::caller().file());
                let boxed: Box<dyn FnOnce() -> T + Send + 'scope> = Box::new(f);
                // SAFETY: `scope` joins every thread spawned here before it returns, so
                // the borrows of `f` (which outlive 'scope) are valid whenever the
                // thread runs. If the simulation is abandoned (a failure) while the
                // thread is suspended, the scope's own coroutine stays suspended and
                // is never resumed or unwound (see `Execution::finish`), so the borrowed
                // data is never freed while the thread could still use it.
                let boxed: Box<dyn FnOnce() -> T + Send + 'static> =
                    unsafe { std::mem::transmute(boxed) };
                // SAFETY: same argument for the result type, which lives in the slot
                // until joined within the scope.
                let h: JoinHandle<T> = unsafe { spawn_unchecked(self.name, boxed) };
                if let Imp::Sim { tid, .. } = &h.imp {
                    scope.sim.lock().push(*tid);
                }
                Ok(ScopedJoinHandle {
                    thread: h.thread.clone(),
                    imp: ScopedImp::Sim(h),
                })
            }
        }
    }
}

/// Spawns a thread (named `T1`, `T2`... in a simulation).
///
/// # Examples
///
/// ```
/// let h = interleave::thread::spawn(|| 6 * 7);
/// assert_eq!(h.join().unwrap(), 42);
/// ```
#[track_caller]
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).expect("failed to spawn thread")
}

/// The number of threads the machine can run at once, as std's (the real machine's, in
/// a simulation too: it says nothing about the schedule).
///
/// # Errors
///
/// When the platform cannot tell, as std.
pub fn available_parallelism() -> std::io::Result<std::num::NonZeroUsize> {
    std::thread::available_parallelism()
}

/// True if the calling thread is unwinding because of a panic, as std's.
pub fn panicking() -> bool {
    std::thread::panicking()
}

/// Lets other threads run. In a simulation the caller goes to the back of the queue
/// (and below everyone under PCT), so spin loops that yield make progress.
pub fn yield_now() {
    match runtime::current() {
        None => std::thread::yield_now(),
        Some(e) => {
            if e.me().is_some() {
                e.event(None, "yield", None, false);
                e.yield_now();
            }
        }
    }
}

/// Sleeps for `d`: wall-clock time in real mode, virtual time in a simulation (the clock
/// jumps forward when every thread is blocked or sleeping).
pub fn sleep(d: Duration) {
    match runtime::current() {
        None => std::thread::sleep(d),
        Some(e) => {
            e.point();
            let deadline = {
                let mut st = e.lock();
                st.push_event(None, format!("sleep {d:?}").into(), None, false);
                st.clock.saturating_add(d.as_nanos() as u64)
            };
            e.block(
                Wait {
                    kind: WaitKind::Sleep,
                    obj: None,
                    thread: None,
                },
                Some(deadline),
            );
        }
    }
}

/// A handle on a thread: its name, its id, and [`Thread::unpark`].
#[derive(Clone, Debug)]
pub struct Thread {
    name: Option<String>,
    imp: ThreadImp,
}

#[derive(Clone, Debug)]
enum ThreadImp {
    Real(std::thread::Thread),
    Sim { tid: Tid, generation: u64 },
}

/// A thread's unique identifier, as `std::thread::ThreadId`: distinct for every
/// simulated thread (std's would be the same for all of them, since they share one OS
/// thread).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ThreadId(IdImp);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum IdImp {
    Real(std::thread::ThreadId),
    Sim { generation: u64, tid: usize },
}

impl Thread {
    fn real(t: std::thread::Thread) -> Self {
        Thread {
            name: t.name().map(String::from),
            imp: ThreadImp::Real(t),
        }
    }

    fn sim(name: String, tid: Tid, generation: u64) -> Self {
        Thread {
            name: Some(name),
            imp: ThreadImp::Sim { tid, generation },
        }
    }

    /// The thread's name, if it has one (simulated threads always do).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The thread's unique id.
    pub fn id(&self) -> ThreadId {
        match &self.imp {
            ThreadImp::Real(t) => ThreadId(IdImp::Real(t.id())),
            ThreadImp::Sim { tid, generation } => ThreadId(IdImp::Sim {
                generation: *generation,
                tid: *tid,
            }),
        }
    }

    /// Wakes the thread if it is parked in [`park`], or makes its next `park` return at
    /// once (one token, not counted). A scheduling point in a simulation.
    pub fn unpark(&self) {
        match &self.imp {
            ThreadImp::Real(t) => t.unpark(),
            ThreadImp::Sim { tid, generation } => {
                let e = match runtime::current() {
                    Some(e) if e.generation == *generation => e,
                    _ => runtime::foreign_use("Thread", *generation),
                };
                e.point();
                let mut st = e.lock();
                let name = st.thread_name(*tid).to_string();
                let parked = matches!(
                    st.threads[*tid].state,
                    TState::Blocked { wait, .. } if wait.kind == WaitKind::Park
                );
                st.threads[*tid].unparked = true;
                if parked {
                    st.wake(*tid);
                }
                let outcome = if parked { "wakes it" } else { "token stored" };
                st.push_event(
                    None,
                    format!("unpark {name}").into(),
                    Some(outcome.into()),
                    false,
                );
            }
        }
    }
}

/// The calling thread.
///
/// # Examples
///
/// ```
/// use interleave::thread;
/// let me = thread::current().id();
/// let other = thread::spawn(|| thread::current().id()).join().unwrap();
/// assert_ne!(me, other);
/// ```
pub fn current() -> Thread {
    if let Some(e) = runtime::current()
        && let Some(t) = e.me()
    {
        return Thread::sim(e.lock().thread_name(t).to_string(), t, e.generation);
    }
    Thread::real(std::thread::current())
}

/// Blocks until the thread's token is available (see [`Thread::unpark`]), then consumes
/// it. std allows spurious wake-ups, so check the condition in a loop; a simulation has
/// none. A scheduling point in a simulation.
///
/// # Examples
///
/// ```
/// use interleave::sync::Arc;
/// use interleave::sync::atomic::{AtomicBool, Ordering};
/// use interleave::thread;
///
/// let done = Arc::new(AtomicBool::new(false));
/// let d = done.clone();
/// let waiter = thread::spawn(move || {
///     while !d.load(Ordering::Acquire) {
///         thread::park();
///     }
/// });
/// done.store(true, Ordering::Release);
/// waiter.thread().unpark();
/// waiter.join().unwrap();
/// ```
pub fn park() {
    park_until(None);
}

/// Like [`park`], but returns after `timeout` at the latest (virtual time in a
/// simulation).
pub fn park_timeout(timeout: Duration) {
    park_until(Some(timeout));
}

fn park_until(timeout: Option<Duration>) {
    let Some(e) = runtime::current() else {
        match timeout {
            Some(t) => std::thread::park_timeout(t),
            None => std::thread::park(),
        }
        return;
    };
    e.point();
    let Some(me) = e.me() else {
        panic!(
            "interleave: thread::park called outside a managed thread (in an invariant or state \
             closure?)"
        );
    };
    let deadline = {
        let mut st = e.lock();
        if std::mem::take(&mut st.threads[me].unparked) {
            st.push_event(None, "park".into(), Some("token taken".into()), false);
            return;
        }
        let what = match timeout {
            Some(t) => format!("park_timeout {t:?}"),
            None => "park".to_string(),
        };
        st.push_event(None, what.into(), Some("parked".into()), false);
        timeout.map(|t| {
            let n = u64::try_from(t.as_nanos()).unwrap_or(u64::MAX);
            st.clock.saturating_add(n)
        })
    };
    let timed_out = e.block(
        Wait {
            kind: WaitKind::Park,
            obj: None,
            thread: None,
        },
        deadline,
    );
    let mut st = e.lock();
    let had_token = std::mem::take(&mut st.threads[me].unparked);
    let outcome = if had_token && !timed_out {
        "unparked"
    } else {
        "timed out"
    };
    st.push_event(None, "park".into(), Some(outcome.into()), false);
}

/// A scope for threads that borrow from the caller's stack, as `std::thread::scope`.
///
/// Every thread spawned in the scope is joined before [`scope`] returns.
pub struct Scope<'scope, 'env: 'scope> {
    real: Option<&'scope std::thread::Scope<'scope, 'env>>,
    sim: parking_lot::Mutex<Vec<Tid>>,
    generation: u64,
}

impl std::fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scope { .. }")
    }
}

/// A handle to join a scoped thread.
pub struct ScopedJoinHandle<'scope, T> {
    imp: ScopedImp<'scope, T>,
    thread: Thread,
}

enum ScopedImp<'scope, T> {
    Real(std::thread::ScopedJoinHandle<'scope, T>),
    Sim(JoinHandle<T>),
}

impl<T> std::fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScopedJoinHandle { .. }")
    }
}

impl<T> ScopedJoinHandle<'_, T> {
    /// The thread this handle joins.
    pub fn thread(&self) -> &Thread {
        &self.thread
    }

    /// True if the thread has finished.
    pub fn is_finished(&self) -> bool {
        match &self.imp {
            ScopedImp::Real(h) => h.is_finished(),
            ScopedImp::Sim(h) => h.is_finished(),
        }
    }

    /// Waits for the thread and returns its result, or the panic payload.
    pub fn join(self) -> std::thread::Result<T> {
        match self.imp {
            ScopedImp::Real(h) => h.join(),
            ScopedImp::Sim(h) => h.join(),
        }
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Spawns a thread that may borrow anything that outlives the scope.
    #[track_caller]
    pub fn spawn<F, T>(&self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        Builder::new()
            .spawn_scoped(self, f)
            .expect("failed to spawn thread")
    }
}

/// Spawns a simulated thread whose result type may borrow.
///
/// # Safety
///
/// The caller must join the thread before anything `T` borrows is invalidated.
unsafe fn spawn_unchecked<T>(
    name: Option<String>,
    f: Box<dyn FnOnce() -> T + Send + 'static>,
) -> JoinHandle<T> {
    let e = runtime::current().expect("simulated scope");
    let slot: Arc<parking_lot::Mutex<Option<T>>> = Arc::new(parking_lot::Mutex::new(None));
    let s2 = slot.clone();
    let body: Box<dyn FnOnce() + '_> = Box::new(move || {
        let v = f();
        *s2.lock() = Some(v);
    });
    // SAFETY: the closure only borrows through `T` (the slot), which the caller
    // promises stays valid until the thread is joined.
    let body: Box<dyn FnOnce() + 'static> = unsafe { std::mem::transmute(body) };
    let tid = e.spawn(name, body);
    let name = e.lock().thread_name(tid).to_string();
    e.event(None, Text::Thread("spawn", tid), None, false);
    e.point();
    JoinHandle {
        imp: Imp::Sim {
            tid,
            generation: e.generation,
            slot,
        },
        thread: Thread::sim(name, tid, e.generation),
    }
}

/// Creates a scope for threads that borrow local data; all of them are joined before
/// it returns (in a simulation too).
///
/// # Examples
///
/// ```
/// let data = vec![1, 2, 3, 4];
/// let total: i32 = interleave::thread::scope(|s| {
///     let (a, b) = data.split_at(2);
///     let h = s.spawn(|| a.iter().sum::<i32>());
///     let rest: i32 = b.iter().sum();
///     h.join().unwrap() + rest
/// });
/// assert_eq!(total, 10);
/// ```
pub fn scope<'env, F, T>(f: F) -> T
where
    F: for<'scope> FnOnce(&Scope<'scope, 'env>) -> T,
{
    match runtime::current() {
        None => std::thread::scope(|s| {
            let sc = Scope {
                real: Some(s),
                sim: parking_lot::Mutex::new(Vec::new()),
                generation: 0,
            };
            f(&sc)
        }),
        Some(e) => {
            let sc = Scope {
                real: None,
                sim: parking_lot::Mutex::new(Vec::new()),
                generation: e.generation,
            };
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&sc)));
            let tids: Vec<Tid> = std::mem::take(&mut *sc.sim.lock());
            for tid in tids {
                let _ = JoinHandle::<()> {
                    imp: Imp::Sim {
                        tid,
                        generation: sc.generation,
                        slot: Arc::new(parking_lot::Mutex::new(Some(()))),
                    },
                    thread: Thread::sim(String::new(), tid, sc.generation),
                }
                .join();
            }
            match r {
                Ok(v) => v,
                Err(p) => std::panic::resume_unwind(p),
            }
        }
    }
}
