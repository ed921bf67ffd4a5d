//! Children that die with their parent, for demos run by hand.
//!
//! A demo that forks (a pipeline of `sort`, `uniq` and `wc`, a parent and child sharing a
//! counter) and is killed on its own (`kill PID` from another terminal, a crash) would leave
//! its children running, reparented to init and often blocked on a pipe forever.
//! [`children_die_with_parent`], called first thing in a demo's `main`, makes every process
//! the demo forks from then on (through any fork: the student's code calls `fork` itself)
//! ask the kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`, kept across `exec`,
//! so it also covers the programs a child runs).
//!
//! Under a test ([`crate::Demo`] sets [`UNDER_TEST`]) this stays off: the watchdog finds the
//! children a demo left behind and reports them as leftovers (a child never waited for is a
//! bug to explain), then kills the demo's whole group itself; children killed by the kernel
//! the moment their parent exits would hide that bug.

use std::sync::Once;
use std::sync::atomic::{AtomicI32, Ordering};

/// The environment variable [`crate::Demo`] sets for the demos it runs.
pub const UNDER_TEST: &str = "PROCTEST_UNDER_TEST";

/// The pid of the process that is forking, recorded just before each fork.
static FORKING_PARENT: AtomicI32 = AtomicI32::new(0);

extern "C" fn before_fork() {
    // SAFETY: getpid has no precondition and cannot fail.
    let me = unsafe { libc::getpid() };
    FORKING_PARENT.store(me, Ordering::SeqCst);
}

extern "C" fn in_child() {
    // Only async-signal-safe calls here: this runs in the child right after fork.
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
    // The parent may have died between the fork and the prctl: then no signal will come.
    // SAFETY: getppid has no precondition and cannot fail.
    if unsafe { libc::getppid() } != FORKING_PARENT.load(Ordering::SeqCst) {
        // SAFETY: _exit is async-signal-safe and never returns.
        unsafe { libc::_exit(1) };
    }
}

/// From now on, every child this process forks (and every child they fork, and the
/// programs they `exec`) is killed when its parent dies, unless the demo runs under a test
/// (see the module's documentation). Call it once, first thing in `main`, before any
/// thread is started; later calls do nothing.
pub fn children_die_with_parent() {
    static INSTALL: Once = Once::new();
    if std::env::var_os(UNDER_TEST).is_some() {
        return;
    }
    INSTALL.call_once(|| {
        // SAFETY: both handlers are `extern "C" fn()` that live for the whole program; the
        // child handler only makes async-signal-safe system calls (prctl, getppid, _exit).
        unsafe {
            libc::pthread_atfork(Some(before_fork), None, Some(in_child));
        }
    });
}
