//! Step `philosophers/fair`: the notes' monitor lets two neighbours who take turns starve
//! the philosopher between them; the fair room bounds that. Scenario tables, random scripts
//! compared step by step with the policy, and explorations with a bounded-waiting oracle
//! (each neighbour overtakes at most once); wrong rooms the checks must reject, and another
//! correct design they must accept.

mod common;

use common::{Diners, Doing, NotesRoom, Policy, Room, TestRoom, Variant, dine, drive, eating};
use interleave::explore::{Config, Strategy, check, explore};
use interleave::scenario::{Scenario, Table};
use interleave::sync::{Condvar, Mutex};
use philosophers::fair::FairDiningRoom;
use philosophers::{left_of, right_of};

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
        .rule("P1 waits: their neighbour P0 eats")
        .call("P2", "pick_up_forks(2)", |r| {
            r.pick_up_forks(2);
        })
        .rule("P2 may overtake hungry P1 once: neither of P2's neighbours eats, so P2 eats")
        .call("P0", "put_down_forks(0)", |r| r.put_down_forks(0))
        .rule("P1 still waits: their neighbour P2 eats")
        .call("P0", "pick_up_forks(0)", |r| {
            r.pick_up_forks(0);
        })
        .rule("P0 has not overtaken P1 since P1 became hungry: P0 may, once")
        .call("P2", "put_down_forks(2)", |r| r.put_down_forks(2))
        .rule("P1 still waits: their neighbour P0 eats")
        .call("P2", "pick_up_forks(2)", |r| {
            r.pick_up_forks(2);
        })
        .rule("P2 already overtook hungry P1 once: P2 waits until P1 has eaten")
        .call("P0", "put_down_forks(0)", |r| r.put_down_forks(0))
        .rule("neither of P1's neighbours eats: P1 eats; P2 still owes P1 their turn")
        .call("P1", "put_down_forks(1)", |r| r.put_down_forks(1))
        .rule("P1 has eaten: P2 owes nobody any more, and eats")
        .state(eating(4))
        .run();
    interleave::assert_table!(table);
}

/// Five philosophers, with request numbers: P2 is overtaken from both sides, each once,
/// and held-back neighbours on both sides are served together when the forks come back.
#[test]
fn overtaking_is_bounded_on_both_sides_and_request_numbers_count_arrivals() {
    let table = Scenario::new(|| FairDiningRoom::new(5))
        .call("P1", "pick_up_forks(1)", |r| r.pick_up_forks(1))
        .rule("requests are numbered from 0 in the order they reach the room")
        .call("P2", "pick_up_forks(2)", |r| r.pick_up_forks(2))
        .rule("P2 waits: their neighbour P1 eats")
        .call("P3", "pick_up_forks(3)", |r| r.pick_up_forks(3))
        .rule("P3 may overtake hungry P2 once: neither of P3's neighbours eats, so P3 eats")
        .call("P1", "put_down_forks(1)", |r| r.put_down_forks(1))
        .rule("P2 still waits: their neighbour P3 eats")
        .call("P1", "pick_up_forks(1)", |r| r.pick_up_forks(1))
        .rule("P1 has not overtaken P2 since P2 became hungry: P1 may, once")
        .call("P3", "put_down_forks(3)", |r| r.put_down_forks(3))
        .rule("P2 still waits: their neighbour P1 eats")
        .call("P3", "pick_up_forks(3)", |r| r.pick_up_forks(3))
        .rule("P3 already overtook hungry P2: P3 waits although neither neighbour eats")
        .call("P1", "put_down_forks(1)", |r| r.put_down_forks(1))
        .rule("neither of P2's neighbours eats, and P2 overtook nobody: P2 eats")
        .call("P1", "pick_up_forks(1)", |r| r.pick_up_forks(1))
        .rule("P1 waits: their neighbour P2 eats")
        .call("P2", "put_down_forks(2)", |r| r.put_down_forks(2))
        .rule("both of P2's neighbours are hungry, and neither owes anyone: both eat")
        .call("P1", "put_down_forks(1)", |r| r.put_down_forks(1))
        .call("P3", "put_down_forks(3)", |r| r.put_down_forks(3))
        .state(eating(5))
        .run();
    both_served(&table);
    interleave::assert_table!(table);
}

fn both_served(table: &Table) {
    let Some(served) = table.rows.get(9) else {
        return;
    };
    assert!(
        served.returned.len() == 3,
        "at step 10, P2 put down their forks while both neighbours, P1 and P3, were hungry: \
         neither eats\nany more and neither owes a turn to anyone, so both must start eating \
         at that step,\nbut only {:?} returned.\n\n{table:#}",
        served.returned
    );
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
            && failure.message.contains("meals\nrequested after theirs"),
        "{failure}"
    );
}

#[test]
fn random_scripts_follow_the_policy() {
    common::follows_the_policy(Policy::Fair, FairDiningRoom::new);
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

/// Six philosophers, three meals each, and two tables with a greedy pair of neighbours.
#[test]
fn bigger_tables_bounded_waiting() {
    explore(Config::new().iterations(200), || fair_dinner(6, &[3; 6]));
    explore(Config::new().iterations(300), || {
        fair_dinner(5, &[4, 1, 4, 1, 0])
    });
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

/// Wrong rooms, and the cause the check on the policy names for each.
#[test]
fn the_checks_reject_rooms_that_break_the_policy() {
    let overtook = "must wait:\nthey already overtook their hungry neighbour";
    let held = "should start eating at step";
    let cases = [
        (Variant::Notes, [overtook, overtook]),
        (Variant::FairNeverForgets, [held, held]),
        // Rule 2 on the wrong side both holds back and lets through the wrong philosophers.
        (Variant::FairWrongSide, [held, overtook]),
        (Variant::FairNoOvertaking, [held, held]),
    ];
    for (variant, causes) in cases {
        let m = common::policy_failure(Config::new().strategy(Strategy::Canonical), move || {
            for script in 0..15 {
                drive(TestRoom::new(variant, 5), 5, Policy::Fair, script, 40);
            }
        })
        .unwrap_or_else(|| panic!("{variant:?} breaks the policy"));
        assert!(
            causes.iter().any(|c| m.contains(c)),
            "{variant:?}: expected one of {causes:?} in\n{m}"
        );
    }
}

/// A different design: one mutex, one condition variable, `notify_all`, and for each
/// philosopher the set of neighbours who overtook them (a waiter re-checks the two rules
/// itself after every wake-up).
#[derive(Debug)]
struct CondvarFairRoom {
    /// What each philosopher does, who overtook them, and the next request number.
    state: Mutex<(Vec<Doing>, Vec<Vec<usize>>, u64)>,
    changed: Condvar,
}

impl CondvarFairRoom {
    fn new(n: usize) -> Self {
        CondvarFairRoom {
            state: Mutex::new((vec![Doing::Thinking; n], vec![Vec::new(); n], 0)),
            changed: Condvar::new(),
        }
    }
}

impl Room for CondvarFairRoom {
    fn pick_up(&self, i: usize) -> Option<u64> {
        let mut s = self.state.lock();
        let n = s.0.len();
        let request = s.2;
        s.2 += 1;
        s.0[i] = Doing::Hungry;
        let (l, r) = (left_of(i, n), right_of(i, n));
        loop {
            let (doing, by, _) = &*s;
            let free = doing[l] != Doing::Eating && doing[r] != Doing::Eating;
            let owes = [l, r]
                .iter()
                .any(|&j| doing[j] == Doing::Hungry && by[j].contains(&i));
            if free && !owes {
                break;
            }
            self.changed.wait(&mut s);
        }
        s.0[i] = Doing::Eating;
        s.1[i].clear();
        for j in [l, r] {
            if s.0[j] == Doing::Hungry {
                s.1[j].push(i);
            }
        }
        Some(request)
    }

    fn put_down(&self, i: usize) {
        self.state.lock().0[i] = Doing::Thinking;
        self.changed.notify_all();
    }
}

#[test]
fn another_correct_design_passes() {
    common::follows_the_policy(Policy::Fair, CondvarFairRoom::new);
    explore(Config::new().iterations(200), || {
        dine(CondvarFairRoom::new(5), &Diners::new(5, Some(1)), &[2; 5]);
    });
}

// std's condvar contract: a `Condvar` of std (or parking_lot), and a Mesa monitor, may
// wake a waiter for nothing (a spurious wake-up), and `notify_one` may wake any one of
// the waiters. The simulation does neither unless asked (`CondvarSemantics::Std`); this
// check asks, so that a fair room written with a mutex and condition variables is held to
// what they really promise (`philosophers/monitor` has the oracle: its `if` fails here).

/// Bounded waiting, no deadlock, neighbours never together, under std's contract.
#[test]
fn bounded_waiting_under_std_condvar_semantics() {
    let std_contract = interleave::explore::CondvarSemantics::Std;
    explore(Config::new().iterations(400).condvar(std_contract), || {
        fair_dinner(5, &[2; 5])
    });
    explore(
        Config::new()
            .strategy(Strategy::DelayBounded { bound: 2 })
            .condvar(std_contract),
        || fair_dinner(3, &[2; 3]),
    );
}
