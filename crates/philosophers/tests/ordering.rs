//! Step `philosophers/ordering`: one lock per fork. Explorations for 2 to 5 philosophers:
//! no deadlock, neighbours never eat together, everyone eats the meals asked.

mod common;

use std::time::Instant;

use common::Diners;
use interleave::explore::{Config, Stats, Strategy, check};
use interleave::report::FailureKind;
use interleave::sync::{Arc, Mutex};
use interleave::thread;
use philosophers::ordering::Table;

/// `n` philosophers eat `meals` meals each at `table`, watched by the test.
fn dinner(table: Table, n: usize, meals: usize) {
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
                        table.dine(i, || {
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
        "deadlock: every philosopher in the circle holds one fork and waits for the next: {}",
        parts.join("; ")
    )
}

#[test]
fn two_to_five_philosophers_never_deadlock() {
    // The classic table of five first.
    for n in (2..=5).rev() {
        explore_table(Config::new().iterations(300), move || {
            dinner(Table::new(n), n, 2);
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

#[test]
#[should_panic(expected = "Table::new: at least two philosophers, got 1")]
fn a_table_for_one_is_refused() {
    let _ = Table::new(1);
}
