//! Threads with std's API: [`spawn`], [`Builder`] (for names), [`JoinHandle`],
//! [`yield_now`], [`sleep`] and [`current`].
//!
//! Outside a simulation these are std threads. Inside one, a spawned thread is a
//! coroutine run by the scheduler on the same OS thread; `sleep` uses the virtual clock.
//! Never use `std::thread::spawn` in simulated code: the scheduler cannot see such a
//! thread (using a simulated object from it is detected and reported).

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::execution::{TState, Tid};
use crate::runtime::text::Text;
use crate::runtime::{self, Wait, WaitKind};

/// A handle to join a thread and take its result.
pub struct JoinHandle<T> {
    imp: Imp<T>,
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

    /// Spawns the thread.
    ///
    /// # Errors
    ///
    /// Only in real mode, when the OS refuses to create a thread.
    pub fn spawn<F, T>(self, f: F) -> std::io::Result<JoinHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match runtime::current() {
            None => {
                let mut b = std::thread::Builder::new();
                if let Some(n) = self.name {
                    b = b.name(n);
                }
                b.spawn(f).map(|h| JoinHandle { imp: Imp::Real(h) })
            }
            Some(e) => {
                let slot = Arc::new(parking_lot::Mutex::new(None));
                let s2 = slot.clone();
                let tid = e.spawn(
                    self.name,
                    Box::new(move || {
                        let v = f();
                        *s2.lock() = Some(v);
                    }),
                );
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
pub fn spawn<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    Builder::new().spawn(f).expect("failed to spawn thread")
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

/// A handle on a thread, to ask its name.
#[derive(Clone, Debug)]
pub struct Thread {
    name: Option<String>,
}

impl Thread {
    /// The thread's name, if it has one (simulated threads always do).
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The calling thread.
pub fn current() -> Thread {
    if let Some(e) = runtime::current()
        && let Some(t) = e.me()
    {
        return Thread {
            name: Some(e.lock().thread_name(t).to_string()),
        };
    }
    Thread {
        name: std::thread::current().name().map(String::from),
    }
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
    pub fn spawn<F, T>(&self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        match self.real {
            Some(s) => ScopedJoinHandle {
                imp: ScopedImp::Real(s.spawn(f)),
            },
            None => {
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
                let h: JoinHandle<T> = unsafe { spawn_unchecked(boxed) };
                if let Imp::Sim { tid, .. } = &h.imp {
                    self.sim.lock().push(*tid);
                }
                ScopedJoinHandle {
                    imp: ScopedImp::Sim(h),
                }
            }
        }
    }
}

/// Spawns a simulated thread whose result type may borrow.
///
/// # Safety
///
/// The caller must join the thread before anything `T` borrows is invalidated.
unsafe fn spawn_unchecked<T>(f: Box<dyn FnOnce() -> T + Send + 'static>) -> JoinHandle<T> {
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
    let tid = e.spawn(None, body);
    e.event(None, Text::Thread("spawn", tid), None, false);
    e.point();
    JoinHandle {
        imp: Imp::Sim {
            tid,
            generation: e.generation,
            slot,
        },
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
