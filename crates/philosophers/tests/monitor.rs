//! Step `philosophers/monitor`: the notes' monitor, as the scenario table (n = 5)
//! and explorations (neighbours never eat together, no deadlock, no lost wake-up); random
//! scripts compared step by step with the policy; wrong monitors the checks must reject,
//! and other correct designs they must accept.

mod common;

use common::{Diners, Doing, Policy, Room, TestRoom, Variant, dine, drive, eating};
use interleave::explore::{Config, Strategy, explore};
use interleave::monitor::{Condition, Monitor, Semantics};
use interleave::scenario::{Scenario, Table};
use interleave::sync::{Condvar, Mutex};
use philosophers::monitor::DiningRoom;
use philosophers::{left_of, right_of};

/// The scenario: P2 and P0 wait for P1's forks; when P1 puts them down, P0 eats
/// at once but P2 still waits for P3, and eats when P3 puts down.
#[test]
fn putting_forks_down_lets_a_hungry_neighbour_eat() {
    let table = Scenario::new(|| DiningRoom::new(5))
        .call("P1", "pick_up_forks(1)", |r| r.pick_up_forks(1))
        .rule("neither neighbour of P1 eats: P1 eats at once")
        .call("P2", "pick_up_forks(2)", |r| r.pick_up_forks(2))
        .rule("P2 waits: their neighbour P1 eats")
        .call("P0", "pick_up_forks(0)", |r| r.pick_up_forks(0))
        .rule("P0 waits: their neighbour P1 eats")
        .call("P3", "pick_up_forks(3)", |r| r.pick_up_forks(3))
        .rule("neither neighbour of P3 eats (P2 is only hungry): P3 eats at once")
        .call("P1", "put_down_forks(1)", |r| r.put_down_forks(1))
        .rule("putting down tests both neighbours: P0 can eat now; P2 still waits for P3")
        .call("P3", "put_down_forks(3)", |r| r.put_down_forks(3))
        .rule("P3 puts down: P2 has no neighbour eating any more, and eats")
        .state(eating(5))
        .run();
    interleave::assert_table!(table);
}

/// One `put_down_forks` lets both neighbours eat, then a second round with three hungry
/// philosophers: everyone whose neighbours do not eat is served at each put-down.
#[test]
fn one_put_down_can_let_both_neighbours_eat() {
    let table = Scenario::new(|| DiningRoom::new(5))
        .call("P1", "pick_up_forks(1)", |r| r.pick_up_forks(1))
        .call("P0", "pick_up_forks(0)", |r| r.pick_up_forks(0))
        .rule("P0 waits: their neighbour P1 eats")
        .call("P2", "pick_up_forks(2)", |r| r.pick_up_forks(2))
        .rule("P2 waits: their neighbour P1 eats")
        .call("P1", "put_down_forks(1)", |r| r.put_down_forks(1))
        .rule("both neighbours of P1 are hungry and nobody else next to them eats: both eat")
        .call("P1", "pick_up_forks(1)", |r| r.pick_up_forks(1))
        .rule("P1 waits: both neighbours eat")
        .call("P3", "pick_up_forks(3)", |r| r.pick_up_forks(3))
        .rule("P3 waits: their neighbour P2 eats")
        .call("P4", "pick_up_forks(4)", |r| r.pick_up_forks(4))
        .rule("P4 waits: their neighbour P0 eats")
        .call("P0", "put_down_forks(0)", |r| r.put_down_forks(0))
        .rule("P4 eats (P3 is only hungry); P1 still waits: their neighbour P2 eats")
        .call("P2", "put_down_forks(2)", |r| r.put_down_forks(2))
        .rule("P1 eats (P0 and P2 think); P3 still waits: their neighbour P4 eats")
        .call("P4", "put_down_forks(4)", |r| r.put_down_forks(4))
        .rule("P3 eats: neither P2 nor P4 eats any more")
        .call("P1", "put_down_forks(1)", |r| r.put_down_forks(1))
        .call("P3", "put_down_forks(3)", |r| r.put_down_forks(3))
        .state(eating(5))
        .run();
    both_neighbours_eat(&table);
    interleave::assert_table!(table);
}

fn both_neighbours_eat(table: &Table) {
    let Some(row) = table.rows.get(3) else {
        return;
    };
    assert!(
        row.returned.len() == 3,
        "at step 4, P1 put down their forks while both neighbours, P0 and P2, were hungry and \
         nobody else\nnext to them ate: both must start eating at that step, but only {:?} \
         returned.\nPutting the forks down tests *both* neighbours.\n\n{table:#}",
        row.returned
    );
}

#[test]
fn random_scripts_follow_the_policy() {
    common::follows_the_policy(Policy::Notes, DiningRoom::new);
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

/// Seven philosophers, three meals each.
#[test]
fn seven_philosophers_three_meals_each() {
    explore(Config::new().iterations(200), || {
        dine(DiningRoom::new(7), &Diners::new(7, None), &[3; 7]);
    });
}

/// Every schedule of four philosophers (one meal each) with at most two delays.
#[test]
fn four_philosophers_exhaustive_with_delay_bound_2() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || dine(DiningRoom::new(4), &Diners::new(4, None), &[1; 4]),
    );
}

/// The check on the policy finds a lost wake-up that only shows when two neighbours wait.
#[test]
fn the_checks_reject_a_put_down_that_tests_only_one_neighbour() {
    for variant in [Variant::TestsLeftOnly, Variant::StopsAtFirst] {
        let m = common::policy_failure(Config::new().strategy(Strategy::Canonical), move || {
            for script in 0..15 {
                drive(TestRoom::new(variant, 5), 5, Policy::Notes, script, 40);
            }
        })
        .expect("a put-down that does not test both neighbours loses wake-ups");
        assert!(
            m.contains("should start eating at step")
                && m.contains("may eat: neither neighbour eats.\n")
                && m.contains("who should have tested"),
            "{variant:?}:\n{m}"
        );
    }
}

/// The notes' code on a Mesa monitor: the signaller sets `state[i] = Eating` before it
/// signals, so the woken philosopher's `if` is still right.
#[derive(Debug)]
struct MesaRoom {
    state: Monitor<Vec<Doing>>,
    me: Vec<Condition>,
}

impl MesaRoom {
    fn new(n: usize) -> Self {
        MesaRoom {
            state: Monitor::new(vec![Doing::Thinking; n], Semantics::Mesa),
            me: (0..n).map(|_| Condition::new()).collect(),
        }
    }

    fn test(&self, s: &mut interleave::monitor::MonitorGuard<'_, Vec<Doing>>, i: usize) {
        let n = s.len();
        let free = s[left_of(i, n)] != Doing::Eating && s[right_of(i, n)] != Doing::Eating;
        if s[i] == Doing::Hungry && free {
            s[i] = Doing::Eating;
            self.me[i].signal(s);
        }
    }
}

impl Room for MesaRoom {
    fn pick_up(&self, i: usize) -> Option<u64> {
        let mut s = self.state.enter();
        s[i] = Doing::Hungry;
        self.test(&mut s, i);
        if s[i] != Doing::Eating {
            self.me[i].wait(&mut s);
        }
        None
    }

    fn put_down(&self, i: usize) {
        let mut s = self.state.enter();
        let n = s.len();
        s[i] = Doing::Thinking;
        self.test(&mut s, left_of(i, n));
        self.test(&mut s, right_of(i, n));
    }
}

/// One mutex and one condition variable for everybody: each waiter re-checks its own
/// neighbours after every `notify_all`.
#[derive(Debug)]
struct CondvarRoom {
    state: Mutex<Vec<Doing>>,
    changed: Condvar,
}

impl CondvarRoom {
    fn new(n: usize) -> Self {
        CondvarRoom {
            state: Mutex::new(vec![Doing::Thinking; n]),
            changed: Condvar::new(),
        }
    }
}

impl Room for CondvarRoom {
    fn pick_up(&self, i: usize) -> Option<u64> {
        let mut s = self.state.lock();
        let n = s.len();
        s[i] = Doing::Hungry;
        while s[left_of(i, n)] == Doing::Eating || s[right_of(i, n)] == Doing::Eating {
            self.changed.wait(&mut s);
        }
        s[i] = Doing::Eating;
        None
    }

    fn put_down(&self, i: usize) {
        self.state.lock()[i] = Doing::Thinking;
        self.changed.notify_all();
    }
}

#[test]
fn other_correct_designs_pass() {
    common::follows_the_policy(Policy::Notes, MesaRoom::new);
    common::follows_the_policy(Policy::Notes, CondvarRoom::new);
    explore(Config::new().iterations(200), || {
        dine(CondvarRoom::new(5), &Diners::new(5, None), &[2; 5]);
    });
}

// std's condvar contract: a `Condvar` of std (or parking_lot), and a Mesa monitor, may
// wake a waiter for nothing (a spurious wake-up), and `notify_one` may wake any one of
// the waiters. The simulation does neither unless asked (`CondvarSemantics::Std`); these
// checks ask, so that a room written with a mutex and condition variables is held to
// what they really promise (the notes' Hoare monitor is not affected).

/// Neighbours never eat together, no deadlock, under std's condvar contract.
#[test]
fn neighbours_never_eat_together_under_std_condvar_semantics() {
    let std_contract = interleave::explore::CondvarSemantics::Std;
    explore(Config::new().iterations(400).condvar(std_contract), || {
        dine(DiningRoom::new(5), &Diners::new(5, None), &[2; 5]);
    });
    explore(
        Config::new()
            .strategy(Strategy::DelayBounded { bound: 2 })
            .condvar(std_contract),
        || dine(DiningRoom::new(4), &Diners::new(4, None), &[1; 4]),
    );
}

/// The oracle: the notes' room on a mutex and one condition variable per philosopher,
/// with its `if`, passes every FIFO schedule (only `test` notifies philosopher `i`, right
/// after setting them eating), and fails under std's contract: a spurious wake-up lets a
/// hungry philosopher eat beside a neighbour.
#[test]
fn the_std_contract_catches_a_wait_without_a_loop() {
    use interleave::sync::{Condvar, Mutex};

    #[derive(Clone, Copy, PartialEq)]
    enum S {
        Thinking,
        Hungry,
        Eating,
    }
    struct CondvarRoom {
        state: Mutex<Vec<S>>,
        me: Vec<Condvar>,
    }
    impl CondvarRoom {
        fn test(&self, s: &mut [S], i: usize) {
            let n = s.len();
            let (l, r) = (philosophers::left_of(i, n), philosophers::right_of(i, n));
            if s[l] != S::Eating && s[i] == S::Hungry && s[r] != S::Eating {
                s[i] = S::Eating;
                self.me[i].notify_one();
            }
        }
    }
    impl common::Room for CondvarRoom {
        fn pick_up(&self, i: usize) -> Option<u64> {
            let mut s = self.state.lock();
            s[i] = S::Hungry;
            self.test(&mut s, i);
            if s[i] != S::Eating {
                self.me[i].wait(&mut s);
            }
            None
        }
        fn put_down(&self, i: usize) {
            let mut s = self.state.lock();
            let n = s.len();
            s[i] = S::Thinking;
            self.test(&mut s, philosophers::left_of(i, n));
            self.test(&mut s, philosophers::right_of(i, n));
        }
    }
    let room = |n: usize| CondvarRoom {
        state: Mutex::new(vec![S::Thinking; n]),
        me: (0..n).map(|_| Condvar::new()).collect(),
    };
    let body = move || dine(room(3), &Diners::new(3, None), &[2; 3]);
    let std_contract = interleave::explore::CondvarSemantics::Std;
    for config in [
        Config::new().iterations(400),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        if let Err(f) = interleave::explore::check(config.clone(), body) {
            panic!("FIFO hides the `if`:\n{f}");
        }
        let f = interleave::explore::check(config.condvar(std_contract), body)
            .expect_err("a spurious wake-up lets a hungry philosopher eat");
        assert!(
            f.message.contains("started eating while their neighbour"),
            "{f}"
        );
        assert!(f.had_spurious_wakeup(), "{f}");
    }
}
