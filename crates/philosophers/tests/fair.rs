//! Step `philosophers/fair`: the notes' monitor lets two neighbours who take turns starve
//! the philosopher between them; the fair room bounds that. Scenario tables and
//! explorations with a bounded-waiting oracle (each neighbour overtakes at most once).

mod common;

use common::{Diners, NotesRoom, Room, dine, eating};
use interleave::explore::{Config, Strategy, check, explore};
use interleave::scenario::Scenario;
use philosophers::fair::FairDiningRoom;

/// The notes' monitor, four philosophers: P0 and P2 take turns so that one of them always
/// eats, and P1, between them, stays hungry.
#[test]
fn the_notes_monitor_lets_p0_and_p2_starve_p1() {
    let table = Scenario::new(|| NotesRoom::new(4))
        .call("P0", "pick_up_forks(0)", |r| {
            r.pick_up(0);
        })
        .call("P1", "pick_up_forks(1)", |r| {
            r.pick_up(1);
        })
        .call("P2", "pick_up_forks(2)", |r| {
            r.pick_up(2);
        })
        .call("P0", "put_down_forks(0)", |r| r.put_down(0))
        .call("P0", "pick_up_forks(0)", |r| {
            r.pick_up(0);
        })
        .call("P2", "put_down_forks(2)", |r| r.put_down(2))
        .call("P2", "pick_up_forks(2)", |r| {
            r.pick_up(2);
        })
        .call("P0", "put_down_forks(0)", |r| r.put_down(0))
        .call("P0", "pick_up_forks(0)", |r| {
            r.pick_up(0);
        })
        .state(eating(4))
        .run();
    interleave::assert_table!(table);
}

/// The same turns in the fair room: P0's second meal overtakes P1 once more on the left
/// (P2 already did on the right), so P2's second request waits, and P1 eats as soon as P0
/// puts down.
#[test]
fn in_the_fair_room_each_neighbour_overtakes_p1_once() {
    let table = Scenario::new(|| FairDiningRoom::new(4))
        .call("P0", "pick_up_forks(0)", |r| {
            r.pick_up_forks(0);
        })
        .call("P1", "pick_up_forks(1)", |r| {
            r.pick_up_forks(1);
        })
        .call("P2", "pick_up_forks(2)", |r| {
            r.pick_up_forks(2);
        })
        .call("P0", "put_down_forks(0)", |r| r.put_down_forks(0))
        .call("P0", "pick_up_forks(0)", |r| {
            r.pick_up_forks(0);
        })
        .call("P2", "put_down_forks(2)", |r| r.put_down_forks(2))
        .call("P2", "pick_up_forks(2)", |r| {
            r.pick_up_forks(2);
        })
        .call("P0", "put_down_forks(0)", |r| r.put_down_forks(0))
        .call("P1", "put_down_forks(1)", |r| r.put_down_forks(1))
        .state(eating(4))
        .run();
    interleave::assert_table!(table);
}

/// Four philosophers: P0 and P2 eat three times each, P1 once.
const TURNS: [usize; 4] = [3, 1, 3, 0];

/// The oracle works: under the notes' monitor, some schedule lets a neighbour of P1
/// start two meals requested after P1's while P1 stays hungry.
#[test]
fn the_notes_monitor_fails_bounded_waiting() {
    let failure = check(Config::new().iterations(300), || {
        dine(NotesRoom::new(4), &Diners::new(4, Some(1)), &TURNS);
    })
    .expect_err("the notes' monitor has no bound on overtaking");
    assert!(
        failure.message.contains("starvation: P1")
            && failure.message.contains("meals requested after theirs"),
        "{failure}"
    );
}

/// The fair room under the same turns: each neighbour overtakes P1 at most once.
#[test]
fn alternating_neighbours_overtake_p1_at_most_once_each() {
    explore(Config::new().iterations(400), || {
        fair_dinner(4, &TURNS);
    });
}

/// Five philosophers, two meals each: bounded waiting, no deadlock, neighbours never
/// eat together.
#[test]
fn five_philosophers_bounded_waiting() {
    explore(Config::new().iterations(400), || fair_dinner(5, &[2; 5]));
}

/// Every schedule of three philosophers (two meals each) with at most two delays.
#[test]
fn three_philosophers_exhaustive_with_delay_bound_2() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || fair_dinner(3, &[2; 3]),
    );
}

fn fair_dinner(n: usize, meals: &[usize]) {
    dine(FairDiningRoom::new(n), &Diners::new(n, Some(1)), meals);
}
