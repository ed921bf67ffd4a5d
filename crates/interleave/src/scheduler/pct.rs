//! Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi and Nagarakatte,
//! "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).
//!
//! Each thread gets a random distinct priority above `depth`; `depth - 1` change points
//! are drawn uniformly among the `k` expected steps; the highest-priority ready thread
//! always runs, and at the i-th change point the running thread's priority drops to `i`.
//! A bug of depth `d` is then found with probability at least `1 / (n k^(d-1))`.
//! `k` is measured by a canonical run of the same body before the PCT runs, so a PCT run
//! is replayed exactly from its seed alone.

use super::{Rng, Scheduler};
use crate::runtime::execution::Tid;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Pct {
    depth: usize,
    rng: Rng,
    priorities: Vec<i64>,
    change_points: Vec<u64>,
    last: Option<Tid>,
    lowest: i64,
}

impl Pct {
    /// `steps` is the expected length of an execution (k in the paper).
    pub(crate) fn new(depth: usize, seed: u64, steps: u64) -> Self {
        let mut rng = Rng::new(seed);
        let k = steps.max(1);
        let change_points = (0..depth.saturating_sub(1))
            .map(|_| rng.below(k) + 1)
            .collect();
        Pct {
            depth,
            rng,
            priorities: Vec::new(),
            change_points,
            last: None,
            lowest: 0,
        }
    }

    fn priority(&mut self, t: Tid) -> i64 {
        while self.priorities.len() <= t {
            // Distinct random priorities above `depth`: a random value, spread wide.
            let p = self.depth as i64 + 1 + (self.rng.below(1 << 30) as i64);
            self.priorities.push(p);
        }
        self.priorities[t]
    }
}

impl Scheduler for Pct {
    fn choose(&mut self, ready: &[Tid], step: u64) -> Tid {
        if let Some(i) = self.change_points.iter().position(|&c| c == step)
            && let Some(last) = self.last
        {
            self.priority(last);
            self.priorities[last] = (self.change_points.len() - i) as i64;
        }
        let mut best = ready[0];
        let mut best_p = self.priority(best);
        for &t in &ready[1..] {
            let p = self.priority(t);
            if p > best_p {
                best = t;
                best_p = p;
            }
        }
        self.last = Some(best);
        best
    }

    fn on_yield(&mut self, tid: Tid) {
        // A yielding thread (a spin loop) goes below everyone, or PCT would starve the
        // thread it waits for.
        self.priority(tid);
        self.lowest -= 1;
        self.priorities[tid] = self.lowest;
    }

    fn describe(&self) -> String {
        format!("pct:{}", self.depth)
    }
}
