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
