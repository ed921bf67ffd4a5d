//! Step `philosophers/ordering`: one lock per fork. Explorations for 2 to 7 philosophers:
//! no deadlock, neighbours never eat together, everyone eats the meals asked; a scenario in
//! which philosophers who share no fork eat at the same time; wrong orders the checks must
//! reject, and other correct designs they must accept.

mod common;

use std::time::Instant;

use common::Diners;
use common::script::Checked;
use interleave::channel::{Receiver, Sender, unbounded};
use interleave::explore::{Config, Observed, Stats, Strategy, check};
use interleave::report::FailureKind;
use interleave::scenario::Scenario;
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::thread;
use philosophers::ordering::Table;

/// A table as the checks see it: `dine(i, meal)` runs `meal` while philosopher `i` holds
/// both forks.
trait Dining: Send + Sync + 'static {
    fn dine(&self, i: usize, meal: &mut dyn FnMut());
}

impl Dining for Table {
    fn dine(&self, i: usize, meal: &mut dyn FnMut()) {
        Table::dine(self, i, meal);
    }
}

/// `n` philosophers eat `meals` meals each at `table`, watched by the test.
fn dinner(table: impl Dining, n: usize, meals: usize) {
    let table = Arc::new(table);
    let diners = Diners::new(n, None);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (table, diners) = (table.clone(), diners.clone());
            thread::Builder::new()
                .name(format!("P{i}"))
                .spawn(move || {
                    for _ in 0..meals {
                        diners.hungry(i);
                        table.dine(i, &mut || {
                            diners.eats(i, None);
                            thread::yield_now();
                            diners.done(i);
                        });
                    }
                })
                .expect("spawn a philosopher")
        })
        .collect();
    for h in handles {
        h.join().expect("a philosopher panicked");
    }
    for i in 0..n {
        assert_eq!(
            diners.meals(i),
            meals,
            "P{i} should have eaten {meals} meals"
        );
    }
}

/// Runs an exploration; a deadlock is reported in the topic's words (who holds which
/// fork and waits for which) above interleave's full report.
fn explore_table(config: Config, body: impl Fn() + Send + Sync + 'static) -> Stats {
    match check(config, body) {
        Ok(stats) => stats,
        Err(failure) if failure.kind == FailureKind::Deadlock => {
            panic!("{}\n\n{failure}", fork_cycle(&failure.message))
        }
        Err(failure) => panic!("{failure}"),
    }
}

/// Rewrites interleave's cycle (`P0 waits for Mutex fork 1 held by P1; ...: a cycle`) as
/// `deadlock: P0 holds fork 0 and waits for fork 1, held by P1; ...`.
fn fork_cycle(message: &str) -> String {
    // (philosopher, fork waited for, holder), for each part of the cycle.
    let waits: Vec<(&str, &str, &str)> = message
        .trim_end_matches(": a cycle")
        .split("; ")
        .filter_map(|part| {
            let (who, rest) = part.split_once(" waits for Mutex ")?;
            let (fork, holder) = rest.split_once(" held by ")?;
            Some((who, fork, holder))
        })
        .collect();
    let parts: Vec<String> = waits
        .iter()
        .map(
            |(who, fork, holder)| match waits.iter().find(|(_, _, h)| h == who) {
                Some((_, held, _)) => {
                    format!("{who} holds {held} and waits for {fork}, held by {holder}")
                }
                None => format!("{who} waits for {fork}, held by {holder}"),
            },
        )
        .collect();
    format!(
        "deadlock: every philosopher in the circle holds one fork and waits for the next:\n  {}",
        parts.join(";\n  ")
    )
}

/// Every check of the step on the tables made by `make`: 2 to 7 philosophers under many
/// schedules, and three philosophers under every schedule with at most two delays.
fn table_checks<T: Dining>(make: fn(usize) -> T) {
    // The classic table of five first.
    for n in [5, 4, 3, 2] {
        explore_table(Config::new().iterations(300), move || dinner(make(n), n, 2));
    }
    for n in [6, 7] {
        explore_table(Config::new().iterations(150), move || dinner(make(n), n, 1));
    }
    explore_table(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        move || dinner(make(3), 3, 2),
    );
}

#[test]
fn two_to_seven_philosophers_never_deadlock() {
    for n in (2..=5).rev() {
        explore_table(Config::new().iterations(300), move || {
            dinner(Table::new(n), n, 2);
        });
    }
    for n in [6, 7] {
        explore_table(Config::new().iterations(150), move || {
            dinner(Table::new(n), n, 1);
        });
    }
}

/// Every schedule of three philosophers (two meals each) that deviates at most twice from
/// the canonical schedule.
#[test]
fn three_philosophers_exhaustive_with_delay_bound_2() {
    let config = Config::new().strategy(Strategy::DelayBounded { bound: 2 });
    // The strategy actually used (INTERLEAVE_STRATEGY may override it).
    let strategy = config.clone().with_env().strategy;
    let start = Instant::now();
    let stats = explore_table(config, || dinner(Table::new(3), 3, 2));
    // Visible with --nocapture: how big the exhaustive search is.
    eprintln!(
        "philosophers/ordering: n = 3, two meals each, {strategy}: {} schedules in {:.2?}",
        stats.schedules,
        start.elapsed()
    );
    assert!(stats.schedules > 1, "the search explored several schedules");
}

/// The scenario's world: a table, and for each philosopher a bell that ends their meal
/// (the meal waits for it), and who is eating, as the meals report it.
struct Dinner<T> {
    table: T,
    bells: Vec<(Sender<()>, Receiver<()>)>,
    eating: Observed<Vec<usize>>,
}

impl<T: Dining> Dinner<T> {
    fn new(table: T, n: usize, eating: Observed<Vec<usize>>) -> Self {
        Dinner {
            table,
            bells: (0..n).map(|_| unbounded()).collect(),
            eating,
        }
    }

    fn dine(&self, i: usize) {
        self.table.dine(i, &mut || {
            self.eating.update(|e| e.push(i));
            self.bells[i].1.recv().expect("the bell is kept");
            self.eating.update(|e| e.retain(|&j| j != i));
        });
    }

    fn ring(&self, i: usize) {
        self.bells[i].0.send(()).expect("the bell is kept");
    }
}

/// Five philosophers whose meals last until a timer ends them: P2 eats while P0 eats
/// (they share no fork); P1, between them, waits until both are done.
fn long_meals<T: Dining>(make: impl Fn() -> T + 'static) -> Scenario<Dinner<T>> {
    let eating = Observed::new(Vec::new());
    let e = eating.clone();
    Scenario::new(move || {
        // Each run of the script starts with nobody eating.
        e.update(|v| v.clear());
        Dinner::new(make(), 5, e.clone())
    })
    .call("P0", "dine(0)", |d| d.dine(0))
    .rule("P0's forks are free: P0 eats (and the meal goes on)")
    .call("P2", "dine(2)", |d| d.dine(2))
    .rule("P2 shares no fork with P0: both eat at the same time")
    .call("P1", "dine(1)", |d| d.dine(1))
    .rule("P1 needs fork 1, held by P0, and fork 2, held by P2: P1 waits")
    .call("timer", "ends P0's meal", |d| d.ring(0))
    .rule("P1 still needs fork 2, held by P2")
    .call("timer", "ends P2's meal", |d| d.ring(2))
    .rule("both of P1's forks are free now: P1 eats")
    .call("P4", "dine(4)", |d| d.dine(4))
    .rule("P4 needs fork 4 and fork 0, both free: P4 eats while P1 eats")
    .call("P0", "dine(0)", |d| d.dine(0))
    .rule("P0 needs fork 0, held by P4, and fork 1, held by P1: P0 waits")
    .call("timer", "ends P1's meal", |d| d.ring(1))
    .rule("P0 still needs fork 0, held by P4")
    .call("timer", "ends P4's meal", |d| d.ring(4))
    .rule("both of P0's forks are free now: P0 eats")
    .call("timer", "ends P0's meal", |d| d.ring(0))
    .state(move |_| {
        let mut now = eating.get();
        now.sort_unstable();
        let names: Vec<String> = now.iter().map(|i| format!("P{i}")).collect();
        if names.is_empty() {
            "nobody eats".to_string()
        } else {
            format!("eating: {}", names.join(" "))
        }
    })
}

/// Runs [`long_meals`] step by step against its stored table.
fn long_meals_checks<T: Dining>(make: impl Fn() -> T + 'static) -> interleave::scenario::Table {
    long_meals(make).check(
        include_str!(
            "snapshots/ordering__philosophers_who_share_no_fork_eat_at_the_same_time.snap"
        ),
        check_long_meals,
    )
}

/// Checks the table of [`long_meals`] for what the step's header promises: philosophers
/// who share no fork eat at the same time.
fn check_long_meals(table: &interleave::scenario::Table) {
    let Some(second) = table.rows.get(1) else {
        return;
    };
    let eating = second.state.clone().unwrap_or_default();
    assert!(
        eating == "eating: P0 P2",
        "at step 2, P2 did not start eating, though nobody held forks 2 and 3 ({eating}).\n\
         Philosophers who share no fork must be able to eat at the same time. A lock for the \
         whole\ntable (or one fork that everybody takes first) keeps the forks safe, but lets \
         only one\nphilosopher eat at a time.\n\n{table:#}"
    );
}

#[test]
fn philosophers_who_share_no_fork_eat_at_the_same_time() {
    let table = long_meals(|| Table::new(5)).run();
    check_long_meals(&table);
    interleave::assert_table!(table);
}

/// The oracle works: taking the left fork then the right one deadlocks, and the report
/// names the cycle of philosophers and forks.
#[test]
fn left_then_right_deadlocks_with_a_cycle() {
    let failure = check(Config::new().iterations(300), || {
        let n = 3;
        let forks: Arc<Vec<Mutex<()>>> = Arc::new(
            (0..n)
                .map(|f| Mutex::named(format!("fork {f}"), ()))
                .collect(),
        );
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let forks = forks.clone();
                thread::Builder::new()
                    .name(format!("P{i}"))
                    .spawn(move || {
                        let _left = forks[i].lock();
                        let _right = forks[(i + 1) % n].lock();
                    })
                    .expect("spawn a philosopher")
            })
            .collect();
        for h in handles {
            h.join().expect("a philosopher panicked");
        }
    })
    .expect_err("left then right deadlocks");
    assert_eq!(failure.kind, FailureKind::Deadlock, "{failure}");
    let explained = fork_cycle(&failure.message);
    for i in 0..3 {
        let expected = format!(
            "P{i} holds fork {i} and waits for fork {next}, held by P{next}",
            next = (i + 1) % 3
        );
        assert!(explained.contains(&expected), "{explained}\n\n{failure}");
    }
}

/// Tables written in the test: the order in which philosopher `i` of `n` takes its forks
/// (left fork `i`, right fork `(i + 1) % n`), and what else it does.
struct Forks {
    forks: Vec<Mutex<()>>,
    order: fn(usize, usize) -> (usize, usize),
    /// Puts the forks back before the meal instead of after it.
    early: bool,
}

impl Forks {
    fn new(n: usize, order: fn(usize, usize) -> (usize, usize)) -> Self {
        Forks {
            forks: (0..n)
                .map(|f| Mutex::named(format!("fork {f}"), ()))
                .collect(),
            order,
            early: false,
        }
    }
}

impl Dining for Forks {
    fn dine(&self, i: usize, meal: &mut dyn FnMut()) {
        let (first, second) = (self.order)(i, self.forks.len());
        let a = self.forks[first].lock();
        let b = self.forks[second].lock();
        if self.early {
            drop((a, b));
            meal();
        } else {
            meal();
        }
    }
}

/// Only philosopher 4 takes the right fork first: right at a table of five, a deadlock at
/// any other size.
fn fixed_for_five(i: usize, n: usize) -> (usize, usize) {
    let (l, r) = (i, (i + 1) % n);
    if i == 4 { (r, l) } else { (l, r) }
}

#[test]
fn the_checks_reject_wrong_tables() {
    // A fix made for the table of five only.
    let f = std::panic::catch_unwind(|| table_checks(|n| Forks::new(n, fixed_for_five)))
        .expect_err("an order fixed for five philosophers deadlocks at other sizes");
    let m = f.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        m.starts_with("deadlock: every philosopher in the circle holds one fork"),
        "{m}"
    );
    // The forks put back before the meal.
    let f = check(Config::new().iterations(300), || {
        let mut t = Forks::new(5, |i, n| (i.min((i + 1) % n), i.max((i + 1) % n)));
        t.early = true;
        dinner(t, 5, 2);
    })
    .expect_err("a meal eaten without the forks lets neighbours eat together");
    assert!(
        f.message.contains("while their neighbour") && f.message.contains("they share a fork"),
        "{f}"
    );
    // One fork that everybody takes first: safe, but one philosopher eats at a time.
    let f = std::panic::catch_unwind(|| {
        long_meals_checks(|| Forks::new(5, |i, n| (0, if i == 0 { 1 } else { i.max((i + 1) % n) })))
    })
    .expect_err("a table where everybody takes fork 0 first serves one philosopher at a time");
    let m = f.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        m.starts_with("at step 2, P2 did not start eating, though nobody held forks 2 and 3"),
        "{m}"
    );
}

/// Left fork, then right fork: the order that deadlocks without a footman or a waiter.
fn naive(i: usize, n: usize) -> (usize, usize) {
    (i, (i + 1) % n)
}

/// Even philosophers take the left fork first, odd ones the right fork.
fn even_odd(i: usize, n: usize) -> (usize, usize) {
    let (l, r) = (i, (i + 1) % n);
    if i % 2 == 0 { (l, r) } else { (r, l) }
}

/// The higher-numbered fork first: the reverse order, still one order for everybody.
fn higher_first(i: usize, n: usize) -> (usize, usize) {
    let (l, r) = (i, (i + 1) % n);
    (l.max(r), l.min(r))
}

/// The footman of the classic variant: at most `n - 1` philosophers reach for forks at
/// once (a counting semaphore from a mutex and a condition variable), so one of them
/// always finds both forks; forks in the naive order, left then right.
struct Footman {
    forks: Forks,
    seated: Mutex<usize>,
    seat_free: Condvar,
}

impl Dining for Footman {
    fn dine(&self, i: usize, meal: &mut dyn FnMut()) {
        let n = self.forks.forks.len();
        {
            let mut seated = self.seated.lock();
            while *seated == n - 1 {
                self.seat_free.wait(&mut seated);
            }
            *seated += 1;
        }
        self.forks.dine(i, meal);
        *self.seated.lock() -= 1;
        self.seat_free.notify_one();
    }
}

/// A waiter who must be asked before taking forks: one philosopher at a time picks up,
/// holding the waiter until both forks are in hand.
struct Waiter {
    forks: Forks,
    waiter: Mutex<()>,
}

impl Dining for Waiter {
    fn dine(&self, i: usize, meal: &mut dyn FnMut()) {
        let n = self.forks.forks.len();
        let (l, r) = (i, (i + 1) % n);
        let asked = self.waiter.lock();
        let _l = self.forks.forks[l].lock();
        let _r = self.forks.forks[r].lock();
        drop(asked);
        meal();
    }
}

#[test]
fn other_correct_designs_pass() {
    table_checks(|n| Forks::new(n, even_odd));
    table_checks(|n| Forks::new(n, higher_first));
    table_checks(|n| Footman {
        forks: Forks::new(n, naive),
        seated: Mutex::new(0),
        seat_free: Condvar::new(),
    });
    table_checks(|n| Waiter {
        forks: Forks::new(n, naive),
        waiter: Mutex::new(()),
    });
    long_meals_checks(|| Forks::new(5, even_odd));
    long_meals_checks(|| Waiter {
        forks: Forks::new(5, naive),
        waiter: Mutex::new(()),
    });
    long_meals_checks(|| Footman {
        forks: Forks::new(5, naive),
        seated: Mutex::new(0),
        seat_free: Condvar::new(),
    });
}

#[test]
fn a_table_knows_its_size() {
    for n in [2, 5, 7] {
        let table = Table::new(n);
        assert_eq!(table.len(), n, "Table::new({n}).len()");
        assert!(!table.is_empty(), "a table of {n} is not empty");
    }
}

#[test]
#[should_panic(expected = "Table::new: at least two philosophers, got 1")]
fn a_table_for_one_is_refused() {
    let _ = Table::new(1);
}
