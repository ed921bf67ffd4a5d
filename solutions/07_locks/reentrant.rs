//! A cache whose `get` calls `load` (`locks/reentrant`).
//!
//! Task: `Cache::get` returns a cached value, and on a miss falls back to `Cache::load`,
//! which computes the value and stores it. Both take the lock `cache`. As shipped, `get`
//! still holds the lock when it calls `load`, and `load` asks for it again: the thread
//! waits for a lock that it holds itself and nobody will ever release. Python's `Lock`
//! behaves the same; its `RLock` would let the owner in again. Fix it in one of two ways:
//!
//! - restructure (what Rust code usually does): lock once, and pass what the guard gives
//!   you (`&mut State`) down to a helper that does the work of `load` without locking;
//! - or use `interleave::sync::ReentrantMutex`, which lets its owner lock it again; it
//!   only hands out `&T`, so the state then needs interior mutability (`RefCell`).
//!
//! A reentrant lock of your own must know which thread holds it: take the identity from
//! `interleave::thread::current().id()`. Not from `std::thread::current().id()`: the tests
//! run every simulated thread on one OS thread, so std's id is the same for all of them.
//!
//! Invariant to protect: no thread ever waits for a lock it holds; and `get` loads a key at
//! most once, even when several threads ask for the same missing key at the same time
//! (releasing the lock between the miss and the load would let two threads load it).
//! Done when `just check locks/reentrant` (or `cargo course check locks/reentrant`)
//! passes.

use std::collections::HashMap;

use interleave::sync::Mutex;

/// The slow computation that the cache saves (it stands for a disk read or a query).
pub fn compute(key: u32) -> u64 {
    u64::from(key) * 10
}

/// What the lock protects: the cached values, and how many loads were done.
#[derive(Debug, Default)]
struct State {
    values: HashMap<u32, u64>,
    loads: usize,
}

impl State {
    /// The work of `load`, for a caller that already holds the lock: it receives the
    /// state the guard gives access to, so it cannot lock again by mistake.
    fn load(&mut self, key: u32) -> u64 {
        let value = compute(key);
        self.values.insert(key, value);
        self.loads += 1;
        value
    }
}

/// A cache of [`compute`]'s results, shared between threads.
///
/// # Examples
///
/// ```
/// use locks::reentrant::Cache;
///
/// let cache = Cache::new();
/// assert_eq!(cache.load(3), 30);
/// assert_eq!(cache.loads(), 1);
/// ```
#[derive(Debug)]
pub struct Cache {
    /// The state, behind the lock named `cache` in traces.
    state: Mutex<State>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::new()
    }
}

impl Cache {
    /// An empty cache.
    pub fn new() -> Self {
        Cache {
            state: Mutex::new(State::default()),
        }
    }

    /// The value of `key`: the cached one, or on a miss the one [`Cache::load`] computes
    /// and stores. A key is loaded at most once by `get`.
    pub fn get(&self, key: u32) -> u64 {
        let mut state = self.state.lock();
        if let Some(&value) = state.values.get(&key) {
            return value;
        }
        // Lock once, pass the state down: the miss and the load happen under the same
        // lock (no second thread can load the key in between), and nothing locks twice.
        state.load(key)
    }

    /// Computes the value of `key` (again, even if it is cached), stores and returns it.
    pub fn load(&self, key: u32) -> u64 {
        self.state.lock().load(key)
    }

    /// How many times a value was computed.
    pub fn loads(&self) -> usize {
        self.state.lock().loads
    }
}
