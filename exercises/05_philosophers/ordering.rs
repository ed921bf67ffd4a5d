//! Dining philosophers, step `ordering`: one lock per fork, and no deadlock.
//!
//! Task: `dine(i, meal)` takes philosopher `i`'s two forks (fork `i` on the left, fork
//! `(i + 1) % n` on the right), runs `meal` while holding both, and puts them back.
//! Invariants: two neighbours never eat at once (they share a fork); no deadlock, whatever
//! the schedule: if every philosopher holds one fork and waits for the next, nobody eats.
//! The forks are all that philosophers hold while they eat: two who share no fork eat at the
//! same time (a waiter asked before taking forks may serve one philosopher at a time, as
//! long as it is let go before the meal), and a philosopher who finds a fork taken waits for
//! it by locking it (no spinning).
//! Done when `just check philosophers/ordering` (or `cargo course check philosophers/ordering`)
//! passes.

use interleave::sync::Mutex;

/// A round table of `n` philosophers with one fork between each pair of neighbours.
#[derive(Debug)]
pub struct Table {
    forks: Vec<Mutex<()>>,
}

impl Table {
    /// A table for `n` philosophers: `n` forks, named `fork 0` ... `fork n-1` in traces.
    ///
    /// # Panics
    ///
    /// If `n < 2`: a lone philosopher would need the same fork twice.
    pub fn new(n: usize) -> Self {
        assert!(n >= 2, "Table::new: at least two philosophers, got {n}");
        Table {
            forks: (0..n).map(|_| Mutex::new(())).collect(),
        }
    }

    /// The number of philosophers (and forks).
    pub fn len(&self) -> usize {
        self.forks.len()
    }

    /// Always false: a table has at least two seats.
    pub fn is_empty(&self) -> bool {
        self.forks.is_empty()
    }

    /// Philosopher `i` takes both forks, eats `meal`, and puts the forks back.
    pub fn dine<R>(&self, i: usize, meal: impl FnOnce() -> R) -> R {
        let n = self.forks.len();
        let (left, right) = (i, (i + 1) % n);
        // TODO: if all the philosophers pick up their left fork at the same moment, each
        // one waits for a right fork held by their neighbour. Break the symmetry.
        let (first, second) = (left, right);
        let _first = self.forks[first].lock();
        let _second = self.forks[second].lock();
        meal()
    }
}
