//! A wrong solution of warmup/scoped_sum (a fixture of the runner's output tests):
//! `parallel_sum` calls itself on the same slice, so the recursion never ends and the
//! thread overflows its stack.

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

/// Sums `data` on `threads` scoped threads, one per chunk of [`chunk_bounds`].
pub fn parallel_sum(data: &[u64], threads: NonZeroUsize) -> u64 {
    // Wrong: sums the first half, then "the rest" by calling itself on the same slice: the
    // recursion never gets smaller and never ends.
    let half = data.len() / 2;
    let first: u64 = data[..half].iter().sum();
    first + parallel_sum(data, threads) - data[..half].iter().sum::<u64>()
}
