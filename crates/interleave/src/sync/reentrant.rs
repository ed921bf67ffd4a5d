use std::ops::Deref;
use std::panic::Location;

use super::{SimRef, me};
use crate::runtime::{self, Wait, WaitKind};
use crate::site::Naming;

enum Imp<T> {
    Real(parking_lot::ReentrantMutex<T>),
    Sim(SimRef, T),
}

/// A mutex the holding thread may lock again (parking_lot's `ReentrantMutex`); it gives
/// shared access only. In a simulation the recursion depth is counted and another thread
/// blocks until the depth falls back to zero.
///
/// # Examples
///
/// ```
/// use interleave::sync::ReentrantMutex;
/// let m = ReentrantMutex::new(1);
/// let a = m.lock();
/// let b = m.lock(); // same thread: no deadlock
/// assert_eq!(*a + *b, 2);
/// ```
pub struct ReentrantMutex<T> {
    imp: Imp<T>,
}

// SAFETY: like parking_lot's, the value is only shared (`&T`) by one thread at a time,
// so T: Send suffices; the simulated variant is used from one OS thread only.
unsafe impl<T: Send> Send for ReentrantMutex<T> {}
// SAFETY: see above.
unsafe impl<T: Send> Sync for ReentrantMutex<T> {}

impl<T> std::fmt::Debug for ReentrantMutex<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReentrantMutex { .. }")
    }
}

impl<T> ReentrantMutex<T> {
    /// Creates the mutex. In a simulation it is named in traces after what the creating
    /// line binds it to (`table: ReentrantMutex::new(..)` is `table`).
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self::build(value, Naming::Site(Location::caller()))
    }

    /// Creates the mutex with an explicit name for traces: an override for tests.
    pub fn named(name: impl Into<String>, value: T) -> Self {
        Self::build(value, Naming::Explicit(name.into()))
    }

    fn build(value: T, naming: Naming) -> Self {
        let imp = match runtime::current() {
            None => Imp::Real(parking_lot::ReentrantMutex::new(value)),
            Some(e) => Imp::Sim(SimRef::new(e, "ReentrantMutex", naming), value),
        };
        ReentrantMutex { imp }
    }

    /// Locks, blocking while another thread holds the mutex.
    pub fn lock(&self) -> ReentrantMutexGuard<'_, T> {
        match &self.imp {
            Imp::Real(m) => ReentrantMutexGuard {
                real: Some(match m.try_lock() {
                    Some(g) => g,
                    None => {
                        runtime::real_block_in_simulation("ReentrantMutex");
                        m.lock()
                    }
                }),
                sim: None,
            },
            Imp::Sim(s, v) => {
                let e = s.exec("ReentrantMutex");
                e.point();
                let who = me(e, "ReentrantMutex::lock");
                loop {
                    let mut st = e.lock();
                    let o = &mut st.objects[s.id];
                    if o.holders.is_empty() || o.holders[0] == who {
                        if o.holders.is_empty() {
                            o.holders.push(who);
                        }
                        o.count += 1;
                        let depth = format!("depth {}", o.count);
                        st.push_event(Some(s.id), "lock".into(), Some(depth.into()), false);
                        break;
                    }
                    o.waiters.push_back(who);
                    st.push_event(Some(s.id), "lock".into(), Some("blocked".into()), false);
                    drop(st);
                    e.block(Wait::on(WaitKind::Acquire, s.id), None);
                }
                ReentrantMutexGuard {
                    real: None,
                    sim: Some((s, v)),
                }
            }
        }
    }
}

/// A guard of a [`ReentrantMutex`]: shared access to the value.
#[must_use = "if unused the ReentrantMutex will immediately unlock"]
pub struct ReentrantMutexGuard<'a, T> {
    real: Option<parking_lot::ReentrantMutexGuard<'a, T>>,
    sim: Option<(&'a SimRef, &'a T)>,
}

impl<T> Deref for ReentrantMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        match (&self.real, &self.sim) {
            (Some(g), _) => g,
            (None, Some((_, v))) => v,
            (None, None) => unreachable!(),
        }
    }
}

impl<T> Drop for ReentrantMutexGuard<'_, T> {
    fn drop(&mut self) {
        if let Some((s, _)) = self.sim
            && let Some(e) = runtime::current()
        {
            e.release_point();
            let mut st = e.lock();
            let o = &mut st.objects[s.id];
            o.count -= 1;
            if o.count == 0 {
                o.holders.clear();
                let waiters: Vec<_> = o.waiters.drain(..).collect();
                for w in waiters {
                    st.wake(w);
                }
            }
            st.push_event(Some(s.id), "unlock".into(), None, false);
        }
    }
}

impl<T: Default> Default for ReentrantMutex<T> {
    #[track_caller]
    fn default() -> Self {
        ReentrantMutex::new(T::default())
    }
}
