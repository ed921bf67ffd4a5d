//! The weak memory model of explorations: what a load may read, and what happens before
//! what.
//!
//! It follows loom's (`src/rt/atomic.rs`, `vv.rs`, `synchronize.rs`), itself after
//! CDSChecker (Norris and Demsky, OOPSLA 2013), in the form of views (Kang et al., "A
//! Promising Semantics for Relaxed-Memory Concurrency", POPL 2017):
//!
//! - Every atomic location keeps its last [`HISTORY`] stores (loom keeps 7), in
//!   modification order, which here is the order in which they ran.
//! - Every thread has a vector clock (happens-before) and a *view*: for each location,
//!   the oldest store it may still read. A load may read any store not older than its
//!   view (coherence: never older than what the thread read or wrote, or than a store
//!   that happens before it); which one is the strategy's choice (option 0 is the latest,
//!   so the canonical schedule is sequentially consistent), and the view moves up to it.
//! - A Release store (or any store after a Release fence) carries its thread's clock and
//!   view; an Acquire load that reads it joins them (synchronises-with). A read-modify-
//!   write reads the latest store and passes on the payload of the store it read (a
//!   release sequence, as C++20 defines it: only read-modify-writes continue one).
//! - SeqCst: a SeqCst load never reads a store older than the latest SeqCst store to its
//!   location, and SeqCst fences join a global view both ways (loom's `seq_cst_fence`),
//!   so that store buffering is forbidden among SeqCst accesses and across SeqCst fences.
//!   Stronger than loom, which treats SeqCst accesses as AcqRel.
//! - After `yield_now`, a load reads a store newer than what the thread had seen before
//!   it yielded, when there is one (loom's `is_seen_before_yield`): a spin loop makes
//!   progress.
//!
//! Not modelled: load buffering (a load never reads a store that runs later: loom
//! forbids it too), modification orders that differ from the execution order (2+2W's
//! weak outcome), and stale reads by read-modify-writes and failed compare-exchanges
//! (they read the latest store, as in loom).
//!
//! The same clocks find data races on [`crate::cell::UnsafeCell`]: an access that does
//! not happen after the last write (or a write that does not happen after every read)
//! fails the schedule. Locks, channels and the other primitives order what they pass
//! between threads (each operation on one of them joins the object's clock both ways, a
//! conservative approximation), as do spawn, join and unpark.
//!
//! The model starts at the first atomic or tracked-cell operation of an execution, with
//! every clock at zero: before that no location exists, so nothing earlier needs
//! ordering, and a program without atomics pays one check per event.

use std::sync::atomic::Ordering;

use super::execution::{ObjId, Tid};

/// How many stores of each location a load may choose from (loom's
/// `MAX_ATOMIC_HISTORY`).
pub(crate) const HISTORY: usize = 7;

/// How many of its last loads a thread remembers, to explain a data race.
const NOTES: usize = 16;

/// A vector clock, indexed by thread.
#[derive(Clone, Debug, Default)]
pub(crate) struct Clock(Vec<u32>);

impl Clock {
    fn get(&self, t: Tid) -> u32 {
        self.0.get(t).copied().unwrap_or(0)
    }

    fn set(&mut self, t: Tid, v: u32) {
        if self.0.len() <= t {
            self.0.resize(t + 1, 0);
        }
        self.0[t] = v;
    }

    fn join(&mut self, other: &Clock) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, &b) in self.0.iter_mut().zip(&other.0) {
            *a = (*a).max(b);
        }
    }
}

/// What a thread knows: its clock, and per location (by object id) the modification
/// index of the oldest store it may read.
#[derive(Clone, Debug, Default)]
pub(crate) struct Knows {
    hb: Clock,
    view: Clock,
}

impl Knows {
    fn join(&mut self, other: &Knows) {
        self.hb.join(&other.hb);
        self.view.join(&other.view);
    }

    fn clone_into(&self, into: &mut Knows) {
        into.hb.0.clone_from(&self.hb.0);
        into.view.0.clone_from(&self.view.0);
    }
}

/// One store to an atomic location.
#[derive(Debug)]
struct Store {
    bits: u64,
    /// Its index in the location's modification order.
    mo: u32,
    /// Who stored it (None: the value the location had when the model first saw it).
    writer: Option<Tid>,
    /// The ordering of the store (of the read-modify-write).
    order: Ordering,
    /// What an acquire that reads it learns (a release, or a release sequence).
    rel: Option<Box<Knows>>,
}

#[derive(Debug, Default)]
struct Loc {
    stores: std::collections::VecDeque<Store>,
    next_mo: u32,
}

impl Loc {
    fn latest(&self) -> &Store {
        self.stores.back().expect("a location has a store")
    }
}

/// An access to a tracked cell: who, at which point of its clock, at which step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Access {
    pub(crate) tid: Tid,
    epoch: u32,
    pub(crate) step: u64,
}

#[derive(Debug, Default)]
struct CellState {
    write: Option<Access>,
    reads: Vec<Access>,
}

/// What an object id is to the model.
#[derive(Debug, Default)]
enum Slot {
    #[default]
    Unknown,
    Loc(Loc),
    Cell(CellState),
    /// A lock, channel, condvar...: what the last operation on it knew.
    Sync(Knows),
}

/// A load a thread made, remembered to explain a data race.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Note {
    pub(crate) loc: ObjId,
    pub(crate) order: Ordering,
    pub(crate) writer: Option<Tid>,
    pub(crate) store_order: Ordering,
    /// The load acquired what the store released.
    pub(crate) synced: bool,
    pub(crate) step: u64,
}

#[derive(Debug, Default)]
struct ThreadMem {
    now: Knows,
    /// What the last Release fence knew: relaxed stores after it carry it.
    fenced: Option<Knows>,
    /// What the stores read by relaxed loads released: an Acquire fence takes it.
    pending: Knows,
    /// The view when the thread last yielded.
    yielded: Option<Clock>,
    /// What the threads that unparked this one knew.
    unparked: Knows,
    notes: std::collections::VecDeque<Note>,
}

/// Two accesses to a tracked cell that no happens-before orders.
#[derive(Clone, Debug)]
pub(crate) struct Race {
    pub(crate) earlier: Access,
    pub(crate) earlier_write: bool,
    pub(crate) later_write: bool,
    /// The later thread's loads of values stored by the earlier thread that did not
    /// synchronise, the most recent first.
    pub(crate) unsynced: Vec<Note>,
    /// Whether any load of the later thread synchronised with the earlier thread.
    pub(crate) any_sync: bool,
}

/// The model's state for one execution.
#[derive(Debug, Default)]
pub(crate) struct Memory {
    threads: Vec<ThreadMem>,
    slots: Vec<Slot>,
    /// The SeqCst view: the latest SeqCst store of each location, and what SeqCst fences
    /// knew.
    sc: Clock,
    /// False until the execution's first atomic operation, fence or tracked-cell access.
    /// Before it, happens-before has nothing to order (no store, no cell access exists
    /// yet), so synchronisation costs nothing: a program of locks and channels only never
    /// pays for clocks. At activation every thread starts from its own clock.
    active: bool,
}

fn acquires(o: Ordering) -> bool {
    matches!(o, Ordering::Acquire | Ordering::AcqRel | Ordering::SeqCst)
}

fn releases(o: Ordering) -> bool {
    matches!(o, Ordering::Release | Ordering::AcqRel | Ordering::SeqCst)
}

impl Memory {
    /// The model for an execution that has `threads` threads so far, every clock at
    /// zero.
    pub(crate) fn new(threads: usize) -> Self {
        let mut m = Memory::default();
        for t in 0..threads {
            m.thread(t);
        }
        m
    }

    fn thread(&mut self, t: Tid) -> &mut ThreadMem {
        while self.threads.len() <= t {
            let id = self.threads.len();
            let mut th = ThreadMem::default();
            th.now.hb.set(id, 1);
            self.threads.push(th);
        }
        &mut self.threads[t]
    }

    fn slot(&mut self, obj: ObjId) -> &mut Slot {
        if self.slots.len() <= obj {
            self.slots.resize_with(obj + 1, Slot::default);
        }
        &mut self.slots[obj]
    }

    /// Moves a thread's own clock on: what it does next is after what it released.
    fn tick(&mut self, t: Tid) {
        let hb = &mut self.thread(t).now.hb;
        let v = hb.get(t) + 1;
        hb.set(t, v);
    }

    /// A new thread starts with what its parent knows.
    pub(crate) fn spawn(&mut self, parent: Option<Tid>, child: Tid) {
        self.thread(child);
        if !self.active {
            return;
        }
        if let Some(p) = parent {
            let k = self.thread(p).now.clone();
            let c = self.thread(child);
            c.now.join(&k);
            self.tick(p);
        }
    }

    /// A join returned: the joiner knows what the finished thread knew.
    pub(crate) fn join(&mut self, joiner: Tid, child: Tid) {
        if !self.active {
            return;
        }
        let k = self.thread(child).now.clone();
        self.thread(joiner).now.join(&k);
    }

    /// `from` unparks `to`: what `from` knows reaches `to` when its park returns.
    pub(crate) fn unpark(&mut self, from: Tid, to: Tid) {
        if !self.active {
            return;
        }
        let k = self.thread(from).now.clone();
        self.thread(to).unparked.join(&k);
        self.tick(from);
    }

    /// A park returned.
    pub(crate) fn parked(&mut self, t: Tid) {
        if !self.active {
            return;
        }
        let th = self.thread(t);
        let k = std::mem::take(&mut th.unparked);
        th.now.join(&k);
    }

    /// The thread yields: its next loads read newer stores than it has seen, if any.
    pub(crate) fn yielded(&mut self, t: Tid) {
        if !self.active {
            return;
        }
        let th = self.thread(t);
        th.yielded = Some(th.now.view.clone());
    }

    /// An operation of `t` on a lock, channel, condvar...: it learns what the object's
    /// last operation knew, and the object learns what it knows.
    #[inline]
    pub(crate) fn sync_object(&mut self, t: Tid, obj: ObjId) {
        if !self.active {
            return;
        }
        if matches!(self.slot(obj), Slot::Loc(_) | Slot::Cell(_)) {
            return;
        }
        self.thread(t);
        let Memory { threads, slots, .. } = self;
        let th = &mut threads[t];
        match &mut slots[obj] {
            Slot::Sync(k) => {
                th.now.join(k);
                th.now.clone_into(k);
            }
            s => *s = Slot::Sync(th.now.clone()),
        }
        self.tick(t);
    }

    /// The location `obj`, created (or brought back in line) with `bits`, the value the
    /// atomic holds: the latest store, unless the program changed it without an atomic
    /// operation (`get_mut`, or outside the simulation), which then counts as a new
    /// store every thread sees.
    fn loc(&mut self, obj: ObjId, bits: u64) -> &mut Loc {
        self.active = true;
        let fresh = match self.slot(obj) {
            Slot::Loc(l) => l.latest().bits != bits,
            _ => true,
        };
        if fresh {
            let next = match self.slot(obj) {
                Slot::Loc(l) => l.next_mo,
                _ => 0,
            };
            let mut l = Loc {
                stores: Default::default(),
                next_mo: next + 1,
            };
            l.stores.push_back(Store {
                bits,
                mo: next,
                writer: None,
                order: Ordering::Relaxed,
                rel: None,
            });
            *self.slot(obj) = Slot::Loc(l);
        }
        match self.slot(obj) {
            Slot::Loc(l) => l,
            _ => unreachable!("just made a location"),
        }
    }

    /// The oldest store `t` may read from `obj` with `order`.
    fn floor(&mut self, t: Tid, obj: ObjId, order: Ordering) -> u32 {
        let sc = if order == Ordering::SeqCst {
            self.sc.get(obj)
        } else {
            0
        };
        let th = self.thread(t);
        let mut floor = th.now.view.get(obj).max(sc);
        let yielded = th.yielded.as_ref().map(|v| v.get(obj));
        let Slot::Loc(l) = &self.slots[obj] else {
            return floor;
        };
        let latest = l.latest().mo;
        if let Some(y) = yielded
            && latest > y
        {
            floor = floor.max(y + 1);
        }
        floor.min(latest)
    }

    /// How many stores a load of `obj` by `t` with `order` may read (at least 1), the
    /// atomic holding `bits`.
    pub(crate) fn load_options(&mut self, t: Tid, obj: ObjId, order: Ordering, bits: u64) -> usize {
        self.loc(obj, bits);
        let floor = self.floor(t, obj, order);
        let Slot::Loc(l) = &self.slots[obj] else {
            unreachable!()
        };
        l.stores.iter().filter(|s| s.mo >= floor).count().max(1)
    }

    /// `t` loads from `obj` with `order` the `choice`-th newest store it may read (0:
    /// the latest). Returns the bits read, and the latest bits if it read an older store.
    pub(crate) fn load(
        &mut self,
        t: Tid,
        obj: ObjId,
        order: Ordering,
        choice: usize,
        step: u64,
    ) -> (u64, Option<u64>) {
        let floor = self.floor(t, obj, order);
        let Memory { threads, slots, .. } = self;
        let Slot::Loc(l) = &slots[obj] else {
            unreachable!("load_options made the location")
        };
        let n = l.stores.iter().filter(|s| s.mo >= floor).count().max(1);
        let i = l.stores.len() - 1 - choice.min(n - 1);
        let s = &l.stores[i];
        let latest = l.latest().bits;
        let th = &mut threads[t];
        let v = th.now.view.get(obj).max(s.mo);
        th.now.view.set(obj, v);
        let synced = match &s.rel {
            Some(k) if acquires(order) => {
                th.now.join(k);
                true
            }
            Some(k) => {
                th.pending.join(k);
                false
            }
            None => false,
        };
        if th.notes.len() == NOTES {
            th.notes.pop_front();
        }
        th.notes.push_back(Note {
            loc: obj,
            order,
            writer: s.writer,
            store_order: s.order,
            synced,
            step,
        });
        let r = (s.bits, (s.mo != l.latest().mo).then_some(latest));
        self.tick(t);
        r
    }

    /// `t` stores `bits` (the atomic's new value) to `obj` with `order`; `before` is
    /// the value it held.
    pub(crate) fn store(&mut self, t: Tid, obj: ObjId, order: Ordering, before: u64, bits: u64) {
        self.loc(obj, before);
        self.push_store(t, obj, order, bits, None);
    }

    /// A read-modify-write of `t` on `obj`: it reads the latest store (`before`), with
    /// `read_order`; then, if it stores (`after`), with `write_order`.
    // The read and the write each have their ordering and value: grouping them in a
    // struct would only move the eight names one level down.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn rmw(
        &mut self,
        t: Tid,
        obj: ObjId,
        read_order: Ordering,
        write_order: Ordering,
        before: u64,
        after: Option<u64>,
        step: u64,
    ) {
        let carried = self.loc(obj, before).latest().rel.clone();
        // Option 0 is the latest store, always within the thread's floor.
        self.load(t, obj, read_order, 0, step);
        if let Some(bits) = after {
            self.push_store(t, obj, write_order, bits, carried);
        }
    }

    fn push_store(
        &mut self,
        t: Tid,
        obj: ObjId,
        order: Ordering,
        bits: u64,
        carried: Option<Box<Knows>>,
    ) {
        let mo = match self.slot(obj) {
            Slot::Loc(l) => l.next_mo,
            _ => unreachable!("a store's location exists"),
        };
        let th = self.thread(t);
        th.now.view.set(obj, mo);
        let mut rel: Option<Box<Knows>> = if releases(order) {
            Some(Box::new(th.now.clone()))
        } else {
            th.fenced.clone().map(Box::new)
        };
        if let Some(c) = carried {
            match &mut rel {
                Some(r) => r.join(&c),
                None => rel = Some(c),
            }
        }
        if order == Ordering::SeqCst {
            let v = self.sc.get(obj).max(mo);
            self.sc.set(obj, v);
        }
        let Slot::Loc(l) = self.slot(obj) else {
            unreachable!()
        };
        l.next_mo += 1;
        if l.stores.len() == HISTORY {
            l.stores.pop_front();
        }
        l.stores.push_back(Store {
            bits,
            mo,
            writer: Some(t),
            order,
            rel,
        });
        self.tick(t);
    }

    /// A fence of `t`.
    pub(crate) fn fence(&mut self, t: Tid, order: Ordering) {
        self.active = true;
        self.thread(t);
        let Memory { threads, sc, .. } = self;
        let th = &mut threads[t];
        if acquires(order) {
            let p = std::mem::take(&mut th.pending);
            th.now.join(&p);
        }
        if order == Ordering::SeqCst {
            th.now.view.join(sc);
            sc.join(&th.now.view);
        }
        if releases(order) {
            th.fenced = Some(th.now.clone());
            self.tick(t);
        }
    }

    /// An access of `t` to the tracked cell `obj` at `step`; the race it makes, if any.
    pub(crate) fn cell_access(
        &mut self,
        t: Tid,
        obj: ObjId,
        write: bool,
        step: u64,
    ) -> Option<Race> {
        self.active = true;
        self.thread(t);
        if !matches!(self.slot(obj), Slot::Cell(_)) {
            *self.slot(obj) = Slot::Cell(CellState::default());
        }
        let Memory { threads, slots, .. } = self;
        let th = &threads[t];
        let Slot::Cell(c) = &mut slots[obj] else {
            unreachable!()
        };
        let before = |a: &Access| a.tid == t || th.now.hb.get(a.tid) >= a.epoch;
        let mut race = None;
        if let Some(w) = c.write
            && !before(&w)
        {
            race = Some((w, true));
        }
        if write && race.is_none() {
            if let Some(r) = c.reads.iter().find(|r| !before(r)) {
                race = Some((*r, false));
            }
        }
        let me = Access {
            tid: t,
            epoch: th.now.hb.get(t),
            step,
        };
        if write {
            c.write = Some(me);
            c.reads.clear();
        } else {
            match c.reads.iter_mut().find(|r| r.tid == t) {
                Some(r) => *r = me,
                None => c.reads.push(me),
            }
        }
        let (earlier, earlier_write) = race?;
        let unsynced: Vec<Note> = th
            .notes
            .iter()
            .rev()
            .filter(|n| n.writer == Some(earlier.tid) && !n.synced)
            .copied()
            .collect();
        let any_sync = th
            .notes
            .iter()
            .any(|n| n.writer == Some(earlier.tid) && n.synced);
        Some(Race {
            earlier,
            earlier_write,
            later_write: write,
            unsynced,
            any_sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    /// Message passing on locations 0 (data) and 1 (flag): thread 1 writes, thread 2
    /// reads the flag (the latest store) then the data (the oldest it may).
    fn mp(store: Ordering, load: Ordering) -> usize {
        let mut m = Memory::new(3);
        m.store(1, 0, Relaxed, 0, 42);
        m.store(1, 1, store, 0, 1);
        // A SeqCst load reads the latest SeqCst store; any other may read the flag's
        // initial value too.
        let flag_options = if (store, load) == (SeqCst, SeqCst) {
            1
        } else {
            2
        };
        assert_eq!(m.load_options(2, 1, load, 1), flag_options);
        assert_eq!(m.load(2, 1, load, 0, 0).0, 1);
        m.load_options(2, 0, Relaxed, 42)
    }

    #[test]
    fn release_acquire_publishes_and_relaxed_does_not() {
        assert_eq!(mp(Release, Acquire), 1);
        assert_eq!(mp(Relaxed, Acquire), 2);
        assert_eq!(mp(Release, Relaxed), 2);
        assert_eq!(mp(SeqCst, SeqCst), 1);
    }

    #[test]
    fn a_thread_never_reads_older_than_it_has_seen() {
        let mut m = Memory::new(2);
        m.store(0, 0, Relaxed, 0, 1);
        m.store(0, 0, Relaxed, 1, 2);
        assert_eq!(m.load_options(1, 0, Relaxed, 2), 3);
        assert_eq!(m.load(1, 0, Relaxed, 1, 0), (1, Some(2)));
        assert_eq!(m.load_options(1, 0, Relaxed, 2), 2);
        // Its own stores: only the latest.
        assert_eq!(m.load_options(0, 0, Relaxed, 2), 1);
    }

    #[test]
    fn a_seqcst_load_reads_the_latest_seqcst_store() {
        let mut m = Memory::new(2);
        m.store(0, 0, SeqCst, 0, 1);
        assert_eq!(m.load_options(1, 0, SeqCst, 1), 1);
        assert_eq!(m.load_options(1, 0, Acquire, 1), 2);
    }

    #[test]
    fn locks_alone_cost_no_clock_until_the_first_atomic() {
        let mut m = Memory::new(2);
        m.sync_object(0, 5);
        m.spawn(Some(0), 1);
        m.sync_object(1, 5);
        assert!(!m.active && m.slots.is_empty());
        // From the first store on, a lock hand-off publishes it.
        m.store(0, 0, Relaxed, 0, 1);
        m.sync_object(0, 5);
        m.sync_object(1, 5);
        assert!(m.active);
        assert_eq!(m.load_options(1, 0, Relaxed, 1), 1);
    }

    #[test]
    fn history_is_bounded() {
        let mut m = Memory::new(2);
        for i in 0..20 {
            m.store(0, 0, Relaxed, i, i + 1);
        }
        assert_eq!(m.load_options(1, 0, Relaxed, 20), HISTORY);
    }

    #[test]
    fn a_changed_value_resets_the_history() {
        let mut m = Memory::new(2);
        m.store(0, 0, Relaxed, 0, 1);
        // get_mut wrote 7.
        assert_eq!(m.load_options(1, 0, Relaxed, 7), 1);
        assert_eq!(m.load(1, 0, Relaxed, 0, 0), (7, None));
    }
}
