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
    // TODO: compute `threads` ranges. Hint: `len / threads` elements each, and the first
    // `len % threads` chunks get one more.
    let _ = (len, threads);
    todo!()
}

/// Sums `data` on `threads` scoped threads, one per chunk of [`chunk_bounds`], all
/// started before any is joined.
pub fn parallel_sum(data: &[u64], threads: NonZeroUsize) -> u64 {
    // TODO: spawn one scoped thread per chunk, join them all and add their results.
    let _ = (data, threads);
    todo!()
}
