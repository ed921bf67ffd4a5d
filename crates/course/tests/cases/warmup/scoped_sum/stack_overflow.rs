//! A wrong solution of warmup/scoped_sum (a fixture of the runner's output tests): a
//! recursive split that never reaches its base case overflows the stack.

use std::num::NonZeroUsize;
use std::ops::Range;

/// Splits `0..len` into `threads` chunks, recursively: the first chunk, then the rest.
pub fn chunk_bounds(len: usize, threads: NonZeroUsize) -> Vec<Range<usize>> {
    let first = len / threads.get() + usize::from(len % threads.get() > 0);
    // Wrong: the rest of the chunks is split again with as many threads, not one fewer,
    // so the recursion never ends.
    let mut rest = chunk_bounds(len - first, threads);
    for r in &mut rest {
        *r = r.start + first..r.end + first;
    }
    rest.insert(0, 0..first);
    rest
}

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
