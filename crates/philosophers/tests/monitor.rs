//! Step `philosophers/monitor`: the notes' monitor, as the scenario table (n = 5)
//! and explorations (neighbours never eat together, no deadlock, no lost wake-up).

mod common;

use common::{Diners, dine, eating};
use interleave::explore::{Config, Strategy, explore};
use interleave::scenario::Scenario;
use philosophers::monitor::DiningRoom;

/// The scenario: P2 and P0 wait for P1's forks; when P1 puts them down, P0 eats
/// at once but P2 still waits for P3, and eats when P3 puts down.
#[test]
fn putting_forks_down_lets_a_hungry_neighbour_eat() {
    let table = Scenario::new(|| DiningRoom::new(5))
        .call("P1", "pick_up_forks(1)", |r| r.pick_up_forks(1))
        .call("P2", "pick_up_forks(2)", |r| r.pick_up_forks(2))
        .call("P0", "pick_up_forks(0)", |r| r.pick_up_forks(0))
        .call("P3", "pick_up_forks(3)", |r| r.pick_up_forks(3))
        .call("P1", "put_down_forks(1)", |r| r.put_down_forks(1))
        .call("P3", "put_down_forks(3)", |r| r.put_down_forks(3))
        .state(eating(5))
        .run();
    interleave::assert_table!(table);
}

/// Five philosophers, two meals each, under many schedules.
#[test]
fn five_philosophers_never_deadlock_and_neighbours_never_eat_together() {
    explore(Config::new().iterations(400), || {
        dine(DiningRoom::new(5), &Diners::new(5, None), &[2; 5]);
    });
}

/// Two and three philosophers: every one is the neighbour of every other.
#[test]
fn small_tables_work_too() {
    for n in [2, 3] {
        explore(Config::new().iterations(300), move || {
            dine(DiningRoom::new(n), &Diners::new(n, None), &vec![2; n]);
        });
    }
}

/// Every schedule of four philosophers (one meal each) with at most two delays.
#[test]
fn four_philosophers_exhaustive_with_delay_bound_2() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || dine(DiningRoom::new(4), &Diners::new(4, None), &[1; 4]),
    );
}
