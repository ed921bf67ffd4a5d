//! Step `tunnel/basic`: the notes' policy, as scenario tables with the traffic lights,
//! and explorations of the invariant (never cars of both directions inside).

mod common;

use common::{NotesTunnel, OneWay, Traffic, differs, drive, lights_and_tunnel};
use interleave::explore::{Config, Strategy, check, explore};
use interleave::monitor::Semantics;
use interleave::scenario::{Scenario, Table};
use tunnel::Direction::{self, North, South};
use tunnel::basic::Tunnel;

/// The rules of the basic policy, quoted by the tables.
const ENTERS_EMPTY: &str = "a car enters an empty tunnel at once";
const ENTERS_SAME: &str =
    "a car enters at once unless cars of the other direction are inside, whoever waits";
const WAITS: &str = "a car waits while cars of the other direction are inside";
const NOT_LAST: &str = "cars of this direction are still inside: nobody waiting enters yet";
const LAST: &str =
    "the last car of a direction leaves: all the cars waiting on the other side enter";
const EMPTY: &str = "the last car leaves and nobody waits: the tunnel is empty";

fn arrive<T: OneWay>(dir: Direction) -> impl FnOnce(&T) {
    move |t| {
        t.arrive(dir);
    }
}

fn depart<T: OneWay>(dir: Direction) -> impl FnOnce(&T) {
    move |t| t.depart(dir)
}

/// The scenario: a southbound car waits while northbound cars are inside, a
/// second northbound car enters at once, and the southbound car enters when the last
/// northbound car leaves.
fn last_northbound_car_script<T: OneWay>(new: fn() -> T) -> Table {
    Scenario::new(new)
        .call("N1", "arrive(North)", arrive(North))
        .rule(ENTERS_EMPTY)
        .call("S1", "arrive(South)", arrive(South))
        .rule(WAITS)
        .call("N2", "arrive(North)", arrive(North))
        .rule(ENTERS_SAME)
        .call("N1", "depart(North)", depart(North))
        .rule(NOT_LAST)
        .call("N2", "depart(North)", depart(North))
        .rule(LAST)
        .call("S1", "depart(South)", depart(South))
        .rule(EMPTY)
        .state(lights_and_tunnel)
        .run()
}

#[test]
fn southbound_waits_until_the_last_northbound_car_leaves() {
    let table = last_northbound_car_script(Tunnel::new);
    interleave::assert_table!(table);
}

/// When the last car of a direction leaves, all the waiting cars of the other direction
/// enter together.
fn all_waiting_cars_script<T: OneWay>(new: fn() -> T) -> Table {
    Scenario::new(new)
        .call("S1", "arrive(South)", arrive(South))
        .rule(ENTERS_EMPTY)
        .call("N1", "arrive(North)", arrive(North))
        .rule(WAITS)
        .call("N2", "arrive(North)", arrive(North))
        .rule(WAITS)
        .call("N3", "arrive(North)", arrive(North))
        .rule(WAITS)
        .call("S1", "depart(South)", depart(South))
        .rule(LAST)
        .call("S2", "arrive(South)", arrive(South))
        .rule(WAITS)
        .state(lights_and_tunnel)
        .run()
}

#[test]
fn all_waiting_cars_enter_when_the_tunnel_turns() {
    let table = all_waiting_cars_script(Tunnel::new);
    interleave::assert_table!(table);
}

/// Several cars wait on each side while cars of the direction inside keep entering, over
/// three turns of the tunnel.
fn three_turns_script<T: OneWay>(new: fn() -> T) -> Table {
    Scenario::new(new)
        .call("N1", "arrive(North)", arrive(North))
        .rule(ENTERS_EMPTY)
        .call("S1", "arrive(South)", arrive(South))
        .rule(WAITS)
        .call("S2", "arrive(South)", arrive(South))
        .rule(WAITS)
        .call("N2", "arrive(North)", arrive(North))
        .rule(ENTERS_SAME)
        .call("S3", "arrive(South)", arrive(South))
        .rule(WAITS)
        .call("N3", "arrive(North)", arrive(North))
        .rule(ENTERS_SAME)
        .call("N1", "depart(North)", depart(North))
        .rule(NOT_LAST)
        .call("N2", "depart(North)", depart(North))
        .rule(NOT_LAST)
        .call("N3", "depart(North)", depart(North))
        .rule(LAST)
        .call("N4", "arrive(North)", arrive(North))
        .rule(WAITS)
        .call("N5", "arrive(North)", arrive(North))
        .rule(WAITS)
        .call("S4", "arrive(South)", arrive(South))
        .rule(ENTERS_SAME)
        .call("S1", "depart(South)", depart(South))
        .rule(NOT_LAST)
        .call("S2", "depart(South)", depart(South))
        .rule(NOT_LAST)
        .call("S3", "depart(South)", depart(South))
        .rule(NOT_LAST)
        .call("S4", "depart(South)", depart(South))
        .rule(LAST)
        .call("S5", "arrive(South)", arrive(South))
        .rule(WAITS)
        .call("N6", "arrive(North)", arrive(North))
        .rule(ENTERS_SAME)
        .call("N4", "depart(North)", depart(North))
        .rule(NOT_LAST)
        .call("N5", "depart(North)", depart(North))
        .rule(NOT_LAST)
        .call("N6", "depart(North)", depart(North))
        .rule(LAST)
        .call("S5", "depart(South)", depart(South))
        .rule(EMPTY)
        .state(lights_and_tunnel)
        .run()
}

#[test]
fn several_cars_wait_on_each_side_over_three_turns() {
    let table = three_turns_script(Tunnel::new);
    interleave::assert_table!(table);
}

/// The cars of the explorations: `n` each way, `trips` crossings each.
fn cars(n: usize, trips: usize) -> Vec<(String, Direction, usize)> {
    (1..=n)
        .flat_map(|i| {
            [
                (format!("N{i}"), North, trips),
                (format!("S{i}"), South, trips),
            ]
        })
        .collect()
}

fn explore_cars<T: OneWay>(new: fn() -> T, config: Config, n: usize, trips: usize) {
    if let Err(failure) = check_cars(new, config, n, trips) {
        panic!("{failure}");
    }
}

fn check_cars<T: OneWay>(
    new: fn() -> T,
    config: Config,
    n: usize,
    trips: usize,
) -> Result<interleave::explore::Stats, Box<interleave::report::Failure>> {
    let cars = cars(n, trips);
    check(config, move || {
        let list: Vec<(&str, Direction, usize)> =
            cars.iter().map(|(c, d, t)| (c.as_str(), *d, *t)).collect();
        drive(new(), &Traffic::new(None), &list);
    })
}

/// Two cars each way, two trips each, under many schedules.
#[test]
fn never_cars_of_both_directions_inside() {
    explore_cars(Tunnel::new, Config::new().iterations(400), 2, 2);
}

/// Three cars each way, three trips each: several cars wait on each side, the tunnel
/// turns many times.
#[test]
fn never_cars_of_both_directions_inside_with_three_cars_each_way() {
    explore_cars(Tunnel::new, Config::new().iterations(300), 3, 3);
    explore_cars(
        Tunnel::new,
        Config::new()
            .strategy(Strategy::Random)
            .iterations(300)
            .seed(3),
        3,
        3,
    );
}

/// Every schedule with at most two deviations from the canonical one.
#[test]
fn never_cars_of_both_directions_inside_exhaustive() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || {
            drive(
                Tunnel::new(),
                &Traffic::new(None),
                &[("N1", North, 1), ("N2", North, 1), ("S1", South, 1)],
            );
        },
    );
    explore_cars(
        Tunnel::new,
        Config::new().strategy(Strategy::DelayBounded { bound: 1 }),
        2,
        1,
    );
}

/// The oracle works: the notes' `if` on a Mesa monitor lets a signalled car enter after
/// a car of the other direction got in first, and the exploration reports it.
#[test]
fn the_oracle_catches_the_notes_if_on_a_mesa_monitor() {
    let failure = check(Config::new().iterations(400), || {
        drive(
            NotesTunnel::new(Semantics::Mesa),
            &Traffic::new(None),
            &[
                ("N1", North, 2),
                ("N2", North, 2),
                ("S1", South, 2),
                ("S2", South, 2),
            ],
        );
    })
    .expect_err("a Mesa monitor with `if` lets both directions in");
    assert!(
        failure
            .message
            .contains("was still inside: cars of both directions in the tunnel"),
        "{failure}"
    );
}

/// Tunnels written as students do, to show what the checks catch and what they accept.
mod versions {
    use interleave::monitor::{Condition, Monitor, Semantics};
    use interleave::sync::{Condvar, Mutex};
    use tunnel::Direction;

    fn i(dir: Direction) -> usize {
        match dir {
            Direction::North => 0,
            Direction::South => 1,
        }
    }

    /// Cars inside and cars waiting, per direction.
    #[derive(Default)]
    pub struct Counts {
        inside: [usize; 2],
        waiting: [usize; 2],
    }

    /// A tunnel on a monitor, with a choice of what makes a car wait, of semantics and of
    /// how `depart` wakes the other side.
    pub struct OnMonitor {
        m: Monitor<Counts>,
        busy: Condition,
        kind: Kind,
    }

    #[derive(Clone, Copy, PartialEq)]
    pub enum Kind {
        /// Right: Hoare with `while` (the `if` of the notes would do too).
        HoareWhile,
        /// Right: Mesa with `while` and a broadcast.
        MesaWhile,
        /// Wrong: a car also waits when cars of its direction are inside but more cars
        /// wait on the other side than there are cars of its direction inside.
        QueuePriority,
        /// Wrong: a car also waits whenever cars of the other direction wait.
        YieldsToWaiters,
        /// Wrong: the last car out signals one waiting car only.
        SignalOnce,
        /// Wrong: every car leaving signals the waiting cars, not only the last one.
        EveryDeparture,
        /// Wrong: Mesa, `while`, but a single `signal` when the last car leaves.
        MesaSignalOnce,
        /// Wrong: Mesa, `while`; the last car out signals one car, and every car that
        /// gets in signals the next one (a wake-up that reaches a car of the other
        /// direction ends the chain).
        Cascade,
    }

    impl OnMonitor {
        pub fn new(kind: Kind) -> Self {
            let semantics = match kind {
                Kind::MesaWhile | Kind::MesaSignalOnce | Kind::Cascade => Semantics::Mesa,
                _ => Semantics::Hoare,
            };
            OnMonitor {
                m: Monitor::new(Counts::default(), semantics),
                busy: Condition::new(),
                kind,
            }
        }
    }

    impl super::OneWay for OnMonitor {
        fn arrive(&self, dir: Direction) -> Option<u64> {
            let (me, other) = (i(dir), i(dir.opposite()));
            let mut g = self.m.enter();
            let must_wait = |c: &Counts| match self.kind {
                Kind::QueuePriority => {
                    c.inside[other] > 0 || (c.inside[me] > 0 && c.waiting[other] > c.inside[me])
                }
                Kind::YieldsToWaiters => c.inside[other] > 0 || c.waiting[other] > 0,
                _ => c.inside[other] > 0,
            };
            match self.kind {
                Kind::SignalOnce | Kind::EveryDeparture => {
                    if must_wait(&g) {
                        g.waiting[me] += 1;
                        self.busy.wait(&mut g);
                        g.waiting[me] -= 1;
                    }
                }
                _ => {
                    while must_wait(&g) {
                        g.waiting[me] += 1;
                        self.busy.wait(&mut g);
                        g.waiting[me] -= 1;
                    }
                }
            }
            g.inside[me] += 1;
            if self.kind == Kind::Cascade && self.busy.queue() {
                self.busy.signal(&mut g);
            }
            None
        }

        fn depart(&self, dir: Direction) {
            let me = i(dir);
            let mut g = self.m.enter();
            g.inside[me] -= 1;
            let wake = g.inside[me] == 0 || self.kind == Kind::EveryDeparture;
            if !wake {
                return;
            }
            match self.kind {
                Kind::SignalOnce | Kind::MesaSignalOnce | Kind::Cascade => {
                    self.busy.signal(&mut g);
                }
                _ => {
                    self.busy.broadcast(&mut g);
                }
            }
        }
    }

    /// Right: a mutex, one condition variable per direction, `notify_all` on the other
    /// side's when the last car leaves.
    pub struct TwoCondvars {
        inside: Mutex<[usize; 2]>,
        clear: [Condvar; 2],
    }

    impl TwoCondvars {
        pub fn new() -> Self {
            TwoCondvars {
                inside: Mutex::new([0, 0]),
                clear: [Condvar::new(), Condvar::new()],
            }
        }
    }

    impl super::OneWay for TwoCondvars {
        fn arrive(&self, dir: Direction) -> Option<u64> {
            let mut inside = self.inside.lock();
            while inside[i(dir.opposite())] > 0 {
                self.clear[i(dir)].wait(&mut inside);
            }
            inside[i(dir)] += 1;
            None
        }

        fn depart(&self, dir: Direction) {
            let mut inside = self.inside.lock();
            inside[i(dir)] -= 1;
            if inside[i(dir)] == 0 {
                self.clear[i(dir.opposite())].notify_all();
            }
        }
    }

    /// Right: the direction and a count, one condition variable, `notify_all` whenever
    /// the tunnel empties.
    pub struct DirectionAndCount {
        state: Mutex<(Option<Direction>, usize)>,
        changed: Condvar,
    }

    impl DirectionAndCount {
        pub fn new() -> Self {
            DirectionAndCount {
                state: Mutex::new((None, 0)),
                changed: Condvar::new(),
            }
        }
    }

    impl super::OneWay for DirectionAndCount {
        fn arrive(&self, dir: Direction) -> Option<u64> {
            let mut s = self.state.lock();
            self.changed
                .wait_while(&mut s, |s| s.0.is_some_and(|d| d != dir));
            s.0 = Some(dir);
            s.1 += 1;
            None
        }

        fn depart(&self, _dir: Direction) {
            let mut s = self.state.lock();
            s.1 -= 1;
            if s.1 == 0 {
                s.0 = None;
                drop(s);
                self.changed.notify_all();
            }
        }
    }
}

use versions::{DirectionAndCount, Kind, OnMonitor, TwoCondvars};

/// A table's snapshot name and its script, on tunnels made by a `fn() -> T`.
type Script<T> = (&'static str, fn(fn() -> T) -> Table);

/// Where a table first differs: its snapshot name and the step.
type Found = (&'static str, usize);

/// The three tables of this file on `new`: the first table that differs and its step.
fn tables<T: OneWay>(new: fn() -> T) -> Option<Found> {
    let scripts: [Script<T>; 3] = [
        (
            "southbound_waits_until_the_last_northbound_car_leaves",
            last_northbound_car_script::<T>,
        ),
        (
            "all_waiting_cars_enter_when_the_tunnel_turns",
            all_waiting_cars_script::<T>,
        ),
        (
            "several_cars_wait_on_each_side_over_three_turns",
            three_turns_script::<T>,
        ),
    ];
    scripts
        .into_iter()
        .find_map(|(name, script)| differs(move || script(new), "basic", name).map(|s| (name, s)))
}

/// The explorations of this file on `new`: the first failure message.
fn explorations<T: OneWay>(new: fn() -> T) -> Option<String> {
    [
        (Config::new().iterations(400), 2, 2),
        (Config::new().iterations(300), 3, 3),
    ]
    .into_iter()
    .chain([(
        Config::new().strategy(Strategy::DelayBounded { bound: 1 }),
        2,
        1,
    )])
    .find_map(|(config, n, trips)| check_cars(new, config, n, trips).err().map(|f| f.message))
}

/// Tables first, then explorations: the first problem of `new`.
fn verdict<T: OneWay>(new: fn() -> T) -> Option<String> {
    tables(new)
        .map(|(table, step)| format!("{table} differs at step {step}"))
        .or_else(|| explorations(new))
}

#[test]
fn the_tables_catch_policies_that_favour_the_longer_queue_or_wake_too_few() {
    let cases: [(fn() -> OnMonitor, Found); 5] = [
        (
            || OnMonitor::new(Kind::QueuePriority),
            ("several_cars_wait_on_each_side_over_three_turns", 4),
        ),
        (
            || OnMonitor::new(Kind::YieldsToWaiters),
            ("southbound_waits_until_the_last_northbound_car_leaves", 3),
        ),
        (
            || OnMonitor::new(Kind::SignalOnce),
            ("all_waiting_cars_enter_when_the_tunnel_turns", 5),
        ),
        (
            || OnMonitor::new(Kind::EveryDeparture),
            ("southbound_waits_until_the_last_northbound_car_leaves", 4),
        ),
        (
            || OnMonitor::new(Kind::MesaSignalOnce),
            ("all_waiting_cars_enter_when_the_tunnel_turns", 5),
        ),
    ];
    for (new, found) in cases {
        assert_eq!(tables(new), Some(found));
    }
}

#[test]
fn the_explorations_catch_waking_the_other_side_on_every_departure() {
    let every = explorations(|| OnMonitor::new(Kind::EveryDeparture))
        .expect("waking the other side while cars are inside lets both directions in");
    assert!(
        every.contains("cars of both directions in the tunnel"),
        "{every}"
    );
}

#[test]
fn hoare_and_mesa_monitors_and_condition_variables_pass() {
    assert_eq!(verdict(|| OnMonitor::new(Kind::HoareWhile)), None);
    assert_eq!(verdict(|| OnMonitor::new(Kind::MesaWhile)), None);
    assert_eq!(verdict(TwoCondvars::new), None);
    assert_eq!(verdict(DirectionAndCount::new), None);
}

/// What a student with the queue-priority bug reads: the step, and the rule it breaks.
#[test]
fn the_failure_names_the_rule_the_queue_priority_breaks() {
    let table = three_turns_script(|| OnMonitor::new(Kind::QueuePriority));
    let explanation = common::explanation(
        &table,
        "basic",
        "several_cars_wait_on_each_side_over_three_turns",
    )
    .expect("the table differs");
    assert!(
        explanation.contains("error: at step 4, N2 arrive(North) is still blocked")
            && explanation.contains(&format!("note: {ENTERS_SAME}")),
        "{explanation}"
    );
}

// std's condvar contract: a `Condvar` of std (or parking_lot), and a Mesa monitor, may
// wake a waiter for nothing (a spurious wake-up), and `notify_one` may wake any one of
// the waiters. The simulation does neither unless asked (`CondvarSemantics::Std`);
// these checks ask, so that a tunnel written with a mutex and a condition variable, or
// with a Mesa monitor, is held to what those really promise.

/// The invariant under std's condvar contract.
#[test]
fn never_cars_of_both_directions_inside_under_std_condvar_semantics() {
    let std_contract = interleave::explore::CondvarSemantics::Std;
    explore(Config::new().iterations(400).condvar(std_contract), || {
        drive(
            Tunnel::new(),
            &Traffic::new(None),
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
                Tunnel::new(),
                &Traffic::new(None),
                &[("N1", North, 1), ("N2", North, 1), ("S1", South, 1)],
            );
        },
    );
}

/// Why a southbound car may enter when no northbound car is inside, in the step's words.
const MAY_ENTER: &str = "a car enters unless cars of the other direction are inside";

#[test]
fn every_waiting_car_enters_when_the_tunnel_turns_under_std_condvar_semantics() {
    if let Err(failure) = common::check_turn(Tunnel::new, common::turn_config(), 3, MAY_ENTER) {
        panic!("{failure}");
    }
}

/// The oracle: a chain of wake-ups (each car that gets in wakes the next) stops at a car
/// of the other direction, and a southbound car that could enter is left asleep; a
/// broadcast, and two condition variables, get every car in.
#[test]
fn the_turn_catches_a_chain_of_wake_ups_that_stops_at_the_other_direction() {
    let failure = common::check_turn(
        || OnMonitor::new(Kind::Cascade),
        common::turn_config(),
        3,
        MAY_ENTER,
    )
    .expect_err("a wake-up passed on to a northbound car is lost");
    common::assert_names_the_lost_turn(&failure);
    for new in [
        || OnMonitor::new(Kind::MesaWhile),
        || OnMonitor::new(Kind::HoareWhile),
    ] {
        common::check_turn(new, common::turn_config(), 3, MAY_ENTER)
            .unwrap_or_else(|f| panic!("{f}"));
    }
    common::check_turn(TwoCondvars::new, common::turn_config(), 3, MAY_ENTER)
        .unwrap_or_else(|f| panic!("{f}"));
    common::check_turn(DirectionAndCount::new, common::turn_config(), 3, MAY_ENTER)
        .unwrap_or_else(|f| panic!("{f}"));
}

/// The oracle for std's condvar contract (in `common`, shared with the other step).
#[test]
fn the_std_contract_catches_a_wait_without_a_loop() {
    common::the_std_contract_catches_a_wait_without_a_loop();
}
