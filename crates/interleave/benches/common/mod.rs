//! The benchmark programs, written once for both engines: `ours` runs them on interleave,
//! `theirs` on shuttle (std's API: `lock()` returns a `LockResult`, `wait` takes the guard
//! by value). `check` turns the bug oracle on; the timing bench turns it off, so that
//! every schedule runs to the end on both engines.

#![allow(dead_code)]

macro_rules! programs {
    ($sync:path, $atomic:path, $thread:path, $lock:ident, $wait:ident) => {
        use std::collections::VecDeque;
        use std::hint::black_box;
        use std::sync::Arc;
        use $atomic as a;
        use $sync as s;
        use $thread as t;

        /// The bounded buffer: capacity 2, two producers and two consumers moving 5 items
        /// each, one mutex and two condition variables.
        pub fn bounded_buffer(_n: usize, _check: bool) {
            const CAP: usize = 2;
            const ITEMS: u32 = 5;
            struct Buf {
                q: s::Mutex<VecDeque<u32>>,
                not_empty: s::Condvar,
                not_full: s::Condvar,
            }
            let b = Arc::new(Buf {
                q: s::Mutex::new(VecDeque::new()),
                not_empty: s::Condvar::new(),
                not_full: s::Condvar::new(),
            });
            let mut hs = Vec::new();
            for _ in 0..2 {
                let b1 = b.clone();
                hs.push(t::spawn(move || {
                    for i in 0..ITEMS {
                        let mut q = $lock!(b1.q);
                        while q.len() == CAP {
                            q = $wait!(b1.not_full, q);
                        }
                        q.push_back(i);
                        drop(q);
                        b1.not_empty.notify_one();
                    }
                }));
                let b2 = b.clone();
                hs.push(t::spawn(move || {
                    for _ in 0..ITEMS {
                        let mut q = $lock!(b2.q);
                        while q.is_empty() {
                            q = $wait!(b2.not_empty, q);
                        }
                        black_box(q.pop_front());
                        drop(q);
                        b2.not_full.notify_one();
                    }
                }));
            }
            for h in hs {
                h.join().unwrap();
            }
        }

        /// SCTBench's `reorder_N_bad`: N - 1 threads set `a = 1; b = -1`, one checks that
        /// it sees both writes or neither.
        pub fn reorder(n: usize, check: bool) {
            let x = Arc::new((a::AtomicI32::new(0), a::AtomicI32::new(0)));
            let mut hs = Vec::new();
            for _ in 0..n - 1 {
                let x = x.clone();
                hs.push(t::spawn(move || {
                    x.0.store(1, a::Ordering::SeqCst);
                    x.1.store(-1, a::Ordering::SeqCst);
                }));
            }
            let c = x.clone();
            hs.push(t::spawn(move || {
                let va = c.0.load(a::Ordering::SeqCst);
                let vb = c.1.load(a::Ordering::SeqCst);
                if check {
                    assert!(
                        (va == 0 && vb == 0) || (va == 1 && vb == -1),
                        "reorder bug: a = {va}, b = {vb}"
                    );
                }
            }));
            for h in hs {
                h.join().unwrap();
            }
        }

        /// SCTBench's `twostage_N_bad`: N threads publish `data1` then, in a second
        /// critical section, `data2 = data1 + 1`; one reader takes `data1` and `data2` in
        /// two critical sections and may see the first stage without the second.
        pub fn twostage(n: usize, check: bool) {
            struct Shared {
                m1: s::Mutex<()>,
                m2: s::Mutex<()>,
                d1: a::AtomicI32,
                d2: a::AtomicI32,
            }
            let x = Arc::new(Shared {
                m1: s::Mutex::new(()),
                m2: s::Mutex::new(()),
                d1: a::AtomicI32::new(0),
                d2: a::AtomicI32::new(0),
            });
            let mut hs = Vec::new();
            for _ in 0..n {
                let x = x.clone();
                hs.push(t::spawn(move || {
                    {
                        let _g = $lock!(x.m1);
                        x.d1.store(1, a::Ordering::SeqCst);
                    }
                    {
                        let _g = $lock!(x.m2);
                        let v = x.d1.load(a::Ordering::SeqCst);
                        x.d2.store(v + 1, a::Ordering::SeqCst);
                    }
                }));
            }
            let r = x.clone();
            hs.push(t::spawn(move || {
                let t1;
                {
                    let _g = $lock!(r.m1);
                    if r.d1.load(a::Ordering::SeqCst) == 0 {
                        return;
                    }
                    t1 = r.d1.load(a::Ordering::SeqCst);
                }
                let t2;
                {
                    let _g = $lock!(r.m2);
                    t2 = r.d2.load(a::Ordering::SeqCst);
                }
                if check {
                    assert_eq!(t2, t1 + 1, "two-stage bug");
                }
            }));
            for h in hs {
                h.join().unwrap();
            }
        }
    };
}

macro_rules! lock_ours {
    ($m:expr) => {
        $m.lock()
    };
}
macro_rules! lock_std {
    ($m:expr) => {
        $m.lock().unwrap()
    };
}
macro_rules! wait_ours {
    ($cv:expr, $g:expr) => {{
        let mut g = $g;
        $cv.wait(&mut g);
        g
    }};
}
macro_rules! wait_std {
    ($cv:expr, $g:expr) => {
        $cv.wait($g).unwrap()
    };
}

pub mod ours {
    programs!(
        interleave::sync,
        interleave::sync::atomic,
        interleave::thread,
        lock_ours,
        wait_ours
    );
}

pub mod theirs {
    programs!(
        shuttle::sync,
        shuttle::sync::atomic,
        shuttle::thread,
        lock_std,
        wait_std
    );
}

/// A program of the benchmarks: its size parameter, whether to check, on one engine.
pub type Program = fn(usize, bool);

/// A workload: a program and its size, for both engines.
#[derive(Clone, Copy)]
pub struct Workload {
    pub name: &'static str,
    pub n: usize,
    pub ours: Program,
    pub theirs: Program,
}

pub fn workloads() -> Vec<Workload> {
    let mut w = vec![Workload {
        name: "bounded_buffer",
        n: 4,
        ours: ours::bounded_buffer,
        theirs: theirs::bounded_buffer,
    }];
    for (name, n) in [("reorder10", 10), ("reorder20", 20), ("reorder100", 100)] {
        w.push(Workload {
            name,
            n,
            ours: ours::reorder,
            theirs: theirs::reorder,
        });
    }
    for (name, n) in [("twostage10", 10), ("twostage20", 20), ("twostage100", 100)] {
        w.push(Workload {
            name,
            n,
            ours: ours::twostage,
            theirs: theirs::twostage,
        });
    }
    w
}

pub fn workload(name: &str) -> Workload {
    workloads()
        .into_iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("unknown workload {name}"))
}
