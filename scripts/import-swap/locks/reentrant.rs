//! `locks/reentrant` on real threads: no self-deadlock, each key loaded once.
use crate::common::{threads, within};
use locks::reentrant::{Cache, compute};
use std::sync::Arc;

#[test]
fn the_cache_serves_threads_on_real_threads() {
    within("4 threads reading 50 keys", || {
        let cache = Arc::new(Cache::new());
        let c = cache.clone();
        threads(4, move |_| {
            for k in 0..50 {
                assert_eq!(c.get(k), compute(k));
            }
        });
        assert_eq!(cache.loads(), 50);
    });
}
