//! Checks `mmap/ring`: the ring buffer keeps the byte stream whole (in one process first,
//! where a failure is easy to read), then a million items cross from a child to its parent
//! in order with the right checksum (through the demo binary: the test harness never forks).

use mmap::ring::Ring;
use mmap::shm::SharedMemory;
use proctest::{Demo, Finished, Hang};
use std::panic::{AssertUnwindSafe, catch_unwind};

type Big = Ring<65536>;

fn new_ring<const N: usize>() -> SharedMemory<Ring<N>> {
    SharedMemory::new().expect("mmap of a ring")
}

/// Runs `f`, turning a panic into a failure that says which operation panicked.
fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        panic!("{what} panicked: {message}")
    })
}

/// `ring.write(bytes)` for these single-threaded tests.
fn put<const N: usize>(ring: &Ring<N>, bytes: &[u8]) -> usize {
    // SAFETY: each test is the only producer (and only consumer) of its own ring.
    unsafe { ring.write(bytes) }
}

/// `ring.read(buf)` for these single-threaded tests.
fn take<const N: usize>(ring: &Ring<N>, buf: &mut [u8]) -> usize {
    // SAFETY: as in `put`: one producer and one consumer, this test.
    unsafe { ring.read(buf) }
}

fn pattern(start: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| ((start + i) * 31 % 251) as u8)
        .collect()
}

#[test]
fn an_empty_ring_reads_nothing_and_a_full_ring_accepts_nothing() {
    let ring = new_ring::<65536>();
    let mut buf = [0u8; 16];
    assert_eq!(take(&ring, &mut buf), 0, "a new ring is empty");
    let all = pattern(0, Big::CAPACITY + 100);
    let accepted = guarded("filling an empty ring", || put(&ring, &all));
    assert_eq!(
        accepted,
        Big::CAPACITY,
        "an empty ring of {} bytes accepts exactly {} bytes",
        Big::CAPACITY,
        Big::CAPACITY
    );
    assert_eq!(put(&ring, b"more"), 0, "a full ring accepts nothing");
    assert_eq!(ring.len(), Big::CAPACITY);
}

#[test]
fn a_write_that_reaches_the_end_continues_at_index_zero() {
    let ring = new_ring::<65536>();
    let mut sink = vec![0u8; 40_000];
    assert_eq!(put(&ring, &pattern(0, 40_000)), 40_000);
    assert_eq!(take(&ring, &mut sink), 40_000);
    // The next free index is 40000: 50000 bytes go to 40000..65536, then 0..24464.
    let data = pattern(40_000, 50_000);
    let accepted = guarded(
        "writing 50000 bytes into an empty ring whose next free index is 40000 (of 65536)",
        || put(&ring, &data),
    );
    assert_eq!(accepted, 50_000, "an empty ring has room for 50000 bytes");
    let mut out = vec![0u8; 50_000];
    let got = guarded(
        "reading 50000 bytes that start at index 40000 and wrap around to index 0",
        || take(&ring, &mut out),
    );
    assert_eq!(got, 50_000, "50000 bytes were written");
    assert!(
        out == data,
        "the bytes came back changed after wrapping around the end"
    );
}

#[test]
fn interleaved_writes_and_reads_of_every_size_keep_the_stream_whole() {
    // A tiny ring, so that every size and every position around the end is exercised.
    let ring = new_ring::<64>();
    let stream = pattern(7, 20_000);
    let (mut sent, mut received) = (0usize, Vec::new());
    let mut step = 0usize;
    while received.len() < stream.len() {
        step += 1;
        let w = (step * 13) % 80;
        let end = (sent + w).min(stream.len());
        sent += guarded(&format!("write #{step} of {w} bytes"), || {
            put(&ring, &stream[sent..end])
        });
        let mut buf = vec![0u8; (step * 7) % 70];
        let n = guarded(
            &format!("read #{step} of up to {} bytes", buf.len()),
            || take(&ring, &mut buf),
        );
        received.extend_from_slice(&buf[..n]);
        assert!(step < 100_000, "no progress: the ring stopped moving bytes");
    }
    assert!(
        received == stream,
        "the bytes that came out are not the bytes that went in (first difference at byte {})",
        received
            .iter()
            .zip(&stream)
            .position(|(a, b)| a != b)
            .unwrap_or(received.len())
    );
}

fn diagnose(hang: Hang) -> String {
    let spinning: Vec<String> = hang
        .snapshot
        .processes
        .iter()
        .map(|p| format!("pid {} state {}", p.pid, p.state))
        .collect();
    format!(
        "the transfer never finished: neither process is blocked in a system call for long, \
         they are waiting on each other through the ring ({}): the producer sees the ring \
         full while the consumer sees it empty. Check how `write` and `read` compute the free \
         and available bytes from head and tail.\n\n{hang}",
        spinning.join(", ")
    )
}

fn run_demo(args: &[&str]) -> Finished {
    Demo::new(env!("CARGO_BIN_EXE_ring"))
        .args(args)
        .run()
        .unwrap_or_else(|hang| panic!("{}", diagnose(hang)))
}

#[test]
fn a_million_items_cross_from_child_to_parent_in_order() {
    let run = run_demo(&[]);
    assert!(
        run.code() == Some(0),
        "the ring demo failed (exit {:?}):\n{}{}",
        run.code(),
        run.stdout,
        run.stderr
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    insta::assert_snapshot!("ring_million", run.stdout);
}

#[test]
fn bad_arguments_are_usage_errors_and_fork_nothing() {
    for bad in ["abc", "-3", "0", "100000001"] {
        run_demo(&[bad]).assert_usage_error(
            &format!("`ring {bad}`"),
            &[
                &format!("invalid number of items `{bad}`"),
                "from 1 to 100000000",
            ],
        );
    }
    let run = run_demo(&["1", "2"]);
    run.assert_usage_error("`ring 1 2`", &["too many arguments"]);
    insta::assert_snapshot!("ring_usage", run.stderr);
}
