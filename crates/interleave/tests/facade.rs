//! The facade mirrors the real crates: each item works in a simulation and in real mode
//! (on OS threads, delegating to parking_lot, std and crossbeam-channel), objects are
//! named from where they are created, and std items in a student's file are reported.

use std::sync::atomic::{AtomicUsize as StdAtomicUsize, Ordering as StdOrdering};
use std::time::Duration;

use interleave::channel::{
    self, RecvTimeoutError, Select, SendTimeoutError, TryRecvError, bounded, select, unbounded,
};
use interleave::explore::{Config, Strategy, check};
use interleave::real::within;
use interleave::report::{Failure, FailureKind};
use interleave::semaphore::Semaphore;
use interleave::sync::{Arc, Condvar, Mutex, ReentrantMutex, RwLock};
use interleave::thread;
use interleave::time::Instant;

#[path = "fixtures/exercises/uses_std.rs"]
mod uses_std;

const BUDGET: Duration = Duration::from_secs(30);

fn canonical() -> Config {
    Config::new().strategy(Strategy::Canonical)
}

/// Runs `body` once under the canonical schedule and fails the test with the report.
fn sim(body: impl Fn() + Send + Sync + 'static) {
    check(canonical(), body).unwrap_or_else(|f| panic!("{f}"));
}

/// The failure `body` must produce.
fn fails(config: Config, body: impl Fn() + Send + Sync + 'static) -> Box<Failure> {
    check(config, body).expect_err("the body must fail")
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------
// Names from the creation site

struct Buffer {
    items: Mutex<Vec<u32>>,
    not_empty: Condvar,
}

#[test]
fn a_field_names_its_object() {
    let f = fails(canonical(), || {
        let b = Buffer {
            items: Mutex::new(Vec::new()),
            not_empty: Condvar::new(),
        };
        let mut g = b.items.lock();
        while g.is_empty() {
            b.not_empty.wait(&mut g);
        }
    });
    assert_eq!(f.kind, FailureKind::LostWakeup, "{f}");
    assert!(
        f.message.starts_with("main waits on Condvar not_empty"),
        "{f}"
    );
    assert!(f.trace.compact().contains("lock items: acquired"), "{f}");
}

#[test]
fn a_tuple_element_is_named_by_its_position() {
    let f = fails(canonical(), || {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let mut ready = pair.0.lock();
        while !*ready {
            pair.1.wait(&mut ready);
        }
    });
    assert!(f.message.starts_with("main waits on Condvar pair.1"), "{f}");
    assert!(f.trace.compact().contains("lock pair.0"), "{f}");
}

#[test]
fn a_collection_is_numbered_by_role() {
    let f = fails(Config::new().iterations(300), || {
        let forks: Arc<Vec<Mutex<()>>> = Arc::new((0..3).map(|_| Mutex::new(())).collect());
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let forks = forks.clone();
                thread::Builder::new()
                    .name(format!("P{i}"))
                    .spawn(move || {
                        let _l = forks[i].lock();
                        let _r = forks[(i + 1) % 3].lock();
                    })
                    .unwrap()
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
    assert_eq!(f.kind, FailureKind::Deadlock, "{f}");
    for i in 0..3 {
        let next = (i + 1) % 3;
        let part = format!("P{i} waits for Mutex fork {next} held by P{next}");
        assert!(f.message.contains(&part), "{f}");
    }
}

#[derive(Default)]
struct Shared {
    count: Mutex<u32>,
    changed: Condvar,
}

#[test]
fn derive_default_names_the_fields() {
    let f = fails(canonical(), || {
        let s = Shared::default();
        let mut g = s.count.lock();
        s.changed.wait(&mut g);
    });
    assert!(
        f.message.starts_with("main waits on Condvar changed"),
        "{f}"
    );
    assert!(f.trace.compact().contains("lock count"), "{f}");
}

#[test]
fn a_channel_is_named_after_its_ends() {
    let f = fails(canonical(), || {
        let (results_tx, results_rx) = unbounded::<u32>();
        let _ = results_rx.recv();
        drop(results_tx);
    });
    assert!(
        f.message
            .starts_with("main waits to receive on Channel results"),
        "{f}"
    );
}

#[test]
fn an_explicit_name_overrides_the_site() {
    let f = fails(canonical(), || {
        let m = Mutex::named("explicit", ());
        let _a = m.lock();
        let _b = m.lock();
    });
    assert!(f.message.contains("Mutex explicit"), "{f}");
}

#[test]
fn a_site_reached_twice_numbers_its_objects() {
    struct Account {
        balance: Mutex<i64>,
    }
    fn account() -> Account {
        Account {
            balance: Mutex::new(0),
        }
    }
    let f = fails(canonical(), || {
        let _a = account();
        let b = account();
        let _x = b.balance.lock();
        let _y = b.balance.lock();
    });
    assert!(f.message.contains("Mutex balance#2"), "{f}");
}

// ---------------------------------------------------------------------------------------
// std items in a student's file

#[test]
fn std_thread_current_in_a_student_file_is_reported_with_the_facade_item() {
    let f = fails(canonical(), || {
        let o = uses_std::make();
        uses_std::claim(&o);
    });
    assert_eq!(f.kind, FailureKind::Panic, "{f}");
    for part in [
        "uses_std.rs runs in a simulation but uses what the scheduler cannot see",
        "line 21: `std::thread::current` returns the same thread",
        "use interleave::thread::current instead",
    ] {
        assert!(f.message.contains(part), "{part}\n\n{f}");
    }
}

#[test]
fn escape_report_names_std_only_in_a_file_that_uses_interleave() {
    let simulated = "use interleave::sync::Mutex;\nstatic N: std::sync::atomic::AtomicU64 = \
                     std::sync::atomic::AtomicU64::new(0);\n";
    let report = interleave::escape_report("a.rs", simulated).expect("a report");
    assert!(
        report.contains("line 2: `std::sync::atomic::AtomicU64`"),
        "{report}"
    );
    // A process step (two processes share an atomic in a mapping) has no simulation, even
    // when a comment says the processes interleave.
    let forked = "//! however the two processes interleave\n\
                  pub fn increment(c: &std::sync::atomic::AtomicU64) {}\n";
    assert_eq!(interleave::escape_report("b.rs", forked), None);
}

#[test]
fn the_same_student_file_is_fine_in_real_mode() {
    let o = uses_std::make();
    uses_std::claim(&o);
    assert_eq!(*o.owner.lock(), Some(std::thread::current().id()));
}

// ---------------------------------------------------------------------------------------
// select! and Select

#[test]
fn select_takes_the_ready_arm_in_a_simulation() {
    sim(|| {
        let (a_tx, a_rx) = unbounded::<u32>();
        let (b_tx, b_rx) = unbounded::<&str>();
        let t = thread::spawn(move || b_tx.send("b").unwrap());
        let got = select! {
            recv(a_rx) -> m => format!("a {m:?}"),
            recv(b_rx) -> m => format!("b {m:?}"),
        };
        assert_eq!(got, "b Ok(\"b\")");
        t.join().unwrap();
        drop(a_tx);
    });
}

#[test]
fn select_takes_the_ready_arm_in_real_mode() {
    within(BUDGET, "a select on real threads", || {
        let (_a_tx, a_rx) = unbounded::<u32>();
        let (b_tx, b_rx) = unbounded::<&str>();
        let t = std::thread::spawn(move || b_tx.send("b").unwrap());
        let got = select! {
            recv(a_rx) -> m => format!("a {m:?}"),
            recv(b_rx) -> m => format!("b {m:?}"),
        };
        assert_eq!(got, "b Ok(\"b\")");
        t.join().unwrap();
    });
}

/// Sends to whichever of two full-or-not channels has room, else runs `default`.
fn send_or_default() -> Vec<String> {
    let (a_tx, a_rx) = bounded::<u32>(1);
    let (b_tx, b_rx) = bounded::<u32>(0);
    a_tx.send(0).unwrap();
    let mut log = Vec::new();
    select! {
        send(a_tx, 1) -> r => log.push(format!("a {r:?}")),
        send(b_tx, 2) -> r => log.push(format!("b {r:?}")),
        default => log.push("default".to_string()),
    }
    // Room again: the send arm runs, and its message arrives.
    assert_eq!(a_rx.recv(), Ok(0));
    select! {
        send(a_tx, 3) -> r => log.push(format!("a {r:?}")),
        default => log.push("default".to_string()),
    }
    log.push(format!("got {:?}", a_rx.try_recv()));
    drop(b_rx);
    select! {
        send(b_tx, 4) -> r => log.push(format!("b {}", r.is_err())),
    }
    log
}

#[test]
fn select_send_arms_and_default_in_both_modes() {
    let expected = ["default", "a Ok(())", "got Ok(3)", "b true"];
    sim(move || assert_eq!(send_or_default(), expected));
    let real = within(BUDGET, "select send arms", send_or_default);
    assert_eq!(real, expected);
}

#[test]
fn select_with_a_timeout_uses_virtual_time() {
    sim(|| {
        let (_tx, rx) = unbounded::<u32>();
        let start = Instant::now();
        let timed_out = select! {
            recv(rx) -> _ => false,
            default(Duration::from_secs(3)) => true,
        };
        assert!(timed_out);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    });
}

#[test]
fn select_with_a_timeout_in_real_mode() {
    within(BUDGET, "a select with a timeout", || {
        let (_tx, rx) = unbounded::<u32>();
        let start = Instant::now();
        let timed_out = select! {
            recv(rx) -> _ => false,
            default(ms(20)) => true,
        };
        assert!(timed_out && start.elapsed() >= ms(20));
    });
}

#[test]
fn a_deadlock_in_select_names_every_channel() {
    let f = fails(canonical(), || {
        let (jobs_tx, jobs_rx) = bounded::<u32>(1);
        let (stop_tx, stop_rx) = bounded::<()>(0);
        let worker = thread::Builder::new()
            .name("worker".into())
            .spawn(move || {
                select! {
                    recv(jobs_rx) -> _ => {}
                    recv(stop_rx) -> _ => {}
                }
            })
            .unwrap();
        worker.join().unwrap();
        drop((jobs_tx, stop_tx));
    });
    assert_eq!(f.kind, FailureKind::Deadlock, "{f}");
    assert!(
        f.message.contains(
            "worker waits in select! to receive on Channel jobs or to receive on Channel stop"
        ),
        "{f}"
    );
}

#[test]
fn select_picks_among_ready_arms_depending_on_the_schedule() {
    static PICKED: [StdAtomicUsize; 2] = [StdAtomicUsize::new(0), StdAtomicUsize::new(0)];
    check(
        Config::new().strategy(Strategy::Random).iterations(60),
        || {
            let (a_tx, a_rx) = unbounded::<u32>();
            let (b_tx, b_rx) = unbounded::<u32>();
            a_tx.send(1).unwrap();
            b_tx.send(2).unwrap();
            let t = thread::spawn(move || {
                let k = select! {
                    recv(a_rx) -> _ => 0,
                    recv(b_rx) -> _ => 1,
                };
                PICKED[k].fetch_add(1, StdOrdering::Relaxed);
            });
            t.join().unwrap();
        },
    )
    .unwrap_or_else(|f| panic!("{f}"));
    assert!(
        PICKED.iter().all(|p| p.load(StdOrdering::Relaxed) > 0),
        "both ready arms are taken in some schedule: {PICKED:?}"
    );
}

#[test]
fn the_select_struct_mirrors_crossbeams() {
    let run = || {
        let (tx1, rx1) = unbounded::<i32>();
        let (tx2, rx2) = unbounded::<i32>();
        tx2.send(7).unwrap();
        let mut sel = Select::new();
        let first = sel.recv(&rx1);
        let second = sel.recv(&rx2);
        let oper = sel.select();
        assert_eq!(oper.index(), second);
        assert_eq!(oper.recv(&rx2), Ok(7));
        sel.remove(second);
        assert!(sel.try_select().is_err());
        tx1.send(1).unwrap();
        let oper = sel.select_timeout(ms(10)).expect("ready");
        assert_eq!((oper.index(), oper.recv(&rx1)), (first, Ok(1)));
    };
    sim(run);
    within(BUDGET, "Select", run);
}

// ---------------------------------------------------------------------------------------
// after, tick, never, deadlines, len

#[test]
fn timers_deliver_at_virtual_times() {
    sim(|| {
        let start = Instant::now();
        let ticks = channel::tick(ms(10));
        assert_eq!(ticks.recv().unwrap() - start, ms(10));
        assert_eq!(ticks.recv().unwrap() - start, ms(20));
        let timeout = channel::after(ms(5));
        assert_eq!(timeout.recv().unwrap() - start, ms(25));
        assert_eq!(timeout.try_recv(), Err(TryRecvError::Empty));
        let never = channel::never::<u32>();
        assert_eq!(never.recv_timeout(ms(1)), Err(RecvTimeoutError::Timeout));
    });
}

#[test]
fn timers_in_real_mode() {
    within(BUDGET, "timers", || {
        let start = Instant::now();
        let ticks = channel::tick(ms(5));
        assert!(ticks.recv().unwrap() >= start + ms(5));
        let timeout = channel::after(ms(5));
        assert!(timeout.recv().unwrap() >= start + ms(5));
        let never = channel::never::<u32>();
        assert_eq!(never.recv_timeout(ms(5)), Err(RecvTimeoutError::Timeout));
    });
}

fn deadlines_and_lengths() {
    let (tx, rx) = bounded::<u32>(2);
    assert_eq!((tx.capacity(), rx.capacity()), (Some(2), Some(2)));
    assert!(tx.is_empty() && rx.is_empty() && !rx.is_full());
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!((tx.len(), rx.len()), (2, 2));
    assert!(tx.is_full());
    let start = Instant::now();
    assert_eq!(
        tx.send_deadline(3, start + ms(20)),
        Err(SendTimeoutError::Timeout(3))
    );
    assert!(start.elapsed() >= ms(20));
    assert_eq!(rx.recv_deadline(Instant::now() + ms(5)), Ok(1));
    assert_eq!(rx.recv(), Ok(2));
    let at = Instant::now() + ms(20);
    assert_eq!(rx.recv_deadline(at), Err(RecvTimeoutError::Timeout));
    assert!(Instant::now() >= at);
    let (utx, urx) = unbounded::<u8>();
    assert_eq!(urx.capacity(), None);
    assert!(utx.same_channel(&utx.clone()) && urx.same_channel(&urx.clone()));
}

#[test]
fn deadlines_and_lengths_in_both_modes() {
    sim(deadlines_and_lengths);
    within(BUDGET, "deadlines", deadlines_and_lengths);
}

fn receiver_by_value() -> u32 {
    let (tx, rx) = unbounded();
    let t = thread::spawn(move || {
        for i in 1..=4 {
            tx.send(i).unwrap();
        }
    });
    let mut total = 0;
    for item in rx {
        total += item;
    }
    t.join().unwrap();
    total
}

#[test]
fn a_receiver_iterates_by_value_in_both_modes() {
    sim(|| assert_eq!(receiver_by_value(), 10));
    assert_eq!(within(BUDGET, "for item in rx", receiver_by_value), 10);
}

// ---------------------------------------------------------------------------------------
// Condvar::wait_until

fn wait_until() {
    let m = Mutex::new(false);
    let cv = Condvar::new();
    let mut g = m.lock();
    let at = Instant::now() + ms(15);
    assert!(cv.wait_until(&mut g, at).timed_out());
    assert!(Instant::now() >= at);
    let r = cv.wait_while_until(&mut g, |done| !*done, Instant::now() + ms(5));
    assert!(r.timed_out());
    *g = true;
    let r = cv.wait_while_until(&mut g, |done| !*done, Instant::now() + ms(5));
    assert!(!r.timed_out());
}

#[test]
fn condvar_wait_until_in_both_modes() {
    sim(wait_until);
    within(BUDGET, "wait_until", wait_until);
}

#[test]
fn condvar_wait_until_is_woken_by_a_notify() {
    sim(|| {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p = pair.clone();
        let t = thread::spawn(move || {
            *p.0.lock() = true;
            p.1.notify_one();
        });
        let mut g = pair.0.lock();
        let r =
            pair.1
                .wait_while_until(&mut g, |set| !*set, Instant::now() + Duration::from_secs(9));
        assert!(!r.timed_out() && *g);
        drop(g);
        t.join().unwrap();
    });
}

// ---------------------------------------------------------------------------------------
// park, unpark, ids, scoped builders, Default

fn park_unpark() {
    let flag = Arc::new(interleave::sync::atomic::AtomicBool::new(false));
    let f = flag.clone();
    let waiter = thread::spawn(move || {
        while !f.load(interleave::sync::atomic::Ordering::Acquire) {
            thread::park();
        }
    });
    flag.store(true, interleave::sync::atomic::Ordering::Release);
    waiter.thread().unpark();
    waiter.join().unwrap();
    // A token stored before `park` makes it return at once.
    thread::current().unpark();
    thread::park();
    let start = Instant::now();
    thread::park_timeout(ms(10));
    // Spurious wake-ups are allowed in real mode; the simulation has none.
    let _ = start;
}

#[test]
fn park_and_unpark_in_both_modes() {
    check(Config::new().iterations(100), park_unpark).unwrap_or_else(|f| panic!("{f}"));
    within(BUDGET, "park", park_unpark);
}

#[test]
fn park_timeout_uses_virtual_time() {
    sim(|| {
        let start = Instant::now();
        thread::park_timeout(Duration::from_secs(2));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
    });
}

#[test]
fn a_park_nobody_ends_is_a_lost_wake_up() {
    let f = fails(canonical(), || {
        let t = thread::Builder::new()
            .name("sleeper".into())
            .spawn(thread::park)
            .unwrap();
        t.join().unwrap();
    });
    assert_eq!(f.kind, FailureKind::LostWakeup, "{f}");
    assert!(
        f.message.starts_with("sleeper is parked (thread::park)"),
        "{f}"
    );
}

fn thread_ids() {
    let me = thread::current().id();
    let h = thread::Builder::new()
        .name("named".into())
        .spawn(|| {
            (
                thread::current().id(),
                thread::current().name().map(String::from),
            )
        })
        .unwrap();
    let handle_id = h.thread().id();
    let (id, name) = h.join().unwrap();
    assert_ne!(me, id);
    assert_eq!(handle_id, id);
    assert_eq!(name.as_deref(), Some("named"));
    assert_eq!(thread::current().id(), me);
}

#[test]
fn thread_ids_differ_between_threads_in_both_modes() {
    sim(thread_ids);
    within(BUDGET, "thread ids", thread_ids);
}

fn spawn_scoped() -> u32 {
    let data = [1, 2, 3, 4];
    thread::scope(|s| {
        let h = thread::Builder::new()
            .name("half".into())
            .spawn_scoped(s, || {
                assert_eq!(thread::current().name(), Some("half"));
                data[..2].iter().sum::<u32>()
            })
            .unwrap();
        assert_eq!(h.thread().name(), Some("half"));
        h.join().unwrap() + data[2..].iter().sum::<u32>()
    })
}

#[test]
fn builder_spawn_scoped_in_both_modes() {
    sim(|| assert_eq!(spawn_scoped(), 10));
    assert_eq!(within(BUDGET, "spawn_scoped", spawn_scoped), 10);
}

fn defaults() {
    let l: RwLock<Vec<u8>> = RwLock::default();
    l.write().push(1);
    assert_eq!(*l.read(), [1]);
    let r: ReentrantMutex<u8> = ReentrantMutex::default();
    let a = r.lock();
    let b = r.lock();
    assert_eq!(*a + *b, 0);
}

#[test]
fn rwlock_and_reentrant_mutex_have_defaults_in_both_modes() {
    sim(defaults);
    within(BUDGET, "defaults", defaults);
}

// ---------------------------------------------------------------------------------------
// Semaphore

#[test]
fn a_semaphore_of_one_is_a_lock_in_every_schedule() {
    check(Config::new().iterations(300), || {
        let mutex = Arc::new(Semaphore::new(1));
        let inside = Arc::new(interleave::sync::atomic::AtomicUsize::new(0));
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let (mutex, inside) = (mutex.clone(), inside.clone());
                thread::spawn(move || {
                    use interleave::sync::atomic::Ordering::SeqCst;
                    mutex.acquire();
                    assert_eq!(inside.fetch_add(1, SeqCst), 0, "two threads inside");
                    inside.fetch_sub(1, SeqCst);
                    mutex.release();
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(mutex.available_permits(), 1);
    })
    .unwrap_or_else(|f| panic!("{f}"));
}

#[test]
fn a_released_permit_goes_to_the_longest_waiter() {
    sim(|| {
        let gate = Arc::new(Semaphore::new(0));
        let order = Arc::new(Mutex::new(Vec::new()));
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let (gate, order) = (gate.clone(), order.clone());
                thread::spawn(move || {
                    gate.acquire();
                    order.lock().push(i);
                })
            })
            .collect();
        // Every waiter is blocked (canonical: spawned threads run when main blocks).
        thread::sleep(ms(1));
        for _ in 0..3 {
            gate.release();
            // A later arrival cannot steal the permit handed to a waiter.
            assert!(!gate.try_acquire());
        }
        for h in hs {
            h.join().unwrap();
        }
        assert_eq!(*order.lock(), [0, 1, 2]);
    });
}

#[test]
fn a_semaphore_deadlock_names_the_semaphores() {
    // The Little Book's classic: the consumer takes the mutex before waiting for items.
    let f = fails(canonical(), || {
        let mutex = Arc::new(Semaphore::new(1));
        let items = Arc::new(Semaphore::new(0));
        let (m, i) = (mutex.clone(), items.clone());
        let consumer = thread::Builder::new()
            .name("consumer".into())
            .spawn(move || {
                m.acquire();
                i.acquire();
                m.release();
            })
            .unwrap();
        let producer = thread::Builder::new()
            .name("producer".into())
            .spawn(move || {
                mutex.acquire();
                items.release();
                mutex.release();
            })
            .unwrap();
        consumer.join().unwrap();
        producer.join().unwrap();
    });
    assert_eq!(f.kind, FailureKind::Deadlock, "{f}");
    for part in [
        "consumer waits on Semaphore items (no permit left",
        "producer waits on Semaphore mutex (no permit left; last taken by consumer)",
    ] {
        assert!(f.message.contains(part), "{part}\n\n{f}");
    }
}

#[test]
fn semaphores_on_real_threads() {
    within(BUDGET, "a bounded buffer of semaphores", || {
        let slots = Arc::new(Semaphore::new(2));
        let items = Arc::new(Semaphore::new(0));
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let (s, i, b) = (slots.clone(), items.clone(), buffer.clone());
        let producer = std::thread::spawn(move || {
            for n in 0..1000u64 {
                s.acquire();
                b.lock().push(n);
                i.release();
            }
        });
        let mut total = 0;
        for _ in 0..1000 {
            items.acquire();
            total += buffer.lock().remove(0);
            slots.release();
        }
        producer.join().unwrap();
        assert_eq!(total, 999 * 1000 / 2);
        assert!(!items.try_acquire());
        assert_eq!(slots.available_permits(), 2);
    });
}

#[test]
fn an_atomic_can_be_a_static_as_in_std() {
    use interleave::sync::atomic::{AtomicUsize, Ordering};
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    CALLS.fetch_add(1, Ordering::SeqCst);
    assert!(CALLS.load(Ordering::SeqCst) >= 1);
}
