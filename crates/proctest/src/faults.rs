//! Faults a demo injects into itself, to reach error paths that a normal run never takes
//! (and that the root user, who ignores most limits, cannot provoke otherwise).

use std::io;

/// Makes every later attempt of the calling process (and of any child it forks after
/// this, were one to succeed) to create a process or a thread fail with EAGAIN, the error
/// `fork` gives when the process limit is reached (`ulimit -u`, a cgroup's `pids.max`).
/// Irreversible for the process: call it right before the code whose error path is
/// checked, in a single-threaded demo.
///
/// A seccomp filter answers `fork`, `vfork`, `clone` and `clone3` with EAGAIN; every other
/// system call is allowed. `PR_SET_NO_NEW_PRIVS` is set first, as an unprivileged process
/// must before installing a filter.
///
/// # Errors
///
/// The error of `prctl` (a kernel without seccomp filters: EINVAL).
pub fn forks_fail() -> io::Result<()> {
    let mut calls: Vec<libc::c_long> = vec![libc::SYS_clone, libc::SYS_clone3];
    #[cfg(target_arch = "x86_64")]
    calls.extend([libc::SYS_fork, libc::SYS_vfork]);
    let eagain = u32::try_from(libc::EAGAIN).expect("errno values are small");
    let mut program = answer_calls(&calls, libc::SECCOMP_RET_ERRNO | eagain);
    install(&mut program, 0).map(drop)
}

/// Makes every later `open` of the calling process that asks for writing (`O_WRONLY` or
/// `O_RDWR`) fail with `errno`, as for a file whose permissions deny it to this user
/// (EACCES), which the root user cannot otherwise provoke. Opens for reading, and every
/// other call, are allowed. Irreversible for the process; single-threaded demos only.
///
/// # Errors
///
/// The error of `prctl` (a kernel without seccomp filters: EINVAL).
pub fn opens_for_writing_fail(errno: nix::errno::Errno) -> io::Result<()> {
    let code = |op: u32| u16::try_from(op).expect("BPF opcodes fit in 16 bits");
    let number = |call: libc::c_long| u32::try_from(call).expect("system call numbers are small");
    let writing = u32::try_from(libc::O_WRONLY | libc::O_RDWR).expect("small flags");
    let errno = u32::try_from(errno as i32).expect("errno values are small");
    // `struct seccomp_data`: the call's number at offset 0, its arguments from offset 16,
    // 8 bytes each (the low half first on the little-endian machines this runs on).
    let arg = |i: u32| 16 + 8 * i;
    let (ld, jeq, jset, ret) = (
        code(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS),
        code(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K),
        code(libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K),
        code(libc::BPF_RET | libc::BPF_K),
    );
    // SAFETY: BPF_STMT and BPF_JUMP only build a `sock_filter` value.
    let mut program = unsafe {
        // A jump goes to the next instruction + its offset.
        #[cfg(target_arch = "x86_64")]
        let program = vec![
            libc::BPF_STMT(ld, 0),
            libc::BPF_JUMP(jeq, number(libc::SYS_openat), 0, 2),
            libc::BPF_STMT(ld, arg(2)),
            libc::BPF_JUMP(jset, writing, 4, 3),
            libc::BPF_JUMP(jeq, number(libc::SYS_open), 0, 2),
            libc::BPF_STMT(ld, arg(1)),
            libc::BPF_JUMP(jset, writing, 1, 0),
            libc::BPF_STMT(ret, libc::SECCOMP_RET_ALLOW),
            libc::BPF_STMT(ret, libc::SECCOMP_RET_ERRNO | errno),
        ];
        #[cfg(not(target_arch = "x86_64"))]
        let program = vec![
            libc::BPF_STMT(ld, 0),
            libc::BPF_JUMP(jeq, number(libc::SYS_openat), 0, 2),
            libc::BPF_STMT(ld, arg(2)),
            libc::BPF_JUMP(jset, writing, 1, 0),
            libc::BPF_STMT(ret, libc::SECCOMP_RET_ALLOW),
            libc::BPF_STMT(ret, libc::SECCOMP_RET_ERRNO | errno),
        ];
        program
    };
    install(&mut program, 0).map(drop)
}

/// A seccomp program that answers each of `calls` with `action` and allows every other
/// call: load the call's number (offset 0 of `struct seccomp_data`); for each call, jump to
/// the last instruction (`action`) if it matches; otherwise allow.
fn answer_calls(calls: &[libc::c_long], action: u32) -> Vec<libc::sock_filter> {
    let code = |op: u32| u16::try_from(op).expect("BPF opcodes fit in 16 bits");
    let mut program = Vec::with_capacity(calls.len() + 3);
    // SAFETY: BPF_STMT and BPF_JUMP only build a `sock_filter` value (they are `unsafe`
    // in libc for no reason of their own).
    unsafe {
        program.push(libc::BPF_STMT(
            code(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS),
            0,
        ));
        for (i, &call) in calls.iter().enumerate() {
            let to_action = u8::try_from(calls.len() - i).expect("a handful of calls");
            let number = u32::try_from(call).expect("system call numbers are small");
            program.push(libc::BPF_JUMP(
                code(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K),
                number,
                to_action,
                0,
            ));
        }
        program.push(libc::BPF_STMT(
            code(libc::BPF_RET | libc::BPF_K),
            libc::SECCOMP_RET_ALLOW,
        ));
        program.push(libc::BPF_STMT(code(libc::BPF_RET | libc::BPF_K), action));
    }
    program
}

/// Installs `program` as a seccomp filter of the calling thread, after setting
/// `PR_SET_NO_NEW_PRIVS` (as an unprivileged process must), with the `seccomp(2)` `flags`
/// given; returns what `seccomp` returns (a listener descriptor with
/// `SECCOMP_FILTER_FLAG_NEW_LISTENER`, 0 otherwise).
fn install(program: &mut [libc::sock_filter], flags: libc::c_ulong) -> io::Result<libc::c_long> {
    let filter = libc::sock_fprog {
        len: u16::try_from(program.len()).expect("a short program"),
        filter: program.as_mut_ptr(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integers; seccomp(2) reads `filter`, which
    // points to `program`, alive for the call (the kernel copies it).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        let rc = libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &filter as *const libc::sock_fprog,
        );
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(rc)
    }
}

/// Makes every child the calling process forks from now on stop itself (SIGSTOP) at
/// birth, before the code after `fork` runs in it, until someone sends it SIGCONT (a
/// test watching the demo: see [`crate::Demo::watch`]). Meanwhile the check can look at
/// the parent alone, kill the child at a chosen moment, or act on the descriptors both
/// hold. Works for `fork` through the C library (which runs `pthread_atfork` handlers in
/// the child), which is what `nix::unistd::fork` calls.
///
/// # Errors
///
/// The error of `pthread_atfork` (ENOMEM).
pub fn children_stop_at_birth() -> io::Result<()> {
    extern "C" fn stop_at_birth() {
        // SAFETY: raise only sends a signal to the calling thread, and is
        // async-signal-safe, as a handler run in a forked child must be.
        unsafe { libc::raise(libc::SIGSTOP) };
    }
    // SAFETY: registering a handler has no precondition; the handler is sound in a child.
    let rc = unsafe { libc::pthread_atfork(None, None, Some(stop_at_birth)) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// The exit status that [`children_fail_at_exit`] gives a child that asked for 0.
pub const FAILED_EXIT: i32 = 3;

/// Makes every child the calling process forks from now on exit with status
/// [`FAILED_EXIT`] where it exits with status 0, after doing everything else as usual: a
/// child that wrote its whole result and still failed, which a parent must tell from a
/// success by the status alone. Works for `fork` through the C library (which runs
/// `pthread_atfork` handlers in the child), which is what `nix::unistd::fork` calls.
///
/// In each child, a `pthread_atfork` handler installs a seccomp filter that traps
/// `exit_group(0)` and `exit(0)` (SIGSYS), and a SIGSYS handler that calls
/// `_exit(FAILED_EXIT)` instead, which the filter lets through. Nothing in the child
/// allocates: the program is built on the stack.
///
/// # Errors
///
/// The error of `pthread_atfork` (ENOMEM).
pub fn children_fail_at_exit() -> io::Result<()> {
    extern "C" fn exit_failing(_: libc::c_int) {
        // SAFETY: _exit is async-signal-safe; the filter lets a non-zero status through.
        unsafe { libc::_exit(FAILED_EXIT) };
    }
    extern "C" fn in_child() {
        let code = |op: u32| u16::try_from(op).expect("BPF opcodes fit in 16 bits");
        let number =
            |call: libc::c_long| u32::try_from(call).expect("system call numbers are small");
        let (ld, jeq, ret) = (
            code(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS),
            code(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K),
            code(libc::BPF_RET | libc::BPF_K),
        );
        // SAFETY: BPF_STMT and BPF_JUMP only build a `sock_filter` value. A jump goes to
        // the next instruction + its offset; the status is the low half of argument 0
        // (offset 16 of `struct seccomp_data` on the little-endian machines this runs on).
        let mut program = unsafe {
            [
                libc::BPF_STMT(ld, 0),
                libc::BPF_JUMP(jeq, number(libc::SYS_exit_group), 1, 0),
                libc::BPF_JUMP(jeq, number(libc::SYS_exit), 0, 3),
                libc::BPF_STMT(ld, 16),
                libc::BPF_JUMP(jeq, 0, 0, 1),
                libc::BPF_STMT(ret, libc::SECCOMP_RET_TRAP),
                libc::BPF_STMT(ret, libc::SECCOMP_RET_ALLOW),
            ]
        };
        // SAFETY: a zeroed sigaction with a handler and an empty mask is valid; sigaction
        // is async-signal-safe, as code run in a forked child must be.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = exit_failing as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGSYS, &action, std::ptr::null_mut());
        }
        // Nobody to report a failure to here: the child then exits with 0, and the check
        // that counts on status 3 says so.
        let _ = install(&mut program, 0);
    }
    // SAFETY: registering a handler has no precondition; the handler only calls
    // async-signal-safe functions (sigaction, prctl, seccomp), as one run in a child must.
    let rc = unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// How many forks [`forks_fail_after`] lets through; `u32::MAX` until it is called.
static FORKS_LEFT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(u32::MAX);

/// Lets the calling process fork `successes` more times, then makes every later fork fail
/// with EAGAIN, as when the process limit is reached part-way through a loop of forks: the
/// error path a loop takes with children already started. A `pthread_atfork` handler
/// counts the forks in the parent and installs the filter of [`forks_fail`] after the
/// last one allowed. With `successes` 0, the next fork already fails.
///
/// # Errors
///
/// The error of `pthread_atfork` or, with `successes` 0, of [`forks_fail`].
pub fn forks_fail_after(successes: u32) -> io::Result<()> {
    use std::sync::atomic::Ordering;
    extern "C" fn after_fork_in_parent() {
        // glibc runs this after a failed fork too: count down to zero, never past it.
        let before =
            FORKS_LEFT.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if before == Ok(1) {
            // Nobody to report a failure to here: the next fork then simply succeeds, and
            // the check that counts on its failure says so.
            let _ = forks_fail();
        }
    }
    if successes == 0 {
        return forks_fail();
    }
    FORKS_LEFT.store(successes, Ordering::SeqCst);
    // SAFETY: registering a handler has no precondition; this one runs in the parent only.
    let rc = unsafe { libc::pthread_atfork(None, Some(after_fork_in_parent), None) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// Calls of one thread held at their entry, until the check lets each go on: made by
/// [`hold_calls`] on the thread whose calls are held, used from another thread.
///
/// Dropping it lets every held call, and every later one, fail with ENOSYS.
#[derive(Debug)]
pub struct Gate {
    listener: std::os::fd::OwnedFd,
}

/// One call held by a [`Gate`]: the thread that made it, its number and its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    id: u64,
    /// The kernel's id of the thread that made the call.
    pub tid: i32,
    /// The call's number (`libc::SYS_...`).
    pub number: i64,
    /// Its six arguments as the kernel received them.
    pub args: [u64; 6],
}

/// Holds, from now on, every call of the calling thread whose number is in `calls`, at
/// its entry, until [`Gate::release`] lets it go on as if nothing had happened. Only this
/// thread is filtered (the filter is not synchronized to the others), so a check can stop
/// the code under test between two of its system calls, act meanwhile (take the message
/// the held call was about to receive, look at a descriptor's flags) and then let it go
/// on: an interleaving forced, not hoped for. Irreversible for the thread: call it on a
/// thread that ends after the call checked.
///
/// A seccomp filter answers the calls with `SECCOMP_RET_USER_NOTIF` (Linux 5.5 or later);
/// `PR_SET_NO_NEW_PRIVS` is set first, on this thread only.
///
/// # Errors
///
/// The error of `prctl` or `seccomp` (a kernel without user notifications: EINVAL).
pub fn hold_calls(calls: &[libc::c_long]) -> io::Result<Gate> {
    use std::os::fd::FromRawFd;
    let mut program = answer_calls(calls, libc::SECCOMP_RET_USER_NOTIF);
    let fd = install(&mut program, libc::SECCOMP_FILTER_FLAG_NEW_LISTENER)?;
    let fd = i32::try_from(fd).expect("descriptors are small");
    // SAFETY: the listener descriptor seccomp(2) just returned is owned by nothing else.
    let listener = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    Ok(Gate { listener })
}

/// The listener descriptor: readable when a held call waits for [`Gate::next`], so a
/// controller can wait for held calls and for other events in one `poll`.
impl std::os::fd::AsFd for Gate {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.listener.as_fd()
    }
}

impl Gate {
    /// Waits at most `timeout` for the next held call: `None` when none came meanwhile
    /// (a zero `timeout` only looks).
    ///
    /// # Errors
    ///
    /// The error of `poll` or of the `SECCOMP_IOCTL_NOTIF_RECV` request.
    pub fn next(&self, timeout: std::time::Duration) -> io::Result<Option<Held>> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::{AsFd, AsRawFd};
        let millis = PollTimeout::try_from(timeout.as_millis()).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(self.listener.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, millis)? == 0 {
            return Ok(None);
        }
        // SAFETY: an all-zero `seccomp_notif` is valid (plain integers), and the kernel
        // requires it zeroed.
        let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: the request writes one `seccomp_notif` through the pointer, to `notif`.
        let rc = unsafe {
            libc::ioctl(
                self.listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &raw mut notif,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Some(Held {
            id: notif.id,
            tid: i32::try_from(notif.pid).unwrap_or(0),
            number: i64::from(notif.data.nr),
            args: notif.data.args,
        }))
    }

    /// Whether a held call waits to be received by [`Gate::next`] (without receiving it).
    ///
    /// # Errors
    ///
    /// The error of `poll`.
    pub fn pending(&self) -> io::Result<bool> {
        use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
        use std::os::fd::AsFd;
        let mut fds = [PollFd::new(self.listener.as_fd(), PollFlags::POLLIN)];
        Ok(poll(&mut fds, PollTimeout::ZERO)? > 0)
    }

    /// Lets `held` go on: the kernel runs the call as it would have without the gate.
    ///
    /// # Errors
    ///
    /// ENOENT when the call is no longer held (its thread was interrupted by a signal).
    pub fn release(&self, held: Held) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let mut response = libc::seccomp_notif_resp {
            id: held.id,
            val: 0,
            error: 0,
            flags: u32::try_from(libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE).expect("a flag"),
        };
        // SAFETY: the request reads one `seccomp_notif_resp` through the pointer.
        let rc = unsafe {
            libc::ioctl(
                self.listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND,
                &raw mut response,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}
