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
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

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
    // TODO: a signal that arrives before anyone waits for it runs the handler right away,
    // and the wait that comes later sleeps for nothing. Block SIGUSR1 and SIGUSR2 first
    // (`nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, ...)`), keeping the previous
    // mask, and return that one (without SIGUSR1 and SIGUSR2) for `wait_for`.
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
    SigSet::thread_get_mask()
}

/// Blocks until `flag` is set by the handler. `mask` is the mask [`install_handlers`]
/// returned.
///
/// # Errors
///
/// The error of `sigsuspend` (other than EINTR, its normal return).
// ANCHOR: wait_for
pub fn wait_for(flag: &SignalFlag, mask: &SigSet) -> nix::Result<()> {
    // TODO: this is the notes' `pause()`: it sleeps until the *next* signal, so a signal
    // that came before (or just after a look at `flag`) is never seen. With the signals
    // blocked, look at `flag` and sleep with `mask.suspend()` (sigsuspend), which lets the
    // signal in and sleeps in one step, until `flag` is set.
    let _ = (flag, mask);
    nix::unistd::pause();
    Ok(())
}
// ANCHOR_END: wait_for
