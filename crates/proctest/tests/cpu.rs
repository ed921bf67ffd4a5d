//! The watchdog's CPU measurements and its patience with sleeping processes.

use proctest::Demo;
use std::time::Duration;

#[test]
fn a_demo_that_waits_uses_almost_no_cpu_and_one_that_computes_uses_some() {
    let waiting = Demo::new("sh")
        .args(["-c", "sleep 0.2"])
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"));
    assert!(
        waiting.cpu.total() < Duration::from_millis(100),
        "sleep used {}",
        waiting.cpu
    );
    let computing = Demo::new("sh")
        .args([
            "-c",
            "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo $i",
        ])
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"));
    assert_eq!(computing.stdout, "300000\n");
    // The loop ran in the shell, the demo itself: its CPU time is the loop's.
    assert!(
        computing.cpu.total() >= Duration::from_millis(20),
        "a loop of 300000 steps used {}",
        computing.cpu
    );
    // A descendant the demo waited for counts too.
    let nested = Demo::new("sh")
        .args([
            "-c",
            "sh -c 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done'",
        ])
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"));
    assert!(
        nested.cpu.total() >= Duration::from_millis(20),
        "the waited-for child used {}",
        nested.cpu
    );
}

#[test]
fn a_hang_names_a_spinning_process_as_running() {
    // A spinning process looks like one that computes: the watchdog extends its timeout
    // up to the cap, then reports it as running.
    let hang = Demo::new("sh")
        .args(["-c", "while :; do :; done"])
        .timeout(Duration::from_millis(400))
        .hard_cap(Duration::from_millis(1200))
        .run()
        .expect_err("an endless loop never finishes");
    let text = hang
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        hang.spinning().any(|p| p.name == "sh"),
        "the shell loops on the CPU:\n{text}"
    );
    assert!(text.contains("is running, not blocked: it used"), "{text}");
    // A busy machine may give it little of the CPU, but never none.
    assert!(hang.cpu() >= Duration::from_millis(20), "{text}");
}

#[test]
fn a_demo_that_spins_in_system_calls_gets_no_more_time() {
    // poll() on a pipe without writers returns at once, for ever, and the child that held
    // it has ended: much of the CPU time is the kernel's, and nothing is left to change
    // what the loop waits for. The watchdog reports it at the first timeout, where a loop
    // in user space (above) gets time up to the cap.
    let hang = Demo::new(env!("CARGO_BIN_EXE_poll_spin"))
        .timeout(Duration::from_secs(3))
        .hard_cap(Duration::from_secs(60))
        .run()
        .expect_err("the loop never ends");
    let text = hang.to_string();
    assert!(hang.after < Duration::from_secs(20), "{text}");
    assert!(hang.spinning().any(|p| p.name == "poll_spin"), "{text}");
    assert!(text.contains("is running, not blocked: it used"), "{text}");
}

#[test]
fn a_sleeping_demo_gets_more_time_up_to_the_hard_cap() {
    // Twice the timeout of sleeping: not a hang, the watchdog extends while it sleeps.
    let run = Demo::new("sh")
        .args(["-c", "sleep 1; echo awake"])
        .timeout(Duration::from_millis(400))
        .hard_cap(Duration::from_secs(20))
        .run()
        .unwrap_or_else(|hang| panic!("a sleeping process is not stuck:\n{hang}"));
    assert_eq!(run.stdout, "awake\n");
    // Sleeping forever still ends at the cap, and the report says the budget was extended.
    let hang = Demo::new("sh")
        .args(["-c", "sleep 60"])
        .timeout(Duration::from_millis(300))
        .hard_cap(Duration::from_millis(900))
        .run()
        .expect_err("sleep 60 outlasts the cap");
    assert!(hang.after >= Duration::from_millis(900), "{hang}");
    assert_eq!(hang.budget, Duration::from_millis(300));
    assert!(
        hang.to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains("extended while a process slept or computed"),
        "{hang}"
    );
}

#[test]
fn a_stuck_demo_is_not_given_more_time() {
    // A stopped shell is not sleeping on purpose: no extension, the hang is reported at
    // the timeout.
    let hang = Demo::new("sh")
        .args(["-c", "kill -STOP $$"])
        .timeout(Duration::from_millis(300))
        .hard_cap(Duration::from_secs(20))
        .run()
        .expect_err("a stopped process never finishes");
    assert!(hang.after < Duration::from_secs(10), "{hang}");
    assert_eq!(hang.after, hang.budget.max(hang.after));
}

#[test]
fn on_a_busy_machine_a_yield_loop_is_switched_out_often_and_a_blocked_waiter_is_not() {
    use proctest::cpu::{YIELD_SPIN, thread_preempted, work};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};

    // Two computations per core keep every core busy for a while; a waiter that yields
    // in a loop meanwhile is switched out each time, one that blocks is not.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let done = Arc::new(AtomicBool::new(false));
    let (blocked_tx, blocked_rx) = mpsc::channel::<()>();
    let yielder = {
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let before = thread_preempted();
            while !done.load(Ordering::Acquire) {
                std::thread::yield_now();
            }
            thread_preempted() - before
        })
    };
    let blocked = std::thread::spawn(move || {
        let before = thread_preempted();
        let _ = blocked_rx.recv();
        thread_preempted() - before
    });
    let hogs: Vec<_> = (0..2 * cores)
        .map(|_| std::thread::spawn(|| work(Duration::from_millis(300))))
        .collect();
    for hog in hogs {
        hog.join().expect("a computation never panics");
    }
    done.store(true, Ordering::Release);
    drop(blocked_tx);
    let (yielded, slept) = (yielder.join().unwrap(), blocked.join().unwrap());
    assert!(
        yielded >= YIELD_SPIN,
        "the yield loop was switched out {yielded} times"
    );
    assert!(
        slept < YIELD_SPIN,
        "the blocked waiter was switched out {slept} times"
    );
}
