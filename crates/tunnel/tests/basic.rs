//! Step `tunnel/basic`: the notes' policy, as a scenario table with the traffic lights,
//! and explorations of the invariant (never cars of both directions inside).

mod common;

use common::{NotesTunnel, Traffic, drive, lights_and_tunnel};
use interleave::explore::{Config, Strategy, check, explore};
use interleave::monitor::Semantics;
use interleave::scenario::Scenario;
use tunnel::Direction::{North, South};
use tunnel::basic::Tunnel;

/// The scenario: a southbound car waits while northbound cars are inside, a
/// second northbound car enters at once, and the southbound car enters when the last
/// northbound car leaves.
#[test]
fn southbound_waits_until_the_last_northbound_car_leaves() {
    let table = Scenario::new(Tunnel::new)
        .call("N1", "arrive(North)", |t| t.arrive(North))
        .call("S1", "arrive(South)", |t| t.arrive(South))
        .call("N2", "arrive(North)", |t| t.arrive(North))
        .call("N1", "depart(North)", |t| t.depart(North))
        .call("N2", "depart(North)", |t| t.depart(North))
        .call("S1", "depart(South)", |t| t.depart(South))
        .state(lights_and_tunnel)
        .run();
    interleave::assert_table!(table);
}

/// When the last car of a direction leaves, all the waiting cars of the other direction
/// enter together.
#[test]
fn all_waiting_cars_enter_when_the_tunnel_turns() {
    let table = Scenario::new(Tunnel::new)
        .call("S1", "arrive(South)", |t| t.arrive(South))
        .call("N1", "arrive(North)", |t| t.arrive(North))
        .call("N2", "arrive(North)", |t| t.arrive(North))
        .call("N3", "arrive(North)", |t| t.arrive(North))
        .call("S1", "depart(South)", |t| t.depart(South))
        .call("S2", "arrive(South)", |t| t.arrive(South))
        .state(lights_and_tunnel)
        .run();
    interleave::assert_table!(table);
}

/// Two cars each way, two trips each, under many schedules.
#[test]
fn never_cars_of_both_directions_inside() {
    explore(Config::new().iterations(400), || {
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

/// The oracle for std's condvar contract: the notes' `if` passes every FIFO schedule of
/// one car each way (nobody can get in between a signal and the signalled car), on a
/// Mesa monitor and on a mutex with a condition variable, and fails under std's contract,
/// where a wait may end without a signal.
#[test]
fn the_std_contract_catches_a_wait_without_a_loop() {
    use interleave::sync::{Condvar, Mutex};
    use tunnel::Direction;

    /// The notes' policy on a mutex and a condition variable, with `if`.
    struct CondvarTunnel {
        inside: Mutex<[usize; 2]>,
        busy: Condvar,
    }
    fn side(dir: Direction) -> usize {
        usize::from(dir == South)
    }
    impl common::OneWay for CondvarTunnel {
        fn arrive(&self, dir: Direction) -> Option<u64> {
            let mut n = self.inside.lock();
            if n[side(dir.opposite())] > 0 {
                self.busy.wait(&mut n);
            }
            n[side(dir)] += 1;
            None
        }
        fn depart(&self, dir: Direction) {
            let mut n = self.inside.lock();
            n[side(dir)] -= 1;
            if n[side(dir)] == 0 {
                self.busy.notify_all();
            }
        }
    }
    let cars: &[(&str, Direction, usize)] = &[("N1", North, 1), ("S1", South, 1)];
    let condvar = move || {
        let t = CondvarTunnel {
            inside: Mutex::new([0, 0]),
            busy: Condvar::new(),
        };
        drive(t, &Traffic::new(None), cars)
    };
    let mesa = move || drive(NotesTunnel::new(Semantics::Mesa), &Traffic::new(None), cars);
    let std_contract = interleave::explore::CondvarSemantics::Std;
    for config in [
        Config::new().iterations(400),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        check(config.clone(), condvar).unwrap_or_else(|f| panic!("FIFO hides it:\n{f}"));
        check(config.clone(), mesa).unwrap_or_else(|f| panic!("FIFO hides it:\n{f}"));
        for f in [
            check(config.clone().condvar(std_contract), condvar),
            check(config.clone().condvar(std_contract), mesa),
        ] {
            let f = f.expect_err("a spurious wake-up lets a car in");
            assert!(
                f.message
                    .contains("was still inside: cars of both directions in the tunnel"),
                "{f}"
            );
            assert!(
                f.trace.events.iter().any(|e| e
                    .outcome
                    .as_deref()
                    .is_some_and(|o| o.starts_with("spurious wake-up ("))),
                "{f}"
            );
        }
    }
}
