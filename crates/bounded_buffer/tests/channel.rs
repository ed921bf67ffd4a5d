//! Checks `bounded_buffer/channel`: the pipeline delivers everything in order, with
//! back-pressure; and shows a rendezvous next to a buffer of two.

use bounded_buffer::channel::pipeline;
use interleave::channel::{Receiver, Sender, bounded};
use interleave::explore::{Config, Observed, Strategy, explore};
use interleave::scenario::{Scenario, Table};

fn send_recv_script(capacity: usize) -> Table {
    type Pair = (Sender<u32>, Receiver<u32>);
    let send = |v: u32| move |(tx, _): &Pair| tx.send(v).expect("connected");
    let recv = |(_, rx): &Pair| rx.recv().expect("connected");
    Scenario::new(move || bounded::<u32>(capacity))
        .call("P1", "send(1)", send(1))
        .call("P2", "send(2)", send(2))
        .call("C", "recv()", recv)
        .call("C", "recv()", recv)
        .call("C", "recv()", recv)
        .call("P1", "send(3)", send(3))
        .max_steps(1_000)
        .run()
}

#[test]
fn rendezvous_channel_a_send_waits_for_its_recv() {
    interleave::assert_table!(send_recv_script(0));
}

#[test]
fn buffer_of_two_a_send_returns_while_there_is_room() {
    interleave::assert_table!(send_recv_script(2));
}

/// Eight items through the pipeline with channels of `capacity`: the consumer must get
/// every square, in order, and the producer must never run too far ahead.
fn eight_squares(capacity: usize) {
    let produced = Observed::new(0usize);
    let consumed = Observed::new(Vec::<u64>::new());
    let limit = 2 * capacity + 2;
    let (p, c) = (produced.clone(), consumed.clone());
    let items = (1..=8u64).inspect(move |_| {
        let ahead = p.update(|n| {
            *n += 1;
            *n
        }) - c.with(|v| v.len());
        assert!(
            ahead <= limit,
            "no back-pressure: the producer is {ahead} items ahead of the consumer, but with \
             two channels of capacity {capacity} it can be at most {limit} ahead; are the \
             channels unbounded?"
        );
    });
    let out = consumed.clone();
    pipeline(
        items,
        capacity,
        |x| x * x,
        move |y| out.update(|v| v.push(y)),
    );
    assert_eq!(
        consumed.get(),
        [1, 4, 9, 16, 25, 36, 49, 64],
        "the consumer must get every transformed item once, in order"
    );
}

#[test]
fn pipeline_with_rendezvous_channels_has_back_pressure() {
    explore(Config::new().iterations(1000), || eight_squares(0));
}

#[test]
fn pipeline_with_buffers_of_two_has_back_pressure() {
    explore(Config::new().iterations(1000), || eight_squares(2));
}

#[test]
fn pipeline_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || eight_squares(1),
    );
}
