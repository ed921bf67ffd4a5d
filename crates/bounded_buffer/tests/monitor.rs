//! Checks `bounded_buffer/monitor`: blocking when full and empty, FIFO order, every item
//! delivered once, and no lost wake-up with several producers and consumers.

use bounded_buffer::monitor::BoundedBuffer;
use interleave::explore::{Config, Observed, Strategy, check};
use interleave::report::{Failure, FailureKind};
use interleave::scenario::{Returned, Scenario};
use interleave::sync::Arc;
use interleave::{thread, trace};

/// The state column: the buffer's contents, from the calls that returned so far (puts
/// in the order they were called, minus the items taken).
fn contents(done: &[Returned]) -> String {
    let mut puts: Vec<&Returned> = done.iter().filter(|r| r.call.starts_with("put")).collect();
    puts.sort_by_key(|r| r.called_at);
    let taken: Vec<&str> = done.iter().filter_map(|r| r.value.as_deref()).collect();
    let inside: Vec<&str> = puts
        .iter()
        .map(|r| r.call.trim_start_matches("put(").trim_end_matches(')'))
        .filter(|v| !taken.contains(v))
        .collect();
    format!("buffer: [{}]", inside.join(", "))
}

#[test]
fn capacity_two_producer_blocks_when_full_consumer_when_empty() {
    let table = Scenario::new(|| BoundedBuffer::<u32>::new(2))
        .call("P1", "put(1)", |b| b.put(1))
        .call("P1", "put(2)", |b| b.put(2))
        .call("P1", "put(3)", |b| b.put(3))
        .call("C1", "take()", |b| b.take())
        .call("C1", "take()", |b| b.take())
        .call("C1", "take()", |b| b.take())
        .call("C1", "take()", |b| b.take())
        .call("P2", "put(4)", |b| b.put(4))
        .state(contents)
        .max_steps(1_000)
        .run();
    interleave::assert_table!(table);
}

/// Two producers put three items each, two consumers take three each, through a buffer
/// of `capacity`.
fn two_producers_two_consumers(capacity: usize) {
    let buffer = Arc::new(BoundedBuffer::new(capacity));
    let taken = Observed::new(Vec::<(String, u32)>::new());
    let producers: Vec<_> = [("P1", 10), ("P2", 20)]
        .into_iter()
        .map(|(name, base)| {
            let b = buffer.clone();
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    for i in 0..3 {
                        trace::label(format!("put({})", base + i));
                        b.put(base + i);
                    }
                })
                .expect("spawn a producer")
        })
        .collect();
    let consumers: Vec<_> = ["C1", "C2"]
        .into_iter()
        .map(|name| {
            let b = buffer.clone();
            let taken = taken.clone();
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    for _ in 0..3 {
                        trace::label("take()");
                        let item = b.take();
                        trace::label(format!("took {item}"));
                        taken.update(|t| t.push((name.to_string(), item)));
                    }
                })
                .expect("spawn a consumer")
        })
        .collect();
    for h in producers.into_iter().chain(consumers) {
        h.join().expect("a producer or consumer panicked");
    }
    let taken = taken.get();
    let mut items: Vec<u32> = taken.iter().map(|(_, i)| *i).collect();
    items.sort_unstable();
    assert_eq!(
        items,
        [10, 11, 12, 20, 21, 22],
        "every item put must be taken exactly once"
    );
    for consumer in ["C1", "C2"] {
        for base in [10, 20] {
            let seen: Vec<u32> = taken
                .iter()
                .filter(|(c, i)| c == consumer && (base..base + 10).contains(i))
                .map(|(_, i)| *i)
                .collect();
            assert!(
                seen.is_sorted(),
                "{consumer} took {seen:?} from one producer out of order: the buffer must be FIFO"
            );
        }
    }
}

/// The wake-ups in a failing schedule that went to a thread of the wrong kind: a
/// producer woken by a producer, or a consumer by a consumer.
fn wasted_wakeups(failure: &Failure) -> Vec<String> {
    let kind = |name: &str| name.chars().next();
    failure
        .trace
        .events
        .iter()
        .filter(|e| e.op.starts_with("notify"))
        .filter_map(|e| {
            let woken = e.outcome.as_deref()?.strip_prefix("wakes ")?;
            (kind(woken) == kind(&e.thread)).then(|| {
                let who = if kind(woken) == Some('P') {
                    "producer"
                } else {
                    "consumer"
                };
                format!(
                    "at step {}, {} woke {} (a {who} woke a {who}, who cannot use the wake-up)",
                    e.step, e.thread, woken
                )
            })
        })
        .collect()
}

/// Explores, and names a lost wake-up caused by a wake-up sent to the wrong side.
fn explore_buffer(config: Config, capacity: usize) {
    if let Err(failure) = check(config, move || two_producers_two_consumers(capacity)) {
        let wasted = wasted_wakeups(&failure);
        if failure.kind == FailureKind::LostWakeup && !wasted.is_empty() {
            panic!(
                "lost wake-up: {}; the threads that could have gone on were never woken.\n\n{failure}",
                wasted.join("; ")
            );
        }
        panic!("{failure}");
    }
}

#[test]
fn every_item_delivered_once_in_fifo_order_without_lost_wakeups() {
    explore_buffer(Config::new().iterations(1000), 2);
}

#[test]
fn no_lost_wakeup_with_capacity_one_within_two_delays() {
    explore_buffer(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        1,
    );
}
