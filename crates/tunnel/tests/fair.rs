//! Step `tunnel/fair`: the notes' policy starves a direction under a steady stream of
//! cars the other way; `FairTunnel::new(batch)` bounds the wait. Scenario tables of the
//! exact policy, and explorations with a bounded-waiting oracle.

mod common;

use common::{NotesTunnel, Traffic, drive, tunnel_state};
use interleave::explore::{Config, Strategy, check, explore};
use interleave::monitor::Semantics;
use interleave::scenario::Scenario;
use tunnel::Direction::{North, South};
use tunnel::fair::FairTunnel;

/// The notes' policy: while northbound cars keep coming, each one enters at once
/// (a northbound car is inside), and S1 waits until the stream stops.
#[test]
fn the_notes_policy_lets_a_northbound_stream_starve_s1() {
    use common::OneWay;
    let table = Scenario::new(|| NotesTunnel::new(Semantics::Hoare))
        .call("N1", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("S1", "arrive(South)", |t| {
            t.arrive(South);
        })
        .call("N2", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("N1", "depart(North)", |t| t.depart(North))
        .call("N3", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("N2", "depart(North)", |t| t.depart(North))
        .call("N4", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("N3", "depart(North)", |t| t.depart(North))
        .call("N5", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("N4", "depart(North)", |t| t.depart(North))
        .state(tunnel_state)
        .run();
    interleave::assert_table!(table);
}

/// The same stream with `batch = 2`: N2 and N3 overtake S1, N4 has to wait, and the
/// tunnel turns as soon as it is empty.
#[test]
fn with_batch_2_two_northbound_cars_overtake_s1_then_the_tunnel_turns() {
    let table = Scenario::new(|| FairTunnel::new(2))
        .call("N1", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("S1", "arrive(South)", |t| {
            t.arrive(South);
        })
        .call("N2", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("N1", "depart(North)", |t| t.depart(North))
        .call("N3", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("N2", "depart(North)", |t| t.depart(North))
        .call("N4", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("N3", "depart(North)", |t| t.depart(North))
        .call("S1", "depart(South)", |t| t.depart(South))
        .state(tunnel_state)
        .run();
    interleave::assert_table!(table);
}

/// Rule 2 only counts cars that arrived after the waiting car: at the turn, N1 and N2
/// (who waited before S3 arrived) enter together, then only one more northbound car
/// (N3) may overtake S3.
#[test]
fn with_batch_1_only_later_cars_count_as_overtaking() {
    let table = Scenario::new(|| FairTunnel::new(1))
        .call("S1", "arrive(South)", |t| {
            t.arrive(South);
        })
        .call("N1", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("N2", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("S2", "arrive(South)", |t| {
            t.arrive(South);
        })
        .call("S3", "arrive(South)", |t| {
            t.arrive(South);
        })
        .call("S1", "depart(South)", |t| t.depart(South))
        .call("S2", "depart(South)", |t| t.depart(South))
        .call("N3", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("N4", "arrive(North)", |t| {
            t.arrive(North);
        })
        .call("N1", "depart(North)", |t| t.depart(North))
        .call("N2", "depart(North)", |t| t.depart(North))
        .call("N3", "depart(North)", |t| t.depart(North))
        .state(tunnel_state)
        .run();
    interleave::assert_table!(table);
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
        failure
            .message
            .contains("starvation: S1 (arrival #1) was overtaken by")
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
