//! A one-lane tunnel monitor tested both ways: scenario tables (snapshots, and the errors
//! a scenario reports) and an exploration with an invariant and a fairness bound.

use interleave::explore::{Config, Fairness, Observed, check, explore, invariant};
use interleave::monitor::{Condition, Monitor, Semantics};
use interleave::report::FailureKind;
use interleave::scenario::{Returned, Scenario};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    North,
    South,
}

/// Cars in one direction at a time (no fairness).
struct Tunnel {
    m: Monitor<(Option<Dir>, usize)>,
    free: Condition,
}

impl Tunnel {
    fn new() -> Self {
        Tunnel {
            m: Monitor::named("tunnel", (None, 0), Semantics::Mesa),
            free: Condition::named("free"),
        }
    }

    fn arrive(&self, d: Dir) {
        let mut g = self.m.enter();
        while g.0.is_some_and(|cur| cur != d) {
            self.free.wait(&mut g);
        }
        g.0 = Some(d);
        g.1 += 1;
    }

    fn depart(&self, _d: Dir) {
        let mut g = self.m.enter();
        g.1 -= 1;
        if g.1 == 0 {
            g.0 = None;
            self.free.broadcast(&mut g);
        }
    }
}

/// Who is inside, computed from the calls that returned.
fn inside(done: &[Returned]) -> String {
    let mut cars: Vec<&str> = Vec::new();
    for r in done {
        if r.call.starts_with("arrive") {
            cars.push(&r.actor);
        } else {
            cars.retain(|c| *c != r.actor);
        }
    }
    if cars.is_empty() {
        "empty".to_string()
    } else {
        format!("inside: {}", cars.join(", "))
    }
}

#[test]
fn southbound_waits_while_northbound_inside() {
    let table = Scenario::new(Tunnel::new)
        .call("N1", "arrive(North)", |t| t.arrive(Dir::North))
        .call("N2", "arrive(North)", |t| t.arrive(Dir::North))
        .call("S1", "arrive(South)", |t| t.arrive(Dir::South))
        .call("N1", "depart(North)", |t| t.depart(Dir::North))
        .call("N2", "depart(North)", |t| t.depart(Dir::North))
        .call("S1", "depart(South)", |t| t.depart(Dir::South))
        .state(inside)
        .run();
    interleave::assert_table!(table);
}

#[test]
fn blocked_calls_at_the_end_are_shown() {
    let table = Scenario::new(Tunnel::new)
        .call("N1", "arrive(North)", |t| t.arrive(Dir::North))
        .call("S1", "arrive(South)", |t| t.arrive(Dir::South))
        .state(inside)
        .run();
    assert_eq!(table.blocked_at_end, vec!["S1 arrive(South)".to_string()]);
    interleave::assert_table!(table);
}

#[test]
fn returned_values_are_shown() {
    let table = Scenario::new(|| interleave::sync::Mutex::new(0u32))
        .call("A", "add(2)", |m| {
            *m.lock() += 2;
            *m.lock()
        })
        .call("B", "add(3)", |m| {
            *m.lock() += 3;
            *m.lock()
        })
        .run();
    interleave::assert_table!(table);
}

#[test]
fn scripting_a_blocked_actor_stops_the_script() {
    let table = Scenario::new(Tunnel::new)
        .call("N1", "arrive(North)", |t| t.arrive(Dir::North))
        .call("S1", "arrive(South)", |t| t.arrive(Dir::South))
        .call("S1", "depart(South)", |t| t.depart(Dir::South))
        .call("N1", "depart(North)", |t| t.depart(Dir::North))
        .run();
    assert_eq!(table.rows.len(), 2, "{table:#}");
    assert_eq!(
        table.stopped.as_deref(),
        Some(
            "S1 is still blocked in arrive(South) (called at step 2), so it cannot call \
             depart(South) at step 3"
        )
    );
    assert_eq!(table.blocked_at_end, ["S1 arrive(South)"]);
    assert!(table.to_string().ends_with(
        "stopped: S1 is still blocked in arrive(South) (called at step 2), so it cannot call \
         depart(South) at step 3\n"
    ));
}

#[test]
#[should_panic(
    expected = "at step 1, N1 depart(North) panicked: attempt to subtract with overflow"
)]
fn a_panicking_call_names_the_actor() {
    Scenario::new(Tunnel::new)
        .call("N1", "depart(North)", |t| t.depart(Dir::North))
        .run();
}

/// Counts cars per direction on the test side.
fn bump(c: &mut (u32, u32), d: Dir, up: bool) {
    let n = if d == Dir::North { &mut c.0 } else { &mut c.1 };
    if up { *n += 1 } else { *n -= 1 }
}

fn cars(fair: Option<Fairness>) {
    use interleave::{sync::Arc, thread};
    let tunnel = Arc::new(Tunnel::new());
    let inside = Observed::new((0u32, 0u32));
    let i = inside.clone();
    invariant("never cars in both directions", move || {
        let (n, s) = i.get();
        n == 0 || s == 0
    });
    let cars: Vec<_> = [("N1", Dir::North), ("N2", Dir::North), ("S1", Dir::South)]
        .into_iter()
        .map(|(name, d)| {
            let (t, inside, fair) = (tunnel.clone(), inside.clone(), fair.clone());
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    for _ in 0..2 {
                        if let Some(f) = &fair {
                            f.waiting();
                        }
                        t.arrive(d);
                        if let Some(f) = &fair {
                            f.entered();
                        }
                        inside.update(|c| bump(c, d, true));
                        inside.update(|c| bump(c, d, false));
                        t.depart(d);
                    }
                })
                .unwrap()
        })
        .collect();
    for c in cars {
        c.join().unwrap();
    }
}

#[test]
fn never_cars_in_both_directions() {
    explore(Config::new().iterations(300), || cars(None));
}

#[test]
fn the_unfair_tunnel_lets_northbound_cars_bypass_a_waiting_southbound_car() {
    let f = check(Config::new().iterations(300), || {
        cars(Some(Fairness::new("the tunnel", 1)))
    })
    .expect_err("the basic tunnel has no fairness");
    assert_eq!(f.kind, FailureKind::Unfair, "{f}");
    assert!(
        f.message.contains("waiting for the tunnel since step") && f.message.contains("(bound 1)"),
        "{f}"
    );
}
