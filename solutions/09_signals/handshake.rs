//! Signals, step 1: the handshake of the notes, without a lost wake-up.
//!
//! Task: the child sends SIGUSR1 to the parent; the parent, once it has received it,
//! sends SIGUSR2 to the child; then it terminates the child with SIGTERM and reaps it.
//! `install_handlers` installs a handler for SIGUSR1 and SIGUSR2 that only sets a flag;
//! `wait_for` waits until a flag is set.
//! Invariant: a signal is never lost, whenever it arrives: before the wait starts, or
//! between the look at the flag and the sleep.
//! Rule: `wait_for` also runs in the forked child, which may only call async-signal-safe
//! functions (sigsuspend and read are; sigwait and sigwaitinfo are not): the checks read
//! the source.
//! Time budget: each check gives the demo 4 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine; a wait must block
//! in the kernel, not spin (the checks compare CPU time with the work waited for).
//! Done when `just check signals/handshake` (or `cargo course check signals/handshake`)
//! passes.

use crate::flag::SignalFlag;
use nix::sys::signal::{
    SaFlags, SigAction, SigHandler, SigSet, SigmaskHow, Signal, sigaction, sigprocmask,
};

/// Set by the handler when SIGUSR1 arrives (the parent waits for it).
pub static GOT_USR1: SignalFlag = SignalFlag::new();
/// Set by the handler when SIGUSR2 arrives (the child waits for it).
pub static GOT_USR2: SignalFlag = SignalFlag::new();

/// The handler of SIGUSR1 and SIGUSR2: it only sets a flag, which is async-signal-safe
/// (the notes' handler calls `printf`, which is not).
extern "C" fn on_signal(signo: libc::c_int) {
    if signo == Signal::SIGUSR1 as libc::c_int {
        GOT_USR1.set();
    } else if signo == Signal::SIGUSR2 as libc::c_int {
        GOT_USR2.set();
    }
}

/// Installs [`on_signal`] for SIGUSR1 and SIGUSR2 and returns the signal mask to pass to
/// [`wait_for`]. Call it before `fork`: the child inherits the handlers and the mask.
///
/// # Errors
///
/// The error of `sigprocmask` or `sigaction`.
pub fn install_handlers() -> nix::Result<SigSet> {
    let mut usr = SigSet::empty();
    usr.add(Signal::SIGUSR1);
    usr.add(Signal::SIGUSR2);
    // Block both signals first: from now on, one that arrives stays pending instead of
    // running the handler at a moment nobody is waiting for it.
    let mut previous = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&usr), Some(&mut previous))?;
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in [Signal::SIGUSR1, Signal::SIGUSR2] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe, and
        // touches nothing the interrupted code could be holding.
        unsafe { sigaction(signal, &action) }?;
    }
    // The mask to wait with: the one we had, with SIGUSR1 and SIGUSR2 let through.
    previous.remove(Signal::SIGUSR1);
    previous.remove(Signal::SIGUSR2);
    Ok(previous)
}

/// Blocks until `flag` is set by the handler. `mask` is the mask [`install_handlers`]
/// returned.
///
/// # Errors
///
/// The error of `sigsuspend` (other than EINTR, its normal return).
// ANCHOR: wait_for
pub fn wait_for(flag: &SignalFlag, mask: &SigSet) -> nix::Result<()> {
    // The signal is blocked while we look at the flag, so it cannot slip in between the
    // look and the sleep: sigsuspend unblocks it and sleeps in one atomic step, and
    // returns once a handler has run. A pending signal is delivered at once.
    while !flag.is_set() {
        mask.suspend()?;
    }
    Ok(())
}
// ANCHOR_END: wait_for
