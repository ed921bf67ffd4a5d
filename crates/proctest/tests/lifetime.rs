//! Nothing a demo starts outlives its test: when the test process dies while the demo
//! runs (Ctrl-C on `cargo test`, a runner's watchdog killing the test binary), the demo's
//! process group is killed too.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Waits until `done` holds, for at most `limit`; false if it never did.
fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Whether `pid` still runs (a zombie waiting to be reaped does not).
fn running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let state = stat[stat.rfind(')')? + 2..].chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}

#[test]
fn a_demo_and_its_children_die_with_the_test_process() {
    let dir = std::env::temp_dir().join(format!("proctest-lifetime-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pids = dir.join("pids");
    // The demo starts a child, writes both pids, and waits forever.
    let script = format!(
        "sleep 600 & echo $$ $! > {tmp}; mv {tmp} {pids}; wait",
        tmp = dir.join("pids.tmp").display(),
        pids = pids.display()
    );
    let mut test_process = Command::new(env!("CARGO_BIN_EXE_guarded_demo"))
        .arg(&script)
        .stdout(Stdio::null())
        .spawn()
        .expect("the helper starts");
    let written = eventually(Duration::from_secs(20), || Path::new(&pids).exists());
    let text = std::fs::read_to_string(&pids).unwrap_or_default();
    let demo: Vec<i32> = text
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    // The test process dies abruptly: no destructor, no watchdog of its own runs.
    let helper = test_process.id();
    let _ = test_process.kill();
    let _ = test_process.wait();
    let _ = std::fs::remove_dir_all(&dir);
    // The killed helper could not remove its demo's scratch directory: this test does.
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        let prefix = format!("proctest-{helper}-");
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    assert!(
        written && demo.len() == 2,
        "the demo never started: {text:?}"
    );
    let gone = eventually(Duration::from_secs(10), || {
        !demo.iter().any(|&p| running(p))
    });
    if !gone {
        for &pid in &demo {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    assert!(
        gone,
        "the demo (pid {}) and its child (pid {}) outlived the test process",
        demo[0], demo[1]
    );
}
