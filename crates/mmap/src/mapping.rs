//! [`Mapping`]: a file mapped into memory, unmapped when dropped.

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, MsFlags, ProtFlags, mmap, msync, munmap};
use std::num::NonZeroUsize;
use std::os::fd::AsFd;
use std::ptr::NonNull;

/// A region of a file mapped into the process's address space with `mmap(2)`.
///
/// Reading [`as_bytes`](Self::as_bytes) reads the file: the first access to each page is a
/// page fault that the kernel serves from its page cache (reading the disk if needed), with
/// no copy into a buffer of ours. Dropping the `Mapping` calls `munmap`.
#[derive(Debug)]
pub struct Mapping {
    ptr: NonNull<u8>,
    len: NonZeroUsize,
    prot: ProtFlags,
    flags: MapFlags,
}

impl Mapping {
    /// Maps the first `len` bytes of `file` with protection `prot` (`PROT_READ`, possibly
    /// with `PROT_WRITE`) and `flags` (`MAP_PRIVATE` or `MAP_SHARED`), at offset 0.
    ///
    /// # Errors
    ///
    /// What `mmap` returns; in particular `EINVAL` when `len` is 0, exactly as `mmap(2)`
    /// refuses an empty mapping, and `EACCES` when `prot` asks for more than the file was
    /// opened for (writing through `MAP_SHARED` needs a file opened read-write).
    ///
    /// # Safety
    ///
    /// Nobody (this process or another) may truncate the file or modify the mapped bytes
    /// through other means (another `MAP_SHARED` mapping, `write`) while this mapping is
    /// alive: the slices returned by [`as_bytes`](Self::as_bytes) would change under Rust's
    /// feet, and a truncated file makes the access fault with `SIGBUS`. (This is why
    /// crates such as memmap2 make mapping a file `unsafe` too.)
    pub unsafe fn new(
        file: impl AsFd,
        len: usize,
        prot: ProtFlags,
        flags: MapFlags,
    ) -> nix::Result<Self> {
        let len = NonZeroUsize::new(len).ok_or(Errno::EINVAL)?;
        // SAFETY: a new mapping chosen by the kernel (addr = None) overlaps nothing Rust
        // owns; the caller promises the file is not changed behind our back.
        let ptr = unsafe { mmap(None, len, prot, flags, file, 0)? };
        Ok(Self {
            ptr: ptr.cast(),
            len,
            prot,
            flags,
        })
    }

    /// The length of the mapping in bytes (never 0).
    pub fn len(&self) -> usize {
        self.len.get()
    }

    /// Always `false`: a mapping cannot be empty (`mmap` refuses length 0). Present because
    /// clippy expects `is_empty` next to `len`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The mapped bytes.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: the mapping covers `len` readable bytes (PROT_NONE is never asked for by
        // the steps; with it the first access would fault, not read garbage) and lives as
        // long as `self`; `new`'s caller promised nobody else modifies them.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len.get()) }
    }

    /// The mapped bytes, writable.
    ///
    /// # Panics
    ///
    /// If the mapping was made without `PROT_WRITE` (a write would kill the process with
    /// `SIGSEGV`).
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        assert!(
            self.prot.contains(ProtFlags::PROT_WRITE),
            "this mapping was made without PROT_WRITE: writing to it would be a segmentation fault"
        );
        // SAFETY: as in `as_bytes`, and the pages are writable; `&mut self` makes this the
        // only slice of this mapping in this process.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len.get()) }
    }

    /// Whether the mapping was made with `MAP_SHARED` (writes reach the file).
    pub fn is_shared(&self) -> bool {
        self.flags.contains(MapFlags::MAP_SHARED)
    }

    /// `msync(MS_SYNC)`: waits until the changes made through a `MAP_SHARED` mapping are
    /// written to the file on disk. (Other processes see them at once, through the page
    /// cache; `msync` is about durability.) On a `MAP_PRIVATE` mapping it does nothing useful:
    /// private changes never go to the file.
    ///
    /// # Errors
    ///
    /// What `msync` returns (`EIO` when the disk write failed).
    pub fn sync(&self) -> nix::Result<()> {
        // SAFETY: `ptr` and `len` describe exactly one live mapping made by `mmap`.
        unsafe { msync(self.ptr.cast(), self.len.get(), MsFlags::MS_SYNC) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned, and no slice of the mapping
        // outlives `self` (they borrow it).
        let result = unsafe { munmap(self.ptr.cast(), self.len.get()) };
        debug_assert!(result.is_ok(), "munmap failed: {result:?}");
    }
}
