//! Dining philosophers, step `fair`: a starvation-free monitor.
//!
//! Task: the notes' monitor lets two neighbours of a hungry philosopher take turns eating
//! forever. Make it starvation-free: a hungry philosopher is overtaken by each neighbour
//! at most once. The exact policy: a hungry philosopher `i` eats as soon as
//!   1. neither neighbour eats, and
//!   2. no hungry neighbour has already been overtaken by `i` since it became hungry.
//!
//! A philosopher "overtakes" a hungry neighbour by starting to eat while that neighbour
//! is hungry.
//! Invariants: two neighbours never eat at once; no deadlock; while a philosopher is
//! hungry, each neighbour starts at most one meal (bounded waiting).
//! Done when `just check philosophers/fair` (or `cargo course check philosophers/fair`)
//! passes.

use interleave::monitor::{Condition, Monitor, MonitorGuard, Semantics};

/// What a philosopher is doing (the notes' `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Thinking,
    Hungry,
    Eating,
}

/// One seat: the notes' `state[i]`, and who has overtaken this philosopher.
#[derive(Clone, Copy, Debug)]
struct Seat {
    status: Status,
    // TODO: remember which neighbours started a meal while this philosopher was hungry.
}

/// The monitor's state: the seats, and the number of the next request.
#[derive(Debug)]
struct Room {
    seats: Vec<Seat>,
    requests: u64,
}

impl Room {
    fn len(&self) -> usize {
        self.seats.len()
    }
}

impl std::ops::Index<usize> for Room {
    type Output = Seat;
    fn index(&self, i: usize) -> &Seat {
        &self.seats[i]
    }
}

impl std::ops::IndexMut<usize> for Room {
    fn index_mut(&mut self, i: usize) -> &mut Seat {
        &mut self.seats[i]
    }
}

/// A starvation-free dining room.
#[derive(Debug)]
pub struct FairDiningRoom {
    seats: Monitor<Room>,
    /// `self[i]`: where philosopher `i` waits while hungry.
    me: Vec<Condition>,
}

impl FairDiningRoom {
    /// A room of `n` thinking philosophers.
    ///
    /// # Panics
    ///
    /// If `n < 2`.
    pub fn new(n: usize) -> Self {
        assert!(
            n >= 2,
            "FairDiningRoom::new: at least two philosophers, got {n}"
        );
        let seat = Seat {
            status: Status::Thinking,
        };
        FairDiningRoom {
            seats: Monitor::new(
                Room {
                    seats: vec![seat; n],
                    requests: 0,
                },
                Semantics::Hoare,
            ),
            me: (0..n).map(|_| Condition::new()).collect(),
        }
    }

    /// The notes' `test(i)`, with rule 2: if `i` may eat, `i` eats.
    fn test(&self, s: &mut MonitorGuard<'_, Room>, i: usize) {
        let n = s.len();
        let (l, r) = (crate::left_of(i, n), crate::right_of(i, n));
        let free = s[l].status != Status::Eating && s[r].status != Status::Eating;
        // TODO: this is the notes' test (rule 1 only). Add rule 2: `i` is the right
        // neighbour of `l` and the left neighbour of `r`. Then, when `i` starts eating,
        // record that it overtakes its hungry neighbours, and reset its own record.
        if s[i].status == Status::Hungry && free {
            s[i].status = Status::Eating;
            self.me[i].signal(s);
        }
    }

    /// Philosopher `i` is hungry; returns, when they eat, their request number (0 for the
    /// first request, then 1, 2...: the order in which hungry philosophers reached the
    /// monitor, which the tests use to check bounded waiting).
    pub fn pick_up_forks(&self, i: usize) -> u64 {
        let mut s = self.seats.enter();
        let request = s.requests;
        s.requests += 1;
        s[i].status = Status::Hungry;
        self.test(&mut s, i);
        if s[i].status != Status::Eating {
            // Hoare semantics: whoever signals us has just set our status to Eating.
            self.me[i].wait(&mut s);
        }
        request
    }

    /// Philosopher `i` has finished eating.
    pub fn put_down_forks(&self, i: usize) {
        let mut s = self.seats.enter();
        let n = s.len();
        s[i].status = Status::Thinking;
        // Both forks are free: test both neighbours.
        self.test(&mut s, crate::left_of(i, n));
        self.test(&mut s, crate::right_of(i, n));
    }
}
