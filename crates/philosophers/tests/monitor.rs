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
        assert!(
            f.trace.events.iter().any(|e| e
                .outcome
                .as_deref()
                .is_some_and(|o| o.starts_with("spurious wake-up ("))),
            "{f}"
        );
    }
}
