//! Checks `bounded_buffer/monitor`: blocking when full and empty, FIFO order, every item
//! delivered once, no thread asleep while it could go on, and no lost wake-up with several
//! producers and consumers.

use bounded_buffer::monitor::BoundedBuffer;
use interleave::explore::{Config, Observed, Stats, Strategy, check, invariant};
use interleave::report::{Failure, FailureKind};
use interleave::scenario::{Returned, Scenario, Table};
use interleave::sync::Arc;
use interleave::{thread, trace};

/// The operations of a buffer of `u32`, so that the same scenarios and explorations run on
/// the student's buffer and on the versions written in this file.
trait Buffer: Send + Sync + 'static {
    fn with_capacity(capacity: usize) -> Self;
    fn put(&self, item: u32);
    fn take(&self) -> u32;
}

impl Buffer for BoundedBuffer<u32> {
    fn with_capacity(capacity: usize) -> Self {
        BoundedBuffer::new(capacity)
    }
    fn put(&self, item: u32) {
        BoundedBuffer::put(self, item);
    }
    fn take(&self) -> u32 {
        BoundedBuffer::take(self)
    }
}

/// The state column: the buffer's contents, from the calls that returned so far (puts
/// in the order they were called, minus the items taken).
fn contents(done: &[Returned]) -> String {
    let mut puts: Vec<&Returned> = done.iter().filter(|r| r.call.starts_with("put")).collect();
    puts.sort_by_key(|r| r.called_at);
    let taken: Vec<&str> = done.iter().filter_map(|r| r.value.as_deref()).collect();
    let inside: Vec<&str> = puts
        .iter()
        .map(|r| r.call.trim_start_matches("put(").trim_end_matches(')'))
        .filter(|v| !taken.contains(v))
        .collect();
    format!("buffer: [{}]", inside.join(", "))
}

const PUT_FITS: &str = "put() returns at once while the buffer has room";
const PUT_BLOCKS: &str = "put() blocks while the buffer is full";
const TAKE_BLOCKS: &str = "take() blocks while the buffer is empty";
const TAKE_OLDEST: &str = "take() returns the oldest item (FIFO), and a slot frees a producer";
const PUT_WAKES: &str = "an item put wakes a consumer blocked in take()";

fn put(item: u32) -> impl FnOnce(&BoundedBuffer<u32>) {
    move |b| b.put(item)
}

fn take(b: &BoundedBuffer<u32>) -> u32 {
    b.take()
}

#[test]
fn capacity_two_producer_blocks_when_full_consumer_when_empty() {
    let table = Scenario::new(|| BoundedBuffer::<u32>::new(2))
        .call("P1", "put(1)", put(1))
        .rule(PUT_FITS)
        .call("P1", "put(2)", put(2))
        .rule(PUT_FITS)
        .call("P1", "put(3)", put(3))
        .rule(PUT_BLOCKS)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_BLOCKS)
        .call("P2", "put(4)", put(4))
        .rule(PUT_WAKES)
        .state(contents)
        .max_steps(1_000)
        .run();
    interleave::assert_table!(table);
}

/// Capacity 1: every put after the first waits for a take, over several rounds.
#[test]
fn capacity_one_alternates_puts_and_takes() {
    let table = Scenario::new(|| BoundedBuffer::<u32>::new(1))
        .call("P1", "put(1)", put(1))
        .rule(PUT_FITS)
        .call("P1", "put(2)", put(2))
        .rule(PUT_BLOCKS)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_BLOCKS)
        .call("P1", "put(3)", put(3))
        .rule(PUT_WAKES)
        .call("P1", "put(4)", put(4))
        .rule(PUT_FITS)
        .call("P1", "put(5)", put(5))
        .rule(PUT_BLOCKS)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .state(contents)
        .max_steps(1_000)
        .run();
    interleave::assert_table!(table);
}

/// Capacity 3, filled and emptied twice: the items come out in order across the wrap of
/// a ring buffer.
#[test]
fn capacity_three_keeps_fifo_order_when_filled_twice() {
    let table = Scenario::new(|| BoundedBuffer::<u32>::new(3))
        .call("P1", "put(1)", put(1))
        .call("P1", "put(2)", put(2))
        .call("P1", "put(3)", put(3))
        .call("P1", "put(4)", put(4))
        .rule(PUT_BLOCKS)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("P1", "put(5)", put(5))
        .rule(PUT_FITS)
        .call("P1", "put(6)", put(6))
        .rule(PUT_BLOCKS)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_OLDEST)
        .call("C1", "take()", take)
        .rule(TAKE_BLOCKS)
        .state(contents)
        .max_steps(1_000)
        .run();
    interleave::assert_table!(table);
}

#[test]
fn a_buffer_of_capacity_0_is_refused() {
    let refused = std::panic::catch_unwind(|| BoundedBuffer::<u32>::new(0)).is_err();
    assert!(
        refused,
        "BoundedBuffer::new(0) must panic (see its doc comment):\nwith no room at all, every \
         put would block forever"
    );
}

/// A scripted call of a model-checked scenario.
#[derive(Clone, Copy)]
enum Call {
    Put(&'static str, u32),
    Take(&'static str),
}

/// Runs `calls` on a buffer of `capacity` and returns the table.
fn script<B: Buffer>(capacity: usize, calls: &[Call]) -> Table {
    let mut scenario = Scenario::new(move || B::with_capacity(capacity));
    for &call in calls {
        scenario = match call {
            Call::Put(actor, item) => {
                scenario.call(actor, &format!("put({item})"), move |b: &B| {
                    b.put(item);
                })
            }
            Call::Take(actor) => scenario.call(actor, "take()", |b: &B| b.take()),
        };
    }
    scenario.state(contents).max_steps(5_000).run()
}

/// Checks a table against the policy, step by step, without deciding which of several
/// waiting threads goes first (the policy leaves that open): the step's own call happens
/// first, then the call it let through; a take returns the oldest item; and once nothing
/// can move, no consumer is blocked while the buffer holds an item and no producer while
/// it has room. Returns the first problem.
fn judge(capacity: usize, table: &Table) -> Option<String> {
    if let Some(why) = &table.stopped {
        return Some(format!("the script stopped early: {why}"));
    }
    let mut buffer: std::collections::VecDeque<u32> = Default::default();
    let item_of = |call: &str| -> Option<u32> {
        call.split_once("put(")
            .and_then(|(_, rest)| rest.trim_end_matches(')').parse().ok())
    };
    for row in &table.rows {
        for returned in &row.returned {
            if let Some(item) = item_of(returned) {
                if buffer.len() == capacity {
                    return Some(format!(
                        "step {}: {returned} returned while the buffer was full ({capacity} \
                         items):\nput() blocks while the buffer is full",
                        row.step
                    ));
                }
                buffer.push_back(item);
            } else if let Some((who, value)) = returned.split_once(" -> ") {
                let value: u32 = value.parse().expect("take() returns a number");
                match buffer.pop_front() {
                    Some(oldest) if oldest == value => {}
                    Some(oldest) => {
                        return Some(format!(
                            "step {}: {who} returned {value}, but the oldest item was {oldest}:\n\
                             take() returns the items in the order they were put (FIFO)",
                            row.step
                        ));
                    }
                    None => {
                        return Some(format!(
                            "step {}: {who} returned {value} from an empty buffer",
                            row.step
                        ));
                    }
                }
            }
        }
        let blocked_take = row.blocked.iter().find(|b| b.ends_with("take()"));
        let blocked_put = row.blocked.iter().find(|b| b.contains("put("));
        let shown: Vec<String> = buffer.iter().map(u32::to_string).collect();
        if let (Some(taker), false) = (blocked_take, buffer.is_empty()) {
            return Some(format!(
                "step {}: {taker} is still blocked although the buffer holds [{}]:\na consumer \
                 sleeps while it could go on (no thread woke it when the item came)",
                row.step,
                shown.join(", ")
            ));
        }
        if let (Some(putter), true) = (blocked_put, buffer.len() < capacity) {
            return Some(format!(
                "step {}: {putter} is still blocked although the buffer has room ([{}], \
                 capacity {capacity}):\na producer sleeps while it could go on (no thread woke \
                 it when the slot was freed)",
                row.step,
                shown.join(", ")
            ));
        }
    }
    None
}

/// Three consumers wait on an empty buffer, then seven producers come, so that the buffer
/// fills (capacity 1 to 3) and several producers wait, then more consumers drain it:
/// several waiters on each side, the buffer full and empty in turn.
fn crowd() -> Vec<Call> {
    use Call::{Put, Take};
    let mut calls = vec![Take("C1"), Take("C2"), Take("C3")];
    for (i, p) in ["P1", "P2", "P3", "P4", "P5", "P6", "P7"]
        .iter()
        .enumerate()
    {
        calls.push(Put(p, i as u32 + 1));
    }
    // Items 4.. fill the buffer; the rest wait.
    for c in ["C4", "C5", "C6", "C7", "C8"] {
        calls.push(Take(c));
    }
    calls.push(Put("P8", 8));
    calls
}

fn judge_crowds<B: Buffer>() -> Option<String> {
    [1, 2, 3].into_iter().find_map(|capacity| {
        let table = match std::panic::catch_unwind(|| script::<B>(capacity, &crowd())) {
            Ok(table) => table,
            Err(_) => return Some(format!("capacity {capacity}: the scenario failed")),
        };
        judge(capacity, &table).map(|p| format!("capacity {capacity}, {p}\n\n{table}"))
    })
}

/// Several producers and several consumers wait at once; whichever of them the buffer
/// lets go first, every step must follow the policy.
#[test]
fn several_producers_and_consumers_waiting_at_once() {
    if let Some(problem) = judge_crowds::<BoundedBuffer<u32>>() {
        panic!("{problem}");
    }
}

/// `producers` producers put `items` items each (producer `i` puts `100 * i + k`),
/// `consumers` consumers take their share, through a buffer of `capacity`.
fn traffic<B: Buffer>(capacity: usize, producers: usize, consumers: usize, items: usize) {
    let buffer = Arc::new(B::with_capacity(capacity));
    let taken = Observed::new(Vec::<(String, u32)>::new());
    let total = producers * items;
    // Puts returned and takes called: when the first exceeds the second by more than the
    // capacity, the buffer holds too many items, whatever the takes in progress did.
    let (put, takes) = (Observed::new(0usize), Observed::new(0usize));
    let (p, t) = (put.clone(), takes.clone());
    invariant(
        format!("never more than {capacity} items in the buffer"),
        move || p.get() <= t.get() + capacity,
    );
    assert_eq!(
        total % consumers,
        0,
        "every consumer takes the same number of items"
    );
    let mut handles = Vec::new();
    for p in 1..=producers {
        let (b, put) = (buffer.clone(), put.clone());
        let handle = thread::Builder::new()
            .name(format!("P{p}"))
            .spawn(move || {
                for k in 0..items {
                    let item = (100 * p + k) as u32;
                    trace::label(format!("put({item})"));
                    b.put(item);
                    put.update(|n| *n += 1);
                }
            })
            .expect("spawn a producer");
        handles.push(handle);
    }
    for c in 1..=consumers {
        let (b, taken, takes) = (buffer.clone(), taken.clone(), takes.clone());
        let name = format!("C{c}");
        let handle = thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                for _ in 0..total / consumers {
                    trace::label("take()");
                    takes.update(|n| *n += 1);
                    let item = b.take();
                    trace::label(format!("took {item}"));
                    taken.update(|t| t.push((name.clone(), item)));
                }
            })
            .expect("spawn a consumer");
        handles.push(handle);
    }
    for h in handles {
        h.join().expect("a producer or consumer panicked");
    }
    let taken = taken.get();
    let mut items_taken: Vec<u32> = taken.iter().map(|(_, i)| *i).collect();
    items_taken.sort_unstable();
    let mut expected: Vec<u32> = (1..=producers)
        .flat_map(|p| (0..items).map(move |k| (100 * p + k) as u32))
        .collect();
    expected.sort_unstable();
    assert_eq!(
        items_taken, expected,
        "every item put must be taken exactly once"
    );
    for c in 1..=consumers {
        let consumer = format!("C{c}");
        for p in 1..=producers {
            let from = (100 * p) as u32..(100 * p + 100) as u32;
            let seen: Vec<u32> = taken
                .iter()
                .filter(|(who, i)| *who == consumer && from.contains(i))
                .map(|(_, i)| *i)
                .collect();
            assert!(
                seen.is_sorted(),
                "{consumer} took {seen:?} from P{p} out of order: the buffer must be FIFO"
            );
        }
    }
    if producers == 1 && consumers == 1 {
        let order: Vec<u32> = taken.iter().map(|(_, i)| *i).collect();
        assert!(
            order.is_sorted(),
            "the buffer must give the items in the order they were put; C1 took them from P1 \
             in this order: {order:?}"
        );
    }
}

/// The wake-ups in a failing schedule that went to a thread of the wrong kind: a
/// producer woken by a producer, or a consumer by a consumer.
fn wasted_wakeups(failure: &Failure) -> Vec<String> {
    let kind = |name: &str| name.chars().next();
    failure
        .trace
        .events
        .iter()
        .filter(|e| e.op.starts_with("notify"))
        .filter_map(|e| {
            let woken = e.outcome.as_deref()?.strip_prefix("wakes ")?;
            (kind(woken) == kind(&e.thread)).then(|| {
                let who = if kind(woken) == Some('P') {
                    "producer"
                } else {
                    "consumer"
                };
                format!(
                    "at step {}, {} woke {} (a {who} woke a {who}, who cannot use the wake-up)",
                    e.step, e.thread, woken
                )
            })
        })
        .collect()
}

/// Explores `traffic`, and names a lost wake-up caused by a wake-up sent to the wrong
/// side.
fn check_traffic<B: Buffer>(
    config: Config,
    (capacity, producers, consumers, items): (usize, usize, usize, usize),
) -> Result<Stats, String> {
    check(config, move || {
        traffic::<B>(capacity, producers, consumers, items);
    })
    .map_err(|failure| {
        let wasted = wasted_wakeups(&failure);
        if failure.kind == FailureKind::LostWakeup && !wasted.is_empty() {
            format!(
                "lost wake-up: {}; the threads that could have gone on were never woken.\n\n{failure}",
                wasted.join("; ")
            )
        } else {
            failure.to_string()
        }
    })
}

fn explore_traffic(config: Config, shape: (usize, usize, usize, usize)) {
    if let Err(report) = check_traffic::<BoundedBuffer<u32>>(config, shape) {
        panic!("{report}");
    }
}

#[test]
fn every_item_delivered_once_in_fifo_order_without_lost_wakeups() {
    explore_traffic(Config::new().iterations(1000), (2, 2, 2, 3));
}

#[test]
fn no_lost_wakeup_with_capacity_one_within_two_delays() {
    explore_traffic(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        (1, 2, 2, 3),
    );
}

/// More threads and items, capacities 1 to 3.
#[test]
fn three_producers_three_consumers_and_capacities_one_to_three() {
    for capacity in 1..=3 {
        explore_traffic(Config::new().iterations(300), (capacity, 3, 3, 4));
    }
}

/// One producer and one consumer: the consumer must get the items in exactly the order
/// they were put, through a buffer that fills and empties many times.
#[test]
fn one_producer_one_consumer_get_the_exact_order() {
    explore_traffic(Config::new().iterations(300), (3, 1, 1, 20));
}

/// Versions of the buffer written as students do, to show what the checks catch and what
/// they accept.
mod versions {
    use std::collections::VecDeque;

    use interleave::channel::{Receiver, Sender, bounded};
    use interleave::monitor::{Condition, Monitor, Semantics};
    use interleave::sync::{Condvar, Mutex};

    pub struct State {
        items: VecDeque<u32>,
        capacity: usize,
    }

    fn state(capacity: usize) -> Mutex<State> {
        Mutex::new(State {
            items: VecDeque::new(),
            capacity,
        })
    }

    /// Wrong: the starter, one condition variable and `notify_one`.
    pub struct OneCondvar {
        s: Mutex<State>,
        changed: Condvar,
    }
    impl super::Buffer for OneCondvar {
        fn with_capacity(capacity: usize) -> Self {
            OneCondvar {
                s: state(capacity),
                changed: Condvar::new(),
            }
        }
        fn put(&self, item: u32) {
            let mut s = self.s.lock();
            while s.items.len() == s.capacity {
                self.changed.wait(&mut s);
            }
            s.items.push_back(item);
            self.changed.notify_one();
        }
        fn take(&self) -> u32 {
            let mut s = self.s.lock();
            while s.items.is_empty() {
                self.changed.wait(&mut s);
            }
            let item = s.items.pop_front().expect("not empty");
            self.changed.notify_one();
            item
        }
    }

    /// Wrong: two condition variables, but notified only when the buffer stops being
    /// empty (or full); a second item put before the first consumer runs wakes nobody.
    pub struct NotifyOnTransition {
        s: Mutex<State>,
        not_full: Condvar,
        not_empty: Condvar,
    }
    impl super::Buffer for NotifyOnTransition {
        fn with_capacity(capacity: usize) -> Self {
            NotifyOnTransition {
                s: state(capacity),
                not_full: Condvar::new(),
                not_empty: Condvar::new(),
            }
        }
        fn put(&self, item: u32) {
            let mut s = self.s.lock();
            while s.items.len() == s.capacity {
                self.not_full.wait(&mut s);
            }
            s.items.push_back(item);
            if s.items.len() == 1 {
                self.not_empty.notify_one();
            }
        }
        fn take(&self) -> u32 {
            let mut s = self.s.lock();
            while s.items.is_empty() {
                self.not_empty.wait(&mut s);
            }
            let item = s.items.pop_front().expect("not empty");
            if s.items.len() == s.capacity - 1 {
                self.not_full.notify_one();
            }
            item
        }
    }

    /// Wrong: two condition variables with `if`: a consumer that barges in takes the item
    /// a woken consumer was woken for.
    pub struct Ifs {
        s: Mutex<State>,
        not_full: Condvar,
        not_empty: Condvar,
    }
    impl super::Buffer for Ifs {
        fn with_capacity(capacity: usize) -> Self {
            Ifs {
                s: state(capacity),
                not_full: Condvar::new(),
                not_empty: Condvar::new(),
            }
        }
        fn put(&self, item: u32) {
            let mut s = self.s.lock();
            if s.items.len() == s.capacity {
                self.not_full.wait(&mut s);
            }
            s.items.push_back(item);
            self.not_empty.notify_one();
        }
        fn take(&self) -> u32 {
            let mut s = self.s.lock();
            if s.items.is_empty() {
                self.not_empty.wait(&mut s);
            }
            let item = s.items.pop_front().unwrap();
            self.not_full.notify_one();
            item
        }
    }

    /// Wrong: a stack, the newest item first.
    pub struct Stack {
        s: Mutex<State>,
        changed: Condvar,
    }
    impl super::Buffer for Stack {
        fn with_capacity(capacity: usize) -> Self {
            Stack {
                s: state(capacity),
                changed: Condvar::new(),
            }
        }
        fn put(&self, item: u32) {
            let mut s = self.s.lock();
            while s.items.len() == s.capacity {
                self.changed.wait(&mut s);
            }
            s.items.push_back(item);
            self.changed.notify_all();
        }
        fn take(&self) -> u32 {
            let mut s = self.s.lock();
            while s.items.is_empty() {
                self.changed.wait(&mut s);
            }
            let item = s.items.pop_back().expect("not empty");
            self.changed.notify_all();
            item
        }
    }

    /// Right: one condition variable and `notify_all` (the chapter's "going further").
    pub struct NotifyAll {
        s: Mutex<State>,
        changed: Condvar,
    }
    impl super::Buffer for NotifyAll {
        fn with_capacity(capacity: usize) -> Self {
            NotifyAll {
                s: state(capacity),
                changed: Condvar::new(),
            }
        }
        fn put(&self, item: u32) {
            let mut s = self.s.lock();
            self.changed
                .wait_while(&mut s, |s| s.items.len() == s.capacity);
            s.items.push_back(item);
            self.changed.notify_all();
        }
        fn take(&self) -> u32 {
            let mut s = self.s.lock();
            self.changed.wait_while(&mut s, |s| s.items.is_empty());
            let item = s.items.pop_front().expect("not empty");
            drop(s);
            self.changed.notify_all();
            item
        }
    }

    /// Right: a ring of slots with head and count, on a Hoare monitor with the notes'
    /// two conditions and `if`.
    pub struct HoareRing {
        m: Monitor<(Vec<u32>, usize, usize)>,
        not_full: Condition,
        not_empty: Condition,
    }
    impl super::Buffer for HoareRing {
        fn with_capacity(capacity: usize) -> Self {
            HoareRing {
                m: Monitor::new((vec![0; capacity], 0, 0), Semantics::Hoare),
                not_full: Condition::new(),
                not_empty: Condition::new(),
            }
        }
        fn put(&self, item: u32) {
            let mut g = self.m.enter();
            if g.2 == g.0.len() {
                self.not_full.wait(&mut g);
            }
            let slot = (g.1 + g.2) % g.0.len();
            g.0[slot] = item;
            g.2 += 1;
            self.not_empty.signal(&mut g);
        }
        fn take(&self) -> u32 {
            let mut g = self.m.enter();
            if g.2 == 0 {
                self.not_empty.wait(&mut g);
            }
            let item = g.0[g.1];
            g.1 = (g.1 + 1) % g.0.len();
            g.2 -= 1;
            self.not_full.signal(&mut g);
            item
        }
    }

    /// Right: a bounded channel of the same capacity does the whole job.
    pub struct Channel(Sender<u32>, Receiver<u32>);
    impl super::Buffer for Channel {
        fn with_capacity(capacity: usize) -> Self {
            let (tx, rx) = bounded(capacity);
            Channel(tx, rx)
        }
        fn put(&self, item: u32) {
            self.0.send(item).expect("the buffer holds its receiver");
        }
        fn take(&self) -> u32 {
            self.1.recv().expect("the buffer holds its sender")
        }
    }
}

/// The explorations of this file, on `B`: the first report, if any.
fn explorations<B: Buffer>() -> Option<String> {
    let shapes = [
        (Config::new().iterations(1000), (2, 2, 2, 3)),
        (
            Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
            (1, 2, 2, 3),
        ),
        (Config::new().iterations(300), (1, 3, 3, 4)),
        (Config::new().iterations(300), (2, 3, 3, 4)),
        (Config::new().iterations(300), (3, 3, 3, 4)),
        (Config::new().iterations(300), (3, 1, 1, 20)),
    ];
    shapes
        .into_iter()
        .find_map(|(config, shape)| check_traffic::<B>(config, shape).err())
}

#[test]
fn the_checks_catch_one_condvar_transition_notifies_ifs_and_a_stack() {
    let one = explorations::<versions::OneCondvar>().expect("one condvar loses a wake-up");
    assert!(one.starts_with("lost wake-up: at step"), "{one}");
    let transition =
        explorations::<versions::NotifyOnTransition>().expect("transition notifies lose one");
    assert!(transition.contains("deadlock"), "{transition}");
    let ifs = explorations::<versions::Ifs>().expect("`if` lets a barging thread in");
    assert!(
        ifs.contains("more than") || ifs.contains("`None` value"),
        "{ifs}"
    );
    let stack = judge_crowds::<versions::Stack>().expect("a stack is not FIFO");
    assert!(
        stack.contains("take() returns the items in the order they were put"),
        "{stack}"
    );
    let stack = explorations::<versions::Stack>().expect("a stack is not FIFO");
    assert!(stack.contains("the buffer must"), "{stack}");
}

#[test]
fn notify_all_a_hoare_ring_and_a_channel_pass() {
    assert_eq!(judge_crowds::<versions::NotifyAll>(), None);
    assert_eq!(explorations::<versions::NotifyAll>(), None);
    assert_eq!(judge_crowds::<versions::HoareRing>(), None);
    assert_eq!(explorations::<versions::HoareRing>(), None);
    assert_eq!(judge_crowds::<versions::Channel>(), None);
    assert_eq!(explorations::<versions::Channel>(), None);
}

// std's condvar contract: a `Condvar` of std (or parking_lot) may wake a waiter for
// nothing (a spurious wake-up), and `notify_one` may wake any one of its waiters. The
// simulated one does neither unless asked (`CondvarSemantics::Std`); these checks ask.

/// Every item delivered once, in FIFO order, without lost wake-ups, when the condition
/// variables behave as std allows.
#[test]
fn every_item_delivered_once_under_std_condvar_semantics() {
    let std_contract = interleave::explore::CondvarSemantics::Std;
    explore_traffic(
        Config::new().iterations(1000).condvar(std_contract),
        (2, 2, 2, 3),
    );
    explore_traffic(
        Config::new()
            .strategy(Strategy::DelayBounded { bound: 2 })
            .condvar(std_contract),
        (1, 2, 2, 3),
    );
}

/// The oracle: `if` instead of `while` around the waits passes every FIFO schedule with
/// one producer and one consumer (nobody can barge in), and fails under std's contract:
/// a spurious wake-up lets the consumer take from an empty buffer, or the producer put
/// into a full one.
#[test]
fn the_std_contract_catches_a_wait_without_a_loop() {
    let std_contract = interleave::explore::CondvarSemantics::Std;
    let one_each = || traffic::<versions::Ifs>(1, 1, 1, 3);
    for config in [
        Config::new().iterations(1000),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        check(config.clone(), one_each).unwrap_or_else(|f| panic!("FIFO hides the bug:\n{f}"));
        let f = check(config.condvar(std_contract), one_each).expect_err("a spurious wake-up");
        assert!(f.had_spurious_wakeup(), "{f}");
    }
}
