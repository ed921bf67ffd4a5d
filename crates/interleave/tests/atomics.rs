//! The atomics' API is std's: every method gives std's result in real mode and in a
//! simulation, where each is one scheduling point and one event of the trace.

use interleave::explore::{Config, Strategy, check};
use interleave::sync::Arc;
use interleave::sync::atomic::{
    AtomicBool, AtomicI8, AtomicI32, AtomicU8, AtomicU16, AtomicU64, AtomicUsize, Ordering,
};
use interleave::thread;

const O: Ordering = Ordering::SeqCst;

/// The same sequence of operations against std's atomics, returning every result.
fn ops_u64(a: &AtomicU64) -> Vec<String> {
    vec![
        format!("{:?}", a.fetch_or(0b1010, O)),
        format!("{:?}", a.fetch_and(0b0110, O)),
        format!("{:?}", a.fetch_xor(0b1111, O)),
        format!("{:?}", a.fetch_nand(0b0101, O)),
        format!("{:?}", a.fetch_max(7, O)),
        format!("{:?}", a.fetch_min(3, O)),
        format!("{:?}", a.fetch_update(O, O, |v| Some(v * 10))),
        format!("{:?}", a.fetch_update(O, O, |v| (v > 100).then_some(0))),
        format!("{:?}", a.compare_exchange_weak(30, 31, O, O)),
        format!("{:?}", a.fetch_add(u64::MAX, O)),
        format!("{:?}", a.load(O)),
    ]
}

fn ops_std(a: &std::sync::atomic::AtomicU64) -> Vec<String> {
    vec![
        format!("{:?}", a.fetch_or(0b1010, O)),
        format!("{:?}", a.fetch_and(0b0110, O)),
        format!("{:?}", a.fetch_xor(0b1111, O)),
        format!("{:?}", a.fetch_nand(0b0101, O)),
        format!("{:?}", a.fetch_max(7, O)),
        format!("{:?}", a.fetch_min(3, O)),
        format!("{:?}", a.fetch_update(O, O, |v| Some(v * 10))),
        format!("{:?}", a.fetch_update(O, O, |v| (v > 100).then_some(0))),
        format!("{:?}", a.compare_exchange_weak(30, 31, O, O)),
        format!("{:?}", a.fetch_add(u64::MAX, O)),
        format!("{:?}", a.load(O)),
    ]
}

fn ops_bool(a: &AtomicBool) -> Vec<String> {
    vec![
        format!("{:?}", a.fetch_or(true, O)),
        format!("{:?}", a.fetch_and(false, O)),
        format!("{:?}", a.fetch_xor(true, O)),
        format!("{:?}", a.fetch_nand(true, O)),
        format!("{:?}", a.fetch_update(O, O, |v| Some(!v))),
        format!("{:?}", a.compare_exchange_weak(true, false, O, O)),
        format!("{:?}", a.swap(true, O)),
        format!("{:?}", a.load(O)),
    ]
}

fn ops_bool_std(a: &std::sync::atomic::AtomicBool) -> Vec<String> {
    vec![
        format!("{:?}", a.fetch_or(true, O)),
        format!("{:?}", a.fetch_and(false, O)),
        format!("{:?}", a.fetch_xor(true, O)),
        format!("{:?}", a.fetch_nand(true, O)),
        format!("{:?}", a.fetch_update(O, O, |v| Some(!v))),
        format!("{:?}", a.compare_exchange_weak(true, false, O, O)),
        format!("{:?}", a.swap(true, O)),
        format!("{:?}", a.load(O)),
    ]
}

#[test]
fn real_mode_gives_std_results() {
    let expected = ops_std(&std::sync::atomic::AtomicU64::new(1));
    assert_eq!(ops_u64(&AtomicU64::new(1)), expected);
    let expected = ops_bool_std(&std::sync::atomic::AtomicBool::new(false));
    assert_eq!(ops_bool(&AtomicBool::new(false)), expected);
    // Default, From, get_mut, into_inner, and the small types.
    assert_eq!(AtomicUsize::default().load(O), 0);
    assert!(!AtomicBool::default().load(O));
    let mut a = AtomicI32::from(-4);
    *a.get_mut() -= 1;
    assert_eq!(a.into_inner(), -5);
    assert_eq!(AtomicU8::new(250).fetch_add(10, O), 250);
    assert_eq!(AtomicI8::new(-128).fetch_min(5, O), -128);
    assert_eq!(AtomicU16::from(9).fetch_max(10, O), 9);
}

#[test]
fn a_simulation_gives_std_results_one_step_each() {
    let expected = ops_std(&std::sync::atomic::AtomicU64::new(1));
    let expected_bool = ops_bool_std(&std::sync::atomic::AtomicBool::new(false));
    let f = check(Config::new().strategy(Strategy::Canonical), move || {
        let a = AtomicU64::named("bits", 1);
        assert_eq!(ops_u64(&a), expected);
        let b = AtomicBool::named("flag", false);
        assert_eq!(ops_bool(&b), expected_bool);
        panic!("done");
    })
    .expect_err("the body ends with a panic, to hand the trace back");
    let trace = f.trace.compact();
    for line in [
        "fetch_or 10 bits: 1",
        "fetch_and 6 bits: 11",
        "fetch_xor 15 bits: 2",
        "fetch_nand 5 bits: 13",
        "fetch_max 7 bits: 18446744073709551610",
        "fetch_min 3 bits: 18446744073709551610",
        // fetch_update is std's loop: a load, then a compare-exchange.
        "load bits: 3",
        "compare_exchange_weak 3->30 bits: Ok(3)",
        "compare_exchange_weak 30->31 bits: Ok(30)",
        "fetch_add 18446744073709551615 bits: 31",
        "load bits: 30",
        "fetch_or true flag: false",
        "fetch_nand true flag: true",
        "compare_exchange_weak false->true flag: Ok(false)",
        "compare_exchange_weak true->false flag: Ok(true)",
    ] {
        assert!(trace.contains(line), "{line:?} not in\n{trace}");
    }
}

#[test]
fn fetch_update_retries_when_another_thread_gets_in_between() {
    // Two threads double a counter with fetch_update: never a lost update, and in
    // some schedule the closure runs again because the other thread changed the value
    // between the load and the compare-exchange.
    let retried = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = retried.clone();
    check(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        move || {
            let a = Arc::new(AtomicUsize::new(1));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let a = a.clone();
                    let r = r.clone();
                    thread::spawn(move || {
                        let mut calls = 0;
                        a.fetch_update(O, O, |v| {
                            calls += 1;
                            Some(v * 2)
                        })
                        .unwrap();
                        if calls > 1 {
                            r.store(true, O);
                        }
                    })
                })
                .collect();
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(a.load(O), 4);
        },
    )
    .unwrap_or_else(|f| panic!("{f}"));
    assert!(retried.load(O), "no schedule made fetch_update retry");
}

#[test]
fn fetch_max_is_one_step_where_a_load_then_store_loses() {
    // The racy maximum (load, compare, store) loses a value; fetch_max does not.
    let racy = || {
        let m = Arc::new(AtomicI32::named("max", 0));
        let hs: Vec<_> = [5, 9]
            .into_iter()
            .map(|v| {
                let m = m.clone();
                thread::spawn(move || {
                    if m.load(O) < v {
                        m.store(v, O);
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(m.load(O), 9, "the maximum was lost");
    };
    let f = check(Config::new().iterations(200), racy).expect_err("found");
    assert!(f.message.contains("the maximum was lost"), "{f}");
    check(Config::new().iterations(200), || {
        let m = Arc::new(AtomicI32::named("max", 0));
        let hs: Vec<_> = [5, 9]
            .into_iter()
            .map(|v| {
                let m = m.clone();
                thread::spawn(move || {
                    m.fetch_max(v, O);
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(m.load(O), 9);
    })
    .unwrap_or_else(|f| panic!("{f}"));
}

#[test]
fn a_static_atomic_is_one_object_per_simulation() {
    static HITS: AtomicUsize = AtomicUsize::new(0);
    for _ in 0..3 {
        let f = check(Config::new().strategy(Strategy::Canonical), || {
            HITS.fetch_add(1, O);
            HITS.fetch_add(1, O);
            panic!("end");
        })
        .unwrap_err();
        // Registered once per simulation, under the same name each time.
        let objects: Vec<_> = f
            .trace
            .events
            .iter()
            .filter(|e| e.op.starts_with("fetch_add"))
            .map(|e| e.object.clone())
            .collect();
        assert_eq!(objects.len(), 2, "{}", f.trace.compact());
        assert_eq!(objects[0], objects[1], "{}", f.trace.compact());
        assert_eq!(objects[0].as_deref(), Some("HITS"), "{}", f.trace.compact());
    }
}
