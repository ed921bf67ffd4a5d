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
    // The filter: load the call's number; for each call above, jump to the last
    // instruction (fail with EAGAIN) if it matches; otherwise allow.
    let mut program = Vec::with_capacity(calls.len() + 3);
    let code = |op: u32| u16::try_from(op).expect("BPF opcodes fit in 16 bits");
    // SAFETY: BPF_STMT and BPF_JUMP only build a `sock_filter` value (they are `unsafe`
    // in libc for no reason of their own).
    unsafe {
        // The first field of `struct seccomp_data` is the call's number (offset 0).
        program.push(libc::BPF_STMT(
            code(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS),
            0,
        ));
        for (i, &call) in calls.iter().enumerate() {
            let to_fail = u8::try_from(calls.len() - i).expect("a handful of calls");
            let number = u32::try_from(call).expect("system call numbers are small");
            program.push(libc::BPF_JUMP(
                code(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K),
                number,
                to_fail,
                0,
            ));
        }
        program.push(libc::BPF_STMT(
            code(libc::BPF_RET | libc::BPF_K),
            libc::SECCOMP_RET_ALLOW,
        ));
        let eagain = u32::try_from(libc::EAGAIN).expect("errno values are small");
        program.push(libc::BPF_STMT(
            code(libc::BPF_RET | libc::BPF_K),
            libc::SECCOMP_RET_ERRNO | eagain,
        ));
    }
    install(&mut program)
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
    install(&mut program)
}

/// Installs `program` as a seccomp filter of the calling thread, after setting
/// `PR_SET_NO_NEW_PRIVS` (as an unprivileged process must).
fn install(program: &mut [libc::sock_filter]) -> io::Result<()> {
    let filter = libc::sock_fprog {
        len: u16::try_from(program.len()).expect("a short program"),
        filter: program.as_mut_ptr(),
    };
    // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integers; PR_SET_SECCOMP reads `filter`,
    // which points to `program`, alive for the call (the kernel copies it).
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER,
            &filter as *const libc::sock_fprog,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
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
