//! Step `tunnel/fair`: the notes' policy starves a direction under a steady stream of
//! cars the other way; `FairTunnel::new(batch)` bounds the wait. Scenario tables of the
//! exact policy, and explorations with a bounded-waiting oracle.

mod common;

use common::{NotesTunnel, OneWay, Traffic, differs, drive, tunnel_state};
use interleave::explore::{Config, Strategy, check, explore};
use interleave::monitor::Semantics;
use interleave::scenario::{Scenario, Table};
use tunnel::Direction::{self, North, South};
use tunnel::fair::FairTunnel;

/// The operations of a fair tunnel, so that the same tables run on the student's tunnel
/// and on the versions written in this file.
trait Fair: OneWay {
    /// `FairTunnel::new(batch)`.
    fn with_batch(batch: usize) -> Self;
    /// `FairTunnel::arrive(dir)`.
    fn enter(&self, dir: Direction) -> u64;
}

/// A table's snapshot name and its script.
type Script = (&'static str, fn() -> Table);

impl Fair for FairTunnel {
    fn with_batch(batch: usize) -> Self {
        FairTunnel::new(batch)
    }
    fn enter(&self, dir: Direction) -> u64 {
        FairTunnel::arrive(self, dir)
    }
}

/// A car arrives; the table shows its arrival number.
fn arrive<T: Fair>(dir: Direction) -> impl FnOnce(&T) -> u64 {
    move |t| t.enter(dir)
}

/// A car arrives; the table does not show the number.
fn arrive_quietly<T: Fair>(dir: Direction) -> impl FnOnce(&T) {
    move |t| {
        t.enter(dir);
    }
}

fn depart<T: Fair>(dir: Direction) -> impl FnOnce(&T) {
    move |t| t.depart(dir)
}

const RULES_HOLD: &str = "rules 1 and 2 hold: the car enters at once";
const RULE_1: &str = "rule 1: cars of the other direction are inside, the car waits";
const NOT_EMPTY: &str = "cars of this direction are still inside: the tunnel cannot turn yet";
const TURN: &str = "the last car inside leaves, and the tunnel may turn: every waiting car that rules 1 and 2 \
     allow enters at once";
const EMPTY: &str = "the last car leaves and nobody waits: the tunnel is empty";

/// The notes' policy: while northbound cars keep coming, each one enters at once
/// (a northbound car is inside), and S1 waits until the stream stops.
#[test]
fn the_notes_policy_lets_a_northbound_stream_starve_s1() {
    let notes = "the notes' policy: a car enters while cars of its direction are inside, \
                 however long S1 has waited";
    let table = Scenario::new(|| NotesTunnel::new(Semantics::Hoare))
        .call("N1", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("S1", "arrive(South)", |t| {
            t.arrive(South);
        })
        .rule(RULE_1)
        .call("N2", "arrive(North)", |t| {
            t.arrive(North);
        })
        .rule(notes)
        .call("N1", "depart(North)", |t| t.depart(North))
        .call("N3", "arrive(North)", |t| {
            t.arrive(North);
        })
        .rule(notes)
        .call("N2", "depart(North)", |t| t.depart(North))
        .call("N4", "arrive(North)", |t| {
            t.arrive(North);
        })
        .rule(notes)
        .call("N3", "depart(North)", |t| t.depart(North))
        .call("N5", "arrive(North)", |t| {
            t.arrive(North);
        })
        .rule(notes)
        .call("N4", "depart(North)", |t| t.depart(North))
        .state(tunnel_state)
        .run();
    interleave::assert_table!(table);
}

/// The same stream with `batch = 2`: N2 and N3 overtake S1, N4 has to wait, and the
/// tunnel turns as soon as it is empty.
fn batch_2_script<T: Fair>() -> Table {
    Scenario::new(|| T::with_batch(2))
        .call("N1", "arrive(North)", arrive_quietly(North))
        .rule(RULES_HOLD)
        .call("S1", "arrive(South)", arrive_quietly(South))
        .rule(RULE_1)
        .call("N2", "arrive(North)", arrive_quietly(North))
        .rule("rule 2 allows it: S1 has not been overtaken yet (batch 2); N2 overtakes S1")
        .call("N1", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N3", "arrive(North)", arrive_quietly(North))
        .rule("rule 2 allows it: S1 has been overtaken once (batch 2); N3 overtakes S1")
        .call("N2", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N4", "arrive(North)", arrive_quietly(North))
        .rule("rule 2: S1, waiting since before N4 arrived, was overtaken twice (batch 2)")
        .call("N3", "depart(North)", depart(North))
        .rule(TURN)
        .call("S1", "depart(South)", depart(South))
        .rule(TURN)
        .state(tunnel_state)
        .run()
}

#[test]
fn with_batch_2_two_northbound_cars_overtake_s1_then_the_tunnel_turns() {
    let table = batch_2_script::<FairTunnel>();
    interleave::assert_table!(table);
}

/// Rule 2 only counts cars that arrived after the waiting car: at the turn, N1 and N2
/// (who waited before S3 arrived) enter together, then only one more northbound car
/// (N3) may overtake S3.
fn batch_1_script<T: Fair>() -> Table {
    Scenario::new(|| T::with_batch(1))
        .call("S1", "arrive(South)", arrive_quietly(South))
        .rule(RULES_HOLD)
        .call("N1", "arrive(North)", arrive_quietly(North))
        .rule(RULE_1)
        .call("N2", "arrive(North)", arrive_quietly(North))
        .rule(RULE_1)
        .call("S2", "arrive(South)", arrive_quietly(South))
        .rule("rule 2 allows it: N1 and N2 have not been overtaken yet (batch 1)")
        .call("S3", "arrive(South)", arrive_quietly(South))
        .rule("rule 2: N1, waiting since before S3 arrived, was overtaken once (batch 1)")
        .call("S1", "depart(South)", depart(South))
        .rule(NOT_EMPTY)
        .call("S2", "depart(South)", depart(South))
        .rule(
            "the last car inside leaves: N1 and N2 enter at once (rule 2 counts only the cars \
             that arrived after a waiting car, and N1 and N2 arrived before S3); S3 waits (rule 1)",
        )
        .call("N3", "arrive(North)", arrive_quietly(North))
        .rule("rule 2 allows it: N1 and N2 arrived before S3, so S3 was never overtaken")
        .call("N4", "arrive(North)", arrive_quietly(North))
        .rule("rule 2: S3, waiting since before N4 arrived, was overtaken once (batch 1)")
        .call("N1", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N2", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N3", "depart(North)", depart(North))
        .rule(TURN)
        .state(tunnel_state)
        .run()
}

#[test]
fn with_batch_1_only_later_cars_count_as_overtaking() {
    let table = batch_1_script::<FairTunnel>();
    interleave::assert_table!(table);
}

/// `batch = 2`, several cars waiting on both sides, three turns; the table shows the
/// arrival numbers.
fn batch_2_both_sides_script<T: Fair>() -> Table {
    Scenario::new(|| T::with_batch(2))
        .call("N1", "arrive(North)", arrive(North))
        .rule(RULES_HOLD)
        .call("S1", "arrive(South)", arrive(South))
        .rule(RULE_1)
        .call("S2", "arrive(South)", arrive(South))
        .rule(RULE_1)
        .call("N2", "arrive(North)", arrive(North))
        .rule("rule 2 allows it: S1 and S2 have not been overtaken yet (batch 2)")
        .call("N3", "arrive(North)", arrive(North))
        .rule("rule 2 allows it: S1 and S2 have been overtaken once (batch 2)")
        .call("N4", "arrive(North)", arrive(North))
        .rule("rule 2: S1, waiting since before N4 arrived, was overtaken twice (batch 2)")
        .call("S3", "arrive(South)", arrive(South))
        .rule(RULE_1)
        .call("N5", "arrive(North)", arrive(North))
        .rule("rule 2: S1, waiting since before N5 arrived, was overtaken twice (batch 2)")
        .call("N1", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N2", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N3", "depart(North)", depart(North))
        .rule("the tunnel is empty: S1, S2 and S3 enter; N4 and N5 wait for S1 (rule 2)")
        .call("S4", "arrive(South)", arrive(South))
        .rule("rule 2 allows it: N4 was overtaken once (by S3), N5 never (batch 2)")
        .call("S5", "arrive(South)", arrive(South))
        .rule("rule 2: N4, waiting since before S5 arrived, was overtaken twice (batch 2)")
        .call("S1", "depart(South)", depart(South))
        .rule(NOT_EMPTY)
        .call("S2", "depart(South)", depart(South))
        .rule(NOT_EMPTY)
        .call("S3", "depart(South)", depart(South))
        .rule(NOT_EMPTY)
        .call("S4", "depart(South)", depart(South))
        .rule("the tunnel is empty: N4 and N5 enter; S5 waits for N4 (rule 2) and rule 1")
        .call("N6", "arrive(North)", arrive(North))
        .rule("rule 2 allows it: S5 was not overtaken yet (N4 and N5 arrived before it)")
        .call("N7", "arrive(North)", arrive(North))
        .rule("rule 2 allows it: S5 was overtaken once (batch 2)")
        .call("N8", "arrive(North)", arrive(North))
        .rule("rule 2: S5, waiting since before N8 arrived, was overtaken twice (batch 2)")
        .call("N4", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N5", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N6", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N7", "depart(North)", depart(North))
        .rule("the tunnel is empty: S5 enters; N8 waits for S5 (rule 2) and rule 1")
        .call("S5", "depart(South)", depart(South))
        .rule(TURN)
        .state(tunnel_state)
        .run()
}

#[test]
fn with_batch_2_and_cars_waiting_on_both_sides_the_tunnel_turns_three_times() {
    let table = batch_2_both_sides_script::<FairTunnel>();
    interleave::assert_table!(table);
}

/// `batch = 1` with streams on both sides: the tunnel alternates; the table shows the
/// arrival numbers.
fn batch_1_alternating_script<T: Fair>() -> Table {
    Scenario::new(|| T::with_batch(1))
        .call("N1", "arrive(North)", arrive(North))
        .rule(RULES_HOLD)
        .call("S1", "arrive(South)", arrive(South))
        .rule(RULE_1)
        .call("N2", "arrive(North)", arrive(North))
        .rule("rule 2 allows it: S1 was not overtaken yet (batch 1)")
        .call("S2", "arrive(South)", arrive(South))
        .rule(RULE_1)
        .call("N3", "arrive(North)", arrive(North))
        .rule("rule 2: S1, waiting since before N3 arrived, was overtaken once (batch 1)")
        .call("N1", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N2", "depart(North)", depart(North))
        .rule("the tunnel is empty: S1 and S2 enter (they arrived before N3); N3 waits")
        .call("S3", "arrive(South)", arrive(South))
        .rule("rule 2 allows it: N3 was not overtaken yet (batch 1)")
        .call("S4", "arrive(South)", arrive(South))
        .rule("rule 2: N3, waiting since before S4 arrived, was overtaken once (batch 1)")
        .call("N4", "arrive(North)", arrive(North))
        .rule(RULE_1)
        .call("S1", "depart(South)", depart(South))
        .rule(NOT_EMPTY)
        .call("S2", "depart(South)", depart(South))
        .rule(NOT_EMPTY)
        .call("S3", "depart(South)", depart(South))
        .rule("the tunnel is empty: N3 enters, and N4 too (S4 was not overtaken yet); S4 waits")
        .call("N5", "arrive(North)", arrive(North))
        .rule("rule 2: S4, waiting since before N5 arrived, was overtaken once (batch 1)")
        .call("N3", "depart(North)", depart(North))
        .rule(NOT_EMPTY)
        .call("N4", "depart(North)", depart(North))
        .rule("the tunnel is empty: S4 enters; N5 waits for it (rule 2) and rule 1")
        .call("S4", "depart(South)", depart(South))
        .rule(TURN)
        .call("N5", "depart(North)", depart(North))
        .rule(EMPTY)
        .state(tunnel_state)
        .run()
}

#[test]
fn with_batch_1_and_streams_on_both_sides_the_tunnel_alternates() {
    let table = batch_1_alternating_script::<FairTunnel>();
    interleave::assert_table!(table);
}

#[test]
fn batch_returns_the_batch_given_to_new() {
    for batch in [1, 2, 7] {
        assert_eq!(
            FairTunnel::new(batch).batch(),
            batch,
            "FairTunnel::new({batch}).batch() must return {batch}"
        );
    }
}

/// A steady northbound stream (two cars crossing three times each) and one southbound
/// car: the bounded-waiting oracle with bound 2.
const STREAM: &[(&str, tunnel::Direction, usize)] =
    &[("S1", South, 1), ("N1", North, 3), ("N2", North, 3)];

/// The oracle works: under the notes' policy some schedule lets more than 2 northbound
/// cars overtake S1.
#[test]
fn the_notes_policy_fails_bounded_waiting() {
    let failure = check(Config::new().iterations(300), || {
        drive(
            NotesTunnel::new(Semantics::Hoare),
            &Traffic::new(Some(2)),
            STREAM,
        );
    })
    .expect_err("the notes' policy has no bound on overtaking");
    assert!(
        failure.message.contains("starvation: S1 (arrival #")
            && failure.message.contains(") was overtaken by")
            && failure
                .message
                .contains("northbound cars that arrived after it"),
        "{failure}"
    );
}

/// The fair tunnel under the same stream: at most `batch` northbound cars overtake S1.
#[test]
fn a_northbound_stream_overtakes_s1_at_most_batch_times() {
    for batch in [1, 2] {
        explore(Config::new().iterations(300), move || {
            drive(FairTunnel::new(batch), &Traffic::new(Some(batch)), STREAM);
        });
    }
}

/// Two cars each way, two trips each: the invariant, bounded waiting, no deadlock.
#[test]
fn never_both_directions_and_bounded_waiting() {
    explore(Config::new().iterations(400), || {
        drive(
            FairTunnel::new(1),
            &Traffic::new(Some(1)),
            &[
                ("N1", North, 2),
                ("N2", North, 2),
                ("S1", South, 2),
                ("S2", South, 2),
            ],
        );
    });
}

/// Every schedule with at most two deviations from the canonical one.
#[test]
fn never_both_directions_and_bounded_waiting_exhaustive() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || {
            drive(
                FairTunnel::new(1),
                &Traffic::new(Some(1)),
                &[("N1", North, 2), ("S1", South, 1), ("N2", North, 1)],
            );
        },
    );
}

/// A batch of 0 would let two cars on both sides wait for each other.
#[test]
#[should_panic(expected = "FairTunnel::new: batch must be at least 1")]
fn batch_0_is_refused() {
    let _ = FairTunnel::new(0);
}

/// Three cars each way, two trips each, batches 1 to 3: several cars wait on each side.
fn three_each_way<T: OneWay>(new: fn() -> T, batch: usize, config: Config) -> Option<String> {
    check(config, move || {
        drive(
            new(),
            &Traffic::new(Some(batch)),
            &[
                ("N1", North, 2),
                ("S1", South, 2),
                ("N2", North, 2),
                ("S2", South, 2),
                ("N3", North, 2),
                ("S3", South, 2),
            ],
        );
    })
    .err()
    .map(|f| f.message)
}

#[test]
fn three_cars_each_way_never_both_directions_and_bounded_waiting() {
    for batch in 1..=3 {
        let fair: fn() -> FairTunnel = match batch {
            1 => || FairTunnel::new(1),
            2 => || FairTunnel::new(2),
            _ => || FairTunnel::new(3),
        };
        if let Some(problem) = three_each_way(fair, batch, Config::new().iterations(300)) {
            panic!("{problem}");
        }
    }
}

/// Tunnels written as students do, to show what the checks catch and what they accept.
mod versions {
    use std::collections::VecDeque;
    use std::marker::PhantomData;

    use interleave::monitor::{Condition, Monitor, Semantics};
    use interleave::sync::{Condvar, Mutex};
    use tunnel::Direction;

    /// A waiting car: its arrival number, direction, and how often it was overtaken.
    #[derive(Clone, Copy)]
    struct Waiter {
        ticket: u64,
        dir: Direction,
        overtaken: usize,
    }

    /// The state of the versions on a monitor.
    #[derive(Default)]
    pub struct State {
        dir: Option<Direction>,
        inside: usize,
        next: u64,
        entered: u64,
        waiting: Vec<Waiter>,
        /// Entries since a car of the other side began to wait (the `Streak` mistake).
        streak: usize,
    }

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub enum Kind {
        /// Right: the policy, on a Hoare monitor with `while`.
        Hoare,
        /// Wrong: rule 2 allows `batch + 1` overtakings (`<=` for `<`).
        OneTooMany,
        /// Wrong: rule 2 counts every car that entered while a car of the other side
        /// waited, including cars that arrived before it.
        Streak,
        /// Wrong: the right policy, but `arrive` returns the order of entry.
        EntryNumbers,
        /// Wrong: when the tunnel empties, only one waiting car is woken.
        SignalOne,
        /// Wrong: a car waits for every earlier waiting car of the other side (as if the
        /// batch were 0).
        Fifo,
        /// Wrong: when the tunnel empties one car is woken, and every car that gets in
        /// wakes the next one (a wake-up that reaches a car that may not enter ends the
        /// chain).
        Cascade,
    }

    /// Which mistake a version makes, as a type, so that `Fair::with_batch` can build it.
    pub trait Mistake: Send + Sync + 'static {
        const KIND: Kind;
    }

    macro_rules! mistakes {
        ($($name:ident),*) => {$(
            pub struct $name;
            impl Mistake for $name {
                const KIND: Kind = Kind::$name;
            }
        )*};
    }
    mistakes!(
        Hoare,
        OneTooMany,
        Streak,
        EntryNumbers,
        SignalOne,
        Fifo,
        Cascade
    );

    pub struct OnMonitor<M> {
        m: Monitor<State>,
        turn: Condition,
        batch: usize,
        mistake: PhantomData<M>,
    }

    impl<M: Mistake> OnMonitor<M> {
        fn may_enter(&self, s: &State, ticket: u64, dir: Direction) -> bool {
            if s.dir.is_some_and(|d| d != dir) {
                return false;
            }
            let mut earlier = s
                .waiting
                .iter()
                .filter(|w| w.dir != dir && w.ticket < ticket);
            match M::KIND {
                Kind::OneTooMany => earlier.all(|w| w.overtaken <= self.batch),
                Kind::Streak => !s.waiting.iter().any(|w| w.dir != dir) || s.streak < self.batch,
                Kind::Fifo => earlier.next().is_none(),
                _ => earlier.all(|w| w.overtaken < self.batch),
            }
        }
    }

    impl<M: Mistake> super::OneWay for OnMonitor<M> {
        fn arrive(&self, dir: Direction) -> Option<u64> {
            let mut s = self.m.enter();
            let ticket = s.next;
            s.next += 1;
            if !self.may_enter(&s, ticket, dir) {
                s.waiting.push(Waiter {
                    ticket,
                    dir,
                    overtaken: 0,
                });
                while !self.may_enter(&s, ticket, dir) {
                    self.turn.wait(&mut s);
                }
                s.waiting.retain(|w| w.ticket != ticket);
            }
            for w in s.waiting.iter_mut() {
                if w.dir != dir && w.ticket < ticket {
                    w.overtaken += 1;
                }
            }
            if s.waiting.iter().any(|w| w.dir != dir) {
                s.streak += 1;
            }
            s.dir = Some(dir);
            s.inside += 1;
            s.entered += 1;
            if M::KIND == Kind::Cascade && self.turn.queue() {
                self.turn.signal(&mut s);
            }
            if M::KIND == Kind::EntryNumbers {
                Some(s.entered - 1)
            } else {
                Some(ticket)
            }
        }

        fn depart(&self, _dir: Direction) {
            let mut s = self.m.enter();
            s.inside -= 1;
            if s.inside == 0 {
                s.dir = None;
                s.streak = 0;
                if matches!(M::KIND, Kind::SignalOne | Kind::Cascade) {
                    self.turn.signal(&mut s);
                } else {
                    self.turn.broadcast(&mut s);
                }
            }
        }
    }

    impl<M: Mistake> super::Fair for OnMonitor<M> {
        fn with_batch(batch: usize) -> Self {
            let semantics = if M::KIND == Kind::Hoare {
                Semantics::Hoare
            } else {
                Semantics::Mesa
            };
            OnMonitor {
                m: Monitor::new(State::default(), semantics),
                turn: Condition::new(),
                batch,
                mistake: PhantomData,
            }
        }
        fn enter(&self, dir: Direction) -> u64 {
            super::OneWay::arrive(self, dir).expect("numbered")
        }
    }

    /// Right: a mutex, one condition variable, `notify_all`, and per direction a queue of
    /// the waiting cars; rule 2 only needs the oldest one of the other side (the oldest
    /// waiting car is overtaken at least as often as any later one).
    pub struct Queues {
        state: Mutex<QueueState>,
        changed: Condvar,
        batch: usize,
    }

    #[derive(Default)]
    struct QueueState {
        dir: Option<Direction>,
        inside: usize,
        next: u64,
        /// Per direction (North, South): waiting cars, oldest first, (ticket, overtaken).
        queues: [VecDeque<(u64, usize)>; 2],
    }

    fn side(dir: Direction) -> usize {
        usize::from(dir == Direction::South)
    }

    impl Queues {
        fn may_enter(&self, s: &QueueState, ticket: u64, dir: Direction) -> bool {
            let free = s.dir.is_none_or(|d| d == dir);
            let oldest = s.queues[side(dir.opposite())].front();
            free && oldest.is_none_or(|&(t, overtaken)| t > ticket || overtaken < self.batch)
        }
    }

    impl super::OneWay for Queues {
        fn arrive(&self, dir: Direction) -> Option<u64> {
            let mut s = self.state.lock();
            let ticket = s.next;
            s.next += 1;
            if !self.may_enter(&s, ticket, dir) {
                s.queues[side(dir)].push_back((ticket, 0));
                while !self.may_enter(&s, ticket, dir) {
                    self.changed.wait(&mut s);
                }
                s.queues[side(dir)].retain(|&(t, _)| t != ticket);
            }
            for (t, overtaken) in s.queues[side(dir.opposite())].iter_mut() {
                if *t < ticket {
                    *overtaken += 1;
                }
            }
            s.dir = Some(dir);
            s.inside += 1;
            Some(ticket)
        }

        fn depart(&self, _dir: Direction) {
            let mut s = self.state.lock();
            s.inside -= 1;
            if s.inside == 0 {
                s.dir = None;
                self.changed.notify_all();
            }
        }
    }

    impl super::Fair for Queues {
        fn with_batch(batch: usize) -> Self {
            Queues {
                state: Mutex::new(QueueState::default()),
                changed: Condvar::new(),
                batch,
            }
        }
        fn enter(&self, dir: Direction) -> u64 {
            super::OneWay::arrive(self, dir).expect("numbered")
        }
    }
}

use versions::OnMonitor;

/// The tables of this file on `T`: the first that differs from its snapshot, and where.
fn tables<T: Fair>() -> Option<(&'static str, usize)> {
    let scripts: [Script; 4] = [
        (
            "with_batch_2_two_northbound_cars_overtake_s1_then_the_tunnel_turns",
            batch_2_script::<T>,
        ),
        (
            "with_batch_1_only_later_cars_count_as_overtaking",
            batch_1_script::<T>,
        ),
        (
            "with_batch_2_and_cars_waiting_on_both_sides_the_tunnel_turns_three_times",
            batch_2_both_sides_script::<T>,
        ),
        (
            "with_batch_1_and_streams_on_both_sides_the_tunnel_alternates",
            batch_1_alternating_script::<T>,
        ),
    ];
    scripts
        .into_iter()
        .find_map(|(name, script)| differs(script, "fair", name).map(|step| (name, step)))
}

/// The explorations of this file on `T`: the first failure message.
fn explorations<T: Fair>() -> Option<String> {
    let stream = |batch: usize| {
        check(Config::new().iterations(300), move || {
            drive(T::with_batch(batch), &Traffic::new(Some(batch)), STREAM);
        })
        .err()
        .map(|f| f.message)
    };
    stream(1).or_else(|| stream(2)).or_else(|| {
        (1..=3).find_map(|batch| {
            check(Config::new().iterations(300), move || {
                drive(
                    T::with_batch(batch),
                    &Traffic::new(Some(batch)),
                    &[
                        ("N1", North, 2),
                        ("S1", South, 2),
                        ("N2", North, 2),
                        ("S2", South, 2),
                        ("N3", North, 2),
                        ("S3", South, 2),
                    ],
                );
            })
            .err()
            .map(|f| f.message)
        })
    })
}

#[test]
fn the_tables_catch_a_wrong_count_entry_numbers_a_single_wake_up_and_no_batch() {
    use versions::{EntryNumbers, Fifo, OneTooMany, SignalOne, Streak};
    let table = |name: &'static str, step: usize| Some((name, step));
    assert_eq!(
        tables::<OnMonitor<OneTooMany>>(),
        table(
            "with_batch_2_two_northbound_cars_overtake_s1_then_the_tunnel_turns",
            7
        )
    );
    assert_eq!(
        tables::<OnMonitor<Streak>>(),
        table("with_batch_1_only_later_cars_count_as_overtaking", 7)
    );
    assert_eq!(
        tables::<OnMonitor<EntryNumbers>>(),
        table(
            "with_batch_2_and_cars_waiting_on_both_sides_the_tunnel_turns_three_times",
            4
        )
    );
    assert_eq!(
        tables::<OnMonitor<SignalOne>>(),
        table("with_batch_1_only_later_cars_count_as_overtaking", 7)
    );
    assert_eq!(
        tables::<OnMonitor<Fifo>>(),
        table(
            "with_batch_2_two_northbound_cars_overtake_s1_then_the_tunnel_turns",
            3
        )
    );
}

#[test]
fn the_explorations_catch_one_overtaking_too_many() {
    let problem = explorations::<OnMonitor<versions::OneTooMany>>()
        .expect("batch + 1 overtakings break bounded waiting");
    assert!(problem.contains("starvation:"), "{problem}");
}

#[test]
fn a_hoare_monitor_and_queues_on_a_mutex_pass() {
    assert_eq!(tables::<OnMonitor<versions::Hoare>>(), None);
    assert_eq!(explorations::<OnMonitor<versions::Hoare>>(), None);
    assert_eq!(tables::<versions::Queues>(), None);
    assert_eq!(explorations::<versions::Queues>(), None);
}

// std's condvar contract: a `Condvar` of std (or parking_lot), and a Mesa monitor, may
// wake a waiter for nothing (a spurious wake-up), and `notify_one` (`signal`) may wake
// any one of the waiters. The simulation does neither unless asked
// (`CondvarSemantics::Std`); these checks ask.

/// The invariant and bounded waiting under std's condvar contract.
#[test]
fn never_both_directions_and_bounded_waiting_under_std_condvar_semantics() {
    let std_contract = interleave::explore::CondvarSemantics::Std;
    explore(Config::new().iterations(400).condvar(std_contract), || {
        drive(
            FairTunnel::new(1),
            &Traffic::new(Some(1)),
            &[
                ("N1", North, 2),
                ("N2", North, 2),
                ("S1", South, 2),
                ("S2", South, 2),
            ],
        );
    });
    explore(
        Config::new()
            .strategy(Strategy::DelayBounded { bound: 2 })
            .condvar(std_contract),
        || {
            drive(
                FairTunnel::new(1),
                &Traffic::new(Some(1)),
                &[("N1", North, 2), ("S1", South, 1), ("N2", North, 1)],
            );
        },
    );
}

/// The batch of the turn: more than the cars of the turn (`1 + 3 + 1`), so that rule 2
/// never stops a car there, and only rule 1 decides.
const TURN_BATCH: usize = 6;

/// Why a southbound car may enter when no northbound car is inside, in the step's words.
const MAY_ENTER: &str = "rule 1 holds, and rule 2 cannot stop it (batch 6: no car of this run \
                         can be overtaken 6 times)";

#[test]
fn every_waiting_car_enters_when_the_tunnel_turns_under_std_condvar_semantics() {
    let fair = || FairTunnel::new(TURN_BATCH);
    if let Err(failure) = common::check_turn(fair, common::turn_config(), 3, MAY_ENTER) {
        panic!("{failure}");
    }
}

/// The oracle: a chain of wake-ups (each car that gets in wakes the next) stops at a car
/// of the other direction, and a southbound car that could enter is left asleep; the
/// policy with a broadcast, on a monitor or on a mutex, gets every car in.
#[test]
fn the_turn_catches_a_chain_of_wake_ups_that_stops_at_the_other_direction() {
    use versions::{Cascade, Hoare, Queues};
    let cascade = || OnMonitor::<Cascade>::with_batch(TURN_BATCH);
    let failure = common::check_turn(cascade, common::turn_config(), 3, MAY_ENTER)
        .expect_err("a wake-up passed on to a northbound car is lost");
    common::assert_names_the_lost_turn(&failure);
    let hoare = || OnMonitor::<Hoare>::with_batch(TURN_BATCH);
    common::check_turn(hoare, common::turn_config(), 3, MAY_ENTER)
        .unwrap_or_else(|f| panic!("{f}"));
    let queues = || Queues::with_batch(TURN_BATCH);
    common::check_turn(queues, common::turn_config(), 3, MAY_ENTER)
        .unwrap_or_else(|f| panic!("{f}"));
}

/// The oracle for std's condvar contract (in `common`, shared with the other step).
#[test]
fn the_std_contract_catches_a_wait_without_a_loop() {
    common::the_std_contract_catches_a_wait_without_a_loop();
}
