//! Delay-bounded exhaustive search (Emmi, Qadeer and Rakamarić, "Delay-Bounded
//! Scheduling", POPL 2011).
//!
//! The baseline is the canonical scheduler; a *delay* skips the thread it would pick in
//! favour of the next one in canonical order (skipping `c` threads costs `c` delays).
//! Every schedule with at most `bound` delays is run once, depth first. Unlike
//! preemption bounding (CHESS), which still branches freely at every blocking point,
//! the number of schedules grows as O(steps^bound), which keeps a bounded buffer
//! within reach. A schedule is replayed by its deviation points, printed as
//! `schedule:STEP[+SKIP].STEP[+SKIP]...` (for example `schedule:3.17+2`).

use super::Scheduler;
use crate::runtime::execution::Tid;

/// One branching point of the current schedule.
#[derive(Clone, Copy, Debug)]
struct Choice {
    step: u64,
    taken: usize,
    options: usize,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct DelayBounded {
    bound: usize,
    path: Vec<Choice>,
    pos: usize,
    started: bool,
}

impl DelayBounded {
    pub(crate) fn new(bound: usize) -> Self {
        DelayBounded {
            bound,
            path: Vec::new(),
            pos: 0,
            started: false,
        }
    }
}

impl Scheduler for DelayBounded {
    fn begin(&mut self) -> bool {
        self.pos = 0;
        if !self.started {
            self.started = true;
            return true;
        }
        // Backtrack: the deepest choice that can take one more delay within the bound.
        while let Some(last) = self.path.pop() {
            let used: usize = self.path.iter().map(|c| c.taken).sum();
            if last.taken + 1 < last.options && used + last.taken < self.bound {
                self.path.push(Choice {
                    taken: last.taken + 1,
                    ..last
                });
                return true;
            }
        }
        false
    }

    fn choose(&mut self, ready: &[Tid], step: u64) -> Tid {
        if ready.len() == 1 {
            return ready[0];
        }
        if self.pos < self.path.len() {
            let c = self.path[self.pos];
            self.pos += 1;
            return ready[c.taken.min(ready.len() - 1)];
        }
        self.path.push(Choice {
            step,
            taken: 0,
            options: ready.len(),
        });
        self.pos += 1;
        ready[0]
    }

    fn describe(&self) -> String {
        describe(
            self.path[..self.pos.min(self.path.len())]
                .iter()
                .filter(|c| c.taken > 0)
                .map(|c| (c.step, c.taken)),
        )
    }
}

fn describe(points: impl Iterator<Item = (u64, usize)>) -> String {
    let parts: Vec<String> = points
        .map(|(s, k)| {
            if k == 1 {
                s.to_string()
            } else {
                format!("{s}+{k}")
            }
        })
        .collect();
    if parts.is_empty() {
        // No deviation at all is the canonical schedule: say so, rather than print an
        // empty `schedule:` that a student cannot make sense of.
        return "canonical".to_string();
    }
    format!("schedule:{}", parts.join("."))
}

/// Replays a schedule printed by [`DelayBounded`]: canonical, except at the listed steps.
#[derive(Debug)]
pub(crate) struct Replay {
    points: Vec<(u64, usize)>,
}

impl Replay {
    /// Parses the part after `schedule:`.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let mut points = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let (step, skip) = match part.split_once('+') {
                Some((a, b)) => (a, b.parse::<usize>().map_err(|e| format!("{part}: {e}"))?),
                None => (part, 1),
            };
            points.push((
                step.parse::<u64>().map_err(|e| format!("{part}: {e}"))?,
                skip,
            ));
        }
        Ok(Replay { points })
    }
}

impl Scheduler for Replay {
    fn choose(&mut self, ready: &[Tid], step: u64) -> Tid {
        let skip = self
            .points
            .iter()
            .find(|(s, _)| *s == step)
            .map(|(_, k)| *k)
            .unwrap_or(0);
        ready[skip.min(ready.len() - 1)]
    }

    fn describe(&self) -> String {
        describe(self.points.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Runs an abstract program once: thread `i` has `steps[i]` steps, never blocks,
    /// and the canonical order is "the running thread first, then by index". Returns
    /// the sequence of threads run.
    fn run_once(steps: &[usize], s: &mut dyn Scheduler) -> Vec<Tid> {
        let mut left = steps.to_vec();
        let mut last: Option<Tid> = None;
        let mut seq = Vec::new();
        let mut step = 0;
        while left.iter().any(|&l| l > 0) {
            let mut ready: Vec<Tid> = (0..left.len()).filter(|&t| left[t] > 0).collect();
            ready.sort_by_key(|&t| (Some(t) != last, t));
            step += 1;
            let t = s.choose(&ready, step);
            left[t] -= 1;
            last = Some(t);
            seq.push(t);
        }
        seq
    }

    /// Every schedule of the search, with the string that replays it.
    fn explore(steps: &[usize], bound: usize) -> Vec<(Vec<Tid>, String)> {
        let mut s = DelayBounded::new(bound);
        let mut all = Vec::new();
        while s.begin() {
            let seq = run_once(steps, &mut s);
            all.push((seq, s.describe()));
        }
        all
    }

    #[test]
    fn bound_zero_is_the_canonical_schedule_only() {
        let all = explore(&[3, 3], 0);
        assert_eq!(all, vec![(vec![0, 0, 0, 1, 1, 1], "canonical".to_string())]);
    }

    #[test]
    fn every_schedule_is_explored_once() {
        for bound in 0..=6 {
            let all = explore(&[3, 3], bound);
            let distinct: HashSet<_> = all.iter().map(|(seq, _)| seq.clone()).collect();
            assert_eq!(
                distinct.len(),
                all.len(),
                "bound {bound}: a schedule ran twice"
            );
        }
        // With enough delays, all C(6, 3) = 20 interleavings of two 3-step threads.
        assert_eq!(explore(&[3, 3], 6).len(), 20);
    }

    #[test]
    fn schedules_grow_with_the_bound() {
        let counts: Vec<usize> = (0..4).map(|b| explore(&[2, 2, 2], b).len()).collect();
        assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    }

    #[test]
    fn every_printed_schedule_replays() {
        for (seq, printed) in explore(&[2, 2, 1], 2) {
            let replayed = match printed.strip_prefix("schedule:") {
                Some(points) => run_once(&[2, 2, 1], &mut Replay::parse(points).unwrap()),
                None => {
                    assert_eq!(printed, "canonical");
                    run_once(&[2, 2, 1], &mut super::super::canonical::Canonical)
                }
            };
            assert_eq!(replayed, seq, "{printed}");
        }
    }
}
