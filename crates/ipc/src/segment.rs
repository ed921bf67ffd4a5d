//! What lives inside the shared-memory segment of `shm_segment`: process-shared
//! semaphores, and cells that may only be touched while holding the segment's mutex.
//!
//! The notes put the rule plainly: once two processes attach one segment, *they* are
//! responsible for not writing the same location at the same time; the kernel does not
//! help. A [`Guarded`] cell makes that rule checkable: every `get` and `set` names the
//! semaphore used as the mutex, and if the calling process does not hold it at that moment,
//! the process stops at once with a sentence saying which cell it touched unguarded. (A C
//! program would just corrupt the buffer, sometimes; the check turns "sometimes" into
//! "always, with the name of the cell".)

use nix::unistd::getpid;
use std::cell::UnsafeCell;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};

/// How many items the bounded buffer holds.
pub const CAPACITY: usize = 8;

/// Whether a semaphore is shared between processes (`pshared = 1` for `sem_init`) or only
/// between the threads of one process (`pshared = 0`: it then may use a process-private
/// futex, and a process waiting on it is never woken by another process).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// Threads of one process only.
    Threads,
    /// Processes that map the same memory.
    Processes,
}

/// A POSIX unnamed semaphore (`sem_t`) made to live in shared memory, plus the pid of the
/// process that holds it when it is used as a mutex (0 when nobody does).
#[repr(C)]
pub struct Semaphore {
    sem: UnsafeCell<libc::sem_t>,
    holder: AtomicI32,
}

// SAFETY: sem_t is made for concurrent use by its functions (sem_wait, sem_post...), which
// are the only ways this type touches it; `holder` is an atomic.
unsafe impl Sync for Semaphore {}

impl std::fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Semaphore")
            .field("value", &self.value())
            .field("holder", &self.holder())
            .finish()
    }
}

impl Semaphore {
    /// Initializes the semaphore with `value`, for `sharing`.
    ///
    /// # Safety
    ///
    /// Nobody may use the semaphore during this call, and it must not be initialized
    /// again while anybody uses it (`sem_init` on a semaphore in use is undefined
    /// behaviour).
    ///
    /// # Errors
    ///
    /// What `sem_init` returns (`EINVAL` for a value above `SEM_VALUE_MAX`).
    pub unsafe fn init(&self, value: u32, sharing: Sharing) -> nix::Result<()> {
        let pshared = i32::from(sharing == Sharing::Processes);
        self.holder.store(0, Ordering::Relaxed);
        // SAFETY: the pointer is to our sem_t, valid for the life of `self`; the caller
        // guarantees nobody uses it meanwhile.
        let ret = unsafe { libc::sem_init(self.sem.get(), pshared, value) };
        nix::errno::Errno::result(ret).map(drop)
    }

    /// Waits until the value is positive, then decrements it (P, `down`). Retries when a
    /// signal interrupts the wait. Records this process as the holder.
    pub fn wait(&self) {
        loop {
            // SAFETY: sem_wait on an initialized semaphore (the segment's creator initialized
            // it before anyone could attach).
            let ret = unsafe { libc::sem_wait(self.sem.get()) };
            if ret == 0 {
                break;
            }
            if nix::errno::Errno::last() != nix::errno::Errno::EINTR {
                fatal(b"sem_wait failed (was the semaphore initialized?)");
            }
        }
        self.holder.store(getpid().as_raw(), Ordering::Relaxed);
    }

    /// Increments the value (V, `up`), waking one waiter if any. Clears the holder if it
    /// was this process.
    pub fn post(&self) {
        let me = getpid().as_raw();
        let _ = self
            .holder
            .compare_exchange(me, 0, Ordering::Relaxed, Ordering::Relaxed);
        // SAFETY: sem_post on an initialized semaphore.
        let ret = unsafe { libc::sem_post(self.sem.get()) };
        if ret != 0 {
            fatal(b"sem_post failed (was the semaphore initialized?)");
        }
    }

    /// The current value (a snapshot).
    pub fn value(&self) -> i32 {
        let mut value = 0;
        // SAFETY: sem_getvalue only reads the semaphore and writes `value`.
        unsafe { libc::sem_getvalue(self.sem.get(), &mut value) };
        value
    }

    /// The pid of the process holding it as a mutex, 0 when none does.
    pub fn holder(&self) -> i32 {
        self.holder.load(Ordering::Relaxed)
    }
}

/// A value in the segment that may only be read or written while holding the segment's
/// mutex (a [`Semaphore`] initialized to 1).
#[repr(C)]
pub struct Guarded<T: Copy> {
    value: UnsafeCell<T>,
}

// SAFETY: every access goes through `get`/`set`, which stop the process unless it holds
// the mutex; the mutex is a semaphore, whose wait and post order the accesses between
// processes. The `_unguarded` accessors are for the race demonstration only.
unsafe impl<T: Copy + Send> Sync for Guarded<T> {}

impl<T: Copy> Guarded<T> {
    /// Reads the value. `name` names the cell in the message if the rule is broken.
    ///
    /// Stops the process (exit status 3) with a sentence on standard error unless the
    /// calling process holds `mutex`.
    pub fn get(&self, mutex: &Semaphore, name: &str) -> T {
        check_holder(mutex, name, b"read");
        // SAFETY: we hold the mutex: nobody writes the cell meanwhile.
        unsafe { *self.value.get() }
    }

    /// Writes the value, under the same rule as [`Guarded::get`].
    pub fn set(&self, mutex: &Semaphore, name: &str, value: T) {
        check_holder(mutex, name, b"wrote");
        // SAFETY: we hold the mutex: nobody reads or writes the cell meanwhile.
        unsafe { *self.value.get() = value }
    }

    /// Reads without the check: only for the race demonstration (`--no-lock`).
    ///
    /// # Safety
    ///
    /// A data race if another process writes the cell at the same time: that is the
    /// point of the demonstration, and why it is unsafe. Volatile, so that the compiler
    /// keeps each access.
    pub unsafe fn get_unguarded(&self) -> T {
        // SAFETY: the pointer is valid; the race is the caller's, knowingly.
        unsafe { std::ptr::read_volatile(self.value.get()) }
    }

    /// Writes without the check: only for the race demonstration.
    ///
    /// # Safety
    ///
    /// As [`Guarded::get_unguarded`].
    pub unsafe fn set_unguarded(&self, value: T) {
        // SAFETY: as above.
        unsafe { std::ptr::write_volatile(self.value.get(), value) }
    }
}

// ANCHOR: buffer
/// The bounded buffer that lives in the segment: the classic three semaphores and a ring
/// of [`CAPACITY`] slots. All zero (a fresh segment) is not usable yet: the creator
/// initializes the semaphores first.
#[repr(C)]
pub struct Buffer {
    /// 1 when free: held (0) by the process touching `next_in`, `next_out` or `slots`.
    pub mutex: Semaphore,
    /// How many slots are free: a producer waits on it before it puts.
    pub empty: Semaphore,
    /// How many slots hold an item: a consumer waits on it before it takes.
    pub full: Semaphore,
    /// The slot the next `put` writes (0 to CAPACITY - 1).
    pub next_in: Guarded<u32>,
    /// The slot the next `take` reads.
    pub next_out: Guarded<u32>,
    /// The items.
    pub slots: [Guarded<u64>; CAPACITY],
}
// ANCHOR_END: buffer

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer")
            .field("mutex", &self.mutex)
            .field("empty", &self.empty)
            .field("full", &self.full)
            .finish_non_exhaustive()
    }
}

static ROLE: OnceLock<&'static str> = OnceLock::new();

/// Names this process in the messages of the checks ("producer 2", "the consumer").
pub fn set_role(role: &'static str) {
    let _ = ROLE.set(role);
}

fn check_holder(mutex: &Semaphore, name: &str, verb: &[u8]) {
    let me = getpid().as_raw();
    if mutex.holder() == me {
        return;
    }
    let role = ROLE.get().copied().unwrap_or("a process");
    let line = proctest::child::Line::new()
        .text(b"shm_segment: ")
        .text(role.as_bytes())
        .text(b" (pid ")
        .num_i64(me.into())
        .text(b") ")
        .text(verb)
        .text(b" `")
        .text(name.as_bytes())
        .text(if name == "a slot" {
            b"` without holding the segment's mutex, which the step's rule asks for every \
                access to a slot: outside it, a slot is safe only while the counting \
                semaphores are posted in exactly the right order, and one post too early lets \
                the other side reuse the slot under you (an item lost). Wait on `mutex` \
                before touching next_in, next_out or a slot, and post it after.\n"
                .as_slice()
        } else {
            b"` without holding the segment's mutex: another process can do the same at \
                the same moment, and both then use the same slot (an item lost, another \
                read twice). Wait on `mutex` before touching next_in, next_out or a slot, \
                and post it after.\n"
                .as_slice()
        });
    line.eprint();
    proctest::child::exit_now(3);
}

fn fatal(what: &[u8]) -> ! {
    proctest::child::Line::new()
        .text(b"shm_segment: ")
        .text(what)
        .text(b"\n")
        .eprint();
    proctest::child::exit_now(4)
}
