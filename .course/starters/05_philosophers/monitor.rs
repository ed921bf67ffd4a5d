//! Dining philosophers, step `monitor`: the notes' monitor (`state[i]`, `self[i]`,
//! `test(i)`, `pickUpForks`, `putDownForks`).
//!
//! Task: `pick_up_forks(i)` makes philosopher `i` hungry and returns when they eat;
//! `put_down_forks(i)` ends the meal. A hungry philosopher eats as soon as neither
//! neighbour eats; putting the forks down tests both neighbours, who may be hungry.
//! Invariants: two neighbours never eat at once; no deadlock; no philosopher waits while
//! neither neighbour eats (no lost wake-up).
//! Done when `just check philosophers/monitor` (or `cargo course check philosophers/monitor`)
//! passes.

use interleave::monitor::{Condition, Monitor, MonitorGuard, Semantics};

/// What a philosopher is doing (the notes' `status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Thinking,
    Hungry,
    Eating,
}

/// The notes' `diningPhilosophers` monitor.
#[derive(Debug)]
pub struct DiningRoom {
    state: Monitor<Vec<Status>>,
    /// `self[i]`: where philosopher `i` waits while hungry.
    me: Vec<Condition>,
}

impl DiningRoom {
    /// A room of `n` thinking philosophers.
    ///
    /// # Panics
    ///
    /// If `n < 2`.
    pub fn new(n: usize) -> Self {
        assert!(
            n >= 2,
            "DiningRoom::new: at least two philosophers, got {n}"
        );
        DiningRoom {
            state: Monitor::new(vec![Status::Thinking; n], Semantics::Hoare),
            me: (0..n).map(|_| Condition::new()).collect(),
        }
    }

    /// The notes' `test(i)`: if `i` is hungry and neither neighbour eats, `i` eats.
    fn test(&self, s: &mut MonitorGuard<'_, Vec<Status>>, i: usize) {
        let n = s.len();
        let (left, right) = (crate::left_of(i, n), crate::right_of(i, n));
        if s[left] != Status::Eating && s[i] == Status::Hungry && s[right] != Status::Eating {
            s[i] = Status::Eating;
            self.me[i].signal(s);
        }
    }

    /// Philosopher `i` is hungry; returns when they eat.
    pub fn pick_up_forks(&self, i: usize) {
        let mut s = self.state.enter();
        s[i] = Status::Hungry;
        self.test(&mut s, i);
        if s[i] != Status::Eating {
            // Hoare semantics: whoever signals us has just set `state[i] = Eating`.
            self.me[i].wait(&mut s);
        }
    }

    /// Philosopher `i` has finished eating.
    pub fn put_down_forks(&self, i: usize) {
        let mut s = self.state.enter();
        let n = s.len();
        s[i] = Status::Thinking;
        // TODO: the forks are free again. Which hungry philosophers may now be able to
        // eat? The notes' `putDownForks` tests them.
        self.test(&mut s, crate::right_of(i, n));
    }
}
