//! Not a demo: wrong (and some right) solutions of `signals/handshake`, run inside the real
//! `handshake` demo by the tests' oracles, which prove that the checks fail each wrong one
//! with a message naming its cause and pass the right ones, however they are written.
//!
//! Usage: `handshake_oracles FIXTURE [DEMO ARGS...]`, where FIXTURE is one of the names
//! listed by `handshake_oracles` without arguments (`handshake_oracles handshake-if-wait
//! --stray-signal`).

use std::process::ExitCode;

use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction, sigprocmask,
};
use signals::flag::SignalFlag;
use signals::handshake::{GOT_USR1, GOT_USR2};

#[allow(dead_code, unreachable_pub)] // the demo's `main` is not used here
#[path = "handshake.rs"]
mod handshake_demo;

use handshake_demo::Solution;

/// The fixtures: (name, solution, what it does).
const FIXTURES: &[(&str, Solution, &str)] = &[
    (
        "handshake-if-wait",
        Solution {
            install_handlers: blocks_both,
            wait_for: if_wait,
        },
        "wraps sigsuspend in an `if`, not a loop",
    ),
    (
        "handshake-usr1-only",
        Solution {
            install_handlers: blocks_usr1_only,
            wait_for: while_wait,
        },
        "blocks SIGUSR1 only: SIGUSR2 can come between the child's look and its sleep",
    ),
    (
        "handshake-empty-mask",
        Solution {
            install_handlers: returns_empty_mask,
            wait_for: while_wait,
        },
        "returns the empty set as the mask to wait with",
    ),
    (
        "handshake-setmask",
        Solution {
            install_handlers: replaces_mask,
            wait_for: while_wait,
        },
        "blocks with SIG_SETMASK, replacing the caller's mask",
    ),
    (
        "handshake-own-mask",
        Solution {
            install_handlers: blocks_both,
            wait_for: own_mask_wait,
        },
        "right: waits with the current mask minus the awaited signal only",
    ),
    (
        "handshake-sigwait",
        Solution {
            install_handlers: blocks_both,
            wait_for: sigwait_wait,
        },
        "right: takes the signals with sigwait and sets the flags itself",
    ),
];

extern "C" fn on_signal(signo: libc::c_int) {
    if signo == Signal::SIGUSR1 as libc::c_int {
        GOT_USR1.set();
    } else if signo == Signal::SIGUSR2 as libc::c_int {
        GOT_USR2.set();
    }
}

fn usr_signals() -> SigSet {
    let mut usr = SigSet::empty();
    usr.add(Signal::SIGUSR1);
    usr.add(Signal::SIGUSR2);
    usr
}

/// Installs the handler for both signals, after blocking `block` with `how`; returns the
/// mask from before, without SIGUSR1 and SIGUSR2.
fn install(how: SigmaskHow, block: &SigSet) -> nix::Result<SigSet> {
    let mut previous = SigSet::empty();
    sigprocmask(how, Some(block), Some(&mut previous))?;
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGUSR1, Signal::SIGUSR2] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { sigaction(signal, &action) }?;
    }
    previous.remove(Signal::SIGUSR1);
    previous.remove(Signal::SIGUSR2);
    Ok(previous)
}

fn blocks_both() -> nix::Result<SigSet> {
    install(SigmaskHow::SIG_BLOCK, &usr_signals())
}

fn blocks_usr1_only() -> nix::Result<SigSet> {
    let mut usr1 = SigSet::empty();
    usr1.add(Signal::SIGUSR1);
    install(SigmaskHow::SIG_BLOCK, &usr1)
}

fn returns_empty_mask() -> nix::Result<SigSet> {
    blocks_both().map(|_| SigSet::empty())
}

fn replaces_mask() -> nix::Result<SigSet> {
    install(SigmaskHow::SIG_SETMASK, &usr_signals())
}

fn while_wait(flag: &SignalFlag, mask: &SigSet) -> nix::Result<()> {
    while !flag.is_set() {
        mask.suspend()?;
    }
    Ok(())
}

fn if_wait(flag: &SignalFlag, mask: &SigSet) -> nix::Result<()> {
    if !flag.is_set() {
        mask.suspend()?;
    }
    Ok(())
}

/// Sleeps with the mask in force minus the awaited signal only: the other one stays
/// blocked, so it cannot end the sleep.
fn own_mask_wait(flag: &SignalFlag, _: &SigSet) -> nix::Result<()> {
    let awaited = if std::ptr::eq(flag, &GOT_USR1) {
        Signal::SIGUSR1
    } else {
        Signal::SIGUSR2
    };
    let mut mask = SigSet::thread_get_mask()?;
    mask.remove(awaited);
    while !flag.is_set() {
        mask.suspend()?;
    }
    Ok(())
}

/// Takes SIGUSR1 or SIGUSR2 off the pending set with sigwait (no handler runs) and sets
/// the matching flag itself.
fn sigwait_wait(flag: &SignalFlag, _: &SigSet) -> nix::Result<()> {
    let usr = usr_signals();
    while !flag.is_set() {
        match usr.wait()? {
            Signal::SIGUSR1 => GOT_USR1.set(),
            _ => GOT_USR2.set(),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let fixture = if args.is_empty() {
        String::new()
    } else {
        args.remove(0)
    };
    if let Some((_, solution, _)) = FIXTURES.iter().find(|(name, _, _)| *name == fixture) {
        return handshake_demo::run_demo(*solution, args);
    }
    eprintln!("usage: handshake_oracles FIXTURE [DEMO ARGS...]\nfixtures:");
    for (name, _, what) in FIXTURES {
        eprintln!("  {name}: {what}");
    }
    ExitCode::from(2)
}
