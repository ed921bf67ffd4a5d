//! [`SharedMemory`]: one value in an anonymous `MAP_SHARED` mapping, shared with the
//! children forked after it was made.

use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use std::num::NonZeroUsize;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize};

/// Types that can live in memory shared between processes.
///
/// # Safety
///
/// An implementor guarantees that:
/// - the all-zero bit pattern is a valid value (a fresh anonymous mapping is zero-filled and
///   no constructor runs);
/// - it holds no pointer, reference, `Box` or file descriptor (they mean nothing in another
///   process) and needs no `Drop`;
/// - every mutation through `&Self` is synchronised (atomics, or a documented protocol
///   around an `UnsafeCell`), since after `fork` two processes hold a `&Self` at once, just
///   like two threads.
pub unsafe trait Shareable: Sync {}

// SAFETY: zero is a valid atomic, atomics hold no pointers and synchronise themselves.
unsafe impl Shareable for AtomicU32 {}
// SAFETY: as above.
unsafe impl Shareable for AtomicU64 {}
// SAFETY: as above.
unsafe impl Shareable for AtomicUsize {}
// SAFETY: an array of shareable values is shareable element by element.
unsafe impl<T: Shareable, const N: usize> Shareable for [T; N] {}

/// Aligns a value on its own 128-byte block, so that two values written by two different
/// processors never share a cache line (no false sharing). 128 rather than 64 because
/// x86 prefetches cache lines in pairs.
#[derive(Debug, Default)]
#[repr(C, align(128))]
pub struct Padded<T>(pub T);

impl<T> Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

// SAFETY: padding adds only zeroed bytes to a shareable value.
unsafe impl<T: Shareable> Shareable for Padded<T> {}

/// One `T` in an anonymous shared mapping (`MAP_SHARED | MAP_ANONYMOUS`), zero-filled.
///
/// A child forked while it exists sees the same physical pages at the same address: what
/// one process stores, the other loads. (A `MAP_PRIVATE` mapping, like the heap or the
/// stack, would be copied on write instead.) Dropping it unmaps it in this process only.
#[derive(Debug)]
pub struct SharedMemory<T: Shareable> {
    ptr: NonNull<T>,
    len: NonZeroUsize,
}

impl<T: Shareable> SharedMemory<T> {
    /// Maps a new zero-filled `T`.
    ///
    /// # Errors
    ///
    /// What `mmap` returns (`ENOMEM`).
    pub fn new() -> nix::Result<Self> {
        const {
            assert!(
                std::mem::align_of::<T>() <= 4096,
                "mappings are page-aligned"
            )
        };
        let len = NonZeroUsize::new(std::mem::size_of::<T>().max(1)).expect("max(1) is not 0");
        // SAFETY: a fresh mapping chosen by the kernel overlaps nothing Rust owns.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_SHARED,
            )?
        };
        Ok(Self {
            ptr: ptr.cast(),
            len,
        })
    }
}

impl<T: Shareable> Deref for SharedMemory<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the mapping is page-aligned (enough for T, checked above), as long as
        // size_of::<T>(), zero-filled (a valid T by `Shareable`), and lives as long as `self`.
        unsafe { self.ptr.as_ref() }
    }
}

impl<T: Shareable> Drop for SharedMemory<T> {
    fn drop(&mut self) {
        // SAFETY: exactly the mapping `new` made; `&T`s borrow `self`, so none is left.
        let result = unsafe { munmap(self.ptr.cast(), self.len.get()) };
        debug_assert!(result.is_ok(), "munmap failed: {result:?}");
    }
}
