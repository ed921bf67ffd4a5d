//! Channels with crossbeam-channel's API: [`bounded`] (`bounded(0)` is a rendezvous),
//! [`unbounded`], [`after`], [`tick`], [`never`], [`Sender`], [`Receiver`],
//! disconnection when the last sender or receiver is dropped, [`select!`] and
//! [`Select`], and crossbeam's error types.
//!
//! In a simulation every `send` and `recv` is a scheduling point; a full channel blocks
//! the sender, an empty one the receiver, and timeouts, [`after`] and [`tick`] use the
//! virtual clock. In a rendezvous channel the sender waits until its message has been
//! received. A [`select!`] that finds no operation ready blocks on all of them at once,
//! and a deadlock report names every channel it waits on. When several operations are
//! ready, crossbeam picks one at random; the simulation picks one pseudo-randomly from
//! the schedule, so a replay picks the same one.
//!
//! A channel is named in traces after what its creating line binds it to:
//! `let (results_tx, results_rx) = unbounded();` is `results`.
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

use std::borrow::Cow;
use std::collections::VecDeque;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

pub use crossbeam_channel::{
    RecvError, RecvTimeoutError, SelectTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySelectError, TrySendError,
};

use crate::runtime::execution::Tid;
use crate::runtime::{self, Execution, ObjId, Wait, WaitKind};
use crate::site::Naming;
use crate::sync::{SimRef, me};
use crate::time::Instant;

/// A timer channel's schedule ([`after`], [`tick`]), in virtual nanoseconds.
struct Timer<T> {
    /// When the next message is due.
    next: u64,
    /// `Some` for [`tick`]: the period; `None` for [`after`]: one message only.
    period: Option<u64>,
    /// [`after`]'s message was taken.
    fired: bool,
    /// Makes the message from its delivery time.
    make: fn(u64) -> T,
}

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
    timer: Option<Timer<T>>,
}

impl<T> ChanState<T> {
    /// A message can be taken now (or the time of a timer has come).
    fn has_message(&self, now: u64) -> bool {
        !self.queue.is_empty()
            || self
                .timer
                .as_ref()
                .is_some_and(|t| !t.fired && now >= t.next)
    }

    /// Takes the next message, if any.
    fn take(&mut self, now: u64) -> Option<T> {
        if let Some((_, v)) = self.queue.pop_front() {
            return Some(v);
        }
        let t = self.timer.as_mut()?;
        if t.fired || now < t.next {
            return None;
        }
        let v = (t.make)(t.next);
        match t.period {
            Some(p) => t.next = now.saturating_add(p),
            None => t.fired = true,
        }
        Some(v)
    }

    /// Empty and no sender left: `recv` fails. Timer channels never disconnect.
    fn recv_disconnected(&self) -> bool {
        self.queue.is_empty() && self.senders == 0 && self.timer.is_none()
    }

    /// When a blocked receiver must look again (a timer's next message).
    fn wake_at(&self) -> Option<u64> {
        self.timer.as_ref().filter(|t| !t.fired).map(|t| t.next)
    }

    /// A send would not block (or would fail at once).
    fn send_ready(&self) -> bool {
        self.receivers == 0
            || match self.cap {
                None => true,
                Some(0) => self.queue.is_empty() && !self.recv_waiters.is_empty(),
                Some(n) => self.queue.len() < n,
            }
    }

    fn len(&self, now: u64) -> usize {
        self.queue.len() + usize::from(self.timer.is_some() && self.has_message(now))
    }
}

struct SimChan<T> {
    sim: SimRef,
    st: parking_lot::Mutex<ChanState<T>>,
}

/// Why a simulated send or receive did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fail {
    Disconnected,
    /// Full or empty (a `try_` operation).
    NotReady,
    Timeout,
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

    /// Sends `v`; blocks unless `try_only`, until `deadline` if given. `point`: whether
    /// the call is a scheduling point (not when completing a selected operation).
    fn send(
        &self,
        v: T,
        deadline: Option<u64>,
        try_only: bool,
        point: bool,
    ) -> Result<(), (T, Fail)> {
        let e = self.exec();
        if point {
            e.point();
        }
        let who = me(e, "Sender::send");
        let mut v = Some(v);
        loop {
            let mut st = self.st.lock();
            if st.receivers == 0 {
                drop(st);
                self.event(e, "send", "disconnected");
                return Err((v.take().expect("value"), Fail::Disconnected));
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
                            return Err((v, Fail::Disconnected));
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
                return Err((v.take().expect("value"), Fail::NotReady));
            }
            st.send_waiters.push_back(who);
            drop(st);
            self.event(e, "send", "blocked (full)");
            if e.block(Wait::on(WaitKind::Send, self.sim.id), deadline) {
                self.st.lock().send_waiters.retain(|&w| w != who);
                self.event(e, "send", "timed out");
                return Err((v.take().expect("value"), Fail::Timeout));
            }
        }
    }

    /// Receives; blocks unless `try_only`, until `deadline` if given.
    fn recv(&self, deadline: Option<u64>, try_only: bool, point: bool) -> Result<T, Fail> {
        let e = self.exec();
        if point {
            e.point();
        }
        let who = me(e, "Receiver::recv");
        let mut waited = false;
        loop {
            let now = e.lock().clock;
            let mut st = self.st.lock();
            if let Some(v) = st.take(now) {
                Self::wake_all(e, &mut st.send_waiters);
                drop(st);
                self.event(e, "recv", "");
                return Ok(v);
            }
            if st.recv_disconnected() {
                drop(st);
                self.event(e, "recv", "disconnected");
                return Err(Fail::Disconnected);
            }
            if try_only {
                drop(st);
                self.event(e, "try_recv", "empty");
                return Err(Fail::NotReady);
            }
            if waited && deadline.is_some_and(|d| now >= d) {
                drop(st);
                self.event(e, "recv", "timed out");
                return Err(Fail::Timeout);
            }
            st.recv_waiters.push_back(who);
            let wake_at = match (deadline, st.wake_at()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            drop(st);
            if !waited {
                self.event(e, "recv", "blocked (empty)");
            }
            e.block(Wait::on(WaitKind::Recv, self.sim.id), wake_at);
            self.st.lock().recv_waiters.retain(|&w| w != who);
            waited = true;
        }
    }
}

/// A simulated channel as a `select!` sees it, whatever its message type.
trait Selectable {
    fn obj(&self) -> ObjId;
    fn generation(&self) -> u64;
    /// The operation would complete without blocking (or fail at once).
    fn ready(&self, send: bool, now: u64) -> bool;
    fn wait(&self, who: Tid, send: bool);
    fn unwait(&self, who: Tid, send: bool);
    /// When a blocked receiver must look again.
    fn wake_at(&self, send: bool) -> Option<u64>;
}

impl<T> Selectable for SimChan<T> {
    fn obj(&self) -> ObjId {
        self.sim.id
    }

    fn generation(&self) -> u64 {
        self.sim.generation()
    }

    fn ready(&self, send: bool, now: u64) -> bool {
        let st = self.st.lock();
        if send {
            st.send_ready()
        } else {
            st.has_message(now) || st.recv_disconnected()
        }
    }

    fn wait(&self, who: Tid, send: bool) {
        let mut st = self.st.lock();
        if send {
            st.send_waiters.push_back(who);
        } else {
            st.recv_waiters.push_back(who);
        }
    }

    fn unwait(&self, who: Tid, send: bool) {
        let mut st = self.st.lock();
        if send {
            st.send_waiters.retain(|&w| w != who);
        } else {
            st.recv_waiters.retain(|&w| w != who);
        }
    }

    fn wake_at(&self, send: bool) -> Option<u64> {
        if send { None } else { self.st.lock().wake_at() }
    }
}

enum SImp<T> {
    Real(crossbeam_channel::Sender<T>),
    Sim(Arc<SimChan<T>>),
}

enum RImp<T> {
    Real(crossbeam_channel::Receiver<T>),
    /// A real timer channel ([`after`], [`tick`]): crossbeam's, with the std instant
    /// turned into this crate's [`Instant`].
    Time(
        crossbeam_channel::Receiver<std::time::Instant>,
        fn(std::time::Instant) -> T,
    ),
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

fn sim_chan<T>(
    e: &Execution,
    cap: Option<usize>,
    naming: Naming,
    senders: usize,
    timer: Option<Timer<T>>,
) -> Arc<SimChan<T>> {
    Arc::new(SimChan {
        sim: SimRef::new(e, "Channel", naming),
        st: parking_lot::Mutex::new(ChanState {
            queue: VecDeque::new(),
            cap,
            senders,
            holders: Vec::new(),
            next_key: 1,
            receivers: 1,
            sent: 0,
            recv_waiters: VecDeque::new(),
            send_waiters: VecDeque::new(),
            timer,
        }),
    })
}

fn make<T>(cap: Option<usize>, naming: Naming) -> (Sender<T>, Receiver<T>) {
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
            let chan = sim_chan(e, cap, naming, 1, None);
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
#[track_caller]
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    make(Some(cap), Naming::Site(Location::caller()))
}

/// A bounded channel with an explicit name for traces: an override for tests. Student
/// code uses [`bounded`], which crossbeam-channel has.
pub fn bounded_named<T>(name: impl Into<String>, cap: usize) -> (Sender<T>, Receiver<T>) {
    make(Some(cap), Naming::Explicit(name.into()))
}

/// A channel of unlimited capacity.
#[track_caller]
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    make(None, Naming::Site(Location::caller()))
}

/// An unbounded channel with an explicit name for traces: an override for tests.
/// Student code uses [`unbounded`], which crossbeam-channel has.
pub fn unbounded_named<T>(name: impl Into<String>) -> (Sender<T>, Receiver<T>) {
    make(None, Naming::Explicit(name.into()))
}

/// Names a timer channel after its binding, or after what it is (`after(1s)`).
fn timer_naming(loc: &'static Location<'static>, what: String) -> Naming {
    match crate::site::site_name(loc, "Channel") {
        Some(_) => Naming::Site(loc),
        None => Naming::Explicit(what),
    }
}

fn timer_channel(
    e: &Execution,
    naming: Naming,
    after: Duration,
    period: Option<Duration>,
) -> Receiver<Instant> {
    let now = e.lock().clock;
    let nanos = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let timer = Timer {
        next: now.saturating_add(nanos(after)),
        period: period.map(nanos),
        fired: false,
        make: Instant::from_sim_nanos,
    };
    let chan = sim_chan(e, Some(1), naming, 0, Some(timer));
    Receiver {
        imp: RImp::Sim(chan),
    }
}

/// A channel that delivers one message, the time of delivery, once `duration` has passed
/// (virtual time in a simulation); it never disconnects. As crossbeam's `after`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use interleave::channel::{after, select, unbounded};
///
/// let (_tx, rx) = unbounded::<u32>();
/// let timeout = after(Duration::from_millis(10));
/// select! {
///     recv(rx) -> msg => panic!("nobody sends: {msg:?}"),
///     recv(timeout) -> _ => {} // ten milliseconds later
/// }
/// ```
#[track_caller]
pub fn after(duration: Duration) -> Receiver<Instant> {
    match runtime::current() {
        None => Receiver {
            imp: RImp::Time(crossbeam_channel::after(duration), Instant::from_std),
        },
        Some(e) => {
            let naming = timer_naming(Location::caller(), format!("after({duration:?})"));
            timer_channel(e, naming, duration, None)
        }
    }
}

/// A channel that delivers the time every `duration` (virtual time in a simulation); a
/// message not taken is not queued twice. As crossbeam's `tick`.
#[track_caller]
pub fn tick(duration: Duration) -> Receiver<Instant> {
    match runtime::current() {
        None => Receiver {
            imp: RImp::Time(crossbeam_channel::tick(duration), Instant::from_std),
        },
        Some(e) => {
            let naming = timer_naming(Location::caller(), format!("tick({duration:?})"));
            timer_channel(e, naming, duration, Some(duration))
        }
    }
}

/// A channel that never delivers a message and never disconnects: a `select!` arm that
/// is never taken. As crossbeam's `never`.
#[track_caller]
pub fn never<T>() -> Receiver<T> {
    match runtime::current() {
        None => Receiver {
            imp: RImp::Real(crossbeam_channel::never()),
        },
        Some(e) => {
            let naming = timer_naming(Location::caller(), "never()".to_string());
            // One sender that does not exist and is never dropped: never disconnected.
            let chan = sim_chan(e, Some(0), naming, 1, None);
            Receiver {
                imp: RImp::Sim(chan),
            }
        }
    }
}

/// The virtual deadline `timeout` from now, in a simulation.
fn deadline_after(timeout: Duration) -> Option<u64> {
    runtime::current().map(|e| {
        let n = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        e.lock().clock.saturating_add(n)
    })
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
            SImp::Sim(c) => self
                .used(c)
                .send(msg, None, false, true)
                .map_err(|(v, _)| SendError(v)),
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
            SImp::Sim(c) => self
                .used(c)
                .send(msg, None, true, true)
                .map_err(|(v, f)| match f {
                    Fail::Disconnected => TrySendError::Disconnected(v),
                    _ => TrySendError::Full(v),
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
                .send(msg, deadline_after(timeout), false, true)
                .map_err(|(v, f)| match f {
                    Fail::Disconnected => SendTimeoutError::Disconnected(v),
                    _ => SendTimeoutError::Timeout(v),
                }),
        }
    }

    /// Sends, waiting for room until `deadline` at most.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Disconnected`].
    pub fn send_deadline(&self, msg: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        match &self.imp {
            SImp::Real(s) => s.send_deadline(msg, deadline.to_std()),
            SImp::Sim(c) => self
                .used(c)
                .send(msg, deadline.sim_nanos(), false, true)
                .map_err(|(v, f)| match f {
                    Fail::Disconnected => SendTimeoutError::Disconnected(v),
                    _ => SendTimeoutError::Timeout(v),
                }),
        }
    }

    /// True if the channel holds no message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if the channel is full (a rendezvous channel always is).
    pub fn is_full(&self) -> bool {
        match &self.imp {
            SImp::Real(s) => s.is_full(),
            SImp::Sim(c) => {
                let n = self.len();
                c.st.lock().cap.is_some_and(|cap| n >= cap)
            }
        }
    }

    /// How many messages the channel holds. A scheduling point in a simulation.
    pub fn len(&self) -> usize {
        match &self.imp {
            SImp::Real(s) => s.len(),
            SImp::Sim(c) => sim_len(c),
        }
    }

    /// The channel's capacity, `None` if unbounded.
    pub fn capacity(&self) -> Option<usize> {
        match &self.imp {
            SImp::Real(s) => s.capacity(),
            SImp::Sim(c) => c.st.lock().cap,
        }
    }

    /// True if both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        match (&self.imp, &other.imp) {
            (SImp::Real(a), SImp::Real(b)) => a.same_channel(b),
            (SImp::Sim(a), SImp::Sim(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// The length of a simulated channel, as one traced step.
fn sim_len<T>(c: &SimChan<T>) -> usize {
    let e = c.exec();
    e.point();
    let now = e.lock().clock;
    let n = c.st.lock().len(now);
    if e.me().is_some() {
        c.event(e, "len", &n.to_string());
    }
    n
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
            RImp::Time(r, f) => match r.try_recv() {
                Ok(v) => Ok(f(v)),
                Err(_) => {
                    runtime::real_block_in_simulation("channel");
                    r.recv().map(f)
                }
            },
            RImp::Sim(c) => c.recv(None, false, true).map_err(|_| RecvError),
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
            RImp::Time(r, f) => r.try_recv().map(f),
            RImp::Sim(c) => c.recv(None, true, true).map_err(|f| match f {
                Fail::Disconnected => TryRecvError::Disconnected,
                _ => TryRecvError::Empty,
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
            RImp::Time(r, f) => r.recv_timeout(timeout).map(f),
            RImp::Sim(c) => c
                .recv(deadline_after(timeout), false, true)
                .map_err(recv_timeout_error),
        }
    }

    /// Receives, waiting until `deadline` at most.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] or [`RecvTimeoutError::Disconnected`].
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        match &self.imp {
            RImp::Real(r) => r.recv_deadline(deadline.to_std()),
            RImp::Time(r, f) => r.recv_deadline(deadline.to_std()).map(f),
            RImp::Sim(c) => c
                .recv(deadline.sim_nanos(), false, true)
                .map_err(recv_timeout_error),
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

    /// True if the channel holds no message.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if the channel is full (a rendezvous channel always is).
    pub fn is_full(&self) -> bool {
        match &self.imp {
            RImp::Real(r) => r.is_full(),
            RImp::Time(r, _) => r.is_full(),
            RImp::Sim(c) => {
                let n = self.len();
                c.st.lock().cap.is_some_and(|cap| n >= cap)
            }
        }
    }

    /// How many messages the channel holds. A scheduling point in a simulation.
    pub fn len(&self) -> usize {
        match &self.imp {
            RImp::Real(r) => r.len(),
            RImp::Time(r, _) => r.len(),
            RImp::Sim(c) => sim_len(c),
        }
    }

    /// The channel's capacity, `None` if unbounded.
    pub fn capacity(&self) -> Option<usize> {
        match &self.imp {
            RImp::Real(r) => r.capacity(),
            RImp::Time(r, _) => r.capacity(),
            RImp::Sim(c) => c.st.lock().cap,
        }
    }

    /// True if both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        match (&self.imp, &other.imp) {
            (RImp::Real(a), RImp::Real(b)) => a.same_channel(b),
            (RImp::Time(a, _), RImp::Time(b, _)) => a.same_channel(b),
            (RImp::Sim(a), RImp::Sim(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

fn recv_timeout_error(f: Fail) -> RecvTimeoutError {
    match f {
        Fail::Disconnected => RecvTimeoutError::Disconnected,
        _ => RecvTimeoutError::Timeout,
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        match &self.imp {
            RImp::Real(r) => Receiver {
                imp: RImp::Real(r.clone()),
            },
            RImp::Time(r, f) => Receiver {
                imp: RImp::Time(r.clone(), *f),
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

/// Blocking iterator that owns its receiver (`for msg in rx`).
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

// ---------------------------------------------------------------------------------------
// Select

/// One end of a channel, as a [`Select`] registers it: a real end registers itself in
/// crossbeam's `Select`; a simulated one is waited on by the scheduler.
enum Handle<'a> {
    Real(Box<dyn Fn(&mut crossbeam_channel::Select<'a>) -> usize + 'a>),
    Sim(&'a dyn Selectable),
}

/// A set of channel operations to wait on at once, as crossbeam's `Select`; the
/// [`select!`] macro is built on it. Register operations with [`Select::recv`] and
/// [`Select::send`], then [`Select::select`] blocks until one is ready and returns it;
/// complete it with [`SelectedOperation::recv`] or [`SelectedOperation::send`].
///
/// # Examples
///
/// ```
/// use interleave::channel::{Select, unbounded};
///
/// let (tx1, rx1) = unbounded::<i32>();
/// let (tx2, rx2) = unbounded::<i32>();
/// tx2.send(7).unwrap();
/// let mut sel = Select::new();
/// let first = sel.recv(&rx1);
/// let second = sel.recv(&rx2);
/// let oper = sel.select();
/// assert_eq!(oper.index(), second);
/// assert_eq!(oper.recv(&rx2), Ok(7));
/// # let _ = (first, tx1);
/// ```
pub struct Select<'a> {
    ops: Vec<Option<Op<'a>>>,
}

struct Op<'a> {
    handle: Handle<'a>,
    send: bool,
}

impl std::fmt::Debug for Select<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Select {{ {} operations }}", self.ops.len())
    }
}

impl Default for Select<'_> {
    fn default() -> Self {
        Select::new()
    }
}

/// An operation chosen by [`Select`]: complete it with the handle it was registered with.
#[must_use = "a selected operation must be completed with `recv` or `send`"]
pub struct SelectedOperation<'a> {
    index: usize,
    imp: SelImp<'a>,
}

enum SelImp<'a> {
    Real(crossbeam_channel::SelectedOperation<'a>),
    Sim(ObjId),
}

impl std::fmt::Debug for SelectedOperation<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SelectedOperation {{ index: {} }}", self.index)
    }
}

impl<'a> Select<'a> {
    /// An empty set of operations.
    pub fn new() -> Self {
        Select { ops: Vec::new() }
    }

    /// Adds a receive on `r`; returns its index.
    pub fn recv<T>(&mut self, r: &'a Receiver<T>) -> usize {
        let handle = match &r.imp {
            RImp::Real(c) => Handle::Real(Box::new(move |sel| sel.recv(c))),
            RImp::Time(c, _) => Handle::Real(Box::new(move |sel| sel.recv(c))),
            RImp::Sim(c) => Handle::Sim(&**c),
        };
        self.ops.push(Some(Op {
            handle,
            send: false,
        }));
        self.ops.len() - 1
    }

    /// Adds a send on `s`; returns its index.
    pub fn send<T>(&mut self, s: &'a Sender<T>) -> usize {
        let handle = match &s.imp {
            SImp::Real(c) => Handle::Real(Box::new(move |sel| sel.send(c))),
            SImp::Sim(c) => Handle::Sim(&**c),
        };
        self.ops.push(Some(Op { handle, send: true }));
        self.ops.len() - 1
    }

    /// Removes the operation registered at `index`.
    ///
    /// # Panics
    ///
    /// If no operation is registered at `index`.
    pub fn remove(&mut self, index: usize) {
        let op = self.ops.get_mut(index).and_then(Option::take);
        assert!(op.is_some(), "no operation at index {index}");
    }

    /// Blocks until one operation is ready, and returns it.
    ///
    /// # Panics
    ///
    /// If the operations mix channels created inside and outside a simulation.
    pub fn select(&mut self) -> SelectedOperation<'a> {
        self.run(Until::Forever)
            .expect("a blocking select returns an operation")
    }

    /// Returns a ready operation without blocking.
    ///
    /// # Errors
    ///
    /// [`TrySelectError`] if no operation is ready.
    pub fn try_select(&mut self) -> Result<SelectedOperation<'a>, TrySelectError> {
        self.run(Until::Now).map_err(|_| TrySelectError)
    }

    /// Blocks until one operation is ready or `timeout` has passed (virtual time in a
    /// simulation).
    ///
    /// # Errors
    ///
    /// [`SelectTimeoutError`] if no operation became ready in time.
    pub fn select_timeout(
        &mut self,
        timeout: Duration,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        let until = match deadline_after(timeout) {
            Some(d) => Until::Sim(d),
            None => Until::Real(std::time::Instant::now() + timeout),
        };
        self.run(until).map_err(|_| SelectTimeoutError)
    }

    /// Blocks until one operation is ready or `deadline` has come.
    ///
    /// # Errors
    ///
    /// [`SelectTimeoutError`] if no operation became ready in time.
    pub fn select_deadline(
        &mut self,
        deadline: Instant,
    ) -> Result<SelectedOperation<'a>, SelectTimeoutError> {
        let until = match deadline.sim_nanos() {
            Some(d) => Until::Sim(d),
            None => Until::Real(deadline.to_std()),
        };
        self.run(until).map_err(|_| SelectTimeoutError)
    }

    fn run(&mut self, until: Until) -> Result<SelectedOperation<'a>, ()> {
        let sim = self
            .ops
            .iter()
            .flatten()
            .filter(|o| matches!(o.handle, Handle::Sim(_)))
            .count();
        let real = self.ops.iter().flatten().count() - sim;
        match (sim, real) {
            (0, _) => self.run_real(until),
            (_, 0) => self.run_sim(until),
            _ => panic!(
                "interleave: a select! mixes channels created inside a simulation with channels \
                 created outside it: create every channel inside the simulated body"
            ),
        }
    }

    fn run_real(&mut self, until: Until) -> Result<SelectedOperation<'a>, ()> {
        let mut sel = crossbeam_channel::Select::new();
        let mut index = Vec::new();
        for (i, op) in self.ops.iter().enumerate() {
            if let Some(Op {
                handle: Handle::Real(register),
                ..
            }) = op
            {
                let k = register(&mut sel);
                debug_assert_eq!(k, index.len());
                index.push(i);
            }
        }
        let wrap = |o: crossbeam_channel::SelectedOperation<'a>| SelectedOperation {
            index: index[o.index()],
            imp: SelImp::Real(o),
        };
        if let Ok(o) = sel.try_select() {
            return Ok(wrap(o));
        }
        if matches!(until, Until::Now) {
            return Err(());
        }
        runtime::real_block_in_simulation("channel");
        match until {
            Until::Forever => Ok(wrap(sel.select())),
            Until::Real(d) => sel.select_deadline(d).map(wrap).map_err(|_| ()),
            Until::Now | Until::Sim(_) => Err(()),
        }
    }

    fn run_sim(&mut self, until: Until) -> Result<SelectedOperation<'a>, ()> {
        let ops: Vec<(usize, &'a dyn Selectable, bool)> = self
            .ops
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                Some(Op {
                    handle: Handle::Sim(c),
                    send,
                }) => Some((i, *c, *send)),
                _ => None,
            })
            .collect();
        let e = match runtime::current() {
            Some(e) if ops.iter().all(|(_, c, _)| c.generation() == e.generation) => e,
            _ => runtime::foreign_use(
                "channel",
                ops.first().map(|(_, c, _)| c.generation()).unwrap_or(0),
            ),
        };
        e.point();
        let who = me(e, "select!");
        let mut waited = false;
        loop {
            let now = e.lock().clock;
            let ready: Vec<usize> = (0..ops.len())
                .filter(|&k| ops[k].1.ready(ops[k].2, now))
                .collect();
            if !ready.is_empty() {
                let pick = ready[choose(e, who, ready.len())];
                let (index, c, send) = ops[pick];
                let op = if send { "send" } else { "recv" };
                let mut st = e.lock();
                let name = st.objects[c.obj()].name.clone();
                let what = label_of(&st, &ops);
                st.push_event(
                    None,
                    Cow::Owned(format!("select! [{what}]")),
                    Some(Cow::Owned(format!("{op} {name} ready"))),
                    false,
                );
                return Ok(SelectedOperation {
                    index,
                    imp: SelImp::Sim(c.obj()),
                });
            }
            let deadline = match until {
                Until::Now => {
                    let what = label_of(&e.lock(), &ops);
                    e.event(
                        None,
                        format!("select! [{what}]"),
                        Some("none ready".into()),
                        false,
                    );
                    return Err(());
                }
                Until::Sim(d) => Some(d),
                Until::Forever => None,
                Until::Real(_) => unreachable!("a simulated select has a virtual deadline"),
            };
            if waited && deadline.is_some_and(|d| now >= d) {
                let what = label_of(&e.lock(), &ops);
                e.event(
                    None,
                    format!("select! [{what}]"),
                    Some("timed out".into()),
                    false,
                );
                return Err(());
            }
            let wake_at = ops
                .iter()
                .filter_map(|&(_, c, send)| c.wake_at(send))
                .chain(deadline)
                .min();
            {
                for &(_, c, send) in &ops {
                    c.wait(who, send);
                }
                let mut st = e.lock();
                st.threads[who].select = ops
                    .iter()
                    .map(|&(_, c, send)| {
                        let kind = if send { WaitKind::Send } else { WaitKind::Recv };
                        (kind, c.obj())
                    })
                    .collect();
                if !waited {
                    let what = label_of(&st, &ops);
                    st.push_event(
                        None,
                        Cow::Owned(format!("select! [{what}]")),
                        Some("blocked".into()),
                        false,
                    );
                }
            }
            e.block(
                Wait {
                    kind: WaitKind::Select,
                    obj: None,
                    thread: None,
                },
                wake_at,
            );
            for &(_, c, send) in &ops {
                c.unwait(who, send);
            }
            e.lock().threads[who].select.clear();
            waited = true;
        }
    }
}

/// `recv a, send b`: a select's operations for the trace.
fn label_of(
    st: &crate::runtime::execution::State,
    ops: &[(usize, &dyn Selectable, bool)],
) -> String {
    ops.iter()
        .map(|&(_, c, send)| {
            let verb = if send { "send" } else { "recv" };
            format!("{verb} {}", st.objects[c.obj()].name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Picks one of `n` ready operations: pseudo-random, determined by the schedule so far
/// (the threads chosen at every step), so that a replay makes the same choice.
fn choose(e: &Execution, who: Tid, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let trail = e.lock().trail;
    let x = crate::scheduler::mix(trail ^ ((who as u64) << 40) ^ 0x5e1e_c7ed);
    (x % n as u64) as usize
}

/// How long a select may wait.
#[derive(Clone, Copy, Debug)]
enum Until {
    Now,
    Forever,
    Sim(u64),
    Real(std::time::Instant),
}

impl<'a> SelectedOperation<'a> {
    /// The index of the operation, as returned when it was registered.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Completes a selected receive on `r`.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the channel is empty and disconnected.
    ///
    /// # Panics
    ///
    /// If `r` is not the receiver that was selected.
    pub fn recv<T>(self, r: &Receiver<T>) -> Result<T, RecvError> {
        match (self.imp, &r.imp) {
            (SelImp::Real(o), RImp::Real(c)) => o.recv(c),
            (SelImp::Real(o), RImp::Time(c, f)) => o.recv(c).map(f),
            (SelImp::Sim(id), RImp::Sim(c)) if c.sim.id == id => {
                c.recv(None, false, false).map_err(|_| RecvError)
            }
            _ => {
                panic!("interleave: SelectedOperation::recv with a receiver that was not selected")
            }
        }
    }

    /// Completes a selected send of `msg` on `s`.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message if every receiver is gone.
    ///
    /// # Panics
    ///
    /// If `s` is not the sender that was selected.
    pub fn send<T>(self, s: &Sender<T>, msg: T) -> Result<(), SendError<T>> {
        match (self.imp, &s.imp) {
            (SelImp::Real(o), SImp::Real(c)) => o.send(c, msg),
            (SelImp::Sim(id), SImp::Sim(c)) if c.sim.id == id => s
                .used(c)
                .send(msg, None, false, false)
                .map_err(|(v, _)| SendError(v)),
            _ => panic!("interleave: SelectedOperation::send with a sender that was not selected"),
        }
    }
}

/// Waits on several channel operations at once and runs the arm of the one that
/// completes: crossbeam-channel's `select!`, with the same syntax.
///
/// ```text
/// select! {
///     recv(rx) -> msg => { /* msg: Result<T, RecvError> */ },
///     send(tx, value) -> res => { /* res: Result<(), SendError<T>> */ },
///     default => { /* nothing was ready */ },          // or:
///     default(Duration::from_secs(1)) => { /* timeout */ },
/// }
/// ```
///
/// Without `default` it blocks until an operation is ready. In a simulation the wait is
/// a blocking choice the scheduler sees (a deadlock report names every channel of the
/// select), timeouts use the virtual clock, and among ready operations one is picked
/// pseudo-randomly from the schedule (crossbeam picks at random).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use interleave::channel::{select, unbounded};
///
/// let (tx, rx) = unbounded();
/// tx.send(1).unwrap();
/// let got = select! {
///     recv(rx) -> msg => msg.ok(),
///     default(Duration::from_secs(1)) => None,
/// };
/// assert_eq!(got, Some(1));
/// ```
#[doc(inline)]
pub use crate::__interleave_select as select;

#[doc(hidden)]
#[macro_export]
macro_rules! __interleave_select {
    // A receive arm, block body.
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*] [$($def:tt)*]
        recv($r:expr) -> $p:pat => $body:block $(,)? $($rest:tt)*) => {
        $crate::__interleave_select!(@parse $sel $oper $idx
            [$($reg)* let __handle = &$r; let __index = $sel.recv(__handle);]
            [$($disp)* if $idx == __index { let $p = $oper.recv(__handle); $body } else]
            [$($def)*] $($rest)*)
    };
    // A receive arm, expression body.
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*] [$($def:tt)*]
        recv($r:expr) -> $p:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__interleave_select!(@parse $sel $oper $idx
            [$($reg)* let __handle = &$r; let __index = $sel.recv(__handle);]
            [$($disp)* if $idx == __index { let $p = $oper.recv(__handle); $body } else]
            [$($def)*] $($($rest)*)?)
    };
    // A send arm, block body.
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*] [$($def:tt)*]
        send($s:expr, $m:expr) -> $p:pat => $body:block $(,)? $($rest:tt)*) => {
        $crate::__interleave_select!(@parse $sel $oper $idx
            [$($reg)* let __handle = &$s; let __index = $sel.send(__handle);]
            [$($disp)* if $idx == __index { let $p = $oper.send(__handle, $m); $body } else]
            [$($def)*] $($rest)*)
    };
    // A send arm, expression body.
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*] [$($def:tt)*]
        send($s:expr, $m:expr) -> $p:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__interleave_select!(@parse $sel $oper $idx
            [$($reg)* let __handle = &$s; let __index = $sel.send(__handle);]
            [$($disp)* if $idx == __index { let $p = $oper.send(__handle, $m); $body } else]
            [$($def)*] $($($rest)*)?)
    };
    // `default(timeout) => body`.
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*] []
        default($t:expr) => $body:block $(,)? $($rest:tt)*) => {
        $crate::__interleave_select!(@parse $sel $oper $idx [$($reg)*] [$($disp)*]
            [($t) $body] $($rest)*)
    };
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*] []
        default($t:expr) => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__interleave_select!(@parse $sel $oper $idx [$($reg)*] [$($disp)*]
            [($t) { $body }] $($($rest)*)?)
    };
    // `default => body`.
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*] []
        default => $body:block $(,)? $($rest:tt)*) => {
        $crate::__interleave_select!(@parse $sel $oper $idx [$($reg)*] [$($disp)*]
            [() $body] $($rest)*)
    };
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*] []
        default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__interleave_select!(@parse $sel $oper $idx [$($reg)*] [$($disp)*]
            [() { $body }] $($($rest)*)?)
    };
    // Every arm parsed: no default, blocks.
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*] []) => {{
        #[allow(unused_mut)]
        let mut $sel = $crate::channel::Select::new();
        $($reg)*
        let $oper = $sel.select();
        let $idx = $oper.index();
        $($disp)* { ::std::unreachable!("select!: no arm for the selected operation") }
    }};
    // `default => body`: does not block.
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*]
        [() $default:block]) => {{
        #[allow(unused_mut)]
        let mut $sel = $crate::channel::Select::new();
        $($reg)*
        match $sel.try_select() {
            ::std::result::Result::Ok($oper) => {
                let $idx = $oper.index();
                $($disp)* { ::std::unreachable!("select!: no arm for the selected operation") }
            }
            ::std::result::Result::Err(_) => $default,
        }
    }};
    // `default(timeout) => body`: blocks at most that long.
    (@parse $sel:ident $oper:ident $idx:ident [$($reg:tt)*] [$($disp:tt)*]
        [($t:expr) $default:block]) => {{
        #[allow(unused_mut)]
        let mut $sel = $crate::channel::Select::new();
        $($reg)*
        match $sel.select_timeout($t) {
            ::std::result::Result::Ok($oper) => {
                let $idx = $oper.index();
                $($disp)* { ::std::unreachable!("select!: no arm for the selected operation") }
            }
            ::std::result::Result::Err(_) => $default,
        }
    }};
    (@parse $($wrong:tt)*) => {
        ::std::compile_error!(
            "select!: expected arms `recv(r) -> msg => body`, `send(s, m) -> res => body`, \
             `default => body` or `default(timeout) => body`, separated by commas"
        )
    };
    // Entry.
    ($($arms:tt)*) => {
        $crate::__interleave_select!(@parse __sel __oper __idx [] [] [] $($arms)*)
    };
}
