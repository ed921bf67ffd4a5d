//! Checks `bounded_buffer/channel`: the pipeline delivers everything in order, with
//! back-pressure, on three named threads, and passes a stage's panic on; and shows a
//! rendezvous next to a buffer of two.

use std::time::Duration;

use bounded_buffer::channel::pipeline;
use interleave::channel::{Receiver, Sender, bounded};
use interleave::explore::{Config, Observed, Strategy, check, explore};
use interleave::real::within;
use interleave::scenario::{Scenario, Table};
use interleave::thread;

fn send_recv_script(capacity: usize) -> Table {
    type Pair = (Sender<u32>, Receiver<u32>);
    let send = |v: u32| move |(tx, _): &Pair| tx.send(v).expect("connected");
    let recv = |(_, rx): &Pair| rx.recv().expect("connected");
    let (first, second) = if capacity == 0 {
        (
            "a rendezvous has no room: send() waits for the recv() that takes its message",
            "a rendezvous has no room: send() waits for the recv() that takes its message",
        )
    } else {
        (
            "send() returns at once while the channel has room",
            "send() returns at once while the channel has room",
        )
    };
    Scenario::new(move || bounded::<u32>(capacity))
        .call("P1", "send(1)", send(1))
        .rule(first)
        .call("P2", "send(2)", send(2))
        .rule(second)
        .call("C", "recv()", recv)
        .rule("recv() returns the oldest message, and lets its sender go")
        .call("C", "recv()", recv)
        .rule("recv() returns the oldest message, and lets its sender go")
        .call("C", "recv()", recv)
        .rule("recv() blocks while no message is waiting")
        .call("P1", "send(3)", send(3))
        .rule("a send() hands its message to the waiting recv()")
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

/// A pipeline: the student's, or a version written in this file.
type Pipe = fn(
    Box<dyn Iterator<Item = u64> + Send>,
    usize,
    Box<dyn Fn(u64) -> u64 + Send>,
    Box<dyn FnMut(u64) + Send>,
);

fn students(
    items: Box<dyn Iterator<Item = u64> + Send>,
    capacity: usize,
    transform: Box<dyn Fn(u64) -> u64 + Send>,
    consume: Box<dyn FnMut(u64) + Send>,
) {
    pipeline(items, capacity, transform, consume);
}

/// The name of the thread running now.
fn me() -> String {
    thread::current()
        .name()
        .unwrap_or("an unnamed thread")
        .to_string()
}

/// Checks that a stage runs on its own thread; panics otherwise.
fn on_thread(stage: &str, expected: &str) {
    let name = me();
    assert!(
        name == expected,
        "{stage} ran on the thread {name:?}: the pipeline runs its three stages on three \
         threads named \"producer\", \"transformer\" and \"consumer\""
    );
}

/// `count` items through the pipeline with channels of `capacity`: the consumer must get
/// every square, in order, each stage must run on its thread, and the producer must never
/// run too far ahead.
fn squares(pipe: Pipe, capacity: usize, count: u64) {
    let produced = Observed::new(0usize);
    let consumed = Observed::new(Vec::<u64>::new());
    let limit = 2 * capacity + 2;
    let (p, c) = (produced.clone(), consumed.clone());
    let items = (1..=count).inspect(move |item| {
        on_thread("the producer (taking items from `items`)", "producer");
        let ahead = p.update(|n| {
            *n += 1;
            *n
        }) - c.with(|v| v.len());
        assert!(
            ahead <= limit,
            "no back-pressure: the producer is {ahead} items ahead of the consumer (it took item \
             {item}, the consumer has consumed {}), but with two channels of capacity \
             {capacity} it can be at most {limit} ahead: what both channels hold, plus the \
             item the transformer and the producer each hold.\nAre both channels \
             bounded(capacity), does the producer take each item from `items` only when it can \
             send it, and does each stage pass an item on (or consume it) before it receives \
             the next, instead of collecting them first?",
            item - ahead as u64
        );
    });
    let out = consumed.clone();
    pipe(
        Box::new(items),
        capacity,
        Box::new(|x| {
            on_thread("transform", "transformer");
            x * x
        }),
        Box::new(move |y| {
            on_thread("consume", "consumer");
            out.update(|v| v.push(y));
        }),
    );
    let expected: Vec<u64> = (1..=count).map(|x| x * x).collect();
    let got = consumed.get();
    assert!(
        got == expected,
        "when pipeline() returned, the consumer had consumed {got:?}, but pipeline() must \
         return once the consumer has consumed every transformed item, once and in order: \
         {expected:?}"
    );
}

fn explore_squares(config: Config, capacity: usize, count: u64) {
    explore(config, move || squares(students, capacity, count));
}

#[test]
fn pipeline_with_rendezvous_channels_has_back_pressure() {
    explore_squares(Config::new().iterations(1000), 0, 8);
}

#[test]
fn pipeline_with_buffers_of_two_has_back_pressure() {
    explore_squares(Config::new().iterations(1000), 2, 8);
}

#[test]
fn pipeline_within_two_delays() {
    explore_squares(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        1,
        8,
    );
}

/// Capacities 0 to 3 with twelve items: enough for the producer to reach the limit, and to
/// pass it by one with a channel one slot too big.
#[test]
fn pipeline_with_capacities_zero_to_three_and_twelve_items() {
    for capacity in 0..=3 {
        explore_squares(Config::new().iterations(600), capacity, 12);
        explore_squares(
            Config::new()
                .strategy(Strategy::Random)
                .iterations(300)
                .seed(7),
            capacity,
            12,
        );
    }
}

/// On real threads (and real channels): a thousand items arrive, in order.
#[test]
fn pipeline_on_real_threads_delivers_a_thousand_items_in_order() {
    for capacity in [0, 1, 4] {
        let got = within(
            Duration::from_secs(60),
            &format!("pipeline of 1000 items with channels of capacity {capacity}"),
            move || {
                let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
                let o = out.clone();
                pipeline(
                    1..=1000u64,
                    capacity,
                    |x| x + 1,
                    move |y| {
                        o.lock().expect("not poisoned").push(y);
                    },
                );
                out.lock().expect("not poisoned").clone()
            },
        );
        let expected: Vec<u64> = (2..=1001).collect();
        assert!(
            got == expected,
            "pipeline(1..=1000, {capacity}, x + 1, ...) on real threads: the consumer got {} \
             items,\nnot 2..=1001 in order",
            got.len()
        );
    }
}

/// The doc comment's `# Panics` on `pipe`: a stage that panics makes it panic (on real
/// threads, where a panic can be caught), and the other stages end instead of blocking.
fn a_stage_panic_reaches_the_caller(pipe: Pipe) {
    // The stage fails with `resume_unwind`, which unwinds like a panic but prints nothing:
    // the student reads what the pipeline did with the panic, not the test's own words.
    let fail = |what: &'static str| -> ! { std::panic::resume_unwind(Box::new(what)) };
    for (stage, capacity) in [("transform", 0), ("transform", 2), ("consume", 1)] {
        let what = format!("pipeline whose {stage} panics at item 3 (capacity {capacity})");
        let panicked = within(Duration::from_secs(60), &what, move || {
            std::panic::catch_unwind(|| {
                let transform = move |x: u64| {
                    if stage == "transform" && x == 3 {
                        fail("transform fails at 3");
                    }
                    x
                };
                let consume = move |y: u64| {
                    if stage == "consume" && y == 3 {
                        fail("consume fails at 3");
                    }
                };
                pipe(
                    Box::new(1..=10u64),
                    capacity,
                    Box::new(transform),
                    Box::new(consume),
                );
            })
            .is_err()
        });
        assert!(
            panicked,
            "pipeline() returned normally after a stage panicked: its {stage} stage panicked \
             at item 3\n(capacity {capacity}). When a stage panics, pipeline() must panic too: \
             join every stage and pass\nits panic on (std::panic::resume_unwind), as its doc \
             comment says under # Panics."
        );
    }
}

#[test]
fn a_panic_in_a_stage_reaches_the_caller() {
    a_stage_panic_reaches_the_caller(students);
}

#[test]
fn the_panic_check_rejects_a_pipeline_that_only_reports_a_stage_panic() {
    let p = std::panic::catch_unwind(|| a_stage_panic_reaches_the_caller(versions::logs_panics))
        .expect_err("a pipeline that swallows a stage's panic must be rejected");
    let m = p.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(
        m.starts_with(
            "pipeline() returned normally after a stage panicked: its transform stage panicked \
             at item 3\n(capacity 0)."
        ),
        "{m}"
    );
    a_stage_panic_reaches_the_caller(versions::reordered);
}

/// Pipelines written as students do, to show what the checks catch and what they accept.
mod versions {
    use interleave::channel::{bounded, unbounded};
    use interleave::thread;

    type Items = Box<dyn Iterator<Item = u64> + Send>;
    type Transform = Box<dyn Fn(u64) -> u64 + Send>;
    type Consume = Box<dyn FnMut(u64) + Send>;

    fn named(name: &str) -> thread::Builder {
        thread::Builder::new().name(name.to_string())
    }

    /// The three stages on named threads, with the given channel capacities (`None`:
    /// unbounded); an `eager` producer collects every item before sending the first.
    fn three_stages(
        items: Items,
        (first, second, eager): (Option<usize>, Option<usize>, bool),
        transform: Transform,
        mut consume: Consume,
    ) {
        let (tx1, rx1) = first.map_or_else(unbounded, bounded);
        let (tx2, rx2) = second.map_or_else(unbounded, bounded);
        let p = named("producer")
            .spawn(move || {
                let items: Items = if eager {
                    Box::new(items.collect::<Vec<_>>().into_iter())
                } else {
                    items
                };
                for item in items {
                    if tx1.send(item).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn");
        let t = named("transformer")
            .spawn(move || {
                while let Ok(item) = rx1.recv() {
                    if tx2.send(transform(item)).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn");
        let c = named("consumer")
            .spawn(move || {
                for item in rx2.iter() {
                    consume(item);
                }
            })
            .expect("spawn");
        for h in [p, t, c] {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    }

    /// Wrong: one slot too many in each channel.
    pub fn one_more_slot(items: Items, c: usize, t: Transform, k: Consume) {
        three_stages(items, (Some(c + 1), Some(c + 1), false), t, k);
    }

    /// Wrong: one slot too many in the second channel only.
    pub fn second_one_bigger(items: Items, c: usize, t: Transform, k: Consume) {
        three_stages(items, (Some(c), Some(c + 1), false), t, k);
    }

    /// Wrong: `bounded(capacity.max(1))`, no rendezvous.
    pub fn never_a_rendezvous(items: Items, c: usize, t: Transform, k: Consume) {
        three_stages(items, (Some(c.max(1)), Some(c.max(1)), false), t, k);
    }

    /// Wrong: the first channel bounded, the second one not.
    pub fn second_unbounded(items: Items, c: usize, t: Transform, k: Consume) {
        three_stages(items, (Some(c), None, false), t, k);
    }

    /// Wrong: the producer collects every item before it sends the first.
    pub fn eager_producer(items: Items, c: usize, t: Transform, k: Consume) {
        three_stages(items, (Some(c), Some(c), true), t, k);
    }

    /// Wrong: the consumer runs on the calling thread.
    pub fn consumer_on_the_caller(items: Items, c: usize, transform: Transform, mut k: Consume) {
        let (tx1, rx1) = bounded(c);
        let (tx2, rx2) = bounded(c);
        let p = named("producer")
            .spawn(move || {
                for item in items {
                    if tx1.send(item).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn");
        let t = named("transformer")
            .spawn(move || {
                for item in rx1.iter() {
                    if tx2.send(transform(item)).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn");
        for item in rx2.iter() {
            k(item);
        }
        p.join().expect("producer");
        t.join().expect("transformer");
    }

    /// Wrong: every stage is joined, but a stage's panic is only reported, not passed on.
    pub fn logs_panics(items: Items, c: usize, transform: Transform, mut consume: Consume) {
        let (tx1, rx1) = bounded(c);
        let (tx2, rx2) = bounded(c);
        let p = named("producer")
            .spawn(move || {
                for item in items {
                    if tx1.send(item).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn");
        let t = named("transformer")
            .spawn(move || {
                for item in rx1.iter() {
                    if tx2.send(transform(item)).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn");
        let k = named("consumer")
            .spawn(move || rx2.iter().for_each(&mut consume))
            .expect("spawn");
        for h in [p, t, k] {
            if h.join().is_err() {
                eprintln!("a stage panicked");
            }
        }
    }

    /// Right: the threads spawned in the other order, `while let` loops, the
    /// transformer's output sent through a second channel built first.
    pub fn reordered(items: Items, c: usize, transform: Transform, mut consume: Consume) {
        let (tx2, rx2) = bounded(c);
        let (tx1, rx1) = bounded::<u64>(c);
        let consumer = named("consumer")
            .spawn(move || {
                while let Ok(y) = rx2.recv() {
                    consume(y);
                }
            })
            .expect("spawn");
        let transformer = named("transformer")
            .spawn(move || {
                while let Ok(x) = rx1.recv() {
                    let y = transform(x);
                    if tx2.send(y).is_err() {
                        return;
                    }
                }
            })
            .expect("spawn");
        let producer = named("producer")
            .spawn(move || {
                for x in items {
                    if tx1.send(x).is_err() {
                        return;
                    }
                }
            })
            .expect("spawn");
        for h in [producer, transformer, consumer] {
            if let Err(e) = h.join() {
                std::panic::resume_unwind(e);
            }
        }
    }
}

/// The explorations of this file on `pipe`: the first failure message, if any.
fn problem(pipe: Pipe) -> Option<String> {
    let runs = [
        (Config::new().iterations(1000), 0, 8),
        (Config::new().iterations(1000), 2, 8),
        (
            Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
            1,
            8,
        ),
    ];
    let more = (0..=3).map(|c| (Config::new().iterations(600), c, 12));
    runs.into_iter()
        .chain(more)
        .find_map(|(config, capacity, count)| {
            check(config, move || squares(pipe, capacity, count))
                .err()
                .map(|f| f.message)
        })
}

#[test]
fn the_explorations_catch_channels_too_big_unbounded_eager_or_on_the_wrong_thread() {
    let pipes: [(&str, Pipe, &str); 6] = [
        ("one_more_slot", versions::one_more_slot, "no back-pressure"),
        (
            "second_one_bigger",
            versions::second_one_bigger,
            "no back-pressure",
        ),
        (
            "never_a_rendezvous",
            versions::never_a_rendezvous,
            "no back-pressure",
        ),
        (
            "second_unbounded",
            versions::second_unbounded,
            "no back-pressure",
        ),
        (
            "eager_producer",
            versions::eager_producer,
            "no back-pressure",
        ),
        (
            "consumer_on_the_caller",
            versions::consumer_on_the_caller,
            "consume ran on the thread \"main\"",
        ),
    ];
    for (name, pipe, expected) in pipes {
        let message = problem(pipe).unwrap_or_else(|| panic!("{name} passed the explorations"));
        assert!(message.contains(expected), "{name}: {message}");
    }
}

#[test]
fn a_pipeline_built_in_another_order_passes() {
    assert_eq!(problem(versions::reordered), None);
}

/// A gate the consumer waits at until the script opens it.
#[derive(Default)]
struct Gate {
    open: interleave::sync::Mutex<bool>,
    opened: interleave::sync::Condvar,
}

impl Gate {
    fn pass(&self) {
        let mut open = self.open.lock();
        while !*open {
            self.opened.wait(&mut open);
        }
    }

    fn open(&self) {
        *self.open.lock() = true;
        self.opened.notify_all();
    }
}

/// Back-pressure means waiting, and waiting means blocking: with the consumer held at a
/// gate, the producer and the transformer fill the channels and block in `send`, so that
/// nothing runs until the gate opens. A stage that retries (`try_send` and `yield_now` in
/// a loop) never lets the pipeline come to rest.
#[test]
fn a_stage_facing_a_full_channel_blocks_instead_of_spinning() {
    use std::sync::Arc;
    for capacity in [0, 1] {
        let table = Scenario::new(|| Arc::new(Gate::default()))
            .call("main", "pipeline(1..=6)", move |gate: &Arc<Gate>| {
                let gate = Arc::clone(gate);
                pipeline(1..=6, capacity, |x| x * x, move |_| gate.pass());
            })
            .rule("the consumer waits at the gate: every stage ends up blocked")
            .call("T", "open()", |gate: &Arc<Gate>| gate.open())
            .rule("the gate opens: everything flows and pipeline() returns")
            .max_steps(20_000)
            .run();
        if let Some(why) = &table.stopped {
            panic!(
                "with channels of capacity {capacity} and the consumer waiting, the pipeline \
                 never came to rest:\n{why}\nerror: a stage that cannot send must block in \
                 send() (or recv()), not retry in a loop: retrying keeps a CPU busy for \
                 nothing. Busy-wait."
            );
        }
    }
}
