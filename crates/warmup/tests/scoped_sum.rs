//! Checks `warmup/scoped_sum`: the chunking and the parallel sum.

use std::num::NonZeroUsize;
use warmup::scoped_sum::{chunk_bounds, parallel_sum};

fn n(threads: usize) -> NonZeroUsize {
    NonZeroUsize::new(threads).expect("thread counts in these tests are positive")
}

#[test]
fn chunks_cover_everything_in_order_with_sizes_differing_by_at_most_one() {
    for len in 0..40 {
        for threads in 1..10 {
            let chunks = chunk_bounds(len, n(threads));
            assert_eq!(
                chunks.len(),
                threads,
                "chunk_bounds({len}, {threads}) must return one range per thread, got {chunks:?}"
            );
            let mut next = 0;
            for chunk in &chunks {
                assert_eq!(
                    chunk.start, next,
                    "chunk_bounds({len}, {threads}) = {chunks:?}: ranges must follow each other without gaps or overlaps"
                );
                next = chunk.end;
            }
            assert_eq!(
                next, len,
                "chunk_bounds({len}, {threads}) = {chunks:?} must end at {len}"
            );
            let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
            assert!(
                sizes.windows(2).all(|w| w[0] >= w[1]) && sizes[0] - sizes[threads - 1] <= 1,
                "chunk_bounds({len}, {threads}) = {chunks:?}: sizes must differ by at most one, longer chunks first"
            );
        }
    }
}

#[test]
fn parallel_sum_equals_the_sequential_sum() {
    let data: Vec<u64> = (1..=1000).map(|x| x * x % 977).collect();
    for len in [0, 1, 2, 7, 100, 1000] {
        let expected: u64 = data[..len].iter().sum();
        for threads in [1, 2, 3, 8, 2000] {
            assert_eq!(
                parallel_sum(&data[..len], n(threads)),
                expected,
                "parallel_sum of {len} elements on {threads} threads"
            );
        }
    }
}
