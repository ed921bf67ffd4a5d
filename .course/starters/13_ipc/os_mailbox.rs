//! IPC, step 2: a mailbox kept by the operating system (POSIX message queues).
//!
//! Task: the messages topic built a mailbox inside the process, a channel in its memory.
//! The notes' other kind lives in the kernel: the OS keeps the messages, and processes send
//! and receive through system calls (`mq_send`, `mq_receive`). A `Mailbox` is one open POSIX
//! message queue, named like `/course-ipc-4242-child`, with a capacity (messages) and a
//! maximum message size. `send` and `receive` block (when full, when empty); write the
//! three that do not wait as long: `try_receive` answers `Empty` at once (the non-blocking
//! descriptor's `EAGAIN`), `receive_timeout` waits at most `timeout` (`mq_timedreceive`
//! takes an absolute time on `CLOCK_REALTIME`, not a duration), and the owner's `Drop`
//! removes the queue's name (`mq_unlink`) unless `unlink` did already (by then the name may
//! be another queue's): a queue lives in the kernel, like a file, after every process that
//! used it has exited, until someone unlinks it.
//! Invariant: a higher priority is received first, equal priorities in the order sent;
//! nothing that may not wait ever waits; the queue the owner created never outlives it.
//! Time budget: about 45 minutes; each check gives one call 10 s, each demo 10 s, before it
//! reports it stuck.
//! Done when `just check ipc/os_mailbox` (or `cargo course check ipc/os_mailbox`) passes.

use nix::errno::Errno;
use nix::mqueue::{
    MQ_OFlag, MqAttr, MqdT, mq_close, mq_getattr, mq_open, mq_receive, mq_send, mq_timedreceive,
    mq_unlink,
};
use nix::sys::stat::Mode;
use nix::sys::time::TimeSpec;
#[allow(unused_imports)] // used once the TODOs below are done
use nix::time::{ClockId, clock_gettime};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// What went wrong with a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxError {
    /// This kernel has no POSIX message queues (`ENOSYS`): it was built without
    /// `CONFIG_POSIX_MQUEUE`, or a sandbox forbids them.
    Unavailable(Errno),
    /// `create`: a queue of that name exists already.
    Exists,
    /// `open`: no queue has that name (never created, or unlinked).
    NoSuchMailbox,
    /// `try_send`: the queue holds `capacity` messages.
    Full,
    /// `try_receive`: the queue holds no message.
    Empty,
    /// `receive_timeout`: no message came before the deadline.
    Timeout,
    /// The message is longer than the queue's maximum size (`EMSGSIZE`).
    TooBig,
    /// Any other failure of a system call.
    Sys(Errno),
}

/// A message received: its body and its priority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The bytes sent.
    pub body: Vec<u8>,
    /// Its priority: a higher one is received first.
    pub priority: u32,
}

/// One open POSIX message queue.
#[derive(Debug)]
pub struct Mailbox {
    /// For `send`, `receive`, `receive_timeout`: calls that wait.
    blocking: MqdT,
    /// The same queue opened a second time with `O_NONBLOCK`: calls on it fail with
    /// `EAGAIN` instead of waiting. (`O_NONBLOCK` belongs to an open queue description, so
    /// each of the two has its own, and no call ever toggles a flag another one relies on.)
    nonblocking: MqdT,
    name: String,
    /// Whether this process created the queue (then its `Drop` removes the name).
    owner: bool,
    /// Whether the name was removed already (`unlink`).
    unlinked: bool,
    message_size: usize,
}

fn opened(errno: Errno) -> MailboxError {
    match errno {
        Errno::ENOSYS => MailboxError::Unavailable(errno),
        Errno::EEXIST => MailboxError::Exists,
        Errno::ENOENT => MailboxError::NoSuchMailbox,
        other => MailboxError::Sys(other),
    }
}

impl Mailbox {
    /// Creates the queue `name` (it must not exist: `O_EXCL`), holding at most `capacity`
    /// messages of at most `message_size` bytes, readable and writable by this user only.
    /// This process becomes its owner.
    ///
    /// # Errors
    ///
    /// [`MailboxError::Exists`], [`MailboxError::Unavailable`], or `Sys(EINVAL)` when the
    /// capacity or size exceed the limits in `/proc/sys/fs/mqueue` (`msg_max`,
    /// `msgsize_max`: 10 and 8192 by default for a process without privileges).
    pub fn create(name: &str, capacity: usize, message_size: usize) -> Result<Self, MailboxError> {
        let attr = MqAttr::new(0, capacity as _, message_size as _, 0);
        let flags = MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDWR | MQ_OFlag::O_CLOEXEC;
        let blocking =
            mq_open(name, flags, Mode::S_IRUSR | Mode::S_IWUSR, Some(&attr)).map_err(opened)?;
        Self::finish(name, blocking, true)
    }

    /// Opens the existing queue `name`, to send and receive. This process is not its owner.
    ///
    /// # Errors
    ///
    /// [`MailboxError::NoSuchMailbox`], [`MailboxError::Unavailable`], `Sys(EACCES)`.
    pub fn open(name: &str) -> Result<Self, MailboxError> {
        let blocking = mq_open(
            name,
            MQ_OFlag::O_RDWR | MQ_OFlag::O_CLOEXEC,
            Mode::empty(),
            None,
        )
        .map_err(opened)?;
        Self::finish(name, blocking, false)
    }

    fn finish(name: &str, blocking: MqdT, owner: bool) -> Result<Self, MailboxError> {
        let flags = MQ_OFlag::O_RDWR | MQ_OFlag::O_NONBLOCK | MQ_OFlag::O_CLOEXEC;
        let nonblocking = match mq_open(name, flags, Mode::empty(), None) {
            Ok(mqd) => mqd,
            Err(errno) => {
                let _ = mq_close(blocking);
                if owner {
                    let _ = mq_unlink(name);
                }
                return Err(opened(errno));
            }
        };
        let message_size = mq_getattr(&blocking).map_or(0, |a| a.msgsize() as usize);
        Ok(Self {
            blocking,
            nonblocking,
            name: name.to_owned(),
            owner,
            unlinked: false,
            message_size,
        })
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The largest message this queue takes, in bytes.
    pub fn message_size(&self) -> usize {
        self.message_size
    }

    /// How many messages wait in the queue now.
    ///
    /// # Errors
    ///
    /// What `mq_getattr` returns.
    pub fn pending(&self) -> Result<usize, MailboxError> {
        mq_getattr(&self.blocking)
            .map(|a| a.curmsgs() as usize)
            .map_err(MailboxError::Sys)
    }

    /// Sends `body` with `priority`, waiting while the queue is full.
    ///
    /// # Errors
    ///
    /// [`MailboxError::TooBig`], or `Sys` for another failure.
    pub fn send(&self, body: &[u8], priority: u32) -> Result<(), MailboxError> {
        loop {
            match mq_send(&self.blocking, body, priority) {
                Ok(()) => return Ok(()),
                Err(Errno::EINTR) => {}
                Err(Errno::EMSGSIZE) => return Err(MailboxError::TooBig),
                Err(e) => return Err(MailboxError::Sys(e)),
            }
        }
    }

    /// Sends `body` with `priority` if there is room now; never waits.
    ///
    /// # Errors
    ///
    /// [`MailboxError::Full`] when the queue holds `capacity` messages, otherwise as
    /// [`Mailbox::send`].
    pub fn try_send(&self, body: &[u8], priority: u32) -> Result<(), MailboxError> {
        match mq_send(&self.nonblocking, body, priority) {
            Ok(()) => Ok(()),
            Err(Errno::EAGAIN) => Err(MailboxError::Full),
            Err(Errno::EMSGSIZE) => Err(MailboxError::TooBig),
            Err(e) => Err(MailboxError::Sys(e)),
        }
    }

    /// Receives the oldest message of the highest priority, waiting while there is none.
    ///
    /// # Errors
    ///
    /// `Sys` when `mq_receive` fails.
    pub fn receive(&self) -> Result<Message, MailboxError> {
        let mut buf = vec![0u8; self.message_size];
        let mut priority = 0;
        loop {
            match mq_receive(&self.blocking, &mut buf, &mut priority) {
                Ok(n) => return Ok(message(buf, n, priority)),
                Err(Errno::EINTR) => {}
                Err(e) => return Err(MailboxError::Sys(e)),
            }
        }
    }

    // ANCHOR: try_receive
    /// Receives a message if one is there now; never waits.
    ///
    /// # Errors
    ///
    /// [`MailboxError::Empty`] when the queue holds none, `Sys` for another failure.
    pub fn try_receive(&self) -> Result<Message, MailboxError> {
        let mut buf = vec![0u8; self.message_size];
        let mut priority = 0;
        // TODO: this receives through the blocking descriptor, so on an empty queue it
        // waits (forever, if nobody sends). Use the descriptor opened with O_NONBLOCK, as
        // `try_send` does: an empty queue then fails at once with EAGAIN, which is
        // `MailboxError::Empty`.
        match mq_receive(&self.blocking, &mut buf, &mut priority) {
            Ok(n) => Ok(message(buf, n, priority)),
            Err(e) => Err(MailboxError::Sys(e)),
        }
    }
    // ANCHOR_END: try_receive

    // ANCHOR: receive_timeout
    /// Receives a message, waiting at most `timeout` for one. A timeout too large for the
    /// clock (`Duration::MAX`, centuries) never runs out: it waits like `receive`.
    ///
    /// # Errors
    ///
    /// [`MailboxError::Timeout`] when none came in time, `Sys` for another failure.
    pub fn receive_timeout(&self, timeout: Duration) -> Result<Message, MailboxError> {
        let mut buf = vec![0u8; self.message_size];
        let mut priority = 0;
        // TODO: mq_timedreceive does not take a duration: it takes the moment to give up at,
        // a time of day on CLOCK_REALTIME (`clock_gettime(ClockId::CLOCK_REALTIME)` +
        // the timeout). Given the duration itself, it reads "200 ms after midnight, January
        // 1st 1970", long past, and gives up at once. Also retry on EINTR (with the same
        // moment: that is what an absolute deadline is good for). And a timeout too large for
        // the clock (Duration::MAX) must not wrap around into the past: see the doc above.
        let deadline = TimeSpec::from_duration(timeout);
        match mq_timedreceive(&self.blocking, &mut buf, &mut priority, &deadline) {
            Ok(n) => Ok(message(buf, n, priority)),
            Err(Errno::ETIMEDOUT) => Err(MailboxError::Timeout),
            Err(e) => Err(MailboxError::Sys(e)),
        }
    }
    // ANCHOR_END: receive_timeout

    /// Removes the queue's name now. Processes that have it open keep using it; it goes
    /// away with the last of their descriptors. Unlinking as soon as everyone has opened
    /// it means nothing is left behind, even if every process is killed.
    ///
    /// # Errors
    ///
    /// What `mq_unlink` returns (`ENOENT` when someone removed it already).
    pub fn unlink(&mut self) -> Result<(), MailboxError> {
        self.unlinked = true;
        mq_unlink(self.name.as_str()).map_err(opened)
    }
}

fn message(mut buf: Vec<u8>, n: usize, priority: u32) -> Message {
    buf.truncate(n);
    Message {
        body: buf,
        priority,
    }
}

// ANCHOR: drop
impl Drop for Mailbox {
    fn drop(&mut self) {
        // MqdT does not close itself, and mq_close wants it by value: close the numbers.
        // SAFETY: both descriptors were opened by mq_open for this mailbox alone, and
        // nothing uses them after this.
        unsafe {
            libc::mq_close(self.blocking.as_raw_fd());
            libc::mq_close(self.nonblocking.as_raw_fd());
        }
        // TODO: the queue lives in the kernel until its name is removed, long after every
        // process that used it has exited. The owner (`self.owner`) removes it here
        // (`mq_unlink`), on every path that drops the mailbox, unless `unlink` did already.
        let _ = (self.owner, self.unlinked);
    }
}
// ANCHOR_END: drop
