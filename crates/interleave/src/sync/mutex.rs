use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::panic::Location;

use super::{SimRef, me};
use crate::runtime::{self, Execution, Pick, Wait, WaitKind};
use crate::site::Naming;

enum Imp<T> {
    Real(parking_lot::Mutex<T>),
    Sim(SimRef, UnsafeCell<T>),
}

/// A mutual exclusion lock with parking_lot's API: `lock()` returns a guard, no
/// poisoning.
///
/// In a simulation, `lock` is a scheduling point; a thread that finds the mutex held
/// blocks until the holder unlocks (barging is possible: the woken thread competes again).
///
/// # Examples
///
/// ```
/// use interleave::sync::Mutex;
/// let m = Mutex::new(0);
/// *m.lock() += 1;
/// assert_eq!(*m.lock(), 1);
/// ```
pub struct Mutex<T> {
    imp: Imp<T>,
}

// SAFETY: in real mode the data is inside a parking_lot::Mutex, which is Send/Sync for
// T: Send. In simulated mode every access goes through a guard whose existence the
// scheduler makes exclusive, and all simulated threads run on one OS thread; T: Send
// is required because the value may be created on one thread and used on another.
unsafe impl<T: Send> Send for Mutex<T> {}
// SAFETY: see above: shared access only hands out `&mut T` through an exclusive guard.
unsafe impl<T: Send> Sync for Mutex<T> {}

impl<T> Mutex<T> {
    /// Creates a mutex holding `value`. In a simulation it is named in traces after
    /// what the creating line binds it to (`balance: Mutex::new(0)` is `balance`).
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self::build(value, Naming::Site(Location::caller()))
    }

    /// Creates a mutex with an explicit name for traces and reports (`fork0`): an
    /// override for tests. Student code uses [`Mutex::new`], which the real crates have.
    pub fn named(name: impl Into<String>, value: T) -> Self {
        Self::build(value, Naming::Explicit(name.into()))
    }

    fn build(value: T, naming: Naming) -> Self {
        let imp = match runtime::current() {
            None => Imp::Real(parking_lot::Mutex::new(value)),
            Some(e) => Imp::Sim(SimRef::new(e, "Mutex", naming), UnsafeCell::new(value)),
        };
        Mutex { imp }
    }

    /// Acquires the mutex, blocking until it is free.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        match &self.imp {
            Imp::Real(m) => {
                if let Some(g) = m.try_lock() {
                    return MutexGuard {
                        imp: GuardImp::Real(g),
                    };
                }
                self.lock_real_slow(m)
            }
            Imp::Sim(s, _) => {
                let e = s.exec("Mutex");
                e.point();
                acquire(e, s, "lock");
                MutexGuard {
                    imp: GuardImp::Sim(self),
                }
            }
        }
    }

    #[cold]
    fn lock_real_slow<'a>(&'a self, m: &'a parking_lot::Mutex<T>) -> MutexGuard<'a, T> {
        runtime::real_block_in_simulation("Mutex");
        MutexGuard {
            imp: GuardImp::Real(m.lock()),
        }
    }

    /// Acquires the mutex if it is free, without blocking.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        match &self.imp {
            Imp::Real(m) => m.try_lock().map(|g| MutexGuard {
                imp: GuardImp::Real(g),
            }),
            Imp::Sim(s, _) => {
                let e = s.exec("Mutex");
                e.point();
                let who = me(e, "Mutex::try_lock");
                let mut st = e.lock();
                let o = &mut st.objects[s.id];
                if o.holders.is_empty() {
                    o.holders.push(who);
                    st.push_event(
                        Some(s.id),
                        "try_lock".into(),
                        Some("acquired".into()),
                        false,
                    );
                    Some(MutexGuard {
                        imp: GuardImp::Sim(self),
                    })
                } else {
                    st.push_event(Some(s.id), "try_lock".into(), Some("busy".into()), false);
                    None
                }
            }
        }
    }

    /// Consumes the mutex and returns the value.
    pub fn into_inner(self) -> T {
        match self.imp {
            Imp::Real(m) => m.into_inner(),
            Imp::Sim(_, c) => c.into_inner(),
        }
    }

    /// A mutable reference to the value (no locking needed: the borrow is exclusive).
    pub fn get_mut(&mut self) -> &mut T {
        match &mut self.imp {
            Imp::Real(m) => m.get_mut(),
            Imp::Sim(_, c) => c.get_mut(),
        }
    }

    pub(crate) fn sim_ref(&self) -> Option<&SimRef> {
        match &self.imp {
            Imp::Real(_) => None,
            Imp::Sim(s, _) => Some(s),
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    #[track_caller]
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.imp {
            Imp::Real(m) => m.fmt(f),
            Imp::Sim(..) => f.write_str("Mutex { .. }"),
        }
    }
}

/// Blocks the current simulated thread until it holds the mutex `s`. Not a scheduling
/// point by itself (the caller decides).
pub(crate) fn acquire(e: &Execution, s: &SimRef, op: &'static str) {
    let who = me(e, "Mutex::lock");
    let mut retry = false;
    loop {
        let mut st = e.lock();
        let o = &mut st.objects[s.id];
        if o.holders.is_empty() {
            o.holders.push(who);
            st.push_event(
                Some(s.id),
                op.into(),
                Some(
                    if retry {
                        "acquired after waiting"
                    } else {
                        "acquired"
                    }
                    .into(),
                ),
                false,
            );
            return;
        }
        if retry {
            o.waiters.push_front(who);
        } else {
            o.waiters.push_back(who);
        }
        let holder = st.objects[s.id].holders[0];
        let msg = format!("blocked (held by {})", st.thread_name(holder));
        st.push_event(Some(s.id), op.into(), Some(Cow::Owned(msg)), false);
        drop(st);
        e.block(Wait::on(WaitKind::Acquire, s.id), None);
        retry = true;
    }
}

/// Releases the mutex `s` and wakes one waiter: the first, or the one the strategy
/// picks (as when every waiter races for the lock).
pub(crate) fn release(e: &Execution, s: &SimRef, traced: bool) {
    let mut st = e.lock();
    let o = &mut st.objects[s.id];
    o.holders.clear();
    let i = e.pick(Pick::Handoff, o.waiters.make_contiguous());
    if let Some(w) = o.waiters.remove(i) {
        st.wake(w);
    }
    if traced {
        st.push_event(Some(s.id), "unlock".into(), None, false);
    }
}

pub(crate) enum GuardImp<'a, T> {
    Real(parking_lot::MutexGuard<'a, T>),
    Sim(&'a Mutex<T>),
}

/// Proof of holding a [`Mutex`]; unlocks when dropped. Derefs to the protected value.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T> {
    pub(crate) imp: GuardImp<'a, T>,
}

impl<T> Deref for MutexGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        match &self.imp {
            GuardImp::Real(g) => g,
            GuardImp::Sim(m) => match &m.imp {
                // SAFETY: this guard exists only while the simulated mutex is held by the
                // current thread, and simulated threads run one at a time on one OS
                // thread, so no other reference to the value is live.
                Imp::Sim(_, c) => unsafe { &*c.get() },
                Imp::Real(_) => unreachable!(),
            },
        }
    }
}

impl<T> DerefMut for MutexGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.imp {
            GuardImp::Real(g) => &mut *g,
            GuardImp::Sim(m) => match &m.imp {
                // SAFETY: as in `deref`; `&mut self` makes this the only reference
                // handed out by the guard.
                Imp::Sim(_, c) => unsafe { &mut *c.get() },
                Imp::Real(_) => unreachable!(),
            },
        }
    }
}

impl<T> Drop for MutexGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if let GuardImp::Sim(m) = &self.imp
            && let Imp::Sim(s, _) = &m.imp
            && let Some(e) = runtime::current()
        {
            e.release_point();
            release(e, s, true);
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (**self).fmt(f)
    }
}
