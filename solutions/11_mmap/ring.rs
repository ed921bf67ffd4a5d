//! mmap, step 4: a single-producer single-consumer ring buffer in shared memory.
//!
//! Task: `Ring<N>` is a byte stream of capacity `N` that lives in a `SharedMemory` mapping,
//! so that a parent and its child can use it like a pipe without a system call per
//! message. `head` counts the bytes ever written (only the producer stores it), `tail` the
//! bytes ever read (only the consumer stores it); byte number `p` of the stream sits at
//! index `p % N`, and `head - tail` is the number of bytes in the ring (empty when 0, full
//! when `N`). Write `write` and `read`: each copies as much as it can and never blocks.
//! Invariants: bytes come out in the order they went in, none lost, none duplicated; a copy
//! that reaches the end of the buffer continues at index 0; the producer never overwrites
//! bytes the consumer has not read (Acquire on the other side's counter, Release on ours).
//! Time budget: each check gets 10 s, and each run of the `ring` demo 10 s, extended while
//! one of its processes sleeps or computes (up to 30 s).
//! Done when `just check mmap/ring` passes.

use crate::shm::{Padded, Shareable};
use std::cell::UnsafeCell;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

// ANCHOR: ring_struct
/// A single-producer single-consumer byte ring of `N` bytes, made to live in shared memory
/// (create it with `SharedMemory::<Ring<N>>::new()`: all zero is an empty ring).
#[repr(C)]
pub struct Ring<const N: usize> {
    /// Bytes written since the ring was created. Stored only by the producer, with Release
    /// (publishing the bytes it copied); loaded by the consumer with Acquire.
    head: Padded<AtomicU64>,
    /// Bytes read since the ring was created. Stored only by the consumer, with Release
    /// (handing the space back once it has copied the bytes out); loaded by the producer
    /// with Acquire.
    tail: Padded<AtomicU64>,
    /// The bytes: stream position `p` is at index `p % N`. Bytes in `tail..head` belong to
    /// the consumer, the others to the producer: never both at once.
    data: UnsafeCell<[u8; N]>,
}
// ANCHOR_END: ring_struct

// SAFETY: the counters are atomics, and `data` is only touched under the protocol above:
// each byte belongs either to the producer or to the consumer, and it changes hands only
// through a Release store matched by an Acquire load.
unsafe impl<const N: usize> Sync for Ring<N> {}
// SAFETY: all zero is an empty ring; no pointers inside.
unsafe impl<const N: usize> Shareable for Ring<N> {}

impl<const N: usize> Ring<N> {
    /// The capacity in bytes.
    pub const CAPACITY: usize = N;

    /// The number of bytes written and not yet read (a snapshot: the other side may be
    /// changing it).
    pub fn len(&self) -> usize {
        let tail = self.tail.load(Ordering::Acquire);
        let head = self.head.load(Ordering::Acquire);
        head.wrapping_sub(tail) as usize
    }

    /// Whether the ring holds no byte (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Copies as many bytes of `bytes` as there is room for into the ring and returns how
    /// many (0 when the ring is full). Never blocks.
    ///
    /// # Safety
    ///
    /// Only one producer: no other call of `write` on this ring, in any process, may run at
    /// the same time.
    pub unsafe fn write(&self, bytes: &[u8]) -> usize {
        // Our own counter: nobody else stores it, Relaxed reads our last store.
        let head = self.head.load(Ordering::Relaxed);
        // Acquire pairs with the consumer's Release: its copies out of the bytes before
        // `tail` are finished before we may overwrite them.
        let tail = self.tail.load(Ordering::Acquire);
        let free = N - head.wrapping_sub(tail) as usize;
        let n = bytes.len().min(free);
        if n == 0 {
            return 0;
        }
        let start = (head % N as u64) as usize;
        // The free bytes may wrap around the end of the buffer: copy up to the end, then the
        // rest from index 0.
        let first = n.min(N - start);
        // SAFETY: stream positions head..head + n are free (at most N bytes ahead of tail):
        // the consumer does not touch them until we publish them below, and we are the only
        // producer. The two ranges do not overlap.
        unsafe {
            self.slots_mut(start..start + first)
                .copy_from_slice(&bytes[..first]);
            self.slots_mut(0..n - first)
                .copy_from_slice(&bytes[first..n]);
        }
        // Release: the bytes copied above are visible to whoever Acquire-loads this head.
        self.head.store(head + n as u64, Ordering::Release);
        n
    }

    /// Copies as many bytes as are available (at most `buf.len()`) out of the ring into
    /// `buf` and returns how many (0 when the ring is empty). Never blocks.
    ///
    /// # Safety
    ///
    /// Only one consumer: no other call of `read` on this ring, in any process, may run at
    /// the same time.
    pub unsafe fn read(&self, buf: &mut [u8]) -> usize {
        let tail = self.tail.load(Ordering::Relaxed);
        // Acquire pairs with the producer's Release: the bytes before `head` are written.
        let head = self.head.load(Ordering::Acquire);
        let available = head.wrapping_sub(tail) as usize;
        let n = buf.len().min(available);
        if n == 0 {
            return 0;
        }
        let start = (tail % N as u64) as usize;
        // The same wrap-around as in `write`: up to the end, then from index 0.
        let first = n.min(N - start);
        // SAFETY: positions tail..tail + n are published and the producer will not touch
        // them until we hand them back below; we are the only consumer.
        unsafe {
            buf[..first].copy_from_slice(self.slots(start..start + first));
            buf[first..n].copy_from_slice(self.slots(0..n - first));
        }
        // Release: our copies out are done before the producer may reuse the space.
        self.tail.store(tail + n as u64, Ordering::Release);
        n
    }

    /// The bytes at buffer indices `range`, for reading.
    ///
    /// # Safety
    ///
    /// The caller owns these bytes under the protocol (the producer is not writing them).
    ///
    /// # Panics
    ///
    /// When `range` goes past the end of the buffer.
    unsafe fn slots(&self, range: Range<usize>) -> &[u8] {
        check_in_buffer(&range, N);
        // SAFETY: in bounds (checked); the caller guarantees no concurrent writer.
        unsafe {
            std::slice::from_raw_parts(self.data.get().cast::<u8>().add(range.start), range.len())
        }
    }

    /// The bytes at buffer indices `range`, for writing.
    ///
    /// # Safety
    ///
    /// The caller owns these bytes under the protocol (the consumer is not reading them).
    ///
    /// # Panics
    ///
    /// When `range` goes past the end of the buffer.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slots_mut(&self, range: Range<usize>) -> &mut [u8] {
        check_in_buffer(&range, N);
        // SAFETY: in bounds (checked); the caller guarantees nobody else touches them.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.data.get().cast::<u8>().add(range.start),
                range.len(),
            )
        }
    }
}

/// Panics with an explanation when a copy would run past the end of the ring's buffer.
fn check_in_buffer(range: &Range<usize>, n: usize) {
    assert!(
        range.start <= range.end && range.end <= n,
        "ring buffer overrun: a copy to indices {}..{} runs past the end of the {n}-byte buffer; \
         a copy that reaches the end must be split in two, the rest continuing at index 0",
        range.start,
        range.end
    );
}
