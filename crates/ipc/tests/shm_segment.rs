//! Checks `ipc/shm_segment`: in this process, what `create` and `attach` leave in the
//! segment (its size, its semaphores, its name); then, through the `shm_segment` demo, two
//! producers and a consumer, three processes that only share the segment's name, move
//! 40,000 items through the bounded buffer, and nothing is left behind, also when the
//! creator is killed before anyone else attached. Every segment a check creates has a name
//! of this test's, removed by a guard whatever happens (after the check has looked whether
//! the code under test removed it itself).

mod common;

use common::wrap;
use ipc::segment::CAPACITY;
use ipc::shm_segment::Segment;
use ipc::sys::shm_exists;
use nix::errno::Errno;
use proctest::{Demo, Hang};
use std::sync::atomic::{AtomicU32, Ordering};

/// A segment name of this test's, removed when dropped.
struct Name(String);

impl Name {
    fn new(what: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        Self(format!(
            "/course-ipc-test-{}-{what}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
    }
}

impl Drop for Name {
    fn drop(&mut self) {
        let _ = nix::sys::mman::shm_unlink(self.0.as_str());
    }
}

const SIGBUS_WHY: &str = "A new shared-memory object is 0 bytes long: mmap maps it anyway, and \
    the first access to a page past its end (initializing the semaphores) is killed by SIGBUS. \
    ftruncate it to the segment's size before mapping.";

#[test]
fn create_gives_the_segment_its_size_and_initializes_the_semaphores() {
    let name = Name::new("create");
    // In a child process of our own: a SIGBUS must not kill the test harness.
    let run = common::run_demo(
        Demo::new(env!("CARGO_BIN_EXE_shm_segment")).args([
            "--producer",
            &name.0,
            "0",
            "1",
            "--create",
        ]),
        |_| "creating the segment never finished".to_owned(),
    )
    .unwrap_or_else(|m| panic!("\n{}", wrap(&m)));
    if run.signal() == Some(libc::SIGBUS) {
        panic!(
            "\n{}",
            wrap(&format!(
                "Segment::create was killed by SIGBUS. {SIGBUS_WHY}"
            ))
        );
    }
    assert!(
        run.code() == Some(0) || run.code() == Some(3),
        "{}",
        run.stderr
    );
    // The creator exited; the name stays until someone removes it.
    let _ = nix::sys::mman::shm_unlink(name.0.as_str());
    let segment = Segment::create(&name.0).expect("create a segment");
    let size = std::fs::metadata(format!("/dev/shm{}", name.0)).map(|m| m.len());
    let buffer = std::mem::size_of::<ipc::segment::Buffer>() as u64;
    assert!(
        size.as_ref().ok() == Some(&buffer),
        "\n{}",
        wrap(&format!(
            "Segment::create made an object of {} bytes, not {buffer}: the segment is \
             exactly one Buffer (`size()`), and ftruncate gives the new object that size. \
             The wrong size.",
            size.map_or_else(|e| format!("unknown ({e})"), |n| n.to_string())
        ))
    );
    assert_eq!(
        segment.name(),
        name.0,
        "name() must give the segment's name"
    );
    let mode = std::fs::metadata(format!("/dev/shm{}", name.0))
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(
        mode.ok(),
        Some(0o600),
        "the segment must be readable and writable by its owner only (mode 0600): any process \
         that may open it may also write the buffer"
    );
    let b = segment.buffer();
    let values = (b.mutex.value(), b.empty.value(), b.full.value());
    assert_eq!(
        values,
        (1, CAPACITY as i32, 0),
        "a new segment's semaphores (mutex, empty, full) must start at (1, {CAPACITY}, 0)"
    );
    assert_eq!(
        Segment::create(&name.0).map(|_| ()),
        Err(Errno::EEXIST),
        "create must refuse a name that exists (O_EXCL)"
    );
    let other = Segment::attach(&name.0).expect("attach the segment");
    other.unlink().expect("unlink");
    assert!(!shm_exists(&name.0), "unlink must remove the name");
    // (No put or take here: a broken one stops its process, which must never be the test
    // harness. The demo runs them in processes of their own.)
    let mapped = || {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                l.ends_with(&format!("/dev/shm{} (deleted)", name.0))
                    || l.ends_with(&format!("/dev/shm{}", name.0))
            })
            .count()
    };
    assert_eq!(mapped(), 2, "both segments are mapped in this process");
    drop(other);
    drop(segment);
    assert_eq!(mapped(), 0, "dropping a Segment must unmap it (munmap)");
    assert_eq!(Segment::attach(&name.0).map(|_| ()), Err(Errno::ENOENT));
}

#[test]
fn attach_refuses_an_object_smaller_than_a_buffer() {
    let name = Name::new("small");
    let fd = nix::sys::mman::shm_open(
        name.0.as_str(),
        nix::fcntl::OFlag::O_CREAT | nix::fcntl::OFlag::O_EXCL | nix::fcntl::OFlag::O_RDWR,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .expect("shm_open");
    nix::unistd::ftruncate(&fd, 16).expect("ftruncate");
    assert_eq!(
        Segment::attach(&name.0).map(|_| ()),
        Err(Errno::EINVAL),
        "attaching a 16-byte object must fail with EINVAL: mapping a whole Buffer over it would \
         be killed by SIGBUS at the first access past its end"
    );
}

#[test]
fn items_come_out_in_the_order_they_went_in_around_the_ring() {
    let name = Name::new("order");
    let run = common::run_demo(
        Demo::new(env!("CARGO_BIN_EXE_shm_segment")).args(["--name", &name.0, "--items", "3"]),
        diagnose,
    )
    .unwrap_or_else(|m| panic!("\n{}", wrap(&m)));
    assert_succeeded(&run, "shm_segment --items 3");
}

/// The topic's words for what the demo's error output shows.
/// Fails with the demo's own account of what went wrong as the verdict, explained where
/// the cause is known, when `run` did not succeed.
fn assert_succeeded(run: &proctest::Finished, command: &str) {
    if run.code() == Some(0) {
        return;
    }
    // The first complaint is the cause; "exited with status N" lines are what followed.
    let lines = || run.stderr.lines().filter(|l| !l.trim().is_empty());
    let said = lines()
        .find(|l| !l.contains("exited with status") && !l.contains("before it said it was"))
        .or_else(|| lines().next_back())
        .unwrap_or("it said nothing")
        .trim_start_matches("shm_segment: ");
    let cause = if run.stderr.contains("SIGBUS") {
        format!("{said}. {SIGBUS_WHY}")
    } else if run.stderr.contains("cannot attach") && run.stderr.contains("ENOENT") {
        "a process could not attach the segment: its name was already gone (ENOENT). Only \
         the consumer removes the name, once everyone has attached (Segment::unlink); a \
         Segment's Drop must not. Removed too early."
            .to_owned()
    } else {
        // The demo's own sentence, ended once.
        format!("{}.", said.trim_end_matches('.'))
    };
    let evidence = format!(
        "`{command}` failed; its output:\n{}{}",
        run.stdout,
        run.stderr.trim_end()
    );
    panic!("{}", proctest::verdict(&evidence, &cause));
}

/// A stuck demo: every process asleep on a semaphore.
fn diagnose(hang: &Hang) -> String {
    let asleep = hang
        .snapshot
        .processes
        .iter()
        .filter(|p| p.blocked_in.as_ref().is_some_and(|s| s.name == "futex"))
        .count();
    format!(
        "{asleep} process(es) of the demo sleep on a semaphore (futex) and nobody will post it. \
         Two usual causes: waiting for `empty` (or `full`) while holding `mutex`, which keeps \
         out the process that would post it (wait for the slot first, then take the mutex); or \
         semaphores initialized for threads only (pshared = 0: their futex is private to the \
         process, and a post in one process never wakes a waiter in another)."
    )
}

#[test]
fn two_producers_and_a_consumer_move_every_item_through_the_segment() {
    let name = Name::new("demo");
    let run = common::run_demo(
        Demo::new(env!("CARGO_BIN_EXE_shm_segment")).args(["--name", &name.0]),
        diagnose,
    )
    .unwrap_or_else(|m| panic!("\n{}", wrap(&m)));
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert_succeeded(&run, "shm_segment");
    assert!(!shm_exists(&name.0), "the demo left {} behind", name.0);
    insta::assert_snapshot!("shm_segment", run.stdout);
}

#[test]
fn a_creator_killed_before_anyone_attached_leaves_nothing_behind() {
    let name = Name::new("killed");
    let run = common::run_demo(
        Demo::new(env!("CARGO_BIN_EXE_shm_segment")).args([
            "--name",
            &name.0,
            "--stop-after-create",
        ]),
        diagnose,
    )
    .unwrap_or_else(|m| panic!("\n{}", wrap(&m)));
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("the launcher removed the segment left behind"),
        "{}",
        run.stderr
    );
    assert!(!shm_exists(&name.0), "{} was left behind", name.0);
}

#[test]
fn a_create_that_fails_after_shm_open_leaves_nothing_behind() {
    // The launcher makes ftruncate fail (EFBIG: a file-size limit of one byte) around
    // Segment::create, which must then remove the object it had just created.
    let name = Name::new("failed");
    let run = common::run_demo(
        Demo::new(env!("CARGO_BIN_EXE_shm_segment")).args(["--name", &name.0, "--create-fails"]),
        diagnose,
    )
    .unwrap_or_else(|m| panic!("\n{}", wrap(&m)));
    if run.code() != Some(0) {
        let cause = run
            .stderr
            .trim()
            .trim_start_matches("shm_segment: ")
            .replace('\n', " ");
        let evidence = format!(
            "`shm_segment --create-fails` printed:\n{}",
            run.stdout.trim_end()
        );
        panic!("{}", proctest::verdict(&evidence, &cause));
    }
    assert!(!shm_exists(&name.0), "{} was left behind", name.0);
}

#[test]
fn bad_arguments_are_usage_errors() {
    for (args, problem) in [
        (
            &["--items", "0"][..],
            "N must be a whole number from 1 to 10000000, not \"0\"",
        ),
        (&["--name", "x"][..], "NAME must start with /"),
        (&["--no-lock", "--stop-after-create"][..], "choose one of"),
        (&["--producer", "/x"][..], "--producer takes NAME ID COUNT"),
    ] {
        let run = common::run_demo(
            Demo::new(env!("CARGO_BIN_EXE_shm_segment")).args(args),
            |_| "stuck".to_owned(),
        )
        .unwrap_or_else(|m| panic!("{m}"));
        run.assert_usage_error(
            &format!("`shm_segment {}`", args.join(" ")),
            &[
                problem,
                "shm_segment [--name NAME]",
                "just check ipc/shm_segment",
            ],
        );
    }
}

/// What the process of `hang` that runs `role` (`--consumer`, `--producer`) was doing when
/// the watchdog looked: `Ok` when it slept on a semaphore (a futex), else why not.
fn judge_waiting(hang: &Hang, call: &str, waits_for: &str) -> Result<(), String> {
    let Some(p) = hang.snapshot.processes.iter().max_by_key(|p| p.cpu) else {
        return Err(format!(
            "{call}: the demo's process was gone when the watchdog looked"
        ));
    };
    match &p.blocked_in {
        Some(sys) if p.state == 'S' && sys.name == "futex" => Ok(()),
        Some(sys) if p.state == 'S' => Err(format!(
            "{call} slept in {}() instead of on a semaphore: it looks again and again, \
             with pauses. Each look is work nobody needs, and each pause is a delay after \
             the post that ends the wait. Wait on `{waits_for}` (sem_wait): it sleeps \
             until a post, and wakes at once. Polling instead of waiting.",
            sys.name
        )),
        _ => Err(format!(
            "{call} kept running (state {}, {} ms of CPU in its {} ms): it tests the \
             semaphore's value in a loop instead of sleeping. Wait on `{waits_for}` \
             (sem_wait): the process sleeps in the kernel, using nothing, until a post \
             wakes it. A busy-wait.",
            p.state,
            p.cpu.as_millis(),
            p.age.as_millis()
        )),
    }
}

#[test]
fn put_and_take_sleep_while_they_wait() {
    use std::time::Duration;
    let name = Name::new("wait");
    // A producer alone creates the segment and puts one item more than it holds: the last
    // put waits for a free slot that never comes. Then a consumer alone takes every item
    // and one more: the last take waits for an item that never comes. Each must sleep;
    // the watchdog finds them blocked, and looks at how.
    let one_more = (CAPACITY + 1).to_string();
    let all_and_one = (2 * CAPACITY + 2).to_string();
    let cases = [
        (
            vec!["--producer", &name.0, "0", &one_more, "--create"],
            format!("put() of item {} into a full buffer", CAPACITY + 1),
            "empty",
        ),
        (
            vec!["--consumer", &name.0, &all_and_one],
            "take() from an empty buffer".to_owned(),
            "full",
        ),
    ];
    for (args, call, waits_for) in cases {
        let run = Demo::new(env!("CARGO_BIN_EXE_shm_segment"))
            .args(args)
            .timeout(Duration::from_secs(1))
            .hard_cap(Duration::from_secs(2))
            .run();
        match run {
            // Nothing to put into or take from, for good: it must still be waiting.
            Ok(done) => panic!(
                "\n{}",
                wrap(&format!(
                    "{call} returned (the demo ended, exit {:?}) although nobody posted the \
                     semaphore it waits for:\n{}{}",
                    done.code(),
                    done.stdout,
                    done.stderr
                ))
            ),
            Err(hang) => {
                if let Err(why) = judge_waiting(&hang, &call, waits_for) {
                    panic!("\n{}", proctest::verdict(&hang, &why));
                }
            }
        }
    }
}
