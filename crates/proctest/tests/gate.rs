//! `faults::hold_calls`: a thread's call held at its entry until the check releases it.

use proctest::faults::hold_calls;
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn a_held_call_waits_until_it_is_released() {
    let (gate_tx, gate_rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let gate = hold_calls(&[libc::SYS_getppid]).expect("a kernel with user notifications");
        let _ = gate_tx.send((gate, nix::unistd::gettid().as_raw()));
        // Not held: getpid is not in the list.
        let pid = nix::unistd::getpid();
        (pid, nix::unistd::getppid())
    });
    let (gate, tid) = gate_rx.recv().expect("the worker starts");
    let held = gate
        .next(Duration::from_secs(10))
        .expect("the listener answers")
        .expect("getppid is held");
    assert_eq!(held.tid, tid);
    assert_eq!(held.number, libc::SYS_getppid);
    assert!(!worker.is_finished(), "a held call does not return");
    assert!(!gate.pending().expect("poll"), "nothing else is held");
    gate.release(held).expect("release");
    let (pid, ppid) = worker.join().expect("the worker never panics");
    assert_eq!(pid, nix::unistd::getpid());
    assert_eq!(
        ppid,
        nix::unistd::getppid(),
        "a released call runs as usual"
    );
}
