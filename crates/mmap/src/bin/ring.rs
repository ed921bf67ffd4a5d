//! Demo of step `ring`: a child produces `ITEMS` numbers (0, 1, 2, ...) into a ring in an
//! anonymous shared mapping, the parent consumes them, checks their order and computes a
//! checksum.
//!
//! Usage: `ring [ITEMS]` (1 to 100000000, default 1000000). Exit code 0 when every item
//! arrived in order with the right checksum, 1 otherwise (the message says what went
//! wrong), 2 on a usage error.

use mmap::child;
use mmap::ring::Ring;
use mmap::ring_io::{Peer, read_exact, write_all};
use mmap::shm::SharedMemory;
use nix::sys::wait::WaitStatus;
use nix::unistd::{ForkResult, fork, getpid};
use std::process::ExitCode;

/// The ring of the demo: 64 KiB.
type DemoRing = Ring<{ 64 * 1024 }>;
/// Items per write of the producer: 1000 items, 8000 bytes, so writes cross the end of the
/// buffer at every position.
const BATCH: usize = 1000;
/// Bytes per read of the consumer: not a multiple of the batch, nor of the ring.
const READ_CHUNK: usize = 12 * 1024;

const USAGE: &str = "ring [ITEMS]
       ITEMS: how many 8-byte numbers to send, from 1 to 100000000 (default 1000000)
then try `just check mmap/ring`";

/// An order-sensitive checksum of the stream of items.
fn mix(sum: u64, item: u64) -> u64 {
    sum.wrapping_mul(0x100_0000_01b3).wrapping_add(item)
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = proctest::args::Args::from_env("ring", USAGE);
    let items = args.positional();
    if args.leftover().is_some() {
        args.fail("too many arguments");
    }
    let items = match items {
        None => 1_000_000,
        Some(arg) => match arg.parse::<u64>() {
            Ok(n @ 1..=100_000_000) => n,
            _ => args.fail(&format!("invalid number of items `{arg}`")),
        },
    };
    let baseline = mmap::leaks::baseline();
    let ring = match SharedMemory::<DemoRing>::new() {
        Ok(ring) => ring,
        Err(errno) => {
            eprintln!("ring: mmap failed: {errno}");
            return ExitCode::FAILURE;
        }
    };
    let parent = getpid();
    // The producer's batch is prepared before forking: the child must not allocate.
    let mut batch = vec![0u8; BATCH * 8];
    // SAFETY: this program is single-threaded; the child only fills a buffer it already
    // owns, calls the ring's write (atomics and copies), yields, calls getppid, and leaves
    // with _exit: no allocation, no lock, no stdio.
    let mut peer = match unsafe { fork() } {
        Err(errno) => {
            eprintln!("ring: fork failed: {errno}");
            return ExitCode::FAILURE;
        }
        Ok(ForkResult::Child) => {
            let mut peer = Peer::Parent(parent);
            let mut next = 0u64;
            while next < items {
                let count = (items - next).min(BATCH as u64) as usize;
                for (i, slot) in batch.chunks_exact_mut(8).take(count).enumerate() {
                    slot.copy_from_slice(&(next + i as u64).to_le_bytes());
                }
                // SAFETY: the child is the ring's only producer.
                if unsafe { write_all(&ring, &batch[..count * 8], &mut peer) }.is_err() {
                    let _ = child::write_all(
                        child::stderr_fd(),
                        b"ring: the consumer (parent) is gone; producer stops\n",
                    );
                    child::exit(1);
                }
                next += count as u64;
            }
            child::exit(0)
        }
        Ok(ForkResult::Parent { child }) => Peer::Child(child, None),
    };

    let mut buf = vec![0u8; READ_CHUNK];
    let (mut received, mut sum, mut expected_sum) = (0u64, 0u64, 0u64);
    let mut problem = None;
    while received < items && problem.is_none() {
        let want = ((items - received) * 8).min(READ_CHUNK as u64) as usize;
        // SAFETY: the parent is the ring's only consumer.
        if let Err(got) = unsafe { read_exact(&ring, &mut buf[..want], &mut peer) } {
            problem = Some(format!(
                "the producer (child) ended after {} items, {} short of {items}",
                received + got as u64 / 8,
                items - received - got as u64 / 8
            ));
            break;
        }
        for bytes in buf[..want].chunks_exact(8) {
            let item = u64::from_le_bytes(bytes.try_into().expect("chunks of 8"));
            if item != received {
                problem = Some(format!(
                    "item number {received} is {item}: items arrived out of order, lost or duplicated"
                ));
                break;
            }
            sum = mix(sum, item);
            expected_sum = mix(expected_sum, received);
            received += 1;
        }
    }
    // Unmap our view of the ring (the child's view went with it).
    drop(ring);
    let status = peer.reap();
    if problem.is_none() && !matches!(status, Ok(WaitStatus::Exited(_, 0))) {
        problem = Some(format!("the producer (child) ended with {status:?}"));
    }
    let (clean, leaks) = mmap::leaks::check(&baseline);
    match problem {
        None => {
            println!(
                "received {received} items in order, checksum {sum:#018x} (expected {expected_sum:#018x})"
            );
            println!("{leaks}");
            if clean {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Some(problem) => {
            println!("received {received} items before a problem");
            println!("{leaks}");
            eprintln!("ring: {problem}");
            ExitCode::FAILURE
        }
    }
}
