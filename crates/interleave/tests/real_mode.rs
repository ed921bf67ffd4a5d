//! Real mode: the facade on real OS threads (no simulation), including both monitor
//! semantics. Each test runs under a watchdog so that a bug becomes a failure, not a hang.

use std::collections::VecDeque;
use std::time::Duration;

use interleave::monitor::{Condition, Monitor, Semantics};
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::{channel, thread};

/// Runs `f` on a std thread and fails if it does not finish within 60 s.
fn within_a_minute(f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        f();
        tx.send(()).unwrap();
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => h.join().unwrap(),
        Err(_) if h.is_finished() => h.join().unwrap(), // the panic is propagated
        Err(_) => panic!("real-mode test still running after 60 s: deadlock?"),
    }
}

struct Buffer {
    m: Monitor<VecDeque<u64>>,
    not_empty: Condition,
    not_full: Condition,
}

const CAP: usize = 2;

impl Buffer {
    fn new(s: Semantics) -> Self {
        Buffer {
            m: Monitor::new(VecDeque::new(), s),
            not_empty: Condition::named("not_empty"),
            not_full: Condition::named("not_full"),
        }
    }

    /// Hoare style: `if` is enough because the signaller hands over the monitor.
    fn put_if(&self, v: u64) {
        let mut g = self.m.enter();
        if g.len() == CAP {
            self.not_full.wait(&mut g);
        }
        assert!(
            g.len() < CAP,
            "Hoare hand-off broken: buffer full after wait"
        );
        g.push_back(v);
        self.not_empty.signal(&mut g);
    }

    fn take_if(&self) -> u64 {
        let mut g = self.m.enter();
        if g.is_empty() {
            self.not_empty.wait(&mut g);
        }
        let v = g
            .pop_front()
            .expect("Hoare hand-off broken: buffer empty after wait");
        self.not_full.signal(&mut g);
        v
    }

    /// Mesa style: `while`.
    fn put_while(&self, v: u64) {
        let mut g = self.m.enter();
        while g.len() == CAP {
            self.not_full.wait(&mut g);
        }
        g.push_back(v);
        self.not_empty.signal(&mut g);
    }

    fn take_while(&self) -> u64 {
        let mut g = self.m.enter();
        while g.is_empty() {
            self.not_empty.wait(&mut g);
        }
        let v = g.pop_front().unwrap();
        self.not_full.signal(&mut g);
        v
    }
}

fn run_buffer(s: Semantics, hoare_style: bool) {
    const N: u64 = 2000;
    let b = Arc::new(Buffer::new(s));
    let mut producers = Vec::new();
    let mut consumers = Vec::new();
    for p in 0..2 {
        let bp = b.clone();
        producers.push(thread::spawn(move || {
            let b = bp;
            for i in 0..N {
                let v = p * N + i;
                if hoare_style {
                    b.put_if(v)
                } else {
                    b.put_while(v)
                }
            }
        }));
        let bc = b.clone();
        consumers.push(thread::spawn(move || {
            let b = bc;
            (0..N)
                .map(|_| {
                    if hoare_style {
                        b.take_if()
                    } else {
                        b.take_while()
                    }
                })
                .sum::<u64>()
        }));
    }
    for h in producers {
        h.join().unwrap();
    }
    let total: u64 = consumers.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(total, (0..2 * N).sum::<u64>());
}

#[test]
fn hoare_monitor_with_if_is_correct_on_real_threads() {
    within_a_minute(|| run_buffer(Semantics::Hoare, true));
}

#[test]
fn mesa_monitor_with_while_is_correct_on_real_threads() {
    within_a_minute(|| run_buffer(Semantics::Mesa, false));
}

#[test]
fn mutex_condvar_and_channel_delegate_to_the_real_crates() {
    within_a_minute(|| {
        let pair = Arc::new((Mutex::new(0u32), Condvar::new()));
        let p = pair.clone();
        let t = thread::Builder::new()
            .name("worker".into())
            .spawn(move || {
                assert_eq!(thread::current().name(), Some("worker"));
                *p.0.lock() = 7;
                p.1.notify_all();
            })
            .unwrap();
        let mut g = pair.0.lock();
        pair.1.wait_while(&mut g, |v| *v == 0);
        assert_eq!(*g, 7);
        drop(g);
        t.join().unwrap();
        let (tx, rx) = channel::bounded(0);
        let t = thread::spawn(move || tx.send(5).unwrap());
        assert_eq!(rx.recv(), Ok(5));
        t.join().unwrap();
        assert_eq!(rx.recv(), Err(channel::RecvError));
        let r = pair
            .1
            .wait_for(&mut pair.0.lock(), Duration::from_millis(1));
        assert!(r.timed_out());
    });
}
