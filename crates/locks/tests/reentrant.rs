//! Checks `locks/reentrant`: `get` falls back to `load` without waiting for a lock its own
//! thread holds, and still loads each key at most once. Every test uses the public API
//! only, so both fixes pass: restructuring (lock once, pass the state down) and a
//! `ReentrantMutex` with interior mutability; caches written in this file, wrong and right,
//! check the checks.

mod common;

use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::script::Checked;
use interleave::explore::{Config, Strategy, check, explore};
use interleave::real::within;
use interleave::report::FailureKind;
use interleave::scenario::{Returned, Scenario, Table};
use interleave::sync::{Arc, Mutex, ReentrantMutex};
use interleave::thread;
use locks::reentrant::{Cache, compute};

/// A cache as the checks see it (the step's, or one written in this file).
trait Caching: Send + Sync + 'static {
    fn new() -> Self;
    fn get(&self, key: u32) -> u64;
    fn load(&self, key: u32) -> u64;
    fn loads(&self) -> usize;
}

impl Caching for Cache {
    fn new() -> Self {
        Cache::new()
    }
    fn get(&self, key: u32) -> u64 {
        Cache::get(self, key)
    }
    fn load(&self, key: u32) -> u64 {
        Cache::load(self, key)
    }
    fn loads(&self) -> usize {
        Cache::loads(self)
    }
}

/// The keys cached so far, computed from the calls that returned.
fn cached(done: &[Returned]) -> String {
    let mut keys: Vec<&str> = done
        .iter()
        .filter_map(|r| {
            r.call
                .strip_prefix("get(")
                .or_else(|| r.call.strip_prefix("load("))
        })
        .map(|k| k.trim_end_matches(')'))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        "cache empty".to_string()
    } else {
        format!("cached: {}", keys.join(", "))
    }
}

fn hits_and_misses<C: Caching>() -> Scenario<C> {
    Scenario::new(C::new)
        .call("T1", "get(7)", |c| c.get(7))
        .rule("a miss: get loads the key, under the lock it already holds")
        .call("T2", "get(7)", |c| c.get(7))
        .rule("a hit: key 7 is cached, nothing is loaded")
        .call("T3", "get(3)", |c| c.get(3))
        .call("T4", "load(7)", |c| c.load(7))
        .rule("load computes again, even a cached key")
        .call("T5", "loads()", |c| c.loads())
        .rule("three loads: get(7) once, get(3) once, load(7) once")
        .state(cached)
}

const HITS: &str = include_str!("snapshots/reentrant__a_miss_loads_and_a_hit_does_not_wait.snap");

fn check_hits_and_misses(table: &Table) {
    if let Some(first) = table.rows.first()
        && first.blocked.iter().any(|c| c == "T1 get(7)")
    {
        panic!(
            "self-deadlock: T1 get(7) never returned: `get` waits for the lock `cache` that its \
             own thread\ntook, because `load` locks it again\n\n{table:#}"
        );
    }
    let Some(fifth) = table.rows.get(4) else {
        return;
    };
    let loads = fifth.returned.join(", ");
    let loads = loads.trim_start_matches("T5 loads() -> ");
    assert!(
        loads == "3",
        "after get(7), get(7), get(3) and load(7), loads() returned {loads}, not 3: get \
         loads a key only on a miss\n(the second get(7) is a hit), and load always computes \
         and stores the value.\n\n{table:#}"
    );
}

#[test]
fn a_miss_loads_and_a_hit_does_not_wait() {
    let table = hits_and_misses::<Cache>().run();
    check_hits_and_misses(&table);
    interleave::assert_table!(table);
}

/// `load` stores what it computes: `load(5)` on an empty cache, then `get(5)` is a hit.
#[test]
fn a_key_loaded_directly_is_cached() {
    let table = Scenario::new(Cache::new)
        .call("T1", "load(5)", |c| c.load(5))
        .call("T2", "get(5)", |c| c.get(5))
        .call("T3", "loads()", |c| c.loads())
        .run();
    let loads = table
        .rows
        .get(2)
        .map(|r| r.returned.join(", "))
        .unwrap_or_default();
    let loads = loads.trim_start_matches("T3 loads() -> ");
    assert!(
        loads == "1",
        "load(5) on an empty cache, then get(5): loads() returned {loads}, not 1.\nget found \
         no value for key 5 and computed it again: load did not store what it computed.\nload \
         computes the value of a key, stores it and returns it. A load that does not store.\n\n\
         {table:#}"
    );
}

/// Threads ask for keys at once: `getters` threads get key 7, two get key 3, one loads
/// key 9. Each key is computed once: three loads in all.
fn readers<C: Caching>(getters: usize) {
    let cache = Arc::new(C::new());
    let mut calls: Vec<(u32, bool)> = vec![(7, false); getters];
    calls.extend([(3, false), (9, true), (3, false)]);
    let handles: Vec<_> = calls
        .into_iter()
        .enumerate()
        .map(|(i, (key, reload))| {
            let cache = cache.clone();
            thread::Builder::new()
                .name(format!("T{}", i + 1))
                .spawn(move || {
                    let value = if reload {
                        cache.load(key)
                    } else {
                        cache.get(key)
                    };
                    assert_eq!(value, compute(key), "wrong value for key {key}");
                })
                .expect("spawn a reader")
        })
        .collect();
    for h in handles {
        h.join().expect("a reader panicked");
    }
    let loads = cache.loads();
    assert!(
        loads == 3,
        "{} loads for keys 7, 3 and 9: {getters} threads called get(7) at once, two get(3), \
         one load(9),\nand each key must be computed once. Threads that both missed a key \
         both loaded it: the miss\nand the load must happen under one lock, held by one \
         thread at a time. Either `get` let the lock\ngo between the miss and the load, or \
         the lock let two threads in: a lock of your own that\nrecords its owner must tell \
         threads apart with `interleave::thread::current().id()`, not\n\
         `std::thread::current().id()` (every simulated thread runs on the same OS thread).",
        loads
    );
}

fn exploration_checks<C: Caching>() {
    explore(Config::new().iterations(300), || readers::<C>(2));
    explore(Config::new().iterations(200), || readers::<C>(3));
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || readers::<C>(2),
    );
}

#[test]
fn concurrent_gets_never_wait_for_their_own_lock_and_load_once() {
    explore(Config::new().iterations(300), || readers::<Cache>(2));
    explore(Config::new().iterations(300), || readers::<Cache>(3));
}

#[test]
fn concurrent_gets_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || readers::<Cache>(2),
    );
}

/// The starter's shape with a plain mutex, kept here to prove the oracle finds the
/// self-deadlock and names it.
struct SelfLocking {
    values: Mutex<Vec<u32>>,
}

impl SelfLocking {
    fn get(&self, key: u32) -> u32 {
        let values = self.values.lock();
        if values.contains(&key) {
            return key;
        }
        self.load(key)
    }

    fn load(&self, key: u32) -> u32 {
        self.values.lock().push(key);
        key
    }
}

#[test]
fn the_oracle_reports_a_self_deadlock_on_a_plain_mutex() {
    let f = check(Config::new().iterations(1), || {
        let cache = SelfLocking {
            values: Mutex::named("cache", Vec::new()),
        };
        cache.get(1);
    })
    .expect_err("locking a plain mutex twice must be reported");
    assert_eq!(f.kind, FailureKind::Deadlock, "{f}");
    assert!(f.message.contains("Mutex cache"), "{f}");
}

/// Eight real threads share a cache (keys 1 to 4, twice each), under a watchdog: a
/// self-deadlock on real threads is reported instead of hanging the test.
fn real_threads<C: Caching>() {
    let loads = within(
        Duration::from_secs(10),
        "8 real threads calling get on one cache",
        || {
            let cache = std::sync::Arc::new(C::new());
            std::thread::scope(|s| {
                for key in [1, 2, 3, 4, 1, 2, 3, 4] {
                    let cache = cache.clone();
                    s.spawn(move || assert_eq!(cache.get(key), compute(key)));
                }
            });
            cache.loads()
        },
    );
    assert_eq!(loads, 4, "each of the keys 1 to 4 is loaded once");
}

#[test]
fn real_threads_share_the_cache() {
    // The same calls in a simulation first: a self-deadlock is diagnosed there at once.
    explore(Config::new().strategy(Strategy::Canonical), || {
        let cache = Arc::new(Cache::new());
        let handles: Vec<_> = [1, 2, 3, 4, 1, 2, 3, 4]
            .into_iter()
            .map(|key| {
                let cache = cache.clone();
                thread::spawn(move || assert_eq!(cache.get(key), compute(key)))
            })
            .collect();
        for h in handles {
            h.join().expect("a thread panicked");
        }
    });
    real_threads::<Cache>();
}

/// Every check above, for a cache written in this file.
fn all_checks<C: Caching>() {
    hits_and_misses::<C>().check(HITS, check_hits_and_misses);
    exploration_checks::<C>();
    real_threads::<C>();
}

/// The panic message of `f`, which must panic.
fn failure_of(f: impl FnOnce()) -> String {
    let p = catch_unwind(AssertUnwindSafe(f)).expect_err("the checks must reject this cache");
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
        // Whitespace collapsed: the checks assert on words, wherever a report breaks lines.
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a cache of this file protects.
#[derive(Debug, Default)]
struct State {
    values: HashMap<u32, u64>,
    loads: usize,
}

impl State {
    fn load(&mut self, key: u32) -> u64 {
        let value = compute(key);
        self.values.insert(key, value);
        self.loads += 1;
        value
    }
}

/// The second fix: the notes' `RLock`, with the state in a `RefCell` and borrows kept
/// short.
struct Reentrant {
    state: ReentrantMutex<RefCell<State>>,
}

impl Caching for Reentrant {
    fn new() -> Self {
        Reentrant {
            state: ReentrantMutex::new(RefCell::new(State::default())),
        }
    }
    fn get(&self, key: u32) -> u64 {
        let guard = self.state.lock();
        let hit = guard.borrow().values.get(&key).copied();
        match hit {
            Some(v) => v,
            None => self.load(key),
        }
    }
    fn load(&self, key: u32) -> u64 {
        self.state.lock().borrow_mut().load(key)
    }
    fn loads(&self) -> usize {
        self.state.lock().borrow().loads
    }
}

/// The tempting wrong fix: drop the guard before calling `load`.
struct DropsTheGuard {
    state: Mutex<State>,
}

impl Caching for DropsTheGuard {
    fn new() -> Self {
        DropsTheGuard {
            state: Mutex::new(State::default()),
        }
    }
    fn get(&self, key: u32) -> u64 {
        if let Some(&v) = self.state.lock().values.get(&key) {
            return v;
        }
        self.load(key)
    }
    fn load(&self, key: u32) -> u64 {
        self.state.lock().load(key)
    }
    fn loads(&self) -> usize {
        self.state.lock().loads
    }
}

/// No deadlock, but `get` loads on every call, hit or miss.
struct AlwaysLoads {
    state: Mutex<State>,
}

impl Caching for AlwaysLoads {
    fn new() -> Self {
        AlwaysLoads {
            state: Mutex::new(State::default()),
        }
    }
    fn get(&self, key: u32) -> u64 {
        self.state.lock().load(key)
    }
    fn load(&self, key: u32) -> u64 {
        self.state.lock().load(key)
    }
    fn loads(&self) -> usize {
        self.state.lock().loads
    }
}

#[test]
fn the_reentrant_mutex_fix_passes() {
    all_checks::<Reentrant>();
}

#[test]
fn the_checks_reject_wrong_caches() {
    let m = failure_of(exploration_checks::<DropsTheGuard>);
    assert!(
        m.contains("loads for keys 7, 3 and 9") && m.contains("Either `get` let the lock"),
        "{m}"
    );
    let m = failure_of(all_checks::<AlwaysLoads>);
    assert!(m.contains("get loads a key only on a miss"), "{m}");
}
