//! Helpers shared by the fork topic's tests: run a demo under the watchdog, turn a hang
//! into a diagnosis in the topic's words, parse and redact the demos' lines.
#![allow(dead_code)] // each test file uses its own part of these helpers

use proctest::{Demo, Finished, Hang, Snapshot, StdoutTo};
use std::time::Duration;

/// The watchdog's timeout: a correct demo finishes in milliseconds; this only bounds how
/// long a broken one takes to be diagnosed on a slow, busy machine.
pub const WATCHDOG: Duration = Duration::from_secs(5);

/// Runs `program` with `args`, its standard output to `to`. A hang fails the test with a
/// diagnosis, then the watchdog's report.
pub fn run(program: &str, args: &[&str], to: StdoutTo) -> Finished {
    Demo::new(program)
        .args(args)
        .stdout_to(to)
        .timeout(WATCHDOG)
        .run()
        .unwrap_or_else(|hang| panic!("{}", proctest::verdict(&hang, &diagnose(&hang))))
}

/// A sentence on why the demo is stuck, from what its processes were blocked in.
pub fn diagnose(hang: &Hang) -> String {
    for reader in hang.blocked_in("read") {
        let Some(fd) = reader.blocked_on_fd() else {
            continue;
        };
        let Some(inode) = fd.pipe_inode() else {
            continue;
        };
        let writers = hang.snapshot.pipe_writers(inode);
        let own: Vec<String> = writers
            .iter()
            .filter(|(p, _)| p.pid == reader.pid)
            .map(|(_, fd)| fd.to_string())
            .collect();
        if !own.is_empty() {
            return format!(
                "the parent (pid {}) is blocked in read() on fd {} (the read end of a child's pipe), but it still holds that pipe's write end itself (fd {}): read() reports end-of-file only once every write end is closed, so it waits for itself forever. Close the parent's copy of the write end right after fork (and the child's unused read end). A write end left open.",
                reader.pid,
                fd.fd,
                own.join(", ")
            );
        }
        if !writers.is_empty() {
            let holders: Vec<String> = writers
                .iter()
                .map(|(p, fd)| format!("{} (pid {}, fd {fd})", p.name, p.pid))
                .collect();
            return format!(
                "{} (pid {}) is blocked in read() on a pipe whose write end is still open in {}: read() sees end-of-file only once every write end is closed. A write end left open.",
                reader.name,
                reader.pid,
                holders.join(", ")
            );
        }
    }
    if let Some(waiter) = hang.blocked_in("wait4").next() {
        return format!(
            "{} (pid {}) is blocked in waitpid(): one of its children never exits. A child that never ends.",
            waiter.name, waiter.pid
        );
    }
    if let Some(spinner) = hang.spinning().next() {
        return format!(
            "{} (pid {}) is running, not blocked: it used {} of CPU while it should have been \
             waiting. Busy-waiting.",
            spinner.name,
            spinner.pid,
            proctest::cpu::seconds(spinner.cpu)
        );
    }
    "the demo did not finish: what each process was doing is above. Stuck.".to_owned()
}

/// The stopped child of the demo and the call the demo is blocked in, once that child is
/// the only one that has not ended and the demo is blocked waiting for it: not in a wait
/// for another pid, nor reading a pipe that only others write to (it may be in a call for
/// a child that has just ended, which it has not been woken from yet). A test continues
/// the child (SIGCONT) then: a wait that gave up on a child that had not ended (WNOHANG),
/// or took its stop for an end, has already returned.
pub fn blocked_on_stopped_child(snapshot: &Snapshot) -> Option<(i32, String)> {
    let parent = snapshot.leader()?;
    let children: Vec<_> = snapshot
        .processes
        .iter()
        .filter(|p| p.ppid == parent.pid)
        .collect();
    let [stopped] = children
        .iter()
        .filter(|p| p.state == 'T')
        .collect::<Vec<_>>()[..]
    else {
        return None;
    };
    if children
        .iter()
        .any(|p| p.pid != stopped.pid && p.state != 'Z')
    {
        return None;
    }
    let call = parent.blocked_in.as_ref()?;
    let pid_arg = |i: usize| call.args[i] as i64 as i32;
    let elsewhere = match call.name.as_str() {
        "wait4" => pid_arg(0) > 0 && pid_arg(0) != stopped.pid,
        "waitid" => pid_arg(0) == libc::P_PID as i32 && pid_arg(1) != stopped.pid,
        "read" => parent
            .blocked_on_fd()
            .and_then(|fd| fd.pipe_inode())
            .is_some_and(|inode| {
                !snapshot
                    .pipe_writers(inode)
                    .iter()
                    .any(|(p, _)| p.pid == stopped.pid)
            }),
        _ => false,
    };
    (!elsewhere).then(|| (stopped.pid, call.name.clone()))
}

/// A watcher for [`Demo::watch`] that calls `act` with the stopped child's pid once two
/// snapshots in a row show the demo blocked waiting for it ([`blocked_on_stopped_child`]),
/// then stops watching. One snapshot is not enough: the demo is read before its child, so
/// it can be seen still asleep in a wait that the child's stop, a moment later, ends.
pub fn once_blocked_on_stopped_child(
    mut act: impl FnMut(i32, &str) + Send + 'static,
) -> impl FnMut(&Snapshot) -> bool + Send + 'static {
    let mut before = None;
    move |snapshot| {
        let now = blocked_on_stopped_child(snapshot);
        if let (Some((pid, call)), true) = (&now, now == before) {
            act(*pid, call);
            return false;
        }
        before = now;
        true
    }
}

/// One line of a temperature child: `110.000000 F is 43.333333 C (pid 4242)`, parsed
/// into `("110.000000", "43.333333", 4242)`.
pub fn parse_conversion(line: &str) -> Option<(String, String, i32)> {
    let (fahrenheit, rest) = line.split_once(" F is ")?;
    let (celsius, rest) = rest.split_once(" C (pid ")?;
    let pid = rest.strip_suffix(')')?.parse().ok()?;
    (fahrenheit.parse::<f64>().is_ok() && celsius.parse::<f64>().is_ok())
        .then(|| (fahrenheit.to_owned(), celsius.to_owned(), pid))
}

/// The parent's closing line: `Spawned 4 processes from 4241` → `(4, 4241)`.
pub fn parse_spawned(line: &str) -> Option<(usize, i32)> {
    let rest = line.strip_prefix("Spawned ")?;
    let (count, pid) = rest.split_once(" processes from ")?;
    Some((count.parse().ok()?, pid.parse().ok()?))
}

/// The notes' values for `count` children, formatted as the demo prints them.
pub fn expected_conversions(count: usize) -> Vec<(String, String)> {
    (1..=count)
        .map(|i| {
            let f = 100.0 + 10.0 * i as f64;
            (format!("{f:.6}"), format!("{:.6}", (f - 32.0) * 5.0 / 9.0))
        })
        .collect()
}

/// Replaces every pid in the demos' lines (`pid N`, `processes from N`) by `[PID]`.
pub fn redact_pids(text: &str) -> String {
    ["pid ", "processes from "]
        .iter()
        .fold(text.to_owned(), |text, prefix| redact_after(&text, prefix))
}

fn redact_after(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        out.push_str(&rest[..at + prefix.len()]);
        rest = &rest[at + prefix.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("[PID]");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// Checks that a demo rejected its arguments: exit code 2, a usage message on standard
/// error naming `range` and `step`, nothing on standard output, no process left.
#[track_caller]
pub fn assert_rejected(program: &str, args: &[&str], range: &str, step: &str) {
    let name = program.rsplit('/').next().unwrap_or(program);
    run(program, args, StdoutTo::Pipe)
        .assert_usage_error(&format!("`{name} {}`", args.join(" ")), &[range, step]);
}
