//! `bounded_buffer/monitor` on real threads: every item arrives once.
use crate::common::within;
use bounded_buffer::monitor::BoundedBuffer;
use std::sync::Arc;

#[test]
fn producers_and_consumers_exchange_everything_on_real_threads() {
    within("3 producers and 3 consumers on a buffer of 2", || {
        let buffer = Arc::new(BoundedBuffer::new(2));
        let producers: Vec<_> = (0..3u64)
            .map(|p| {
                let b = buffer.clone();
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        b.put(p * 5000 + i);
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let b = buffer.clone();
                std::thread::spawn(move || (0..5000).map(|_| b.take()).sum::<u64>())
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let total: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(total, (0..15000u64).sum::<u64>());
    });
}
