//! What the demos share and the student does not write: the process topics' helpers from
//! [`proctest`] (output safe in a forked child, the audit of children and descriptors,
//! usage errors), named here so that the demos say `ipc::sys::...`, and the names of the
//! kernel objects (message queues, shared-memory segments) the demos create.

pub use proctest::args::{step_usage, usage_error, usage_message};
pub use proctest::audit::{Audit, OpenFd, open_fds, unreaped_children};
pub use proctest::child::{Line, exit_now, stderr_fd, stdout_fd, write_all};

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// Parses `value` as a number in `range`, or returns the problem in words:
/// `ITEMS must be a whole number from 1 to 100000, not "abc"`.
///
/// ```
/// use ipc::sys::number;
///
/// assert_eq!(number::<u32>("ITEMS", "12", 1..=100), Ok(12));
/// assert_eq!(
///     number::<u32>("ITEMS", "0", 1..=100),
///     Err("ITEMS must be a whole number from 1 to 100, not \"0\"".to_owned())
/// );
/// ```
///
/// # Errors
///
/// The sentence above, for [`usage_error`].
pub fn number<T>(what: &str, value: &str, range: RangeInclusive<T>) -> Result<T, String>
where
    T: FromStr + PartialOrd + fmt::Display + Copy,
{
    match value.parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(format!(
            "{what} must be a whole number from {} to {}, not {value:?}",
            range.start(),
            range.end()
        )),
    }
}

/// Whether a POSIX message queue named `name` exists (it can be opened), for the demos'
/// and the tests' check that nothing was left behind. `/dev/mqueue` need not be mounted.
pub fn mq_exists(name: &str) -> bool {
    use nix::mqueue::{MQ_OFlag, mq_open};
    match mq_open(
        name,
        MQ_OFlag::O_RDONLY | MQ_OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
        None,
    ) {
        Ok(mqd) => {
            let _ = nix::mqueue::mq_close(mqd);
            true
        }
        // EACCES: it exists, it is just not ours to open.
        Err(errno) => errno != nix::errno::Errno::ENOENT,
    }
}

/// Whether a POSIX shared-memory object named `name` exists (in `/dev/shm` on Linux).
pub fn shm_exists(name: &str) -> bool {
    let path = format!("/dev/shm/{}", name.trim_start_matches('/'));
    std::path::Path::new(&path).exists()
}

/// Whether this kernel offers POSIX message queues: `Ok(())`, or a sentence saying why not
/// and what to do, for a demo or a test to print instead of failing obscurely.
///
/// # Errors
///
/// The sentence.
pub fn mqueues_available() -> Result<(), String> {
    use nix::mqueue::{MQ_OFlag, MqAttr, mq_close, mq_open, mq_unlink};
    // One name per call: tests probe from several threads of one process at once.
    static PROBES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("/course-ipc-probe-{}-{n}", std::process::id());
    let attr = MqAttr::new(0, 1, 16, 0);
    let flags = MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDWR | MQ_OFlag::O_CLOEXEC;
    match mq_open(
        name.as_str(),
        flags,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
        Some(&attr),
    ) {
        Ok(mqd) => {
            let _ = mq_close(mqd);
            let _ = mq_unlink(name.as_str());
            Ok(())
        }
        // A queue of that name exists (left by a killed process whose pid came back):
        // message queues work.
        Err(nix::errno::Errno::EEXIST) => Ok(()),
        Err(errno) => Err(format!(
            "POSIX message queues are not available on this machine: mq_open failed with {errno} \
             ({}). The kernel needs CONFIG_POSIX_MQUEUE (see /proc/sys/fs/mqueue), and a \
             container may forbid them (run it with an IPC namespace of its own, as Docker does \
             by default). Steps ipc/os_mailbox cannot run here; the other ipc steps can.",
            errno.desc()
        )),
    }
}

/// For a process a demo started with `Command` in a role of its own (a worker, a child, a
/// producer): asks the kernel for SIGKILL when its parent dies, so that a demo run by hand
/// and killed leaves no role process behind. (`Command` may start a process without
/// `fork`, so `proctest::lifetime::children_die_with_parent` does not reach it.) Off under
/// a test, as `children_die_with_parent` is: the watchdog reports leftovers itself.
pub fn die_with_parent() {
    if std::env::var_os(proctest::lifetime::UNDER_TEST).is_some() {
        return;
    }
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
}
