//! The textbook semaphore: Dijkstra's P and V, as the Little Book of Semaphores,
//! Tanenbaum and OSTEP write their solutions with.
//!
//! Like [`crate::monitor`], this is part of the textbook layer: parking_lot, std and
//! crossbeam-channel have no semaphore, so code that uses it does not become real Rust by
//! changing imports (build one from a `Mutex<usize>` and a `Condvar` for that, as
//! OSTEP's chapter 31 does).
//!
//! [`Semaphore::acquire`] is P (wait, down): it takes a permit, blocking while there is
//! none. [`Semaphore::release`] is V (signal, up): it gives one back; if threads are
//! blocked in `acquire`, the longest-waiting one gets that permit at once (a strong,
//! FIFO semaphore: a released permit cannot be stolen by a thread arriving later). In a
//! simulation both are scheduling points and trace events, a thread blocked in `acquire`
//! shows in deadlock reports as waiting on the semaphore, and the semaphore is named
//! after what its creating line binds it to (`let mutex = Semaphore::new(1)` is `mutex`).
//!
//! # Examples
//!
//! ```
//! use interleave::semaphore::Semaphore;
//! use interleave::sync::Arc;
//! use interleave::thread;
//!
//! // A rendezvous (Little Book of Semaphores, 3.3): each thread signals its arrival and
//! // waits for the other's.
//! let a_arrived = Arc::new(Semaphore::new(0));
//! let b_arrived = Arc::new(Semaphore::new(0));
//! let (a, b) = (a_arrived.clone(), b_arrived.clone());
//! let t = thread::spawn(move || {
//!     a.release();
//!     b.acquire();
//! });
//! b_arrived.release();
//! a_arrived.acquire();
//! t.join().unwrap();
//! ```

use std::panic::Location;

use crate::runtime::{self, Wait, WaitKind};
use crate::site::Naming;
use crate::sync::{SimRef, me};

enum Imp {
    Real {
        permits: parking_lot::Mutex<usize>,
        available: parking_lot::Condvar,
    },
    Sim(SimRef),
}

/// A counting semaphore: `acquire` (P) and `release` (V). See the module documentation.
pub struct Semaphore {
    imp: Imp,
}

impl std::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.imp {
            Imp::Real { permits, .. } => write!(f, "Semaphore({})", *permits.lock()),
            Imp::Sim(_) => f.write_str("Semaphore { .. }"),
        }
    }
}

impl Semaphore {
    /// A semaphore holding `permits` permits (`Semaphore::new(1)` is a lock, `new(0)` a
    /// signal that has not happened yet).
    #[track_caller]
    pub fn new(permits: usize) -> Self {
        Self::build(permits, Naming::Site(Location::caller()))
    }

    /// A semaphore with an explicit name for traces: an override for tests.
    pub fn named(name: impl Into<String>, permits: usize) -> Self {
        Self::build(permits, Naming::Explicit(name.into()))
    }

    fn build(permits: usize, naming: Naming) -> Self {
        let imp = match runtime::current() {
            None => Imp::Real {
                permits: parking_lot::Mutex::new(permits),
                available: parking_lot::Condvar::new(),
            },
            Some(e) => {
                let s = SimRef::new(e, "Semaphore", naming);
                e.lock().objects[s.id].count = permits;
                Imp::Sim(s)
            }
        };
        Semaphore { imp }
    }

    /// P (wait, down): takes a permit, blocking while there is none.
    pub fn acquire(&self) {
        match &self.imp {
            Imp::Real { permits, available } => {
                let mut p = permits.lock();
                if *p == 0 {
                    runtime::real_block_in_simulation("Semaphore");
                }
                while *p == 0 {
                    available.wait(&mut p);
                }
                *p -= 1;
            }
            Imp::Sim(s) => {
                let e = s.exec("Semaphore");
                e.point();
                let who = me(e, "Semaphore::acquire");
                let mut st = e.lock();
                let o = &mut st.objects[s.id];
                if o.count > 0 {
                    o.count -= 1;
                    o.holders.retain(|&h| h != who);
                    o.holders.push(who);
                    let left = format!("acquired ({} left)", o.count);
                    st.push_event(Some(s.id), "acquire".into(), Some(left.into()), false);
                    return;
                }
                o.waiters.push_back(who);
                st.push_event(
                    Some(s.id),
                    "acquire".into(),
                    Some("blocked (no permit)".into()),
                    false,
                );
                drop(st);
                // `release` hands its permit to the first waiter and removes it from the
                // queue: being out of the queue means holding the permit.
                loop {
                    e.block(Wait::on(WaitKind::Permit, s.id), None);
                    let st = e.lock();
                    if !st.objects[s.id].waiters.contains(&who) {
                        break;
                    }
                }
                let mut st = e.lock();
                st.push_event(
                    Some(s.id),
                    "acquire".into(),
                    Some("acquired after waiting".into()),
                    false,
                );
            }
        }
    }

    /// Takes a permit if one is available, without blocking; returns whether it did.
    pub fn try_acquire(&self) -> bool {
        match &self.imp {
            Imp::Real { permits, .. } => {
                let mut p = permits.lock();
                let got = *p > 0;
                if got {
                    *p -= 1;
                }
                got
            }
            Imp::Sim(s) => {
                let e = s.exec("Semaphore");
                e.point();
                let who = me(e, "Semaphore::try_acquire");
                let mut st = e.lock();
                let o = &mut st.objects[s.id];
                let got = o.count > 0;
                if got {
                    o.count -= 1;
                    o.holders.retain(|&h| h != who);
                    o.holders.push(who);
                }
                let outcome = if got { "acquired" } else { "no permit" };
                st.push_event(
                    Some(s.id),
                    "try_acquire".into(),
                    Some(outcome.into()),
                    false,
                );
                got
            }
        }
    }

    /// V (signal, up): gives a permit back; the longest-waiting `acquire`, if any, gets
    /// it at once. Never blocks.
    pub fn release(&self) {
        match &self.imp {
            Imp::Real { permits, available } => {
                *permits.lock() += 1;
                available.notify_one();
            }
            Imp::Sim(s) => {
                let e = s.exec("Semaphore");
                e.point();
                let who = e.me();
                let mut st = e.lock();
                let o = &mut st.objects[s.id];
                if let Some(w) = who {
                    o.holders.retain(|&h| h != w);
                }
                let outcome = match o.waiters.pop_front() {
                    Some(w) => {
                        o.holders.push(w);
                        st.wake(w);
                        format!("hands the permit to {}", st.thread_name(w))
                    }
                    None => {
                        o.count += 1;
                        format!("{} available", o.count)
                    }
                };
                st.push_event(Some(s.id), "release".into(), Some(outcome.into()), false);
            }
        }
    }

    /// How many permits are available now. A scheduling point in a simulation.
    pub fn available_permits(&self) -> usize {
        match &self.imp {
            Imp::Real { permits, .. } => *permits.lock(),
            Imp::Sim(s) => {
                let e = s.exec("Semaphore");
                e.point();
                e.lock().objects[s.id].count
            }
        }
    }
}
