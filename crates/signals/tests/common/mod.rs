//! Helpers shared by the signals topic's tests: run a demo under the watchdog and turn a
//! hang into a diagnosis in the topic's words.
#![allow(dead_code)] // each test file uses its own part of these helpers

use proctest::{Demo, Finished, Hang, Process};
use std::time::Duration;

/// The watchdog's timeout: a correct demo finishes in milliseconds; this only bounds how
/// long a broken one takes to be diagnosed on a slow, busy machine.
pub const WATCHDOG: Duration = Duration::from_secs(4);

/// Runs `demo`; a hang fails the test with a diagnosis, then the watchdog's report.
pub fn run(demo: Demo) -> Finished {
    demo.timeout(WATCHDOG)
        .run()
        .unwrap_or_else(|hang| panic!("{}", proctest::verdict(&hang, &diagnose(&hang))))
}

/// The demo itself: the process of the group whose parent is outside the group.
fn parent(hang: &Hang) -> Option<&Process> {
    let procs = &hang.snapshot.processes;
    procs
        .iter()
        .find(|p| !procs.iter().any(|q| q.pid == p.ppid))
}

fn blocked_in(process: Option<&Process>) -> Option<&str> {
    Some(process?.blocked_in.as_ref()?.name.as_str())
}

/// Why `who` is stuck in sigsuspend() waiting for `signal`, from its signal masks: the
/// mask it sleeps with (its blocked set during the call) and what is pending.
/// `caller_blocked`: the demo had blocked SIGUSR1 and SIGUSR2 itself before
/// `install_handlers` (`--usr-blocked`).
fn suspended(
    process: &Process,
    signal: i32,
    name: &str,
    who: &str,
    caller_blocked: bool,
) -> String {
    let masks = process.signals;
    if masks.is_blocked(signal) && caller_blocked {
        let pending = if masks.is_pending(signal) {
            format!(", and {name} is pending: it came, and waits to be let in")
        } else {
            String::new()
        };
        format!(
            "{who} is blocked in sigsuspend() with a mask that still blocks {name}{pending}. \
             The demo had blocked SIGUSR1 and SIGUSR2 itself before install_handlers, so the \
             mask from before already blocks them: take both out of it (SigSet::remove) \
             before returning it, so that sigsuspend lets them in whoever blocked them first. \
             The mask blocks the signal."
        )
    } else if masks.is_blocked(signal) {
        let pending = if masks.is_pending(signal) {
            format!(", and {name} is pending: it came, and waits to be let in")
        } else {
            String::new()
        };
        format!(
            "{who} is blocked in sigsuspend() with a mask that still blocks {name} (its \
             blocked set while it waits){pending}. sigsuspend sleeps until a signal *outside* \
             the mask it is given arrives: pass the mask from before the signals were blocked, \
             without {name} (the one install_handlers returns). The mask blocks the signal."
        )
    } else {
        format!(
            "{who} is blocked in sigsuspend() although {name} is neither blocked nor pending: \
             it was delivered before the wait began, its handler already ran, and sigsuspend \
             now waits for another signal that never comes. Block {name} before it can arrive \
             (sigprocmask in install_handlers, before the fork) and look at the flag before \
             each sigsuspend. A lost wake-up."
        )
    }
}

/// Whether `signal` may have reached `process`: it is pending, or it is blocked (then it
/// would be pending had it come). Neither, while the sender still waits for the sleeper's
/// first look at its flag (the `--...-after-check` orders), means it was never sent.
fn sent(process: Option<&Process>, signal: i32) -> bool {
    process.is_none_or(|p| p.signals.is_blocked(signal) || p.signals.is_pending(signal))
}

/// Whether `reader` is blocked in read() on a pipe that `writer` holds the write end of:
/// under `--signal-after-check`, the child waiting for the parent's first look at its flag
/// (the look closes that write end).
fn reads_from(hang: &Hang, reader: Option<&Process>, writer: Option<&Process>) -> Option<bool> {
    let inode = reader?.blocked_on_fd()?.pipe_inode()?;
    let writer = writer?.pid;
    Some(
        hang.snapshot
            .pipe_writers(inode)
            .iter()
            .any(|(p, _)| p.pid == writer),
    )
}

/// Whether `holder` still holds the read end of a pipe that `writer` writes to: under
/// `--answer-after-check`, the child's race armed and not yet run (its first look at the
/// flag closes that read end; the child reads no other pipe).
fn holds_a_read_end_from(hang: &Hang, holder: Option<&Process>, writer: Option<&Process>) -> bool {
    let (Some(holder), Some(writer)) = (holder, writer) else {
        return false;
    };
    holder
        .fds
        .iter()
        .filter(|fd| fd.readable)
        .filter_map(|fd| fd.pipe_inode())
        .any(|inode| {
            hang.snapshot
                .pipe_writers(inode)
                .iter()
                .any(|(p, _)| p.pid == writer.pid)
        })
}

/// Why `who` sleeps in sigsuspend() for `signal` that `sender` never sent: `sender` sends it
/// right after `who`'s first look at `flag`, and is still waiting for that look.
fn slept_before_looking(who: &str, flag: &str, sender: &str, signal: &str) -> String {
    format!(
        "{who} is blocked in sigsuspend() without having looked at {flag} first: {sender} \
         sends {signal} right after that first look, and is still waiting for it (blocked in \
         read()), so {signal} was never sent. A wait that sleeps before it looks at the flag \
         (a do-while) sleeps forever when the flag is already set or the signal already \
         handled. Look at the flag before each sigsuspend: `while !flag.is_set() {{ ... }}`. \
         A sleep before the first look."
    )
}

/// Why `who` is stuck in pause() waiting for `signal`, when the signal is blocked: pause
/// does not unblock anything.
fn paused_while_blocked(process: &Process, signal: i32, name: &str, who: &str) -> Option<String> {
    process.signals.is_blocked(signal).then(|| {
        format!(
            "{who} is blocked in pause() while {name} is blocked: the signal stays pending and \
             pause() never returns, since it does not unblock anything. Wait with sigsuspend, \
             which lets the signal in and sleeps in one step. The wait does not unblock the \
             signal."
        )
    })
}

/// A sentence on why the demo is stuck, in the words of the topic.
pub fn diagnose(hang: &Hang) -> String {
    let parent = parent(hang);
    let child = hang
        .snapshot
        .processes
        .iter()
        .find(|p| Some(p.ppid) == parent.map(|q| q.pid));
    let early = hang.stdout.contains("the child has sent SIGUSR1");
    let after_check = hang.stdout.contains("right after the parent's first look");
    let answer_after_check = hang.stdout.contains("right after the child's first look");
    let caller_blocked = hang
        .stdout
        .contains("SIGUSR1 and SIGUSR2 are blocked before install_handlers");
    let usr1 = libc::SIGUSR1;
    let usr2 = libc::SIGUSR2;
    if let Some(spinner) = hang.spinning().next() {
        let who = if Some(spinner.pid) == parent.map(|p| p.pid) {
            "the parent"
        } else {
            "the child"
        };
        return format!(
            "{who} is running, not blocked: it used {} of CPU while it waited for a signal. \
             A loop that looks at the flag again and again keeps the CPU busy; sleep with \
             sigsuspend between two looks. Busy-waiting.",
            proctest::cpu::seconds(spinner.cpu)
        );
    }
    // The demo's parent only ever sleeps in the student's wait: a sleep of its own there is
    // a poll (sleep, look, sleep again).
    if let Some(call @ ("clock_nanosleep" | "nanosleep")) = blocked_in(parent) {
        let pending = parent.is_some_and(|p| p.signals.is_pending(usr1));
        return format!(
            "the parent sleeps in {call}() while it waits for SIGUSR1: wait_for polls the \
             flag (sleep, look, sleep again) instead of waiting in sigsuspend.{} sigsuspend \
             installs a mask that lets the signal in and sleeps in one step, and it returns \
             as soon as a handler has run. Polling instead of sigsuspend.",
            if pending {
                " SIGUSR1 is pending: it came, but the mask still blocks it, so no look \
                 ever sees the flag set."
            } else {
                ""
            }
        );
    }
    if let (Some(p), Some("pause")) = (parent, blocked_in(parent)) {
        if let Some(why) = paused_while_blocked(p, usr1, "SIGUSR1", "the parent") {
            return why;
        }
    }
    if let (Some(c), Some("pause")) = (child, blocked_in(child)) {
        if blocked_in(parent) == Some("read") {
            if let Some(why) = paused_while_blocked(c, usr2, "SIGUSR2", "the child") {
                return why;
            }
        }
    }
    match (blocked_in(parent), blocked_in(child)) {        (Some("pause"), Some("read")) if after_check => {
            "the parent is blocked in pause() and went there without looking at GOT_USR1 first (the \
             child is still waiting for that look before it signals). pause() sleeps until the \
             *next* signal, so a SIGUSR1 that comes before it, or between a look at the flag and \
             the sleep, is lost. Block the signal first (sigprocmask) and wait with sigsuspend. A lost wake-up."
                .to_owned()
        }
        (Some("pause"), _) if after_check => {
            "the parent is blocked in pause() but SIGUSR1 was delivered after it looked at GOT_USR1 \
             and before it paused: a lost wake-up. Checking the flag before pause() leaves that \
             gap open. Block the signal first (sigprocmask) and wait with sigsuspend, which \
             unblocks it and sleeps in one step. A lost wake-up."
                .to_owned()
        }
        (Some("pause"), _) if early => {
            "the parent is blocked in pause() but SIGUSR1 was delivered before it paused: a lost \
             wake-up. Block the signal first (sigprocmask) and wait with sigsuspend. A lost wake-up."
                .to_owned()
        }
        (Some("pause"), _) => {
            "the parent is blocked in pause(): SIGUSR1 most likely arrived before it paused (a lost \
             wake-up). Block the signal first (sigprocmask) and wait with sigsuspend. A lost wake-up."
                .to_owned()
        }
        (Some("rt_sigsuspend"), Some("read"))
            if after_check
                && !sent(parent, usr1)
                && reads_from(hang, child, parent).unwrap_or(false) =>
        {
            slept_before_looking("the parent", "GOT_USR1", "the child", "SIGUSR1")
        }
        (Some("read"), Some("rt_sigsuspend"))
            if answer_after_check
                && !sent(child, usr2)
                && holds_a_read_end_from(hang, child, parent) =>
        {
            slept_before_looking("the child", "GOT_USR2", "the parent", "SIGUSR2")
        }
        (Some("rt_sigsuspend"), _) => match parent {
            Some(p) => suspended(p, usr1, "SIGUSR1", "the parent", caller_blocked),
            None => unreachable!("a process blocked in a call exists"),
        },
        (Some("read"), Some("pause")) => {
            "the child is blocked in pause() but SIGUSR2 was delivered before it paused: a lost \
             wake-up, on the child's side. The child inherits the parent's mask and handlers: it \
             must wait with sigsuspend too. A lost wake-up."
                .to_owned()
        }
        (Some("read"), Some("rt_sigsuspend")) => match child {
            Some(c) => suspended(c, usr2, "SIGUSR2", "the child", caller_blocked),
            None => unreachable!("a process blocked in a call exists"),
        },
        _ => "the demo did not finish: what each process was doing is above. Stuck.".to_owned(),
    }
}
