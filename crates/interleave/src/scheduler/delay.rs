//! Delay-bounded exhaustive search (Emmi, Qadeer and Rakamarić, "Delay-Bounded
//! Scheduling", POPL 2011), by iterative deepening.
//!
//! The baseline is the canonical scheduler; a *delay* skips the thread it would pick in
//! favour of the next one in canonical order (skipping `c` threads costs `c` delays).
//! Every schedule with at most `bound` delays is run, depth first, bound by bound: first
//! the canonical schedule (no delay), then every schedule with one delay, then two...
//! so a bug is found with the fewest delays it needs, in about as many schedules
//! whatever the bound. A pass re-runs the schedules of the smaller bounds on its way (it
//! must run them to find where the next delays can go), a small price: the number of
//! schedules grows as O(steps^bound).
//!
//! Unlike preemption bounding (CHESS), which still branches freely at every blocking
//! point, delay bounding keeps a bounded buffer within reach. The program's other
//! choices under std's condvar contract (which waiter a `notify_one` wakes, whether a
//! wait returns spuriously) are branching points too, option `k` costing `k` delays; a
//! released lock goes to its longest waiter, as in the canonical schedule.
//!
//! A schedule is replayed by its deviation points, printed as
//! `schedule:STEP[+SKIP]...`: `3.17+2` skips one thread at decision 3 and two at
//! decision 17 (decisions are numbered from 0, so decision 3 picks who runs step 4 of
//! the trace); `9~1` takes option 1 of the choice made during step 9 of the trace, and
//! `9/1~1` the same for the second choice made during that step.

use super::{Decision, Scheduler};
use crate::runtime::execution::Tid;

/// One branching point of the current schedule.
#[derive(Clone, Copy, Debug)]
struct Choice {
    step: u64,
    taken: usize,
    options: usize,
    /// None for the choice of a thread; for a decision, its rank among the decisions
    /// made during its step.
    data: Option<u32>,
}

/// How far a delay-bounded search got.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Progress {
    /// Passes go bound by bound (iterative deepening), or one pass does every bound.
    pub(crate) iterative: bool,
    /// Every schedule with at most this many delays was run.
    pub(crate) complete_up_to: Option<usize>,
    /// The bound of the pass under way, if it is not complete.
    pub(crate) partial_bound: Option<usize>,
    /// Schedules of the pass under way run so far that no earlier pass ran (those with
    /// exactly `partial_bound` delays when iterating).
    pub(crate) partial_new: usize,
    /// An estimate of the share of that pass done, from 0 to 1: the search moves its
    /// first deviation from the end of the execution towards its start, and with `n`
    /// choices and bound `b`, about `((n - p) / n)^b` of the schedules have their first
    /// deviation after choice `p`.
    pub(crate) partial_share: f64,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct DelayBounded {
    max_bound: usize,
    iterative: bool,
    /// The bound of the pass under way.
    bound: usize,
    path: Vec<Choice>,
    pos: usize,
    started: bool,
    /// The choices of the canonical schedule (the first one run), where every pass
    /// starts.
    canonical: Vec<Choice>,
    canonical_saved: bool,
    /// The step of the last decision and how many were made during it.
    data_step: (u64, u32),
    complete_up_to: Option<usize>,
    /// Schedules with exactly `bound` delays run in this pass.
    new_in_pass: usize,
}

impl DelayBounded {
    /// A search up to `bound` delays: by iterative deepening (bound 0, then 1...), or
    /// in one pass over every schedule within the bound.
    pub(crate) fn new(bound: usize, iterative: bool) -> Self {
        DelayBounded {
            max_bound: bound,
            iterative,
            bound: if iterative { 0 } else { bound },
            path: Vec::new(),
            pos: 0,
            started: false,
            canonical: Vec::new(),
            canonical_saved: false,
            data_step: (u64::MAX, 0),
            complete_up_to: None,
            new_in_pass: 0,
        }
    }

    /// The deepest choice that can take one more delay within the bound, taken; false if
    /// none is left.
    fn backtrack(&mut self) -> bool {
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

    fn delays(&self) -> usize {
        self.path.iter().map(|c| c.taken).sum()
    }

    /// How far the search got (see [`Progress`]).
    fn progress_now(&self) -> Progress {
        let partial = self.complete_up_to != Some(self.max_bound);
        let share = if partial && self.bound > 0 {
            let n = self.path.len().max(1) as f64;
            let p = self
                .path
                .iter()
                .position(|c| c.taken > 0)
                .unwrap_or(self.path.len()) as f64;
            ((n - p) / n).max(0.0).powi(self.bound as i32)
        } else {
            0.0
        };
        Progress {
            iterative: self.iterative,
            complete_up_to: self.complete_up_to,
            partial_bound: partial.then_some(self.bound),
            partial_new: if partial { self.new_in_pass } else { 0 },
            partial_share: share,
        }
    }
}

impl Scheduler for DelayBounded {
    fn begin(&mut self) -> bool {
        self.pos = 0;
        self.data_step = (u64::MAX, 0);
        if !self.started {
            self.started = true;
            // The canonical schedule: new in the first pass, whatever its bound.
            self.new_in_pass = 1;
            return true;
        }
        if !self.canonical_saved {
            self.canonical_saved = true;
            self.canonical = self.path.clone();
        }
        loop {
            if self.backtrack() {
                if self.delays() == self.bound || self.complete_up_to.is_none() {
                    self.new_in_pass += 1;
                }
                return true;
            }
            // Every schedule within this bound has run.
            self.complete_up_to = Some(self.bound);
            if self.bound >= self.max_bound {
                return false;
            }
            // The next pass starts from the canonical schedule (already run).
            self.bound += 1;
            self.new_in_pass = 0;
            self.path = self.canonical.clone();
        }
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
            data: None,
        });
        self.pos += 1;
        ready[0]
    }

    fn decide(&mut self, d: Decision<'_>, step: u64) -> usize {
        let options = d.options();
        if matches!(d, Decision::Handoff(_)) || options < 2 {
            return 0;
        }
        let rank = next_rank(&mut self.data_step, step);
        if self.pos < self.path.len() {
            let c = self.path[self.pos];
            self.pos += 1;
            return c.taken.min(options - 1);
        }
        self.path.push(Choice {
            step,
            taken: 0,
            options,
            data: Some(rank),
        });
        self.pos += 1;
        0
    }

    fn progress(&self) -> Option<Progress> {
        Some(self.progress_now())
    }

    fn describe(&self) -> String {
        describe(
            self.path[..self.pos.min(self.path.len())]
                .iter()
                .filter(|c| c.taken > 0)
                .map(|c| Point {
                    step: c.step,
                    data: c.data,
                    take: c.taken,
                }),
        )
    }
}

/// The rank of a decision made during `step`, given the step and count of the last one.
fn next_rank(last: &mut (u64, u32), step: u64) -> u32 {
    if last.0 == step {
        last.1 += 1;
    } else {
        *last = (step, 0);
    }
    last.1
}

/// A deviation from the canonical schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Point {
    step: u64,
    data: Option<u32>,
    take: usize,
}

fn describe(points: impl Iterator<Item = Point>) -> String {
    let parts: Vec<String> = points
        .map(|p| match p.data {
            None if p.take == 1 => p.step.to_string(),
            None => format!("{}+{}", p.step, p.take),
            Some(0) => format!("{}~{}", p.step, p.take),
            Some(r) => format!("{}/{r}~{}", p.step, p.take),
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
    points: Vec<Point>,
    data_step: (u64, u32),
}

impl Replay {
    /// Parses the part after `schedule:`.
    pub(crate) fn parse(s: &str) -> Result<Self, String> {
        let num = |part: &str, v: &str| -> Result<u64, String> {
            v.parse::<u64>().map_err(|e| format!("{part}: {e}"))
        };
        let mut points = Vec::new();
        for part in s.split('.').filter(|p| !p.is_empty()) {
            let point = match part.split_once('~') {
                Some((at, take)) => {
                    let (step, rank) = match at.split_once('/') {
                        Some((s, r)) => (num(part, s)?, num(part, r)? as u32),
                        None => (num(part, at)?, 0),
                    };
                    Point {
                        step,
                        data: Some(rank),
                        take: num(part, take)? as usize,
                    }
                }
                None => {
                    let (step, skip) = match part.split_once('+') {
                        Some((a, b)) => (a, num(part, b)? as usize),
                        None => (part, 1),
                    };
                    Point {
                        step: num(part, step)?,
                        data: None,
                        take: skip,
                    }
                }
            };
            points.push(point);
        }
        Ok(Replay {
            points,
            data_step: (u64::MAX, 0),
        })
    }
}

impl Scheduler for Replay {
    fn choose(&mut self, ready: &[Tid], step: u64) -> Tid {
        let skip = self
            .points
            .iter()
            .find(|p| p.data.is_none() && p.step == step)
            .map(|p| p.take)
            .unwrap_or(0);
        ready[skip.min(ready.len() - 1)]
    }

    fn decide(&mut self, d: Decision<'_>, step: u64) -> usize {
        let options = d.options();
        if matches!(d, Decision::Handoff(_)) || options < 2 {
            return 0;
        }
        let rank = next_rank(&mut self.data_step, step);
        self.points
            .iter()
            .find(|p| p.data == Some(rank) && p.step == step)
            .map(|p| p.take.min(options - 1))
            .unwrap_or(0)
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

    /// The number of delays of a schedule of `run_once`: how many threads each step
    /// skipped in canonical order.
    fn delays(steps: &[usize], seq: &[Tid]) -> usize {
        let mut left = steps.to_vec();
        let mut last: Option<Tid> = None;
        let mut total = 0;
        for &t in seq {
            let mut ready: Vec<Tid> = (0..left.len()).filter(|&t| left[t] > 0).collect();
            ready.sort_by_key(|&t| (Some(t) != last, t));
            total += ready.iter().position(|&r| r == t).unwrap();
            left[t] -= 1;
            last = Some(t);
        }
        total
    }

    /// Every schedule of the search in the order run, with the string that replays it.
    fn explore(steps: &[usize], bound: usize) -> Vec<(Vec<Tid>, String)> {
        let mut s = DelayBounded::new(bound, true);
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
    fn every_schedule_within_the_bound_is_explored() {
        for bound in 0..=6 {
            let all = explore(&[3, 3], bound);
            let distinct: HashSet<_> = all.iter().map(|(seq, _)| seq.clone()).collect();
            assert!(
                distinct.iter().all(|seq| delays(&[3, 3], seq) <= bound),
                "bound {bound}"
            );
            // Each pass adds exactly the schedules with as many delays as its bound.
            let previous: HashSet<_> = if bound == 0 {
                HashSet::new()
            } else {
                explore(&[3, 3], bound - 1)
                    .into_iter()
                    .map(|(seq, _)| seq)
                    .collect()
            };
            let added: Vec<_> = distinct.difference(&previous).collect();
            assert!(
                added.iter().all(|seq| delays(&[3, 3], seq) == bound),
                "bound {bound}"
            );
        }
        // With enough delays, all C(6, 3) = 20 interleavings of two 3-step threads.
        let all: HashSet<_> = explore(&[3, 3], 6).into_iter().map(|(s, _)| s).collect();
        assert_eq!(all.len(), 20);
    }

    #[test]
    fn schedules_come_bound_by_bound() {
        // The first time each schedule runs, its number of delays never decreases: a
        // schedule with one delay always comes before any with two.
        let steps = [2, 2, 2];
        let mut seen = HashSet::new();
        let mut last = 0;
        for (seq, _) in explore(&steps, 3) {
            if seen.insert(seq.clone()) {
                let d = delays(&steps, &seq);
                assert!(d >= last, "{seq:?} has {d} delays after one with {last}");
                last = d;
            }
        }
        assert_eq!(last, 3);
    }

    #[test]
    fn the_same_bug_takes_as_many_schedules_whatever_the_bound() {
        // The "bug": thread 1 runs before thread 0 has finished (one delay needed).
        let steps = [3, 3, 3];
        let first_bug = |bound: usize| {
            let mut s = DelayBounded::new(bound, true);
            let mut n = 0;
            while s.begin() {
                n += 1;
                let seq = run_once(&steps, &mut s);
                if seq[..3] != [0, 0, 0] {
                    return Some(n);
                }
            }
            None
        };
        let at: Vec<_> = (1..=4).map(first_bug).collect();
        assert!(at.iter().all(|&n| n == at[0] && n.is_some()), "{at:?}");
    }

    #[test]
    fn schedules_grow_with_the_bound() {
        let counts: Vec<usize> = (0..4).map(|b| explore(&[2, 2, 2], b).len()).collect();
        assert!(counts.windows(2).all(|w| w[0] < w[1]), "{counts:?}");
    }

    #[test]
    fn the_progress_of_a_search_is_reported() {
        let mut s = DelayBounded::new(2, true);
        let mut runs = 0;
        while s.begin() {
            run_once(&[3, 3, 3], &mut s);
            runs += 1;
            let p = s.progress_now();
            if runs == 1 {
                assert_eq!(p.complete_up_to, None);
            }
            assert!((0.0..=1.0).contains(&p.partial_share), "{p:?}");
        }
        let p = s.progress_now();
        assert_eq!(p.complete_up_to, Some(2));
        assert_eq!(p.partial_bound, None);
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

    #[test]
    fn decisions_branch_and_replay() {
        // One thread, three steps, one two-way decision in each: 2^3 outcomes within
        // bound 3, each replayed by its string.
        let run = |s: &mut dyn Scheduler| -> Vec<usize> {
            (1..=3)
                .map(|step| {
                    s.choose(&[0], step - 1);
                    s.decide(Decision::Spurious, step)
                })
                .collect()
        };
        let mut s = DelayBounded::new(3, true);
        let mut seen = HashSet::new();
        while s.begin() {
            let out = run(&mut s);
            let printed = s.describe();
            let again = match printed.strip_prefix("schedule:") {
                Some(p) => run(&mut Replay::parse(p).unwrap()),
                None => run(&mut super::super::canonical::Canonical),
            };
            assert_eq!(again, out, "{printed}");
            seen.insert(out);
        }
        assert_eq!(seen.len(), 8);
        // A lock hand-off is never a branching point.
        let mut s = DelayBounded::new(3, true);
        assert!(s.begin());
        assert_eq!(s.decide(Decision::Handoff(&[1, 2]), 1), 0);
        assert!(s.path.is_empty());
    }

    #[test]
    fn the_second_decision_of_a_step_has_its_rank() {
        let points = Replay::parse("4/1~1.7+2").unwrap();
        assert_eq!(points.describe(), "schedule:4/1~1.7+2");
        let mut r = points;
        assert_eq!(r.decide(Decision::Spurious, 4), 0);
        assert_eq!(r.decide(Decision::Spurious, 4), 1);
        assert_eq!(r.choose(&[5, 6, 7], 7), 7);
        assert!(Replay::parse("4~x").is_err());
    }
}
