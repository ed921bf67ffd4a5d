//! A three-stage pipeline on bounded channels (`bounded_buffer/channel`).
//!
//! Task: `pipeline` runs a producer, a transformer and a consumer on three threads,
//! connected by two channels: the producer sends the items, the transformer sends
//! `transform(item)` on, the consumer calls `consume` on each result, in order. The
//! channels must be bounded: each holds at most `capacity` items (`0` is a rendezvous,
//! where a `send` waits for the matching `recv`), so a fast stage waits for a slow one
//! instead of piling items up in memory. That is back-pressure.
//!
//! Invariant to protect: the consumer gets every item once, in order; the producer is
//! never more than `2 * capacity + 2` items ahead of the consumer (two channels, plus
//! the item each of the first two stages holds). Done when
//! `just check bounded_buffer/channel` passes.

use interleave::channel::unbounded;
use interleave::thread;

/// Runs `items` through `transform` into `consume` on three threads named
/// `producer`, `transformer` and `consumer`, connected by channels of `capacity`.
/// Returns when the consumer has consumed everything.
///
/// # Panics
///
/// If a stage panics.
///
/// # Examples
///
/// ```
/// use bounded_buffer::channel::pipeline;
/// use std::sync::{Arc, Mutex};
///
/// let out = Arc::new(Mutex::new(Vec::new()));
/// let o = out.clone();
/// pipeline(1..=4, 1, |x| x * x, move |y| o.lock().unwrap().push(y));
/// assert_eq!(*out.lock().unwrap(), vec![1, 4, 9, 16]);
/// ```
pub fn pipeline<I, F, C>(items: I, capacity: usize, transform: F, mut consume: C)
where
    I: IntoIterator<Item = u64> + Send + 'static,
    F: Fn(u64) -> u64 + Send + 'static,
    C: FnMut(u64) + Send + 'static,
{
    // TODO: `unbounded()` channels never make a stage wait: a fast producer runs
    // ahead and the items pile up in memory. Use `interleave::channel::bounded(capacity)`.
    let _ = capacity;
    let (to_transform, from_producer) = unbounded();
    let (to_consume, from_transformer) = unbounded();
    let stage = |name: &str| thread::Builder::new().name(name.to_string());
    let producer = stage("producer")
        .spawn(move || {
            for item in items {
                if to_transform.send(item).is_err() {
                    break;
                }
            }
            // Dropping the sender disconnects the channel: the transformer's loop ends.
        })
        .expect("spawn the producer");
    let transformer = stage("transformer")
        .spawn(move || {
            for item in from_producer.iter() {
                if to_consume.send(transform(item)).is_err() {
                    break;
                }
            }
        })
        .expect("spawn the transformer");
    let consumer = stage("consumer")
        .spawn(move || {
            for item in from_transformer.iter() {
                consume(item);
            }
        })
        .expect("spawn the consumer");
    for handle in [producer, transformer, consumer] {
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
    }
}
