//! Pinning a process to one processor, so that two processes of a demo run side by side
//! instead of taking turns on one core.

/// Restricts the calling process to the `n`-th processor it is allowed to run on (counting
/// from 0, wrapping around when there are fewer). Returns whether it worked; on failure the
/// process keeps running wherever the scheduler puts it.
///
/// On a busy machine the scheduler may keep a parent and its child on one core; they then
/// take turns, and a race between them shows up only when one is preempted at the worst
/// moment. On two different cores they really run at the same time.
///
/// Async-signal-safe: two system calls and a stack buffer.
pub fn pin_to_nth_cpu(n: usize) -> bool {
    // SAFETY: cpu_set_t is a plain bit array: all zero is the empty set.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: `allowed` is a valid cpu_set_t of `size` bytes, written by the kernel.
    if unsafe { libc::sched_getaffinity(0, size, &mut allowed) } != 0 {
        return false;
    }
    let cpus: usize = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE, inside the set.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &allowed) })
        .count();
    if cpus == 0 {
        return false;
    }
    let Some(target) = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: as above.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &allowed) })
        .nth(n % cpus)
    else {
        return false;
    };
    // SAFETY: as above, all zero is the empty set.
    let mut only: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `target` is below CPU_SETSIZE.
    unsafe { libc::CPU_SET(target, &mut only) };
    // SAFETY: `only` is a valid cpu_set_t of `size` bytes.
    unsafe { libc::sched_setaffinity(0, size, &only) == 0 }
}
