//! Litmus tests of the weak memory model: for each ordering combination, which outcomes
//! an exploration reaches and which it never does. Each test runs every schedule and
//! every choice of store within a delay bound (a choice of the k-th older store costs k
//! delays), which covers all of these small programs' interleavings.
//!
//! | test  | orderings                              | weak outcome | C11     | here      |
//! |-------|----------------------------------------|--------------|---------|-----------|
//! | MP    | Relaxed flag (store or load)           | 1, 0         | allowed | reached   |
//! | MP    | Release store, Acquire load (or SeqCst)| 1, 0         | no      | never     |
//! | MP    | Relaxed + Release/Acquire fences       | 1, 0         | no      | never     |
//! | SB    | Relaxed, Release/Acquire, mixed SeqCst | 0, 0         | allowed | reached   |
//! | SB    | SeqCst, or Relaxed + SeqCst fences     | 0, 0         | no      | never     |
//! | LB    | any                                    | 1, 1         | allowed for Relaxed | never (as loom) |
//! | 2+2W  | Relaxed, Release                       | x=1, y=1     | allowed | never (modification order = execution order) |
//! | IRIW  | Release/Acquire, Relaxed               | 1,0,1,0      | allowed | reached   |
//! | IRIW  | SeqCst                                 | 1,0,1,0      | no      | never     |
//! | CoRR  | any                                    | 2, 1         | no      | never     |

use std::collections::BTreeSet;
use std::sync::Mutex as StdMutex;

use interleave::explore::{Config, MemoryModel, Strategy, check};
use interleave::sync::Arc;
use interleave::sync::atomic::{AtomicUsize, Ordering, fence};
use interleave::thread;

use Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};

type Outcome = Vec<usize>;

/// Every outcome `body` returns under every schedule within `bound` delays.
fn outcomes_with(
    config: Config,
    body: impl Fn() -> Outcome + Send + Sync + 'static,
) -> BTreeSet<Outcome> {
    let seen = Arc::new(StdMutex::new(BTreeSet::new()));
    let s = seen.clone();
    let stats = check(config, move || {
        let o = body();
        s.lock().unwrap().insert(o);
    })
    .unwrap_or_else(|f| panic!("a litmus test failed:\n{f}"));
    assert!(
        stats.capped.is_none(),
        "the search was cut short: {stats:?}"
    );
    seen.lock().unwrap().clone()
}

fn outcomes(bound: usize, body: impl Fn() -> Outcome + Send + Sync + 'static) -> BTreeSet<Outcome> {
    outcomes_with(
        Config::new().strategy(Strategy::DelayBounded { bound }),
        body,
    )
}

fn two<A, B>(a: A, b: B) -> (usize, usize)
where
    A: FnOnce() -> usize + Send + 'static,
    B: FnOnce() -> usize + Send + 'static,
{
    let ha = thread::spawn(a);
    let hb = thread::spawn(b);
    (ha.join().unwrap(), hb.join().unwrap())
}

/// MP: T1 writes the data then raises the flag; T2 reads the flag then the data.
fn mp(store: Ordering, load: Ordering) -> BTreeSet<Outcome> {
    outcomes(4, move || {
        let data = Arc::new(AtomicUsize::new(0));
        let flag = Arc::new(AtomicUsize::new(0));
        let (d, f) = (data.clone(), flag.clone());
        let (d2, f2) = (data.clone(), flag.clone());
        let (_, r) = two(
            move || {
                d.store(1, Relaxed);
                f.store(1, store);
                0
            },
            move || {
                let r1 = f2.load(load);
                let r2 = d2.load(Relaxed);
                r1 * 10 + r2
            },
        );
        vec![r / 10, r % 10]
    })
}

#[test]
fn mp_a_relaxed_flag_does_not_publish_the_data() {
    for (store, load) in [(Relaxed, Relaxed), (Relaxed, Acquire), (Release, Relaxed)] {
        let o = mp(store, load);
        assert!(o.contains(&vec![1, 0]), "{store:?}/{load:?}: {o:?}");
        assert!(o.contains(&vec![1, 1]) && o.contains(&vec![0, 0]), "{o:?}");
    }
}

#[test]
fn mp_release_acquire_publishes_the_data() {
    for (store, load) in [
        (Release, Acquire),
        (SeqCst, SeqCst),
        (Release, SeqCst),
        (SeqCst, Acquire),
    ] {
        let o = mp(store, load);
        assert!(!o.contains(&vec![1, 0]), "{store:?}/{load:?}: {o:?}");
        assert!(o.contains(&vec![1, 1]) && o.contains(&vec![0, 0]), "{o:?}");
    }
}

#[test]
fn mp_with_fences_publishes_the_data() {
    let fenced = |release_fence: bool, acquire_fence: bool| {
        outcomes(4, move || {
            let data = Arc::new(AtomicUsize::new(0));
            let flag = Arc::new(AtomicUsize::new(0));
            let (d, f) = (data.clone(), flag.clone());
            let (_, r) = two(
                move || {
                    d.store(1, Relaxed);
                    if release_fence {
                        fence(Release);
                    }
                    f.store(1, Relaxed);
                    0
                },
                move || {
                    let r1 = flag.load(Relaxed);
                    if acquire_fence {
                        fence(Acquire);
                    }
                    r1 * 10 + data.load(Relaxed)
                },
            );
            vec![r / 10, r % 10]
        })
    };
    assert!(!fenced(true, true).contains(&vec![1, 0]));
    assert!(fenced(true, false).contains(&vec![1, 0]));
    assert!(fenced(false, true).contains(&vec![1, 0]));
}

/// SB: each thread stores to its location, then loads the other's.
fn sb(store: Ordering, load: Ordering, sc_fence: bool) -> BTreeSet<Outcome> {
    outcomes(4, move || {
        let x = Arc::new(AtomicUsize::new(0));
        let y = Arc::new(AtomicUsize::new(0));
        let (x1, y1, x2, y2) = (x.clone(), y.clone(), x.clone(), y.clone());
        let (r1, r2) = two(
            move || {
                x1.store(1, store);
                if sc_fence {
                    fence(SeqCst);
                }
                y1.load(load)
            },
            move || {
                y2.store(1, store);
                if sc_fence {
                    fence(SeqCst);
                }
                x2.load(load)
            },
        );
        vec![r1, r2]
    })
}

#[test]
fn sb_both_zero_without_seqcst() {
    for (store, load) in [
        (Relaxed, Relaxed),
        (Release, Acquire),
        (SeqCst, Acquire),
        (Release, SeqCst),
    ] {
        let o = sb(store, load, false);
        assert!(o.contains(&vec![0, 0]), "{store:?}/{load:?}: {o:?}");
    }
}

#[test]
fn sb_never_both_zero_with_seqcst() {
    let o = sb(SeqCst, SeqCst, false);
    assert!(!o.contains(&vec![0, 0]), "{o:?}");
    assert_eq!(o.len(), 3, "{o:?}");
    let o = sb(Relaxed, Relaxed, true);
    assert!(!o.contains(&vec![0, 0]), "SeqCst fences: {o:?}");
    let o = sb(Release, Acquire, true);
    assert!(!o.contains(&vec![0, 0]), "SeqCst fences: {o:?}");
}

/// LB: each thread loads one location, then stores to the other. C11 allows 1, 1 with
/// Relaxed (each load reads the other thread's later store); this model, like loom's,
/// never lets a load read a store that has not run yet.
#[test]
fn lb_is_never_observed() {
    for o in [Relaxed, Acquire, SeqCst] {
        let store = if o == Acquire { Release } else { o };
        let got = outcomes(4, move || {
            let x = Arc::new(AtomicUsize::new(0));
            let y = Arc::new(AtomicUsize::new(0));
            let (x1, y1, x2, y2) = (x.clone(), y.clone(), x.clone(), y.clone());
            let (r1, r2) = two(
                move || {
                    let r = x1.load(o);
                    y1.store(1, store);
                    r
                },
                move || {
                    let r = y2.load(o);
                    x2.store(1, store);
                    r
                },
            );
            vec![r1, r2]
        });
        assert!(!got.contains(&vec![1, 1]), "{o:?}: {got:?}");
        assert!(
            got.contains(&vec![0, 1]) && got.contains(&vec![1, 0]),
            "{got:?}"
        );
    }
}

/// 2+2W: T1 stores x=1 then y=2, T2 stores y=1 then x=2; afterwards, x=1 and y=1 means
/// each location's first store came last. C11 allows it without SeqCst; here the
/// modification order is the order in which stores run, which rules it out.
#[test]
fn two_plus_two_w_keeps_the_execution_order() {
    for o in [Relaxed, Release, SeqCst] {
        let got = outcomes(4, move || {
            let x = Arc::new(AtomicUsize::new(0));
            let y = Arc::new(AtomicUsize::new(0));
            let (x1, y1, x2, y2) = (x.clone(), y.clone(), x.clone(), y.clone());
            two(
                move || {
                    x1.store(1, o);
                    y1.store(2, o);
                    0
                },
                move || {
                    y2.store(1, o);
                    x2.store(2, o);
                    0
                },
            );
            vec![x.load(Relaxed), y.load(Relaxed)]
        });
        assert!(!got.contains(&vec![1, 1]), "{o:?}: {got:?}");
        assert!(
            got.contains(&vec![2, 2]) && got.contains(&vec![1, 2]),
            "{got:?}"
        );
    }
}

/// IRIW: two writers, two readers that read the locations in opposite orders. Readers
/// that disagree on the order of the two stores (1, 0, 1, 0) are allowed unless
/// everything is SeqCst.
fn iriw(store: Ordering, load: Ordering) -> BTreeSet<Outcome> {
    outcomes_with(
        Config::new()
            .strategy(Strategy::DelayBounded { bound: 3 })
            .max_schedules(200_000),
        move || {
            let x = Arc::new(AtomicUsize::new(0));
            let y = Arc::new(AtomicUsize::new(0));
            let (xa, ya, xb, yb, xc, yc) = (
                x.clone(),
                y.clone(),
                x.clone(),
                y.clone(),
                x.clone(),
                y.clone(),
            );
            let w1 = thread::spawn(move || xa.store(1, store));
            let w2 = thread::spawn(move || ya.store(1, store));
            let r1 = thread::spawn(move || (xb.load(load), yb.load(load)));
            let r2 = thread::spawn(move || (yc.load(load), xc.load(load)));
            w1.join().unwrap();
            w2.join().unwrap();
            let (a, b) = r1.join().unwrap();
            let (c, d) = r2.join().unwrap();
            vec![a, b, c, d]
        },
    )
}

#[test]
fn iriw_readers_may_disagree_without_seqcst() {
    assert!(iriw(Release, Acquire).contains(&vec![1, 0, 1, 0]));
    assert!(iriw(Relaxed, Relaxed).contains(&vec![1, 0, 1, 0]));
}

#[test]
fn iriw_readers_agree_with_seqcst() {
    let o = iriw(SeqCst, SeqCst);
    assert!(!o.contains(&vec![1, 0, 1, 0]), "{o:?}");
    assert!(o.contains(&vec![1, 1, 1, 1]) && o.len() >= 8, "{o:?}");
}

/// CoRR: two loads of one location by one thread never go back in time.
#[test]
fn corr_reads_never_go_back() {
    for o in [Relaxed, Acquire, SeqCst] {
        let got = outcomes(4, move || {
            let x = Arc::new(AtomicUsize::new(0));
            let (x1, x2) = (x.clone(), x.clone());
            let (_, r) = two(
                move || {
                    x1.store(1, Relaxed);
                    x1.store(2, Relaxed);
                    0
                },
                move || {
                    let a = x2.load(o);
                    a * 10 + x2.load(o)
                },
            );
            vec![r / 10, r % 10]
        });
        assert!(!got.contains(&vec![2, 1]), "{o:?}: {got:?}");
        assert!(
            got.contains(&vec![0, 2]) && got.contains(&vec![1, 1]),
            "{got:?}"
        );
    }
}

/// Read-modify-writes read the latest store: relaxed counters lose nothing.
#[test]
fn relaxed_read_modify_writes_lose_no_update() {
    for o in [Relaxed, AcqRel] {
        let got = outcomes(4, move || {
            let n = Arc::new(AtomicUsize::new(0));
            let (a, b) = (n.clone(), n.clone());
            two(
                move || {
                    a.fetch_add(1, o);
                    a.fetch_add(1, o)
                },
                move || b.fetch_add(1, o),
            );
            vec![n.load(Relaxed)]
        });
        assert_eq!(got, BTreeSet::from([vec![3]]), "{o:?}");
    }
}

/// With the sequentially consistent model, MP with a Relaxed flag never shows stale data.
#[test]
fn the_seqcst_model_switches_weak_behaviour_off() {
    let o = outcomes_with(
        Config::new()
            .strategy(Strategy::DelayBounded { bound: 4 })
            .memory(MemoryModel::SeqCst),
        || {
            let data = Arc::new(AtomicUsize::new(0));
            let flag = Arc::new(AtomicUsize::new(0));
            let (d, f) = (data.clone(), flag.clone());
            let (_, r) = two(
                move || {
                    d.store(1, Relaxed);
                    f.store(1, Relaxed);
                    0
                },
                move || flag.load(Relaxed) * 10 + data.load(Relaxed),
            );
            vec![r / 10, r % 10]
        },
    );
    assert!(!o.contains(&vec![1, 0]), "{o:?}");
}
