//! Checks `locks/ticket_lock`: mutual exclusion, and entry in ticket order (a waiter is
//! never overtaken), under many schedules; and a scenario where three threads queue.
//!
//! The threads spin (they never block), and interleave counts every step of a thread
//! that has not blocked since it started: the explorations below stay far below the
//! default budget of 10 000 such steps (`Config::max_steps_without_blocking`), so they
//! keep it; a starter that spins forever is reported by that budget.

use std::cell::RefCell;
use std::collections::HashMap;

use interleave::explore::{Config, Observed, Strategy, explore, invariant};
use interleave::scenario::{Returned, Scenario};
use interleave::sync::Arc;
use interleave::thread;
use locks::ticket_lock::{Ticket, TicketGuard, TicketLock};

/// Three threads take the lock twice each; inside, a read and a write with a scheduling
/// point between them, so that two threads inside at once lose an update.
fn three_threads(check_order: bool) {
    let lock = Arc::new(TicketLock::new(0u32));
    // Test-side: the threads that drew a ticket and wait, in the order they drew it.
    let queue = Observed::new(Vec::<String>::new());
    let inside = Observed::new(Vec::<String>::new());
    let i = inside.clone();
    invariant("at most one thread holds the ticket lock", move || {
        i.with(|v| v.len() <= 1)
    });
    let handles: Vec<_> = ["T1", "T2", "T3"]
        .into_iter()
        .map(|name| {
            let (lock, inside, queue) = (lock.clone(), inside.clone(), queue.clone());
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    for _ in 0..2 {
                        // Drawing the ticket is the arrival: the waiting starts there
                        // (no scheduling point between the two lines).
                        let ticket = lock.take_ticket();
                        queue.update(|q| q.push(format!("{name} (#{})", ticket.number())));
                        let mut guard = lock.wait_turn(ticket);
                        let me = queue.update(|q| {
                            let i = q.iter().position(|w| w.starts_with(name)).unwrap();
                            let ahead = q[..i].join(", ");
                            (q.remove(i), ahead)
                        });
                        assert!(
                            !check_order || me.1.is_empty(),
                            "{} entered the ticket lock while {} drew their tickets before it \
                             and still wait: a waiter was overtaken (FIFO order broken)",
                            me.0,
                            me.1
                        );
                        inside.update(|v| v.push(name.to_string()));
                        let seen = *guard;
                        thread::yield_now();
                        *guard = seen + 1;
                        inside.update(|v| v.retain(|n| n != name));
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
    assert!(
        total == 6,
        "lost update: 3 threads added 1 twice each under the ticket lock, but the value is \
         {total}: two threads were inside at once"
    );
}

#[test]
fn at_most_one_thread_inside() {
    explore(Config::new().iterations(300), || three_threads(false));
}

#[test]
fn at_most_one_thread_inside_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || three_threads(false),
    );
}

#[test]
fn a_waiter_is_never_overtaken() {
    explore(Config::new().iterations(300), || three_threads(true));
}

/// The scenario's object: the lock, and per actor its ticket and its guard (the lock is
/// leaked so that guards can outlive the calls that took them).
struct Counter {
    lock: &'static TicketLock<()>,
    tickets: RefCell<HashMap<&'static str, Ticket>>,
    guards: RefCell<HashMap<&'static str, TicketGuard<'static, ()>>>,
}

impl Counter {
    fn new() -> Self {
        Counter {
            lock: Box::leak(Box::new(TicketLock::new(()))),
            tickets: RefCell::default(),
            guards: RefCell::default(),
        }
    }

    fn take_ticket(&self, who: &'static str) -> usize {
        let ticket = self.lock.take_ticket();
        let n = ticket.number();
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

    fn unlock(&self, who: &'static str) {
        self.tickets.borrow_mut().remove(who);
        drop(
            self.guards.borrow_mut().remove(who).expect(
                "unlock() by an actor that does not hold the lock: its try_turn was refused",
            ),
        );
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

#[test]
fn three_threads_queue_and_enter_in_ticket_order() {
    let table = Scenario::new(Counter::new)
        .call("T1", "take_ticket()", |c| c.take_ticket("T1"))
        .call("T2", "take_ticket()", |c| c.take_ticket("T2"))
        .call("T3", "take_ticket()", |c| c.take_ticket("T3"))
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .call("T2", "try_turn(#1)", |c| c.try_turn("T2"))
        .call("T1", "try_turn(#0)", |c| c.try_turn("T1"))
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .call("T1", "unlock()", |c| c.unlock("T1"))
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .call("T2", "try_turn(#1)", |c| c.try_turn("T2"))
        .call("T2", "unlock()", |c| c.unlock("T2"))
        .call("T3", "try_turn(#2)", |c| c.try_turn("T3"))
        .call("T3", "unlock()", |c| c.unlock("T3"))
        .state(queue)
        .run();
    interleave::assert_table!(table);
}

#[test]
fn real_threads_count_under_the_ticket_lock() {
    let lock = std::sync::Arc::new(TicketLock::new(0u64));
    std::thread::scope(|s| {
        for _ in 0..3 {
            let lock = lock.clone();
            s.spawn(move || {
                for _ in 0..300 {
                    *lock.lock() += 1;
                }
            });
        }
    });
    assert_eq!(*lock.lock(), 900);
}
