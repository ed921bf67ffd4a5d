//! One-way tunnel, step `fair`: no car waits forever.
//!
//! Task: the basic tunnel lets a steady stream of northbound cars keep a southbound car
//! waiting forever. `FairTunnel::new(batch)` bounds that: once a car waits for the other
//! direction to clear, at most `batch` cars of the other direction that arrived after it
//! may still enter before it; then the tunnel empties and turns.
//! The exact policy (the chapter states it too): cars are numbered in the order they
//! arrive. A car of direction `d` enters as soon as
//!   1. no car of the other direction is inside, and
//!   2. no car of the other direction that arrived before it and is still waiting has
//!      already been overtaken by `batch` cars.
//!
//! A car "overtakes" a waiting car of the other direction when it arrived after it and
//! enters before it.
//! Invariants: never cars of both directions inside; a waiting car is overtaken by at most
//! `batch` cars of the other direction; no deadlock.
//! Done when `just check tunnel/fair` (or `cargo course check tunnel/fair`) passes.

use interleave::monitor::{Condition, Monitor, Semantics};

use crate::Direction;

/// The state of the tunnel.
#[derive(Debug, Default)]
struct State {
    /// The direction of the cars inside (None when empty).
    dir: Option<Direction>,
    inside: usize,
    /// The arrival number of the next car.
    next_ticket: u64,
    // TODO: rule 2 needs to know, for each waiting car, its arrival number, its direction
    // and how many cars of the other direction have overtaken it.
}

/// A one-way tunnel that turns after at most `batch` overtaking cars.
#[derive(Debug)]
pub struct FairTunnel {
    batch: usize,
    state: Monitor<State>,
    turn: Condition,
}

impl FairTunnel {
    /// An empty tunnel; `batch` is how many cars of one direction may overtake a car
    /// waiting on the other side (at least 1).
    ///
    /// # Panics
    ///
    /// If `batch` is 0: no car could ever overtake, so two cars arriving together on
    /// both sides would wait for each other.
    pub fn new(batch: usize) -> Self {
        assert!(batch > 0, "FairTunnel::new: batch must be at least 1");
        FairTunnel {
            batch,
            state: Monitor::new(State::default(), Semantics::Mesa),
            turn: Condition::new(),
        }
    }

    /// The batch size given to [`FairTunnel::new`].
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// A car arrives going in direction `dir`; returns, when it may drive in, its arrival
    /// number (0 for the first car, then 1, 2...: the order in which cars reached the
    /// monitor, which the policy's rule 2 uses and the tests check).
    pub fn arrive(&self, dir: Direction) -> u64 {
        let mut s = self.state.enter();
        let ticket = s.next_ticket;
        s.next_ticket += 1;
        // TODO: this is the basic policy (rule 1 only): cars of the current direction
        // keep entering while the other side waits. Add rule 2: a waiting car is one
        // that cannot enter at once; when a car enters, count it against the earlier
        // waiting cars of the other direction.
        while s.dir.is_some_and(|d| d != dir) {
            self.turn.wait(&mut s);
        }
        s.dir = Some(dir);
        s.inside += 1;
        ticket
    }

    /// A car going in direction `dir` has driven out.
    pub fn depart(&self, dir: Direction) {
        let mut s = self.state.enter();
        debug_assert_eq!(
            s.dir,
            Some(dir),
            "depart({dir:?}) from a tunnel going the other way"
        );
        s.inside -= 1;
        if s.inside == 0 {
            s.dir = None;
            self.turn.broadcast(&mut s);
        }
    }
}
