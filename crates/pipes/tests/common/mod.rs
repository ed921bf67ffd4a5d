//! What the pipes tests share: running a demo under the watchdog, and turning a hang
//! into a diagnosis in the topic's words, from the descriptors the processes hold.

#![allow(dead_code)] // each test file uses part of it

use proctest::{Demo, Finished, Hang, Process, Snapshot};
use std::time::Duration;

/// The watchdog's timeout: a correct demo finishes in milliseconds; this only bounds how
/// long a broken one takes to be diagnosed on a slow, busy machine.
pub const WATCHDOG: Duration = Duration::from_secs(5);

/// The pid of the demo itself: the process of the group whose parent is outside it.
pub fn leader(snapshot: &Snapshot) -> Option<i32> {
    snapshot
        .processes
        .iter()
        .find(|p| !snapshot.processes.iter().any(|q| q.pid == p.ppid))
        .map(|p| p.pid)
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// One sentence per process blocked in `read()` on a pipe, naming every process that
/// still holds a write end of that pipe (with the descriptor number), so the student
/// sees which `close` is missing. `role` names a process in the topic's words ("the
/// parent", "the child", "`sort`").
pub fn blocked_readers(hang: &Hang, role: &dyn Fn(&Process) -> String) -> Vec<String> {
    let mut sentences = Vec::new();
    for reader in hang.blocked_in("read") {
        let Some(fd) = reader.blocked_on_fd() else {
            continue;
        };
        let Some(inode) = fd.pipe_inode() else {
            continue;
        };
        let who = role(reader);
        // One entry per process, with every descriptor it holds on that write end.
        let mut by_process: Vec<(&Process, Vec<String>)> = Vec::new();
        for (process, n) in hang.snapshot.pipe_writers(inode) {
            match by_process.iter_mut().find(|(p, _)| p.pid == process.pid) {
                Some((_, fds)) => fds.push(n.to_string()),
                None => by_process.push((process, vec![n.to_string()])),
            }
        }
        let holders: Vec<String> = by_process
            .iter()
            .map(|(process, fds)| {
                let fds = if fds.len() == 1 {
                    format!("fd {}", fds[0])
                } else {
                    format!("fds {}", join_and(fds))
                };
                if process.pid == reader.pid {
                    format!("in {who} itself ({fds})")
                } else {
                    format!("in {} ({fds})", role(process))
                }
            })
            .collect();
        let what = if fd.fd == 0 {
            "its standard input, a pipe".to_owned()
        } else {
            format!("the pipe (fd {})", fd.fd)
        };
        sentences.push(format!(
            "{who} (pid {}) is blocked in read() on {what}, but a write end of that pipe is still \
             open {}: a reader sees end of file only when every write end is closed, so close \
             every write end you do not use. A write end left open",
            reader.pid,
            join_and(&holders)
        ));
    }
    sentences
}

/// One sentence per process blocked in `write()` on a full pipe that nobody reads, naming
/// who holds its read end, and saying so when a holder waits in `waitpid()`: a process
/// waiting for the writer to end while the writer waits for room in the pipe.
pub fn blocked_writers(hang: &Hang, role: &dyn Fn(&Process) -> String) -> Vec<String> {
    let mut sentences = Vec::new();
    for writer in hang.blocked_in("write") {
        let Some(fd) = writer.blocked_on_fd() else {
            continue;
        };
        let Some(inode) = fd.pipe_inode() else {
            continue;
        };
        let who = role(writer);
        let holders = hang.snapshot.pipe_readers(inode);
        let reading = holders.iter().any(|(p, _)| {
            p.blocked_in.as_ref().is_some_and(|s| s.name == "read")
                && p.blocked_on_fd().and_then(|f| f.pipe_inode()) == Some(inode)
        });
        if reading {
            continue;
        }
        let names: Vec<String> = holders
            .iter()
            .map(|(p, n)| {
                let waiting = if p.blocked_in.as_ref().is_some_and(|s| s.name == "wait4") {
                    ", which is waiting in waitpid()"
                } else {
                    ""
                };
                format!("{} (fd {n}){waiting}", role(p))
            })
            .collect();
        let cycle = holders
            .iter()
            .any(|(p, _)| p.blocked_in.as_ref().is_some_and(|s| s.name == "wait4"));
        let mut sentence = format!(
            "{who} (pid {}) is blocked in write() on a full pipe (fd {}) that nobody reads: \
             its read end is held only by {}",
            writer.pid,
            fd.fd,
            join_and(&names)
        );
        if cycle {
            sentence.push_str(
                ". A process waits for a command to end while that command waits for room in \
                 the pipe: start every command before waiting for any, and close the copies of \
                 the pipe ends that the parent does not use. A full pipe nobody reads",
            );
        }
        sentences.push(sentence);
    }
    sentences
}

/// The failure message for a hang: the watchdog's report, then the diagnosis (`proctest::verdict`).
pub fn diagnose(hang: &Hang, role: &dyn Fn(&Process) -> String) -> String {
    let mut sentences = blocked_readers(hang, role);
    sentences.extend(blocked_writers(hang, role));
    if let Some(spinner) = hang.spinning().next() {
        // Nothing left to wait for: every other process has exited. Then it is computing.
        let alone = hang
            .snapshot
            .processes
            .iter()
            .all(|p| p.pid == spinner.pid || p.state == 'Z');
        sentences.push(if alone {
            format!(
                "{} (pid {}) is still running after every other process had exited: it used {} \
                 of CPU in its {} of life, with nothing left to wait for. It is computing, too \
                 slowly for the check's budget: look for work that grows with the square of the \
                 input (a copy of the rest of the buffer for each record, a `remove(0)` in a \
                 loop). Too slow",
                role(spinner),
                spinner.pid,
                proctest::cpu::seconds(spinner.cpu),
                proctest::cpu::seconds(spinner.age)
            )
        } else {
            format!(
                "{} (pid {}) is running, not blocked: it used {} of CPU while it should have \
                 been waiting. Busy-waiting",
                role(spinner),
                spinner.pid,
                proctest::cpu::seconds(spinner.cpu)
            )
        });
    }
    let diagnosis = if sentences.is_empty() {
        "the demo never finished, and no process is blocked reading or writing a pipe: what \
         each process was doing is above. Stuck."
            .to_owned()
    } else {
        sentences
            .iter()
            .map(|s| format!("{s}."))
            .collect::<Vec<_>>()
            .join("\n")
    };
    proctest::verdict(hang, &diagnosis)
}

/// Runs `demo`; a hang becomes a panic with the diagnosis built by `role`.
pub fn run(demo: Demo, role: &dyn Fn(&Process) -> String) -> Finished {
    demo.timeout(WATCHDOG)
        .run()
        .unwrap_or_else(|hang| panic!("{}", diagnose(&hang, role)))
}

/// The value of the demo's audit line `audit: WHAT: VALUE` on standard error.
fn audit_line<'a>(run: &'a Finished, what: &str) -> &'a str {
    let prefix = format!("audit: {what}: ");
    run.stderr
        .lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| {
            panic!(
                "the demo did not report `{prefix}...` (did it exit early?); its error output:\n{}",
                run.stderr
            )
        })
}

/// Checks what a careful reviewer checks after a demo: the descriptors it had open at the
/// end are exactly those it had at the start (it lists its /proc/self/fd at both moments),
/// it has no child left unwaited for (it scans /proc/*/stat for processes whose parent it
/// is), and nothing of its process group outlived it.
pub fn assert_clean(run: &Finished) {
    let start = audit_line(run, "descriptors at start");
    let end = audit_line(run, "descriptors at end");
    assert_eq!(
        end, start,
        "the demo ends with descriptors it did not have at the start (shown with what they \
         point to): every pipe end must be closed once its work is done"
    );
    assert_eq!(
        audit_line(run, "children never waited for"),
        "none",
        "every child must be waited for (waitpid), or it stays a zombie"
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
}

/// Checks a usage error: exit status 2, nothing on standard output, and a message that
/// contains `expected` on standard error.
#[track_caller]
pub fn assert_usage_error(run: &Finished, expected: &str) {
    run.assert_usage_error("the bad input", &[expected]);
}
