//! One-way tunnel, step `basic`: the notes' tunnel monitor.
//!
//! Task: cars call `arrive(dir)` before driving in and `depart(dir)` after driving out.
//! A car enters at once unless cars of the other direction are inside; then it waits
//! until the tunnel is empty of them. When the last car of a direction leaves, all the
//! waiting cars of the other direction enter.
//! Invariant: never cars of both directions inside the tunnel.
//! Done when `just check tunnel/basic` (or `cargo course check tunnel/basic`) passes.

use interleave::monitor::{Condition, Monitor, Semantics};

use crate::Direction;

/// What the monitor protects: how many cars of each direction are inside.
#[derive(Debug, Default)]
struct Inside {
    northbound: usize,
    southbound: usize,
}

impl Inside {
    /// The number of cars inside going in direction `dir`.
    fn count(&mut self, dir: Direction) -> &mut usize {
        match dir {
            Direction::North => &mut self.northbound,
            Direction::South => &mut self.southbound,
        }
    }
}

/// The notes' one-way tunnel monitor (`northboundArrival`, `southboundArrival`, `depart`).
#[derive(Debug)]
pub struct Tunnel {
    inside: Monitor<Inside>,
    busy: Condition,
}

impl Default for Tunnel {
    fn default() -> Self {
        Self::new()
    }
}

impl Tunnel {
    /// An empty tunnel.
    pub fn new() -> Self {
        Tunnel {
            // TODO: the notes' monitor has Hoare semantics (a signalled car runs at once and
            // finds the state as the signaller left it); this one is Mesa (the signalled car
            // re-enters later, after others may have run). Pick the semantics that matches
            // the `if` in `arrive`, or make `arrive` correct under Mesa.
            inside: Monitor::new(Inside::default(), Semantics::Mesa),
            busy: Condition::new(),
        }
    }

    /// A car arrives going in direction `dir`; returns when it may drive in.
    pub fn arrive(&self, dir: Direction) {
        let mut m = self.inside.enter();
        // TODO: copied from the notes. Is the other direction still absent when a
        // signalled car comes back from `wait`?
        if *m.count(dir.opposite()) > 0 {
            self.busy.wait(&mut m);
        }
        *m.count(dir) += 1;
    }

    /// A car going in direction `dir` has driven out.
    pub fn depart(&self, dir: Direction) {
        let mut m = self.inside.enter();
        let n = m.count(dir);
        *n -= 1;
        if *n == 0 {
            // The last car of this direction left: every waiting car (all of the other
            // direction) enters, each one running before we continue (Hoare).
            while self.busy.queue() {
                self.busy.signal(&mut m);
            }
        }
    }
}
