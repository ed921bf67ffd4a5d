//! IPC, step 3: a shared-memory segment that unrelated processes attach by name, with a
//! bounded producer/consumer buffer inside.
//!
//! Task: the notes' shared-memory segment. One process creates it (`shm_open` with
//! `O_CREAT | O_EXCL`, then `ftruncate` to give it a size, then `mmap` with `MAP_SHARED`)
//! and initializes the buffer's three semaphores; other processes, started separately
//! (no `fork`: they only share the name), `attach` it. The buffer is the classic bounded
//! buffer: `put` waits for a free slot (`empty`), takes the `mutex`, writes the slot at
//! `next_in` and advances it, gives the mutex back and announces the item (`full`);
//! `take` mirrors it. The notes' warning is the rule: the processes themselves must not
//! touch the same location at once, so `next_in`, `next_out` and the slots are only
//! touched while holding `mutex` (the checks stop a process that does otherwise).
//! Invariant: every item put is taken exactly once; items of one producer come out in the
//! order it put them; nobody waits while holding the mutex. (The segment's name is removed
//! by the consumer as soon as everyone has attached, and by the launcher on the paths
//! where that did not happen: the demo does that part.)
//! Time budget: about 60 minutes; each demo gets 10 s before the check reports it stuck.
//! Done when `just check ipc/shm_segment` (or `cargo course check ipc/shm_segment`) passes.

use crate::segment::{Buffer, CAPACITY, Sharing};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap, shm_open, shm_unlink};
use nix::sys::stat::{Mode, fstat};
#[allow(unused_imports)] // used once the TODOs below are done
use nix::unistd::ftruncate;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// A shared-memory segment holding a [`Buffer`], mapped in this process.
#[derive(Debug)]
pub struct Segment {
    buffer: NonNull<Buffer>,
    len: NonZeroUsize,
    name: String,
}

// SAFETY: the Buffer is made for concurrent use from several processes (semaphores, and
// cells guarded by one of them), so from several threads too.
unsafe impl Send for Segment {}
// SAFETY: as above.
unsafe impl Sync for Segment {}

/// The segment's size: one Buffer.
fn size() -> NonZeroUsize {
    NonZeroUsize::new(std::mem::size_of::<Buffer>()).expect("a Buffer is not empty")
}

/// Maps the whole segment open at `fd`, shared with every process that maps it.
fn map(fd: &std::os::fd::OwnedFd) -> nix::Result<NonNull<Buffer>> {
    // SAFETY: a new mapping chosen by the kernel overlaps nothing of ours; the object is at
    // least size() bytes long (created so, or checked by `attach`).
    let ptr = unsafe {
        mmap(
            None,
            size(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            fd,
            0,
        )?
    };
    Ok(ptr.cast())
}

impl Segment {
    // ANCHOR: create
    /// Creates the segment `name` (it must not exist), maps it and initializes its
    /// buffer: `mutex` 1, `empty` CAPACITY, `full` 0, shared between processes.
    ///
    /// # Errors
    ///
    /// What `shm_open` (`EEXIST`...), `ftruncate`, `mmap` or `sem_init` return; the object
    /// is removed again on those paths.
    pub fn create(name: &str) -> nix::Result<Self> {
        let fd = shm_open(
            name,
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR | OFlag::O_CLOEXEC,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )?;
        // From here on the name exists: every error path below removes it again.
        let fail = |errno| {
            let _ = shm_unlink(name);
            errno
        };
        // TODO: a new shared-memory object is 0 bytes long. mmap maps size() bytes of it
        // anyway, but the first access to a page past the object's end (here: initializing
        // the semaphores) is killed with SIGBUS. Give it its size first:
        // `ftruncate(&fd, size().get() as i64)`, removing the name if that fails.
        let buffer = map(&fd).map_err(fail)?;
        // The descriptor is not needed once mapped: the mapping keeps the object alive.
        drop(fd);
        let segment = Self {
            buffer,
            len: size(),
            name: name.to_owned(),
        };
        let b = segment.buffer();
        // SAFETY: nobody else can use the semaphores yet: the segment was just created
        // (O_EXCL) and is initialized before `create` returns and anyone is told its name.
        unsafe {
            b.mutex.init(1, Sharing::Processes).map_err(fail)?;
            b.empty
                .init(CAPACITY as u32, Sharing::Processes)
                .map_err(fail)?;
            b.full.init(0, Sharing::Processes).map_err(fail)?;
        }
        Ok(segment)
    }
    // ANCHOR_END: create

    /// Attaches the existing segment `name`: opens it and maps it.
    ///
    /// # Errors
    ///
    /// `ENOENT` when there is no such segment; `EINVAL` when it is smaller than a Buffer
    /// (not made by `create`, or not finished yet).
    pub fn attach(name: &str) -> nix::Result<Self> {
        let fd = shm_open(name, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())?;
        if (fstat(&fd)?.st_size as usize) < size().get() {
            return Err(Errno::EINVAL);
        }
        let buffer = map(&fd)?;
        Ok(Self {
            buffer,
            len: size(),
            name: name.to_owned(),
        })
    }

    /// The buffer in the segment.
    pub fn buffer(&self) -> &Buffer {
        // SAFETY: the mapping is size_of::<Buffer>() bytes, page-aligned, alive as long as
        // `self`, and every field of Buffer is valid for any bytes once initialized.
        unsafe { self.buffer.as_ref() }
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Removes the segment's name. The processes that have it mapped keep it; the memory
    /// goes with the last mapping. Unlinking once everyone has attached means nothing is
    /// left behind, whatever happens to the processes afterwards.
    ///
    /// # Errors
    ///
    /// What `shm_unlink` returns (`ENOENT` when someone removed it already).
    pub fn unlink(&self) -> nix::Result<()> {
        shm_unlink(self.name.as_str())
    }

    // ANCHOR: put
    /// Puts `item` into the buffer, waiting while it is full.
    pub fn put(&self, item: u64) {
        let b = self.buffer();
        // TODO: two producers run this at the same time. Both can read the same `next_in`
        // and write the same slot: one item is lost and another read twice. Wait for a free
        // slot (`empty`) first, then take `mutex` around the three accesses below, and post
        // it before announcing the item (`full`). (The checks stop a process that touches a
        // guarded cell without holding `mutex`.)
        b.empty.wait();
        let at = b.next_in.get(&b.mutex, "next_in");
        b.slots[at as usize].set(&b.mutex, "a slot", item);
        b.next_in
            .set(&b.mutex, "next_in", (at + 1) % CAPACITY as u32);
        b.full.post();
    }
    // ANCHOR_END: put

    // ANCHOR: take
    /// Takes the oldest item out of the buffer, waiting while it is empty.
    pub fn take(&self) -> u64 {
        let b = self.buffer();
        // TODO: the same protocol as `put`, mirrored: wait for an item (`full`), take
        // `mutex` around the accesses, post it, then announce a free slot (`empty`).
        b.full.wait();
        let at = b.next_out.get(&b.mutex, "next_out");
        let item = b.slots[at as usize].get(&b.mutex, "a slot");
        b.next_out
            .set(&b.mutex, "next_out", (at + 1) % CAPACITY as u32);
        b.empty.post();
        item
    }
    // ANCHOR_END: take
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping made in create/attach; `&Buffer`s borrow `self`, so
        // none is left.
        let _ = unsafe { munmap(self.buffer.cast(), self.len.get()) };
        // The name stays: a creator that exits before the others attached must not take it
        // from them. Whoever knows that everyone has attached removes it (`unlink`).
    }
}
