//! Checks `locks/ticket_lock`: mutual exclusion, and entry in ticket order (a waiter is
//! never overtaken), under many schedules; scenarios where threads queue, leave and come
//! back; real threads under a watchdog; and ticket locks written in this file, wrong and
//! right, to check the checks.
//!
//! The threads spin (they never block), and interleave counts every step of a thread
//! that has not blocked since it started: the explorations below stay far below the
//! default budget of 10 000 such steps (`Config::max_steps_without_blocking`), so they
//! keep it; a starter that spins forever is reported by that budget.

mod common;

use std::cell::{RefCell, UnsafeCell};
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::script::Checked;
use interleave::explore::{Config, Observed, Strategy, check, explore, invariant};
use interleave::real::within;
use interleave::report::FailureKind;
use interleave::scenario::{Returned, Scenario, Table};
use interleave::sync::Arc;
use interleave::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use interleave::thread;
use locks::ticket_lock::{Ticket, TicketGuard, TicketLock};

/// A ticket lock as the checks see it (the step's, or one written in this file).
trait Tickets: Send + Sync + 'static {
    type Ticket: Send;
    type Guard<'a>: DerefMut<Target = u64>
    where
        Self: 'a;
    fn new(value: u64) -> Self;
    fn take_ticket(&self) -> Self::Ticket;
    fn number(ticket: &Self::Ticket) -> usize;
    fn try_turn<'a>(&'a self, ticket: &Self::Ticket) -> Option<Self::Guard<'a>>;
    fn wait_turn(&self, ticket: Self::Ticket) -> Self::Guard<'_>;
    fn lock(&self) -> Self::Guard<'_>;
}

impl Tickets for TicketLock<u64> {
    type Ticket = Ticket;
    type Guard<'a> = TicketGuard<'a, u64>;
    fn new(value: u64) -> Self {
        TicketLock::new(value)
    }
    fn take_ticket(&self) -> Ticket {
        TicketLock::take_ticket(self)
    }
    fn number(ticket: &Ticket) -> usize {
        ticket.number()
    }
    fn try_turn<'a>(&'a self, ticket: &Ticket) -> Option<TicketGuard<'a, u64>> {
        TicketLock::try_turn(self, ticket)
    }
    fn wait_turn(&self, ticket: Ticket) -> TicketGuard<'_, u64> {
        TicketLock::wait_turn(self, ticket)
    }
    fn lock(&self) -> TicketGuard<'_, u64> {
        TicketLock::lock(self)
    }
}

type Step = TicketLock<u64>;

/// `n` threads take the lock `rounds` times each; inside, a read and a write with a
/// scheduling point between them, so that two threads inside at once lose an update.
/// With `check_order`, a thread that enters while someone who drew an earlier ticket still
/// waits fails the schedule.
fn queueing<L: Tickets>(n: usize, rounds: usize, check_order: bool) {
    let lock = Arc::new(L::new(0));
    // Test-side: the threads that drew a ticket and wait, with their numbers, and every
    // number drawn so far (and by whom).
    let queue = Observed::new(Vec::<(String, usize)>::new());
    let drawn = Observed::new(HashMap::<usize, String>::new());
    let inside = Observed::new(Vec::<String>::new());
    let i = inside.clone();
    invariant("at most one thread holds the ticket lock", move || {
        i.with(|v| v.len() <= 1)
    });
    let handles: Vec<_> = (1..=n)
        .map(|k| {
            let name = format!("T{k}");
            let (lock, inside, queue, drawn) =
                (lock.clone(), inside.clone(), queue.clone(), drawn.clone());
            thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    for _ in 0..rounds {
                        let ticket = lock.take_ticket();
                        let number = L::number(&ticket);
                        if let Some(other) = drawn.update(|d| d.insert(number, name.clone())) {
                            panic!(
                                "{other} and {name} both drew ticket #{number}: drawing a \
                                 ticket must be one indivisible step\n(`fetch_add`), or two \
                                 threads get the same number and both go in"
                            );
                        }
                        queue.update(|q| q.push((name.clone(), number)));
                        let mut guard = lock.wait_turn(ticket);
                        let ahead = queue.update(|q| {
                            q.retain(|(w, _)| *w != name);
                            let ahead: Vec<String> = q
                                .iter()
                                .filter(|(_, t)| *t < number)
                                .map(|(w, t)| format!("{w} (#{t})"))
                                .collect();
                            ahead.join(", ")
                        });
                        assert!(
                            !check_order || ahead.is_empty(),
                            "{name} (#{number}) entered the ticket lock while {ahead}, with an \
                             earlier ticket, still waits:\na waiter was overtaken (FIFO order \
                             broken)"
                        );
                        inside.update(|v| v.push(name.clone()));
                        let seen = *guard;
                        thread::yield_now();
                        *guard = seen + 1;
                        inside.update(|v| v.retain(|x| *x != name));
                        drop(guard);
                    }
                })
                .expect("spawn a thread")
        })
        .collect();
    for h in handles {
        h.join().expect("a thread panicked");
    }
    let total = *lock.lock();
    let want = (n * rounds) as u64;
    assert!(
        total == want,
        "lost update: {n} threads added 1 {rounds} times each under the ticket lock, but the \
         value is {total}, not {want}: two threads were inside at once"
    );
}

fn exploration_checks<L: Tickets>() {
    explore(Config::new().iterations(300), || queueing::<L>(3, 2, true));
    explore(Config::new().iterations(200), || queueing::<L>(4, 3, true));
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || queueing::<L>(3, 2, true),
    );
}

#[test]
fn at_most_one_thread_inside() {
    explore(Config::new().iterations(300), || {
        queueing::<Step>(3, 2, false)
    });
    explore(Config::new().iterations(200), || {
        queueing::<Step>(4, 3, false)
    });
}

#[test]
fn at_most_one_thread_inside_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || queueing::<Step>(3, 2, false),
    );
}

#[test]
fn a_waiter_is_never_overtaken() {
    explore(Config::new().iterations(300), || {
        queueing::<Step>(3, 2, true)
    });
    explore(Config::new().iterations(200), || {
        queueing::<Step>(4, 3, true)
    });
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || queueing::<Step>(3, 2, true),
    );
}

/// The scenario's object: the lock, and per actor its ticket and its guard (the lock is
/// leaked so that guards can outlive the calls that took them).
struct Counter<L: Tickets> {
    lock: &'static L,
    tickets: RefCell<HashMap<&'static str, L::Ticket>>,
    guards: RefCell<HashMap<&'static str, L::Guard<'static>>>,
}

impl<L: Tickets> Counter<L> {
    fn new() -> Self {
        Counter {
            lock: Box::leak(Box::new(L::new(0))),
            tickets: RefCell::default(),
            guards: RefCell::default(),
        }
    }

    fn take_ticket(&self, who: &'static str) -> usize {
        let ticket = self.lock.take_ticket();
        let n = L::number(&ticket);
        self.tickets.borrow_mut().insert(who, ticket);
        n
    }

    /// Tries once to enter with `who`'s ticket (what a spinning thread does between two
    /// `yield_now`s); true if it entered.
    fn try_turn(&self, who: &'static str) -> bool {
        let tickets = self.tickets.borrow();
        let ticket = tickets.get(who).expect("the actor took a ticket");
        match self.lock.try_turn(ticket) {
            Some(guard) => {
                self.guards.borrow_mut().insert(who, guard);
                true
            }
            None => false,
        }
    }

    /// Drops `who`'s guard. An actor whose `try_turn` was refused holds nothing: the table
    /// then shows it, and the first step that differs from the policy is reported (an earlier
    /// `try_turn`), rather than this one.
    fn unlock(&self, who: &'static str) -> Unlocked {
        self.tickets.borrow_mut().remove(who);
        match self.guards.borrow_mut().remove(who) {
            Some(guard) => {
                drop(guard);
                Unlocked(true)
            }
            None => Unlocked(false),
        }
    }
}

/// What `Counter::unlock` did: shown as nothing when the actor held the lock.
struct Unlocked(bool);

impl std::fmt::Debug for Unlocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 {
            f.write_str("()")
        } else {
            f.write_str("nothing to unlock: its try_turn was refused")
        }
    }
}

/// Who holds the lock and who queues, computed from the calls that returned.
fn queue(done: &[Returned]) -> String {
    let mut holder = None;
    let mut waiting: Vec<(String, String)> = Vec::new();
    for r in done {
        let value = r.value.clone().unwrap_or_default();
        if r.call == "take_ticket()" {
            waiting.push((r.actor.clone(), value));
        } else if r.call.starts_with("try_turn") && value == "true" {
            waiting.retain(|(a, _)| *a != r.actor);
            holder = Some(r.actor.clone());
        } else if r.call == "unlock()" {
            holder = None;
        }
    }
    let queue: Vec<String> = waiting.iter().map(|(a, t)| format!("{a} #{t}")).collect();
    format!(
        "inside: {}; queue: {}",
        holder.as_deref().unwrap_or("nobody"),
        if queue.is_empty() {
            "empty".to_string()
        } else {
            queue.join(", ")
        }
    )
}

const DISPLAY: &str = "only the ticket on display may go in; leaving shows the next number";

fn three_threads_queue<L: Tickets>() -> Scenario<Counter<L>> {
    Scenario::new(Counter::<L>::new)
        .call("T1", "take_ticket()", |c| c.take_ticket("T1"))
        .rule("tickets are numbered 0, 1, 2... in the order they are drawn")
        .call("T2", "take_ticket()", |c| c.take_ticket("T2"))
        .call("T3", "take_ticket()", |c| c.take_ticket("T3"))
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .rule("the display shows 0: not T3's turn")
        .call("T2", "try_turn(#1)", |c| c.try_turn("T2"))
        .rule("the display shows 0: not T2's turn")
        .call("T1", "try_turn(#0)", |c| c.try_turn("T1"))
        .rule("the display shows 0: T1 goes in")
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .rule(DISPLAY)
        .call("T1", "unlock()", |c| c.unlock("T1"))
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .rule("the lock is free, but the display shows 1: T2's turn, not T3's")
        .call("T2", "try_turn(#1)", |c| c.try_turn("T2"))
        .rule("the display shows 1: T2 goes in")
        .call("T2", "unlock()", |c| c.unlock("T2"))
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .rule("the display shows 2: T3 goes in")
        .call("T3", "unlock()", |c| c.unlock("T3"))
        .state(queue)
}

const QUEUE: &str =
    include_str!("snapshots/ticket_lock__three_threads_queue_and_enter_in_ticket_order.snap");
const BACK: &str = include_str!(
    "snapshots/ticket_lock__a_thread_that_comes_back_queues_behind_the_waiting_ones.snap"
);

#[test]
fn three_threads_queue_and_enter_in_ticket_order() {
    let table = three_threads_queue::<Step>().run();
    interleave::assert_table!(table);
}

/// Four threads and two rounds: a thread that leaves and comes back draws a new ticket
/// and queues behind those who were already waiting.
fn coming_back<L: Tickets>() -> Scenario<Counter<L>> {
    Scenario::new(Counter::<L>::new)
        .call("T1", "take_ticket()", |c| c.take_ticket("T1"))
        .call("T1", "try_turn(#0)", |c| c.try_turn("T1"))
        .rule("the display shows 0: T1 goes in")
        .call("T2", "take_ticket()", |c| c.take_ticket("T2"))
        .call("T3", "take_ticket()", |c| c.take_ticket("T3"))
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .rule("T1 is inside, and the display shows 0")
        .call("T1", "unlock()", |c| c.unlock("T1"))
        .rule(DISPLAY)
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .rule("the lock is free, but the display shows 1: T2's turn, not T3's")
        .call("T1", "take_ticket()", |c| c.take_ticket("T1"))
        .rule("T1 comes back and draws the next number: it queues behind T2 and T3")
        .call("T1", "try_turn(#3)", |c| c.try_turn("T1"))
        .rule("the display shows 1: not T1's turn")
        .call("T2", "try_turn(#1)", |c| c.try_turn("T2"))
        .rule("the display shows 1: T2 goes in")
        .call("T4", "take_ticket()", |c| c.take_ticket("T4"))
        .call("T2", "unlock()", |c| c.unlock("T2"))
        .rule(DISPLAY)
        .call("T4", "try_turn(#4)", |c| c.try_turn("T4"))
        .rule("the display shows 2: not T4's turn")
        .call("T1", "try_turn(#3)", |c| c.try_turn("T1"))
        .rule("the display shows 2: T3 drew #2 before T1's #3, T1 waits")
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .rule("the display shows 2: T3 goes in")
        .call("T3", "unlock()", |c| c.unlock("T3"))
        .call("T4", "try_turn(#4)", |c| c.try_turn("T4"))
        .rule("the display shows 3: T1's turn, not T4's")
        .call("T1", "try_turn(#3)", |c| c.try_turn("T1"))
        .rule("the display shows 3: T1 goes in")
        .call("T1", "unlock()", |c| c.unlock("T1"))
        .call("T4", "try_turn(#4)", |c| c.try_turn("T4"))
        .rule("the display shows 4: T4 goes in")
        .call("T4", "unlock()", |c| c.unlock("T4"))
        .state(queue)
}

fn check_coming_back(table: &Table) {
    if table.rows.len() < 21 {
        return;
    }
    let who_entered: Vec<&str> = table
        .rows
        .iter()
        .filter(|r| {
            r.returned
                .iter()
                .any(|x| x.contains("try_turn") && x.ends_with("-> true"))
        })
        .map(|r| r.call.split(' ').next().unwrap_or_default())
        .collect();
    assert!(
        who_entered == ["T1", "T2", "T3", "T1", "T4"],
        "the threads went in in the order {who_entered:?}, but the tickets were drawn by T1 \
         (#0), T2 (#1),\nT3 (#2), T1 again (#3) and T4 (#4): a ticket lock lets them in in \
         that order, and a\nthread that comes back queues behind those already waiting.\n\n\
         {table:#}"
    );
}

#[test]
fn a_thread_that_comes_back_queues_behind_the_waiting_ones() {
    let table = coming_back::<Step>().run();
    check_coming_back(&table);
    interleave::assert_table!(table);
}

/// Real threads count under the lock, under a watchdog (a lock whose display skips a
/// number makes a thread spin forever on real cores).
fn real_threads<L: Tickets>() {
    let total = within(
        Duration::from_secs(10),
        "4 real threads counting to 800 under the ticket lock",
        || {
            let lock = std::sync::Arc::new(L::new(0));
            std::thread::scope(|s| {
                for _ in 0..4 {
                    let lock = lock.clone();
                    s.spawn(move || {
                        for _ in 0..200 {
                            *lock.lock() += 1;
                        }
                    });
                }
            });
            *lock.lock()
        },
    );
    assert_eq!(
        total, 800,
        "lost update: 4 real threads added 1 200 times each under the ticket lock"
    );
}

#[test]
fn real_threads_count_under_the_ticket_lock() {
    real_threads::<Step>();
}

#[test]
fn tickets_and_the_example_of_the_doc() {
    let shown = within(Duration::from_secs(10), "the example of the doc", || {
        let lock = Step::new(0);
        *lock.lock() += 1;
        let ticket = lock.take_ticket();
        assert_eq!(ticket.number(), 1, "the second ticket drawn is number 1");
        assert!(
            lock.try_turn(&lock.take_ticket()).is_none(),
            "#2 waits for #1"
        );
        let guard = lock.wait_turn(ticket);
        assert_eq!(*guard, 1);
        drop(guard);
        format!("{lock:?}")
    });
    assert!(
        !shown.is_empty(),
        "a TicketLock shows something when printed with {{:?}}"
    );
}

/// Every check above, for a lock written in this file.
fn all_checks<L: Tickets>() {
    three_threads_queue::<L>().check(QUEUE, |_| ());
    coming_back::<L>().check(BACK, check_coming_back);
    exploration_checks::<L>();
    real_threads::<L>();
}

/// A ticket lock written in the test, with fault number `F` (0: none).
struct TestLock<const F: u8> {
    next_ticket: AtomicUsize,
    now_serving: AtomicUsize,
    /// Fault 4 only: a flag set in one indivisible step (no ticket order).
    locked: AtomicBool,
    value: UnsafeCell<u64>,
}

// SAFETY: as the step's lock: the value is reached by the holder of the ticket on display
// only (the faulty variants break that on purpose, and only run in simulations, where one
// OS thread runs every simulated thread).
unsafe impl<const F: u8> Sync for TestLock<F> {}

struct TestGuard<'a, const F: u8> {
    lock: &'a TestLock<F>,
}

impl<const F: u8> Deref for TestGuard<'_, F> {
    type Target = u64;
    fn deref(&self) -> &u64 {
        // SAFETY: see `Sync` above.
        unsafe { &*self.lock.value.get() }
    }
}

impl<const F: u8> DerefMut for TestGuard<'_, F> {
    fn deref_mut(&mut self) -> &mut u64 {
        // SAFETY: see `Sync` above.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<const F: u8> Drop for TestGuard<'_, F> {
    fn drop(&mut self) {
        let display = &self.lock.now_serving;
        match F {
            // Correct too: only the holder writes the display, so a load and a store will do.
            1 => display.store(display.load(Ordering::Relaxed) + 1, Ordering::Release),
            4 => self.lock.locked.store(false, Ordering::Release),
            _ => {
                display.fetch_add(1, Ordering::Release);
            }
        }
    }
}

/// 0 and 1: correct (1 advances the display with a load and a store). 2: draws tickets
/// with a load and a store (two threads can draw the same number). 3: builds the guard
/// before looking (`then_some`), so a refused look drops a guard and advances the display.
/// 4: the starter made atomic: a flag checked and set in one step, tickets ignored (mutual
/// exclusion, but whoever looks at the right moment goes first).
impl<const F: u8> Tickets for TestLock<F> {
    type Ticket = usize;
    type Guard<'a> = TestGuard<'a, F>;

    fn new(value: u64) -> Self {
        TestLock {
            next_ticket: AtomicUsize::new(0),
            now_serving: AtomicUsize::new(0),
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    fn take_ticket(&self) -> usize {
        if F == 2 {
            let t = self.next_ticket.load(Ordering::Relaxed);
            self.next_ticket.store(t + 1, Ordering::Relaxed);
            t
        } else {
            self.next_ticket.fetch_add(1, Ordering::Relaxed)
        }
    }

    fn number(ticket: &usize) -> usize {
        *ticket
    }

    fn try_turn<'a>(&'a self, ticket: &usize) -> Option<TestGuard<'a, F>> {
        match F {
            3 => (self.now_serving.load(Ordering::Acquire) == *ticket)
                .then_some(TestGuard { lock: self }),
            4 => self
                .locked
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .ok()
                .map(|_| TestGuard { lock: self }),
            _ => {
                if self.now_serving.load(Ordering::Acquire) == *ticket {
                    Some(TestGuard { lock: self })
                } else {
                    None
                }
            }
        }
    }

    fn wait_turn(&self, ticket: usize) -> TestGuard<'_, F> {
        loop {
            if let Some(g) = self.try_turn(&ticket) {
                return g;
            }
            thread::yield_now();
        }
    }

    fn lock(&self) -> TestGuard<'_, F> {
        self.wait_turn(self.take_ticket())
    }
}

/// The failure of an exploration run on `L`, which must fail.
fn failure_of<L: Tickets>() -> String {
    let explorations = catch_unwind(AssertUnwindSafe(exploration_checks::<L>));
    let p = explorations.expect_err("the checks must reject this lock");
    p.downcast_ref::<String>()
        .cloned()
        .unwrap_or_default()
        // Whitespace collapsed: the checks assert on words, wherever a report breaks lines.
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn other_correct_designs_pass() {
    all_checks::<TestLock<0>>();
    all_checks::<TestLock<1>>();
}

#[test]
fn the_checks_reject_wrong_ticket_locks() {
    let m = failure_of::<TestLock<2>>();
    assert!(m.contains("both drew ticket #"), "{m}");
    let m = failure_of::<TestLock<3>>();
    assert!(!m.is_empty(), "{m}");
    let m = failure_of::<TestLock<4>>();
    assert!(
        m.contains("a waiter was overtaken (FIFO order broken)"),
        "{m}"
    );
    // In a simulation, a duplicated ticket is reported as such, never as a hang.
    let f = check(Config::new().iterations(300), || {
        queueing::<TestLock<2>>(3, 2, false)
    })
    .expect_err("two threads draw the same ticket in some schedule");
    assert_eq!(f.kind, FailureKind::Panic, "{f}");
}
