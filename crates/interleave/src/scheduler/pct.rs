//! Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi and Nagarakatte,
//! "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).
//!
//! Each thread gets a random distinct priority above `depth`; `depth - 1` distinct change
//! points are drawn uniformly among the `k` steps of an execution; the highest-priority
//! ready thread always runs, and at the i-th change point the running thread's priority
//! drops to `i`, below every initial one. A bug of depth `d` is then found with
//! probability at least `1 / (n k^(d-1))`.
//!
//! As the paper allows (section 4.1) and shuttle does, `k` counts only the steps at which
//! more than one thread is ready: a change point where there is nothing to choose has the
//! same effect as one at the next real choice, so counting those steps only dilutes the
//! change points. For the same reason it leaves out the choice after a thread finished
//! (a change point there would lower the priority of a thread that never runs again) and
//! the scheduling points that PCT skips (see `Scheduler::pct_points`); the run loop says
//! which choices count (`Scheduler::on_decision`). `k` is measured by a canonical run of the same body before the PCT
//! runs, so a PCT run is replayed exactly from its seed alone.
//!
//! Two details matter with many threads. A lock release is a scheduling point under PCT
//! (as in shuttle), so a change point can delay a thread that still holds the lock, and
//! every contender queues up behind it; and a released lock goes to the waiter with the
//! highest priority, as when every waiter races for it, rather than to the longest
//! waiting. On SCTBench's two-stage hand-off with 20 threads, each change alone doubled
//! the chance of finding the bug in one schedule (`benches/pct_compare.rs`).

use super::{Decision, Rng, SPURIOUS_ONE_IN, Scheduler};
use crate::runtime::execution::Tid;

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Pct {
    depth: usize,
    rng: Rng,
    /// Priorities by thread, drawn when a thread is first seen; higher runs first.
    priorities: Vec<i64>,
    /// Change points, as numbers of decisions (1 is the first step with a choice).
    change_points: Vec<u64>,
    last: Option<Tid>,
    lowest: i64,
    /// Steps with more than one ready thread so far.
    decisions: u64,
}

impl Pct {
    /// `k` is the expected number of steps with a choice.
    pub(crate) fn new(depth: usize, seed: u64, k: u64) -> Self {
        let mut rng = Rng::new(seed);
        let k = k.max(1);
        let wanted = depth.saturating_sub(1).min(k as usize);
        let mut change_points: Vec<u64> = Vec::with_capacity(wanted);
        while change_points.len() < wanted {
            let c = rng.below(k) + 1;
            if !change_points.contains(&c) {
                change_points.push(c);
            }
        }
        Pct {
            depth,
            rng,
            priorities: Vec::new(),
            change_points,
            last: None,
            lowest: 0,
            decisions: 0,
        }
    }

    fn priority(&mut self, t: Tid) -> i64 {
        while self.priorities.len() <= t {
            // Distinct random priorities above `depth`: a random value, spread wide, so
            // that a thread created later takes a uniformly random rank.
            let p = self.depth as i64 + 1 + (self.rng.below(1 << 40) as i64);
            self.priorities.push(p);
        }
        self.priorities[t]
    }

    /// The index of the thread with the highest priority (the first of equals).
    fn highest(&mut self, threads: &[Tid]) -> usize {
        let mut best = 0;
        let mut best_p = self.priority(threads[0]);
        for (i, &t) in threads.iter().enumerate().skip(1) {
            let p = self.priority(t);
            if p > best_p {
                best = i;
                best_p = p;
            }
        }
        best
    }
}

impl Scheduler for Pct {
    fn on_decision(&mut self) {
        self.decisions += 1;
        if let Some(i) = self.change_points.iter().position(|&c| c == self.decisions)
            && let Some(last) = self.last
        {
            self.priority(last);
            self.priorities[last] = (self.change_points.len() - i) as i64;
        }
    }

    fn choose(&mut self, ready: &[Tid], _step: u64) -> Tid {
        let best = ready[self.highest(ready)];
        self.last = Some(best);
        best
    }

    fn decide(&mut self, d: Decision<'_>, _step: u64) -> usize {
        match d {
            Decision::Handoff(t) | Decision::Notify(t) => self.highest(t),
            Decision::Spurious => usize::from(self.rng.below(SPURIOUS_ONE_IN) == 0),
        }
    }

    fn on_yield(&mut self, tid: Tid) {
        // A yielding thread (a spin loop) goes below everyone, or PCT would starve the
        // thread it waits for.
        self.priority(tid);
        self.lowest -= 1;
        self.priorities[tid] = self.lowest;
    }

    fn pct_points(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!("pct:{}", self.depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_points_are_distinct_and_within_k() {
        for seed in 0..200 {
            let p = Pct::new(5, seed, 6);
            assert_eq!(p.change_points.len(), 4);
            let mut c = p.change_points.clone();
            c.sort_unstable();
            c.dedup();
            assert_eq!(c.len(), 4, "seed {seed}: {:?}", p.change_points);
            assert!(c.iter().all(|&x| (1..=6).contains(&x)));
        }
        // Fewer steps than change points: every step is one.
        let p = Pct::new(5, 1, 2);
        assert_eq!(p.change_points.len(), 2);
    }

    #[test]
    fn a_change_point_demotes_the_running_thread_below_everyone() {
        // k = 1: the only change point is the first decision.
        let mut p = Pct::new(2, 3, 1);
        let first = p.choose(&[0], 0);
        assert_eq!(first, 0);
        // Thread 0 ran last; at the first decision it drops below thread 1.
        p.on_decision();
        assert_eq!(p.choose(&[0, 1], 1), 1);
        assert_eq!(p.choose(&[0, 1, 2], 2), p.choose(&[1, 2], 3));
        assert_eq!(p.decisions, 1);
    }

    #[test]
    fn a_released_lock_goes_to_the_highest_priority_waiter() {
        let mut p = Pct::new(3, 11, 10);
        let waiters = [4, 2, 9, 5];
        let i = p.decide(Decision::Handoff(&waiters), 1);
        let best = waiters.iter().map(|&t| p.priority(t)).max().unwrap();
        assert_eq!(p.priority(waiters[i]), best);
    }
}
