//! Checks `locks/ticket_lock`: mutual exclusion, and entry in ticket order (a waiter is
//! never overtaken), under many schedules; what a holder writes is visible to the next
//! holder (the display is stored with Release and read with Acquire, under interleave's
//! weak memory model); scenarios where threads queue, leave and come back; real threads
//! under a watchdog; and ticket locks written in this file, wrong and right, to check the
//! checks.
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
use interleave::cell::UnsafeCell as TrackedUnsafeCell;
use interleave::explore::{Config, Observed, Strategy, check, invariant};
use interleave::real::within;
use interleave::report::FailureKind;
use interleave::scenario::{Returned, Scenario, Table};
use interleave::sync::Arc;
use interleave::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
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

/// The value under the lock, whose every access interleave checks against its memory
/// model: a read that does not happen after the previous holder's write is a data race.
struct Value(TrackedUnsafeCell<u64>);

impl Value {
    fn new() -> Self {
        Value(TrackedUnsafeCell::named(
            "the value under the ticket lock",
            0,
        ))
    }

    fn get(&self) -> u64 {
        // SAFETY: called by the holder of the lock only; a simulation runs one thread at a
        // time, and the model reports an access that the lock does not order.
        self.0.with(|p| unsafe { *p })
    }

    fn set(&self, v: u64) {
        // SAFETY: as in `get`.
        self.0.with_mut(|p| unsafe { *p = v });
    }
}

/// A ticket lock that protects a [`Value`] (the step's, or one written in this file).
trait Publishing: Send + Sync + 'static {
    type Guard<'a>: Deref<Target = Value>
    where
        Self: 'a;
    fn new_publishing() -> Self;
    fn lock(&self) -> Self::Guard<'_>;
}

impl Publishing for TicketLock<Value> {
    type Guard<'a> = TicketGuard<'a, Value>;
    fn new_publishing() -> Self {
        TicketLock::new(Value::new())
    }
    fn lock(&self) -> TicketGuard<'_, Value> {
        TicketLock::lock(self)
    }
}

/// What the test records of one run of threads that take the lock: who holds it, who
/// waits for it (with its ticket when the test drew it), and the tickets that entered.
#[derive(Clone)]
struct Record {
    inside: Observed<Vec<String>>,
    waiting: Observed<Vec<(String, Option<usize>)>>,
    served: Observed<Vec<(String, usize)>>,
}

impl Record {
    fn new() -> Self {
        Record {
            inside: Observed::new(Vec::new()),
            waiting: Observed::new(Vec::new()),
            served: Observed::new(Vec::new()),
        }
    }

    /// `who` starts waiting for the lock (in `lock()`, or in `wait_turn` with `ticket`).
    fn waits(&self, who: &str, ticket: Option<usize>) {
        self.waiting.update(|w| w.push((who.to_string(), ticket)));
    }

    /// `who` got in: it no longer waits.
    fn got_in(&self, who: &str, ticket: Option<usize>) {
        self.waiting.update(|w| w.retain(|(x, _)| x != who));
        if let Some(t) = ticket {
            self.served.update(|s| s.push((who.to_string(), t)));
        }
    }

    /// Why the threads still waiting spin for ever, if the record shows it: nobody holds
    /// the lock, so the display should show the ticket of a waiter, who goes in at its
    /// next look; the waiters' turns never come, so a turn was skipped. In the step's
    /// words; None if someone holds the lock (then the holder is what they wait for).
    fn endless_spin(&self) -> Option<String> {
        if !self.inside.with(Vec::is_empty) {
            return None;
        }
        let waiting = self.waiting.get();
        let served = self.served.get();
        let ((who, ticket), others) = waiting.split_first()?;
        let call = if ticket.is_some() {
            "wait_turn"
        } else {
            "lock()"
        };
        let also = if others.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = others.iter().map(|(w, _)| w.as_str()).collect();
            format!(" ({} too)", names.join(", "))
        };
        let mut m = format!(
            "{who} spins in {call} for ever{also}: nobody holds the ticket lock, yet {who}'s \
             turn never comes. When the lock is free, the display shows the ticket of the next \
             waiter, who goes in at its next look; "
        );
        // What the record shows of the display: the tickets served after a waiting one.
        let mut lowest: Vec<(&str, usize)> = waiting
            .iter()
            .filter_map(|(w, t)| t.map(|t| (w.as_str(), t)))
            .collect();
        lowest.sort_by_key(|&(_, t)| t);
        let later = lowest.first().and_then(|&(w, t)| {
            let after: Vec<String> = served
                .iter()
                .filter(|(_, s)| *s > t)
                .map(|(x, s)| format!("{x} (#{s})"))
                .collect();
            (!after.is_empty()).then_some((w, t, after))
        });
        match later {
            Some((w, t, after)) => m.push_str(&format!(
                "here {w} holds #{t}, and {} entered with a later ticket: the display moved \
                 past #{t}, so #{t}'s turn was skipped. ",
                after.join(", ")
            )),
            None => m.push_str(
                "here no waiter's ticket will ever be on display, so a turn was skipped: a \
                 thread went in without waiting for its own ticket to be on display (on \
                 another's turn), or the display moved on without its holder leaving. ",
            ),
        }
        m.push_str(
            "Every thread must go in only when the display shows its own ticket, and leaving \
             must move the display on by exactly one. A turn skipped.",
        );
        Some(m)
    }
}

/// Runs `body` under `config` with a new record for each schedule, and returns the first
/// failure: a spin that can never end is explained from the record of its run.
fn check_recorded(
    config: Config,
    body: impl Fn(&Record) + Send + Sync + 'static,
) -> Result<interleave::explore::Stats, Box<interleave::report::Failure>> {
    let last = std::sync::Arc::new(std::sync::Mutex::new(None::<Record>));
    let keep = last.clone();
    check(config, move || {
        let record = Record::new();
        *keep.lock().expect("the record") = Some(record.clone());
        body(&record);
    })
    .map_err(|mut failure| {
        let record = last.lock().expect("the record").take();
        if failure.kind == FailureKind::Budget
            && let Some(message) = record.and_then(|r| r.endless_spin())
        {
            failure.kind = FailureKind::Explained;
            failure.message = message;
            interleave::trace::export_failure(&failure);
        }
        failure
    })
}

/// [`check_recorded`], panicking with the report of the first failure.
fn explore_recorded(config: Config, body: impl Fn(&Record) + Send + Sync + 'static) {
    if let Err(failure) = check_recorded(config, body) {
        panic!("{failure}");
    }
}

/// `n` threads each take the lock `rounds` times, read the value and write it plus one.
/// Each holder must see what the previous one wrote: leaving stores the next turn, which
/// the next holder reads before going in, and only a Release store read by an Acquire
/// load (or stronger orderings, or fences) makes the previous holder's writes happen
/// before the next holder's reads. interleave reports a data race on the value otherwise.
fn handing_over<L: Publishing>(record: &Record, n: usize, rounds: usize) {
    let lock = Arc::new(L::new_publishing());
    let inside = record.inside.clone();
    let handles: Vec<_> = (1..=n)
        .map(|k| {
            let name = format!("T{k}");
            let (lock, inside, record) = (lock.clone(), inside.clone(), record.clone());
            thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    for _ in 0..rounds {
                        record.waits(&name, None);
                        let guard = lock.lock();
                        record.got_in(&name, None);
                        let others = inside.update(|v| {
                            let others = v.join(", ");
                            v.push(name.clone());
                            others
                        });
                        assert!(
                            others.is_empty(),
                            "{name} entered the ticket lock while {others} held it: at most \
                             one thread may hold it"
                        );
                        let seen = guard.get();
                        guard.set(seen + 1);
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
    let total = lock.lock().get();
    assert_eq!(
        total,
        (n * rounds) as u64,
        "lost update under the ticket lock"
    );
}

fn publishing_checks<L: Publishing>() {
    explore_recorded(Config::new().iterations(200), |r| {
        handing_over::<L>(r, 3, 2)
    });
    explore_recorded(
        Config::new().strategy(Strategy::DelayBounded { bound: 1 }),
        |r| handing_over::<L>(r, 3, 2),
    );
}

/// `n` threads take the lock `rounds` times each; inside, a read and a write with a
/// scheduling point between them, so that two threads inside at once lose an update.
/// With `check_order`, a thread that enters while someone who drew an earlier ticket still
/// waits fails the schedule.
fn queueing<L: Tickets>(record: &Record, n: usize, rounds: usize, check_order: bool) {
    let start = interleave::time::Instant::now();
    let lock = Arc::new(L::new(0));
    // Test-side: the threads that drew a ticket and wait, with their numbers, and every
    // number drawn so far (and by whom).
    let queue = Observed::new(Vec::<(String, usize)>::new());
    let drawn = Observed::new(HashMap::<usize, String>::new());
    let inside = record.inside.clone();
    let i = inside.clone();
    invariant("at most one thread holds the ticket lock", move || {
        i.with(|v| v.len() <= 1)
    });
    let handles: Vec<_> = (1..=n)
        .map(|k| {
            let name = format!("T{k}");
            let (lock, inside, queue, drawn, record) = (
                lock.clone(),
                inside.clone(),
                queue.clone(),
                drawn.clone(),
                record.clone(),
            );
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
                        record.waits(&name, Some(number));
                        let mut guard = lock.wait_turn(ticket);
                        record.got_in(&name, Some(number));
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
    // Nothing in the test sleeps, so the simulation's clock only moves if a waiter does.
    let slept = start.elapsed();
    assert!(
        slept.is_zero(),
        "a waiter slept (thread::sleep) between two looks at the display: the simulated \
         clock moved by {slept:?} while {n} threads took turns, though nothing in the test \
         sleeps. Waiting for a ticket lock is spinning: look, yield_now(), look again; a \
         sleep blocks in the operating system, and the lock stays free until the sleeper \
         wakes. A waiter that sleeps."
    );
    let total = *lock.lock();
    let want = (n * rounds) as u64;
    assert!(
        total == want,
        "lost update: {n} threads added 1 {rounds} times each under the ticket lock, but the \
         value is {total}, not {want}: two threads were inside at once"
    );
}

fn exploration_checks<L: Tickets>() {
    explore_recorded(Config::new().iterations(300), |r| {
        queueing::<L>(r, 3, 2, true)
    });
    explore_recorded(Config::new().iterations(200), |r| {
        queueing::<L>(r, 4, 3, true)
    });
    explore_recorded(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        |r| queueing::<L>(r, 3, 2, true),
    );
}

/// A `try_turn` that finds it is not the ticket's turn changes nothing: #0 holds the lock,
/// #1 tries and is refused, #0 leaves, and #1 then enters. A try_turn that moves the
/// display on when it fails (the chapter's `then_some`, which builds, and so drops, a
/// guard either way) skips #1's turn for good.
fn refused_try_changes_nothing<L: Tickets>() -> Result<(), String> {
    within(
        Duration::from_secs(10),
        "a refused try_turn, then the turn",
        || {
            let lock = L::new(0);
            let first = lock.take_ticket();
            let Some(held) = lock.try_turn(&first) else {
                return Ok(()); // a lock that never lets #0 in fails the other checks
            };
            let second = lock.take_ticket();
            if lock.try_turn(&second).is_some() {
                return Ok(()); // two holders at once: the explorations name it
            }
            drop(held);
            if lock.try_turn(&second).is_none() {
                return Err(
                    "try_turn(#1), refused while #0 held the lock, was refused again \
                            once #0 had left:\n#1's turn was skipped. The refused try_turn moved \
                            the display on: a try_turn that finds\nit is not its turn must \
                            change nothing (a TicketGuard built and dropped advances the \
                            display,\nand bool::then_some builds its value even when the answer \
                            is false). A turn skipped."
                        .to_string(),
                );
            }
            Ok(())
        },
    )
}

#[test]
fn a_try_turn_that_is_refused_changes_nothing() {
    if let Err(message) = refused_try_changes_nothing::<Step>() {
        panic!("{message}");
    }
}

#[test]
fn at_most_one_thread_inside() {
    explore_recorded(Config::new().iterations(300), |r| {
        queueing::<Step>(r, 3, 2, false)
    });
    explore_recorded(Config::new().iterations(200), |r| {
        queueing::<Step>(r, 4, 3, false)
    });
}

#[test]
fn at_most_one_thread_inside_within_two_delays() {
    explore_recorded(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        |r| queueing::<Step>(r, 3, 2, false),
    );
}

#[test]
fn a_waiter_is_never_overtaken() {
    explore_recorded(Config::new().iterations(300), |r| {
        queueing::<Step>(r, 3, 2, true)
    });
    explore_recorded(Config::new().iterations(200), |r| {
        queueing::<Step>(r, 4, 3, true)
    });
    explore_recorded(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        |r| queueing::<Step>(r, 3, 2, true),
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

    /// Waits for `who`'s turn with `wait_turn`, and keeps the guard.
    fn wait_turn(&self, who: &'static str) {
        let ticket = self
            .tickets
            .borrow_mut()
            .remove(who)
            .expect("the actor took a ticket");
        let guard = self.lock.wait_turn(ticket);
        self.guards.borrow_mut().insert(who, guard);
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

/// After the queueing checks, which name a duplicated or skipped ticket in the step's
/// words: a wrong draw also breaks the handing over, where it shows only as a spin.
#[test]
fn the_next_holder_sees_what_the_previous_one_wrote() {
    publishing_checks::<TicketLock<Value>>();
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

/// A ticket whose turn has passed: #0 enters and leaves, #1 enters, then #0 is tried
/// again while #1 is inside.
fn served_ticket<L: Tickets>() -> Result<(), String> {
    within(
        Duration::from_secs(10),
        "a served ticket tried again",
        || {
            let lock = L::new(0);
            let first = lock.take_ticket();
            drop(lock.try_turn(&first).expect("#0 enters a free lock"));
            let second = lock.take_ticket();
            let inside = lock.try_turn(&second);
            if inside.is_none() {
                return Err("#1 did not enter after #0 left: the display must show 1".to_string());
            }
            if lock.try_turn(&first).is_some() {
                return Err(
                "try_turn(#0), tried again after #0 had left and while #1 was inside, entered: \
                 two holders at once. It is #0's turn only while the display shows 0: compare \
                 with ==, not >=. A turn that has passed."
                    .to_string(),
            );
            }
            Ok(())
        },
    )
}

#[test]
fn a_ticket_whose_turn_has_passed_never_enters_again() {
    if let Err(message) = served_ticket::<Step>() {
        panic!("{message}");
    }
}

/// Every check above, for a lock written in this file.
fn all_checks<L: Tickets>() {
    served_ticket::<L>().expect("a correct lock refuses a served ticket");
    refused_try_changes_nothing::<L>().unwrap_or_else(|message| panic!("{message}"));
    check_a_waiter_spins::<L>().unwrap_or_else(|message| panic!("{message}"));
    three_threads_queue::<L>().check(QUEUE, |_| ());
    coming_back::<L>().check(BACK, check_coming_back);
    exploration_checks::<L>();
    real_threads::<L>();
}

/// A ticket lock written in the test, with fault number `F` (0: none), protecting a `V`.
struct TestLock<const F: u8, V = u64> {
    next_ticket: AtomicUsize,
    now_serving: AtomicUsize,
    /// Fault 4 only: a flag set in one indivisible step (no ticket order).
    locked: AtomicBool,
    value: UnsafeCell<V>,
}

// SAFETY: as the step's lock: the value is reached by the holder of the ticket on display
// only (the faulty variants break that on purpose, and only run in simulations, where one
// OS thread runs every simulated thread).
unsafe impl<const F: u8, V: Send> Sync for TestLock<F, V> {}

struct TestGuard<'a, const F: u8, V = u64> {
    lock: &'a TestLock<F, V>,
}

impl<const F: u8, V> Deref for TestGuard<'_, F, V> {
    type Target = V;
    fn deref(&self) -> &V {
        // SAFETY: see `Sync` above.
        unsafe { &*self.lock.value.get() }
    }
}

impl<const F: u8, V> DerefMut for TestGuard<'_, F, V> {
    fn deref_mut(&mut self) -> &mut V {
        // SAFETY: see `Sync` above.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<const F: u8, V> Drop for TestGuard<'_, F, V> {
    fn drop(&mut self) {
        let display = &self.lock.now_serving;
        match F {
            // Correct too: only the holder writes the display, so a load and a store will do.
            1 => display.store(display.load(Ordering::Relaxed) + 1, Ordering::Release),
            4 => self.lock.locked.store(false, Ordering::Release),
            // The next turn published with Relaxed: the next holder may not see our writes.
            5 => {
                display.fetch_add(1, Ordering::Relaxed);
            }
            7 => {
                display.fetch_add(1, Ordering::SeqCst);
            }
            8 => {
                display.fetch_add(1, Ordering::AcqRel);
            }
            // A Release fence, then a Relaxed store: it publishes what came before the fence.
            9 => {
                fence(Ordering::Release);
                display.fetch_add(1, Ordering::Relaxed);
            }
            _ => {
                display.fetch_add(1, Ordering::Release);
            }
        }
    }
}

impl<const F: u8, V> TestLock<F, V> {
    fn with_value(value: V) -> Self {
        TestLock {
            next_ticket: AtomicUsize::new(0),
            now_serving: AtomicUsize::new(0),
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    fn take(&self) -> usize {
        if F == 2 {
            let t = self.next_ticket.load(Ordering::Relaxed);
            self.next_ticket.store(t + 1, Ordering::Relaxed);
            t
        } else {
            self.next_ticket.fetch_add(1, Ordering::Relaxed)
        }
    }

    fn turn(&self, ticket: usize) -> Option<TestGuard<'_, F, V>> {
        let display = &self.now_serving;
        match F {
            3 => (display.load(Ordering::Acquire) == ticket).then_some(TestGuard { lock: self }),
            4 => self
                .locked
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .ok()
                .map(|_| TestGuard { lock: self }),
            // The turn read with Relaxed: the previous holder's writes are not acquired.
            6 => (display.load(Ordering::Relaxed) == ticket).then(|| TestGuard { lock: self }),
            7 => (display.load(Ordering::SeqCst) == ticket).then(|| TestGuard { lock: self }),
            // A ticket whose turn has passed still enters: `>=` instead of `==`.
            10 => (display.load(Ordering::Acquire) >= ticket).then(|| TestGuard { lock: self }),
            // A Relaxed look, then an Acquire fence once it is our turn.
            9 => (display.load(Ordering::Relaxed) == ticket).then(|| {
                fence(Ordering::Acquire);
                TestGuard { lock: self }
            }),
            _ => {
                if display.load(Ordering::Acquire) == ticket {
                    Some(TestGuard { lock: self })
                } else {
                    None
                }
            }
        }
    }

    fn wait(&self, ticket: usize) -> TestGuard<'_, F, V> {
        loop {
            if let Some(g) = self.turn(ticket) {
                return g;
            }
            thread::yield_now();
        }
    }

    /// Draws a ticket and waits for its turn; with fault 11, a shortcut first: if every
    /// ticket drawn was served, the lock looks free, and the thread draws a ticket and goes
    /// in at once (two loads, then a draw: another thread can draw in between, and this one
    /// goes in on its turn).
    fn enter(&self) -> TestGuard<'_, F, V> {
        if F == 11 {
            let serving = self.now_serving.load(Ordering::Acquire);
            if self.next_ticket.load(Ordering::Acquire) == serving {
                self.next_ticket.fetch_add(1, Ordering::AcqRel);
                return TestGuard { lock: self };
            }
        }
        self.wait(self.take())
    }
}

impl<const F: u8> Publishing for TestLock<F, Value> {
    type Guard<'a> = TestGuard<'a, F, Value>;
    fn new_publishing() -> Self {
        TestLock::with_value(Value::new())
    }
    fn lock(&self) -> TestGuard<'_, F, Value> {
        self.enter()
    }
}

/// 0 and 1: correct (1 advances the display with a load and a store). 2: draws tickets
/// with a load and a store (two threads can draw the same number). 3: builds the guard
/// before looking (`then_some`), so a refused look drops a guard and advances the display.
/// 4: the starter made atomic: a flag checked and set in one step, tickets ignored (mutual
/// exclusion, but whoever looks at the right moment goes first). 5: leaves with a Relaxed
/// `fetch_add`; 6: looks at the display with a Relaxed load (both keep mutual exclusion and
/// ticket order, but the next holder may not see the previous one's writes). 11: `lock()`
/// goes straight in when the lock looks free, and can take a waiter's turn. Correct
/// too: 7 (SeqCst everywhere), 8 (AcqRel to leave), 9 (Relaxed with fences).
impl<const F: u8> Tickets for TestLock<F> {
    type Ticket = usize;
    type Guard<'a> = TestGuard<'a, F>;

    fn new(value: u64) -> Self {
        TestLock::with_value(value)
    }

    fn take_ticket(&self) -> usize {
        self.take()
    }

    fn number(ticket: &usize) -> usize {
        *ticket
    }

    fn try_turn<'a>(&'a self, ticket: &usize) -> Option<TestGuard<'a, F>> {
        self.turn(*ticket)
    }

    fn wait_turn(&self, ticket: usize) -> TestGuard<'_, F> {
        self.wait(ticket)
    }

    fn lock(&self) -> TestGuard<'_, F> {
        self.enter()
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
    publishing_checks::<TestLock<0, Value>>();
    publishing_checks::<TestLock<1, Value>>();
}

#[test]
fn other_orderings_that_publish_pass() {
    all_checks::<TestLock<7>>();
    publishing_checks::<TestLock<7, Value>>();
    publishing_checks::<TestLock<8, Value>>();
    publishing_checks::<TestLock<9, Value>>();
}

/// The failure of the publishing checks on `L`, which must fail, whitespace collapsed.
fn publishing_failure_of<L: Publishing>() -> String {
    let p = catch_unwind(AssertUnwindSafe(publishing_checks::<L>))
        .expect_err("the checks must reject this lock");
    p.downcast_ref::<String>()
        .cloned()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_checks_reject_a_turn_published_or_read_with_relaxed() {
    // Mutual exclusion and ticket order hold: only the orderings are wrong.
    all_checks::<TestLock<5>>();
    all_checks::<TestLock<6>>();
    let m = publishing_failure_of::<TestLock<5, Value>>();
    assert!(
        m.contains("data race on the value under the ticket lock")
            && m.contains("load of now_serving")
            && m.contains("stored with Relaxed, and a Relaxed store publishes nothing"),
        "{m}"
    );
    let m = publishing_failure_of::<TestLock<6, Value>>();
    assert!(
        m.contains("data race on the value under the ticket lock")
            && m.contains("Relaxed load of now_serving")
            && m.contains("a Relaxed load acquires nothing"),
        "{m}"
    );
}

/// A thread that goes in on another's turn (through a shortcut of `lock()`) skips that
/// turn, and the waiter spins for ever: the report says that a turn was skipped, and does
/// not tell the student to stop spinning, which this step asks for.
#[test]
fn an_endless_spin_is_reported_as_a_skipped_turn() {
    let m = publishing_failure_of::<TestLock<11, Value>>();
    assert!(
        m.contains("spins in lock() for ever")
            && m.contains("nobody holds the ticket lock")
            && m.contains("A turn skipped. -->")
            && !m.contains("unless the step asks for spinning"),
        "{m}"
    );
    // Without the check of the order, a skipped turn shows as the spin of its waiter.
    let f = check_recorded(Config::new().iterations(300), |r| {
        queueing::<TestLock<3>>(r, 3, 2, false)
    })
    .expect_err("a refused look that moves the display on skips a turn");
    let m = f
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        m.contains("spins in wait_turn for ever")
            && m.contains("entered with a later ticket: the display moved past #")
            && !m.contains("unless the step asks for spinning"),
        "{m}"
    );
}

#[test]
fn the_checks_reject_wrong_ticket_locks() {
    let m = failure_of::<TestLock<2>>();
    assert!(m.contains("both drew ticket #"), "{m}");
    let m = failure_of::<TestLock<3>>();
    assert!(!m.is_empty(), "{m}");
    let m = served_ticket::<TestLock<10>>().expect_err("a served ticket enters with >=");
    assert!(m.contains("A turn that has passed"), "{m}");
    let m = failure_of::<TestLock<4>>();
    assert!(
        m.contains("a waiter was overtaken (FIFO order broken)"),
        "{m}"
    );
    // In a simulation, a duplicated ticket is reported as such, never as a hang.
    let f = check_recorded(Config::new().iterations(300), |r| {
        queueing::<TestLock<2>>(r, 3, 2, false)
    })
    .expect_err("two threads draw the same ticket in some schedule");
    assert_eq!(f.kind, FailureKind::Panic, "{f}");
}

/// T1 holds the lock; T2 calls `wait_turn` with the next ticket. A ticket lock's waiter
/// spins (looks at the display, yields, looks again): the call never returns and never
/// blocks, and the scenario stops at its step budget. A waiter that blocks instead (on a
/// condition variable or a mutex) is a different lock.
fn check_a_waiter_spins<L: Tickets>() -> Result<(), String> {
    let scenario = Scenario::new(Counter::<L>::new)
        .call("T1", "take_ticket()", |c| c.take_ticket("T1"))
        .call("T1", "wait_turn(#0)", |c| c.wait_turn("T1"))
        .call("T2", "take_ticket()", |c| c.take_ticket("T2"))
        .call("T2", "wait_turn(#1)", |c| c.wait_turn("T2"))
        .max_steps(2_000);
    let Ok(table) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario.run()))
    else {
        // It ran out of steps without blocking: it spins.
        return Ok(());
    };
    if table
        .blocked_at_end
        .iter()
        .any(|b| b.contains("T2 wait_turn"))
    {
        return Err(format!(
            "T2's wait_turn(#1) blocked while T1 held the lock: the thread went to sleep \
             (on a condition variable or a mutex) instead of spinning. This step's waiting is \
             spinning: look at the display, yield_now(), look again, with no blocking in the \
             operating system; that is what makes it a spin lock. A waiter that sleeps.\n\n\
             {table:#}"
        ));
    }
    Ok(())
}

#[test]
fn a_waiter_spins_instead_of_sleeping() {
    if let Err(message) = check_a_waiter_spins::<TicketLock<u64>>() {
        panic!("{message}");
    }
}

/// Wrong for this step: tickets in FIFO order, but a waiter sleeps on a condition variable
/// that leaving notifies, instead of spinning.
struct SleepingLock {
    next_ticket: AtomicUsize,
    now_serving: interleave::sync::Mutex<usize>,
    turn: interleave::sync::Condvar,
    value: UnsafeCell<u64>,
}

// SAFETY: only the holder of the ticket on display reaches the value (simulations only).
unsafe impl Sync for SleepingLock {}

struct SleepingGuard<'a>(&'a SleepingLock);

impl Deref for SleepingGuard<'_> {
    type Target = u64;
    fn deref(&self) -> &u64 {
        // SAFETY: see `Sync` above.
        unsafe { &*self.0.value.get() }
    }
}

impl DerefMut for SleepingGuard<'_> {
    fn deref_mut(&mut self) -> &mut u64 {
        // SAFETY: see `Sync` above.
        unsafe { &mut *self.0.value.get() }
    }
}

impl Drop for SleepingGuard<'_> {
    fn drop(&mut self) {
        *self.0.now_serving.lock() += 1;
        self.0.turn.notify_all();
    }
}

impl Tickets for SleepingLock {
    type Ticket = usize;
    type Guard<'a> = SleepingGuard<'a>;
    fn new(value: u64) -> Self {
        SleepingLock {
            next_ticket: AtomicUsize::new(0),
            now_serving: interleave::sync::Mutex::new(0),
            turn: interleave::sync::Condvar::new(),
            value: UnsafeCell::new(value),
        }
    }
    fn take_ticket(&self) -> usize {
        self.next_ticket.fetch_add(1, Ordering::Relaxed)
    }
    fn number(ticket: &usize) -> usize {
        *ticket
    }
    fn try_turn<'a>(&'a self, ticket: &usize) -> Option<SleepingGuard<'a>> {
        (*self.now_serving.lock() == *ticket).then_some(SleepingGuard(self))
    }
    fn wait_turn(&self, ticket: usize) -> SleepingGuard<'_> {
        let mut serving = self.now_serving.lock();
        while *serving != ticket {
            self.turn.wait(&mut serving);
        }
        SleepingGuard(self)
    }
    fn lock(&self) -> SleepingGuard<'_> {
        self.wait_turn(self.take_ticket())
    }
}

#[test]
fn the_checks_reject_a_waiter_that_sleeps() {
    let message = check_a_waiter_spins::<SleepingLock>().expect_err("a sleeping waiter");
    assert!(
        message.contains("T2's wait_turn(#1) blocked while T1 held the lock")
            && message.contains("A waiter that sleeps."),
        "{message}"
    );
}
