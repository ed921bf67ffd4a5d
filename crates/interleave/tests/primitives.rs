//! The other simulated primitives: RwLock, ReentrantMutex, try_lock, atomics and the
//! monitor's lost wake-up.

use interleave::explore::{Config, Strategy, check};
use interleave::monitor::{Condition, Monitor, Semantics};
use interleave::report::FailureKind;
use interleave::sync::atomic::{AtomicUsize, Ordering};
use interleave::sync::{Arc, Mutex, ReentrantMutex, RwLock};
use interleave::thread;

#[test]
fn readers_share_and_writers_exclude() {
    check(Config::new().iterations(200), || {
        let l = Arc::new(RwLock::named("table", 0u32));
        let readers_inside = Arc::new(AtomicUsize::new(0));
        let mut hs = Vec::new();
        for _ in 0..2 {
            let (l, r) = (l.clone(), readers_inside.clone());
            hs.push(thread::spawn(move || {
                let g = l.read();
                r.fetch_add(1, Ordering::SeqCst);
                let _ = *g;
                r.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        let (l2, r2) = (l.clone(), readers_inside.clone());
        hs.push(thread::spawn(move || {
            let mut g = l2.write();
            assert_eq!(
                r2.load(Ordering::SeqCst),
                0,
                "a reader inside with the writer"
            );
            *g += 1;
        }));
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*l.read(), 1);
    })
    .unwrap_or_else(|f| panic!("{f}"));
}

#[test]
fn a_reentrant_mutex_can_be_relocked_by_its_holder_only() {
    check(Config::new().iterations(100), || {
        let m = Arc::new(ReentrantMutex::named("r", ()));
        let m2 = m.clone();
        let t = thread::spawn(move || {
            let _a = m2.lock();
            let _b = m2.lock();
        });
        let _a = m.lock();
        let _b = m.lock();
        drop((_a, _b));
        t.join().unwrap();
    })
    .unwrap_or_else(|f| panic!("{f}"));
}

#[test]
fn relocking_a_mutex_is_a_self_deadlock() {
    let f = check(Config::new().strategy(Strategy::Canonical), || {
        let m = Mutex::named("m", ());
        let _a = m.lock();
        let _b = m.lock();
    })
    .expect_err("self-deadlock");
    assert_eq!(f.kind, FailureKind::Deadlock);
    assert_eq!(
        f.message,
        "main waits for Mutex m, which main already holds: a self-deadlock (the lock is not reentrant)"
    );
}

#[test]
fn try_lock_fails_while_held() {
    check(Config::new().strategy(Strategy::Canonical), || {
        let m = Mutex::new(1);
        let g = m.lock();
        assert!(m.try_lock().is_none());
        drop(g);
        assert_eq!(*m.try_lock().unwrap(), 1);
    })
    .unwrap_or_else(|f| panic!("{f}"));
}

#[test]
fn a_monitor_condition_nobody_signals_is_a_lost_wakeup() {
    let f = check(Config::new().strategy(Strategy::Canonical), || {
        let m = Arc::new(Monitor::named("tunnel", false, Semantics::Hoare));
        let busy = Arc::new(Condition::named("busy"));
        let (m2, b2) = (m.clone(), busy.clone());
        let s1 = thread::Builder::new()
            .name("S1".into())
            .spawn(move || {
                let mut g = m2.enter();
                if !*g {
                    b2.wait(&mut g);
                }
            })
            .unwrap();
        s1.join().unwrap();
    })
    .expect_err("nobody signals busy");
    assert_eq!(f.kind, FailureKind::LostWakeup);
    assert!(
        f.message
            .starts_with("S1 waits on Condition busy; no thread that could notify it is left"),
        "{}",
        f.message
    );
}
