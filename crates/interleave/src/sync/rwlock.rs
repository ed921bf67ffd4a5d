use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::panic::Location;

use super::{SimRef, me};
use crate::runtime::{self, Execution, Wait, WaitKind};
use crate::site::Naming;

enum Imp<T> {
    Real(parking_lot::RwLock<T>),
    Sim(SimRef, UnsafeCell<T>),
}

/// A reader-writer lock with parking_lot's API: many readers or one writer.
///
/// In a simulation a reader gets in whenever no writer holds the lock; a writer waits
/// until nobody holds it. When the lock becomes free every waiter competes again.
///
/// # Examples
///
/// ```
/// use interleave::sync::RwLock;
/// let l = RwLock::new(5);
/// assert_eq!(*l.read(), 5);
/// *l.write() += 1;
/// assert_eq!(*l.read(), 6);
/// ```
pub struct RwLock<T> {
    imp: Imp<T>,
}

// SAFETY: real mode delegates to parking_lot::RwLock (Send for T: Send); simulated
// access is serialised by the scheduler on one OS thread.
unsafe impl<T: Send> Send for RwLock<T> {}
// SAFETY: readers share `&T` (hence T: Sync), a writer gets `&mut T` exclusively, as
// parking_lot requires; in a simulation the model enforces that exclusion.
unsafe impl<T: Send + Sync> Sync for RwLock<T> {}

impl<T> std::fmt::Debug for RwLock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RwLock { .. }")
    }
}

impl<T> RwLock<T> {
    /// Creates the lock. In a simulation it is named in traces after what the creating
    /// line binds it to (`table: RwLock::new(..)` is `table`).
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self::build(value, Naming::Site(Location::caller()))
    }

    /// Creates the lock with an explicit name for traces: an override for tests.
    pub fn named(name: impl Into<String>, value: T) -> Self {
        Self::build(value, Naming::Explicit(name.into()))
    }

    fn build(value: T, naming: Naming) -> Self {
        let imp = match runtime::current() {
            None => Imp::Real(parking_lot::RwLock::new(value)),
            Some(e) => Imp::Sim(SimRef::new(e, "RwLock", naming), UnsafeCell::new(value)),
        };
        RwLock { imp }
    }

    /// Locks for reading, blocking while a writer holds the lock.
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        match &self.imp {
            Imp::Real(l) => RwLockReadGuard {
                real: Some(match l.try_read() {
                    Some(g) => g,
                    None => {
                        runtime::real_block_in_simulation("RwLock");
                        l.read()
                    }
                }),
                sim: None,
            },
            Imp::Sim(s, c) => {
                let e = s.exec("RwLock");
                e.point();
                acquire(e, s, false, true);
                RwLockReadGuard {
                    real: None,
                    sim: Some((s, c)),
                }
            }
        }
    }

    /// Locks for writing, blocking while anyone holds the lock.
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        match &self.imp {
            Imp::Real(l) => RwLockWriteGuard {
                real: Some(match l.try_write() {
                    Some(g) => g,
                    None => {
                        runtime::real_block_in_simulation("RwLock");
                        l.write()
                    }
                }),
                sim: None,
            },
            Imp::Sim(s, c) => {
                let e = s.exec("RwLock");
                e.point();
                acquire(e, s, true, true);
                RwLockWriteGuard {
                    real: None,
                    sim: Some((s, c)),
                }
            }
        }
    }

    /// Locks for reading if no writer holds the lock.
    pub fn try_read(&self) -> Option<RwLockReadGuard<'_, T>> {
        match &self.imp {
            Imp::Real(l) => l.try_read().map(|g| RwLockReadGuard {
                real: Some(g),
                sim: None,
            }),
            Imp::Sim(s, c) => {
                let e = s.exec("RwLock");
                e.point();
                acquire(e, s, false, false).then_some(RwLockReadGuard {
                    real: None,
                    sim: Some((s, c)),
                })
            }
        }
    }

    /// Locks for writing if nobody holds the lock.
    pub fn try_write(&self) -> Option<RwLockWriteGuard<'_, T>> {
        match &self.imp {
            Imp::Real(l) => l.try_write().map(|g| RwLockWriteGuard {
                real: Some(g),
                sim: None,
            }),
            Imp::Sim(s, c) => {
                let e = s.exec("RwLock");
                e.point();
                acquire(e, s, true, false).then_some(RwLockWriteGuard {
                    real: None,
                    sim: Some((s, c)),
                })
            }
        }
    }
}

/// Acquires for reading or writing; `count` is 1 while a writer holds the lock.
fn acquire(e: &Execution, s: &SimRef, write: bool, block: bool) -> bool {
    let who = me(e, "RwLock");
    let op = if write { "write" } else { "read" };
    let mut retry = false;
    loop {
        let mut st = e.lock();
        let o = &mut st.objects[s.id];
        let free = if write {
            o.holders.is_empty()
        } else {
            o.count == 0
        };
        if free {
            o.holders.push(who);
            if write {
                o.count = 1;
            }
            let outcome = if retry {
                "acquired after waiting"
            } else {
                "acquired"
            };
            st.push_event(Some(s.id), op.into(), Some(outcome.into()), false);
            return true;
        }
        if !block {
            st.push_event(
                Some(s.id),
                format!("try_{op}").into(),
                Some("busy".into()),
                false,
            );
            return false;
        }
        o.waiters.push_back(who);
        st.push_event(Some(s.id), op.into(), Some("blocked".into()), false);
        drop(st);
        e.block(Wait::on(WaitKind::Acquire, s.id), None);
        retry = true;
    }
}

fn release(s: &SimRef, write: bool) {
    let Some(e) = runtime::current() else { return };
    e.release_point();
    let who = e.me();
    let mut st = e.lock();
    let o = &mut st.objects[s.id];
    if let Some(pos) = o.holders.iter().position(|&h| Some(h) == who) {
        o.holders.remove(pos);
    } else {
        o.holders.pop();
    }
    if write {
        o.count = 0;
    }
    if o.holders.is_empty() {
        let waiters: Vec<_> = o.waiters.drain(..).collect();
        for w in waiters {
            st.wake(w);
        }
    }
    let op = if write { "write unlock" } else { "read unlock" };
    st.push_event(Some(s.id), op.into(), None, false);
}

/// A read guard of a [`RwLock`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockReadGuard<'a, T> {
    real: Option<parking_lot::RwLockReadGuard<'a, T>>,
    sim: Option<(&'a SimRef, &'a UnsafeCell<T>)>,
}

impl<T> Deref for RwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match (&self.real, &self.sim) {
            (Some(g), _) => g,
            // SAFETY: the simulated lock is held for reading by this thread, so no
            // writer holds a `&mut T`; threads run one at a time on one OS thread.
            (None, Some((_, c))) => unsafe { &*c.get() },
            (None, None) => unreachable!(),
        }
    }
}

impl<T> Drop for RwLockReadGuard<'_, T> {
    fn drop(&mut self) {
        if let Some((s, _)) = self.sim {
            release(s, false);
        }
    }
}

/// A write guard of a [`RwLock`].
#[must_use = "if unused the RwLock will immediately unlock"]
pub struct RwLockWriteGuard<'a, T> {
    real: Option<parking_lot::RwLockWriteGuard<'a, T>>,
    sim: Option<(&'a SimRef, &'a UnsafeCell<T>)>,
}

impl<T> Deref for RwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match (&self.real, &self.sim) {
            (Some(g), _) => g,
            // SAFETY: the simulated lock is held for writing by this thread: exclusive.
            (None, Some((_, c))) => unsafe { &*c.get() },
            (None, None) => unreachable!(),
        }
    }
}

impl<T> DerefMut for RwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match (&mut self.real, &self.sim) {
            (Some(g), _) => &mut *g,
            // SAFETY: the simulated lock is held for writing by this thread: exclusive,
            // and `&mut self` makes this the only reference handed out.
            (None, Some((_, c))) => unsafe { &mut *c.get() },
            (None, None) => unreachable!(),
        }
    }
}

impl<T> Drop for RwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        if let Some((s, _)) = self.sim {
            release(s, true);
        }
    }
}

impl<T: Default> Default for RwLock<T> {
    #[track_caller]
    fn default() -> Self {
        RwLock::new(T::default())
    }
}
