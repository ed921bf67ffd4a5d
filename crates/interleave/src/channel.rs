//! Channels with crossbeam-channel's API: [`bounded`] (`bounded(0)` is a rendezvous),
//! [`unbounded`], [`Sender`], [`Receiver`], disconnection when the last sender or
//! receiver is dropped, and crossbeam's error types.
//!
//! In a simulation every `send` and `recv` is a scheduling point; a full channel blocks
//! the sender, an empty one the receiver, and `recv_timeout` uses the virtual clock. In a
//! rendezvous channel the sender waits until its message has been received.
//!
//! # Examples
//!
//! ```
//! use interleave::channel;
//! let (tx, rx) = channel::bounded(1);
//! let t = interleave::thread::spawn(move || {
//!     for i in 0..3 {
//!         tx.send(i).unwrap();
//!     }
//! });
//! assert_eq!(rx.iter().collect::<Vec<_>>(), vec![0, 1, 2]);
//! t.join().unwrap();
//! ```

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

pub use crossbeam_channel::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

use crate::runtime::execution::Tid;
use crate::runtime::{self, Execution, Wait, WaitKind};
use crate::sync::{SimRef, me};

struct ChanState<T> {
    queue: VecDeque<(u64, T)>,
    cap: Option<usize>,
    senders: usize,
    /// Which thread holds each live sender (by the sender's key): the one that created,
    /// cloned or last sent with it. A deadlock diagnosis names them (`server waits to
    /// receive on requests, whose Sender is still held by main`).
    holders: Vec<(u64, Option<Tid>)>,
    next_key: u64,
    receivers: usize,
    sent: u64,
    recv_waiters: VecDeque<Tid>,
    send_waiters: VecDeque<Tid>,
}

struct SimChan<T> {
    sim: SimRef,
    st: parking_lot::Mutex<ChanState<T>>,
}

impl<T> SimChan<T> {
    fn exec(&self) -> &'static Execution {
        self.sim.exec("channel")
    }

    /// Records that sender `key` is now held by `who` (`None`: dropped), and tells the
    /// scheduler which threads hold senders.
    fn held(&self, e: &Execution, key: u64, who: Option<Option<Tid>>) {
        if e.generation != self.sim.generation() {
            return;
        }
        let mut st = self.st.lock();
        match who {
            Some(t) => match st.holders.iter_mut().find(|(k, _)| *k == key) {
                Some(h) => h.1 = t,
                None => st.holders.push((key, t)),
            },
            None => st.holders.retain(|(k, _)| *k != key),
        }
        let mut tids: Vec<Tid> = st.holders.iter().filter_map(|(_, t)| *t).collect();
        tids.dedup();
        drop(st);
        e.lock().objects[self.sim.id].holders = tids;
    }

    fn event(&self, e: &Execution, op: &str, outcome: &str) {
        let outcome = (!outcome.is_empty()).then(|| outcome.to_string().into());
        e.event(Some(self.sim.id), op.to_string(), outcome, false);
    }

    fn wake_all(e: &Execution, q: &mut VecDeque<Tid>) {
        for t in q.drain(..) {
            e.wake(t);
        }
    }

    fn send(&self, v: T, deadline: Option<u64>, try_only: bool) -> Result<(), (T, bool)> {
        let e = self.exec();
        e.point();
        let who = me(e, "Sender::send");
        let mut v = Some(v);
        loop {
            let mut st = self.st.lock();
            if st.receivers == 0 {
                drop(st);
                self.event(e, "send", "disconnected");
                return Err((v.take().expect("value"), true));
            }
            let room = match st.cap {
                None => true,
                Some(0) => st.queue.is_empty() && (!try_only || !st.recv_waiters.is_empty()),
                Some(n) => st.queue.len() < n,
            };
            if room {
                st.sent += 1;
                let seq = st.sent;
                st.queue.push_back((seq, v.take().expect("value")));
                Self::wake_all(e, &mut st.recv_waiters);
                let rendezvous = st.cap == Some(0);
                drop(st);
                if !rendezvous || try_only {
                    self.event(e, "send", "");
                    return Ok(());
                }
                self.event(e, "send", "waits for a receiver");
                // Wait until the message is taken.
                loop {
                    let mut st = self.st.lock();
                    if let Some(pos) = st.queue.iter().position(|(s, _)| *s == seq) {
                        if st.receivers == 0 {
                            let (_, v) = st.queue.remove(pos).expect("present");
                            return Err((v, true));
                        }
                        st.send_waiters.push_back(who);
                        drop(st);
                        e.block(Wait::on(WaitKind::Send, self.sim.id), None);
                    } else {
                        return Ok(());
                    }
                }
            }
            if try_only {
                drop(st);
                self.event(e, "try_send", "full");
                return Err((v.take().expect("value"), false));
            }
            st.send_waiters.push_back(who);
            drop(st);
            self.event(e, "send", "blocked (full)");
            if e.block(Wait::on(WaitKind::Send, self.sim.id), deadline) {
                self.st.lock().send_waiters.retain(|&w| w != who);
                self.event(e, "send", "timed out");
                return Err((v.take().expect("value"), false));
            }
        }
    }

    /// Err(true): disconnected; Err(false): empty (try) or timed out.
    fn recv(&self, deadline: Option<u64>, try_only: bool) -> Result<T, bool> {
        let e = self.exec();
        e.point();
        let who = me(e, "Receiver::recv");
        loop {
            let mut st = self.st.lock();
            if let Some((_, v)) = st.queue.pop_front() {
                Self::wake_all(e, &mut st.send_waiters);
                drop(st);
                self.event(e, "recv", "");
                return Ok(v);
            }
            if st.senders == 0 {
                drop(st);
                self.event(e, "recv", "disconnected");
                return Err(true);
            }
            if try_only {
                drop(st);
                self.event(e, "try_recv", "empty");
                return Err(false);
            }
            st.recv_waiters.push_back(who);
            drop(st);
            self.event(e, "recv", "blocked (empty)");
            if e.block(Wait::on(WaitKind::Recv, self.sim.id), deadline) {
                self.st.lock().recv_waiters.retain(|&w| w != who);
                self.event(e, "recv", "timed out");
                return Err(false);
            }
        }
    }
}

enum SImp<T> {
    Real(crossbeam_channel::Sender<T>),
    Sim(Arc<SimChan<T>>),
}

enum RImp<T> {
    Real(crossbeam_channel::Receiver<T>),
    Sim(Arc<SimChan<T>>),
}

/// The sending side of a channel; clone it for more senders.
pub struct Sender<T> {
    imp: SImp<T>,
    /// Which sender of its channel this is (simulated channels only).
    key: u64,
}

/// The receiving side of a channel; clone it for more receivers.
pub struct Receiver<T> {
    imp: RImp<T>,
}

impl<T> std::fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sender { .. }")
    }
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Receiver { .. }")
    }
}

fn make<T>(cap: Option<usize>, name: Option<String>) -> (Sender<T>, Receiver<T>) {
    match runtime::current() {
        None => {
            let (s, r) = match cap {
                Some(n) => crossbeam_channel::bounded(n),
                None => crossbeam_channel::unbounded(),
            };
            (
                Sender {
                    imp: SImp::Real(s),
                    key: 0,
                },
                Receiver { imp: RImp::Real(r) },
            )
        }
        Some(e) => {
            let chan = Arc::new(SimChan {
                sim: SimRef::new(e, "Channel", name),
                st: parking_lot::Mutex::new(ChanState {
                    queue: VecDeque::new(),
                    cap,
                    senders: 1,
                    holders: Vec::new(),
                    next_key: 1,
                    receivers: 1,
                    sent: 0,
                    recv_waiters: VecDeque::new(),
                    send_waiters: VecDeque::new(),
                }),
            });
            chan.held(e, 0, Some(e.me()));
            (
                Sender {
                    imp: SImp::Sim(chan.clone()),
                    key: 0,
                },
                Receiver {
                    imp: RImp::Sim(chan),
                },
            )
        }
    }
}

/// A channel holding at most `cap` messages; `bounded(0)` is a rendezvous channel.
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    make(Some(cap), None)
}

/// A bounded channel with a name for traces.
pub fn bounded_named<T>(name: impl Into<String>, cap: usize) -> (Sender<T>, Receiver<T>) {
    make(Some(cap), Some(name.into()))
}

/// A channel of unlimited capacity.
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    make(None, None)
}

/// An unbounded channel with a name for traces.
pub fn unbounded_named<T>(name: impl Into<String>) -> (Sender<T>, Receiver<T>) {
    make(None, Some(name.into()))
}

fn deadline_after(timeout: Duration) -> Option<u64> {
    runtime::current().map(|e| e.lock().clock.saturating_add(timeout.as_nanos() as u64))
}

impl<T> Sender<T> {
    /// Sends a message, blocking while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if every receiver is gone.
    pub fn send(&self, msg: T) -> Result<(), SendError<T>> {
        match &self.imp {
            SImp::Real(s) => match s.try_send(msg) {
                Ok(()) => Ok(()),
                Err(TrySendError::Disconnected(m)) => Err(SendError(m)),
                Err(TrySendError::Full(m)) => {
                    runtime::real_block_in_simulation("channel");
                    s.send(m)
                }
            },
            SImp::Sim(c) => {
                self.used(c);
                c.send(msg, None, false).map_err(|(v, _)| SendError(v))
            }
        }
    }

    /// Sends without blocking.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Disconnected`], with the message.
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        match &self.imp {
            SImp::Real(s) => s.try_send(msg),
            SImp::Sim(c) => self.used(c).send(msg, None, true).map_err(|(v, disc)| {
                if disc {
                    TrySendError::Disconnected(v)
                } else {
                    TrySendError::Full(v)
                }
            }),
        }
    }

    /// Sends, waiting at most `timeout` for room (virtual time in a simulation).
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Disconnected`].
    pub fn send_timeout(&self, msg: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        match &self.imp {
            SImp::Real(s) => s.send_timeout(msg, timeout),
            SImp::Sim(c) => self
                .used(c)
                .send(msg, deadline_after(timeout), false)
                .map_err(|(v, disc)| {
                    if disc {
                        SendTimeoutError::Disconnected(v)
                    } else {
                        SendTimeoutError::Timeout(v)
                    }
                }),
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        match &self.imp {
            SImp::Real(s) => Sender {
                imp: SImp::Real(s.clone()),
                key: 0,
            },
            SImp::Sim(c) => {
                let key = {
                    let mut st = c.st.lock();
                    st.senders += 1;
                    st.next_key += 1;
                    st.next_key
                };
                if let Some(e) = runtime::current() {
                    c.held(e, key, Some(e.me()));
                }
                Sender {
                    imp: SImp::Sim(c.clone()),
                    key,
                }
            }
        }
    }
}

impl<T> Sender<T> {
    /// The current thread holds this sender now (it sends with it).
    fn used<'a>(&self, c: &'a Arc<SimChan<T>>) -> &'a Arc<SimChan<T>> {
        if let Some(e) = runtime::current()
            && let Some(me) = e.me()
            && !c.st.lock().holders.contains(&(self.key, Some(me)))
        {
            c.held(e, self.key, Some(Some(me)));
        }
        c
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let SImp::Sim(c) = &self.imp
            && let Some(e) = runtime::current()
        {
            c.held(e, self.key, None);
            let mut st = c.st.lock();
            st.senders -= 1;
            if st.senders == 0 {
                SimChan::<T>::wake_all(e, &mut st.recv_waiters);
                drop(st);
                if e.me().is_some() {
                    c.event(e, "drop last sender", "disconnected");
                }
            }
        }
    }
}

impl<T> Receiver<T> {
    /// Receives a message, blocking while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is empty and every sender is gone.
    pub fn recv(&self) -> Result<T, RecvError> {
        match &self.imp {
            RImp::Real(r) => match r.try_recv() {
                Ok(v) => Ok(v),
                Err(TryRecvError::Disconnected) => Err(RecvError),
                Err(TryRecvError::Empty) => {
                    runtime::real_block_in_simulation("channel");
                    r.recv()
                }
            },
            RImp::Sim(c) => c.recv(None, false).map_err(|_| RecvError),
        }
    }

    /// Receives without blocking.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Disconnected`].
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.imp {
            RImp::Real(r) => r.try_recv(),
            RImp::Sim(c) => c.recv(None, true).map_err(|disc| {
                if disc {
                    TryRecvError::Disconnected
                } else {
                    TryRecvError::Empty
                }
            }),
        }
    }

    /// Receives, waiting at most `timeout` (virtual time in a simulation).
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Disconnected`].
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        match &self.imp {
            RImp::Real(r) => r.recv_timeout(timeout),
            RImp::Sim(c) => c.recv(deadline_after(timeout), false).map_err(|disc| {
                if disc {
                    RecvTimeoutError::Disconnected
                } else {
                    RecvTimeoutError::Timeout
                }
            }),
        }
    }

    /// A blocking iterator over messages, ending when the channel is disconnected.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// A non-blocking iterator over the messages available now.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        match &self.imp {
            RImp::Real(r) => Receiver {
                imp: RImp::Real(r.clone()),
            },
            RImp::Sim(c) => {
                c.st.lock().receivers += 1;
                Receiver {
                    imp: RImp::Sim(c.clone()),
                }
            }
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let RImp::Sim(c) = &self.imp
            && let Some(e) = runtime::current()
        {
            let mut st = c.st.lock();
            st.receivers -= 1;
            if st.receivers == 0 {
                SimChan::<T>::wake_all(e, &mut st.send_waiters);
            }
        }
    }
}

/// Blocking iterator returned by [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// Non-blocking iterator returned by [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
