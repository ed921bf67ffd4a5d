//! Warm-up: sum a slice on several threads.
//!
//! Task: split `data` into `threads` contiguous chunks whose sizes differ by at most one,
//! sum each chunk on its own thread with `std::thread::scope` (all the threads running at
//! the same time; an empty chunk needs no thread), then add the partial sums.
//! Invariant: every element is counted exactly once, whatever the number of threads.
//! Done when `just check warmup/scoped_sum` (or `cargo course check warmup/scoped_sum`) passes.

use std::num::NonZeroUsize;
use std::ops::Range;

/// The index ranges of the chunks that `parallel_sum` hands to its threads.
///
/// Returns exactly `threads` ranges, in order, that together cover `0..len` without gaps
/// or overlaps; their lengths differ by at most one (longer chunks first). When
/// `threads > len`, the trailing ranges are empty.
pub fn chunk_bounds(len: usize, threads: NonZeroUsize) -> Vec<Range<usize>> {
    // Every chunk gets `len / threads` elements; the remainder is spread one element
    // each over the first chunks, so sizes differ by at most one.
    let threads = threads.get();
    let (base, extra) = (len / threads, len % threads);
    let mut start = 0;
    (0..threads)
        .map(|i| {
            let size = base + usize::from(i < extra);
            let range = start..start + size;
            start += size;
            range
        })
        .collect()
}

/// Sums `data` on `threads` scoped threads, one per chunk of [`chunk_bounds`], all
/// started before any is joined.
pub fn parallel_sum(data: &[u64], threads: NonZeroUsize) -> u64 {
    // A scope lets the threads borrow `data` directly: they are all joined before
    // `scope` returns, so no `Arc` or copy is needed.
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunk_bounds(data.len(), threads)
            .into_iter()
            .map(|range| {
                let chunk = &data[range];
                scope.spawn(move || chunk.iter().sum::<u64>())
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("a summing thread panicked"))
            .sum()
    })
}
