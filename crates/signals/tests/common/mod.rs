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
        .unwrap_or_else(|hang| panic!("{}\n\n{hang}", diagnose(&hang)))
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
    match (blocked_in(parent), blocked_in(child)) {
        (Some("pause"), Some("read")) if after_check => {
            "the parent is blocked in pause() and went there without looking at GOT_USR1 first (the \
             child is still waiting for that look before it signals). pause() sleeps until the \
             *next* signal, so a SIGUSR1 that comes before it, or between a look at the flag and \
             the sleep, is lost. Block the signal first (sigprocmask) and wait with sigsuspend."
                .to_owned()
        }
        (Some("pause"), _) if after_check => {
            "the parent is blocked in pause() but SIGUSR1 was delivered after it looked at GOT_USR1 \
             and before it paused: a lost wake-up. Checking the flag before pause() leaves that \
             gap open. Block the signal first (sigprocmask) and wait with sigsuspend, which \
             unblocks it and sleeps in one step."
                .to_owned()
        }
        (Some("pause"), _) if early => {
            "the parent is blocked in pause() but SIGUSR1 was delivered before it paused: a lost \
             wake-up. Block the signal first (sigprocmask) and wait with sigsuspend."
                .to_owned()
        }
        (Some("pause"), _) => {
            "the parent is blocked in pause(): SIGUSR1 most likely arrived before it paused (a lost \
             wake-up). Block the signal first (sigprocmask) and wait with sigsuspend."
                .to_owned()
        }
        (Some("rt_sigsuspend"), _) => {
            "the parent is blocked in sigsuspend() although the child sent SIGUSR1: does the mask \
             given to sigsuspend still block SIGUSR1? It must be the mask from before the signals \
             were blocked."
                .to_owned()
        }
        (Some("read"), Some("pause")) => {
            "the child is blocked in pause() but SIGUSR2 was delivered before it paused: a lost \
             wake-up, on the child's side. The child inherits the parent's mask and handlers: it \
             must wait with sigsuspend too."
                .to_owned()
        }
        (Some("read"), Some("rt_sigsuspend")) => {
            "the child is blocked in sigsuspend() although the parent sent SIGUSR2: does the mask \
             given to sigsuspend still block SIGUSR2?"
                .to_owned()
        }
        _ => "the demo did not finish: see what each process was doing below.".to_owned(),
    }
}
