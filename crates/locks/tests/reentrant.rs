//! Checks `locks/reentrant`: `get` falls back to `load` without waiting for a lock its own
//! thread holds, and still loads each key at most once. Every test uses the public API
//! only, so both fixes pass: restructuring (lock once, pass the state down) and a
//! `ReentrantMutex` with interior mutability.

use interleave::explore::{Config, Strategy, check, explore};
use interleave::report::FailureKind;
use interleave::scenario::{Returned, Scenario};
use interleave::sync::{Arc, Mutex};
use interleave::thread;
use locks::reentrant::Cache;

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

#[test]
fn a_miss_loads_and_a_hit_does_not_wait() {
    let table = Scenario::new(Cache::new)
        .call("T1", "get(7)", |c| c.get(7))
        .call("T2", "get(7)", |c| c.get(7))
        .call("T3", "get(3)", |c| c.get(3))
        .call("T4", "load(7)", |c| c.load(7))
        .call("T5", "loads()", |c| c.loads())
        .state(cached)
        .run();
    assert!(
        table.blocked_at_end.is_empty(),
        "self-deadlock: {:?} never returned: `get` waits for the lock `cache` that its own \
         thread took, because `load` locks it again\n\n{table:#}",
        table.blocked_at_end
    );
    interleave::assert_table!(table);
}

/// Two threads ask for the same missing key while a third reloads another one.
fn three_readers() {
    let cache = Arc::new(Cache::new());
    let calls: [(&str, u32, bool); 3] = [("T1", 7, false), ("T2", 7, false), ("T3", 4, true)];
    let handles: Vec<_> = calls
        .into_iter()
        .map(|(name, key, reload)| {
            let cache = cache.clone();
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    let value = if reload {
                        cache.load(key)
                    } else {
                        cache.get(key)
                    };
                    assert_eq!(value, u64::from(key) * 10, "{name}: wrong value for {key}");
                    value
                })
                .expect("spawn a reader")
        })
        .collect();
    for h in handles {
        h.join().expect("a reader panicked");
    }
    let loads = cache.loads();
    assert!(
        loads == 2,
        "key 7 was loaded {} times by two concurrent get(7): `get` let the lock go between \
         the miss and the load, so both threads missed and both loaded (expected 2 loads in \
         all: key 7 once by get, key 4 once by load)",
        loads.saturating_sub(1)
    );
}

#[test]
fn concurrent_gets_never_wait_for_their_own_lock_and_load_once() {
    explore(Config::new().iterations(300), three_readers);
}

#[test]
fn concurrent_gets_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        three_readers,
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

#[test]
fn real_threads_share_the_cache() {
    // Real threads cannot be diagnosed like simulated ones: a self-deadlock would hang.
    // The work runs on a helper thread, and the test gives up after 5 seconds.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let cache = std::sync::Arc::new(Cache::new());
        std::thread::scope(|s| {
            for key in [1, 2, 1, 2] {
                let cache = cache.clone();
                s.spawn(move || assert_eq!(cache.get(key), u64::from(key) * 10));
            }
        });
        let _ = done.send(cache.loads());
    });
    match finished.recv_timeout(std::time::Duration::from_secs(5)) {
        Ok(loads) => assert_eq!(loads, 2, "each of the keys 1 and 2 is loaded once"),
        Err(_) => panic!(
            "self-deadlock on real threads: get(1) did not return within 5 s (a thread \
             waits for the lock `cache` that it already holds)"
        ),
    }
}
