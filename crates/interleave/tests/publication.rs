//! Data published through atomics: a tracked cell (`interleave::cell::UnsafeCell`) fails
//! the schedule when a read is not ordered after the write it reads (a flag raised with
//! Relaxed, or read with Relaxed), and the report names the atomic and the orderings.
//! Release/Acquire, SeqCst, fences, locks, channels and joins all publish.

use interleave::cell::UnsafeCell;
use interleave::explore::{Config, MemoryModel, Strategy, check};
use interleave::report::FailureKind;
use interleave::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use interleave::sync::{Arc, Mutex};
use interleave::thread;

use Ordering::{Acquire, Relaxed, Release, SeqCst};

struct Shared {
    data: UnsafeCell<u64>,
    ready: AtomicBool,
}

// SAFETY: the tests below only run in simulations (one OS thread), where the model
// checks every access to `data`.
unsafe impl Sync for Shared {}

/// The producer writes the data and raises `ready`; the consumer waits for it and reads.
fn publish(store: Ordering, load: Ordering, fences: bool) -> Result<(), FailureKind> {
    let r = check(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        move || {
            let s = Arc::new(Shared {
                data: UnsafeCell::named("the message", 0),
                ready: AtomicBool::named("ready", false),
            });
            let p = s.clone();
            let producer = thread::spawn(move || {
                // SAFETY: the consumer reads only after `ready`.
                p.data.with_mut(|d| unsafe { *d = 42 });
                if fences {
                    fence(Release);
                }
                p.ready.store(true, store);
            });
            while !s.ready.load(load) {
                thread::yield_now();
            }
            if fences {
                fence(Acquire);
            }
            // SAFETY: the producer wrote before raising `ready`.
            let v = s.data.with(|d| unsafe { *d });
            assert_eq!(v, 42);
            producer.join().unwrap();
        },
    );
    r.map(|_| ()).map_err(|f| {
        if f.kind == FailureKind::DataRace {
            let m = f.message.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(m.contains("data race on the message"), "{m}");
            assert!(m.contains("main reads it"), "{m}");
            assert!(m.contains("T1's write at step"), "{m}");
            assert!(m.contains("load of ready"), "{m}");
        }
        f.kind
    })
}

#[test]
fn release_acquire_publishes() {
    assert_eq!(publish(Release, Acquire, false), Ok(()));
    assert_eq!(publish(SeqCst, SeqCst, false), Ok(()));
    assert_eq!(publish(Relaxed, Relaxed, true), Ok(()));
}

#[test]
fn a_relaxed_store_or_load_is_a_data_race() {
    assert_eq!(publish(Relaxed, Acquire, false), Err(FailureKind::DataRace));
    assert_eq!(publish(Release, Relaxed, false), Err(FailureKind::DataRace));
    assert_eq!(publish(Relaxed, Relaxed, false), Err(FailureKind::DataRace));
}

#[test]
fn the_report_names_the_missing_release() {
    let f = check(Config::new().strategy(Strategy::Canonical), || {
        let s = Arc::new(Shared {
            data: UnsafeCell::named("the message", 0),
            ready: AtomicBool::named("ready", false),
        });
        let p = s.clone();
        let h = thread::spawn(move || {
            // SAFETY: see `publish`.
            p.data.with_mut(|d| unsafe { *d = 1 });
            p.ready.store(true, Relaxed);
        });
        h.join().unwrap();
        let _ = s.ready.load(Acquire);
        // Joined: ordered, whatever the flag.
        // SAFETY: the writer has finished.
        s.data.with(|d| unsafe { *d });
    });
    assert!(f.is_ok(), "a join orders: {f:?}");
    let f = check(Config::new().strategy(Strategy::Canonical), || {
        let s = Arc::new(Shared {
            data: UnsafeCell::named("the message", 0),
            ready: AtomicBool::named("ready", false),
        });
        let p = s.clone();
        let h = thread::spawn(move || {
            // SAFETY: see `publish`.
            p.data.with_mut(|d| unsafe { *d = 1 });
            p.ready.store(true, Relaxed);
        });
        while !s.ready.load(Acquire) {
            thread::yield_now();
        }
        // SAFETY: see `publish`.
        s.data.with(|d| unsafe { *d });
        h.join().unwrap();
    })
    .expect_err("a Relaxed store publishes nothing");
    let m = f.message.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        m.contains(
            "main's Acquire load of ready (step 7) read a value T1 stored with Relaxed, and a \
             Relaxed store publishes nothing"
        ),
        "{m}"
    );
    let report = f.to_string();
    assert!(report.contains("data race"), "{report}");
    eprintln!("{report}");
}

#[test]
fn locks_channels_and_unpark_publish() {
    let stats = check(Config::new().iterations(200), || {
        let m = Arc::new(Mutex::new(()));
        let cell = Arc::new(Shared {
            data: UnsafeCell::new(0),
            ready: AtomicBool::new(false),
        });
        let (tx, rx) = interleave::channel::unbounded::<()>();
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let (m, c, tx) = (m.clone(), cell.clone(), tx.clone());
                thread::spawn(move || {
                    let _g = m.lock();
                    // SAFETY: under the mutex.
                    c.data.with_mut(|d| unsafe { *d += 1 });
                    tx.send(()).unwrap();
                })
            })
            .collect();
        rx.recv().unwrap();
        rx.recv().unwrap();
        // SAFETY: both writers sent after writing.
        assert_eq!(cell.data.with(|d| unsafe { *d }), 2);
        for h in hs {
            h.join().unwrap();
        }
    });
    assert!(stats.is_ok(), "{}", stats.unwrap_err());
}

#[test]
fn unsynchronised_writers_race() {
    let f = check(Config::new().iterations(50), || {
        let c = Arc::new(Shared {
            data: UnsafeCell::named("the counter", 0),
            ready: AtomicBool::new(false),
        });
        let hs: Vec<_> = (0..2)
            .map(|_| {
                let c = c.clone();
                // SAFETY: none: this is the race the test wants found.
                thread::spawn(move || c.data.with_mut(|d| unsafe { *d += 1 }))
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    })
    .expect_err("two unsynchronised writers");
    assert_eq!(f.kind, FailureKind::DataRace, "{f}");
    let m = f.message.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(m.contains("data race on the counter: T2 writes it"), "{m}");
    assert!(m.contains("nothing T2 did synchronised with T1"), "{m}");
}

#[test]
fn the_seqcst_model_and_real_mode_check_nothing() {
    let r = check(
        Config::new().iterations(50).memory(MemoryModel::SeqCst),
        || {
            let c = Arc::new(Shared {
                data: UnsafeCell::new(0),
                ready: AtomicBool::new(false),
            });
            let d = c.clone();
            // SAFETY: simulated threads run one at a time on one OS thread.
            let h = thread::spawn(move || d.data.with_mut(|x| unsafe { *x += 1 }));
            // SAFETY: as above.
            c.data.with_mut(|x| unsafe { *x += 1 });
            h.join().unwrap();
        },
    );
    assert!(r.is_ok());
    let c = UnsafeCell::new(5);
    // SAFETY: one thread.
    c.with_mut(|x| unsafe { *x += 1 });
    // SAFETY: one thread.
    assert_eq!(c.with(|x| unsafe { *x }), 6);
    assert_eq!(c.into_inner(), 6);
}

/// A stale load is replayed by the schedule string and the seed the report prints.
#[test]
fn a_stale_read_replays() {
    let body = || {
        let data = Arc::new(AtomicUsize::named("data", 0));
        let flag = Arc::new(AtomicUsize::named("flag", 0));
        let (d, f) = (data.clone(), flag.clone());
        let h = thread::spawn(move || {
            d.store(1, Relaxed);
            f.store(1, Relaxed);
        });
        let r1 = flag.load(Relaxed);
        let r2 = data.load(Relaxed);
        assert!(!(r1 == 1 && r2 == 0), "stale data behind a raised flag");
        h.join().unwrap();
    };
    for strategy in [Strategy::DelayBounded { bound: 3 }, Strategy::Random] {
        let f = check(Config::new().strategy(strategy).iterations(500), body)
            .expect_err("the stale read is found");
        assert!(
            f.trace.compact().contains("(stale: the latest store is 1)"),
            "{f}"
        );
        let replay = match Strategy::parse(&f.strategy).unwrap() {
            Strategy::Random => Config::new()
                .strategy(Strategy::Random)
                .seed(f.seed)
                .iterations(1),
            s => Config::new().strategy(s),
        };
        let again = check(replay, body).expect_err("the replay fails too");
        assert_eq!(again.message, f.message);
        assert_eq!(again.trace.compact(), f.trace.compact());
    }
}
