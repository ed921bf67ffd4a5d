//! What a student reads when a check fails: a scenario table that differs from the
//! expected one is explained (who returned where it should wait, who stayed blocked,
//! which value differs, with the step's rule); every report fits in 100 columns and ends
//! with its verdict and replay line; spins are collapsed; and the failures that end the
//! process (an endless loop outside the scheduler, a stack overflow) reach the real
//! standard error. Those last ones run in a child test process (this binary, running one
//! ignored test), never in the harness itself.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

use interleave::explore::{Config, Strategy, check, explore};
use interleave::monitor::{Condition, Monitor, Semantics};
use interleave::report::FailureKind;
use interleave::scenario::{Outcome, Returned, Scenario, Site, Table};
use interleave::sync::atomic::{AtomicBool, Ordering};
use interleave::sync::{Arc, Mutex};
use interleave::{channel, thread};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dir {
    North,
    South,
}

/// What a tunnel gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bug {
    None,
    /// `arrive` never waits.
    NoWait,
    /// `depart` never wakes the waiting cars.
    NoWakeup,
}

struct Tunnel {
    m: Monitor<(Option<Dir>, usize)>,
    free: Condition,
    bug: Bug,
}

impl Tunnel {
    fn new(bug: Bug) -> Self {
        Tunnel {
            m: Monitor::named("tunnel", (None, 0), Semantics::Mesa),
            free: Condition::named("free"),
            bug,
        }
    }

    fn arrive(&self, d: Dir) {
        let mut g = self.m.enter();
        while self.bug != Bug::NoWait && g.0.is_some_and(|cur| cur != d) {
            self.free.wait(&mut g);
        }
        g.0 = Some(d);
        g.1 += 1;
    }

    fn depart(&self) {
        let mut g = self.m.enter();
        g.1 -= 1;
        if g.1 == 0 {
            g.0 = None;
            if self.bug != Bug::NoWakeup {
                self.free.broadcast(&mut g);
            }
        }
    }
}

fn inside(done: &[Returned]) -> String {
    let mut cars: Vec<&str> = Vec::new();
    for r in done {
        if r.call.starts_with("arrive") {
            cars.push(&r.actor);
        } else {
            cars.retain(|c| *c != r.actor);
        }
    }
    format!("inside: {}", cars.join(", "))
}

const WAIT_RULE: &str = "a car waits while cars of the other direction are inside";
const TURN_RULE: &str =
    "when the last car of a direction leaves, the waiting cars of the other direction enter";

fn tunnel_script(bug: Bug) -> Table {
    Scenario::new(move || Tunnel::new(bug))
        .call("N1", "arrive(North)", |t| t.arrive(Dir::North))
        .call("S1", "arrive(South)", |t| t.arrive(Dir::South))
        .rule(WAIT_RULE)
        .call("N2", "arrive(North)", |t| t.arrive(Dir::North))
        .call("N1", "depart(North)", |t| t.depart())
        .call("N2", "depart(North)", |t| t.depart())
        .rule(TURN_RULE)
        .call("S1", "depart(South)", |t| t.depart())
        .state(inside)
        .run()
}

/// Every line fits in 100 columns; the report ends with `error:` ... and `replay:`.
fn assert_shape(report: &str) {
    for line in report.lines() {
        assert!(
            line.chars().count() <= 100,
            "a line is wider than 100 columns:\n{line}\n\n{report}"
        );
    }
    let lines: Vec<&str> = report.lines().collect();
    // The replay line ends the report (a long command continues on indented lines).
    let replay = lines.iter().rposition(|l| l.starts_with("replay: "));
    assert!(
        replay.is_some_and(|r| lines[r + 1..].iter().all(|l| l.starts_with("    "))),
        "{report}"
    );
    let error = lines.iter().rposition(|l| l.starts_with("error: "));
    assert!(
        error.is_some_and(|e| lines[e..].iter().all(|l| !l.contains(" | "))),
        "the verdict must come after the evidence:\n{report}"
    );
    assert!(!report.contains("scenario error"), "{report}");
    assert!(!report.contains("cargo insta"), "{report}");
}

/// The report with its lines joined, so that a sentence can be found however it wraps.
fn flat(report: &str) -> String {
    report.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_call_that_returns_where_it_must_wait_is_explained_with_its_rule() {
    let expected = tunnel_script(Bug::None).to_string();
    let report = tunnel_script(Bug::NoWait)
        .explain_difference(&expected)
        .expect("the tables differ");
    assert_shape(&report);
    assert!(
        flat(&report).contains(
            "error: at step 2, S1 arrive(South) returned; it should have waited until step 5 \
             (N2 depart(North))"
        ),
        "{report}"
    );
    assert!(report.contains(&format!("note: {WAIT_RULE}")), "{report}");
    assert!(
        report.contains("  --> step 2 of the table above"),
        "{report}"
    );
    // Both versions of the differing step, and what the code did there.
    assert!(report.contains("\n- 2 "), "{report}");
    assert!(report.contains("\n+ 2 "), "{report}");
    assert!(report.contains("what your code did at step 2:"), "{report}");
}

#[test]
fn a_call_that_stays_blocked_stops_the_script_and_is_explained() {
    let expected = tunnel_script(Bug::None).to_string();
    let table = tunnel_script(Bug::NoWakeup);
    assert_eq!(
        table.rows.len(),
        5,
        "the script stops before S1 departs:\n{table:#}"
    );
    assert!(table.stopped.is_some());
    let report = table.explain_difference(&expected).expect("differs");
    assert_shape(&report);
    assert!(
        flat(&report).contains(
            "error: at step 5, S1 arrive(South) is still blocked; it should have returned when \
             N2 depart(North) was called"
        ),
        "{report}"
    );
    assert!(report.contains(&format!("note: {TURN_RULE}")), "{report}");
    // The scheduler's evidence: how S1 waits in the student's run.
    assert!(
        report.contains("note: in your run, S1 waits on Condition free"),
        "{report}"
    );
    assert!(
        flat(&report).contains(
            "note: your run stopped early: S1 is still blocked in arrive(South) (called at step \
             2), so it cannot call depart(South) at step 6"
        ),
        "{report}"
    );
    assert!(
        report.contains("(not called: your run stopped)"),
        "{report}"
    );
}

#[test]
fn a_wrong_value_is_named_with_the_expected_one() {
    let script = |bonus: u32| {
        Scenario::new(move || Mutex::new(0u32))
            .call("A", "add(2)", move |m| {
                *m.lock() += 2 + bonus;
                *m.lock()
            })
            .call("B", "add(3)", |m| {
                *m.lock() += 3;
                *m.lock()
            })
            .policy("add(n) returns the total after adding n")
            .run()
    };
    let expected = script(0).to_string();
    let report = script(1).explain_difference(&expected).expect("differs");
    assert_shape(&report);
    assert!(
        report.contains("error: at step 1, A add(2) returned 3; it should have returned 2"),
        "{report}"
    );
    // No rule at step 1: the scenario's policy explains it.
    assert!(
        report.contains("note: add(n) returns the total after adding n"),
        "{report}"
    );
    assert_eq!(script(0).explain_difference(&expected), None);
}

#[test]
fn the_assertion_finds_the_snapshot_insta_would() {
    let site = interleave::__snapshot_site!();
    assert_eq!(
        site.function,
        "reports::the_assertion_finds_the_snapshot_insta_would"
    );
    assert_eq!(site.module_path, "reports");
    assert!(
        interleave::scenario::snapshot_path(&site).ends_with(
            "crates/interleave/tests/snapshots/reports__the_assertion_finds_the_snapshot_insta_would.snap"
        ),
        "{:?}",
        interleave::scenario::snapshot_path(&site)
    );
    // An existing snapshot (of tests/tunnel.rs), compared by interleave, not by insta.
    let tunnel = Site {
        file: "crates/interleave/tests/tunnel.rs",
        module_path: "tunnel",
        function: "tunnel::returned_values_are_shown",
        manifest_dir: env!("CARGO_MANIFEST_DIR"),
    };
    let table = |extra: u32| {
        Scenario::new(|| Mutex::new(0u32))
            .call("A", "add(2)", |m| {
                *m.lock() += 2;
                *m.lock()
            })
            .call("B", "add(3)", move |m| {
                *m.lock() += 3 + extra;
                *m.lock()
            })
            .run()
    };
    assert!(
        matches!(
            interleave::scenario::check_snapshot(&table(0), &tunnel),
            Outcome::Pass
        ),
        "the snapshot tunnel__returned_values_are_shown.snap matches"
    );
    let second = Site {
        function: "tunnel::southbound_waits_while_northbound_inside",
        ..tunnel
    };
    match interleave::scenario::check_snapshot(&table(1), &second) {
        Outcome::Fail(report) => {
            assert_shape(&report);
            assert!(
                report.contains(
                    "expected: tests/snapshots/tunnel__southbound_waits_while_northbound_inside.snap"
                ),
                "{report}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let missing = Site {
        function: "tunnel::no_such_test",
        ..tunnel
    };
    assert!(matches!(
        interleave::scenario::check_snapshot(&table(0), &missing),
        Outcome::Delegate(name) if name == "no_such_test"
    ));
}

#[test]
fn a_panicking_call_reports_the_step_the_call_and_the_place() {
    let report = std::panic::catch_unwind(|| {
        Scenario::new(|| Tunnel::new(Bug::None))
            .call("N1", "arrive(North)", |t| t.arrive(Dir::North))
            .call("S1", "depart(South)", |t| t.depart())
            .call("S1", "depart(South)", |t| t.depart())
            .run()
    })
    .expect_err("S1 departs twice: 1 - 2 overflows");
    let report = report.downcast_ref::<String>().expect("a report").clone();
    assert_shape(&report);
    assert!(
        flat(&report).contains(
            "error: at step 3, S1 depart(South) panicked: attempt to subtract with overflow"
        ),
        "{report}"
    );
    assert!(
        report.contains("  --> crates/interleave/tests/reports.rs:"),
        "{report}"
    );
    assert!(report.contains("your run up to step 2:"), "{report}");
    assert_eq!(
        report.matches("attempt to subtract with overflow").count(),
        1
    );
}

#[test]
fn a_constructor_that_panics_is_reported() {
    let report = std::panic::catch_unwind(|| {
        Scenario::new(|| -> Tunnel { todo!("build the tunnel") })
            .call("N1", "arrive(North)", |t| t.arrive(Dir::North))
            .run()
    })
    .expect_err("the constructor panics");
    let report = report.downcast_ref::<String>().expect("a report").clone();
    assert_shape(&report);
    assert!(
        report.contains("  --> crates/interleave/tests/reports.rs:"),
        "{report}"
    );
    assert!(
        flat(&report).contains(
            "error: the object under test could not be created before the first step: its \
             constructor (`new`) panicked: not yet implemented: build the tunnel"
        ),
        "{report}"
    );
}

#[test]
fn a_wide_failure_fits_in_100_columns_and_says_its_panic_once() {
    const WHY: &str = "S1 entered while N1 was still inside: cars of both directions in the \
                       tunnel, which the policy forbids at every moment of every schedule";
    let f = check(Config::new().strategy(Strategy::Canonical), || {
        let hs: Vec<_> = ["N1", "N2", "N3", "S1", "S2", "S3"]
            .iter()
            .map(|name| {
                thread::Builder::new()
                    .name(name.to_string())
                    .spawn(move || {
                        interleave::trace::label(format!(
                            "{name} arrives at the entrance of the tunnel and looks at the lights"
                        ));
                        if *name == "S1" {
                            panic!("{WHY}");
                        }
                    })
                    .unwrap()
            })
            .collect();
        for h in hs {
            let _ = h.join();
        }
    })
    .expect_err("S1 panics");
    assert_eq!(f.kind, FailureKind::Panic);
    let report = f.to_string();
    assert_shape(&report);
    assert_eq!(
        flat(&report).matches("which the policy forbids").count(),
        1,
        "{report}"
    );
    // A check of the tests failed in S1 (the panic is raised in this file): its words
    // alone, not "S1 panicked".
    assert!(report.contains("error: S1 entered"), "{report}");
    // The place is the panic's, in this file.
    assert!(
        report.contains("  --> crates/interleave/tests/reports.rs:"),
        "{report}"
    );
}

#[test]
fn a_spin_is_collapsed_and_names_what_it_spins_on() {
    let f = check(
        Config::new()
            .strategy(Strategy::Canonical)
            .max_steps_without_blocking(5000),
        || {
            let go = Arc::new(AtomicBool::named("go", false));
            let g = go.clone();
            let spinner = thread::Builder::new()
                .name("R1".into())
                .spawn(move || while !g.load(Ordering::SeqCst) {})
                .unwrap();
            spinner.join().unwrap();
            go.store(true, Ordering::SeqCst);
        },
    )
    .expect_err("R1 spins forever");
    assert_eq!(f.kind, FailureKind::Budget);
    assert_eq!(
        f.message,
        "R1 ran 5000 steps without blocking, spinning on `go` (load): a busy-wait"
    );
    let report = f.to_string();
    assert_shape(&report);
    assert!(
        report.contains("... R1 spun 4,998 more steps on `go` (the line above, again and again)"),
        "{report}"
    );
    assert!(report.lines().count() < 40, "{report}");
}

#[test]
fn a_spin_inside_a_monitor_names_who_it_keeps_out() {
    let f = check(
        Config::new()
            .strategy(Strategy::Canonical)
            .max_steps_without_blocking(1000),
        || {
            let m = Arc::new(Monitor::named("gate", false, Semantics::Mesa));
            let m2 = m.clone();
            #[allow(clippy::while_immutable_condition)] // the bug under test
            let waiter = thread::Builder::new()
                .name("W".into())
                .spawn(move || {
                    let g = m2.enter();
                    while !*g {
                        thread::yield_now(); // Bug: spins while it holds the monitor.
                    }
                })
                .unwrap();
            let opener = thread::Builder::new()
                .name("O".into())
                .spawn(move || *m.enter() = true)
                .unwrap();
            waiter.join().unwrap();
            opener.join().unwrap();
        },
    )
    .expect_err("W keeps O out");
    assert_eq!(
        f.message,
        "W ran 1000 steps without blocking, looping over yield while it holds Monitor gate, \
         which O waits to enter: a busy-wait"
    );
    // The help says why yielding is not enough here, not "call yield_now()".
    let shown = f.to_string().replace('\n', " ");
    let shown = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        shown.contains("yielding does not let go of it")
            && shown.contains("which releases Monitor gate while it waits")
            && !shown.contains("call yield_now()"),
        "{f}"
    );
}

#[test]
fn a_deadlock_names_who_still_holds_a_sender() {
    let f = check(Config::new().strategy(Strategy::Canonical), || {
        let (tx, rx) = channel::unbounded_named::<u32>("jobs");
        let worker = thread::Builder::new()
            .name("worker".into())
            .spawn(move || for _job in rx.iter() {})
            .unwrap();
        tx.send(1).unwrap();
        // Bug: `tx` is still alive, so `rx.iter()` never ends.
        worker.join().unwrap();
        drop(tx);
    })
    .expect_err("main joins the worker while holding the sender");
    assert_eq!(f.kind, FailureKind::Deadlock);
    assert_eq!(
        f.message,
        "main waits for thread worker to finish; worker waits to receive on Channel jobs, whose \
         Sender is still held by main: a cycle"
    );
    assert_shape(&f.to_string());
}

#[test]
fn receiving_on_a_channel_one_holds_the_sender_of_is_named() {
    let f = check(Config::new().strategy(Strategy::Canonical), || {
        let (tx, rx) = channel::unbounded::<u32>();
        tx.send(1).unwrap();
        let total: u32 = rx.iter().sum();
        drop(tx);
        assert_eq!(total, 1);
    })
    .expect_err("main waits for a message only it could send");
    assert_eq!(
        f.message,
        "main waits to receive on Channel#1, whose Sender main itself holds: main waits for a \
         message that only main could send; the channel never disconnects while main holds a \
         Sender"
    );
}

/// Set in the child process that runs one of the `child_*` tests.
const CHILD: &str = "INTERLEAVE_REPORTS_CHILD";

/// Runs the ignored test `name` of this binary in a child process, output captured by
/// libtest as usual, and returns its real standard error once it died of SIGABRT.
fn child_stderr(name: &str) -> String {
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--ignored", "--exact", name, "--test-threads=1"])
        .env(CHILD, "1")
        .env("INTERLEAVE_WATCHDOG_SECS", "1")
        .env_remove("COURSE_STEP")
        .env_remove("INTERLEAVE_STRATEGY")
        .env_remove("INTERLEAVE_SEED")
        .env_remove("INTERLEAVE_ITERATIONS")
        .output()
        .expect("run the child test");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "the child must abort; status {:?}, stderr:\n{stderr}",
        out.status
    );
    stderr
}

#[test]
fn an_endless_loop_is_diagnosed_on_the_real_stderr() {
    let stderr = child_stderr("child_endless_loop");
    let report = &stderr[stderr.find("the last events").unwrap_or(0)..];
    assert_shape(report.trim_end());
    assert!(
        flat(report).contains(
            "error: spinner ran for 1 s of real time in test `child_endless_loop` without \
             reaching any interleave operation"
        ),
        "{stderr}"
    );
    assert!(report.contains("spawn spinner"), "{stderr}");
    assert!(
        flat(report).contains(
            "replay: INTERLEAVE_TRACE=1 cargo test -p interleave --test reports -- \
             child_endless_loop --exact"
        ) && report.trim_end().ends_with("--nocapture"),
        "{stderr}"
    );
}

#[test]
fn a_stack_overflow_names_the_thread_and_the_test() {
    let stderr = child_stderr("child_stack_overflow");
    assert!(
        flat(&stderr).contains(
            "error: stack overflow in deep --> a simulated thread of test \
             `child_stack_overflow` note: its stack (1 MiB) is exhausted"
        ),
        "{stderr}"
    );
    assert!(
        flat(&stderr)
            .contains("replay: INTERLEAVE_TRACE=1 cargo test -p interleave --test reports"),
        "{stderr}"
    );
}

/// `spinner` loops without any interleave operation.
#[test]
#[ignore = "run in a child process by an_endless_loop_is_diagnosed_on_the_real_stderr"]
fn child_endless_loop() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    explore(Config::new().strategy(Strategy::Canonical), || {
        let t = thread::Builder::new()
            .name("spinner".into())
            .spawn(|| {
                let mut x = 0u64;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            })
            .unwrap();
        t.join().unwrap();
    });
}

fn depth(n: u64) -> u64 {
    let pad = std::hint::black_box([n as u8; 512]);
    if n == 0 {
        0
    } else {
        1 + depth(std::hint::black_box(n - 1)) + u64::from(pad[7])
    }
}

/// `deep` recurses far beyond its stack.
#[test]
#[ignore = "run in a child process by a_stack_overflow_names_the_thread_and_the_test"]
fn child_stack_overflow() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    explore(Config::new().strategy(Strategy::Canonical), || {
        let t = thread::Builder::new()
            .name("deep".into())
            .spawn(|| depth(10_000_000))
            .unwrap();
        t.join().unwrap();
    });
}
