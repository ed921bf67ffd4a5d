//! Checks `ipc/os_mailbox`: in this process, the mailbox's calls that must not wait (or
//! not too long) and the owner's cleanup; then, through the `os_mailbox` demo, a parent and
//! a child process exchanging messages by priority, a child killed with messages still in
//! its mailbox, a parent that returns early, and a parent killed outright. Every queue a
//! check creates has a name of this test's; a guard removes it whatever happens, after the
//! check has looked whether the code under test removed it itself.

mod common;

use common::{verdict, within, wrap};
use ipc::os_mailbox::{Mailbox, MailboxError, Message};
use ipc::sys::{mq_exists, mqueues_available};
use proctest::Demo;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A name of this test's, removed (with its `-child` and `-parent` variants) when dropped.
struct Names(String);

impl Names {
    fn new(what: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        available();
        Self(format!(
            "/course-ipc-test-{}-{what}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ))
    }
    fn variants(&self) -> [String; 3] {
        [
            self.0.clone(),
            format!("{}-child", self.0),
            format!("{}-parent", self.0),
        ]
    }
}

impl Drop for Names {
    fn drop(&mut self) {
        for name in self.variants() {
            let _ = nix::mqueue::mq_unlink(name.as_str());
        }
    }
}

/// Stops with a clear sentence when this machine has no POSIX message queues.
fn available() {
    if let Err(why) = mqueues_available() {
        panic!("\n{}", wrap(&why));
    }
}

/// A duration in milliseconds, to a tenth.
fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn text(m: &Result<Message, MailboxError>) -> String {
    match m {
        Ok(m) => format!(
            "{:?} (priority {})",
            String::from_utf8_lossy(&m.body),
            m.priority
        ),
        Err(e) => format!("{e:?}"),
    }
}

#[test]
fn a_higher_priority_is_received_first() {
    let names = Names::new("prio");
    let mailbox = Mailbox::create(&names.0, 8, 64).expect("create a mailbox");
    for (body, priority) in [("a", 1), ("b", 5), ("c", 1), ("d", 5), ("e", 0)] {
        mailbox.send(body.as_bytes(), priority).expect("send");
    }
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(text(&mailbox.receive()));
    }
    assert_eq!(
        got,
        [
            "\"b\" (priority 5)",
            "\"d\" (priority 5)",
            "\"a\" (priority 1)",
            "\"c\" (priority 1)",
            "\"e\" (priority 0)"
        ]
    );
}

#[test]
fn try_receive_on_an_empty_mailbox_answers_empty_at_once() {
    let names = Names::new("empty");
    let mailbox = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    let got = within(
        "try_receive() on an empty mailbox",
        "try_receive must not wait: it receives through the descriptor opened with O_NONBLOCK, \
         where an empty queue is EAGAIN at once (MailboxError::Empty).",
        move || {
            let first = mailbox.try_receive();
            mailbox.send(b"x", 3).expect("send");
            let second = mailbox.try_receive();
            let third = mailbox.try_receive();
            (first, second, third)
        },
    );
    let (first, second, third) = got.unwrap_or_else(|m| panic!("\n{}", wrap(&m)));
    for (what, got, want) in [
        ("on an empty mailbox", text(&first), "Empty"),
        (
            "with one message there",
            text(&second),
            "\"x\" (priority 3)",
        ),
        ("once it was taken", text(&third), "Empty"),
    ] {
        assert!(
            got == want,
            "\n{}",
            wrap(&format!(
                "try_receive() {what} returned {got}, not {want} (EAGAIN on the non-blocking \
                 descriptor means: nothing there now)"
            ))
        );
    }
}

#[test]
fn a_new_mailbox_is_for_its_owner_only() {
    let names = Names::new("mode");
    let mailbox = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    assert_eq!(mailbox.name(), names.0);
    assert_eq!(mailbox.message_size(), 16);
    // A queue's descriptor is a file of the mqueue file system: fstat gives its mode.
    let mqd = nix::mqueue::mq_open(
        names.0.as_str(),
        nix::mqueue::MQ_OFlag::O_RDONLY | nix::mqueue::MQ_OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
        None,
    )
    .expect("mq_open");
    let mode = nix::sys::stat::fstat(&mqd).map(|st| st.st_mode & 0o777);
    let _ = nix::mqueue::mq_close(mqd);
    assert_eq!(
        mode,
        Ok(0o600),
        "a new mailbox must be readable and writable by its owner only (mode 0600)"
    );
    drop(mailbox);
}

#[test]
fn try_send_on_a_full_mailbox_answers_full_and_a_message_too_big_is_refused() {
    let names = Names::new("full");
    let mailbox = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    assert_eq!(mailbox.try_send(b"1", 0), Ok(()));
    assert_eq!(mailbox.try_send(b"2", 0), Ok(()));
    assert_eq!(mailbox.try_send(b"3", 0), Err(MailboxError::Full));
    assert_eq!(mailbox.try_send(&[0; 17], 0), Err(MailboxError::TooBig));
    assert_eq!(mailbox.pending(), Ok(2));
}

/// A clock's time now, in nanoseconds.
fn nanos_now(clock: nix::time::ClockId) -> i128 {
    let t = nix::time::clock_gettime(clock).expect("clock_gettime");
    i128::from(t.tv_sec()) * 1_000_000_000 + i128::from(t.tv_nsec())
}

/// The deadline a held `mq_timedreceive` was given (its fifth argument, a `struct timespec`
/// of this process), in nanoseconds; `None` for no deadline (a null pointer) or one that
/// could not be read.
fn deadline_of(held: &proctest::faults::Held) -> Option<i128> {
    use std::os::unix::fs::FileExt;
    let at = held.args[4];
    if at == 0 {
        return None;
    }
    let mut bytes = [0u8; 16];
    let mem = std::fs::File::open("/proc/self/mem").ok()?;
    mem.read_exact_at(&mut bytes, at).ok()?;
    let sec = i64::from_ne_bytes(bytes[..8].try_into().ok()?);
    let nsec = i64::from_ne_bytes(bytes[8..].try_into().ok()?);
    Some(i128::from(sec) * 1_000_000_000 + i128::from(nsec))
}

/// The clocks read just before the call, and what its first `mq_timedreceive` was given
/// with the clocks read while it was held there.
struct Seen {
    realtime_before: i128,
    monotonic_before: i128,
    /// The deadline, and the realtime and monotonic clocks once the call was held.
    held: Option<(i128, i128, i128)>,
    /// Whether the descriptor it was called on is in non-blocking mode (O_NONBLOCK).
    nonblocking: bool,
}

/// Why `receive_timeout(timeout)` gave up before its deadline, from the deadline its
/// `mq_timedreceive` was given.
fn early_deadline(timeout: Duration, seen: &Seen) -> String {
    let t = i128::try_from(timeout.as_nanos()).unwrap_or(i128::MAX);
    let show = |ns: i128| format!("{:?}", Duration::from_nanos(u64::try_from(ns).unwrap_or(0)));
    if seen.nonblocking {
        return "mq_timedreceive was called on the mailbox's O_NONBLOCK descriptor: on a queue \
                opened with O_NONBLOCK it ignores its deadline and fails with EAGAIN at once \
                when the queue is empty (mq_receive(3)). Wait on the blocking descriptor; \
                O_NONBLOCK is for try_receive. A deadline on a non-blocking queue."
            .to_owned();
    }
    let Some((deadline, realtime_held, monotonic_held)) = seen.held else {
        return "mq_timedreceive takes the moment to give up at, a time of day on \
                CLOCK_REALTIME (clock_gettime + the timeout), not a duration."
            .to_owned();
    };
    let slack = 2_000_000; // 2 ms: the clocks were read a little before and after its own
    let monotonic =
        (deadline - monotonic_held - slack..=deadline - seen.monotonic_before + slack).contains(&t);
    let after_now = deadline - seen.realtime_before;
    if monotonic {
        format!(
            "mq_timedreceive was given CLOCK_MONOTONIC's time + the timeout as its deadline. \
             It measures the deadline on CLOCK_REALTIME, the time of day, and the monotonic \
             clock counts from boot ({} s ago): as a time of day, that moment was in 1970, long \
             past, so it gave up at once. Read the deadline from CLOCK_REALTIME. A deadline on \
             the wrong clock.",
            monotonic_held / 1_000_000_000
        )
    } else if deadline == t {
        "mq_timedreceive was given the timeout itself as its deadline, 200.9 ms: it takes \
         the moment to give up at, a time of day on CLOCK_REALTIME, and 200.9 ms as a moment \
         is just after midnight, January 1st 1970, long past, so it gave up at once. Add the \
         timeout to clock_gettime(CLOCK_REALTIME). A duration is not a deadline."
            .to_owned()
    } else if (-slack..=realtime_held - seen.realtime_before + slack).contains(&after_now) {
        "mq_timedreceive was given the time of day it had just read as its deadline, without \
         the 200.9 ms: adding only the timeout's whole seconds (tv_sec += as_secs()) adds \
         nothing to a timeout under a second. Add the nanoseconds too, carrying into the \
         seconds (TimeSpec::from(timeout) added to the time of day). A deadline rounded \
         down."
            .to_owned()
    } else if (0..t).contains(&after_now) {
        format!(
            "mq_timedreceive was given a deadline {} after the time of day it read, not \
             200.9 ms: the timeout lost part of itself on the way (as_millis, whole seconds, \
             TimeSpec::milliseconds). Keep every nanosecond: TimeSpec::from(timeout) added to \
             the time of day. A deadline rounded down.",
            show(after_now)
        )
    } else if after_now < 0 {
        format!(
            "mq_timedreceive was given a deadline {} before the time of day it was called \
             at, long past: it takes the moment to give up at, clock_gettime(CLOCK_REALTIME) \
             + the timeout.",
            show(-after_now)
        )
    } else {
        "mq_timedreceive takes the moment to give up at, a time of day on CLOCK_REALTIME \
         (clock_gettime + the timeout), not a duration."
            .to_owned()
    }
}

fn check_receive_timeout() -> Result<(), String> {
    use nix::time::ClockId;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, mpsc};
    let names = Names::new("timeout");
    let mailbox = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    // 200.9 ms: a deadline that drops the fraction of a millisecond gives up early too.
    let timeout = Duration::from_micros(200_900);
    // The call's first mq_timedreceive is held at its entry, its deadline read, and the
    // clocks with it, then let go on: the evidence of an early deadline.
    let (gate_tx, gate_rx) = mpsc::channel::<(proctest::faults::Gate, i128, i128)>();
    let done = Arc::new(AtomicBool::new(false));
    let finished = Arc::clone(&done);
    let controller = std::thread::spawn(move || {
        let (gate, realtime_before, monotonic_before) = gate_rx.recv().ok()?;
        let started = Instant::now();
        let mut held = None;
        let mut nonblocking = false;
        while !done.load(Ordering::SeqCst) && started.elapsed() < common::BUDGET {
            if let Ok(Some(call)) = gate.next(Duration::from_millis(10)) {
                if held.is_none() {
                    // The call is held at its entry, so its descriptor is still open.
                    let fd = call.args[0] as i32;
                    // SAFETY: F_GETFL only reads the flags of a descriptor of this process.
                    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
                    nonblocking = flags >= 0 && flags & libc::O_NONBLOCK != 0;
                    held = Some((
                        deadline_of(&call),
                        nanos_now(ClockId::CLOCK_REALTIME),
                        nanos_now(ClockId::CLOCK_MONOTONIC),
                    ));
                }
                let _ = gate.release(call);
            }
        }
        Some(Seen {
            realtime_before,
            monotonic_before,
            held: held.and_then(|(d, r, m)| d.map(|d| (d, r, m))),
            nonblocking,
        })
    });
    let (got, waited, mailbox) = within(
        "receive_timeout(200.9 ms) on an empty mailbox",
        "It must give up at its deadline: now + 200.9 ms on CLOCK_REALTIME, as a TimeSpec.",
        move || {
            let gate = proctest::faults::hold_calls(&[libc::SYS_mq_timedreceive])
                .expect("a kernel with seccomp user notifications (Linux 5.5 or later)");
            let monotonic = nanos_now(ClockId::CLOCK_MONOTONIC);
            let _ = gate_tx.send((gate, nanos_now(ClockId::CLOCK_REALTIME), monotonic));
            let started = Instant::now();
            let got = mailbox.receive_timeout(timeout);
            finished.store(true, Ordering::SeqCst);
            (got, started.elapsed(), mailbox)
        },
    )?;
    let seen = controller
        .join()
        .expect("the controller never panics")
        .expect("the gate reaches the controller");
    match got {
        Err(MailboxError::Timeout) if waited >= timeout => {}
        Err(MailboxError::Timeout) => {
            return Err(format!(
                "receive_timeout(200.9 ms) on an empty mailbox gave up after {}, before \
                 its deadline: {}",
                ms(waited),
                early_deadline(timeout, &seen)
            ));
        }
        other => {
            let carry = if other == Err(MailboxError::Sys(nix::errno::Errno::EINVAL)) {
                ": the moment to give up at was not a valid time (EINVAL). Its nanoseconds \
                 must stay below one second: add the timeout with carrying into the seconds \
                 (TimeSpec + TimeSpec does). A deadline that is not a time."
            } else {
                ""
            };
            return Err(format!(
                "receive_timeout(200.9 ms) on an empty mailbox returned {}, not Timeout{carry}",
                text(&other)
            ));
        }
    }
    mailbox.send(b"late", 2).expect("send");
    // A timeout of 999999999 ns: now + timeout carries into the seconds on nearly every
    // call, and the kernel checks the moment even when a message is there.
    let got = within(
        "receive_timeout(999999999 ns) with a message there",
        "A message is there: mq_timedreceive returns it at once, whatever the deadline.",
        move || mailbox.receive_timeout(Duration::from_nanos(999_999_999)),
    )?;
    if text(&got) != "\"late\" (priority 2)" {
        let carry = if got == Err(MailboxError::Sys(nix::errno::Errno::EINVAL)) {
            ": the moment to give up at was not a valid time (EINVAL). Its nanoseconds must \
             stay below one second: add the timeout with carrying into the seconds \
             (TimeSpec + TimeSpec does). A deadline that is not a time."
        } else {
            ""
        };
        return Err(format!(
            "receive_timeout(999999999 ns) with a message there returned {}, not the \
             message{carry}",
            text(&got)
        ));
    }
    Ok(())
}

#[test]
fn receive_timeout_waits_until_its_deadline_and_no_less() {
    verdict(check_receive_timeout());
}

/// `receive_timeout` with a timeout too large for the clock (its doc: it never runs out, it
/// waits like `receive`), on an empty mailbox: once it sleeps, a message is sent, which it
/// must return. `now + timeout` that wraps (`TimeSpec::from_duration` keeps the seconds as
/// a signed `time_t`) or overflows (`TimeSpec + TimeSpec` counts nanoseconds in an `i64`,
/// about 292 years) gives up at once, or panics.
fn check_receive_timeout_too_large(timeout: Duration, said: &str) -> Result<(), String> {
    let names = Names::new("forever");
    let mailbox = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    let sender = other_end(&names.0);
    let what = format!("receive_timeout({said}) on an empty mailbox");
    let got = common::within_while(
        &what,
        |_| {
            "A message was sent once it slept in mq_timedreceive; the call should have \
                 returned it. Stuck while a message waited."
                .to_string()
        },
        move || mailbox.receive_timeout(timeout),
        |tid| {
            // Once it sleeps in its receive (or has returned already), a message comes.
            let started = Instant::now();
            while started.elapsed() < common::BUDGET
                && common::thread_state(tid).is_some()
                && !sleeps_in_receive(tid, None)
            {
                std::thread::yield_now();
            }
            let _ = nix::mqueue::mq_send(&sender, b"at last", 1);
        },
    );
    let got = got.map_err(|why| {
        if why.contains("overflow") {
            // The panic's place is in a dependency (nix's TimeSpec) or the student's file:
            // its text is the evidence, its path is noise.
            let panic = why.rsplit(": ").next().unwrap_or("an overflow");
            format!(
                "{what} panicked: {panic}. now + {said} does not fit in a TimeSpec: its \
                 nanoseconds are counted in an i64 (about 292 years). A timeout too large for the clock never runs \
                 out (receive_timeout's doc): add with checked arithmetic and, when the sum \
                 does not fit, wait with the latest moment a time_t can hold (or as receive \
                 does). A deadline that overflowed."
            )
        } else {
            why
        }
    })?;
    match got {
        Ok(m) if m.body == b"at last" => Ok(()),
        Err(MailboxError::Sys(nix::errno::Errno::EINVAL)) => Err(format!(
            "{what} failed with EINVAL: the moment given to mq_timedreceive was not a valid \
             time. {said} does not fit in a TimeSpec: TimeSpec::from_duration keeps the \
             seconds in a time_t, a signed 64-bit count, and they came out negative. Such a \
             timeout never runs out (receive_timeout's doc: it waits like receive): add with \
             checked arithmetic and, when the sum does not fit, wait with the latest moment a \
             time_t can hold (or as receive does). A deadline that wrapped around."
        )),
        Err(MailboxError::Timeout) => Err(format!(
            "{what} returned Timeout before any message came, though such a timeout never runs \
             out (receive_timeout's doc: it waits like receive). now + timeout wrapped around: \
             TimeSpec::from_duration keeps the seconds in a time_t, a signed 64-bit count, so \
             {said} came out negative, a moment long past, and mq_timedreceive gave up at once. \
             Add with checked arithmetic and, when the sum does not fit, wait with the latest \
             moment a time_t can hold (or as receive does). A deadline that wrapped around."
        )),
        other => Err(format!(
            "{what} returned {} once a message came (\"at last\", priority 1): it should \
             have returned that message",
            text(&other)
        )),
    }
}

#[test]
fn a_timeout_too_large_for_the_clock_waits_like_receive() {
    verdict(
        check_receive_timeout_too_large(Duration::MAX, "Duration::MAX").and_then(|()| {
            check_receive_timeout_too_large(Duration::from_secs(500 * 365 * 24 * 3600), "500 years")
        }),
    );
}

extern "C" fn interrupt(_: libc::c_int) {}

/// `receive_timeout(300 ms)` on an empty mailbox, its thread interrupted by a handled
/// signal (SIGUSR2, without SA_RESTART: mq_timedreceive fails with EINTR) every 100 ms,
/// each time once it is asleep, for at most 3 s: it must still give up at its deadline.
fn check_receive_timeout_interrupted() -> Result<(), String> {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, mpsc};
    let action = nix::sys::signal::SigAction::new(
        nix::sys::signal::SigHandler::Handler(interrupt),
        nix::sys::signal::SaFlags::empty(),
        nix::sys::signal::SigSet::empty(),
    );
    // SAFETY: the handler does nothing; SIGUSR2 is sent by this check to its own thread only.
    unsafe { nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGUSR2, &action) }
        .expect("install a SIGUSR2 handler");
    let names = Names::new("interrupted");
    let mailbox = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    let timeout = Duration::from_millis(300);
    let done = Arc::new(AtomicBool::new(false));
    let (tid_tx, tid_rx) = mpsc::channel();
    let (out_tx, out_rx) = mpsc::channel();
    let finished = Arc::clone(&done);
    std::thread::spawn(move || {
        let _ = tid_tx.send(nix::unistd::gettid());
        let started = Instant::now();
        let got = mailbox.receive_timeout(timeout);
        finished.store(true, Ordering::SeqCst);
        let _ = out_tx.send((got, started.elapsed()));
    });
    let tid = tid_rx.recv().expect("the receiving thread starts");
    let asleep = || common::thread_state(tid.as_raw()) == Some('S');
    let signals_until = Instant::now() + Duration::from_secs(3);
    let mut sent = 0;
    while !done.load(Ordering::SeqCst) && Instant::now() < signals_until {
        std::thread::sleep(Duration::from_millis(100));
        if asleep() {
            // SAFETY: tgkill only sends a signal to one thread of this process.
            unsafe {
                libc::syscall(
                    libc::SYS_tgkill,
                    libc::getpid(),
                    tid.as_raw(),
                    libc::SIGUSR2,
                )
            };
            sent += 1;
        }
    }
    let Ok((got, waited)) = out_rx.recv_timeout(Duration::from_secs(5)) else {
        return Err(format!(
            "receive_timeout(300 ms) on an empty mailbox did not return within 5 s after the \
             last of {sent} signals: an interrupted wait must go on only until the deadline"
        ));
    };
    if waited >= Duration::from_secs(3) {
        return Err(format!(
            "receive_timeout(300 ms) on an empty mailbox, interrupted by a signal every 100 \
             ms, was still waiting {} later ({sent} signals): each EINTR started a \
             fresh 300 ms. Compute the deadline once, before the loop, and retry \
             mq_timedreceive with that same moment. A deadline that moves.",
            ms(waited)
        ));
    }
    match got {
        Err(MailboxError::Timeout) if waited < timeout => Err(format!(
            "receive_timeout(300 ms) on an empty mailbox, interrupted by a signal every 100 ms, \
             returned Timeout after {}, before its deadline ({sent} signals sent): an \
             interrupted wait (EINTR) is not a timeout. Retry mq_timedreceive with the same \
             moment until it gives ETIMEDOUT. A wait cut short.",
            ms(waited)
        )),
        Err(MailboxError::Timeout) => Ok(()),
        other => Err(format!(
            "receive_timeout(300 ms) on an empty mailbox, interrupted by signals, returned {}, \
             not Timeout: a wait interrupted by a signal (EINTR) is retried until the deadline",
            text(&other)
        )),
    }
}

#[test]
fn receive_timeout_interrupted_by_signals_still_ends_at_its_deadline() {
    verdict(check_receive_timeout_interrupted());
}

/// What the racing checks need: the step's `Mailbox`, or an oracle's receiver.
trait Receiving: Send + Sync + 'static {
    /// Creates the queue `name` (2 messages of 16 bytes) and opens it.
    fn make(name: &str) -> Self;
    fn try_receive(&self) -> Result<Message, MailboxError>;
    fn receive(&self) -> Result<Message, MailboxError>;
    fn receive_timeout(&self, timeout: Duration) -> Result<Message, MailboxError>;
}

impl Receiving for Mailbox {
    fn make(name: &str) -> Self {
        Mailbox::create(name, 2, 16).expect("create a mailbox")
    }
    fn try_receive(&self) -> Result<Message, MailboxError> {
        Mailbox::try_receive(self)
    }
    fn receive(&self) -> Result<Message, MailboxError> {
        Mailbox::receive(self)
    }
    fn receive_timeout(&self, timeout: Duration) -> Result<Message, MailboxError> {
        Mailbox::receive_timeout(self, timeout)
    }
}

/// The queue `name` opened by the test itself, read and write, with `O_NONBLOCK`: another
/// receiver (or sender), as a second thread or process would be, that does not go through
/// the code under test.
fn other_end(name: &str) -> nix::mqueue::MqdT {
    use nix::mqueue::MQ_OFlag;
    nix::mqueue::mq_open(
        name,
        MQ_OFlag::O_RDWR | MQ_OFlag::O_NONBLOCK | MQ_OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
        None,
    )
    .expect("the test opens the mailbox itself")
}

/// Whether the thread `tid` sleeps in `mq_timedreceive` waiting for a message (not held at
/// the gate: a held call is pending there until received, and only this check receives).
fn sleeps_in_receive(tid: i32, gate: Option<&proctest::faults::Gate>) -> bool {
    common::thread_state(tid) == Some('S')
        && common::thread_blocked_in(tid).starts_with("mq_timedreceive")
        && !gate.is_some_and(|g| g.pending().unwrap_or(true))
}

/// Waits for the thread behind `gate` to reach `mq_timedreceive` (held there), letting its
/// other held calls go on: the held receive, and whether it looked at the queue's
/// attributes first (`mq_getattr`, as `pending()` does). `None` when it returned (`done`)
/// without receiving, or did not get there within the budget.
fn held_receive(
    gate: &proctest::faults::Gate,
    done: &std::sync::atomic::AtomicBool,
) -> Option<(proctest::faults::Held, bool)> {
    let started = Instant::now();
    let mut looked = false;
    loop {
        match gate.next(Duration::from_millis(10)) {
            Ok(Some(held)) if held.number == libc::SYS_mq_timedreceive => {
                return Some((held, looked));
            }
            Ok(Some(other)) => {
                // mq_getsetattr(mqd, new, old): no new attributes is a look.
                looked |= other.args[1] == 0;
                let _ = gate.release(other);
            }
            _ if done.load(Ordering::SeqCst) || started.elapsed() > common::BUDGET => {
                return None;
            }
            _ => {}
        }
    }
}

/// What the watched thread of the racing checks runs: it puts its `mq_timedreceive` and
/// `mq_getsetattr` calls behind a gate, hands the gate (and its id) to the controller, then
/// calls `try_receive` and says when it has returned.
fn held_try_receive<R: Receiving>(
    mailbox: std::sync::Arc<R>,
    gate_tx: std::sync::mpsc::Sender<(proctest::faults::Gate, i32)>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> impl FnOnce() -> Result<Message, MailboxError> + Send + 'static {
    move || {
        let gate =
            proctest::faults::hold_calls(&[libc::SYS_mq_timedreceive, libc::SYS_mq_getsetattr])
                .expect("a kernel with seccomp user notifications (Linux 5.5 or later)");
        let _ = gate_tx.send((gate, common::gettid()));
        let got = mailbox.try_receive();
        done.store(true, Ordering::SeqCst);
        got
    }
}

/// What a released `try_receive` did.
enum Then {
    /// It returned (`done` was set).
    Returned,
    /// It waited for a message in `mq_timedreceive`; the test sent one to end the wait.
    Waited,
}

/// After the held call was released: lets any later call of the same thread go on at once,
/// and waits until `try_receive` returns or sleeps waiting for a message (seen twice, 100
/// ms apart: a call given a deadline already past may sleep for an instant), then wakes it
/// with a message sent through `other`.
fn after_release(
    gate: &proctest::faults::Gate,
    tid: i32,
    done: &std::sync::atomic::AtomicBool,
    other: &nix::mqueue::MqdT,
) -> Then {
    let started = Instant::now();
    while started.elapsed() < common::BUDGET {
        if done.load(Ordering::SeqCst) {
            return Then::Returned;
        }
        while let Ok(Some(later)) = gate.next(Duration::ZERO) {
            let _ = gate.release(later);
        }
        if sleeps_in_receive(tid, Some(gate)) {
            std::thread::sleep(Duration::from_millis(100));
            if !done.load(Ordering::SeqCst) && sleeps_in_receive(tid, Some(gate)) {
                let _ = nix::mqueue::mq_send(other, b"sent by the test", 0);
                return Then::Waited;
            }
        }
        std::thread::yield_now();
    }
    Then::Returned
}

/// Whether descriptor `fd` of this process has `O_NONBLOCK`, in words.
fn blocking_words(fd: i32) -> &'static str {
    match common::fd_flags(fd) {
        Some(flags) if flags & libc::O_NONBLOCK != 0 => "with O_NONBLOCK",
        Some(_) => "without O_NONBLOCK",
        None => "(its flags could not be read)",
    }
}

/// `try_receive` with one message in the mailbox, its `mq_receive` held at the call's entry
/// (a seccomp gate on its thread) while the test takes that message through a descriptor of
/// its own, then let go on: another receiver took the message first, so the call must
/// answer Empty at once, not wait for the next one.
fn check_try_receive_raced<R: Receiving>() -> Result<(), String> {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, mpsc};
    let names = Names::new("raced");
    let mailbox = Arc::new(R::make(&names.0));
    let other = other_end(&names.0);
    nix::mqueue::mq_send(&other, b"only", 1).expect("the test sends the only message");
    let done = Arc::new(AtomicBool::new(false));
    let (gate_tx, gate_rx) = mpsc::channel();
    let finished = Arc::clone(&done);
    let controller = std::thread::spawn(move || {
        let (gate, tid): (proctest::faults::Gate, i32) = gate_rx.recv().ok()?;
        let (held, looked) = held_receive(&gate, &finished)?;
        let fd = i32::try_from(held.args[0]).unwrap_or(-1);
        let flags = blocking_words(fd);
        let mut buf = [0u8; 16];
        let mut priority = 0;
        let taken = nix::mqueue::mq_receive(&other, &mut buf, &mut priority).is_ok();
        let _ = gate.release(held);
        let then = after_release(&gate, tid, &finished, &other);
        Some((fd, flags, taken, looked, then))
    });
    let got = within(
        "try_receive() while another receiver takes the only message",
        "try_receive must not wait, even when another receiver took the message first: it \
         receives through the descriptor opened with O_NONBLOCK (EAGAIN is Empty).",
        held_try_receive(mailbox, gate_tx, done),
    )?;
    let Some((fd, flags, taken, looked, then)) =
        controller.join().expect("the controller never panics")
    else {
        return Err(format!(
            "try_receive() with one message in the mailbox returned {} without receiving it \
             (no mq_receive call): a message there must be received",
            text(&got)
        ));
    };
    assert!(
        taken,
        "the test takes the message through its own descriptor"
    );
    match then {
        Then::Waited => Err(format!(
            "try_receive() waited for a message. The test held its mq_receive at the call's \
             entry, took the only message through a descriptor of its own (another receiver, \
             as a second thread or process would be) and let the call go on: on fd {fd}, \
             {flags}, it waited for the next message (the test sent one to end the check), and \
             returned {}.{} Receive through the descriptor opened with O_NONBLOCK: EAGAIN there \
             is Empty. try_receive must never wait.",
            text(&got),
            if looked {
                " It looked first (mq_getattr, as pending() does) and saw the message, but \
                 another receiver can take it between the look and the receive."
            } else {
                ""
            }
        )),
        Then::Returned if got == Err(MailboxError::Empty) => Ok(()),
        Then::Returned => Err(format!(
            "try_receive() returned {} after another receiver took the only message: with \
             nothing left in the queue it is Empty (EAGAIN on the non-blocking descriptor)",
            text(&got)
        )),
    }
}

/// `receive_timeout(5 s)` with one message in the mailbox, its `mq_receive` (or
/// `mq_timedreceive`) held at the call's entry while the test takes that message through a
/// descriptor of its own, then let go on: another receiver was faster, and the queue is
/// empty again, with nearly all of the 5 s left. The call must go on waiting; once it
/// sleeps in the kernel (in any call), the test sends a message, which it must return.
fn check_receive_timeout_raced<R: Receiving>() -> Result<(), String> {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, mpsc};
    let names = Names::new("timed-raced");
    let mailbox = Arc::new(R::make(&names.0));
    let other = other_end(&names.0);
    nix::mqueue::mq_send(&other, b"only", 1).expect("the test sends the only message");
    let timeout = Duration::from_secs(5);
    let done = Arc::new(AtomicBool::new(false));
    let (gate_tx, gate_rx) = mpsc::channel();
    let finished = Arc::clone(&done);
    let controller = std::thread::spawn(move || {
        let (gate, tid): (proctest::faults::Gate, i32) = gate_rx.recv().ok()?;
        let (held, _) = held_receive(&gate, &finished)?;
        let mut buf = [0u8; 16];
        let mut priority = 0;
        let taken = nix::mqueue::mq_receive(&other, &mut buf, &mut priority).is_ok();
        let _ = gate.release(held);
        // Until the call returns, or sleeps in the kernel (mq_timedreceive, poll...), not
        // held at the gate: its later held calls go on at once.
        let started = Instant::now();
        let mut then = Then::Returned;
        while started.elapsed() < common::BUDGET && !finished.load(Ordering::SeqCst) {
            while let Ok(Some(later)) = gate.next(Duration::ZERO) {
                let _ = gate.release(later);
            }
            let asleep = proctest::Process::thread_of_self(tid)
                .is_some_and(|t| t.state == 'S' && t.blocked_in.is_some_and(|c| c.name != "futex"))
                && !gate.pending().unwrap_or(true);
            if asleep && !finished.load(Ordering::SeqCst) {
                let _ = nix::mqueue::mq_send(&other, b"sent by the test", 0);
                then = Then::Waited;
                break;
            }
            std::thread::yield_now();
        }
        // Let the call go on to its end.
        while !finished.load(Ordering::SeqCst) && started.elapsed() < common::BUDGET * 2 {
            if let Ok(Some(later)) = gate.next(Duration::from_millis(10)) {
                let _ = gate.release(later);
            }
        }
        Some((taken, then))
    });
    let (got, waited) = within(
        "receive_timeout(5 s) while another receiver takes the only message",
        "After another receiver took the message, the call waits for the next one only until \
         its deadline.",
        move || {
            let gate =
                proctest::faults::hold_calls(&[libc::SYS_mq_timedreceive, libc::SYS_mq_getsetattr])
                    .expect("a kernel with seccomp user notifications (Linux 5.5 or later)");
            let _ = gate_tx.send((gate, common::gettid()));
            let started = Instant::now();
            let got = mailbox.receive_timeout(timeout);
            done.store(true, Ordering::SeqCst);
            (got, started.elapsed())
        },
    )?;
    let Some((taken, then)) = controller.join().expect("the controller never panics") else {
        return Err(format!(
            "receive_timeout(5 s) with one message in the mailbox returned {} without receiving \
             it (no mq_receive call): a message there must be received",
            text(&got)
        ));
    };
    assert!(
        taken,
        "the test takes the message through its own descriptor"
    );
    match (then, &got) {
        (Then::Waited, Ok(m)) if m.body == b"sent by the test" => Ok(()),
        (Then::Returned, Err(MailboxError::Timeout)) if waited < timeout => Err(format!(
            "receive_timeout(5 s) returned Timeout after {}, before its deadline. The \
             test held its receive at the call's entry, took the only message through a \
             descriptor of its own (another receiver, as a second thread or process would be) \
             and let the call go on, which found the queue empty again (EAGAIN). That is not \
             \"no message came in time\": time was left. Wait again for what is left of the \
             deadline (mq_timedreceive on the blocking descriptor, with the same moment, does \
             it by itself). A wait cut short.",
            ms(waited)
        )),
        (Then::Returned, _) => Err(format!(
            "receive_timeout(5 s) returned {} after another receiver took the only message, \
             with time left: the queue was empty again, so it waits for the next message, until \
             its deadline",
            text(&got)
        )),
        (Then::Waited, _) => Err(format!(
            "receive_timeout(5 s), after another receiver took the only message, waited, and \
             when the test then sent \"sent by the test\" it returned {}",
            text(&got)
        )),
    }
}

#[test]
fn receive_timeout_waits_on_when_another_receiver_takes_the_message_first() {
    verdict(check_receive_timeout_raced::<Mailbox>());
}

#[test]
fn try_receive_never_waits_when_another_receiver_takes_the_message_first() {
    verdict(check_try_receive_raced::<Mailbox>());
}

/// `try_receive` on an empty mailbox, its `mq_receive` held at the call's entry; meanwhile
/// another thread calls `receive()`, which must wait for a message: `O_NONBLOCK` belongs to
/// an open queue description, and one call must never switch it for the others.
fn check_try_receive_leaves_the_flags_alone<R: Receiving>() -> Result<(), String> {
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, mpsc};
    let names = Names::new("flags");
    let mailbox = Arc::new(R::make(&names.0));
    let other = other_end(&names.0);
    let done = Arc::new(AtomicBool::new(false));
    let (gate_tx, gate_rx) = mpsc::channel();
    let (finished, shared) = (Arc::clone(&done), Arc::clone(&mailbox));
    // Keeps the mailbox open until the controller has read the flags after the call.
    let kept = Arc::clone(&mailbox);
    let controller = std::thread::spawn(move || {
        let _kept = kept;
        let (gate, tid): (proctest::faults::Gate, i32) = gate_rx.recv().ok()?;
        let started = Instant::now();
        let (held, _) = held_receive(&gate, &finished)?;
        let fd = i32::try_from(held.args[0]).unwrap_or(-1);
        let flags = blocking_words(fd);
        // Another thread receives while try_receive is inside its mq_receive.
        let (b_tx, b_rx) = mpsc::channel();
        let (b_tid_tx, b_tid_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = b_tid_tx.send(common::gettid());
            let _ = b_tx.send(shared.receive());
        });
        let b_tid = b_tid_rx.recv().ok()?;
        let early = loop {
            if let Ok(result) = b_rx.try_recv() {
                break Some(result);
            }
            if sleeps_in_receive(b_tid, None) || started.elapsed() > common::BUDGET {
                break None;
            }
            std::thread::yield_now();
        };
        let _ = gate.release(held);
        let then = after_release(&gate, tid, &finished, &other);
        let flags_after = blocking_words(fd);
        if early.is_none() {
            let _ = nix::mqueue::mq_send(&other, b"sent by the test", 0);
        }
        Some((fd, flags, flags_after, early, then))
    });
    let got = within(
        "try_receive() on an empty mailbox while another thread calls receive()",
        "try_receive must not wait: it receives through the descriptor opened with \
         O_NONBLOCK (EAGAIN is Empty).",
        held_try_receive(mailbox, gate_tx, done),
    )?;
    let Some((fd, flags, flags_after, early, then)) =
        controller.join().expect("the controller never panics")
    else {
        return Ok(()); // it answered without receiving: the empty-mailbox check judges that
    };
    if let Some(result) = early {
        let toggled = flags == "with O_NONBLOCK" && flags_after == "without O_NONBLOCK";
        return Err(format!(
            "receive() on an empty mailbox returned {} at once. Another thread was inside \
             try_receive() then: its mq_receive on fd {fd}, held there by the test, {flags}.{}",
            text(&result),
            if toggled {
                format!(
                    " Once try_receive returned, fd {fd} was {flags_after} again: try_receive \
                     switched O_NONBLOCK on for its call, on the queue description receive \
                     uses too. The flag belongs to the open queue (mq_setattr changes it for \
                     every thread that uses it): receive through the descriptor opened with \
                     O_NONBLOCK and never toggle a flag another call relies on."
                )
            } else {
                " receive() waits until a message comes (the blocking descriptor, opened \
                 without O_NONBLOCK)."
                    .to_owned()
            }
        ));
    }
    match then {
        Then::Returned if got == Err(MailboxError::Empty) => Ok(()),
        _ => Err(format!(
            "try_receive() on an empty mailbox returned {}{}: it must answer Empty at once \
             (EAGAIN on the descriptor opened with O_NONBLOCK)",
            text(&got),
            if matches!(then, Then::Waited) {
                " after waiting for a message (the test sent one to end the check)"
            } else {
                ""
            }
        )),
    }
}

#[test]
fn try_receive_leaves_the_blocking_calls_of_other_threads_blocking() {
    verdict(check_try_receive_leaves_the_flags_alone::<Mailbox>());
}

#[test]
fn the_owner_removes_the_queue_when_dropped_and_nobody_else_does() {
    let names = Names::new("owner");
    let owner = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    let other = Mailbox::open(&names.0).expect("open it");
    drop(other);
    assert!(
        mq_exists(&names.0),
        "\n{}",
        wrap(&format!(
            "dropping a mailbox that only opened {} removed the queue: only its owner (the \
             process that created it) removes it",
            names.0
        ))
    );
    drop(owner);
    assert!(
        !mq_exists(&names.0),
        "\n{}",
        wrap(&format!(
            "the queue {} still exists after its owner's Mailbox was dropped. A POSIX message \
             queue lives in the kernel, like a file, after every process that used it has \
             exited, until mq_unlink removes its name: the owner's Drop must unlink it (unless \
             `unlink` did already)",
            names.0
        ))
    );
    assert_eq!(
        Mailbox::open(&names.0).map(|_| ()),
        Err(MailboxError::NoSuchMailbox)
    );
}

#[test]
fn an_unlinked_queue_still_works_for_those_who_have_it_open() {
    let names = Names::new("unlinked");
    let mut owner = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    let other = Mailbox::open(&names.0).expect("open it");
    assert_eq!(
        Mailbox::create(&names.0, 2, 16).map(|_| ()),
        Err(MailboxError::Exists)
    );
    owner.unlink().expect("unlink");
    assert!(!mq_exists(&names.0), "unlink() left the name {}", names.0);
    other
        .send(b"still here", 1)
        .expect("send through an unlinked queue");
    assert_eq!(text(&owner.receive()), "\"still here\" (priority 1)");
    drop(owner);
    drop(other);
}

#[test]
fn a_name_unlinked_then_reused_is_left_to_its_new_queue() {
    let names = Names::new("reused");
    let mut first = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    first.unlink().expect("unlink");
    let second = Mailbox::create(&names.0, 2, 16)
        .expect("create a new mailbox under the name the first one unlinked");
    drop(first);
    assert!(
        mq_exists(&names.0),
        "\n{}",
        wrap(&format!(
            "dropping an owner's Mailbox after its unlink() removed a new queue of the same \
             name: {} was created again after unlink(), and the first owner's Drop removed it. \
             Once unlink() has removed the name, it is no longer this mailbox's (another \
             process may have made a queue of that name since). The owner's Drop calls \
             mq_unlink unless `unlink` did already: remember it (`unlinked`).",
            names.0
        ))
    );
    drop(second);
}

#[test]
fn a_name_someone_else_unlinked_is_not_unlinked_again_on_drop() {
    // The name is removed behind the owner's back; its unlink() then fails (ENOENT), and a
    // new queue takes the name. The name stopped being this mailbox's when it was removed:
    // whether its own unlink() succeeded or not, Drop must leave the new queue alone.
    let names = Names::new("taken");
    let mut first = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    nix::mqueue::mq_unlink(names.0.as_str()).expect("remove the name behind the owner's back");
    let failed = first.unlink();
    let second = Mailbox::create(&names.0, 2, 16)
        .expect("create a new mailbox under the name that was removed");
    drop(first);
    assert!(
        mq_exists(&names.0),
        "\n{}",
        wrap(&format!(
            "dropping an owner's Mailbox whose unlink() had failed removed a new queue of the \
             same name: {} was removed behind the owner's back, its unlink() then returned \
             {failed:?}, a new queue took the name, and the first owner's Drop removed it. Once \
             unlink() has been called, the name is not this mailbox's to remove any more, \
             whether it succeeded or found the name gone: remember the call (`unlinked`), not \
             only its success. A name unlinked twice.",
            names.0
        ))
    );
    drop(second);
}

// ---------------------------------------------------------------------------------------
// The demo: a parent and a child process.

const DEMO: &str = env!("CARGO_BIN_EXE_os_mailbox");

fn run(names: &Names, extra: &[&str]) -> proctest::Finished {
    let demo = Demo::new(DEMO).args(["--name", &names.0]).args(extra);
    common::run_demo(demo, |hang| {
        let in_receive = hang.snapshot.processes.iter().any(|p| {
            p.blocked_in
                .as_ref()
                .is_some_and(|s| s.name == "syscall 243" || s.name == "mq_timedreceive")
        });
        if in_receive {
            "A process of the demo waits in mq_receive on a mailbox that stays empty. The demo \
             only calls try_receive where nothing may be left: try_receive must not wait (use \
             the O_NONBLOCK descriptor, where EAGAIN means Empty)."
                .to_owned()
        } else {
            "The demo never finished.".to_owned()
        }
    })
    .unwrap_or_else(|m| panic!("\n{}", wrap(&m)))
}

fn left_behind(names: &Names) -> Vec<String> {
    names
        .variants()
        .into_iter()
        .filter(|n| mq_exists(n))
        .collect()
}

#[test]
fn parent_and_child_exchange_messages_by_priority() {
    let names = Names::new("demo");
    let run = run(&names, &[]);
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert!(
        run.code() == Some(0),
        "\n{}",
        wrap(&format!(
            "the os_mailbox demo failed:\n{}{}",
            run.stdout, run.stderr
        ))
    );
    assert_eq!(left_behind(&names), Vec::<String>::new());
    insta::assert_snapshot!("os_mailbox", run.stdout);
}

#[test]
fn the_kernel_keeps_the_messages_of_a_killed_child() {
    let names = Names::new("crash");
    let run = run(&names, &["--crash"]);
    assert!(
        run.code() == Some(0),
        "\n{}",
        wrap(&format!(
            "os_mailbox --crash failed:\n{}{}",
            run.stdout, run.stderr
        ))
    );
    assert_eq!(left_behind(&names), Vec::<String>::new());
    insta::assert_snapshot!("os_mailbox_crash", run.stdout);
}

#[test]
fn a_parent_that_returns_early_leaves_no_mailbox_behind() {
    let names = Names::new("early");
    let run = run(&names, &["--no-child"]);
    assert_eq!(
        run.code(),
        Some(1),
        "os_mailbox --no-child must fail:\n{}",
        run.stderr
    );
    let left = left_behind(&names);
    assert!(
        left.is_empty(),
        "\n{}",
        wrap(&format!(
            "the parent returned early (it could not start the child) and left {left:?} behind: \
             the mailboxes it created are dropped on that path, and the owner's Drop must remove \
             each queue's name (mq_unlink)"
        ))
    );
}

#[test]
fn a_parent_killed_after_the_child_attached_leaves_no_mailbox_behind() {
    let names = Names::new("killed");
    let run = run(&names, &["--kill-parent"]);
    assert_eq!(
        run.signal(),
        Some(libc::SIGKILL),
        "the parent kills itself:\n{}",
        run.stderr
    );
    assert_eq!(left_behind(&names), Vec::<String>::new());
}

#[test]
fn bad_arguments_are_usage_errors() {
    let names = Names::new("usage");
    for (args, problem) in [
        (&["--name"][..], "--name needs a value"),
        (&["--name", "no-slash"][..], "PREFIX must start with /"),
        (&["--crash", "--no-child"][..], "choose at most one of"),
        (&["--loud"][..], "unknown option \"--loud\""),
    ] {
        let run = common::run_demo(Demo::new(DEMO).args(args), |_| "stuck".to_owned())
            .unwrap_or_else(|m| panic!("{m}"));
        run.assert_usage_error(
            &format!("`os_mailbox {}`", args.join(" ")),
            &[
                problem,
                "os_mailbox [--name PREFIX]",
                "just check ipc/os_mailbox",
            ],
        );
    }
    drop(names);
}

mod oracles {
    //! Receivers written the plausible wrong ways, and a right one written differently, on
    //! the raw calls: the racing checks must fail the first two and pass the third.
    use super::*;
    use nix::mqueue::{MQ_OFlag, MqAttr, MqdT, mq_open, mq_receive, mq_timedreceive};
    use nix::sys::stat::Mode;

    /// The queue `name`, created, opened blocking (no `O_NONBLOCK`).
    fn blocking(name: &str) -> MqdT {
        let flags = MQ_OFlag::O_CREAT | MQ_OFlag::O_EXCL | MQ_OFlag::O_RDWR | MQ_OFlag::O_CLOEXEC;
        let attr = MqAttr::new(0, 2, 16, 0);
        mq_open(name, flags, Mode::S_IRUSR | Mode::S_IWUSR, Some(&attr)).expect("mq_open")
    }

    /// What a `try_receive` returns for what its call gave: EAGAIN and ETIMEDOUT are Empty.
    fn received(got: nix::Result<(Vec<u8>, u32)>) -> Result<Message, MailboxError> {
        match got {
            Ok((body, priority)) => Ok(Message { body, priority }),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::ETIMEDOUT) => {
                Err(MailboxError::Empty)
            }
            Err(e) => Err(MailboxError::Sys(e)),
        }
    }

    fn receive_on(mqd: &MqdT) -> nix::Result<(Vec<u8>, u32)> {
        let mut buf = vec![0u8; 16];
        let mut priority = 0;
        let n = mq_receive(mqd, &mut buf, &mut priority)?;
        buf.truncate(n);
        Ok((buf, priority))
    }

    /// The reference's way: `mq_timedreceive` on the blocking descriptor, with one moment
    /// on CLOCK_REALTIME, retried on EINTR.
    fn timed_on(mqd: &MqdT, timeout: Duration) -> Result<Message, MailboxError> {
        let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME)
            .map_err(MailboxError::Sys)?;
        let deadline = now + nix::sys::time::TimeSpec::from_duration(timeout);
        let mut buf = vec![0u8; 16];
        let mut priority = 0;
        loop {
            match mq_timedreceive(mqd, &mut buf, &mut priority, &deadline) {
                Ok(n) => {
                    buf.truncate(n);
                    return Ok(Message {
                        body: buf,
                        priority,
                    });
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(nix::errno::Errno::ETIMEDOUT) => return Err(MailboxError::Timeout),
                Err(e) => return Err(MailboxError::Sys(e)),
            }
        }
    }

    /// Waits with `poll` on a descriptor opened with `O_NONBLOCK`, then receives there;
    /// `give_up` says whether EAGAIN (someone took the message meanwhile) is a Timeout.
    struct PollThenTake {
        mqd: MqdT,
        give_up: bool,
    }

    impl PollThenTake {
        fn make_with(name: &str, give_up: bool) -> Self {
            let _creator = blocking(name);
            let mqd = mq_open(
                name,
                MQ_OFlag::O_RDWR | MQ_OFlag::O_NONBLOCK | MQ_OFlag::O_CLOEXEC,
                Mode::empty(),
                None,
            )
            .expect("mq_open");
            Self { mqd, give_up }
        }
    }

    /// Wrong: EAGAIN after the poll is taken for a Timeout.
    struct PollThenGiveUp(PollThenTake);
    /// Right: EAGAIN after the poll waits again, for what is left.
    struct PollAgain(PollThenTake);

    impl PollThenTake {
        fn receive_timeout(&self, timeout: Duration) -> Result<Message, MailboxError> {
            use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
            use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
            let deadline = Instant::now() + timeout;
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let ms = PollTimeout::try_from(left.as_nanos().div_ceil(1_000_000))
                    .unwrap_or(PollTimeout::MAX);
                // SAFETY: the queue's descriptor stays open for this call (self owns it).
                let fd = unsafe { BorrowedFd::borrow_raw(self.mqd.as_raw_fd()) };
                let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, ms) {
                    Ok(0) if Instant::now() >= deadline => return Err(MailboxError::Timeout),
                    Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
                    Ok(_) => {}
                    Err(e) => return Err(MailboxError::Sys(e)),
                }
                match receive_on(&self.mqd) {
                    Ok((body, priority)) => return Ok(Message { body, priority }),
                    Err(nix::errno::Errno::EAGAIN) if self.give_up => {
                        return Err(MailboxError::Timeout);
                    }
                    Err(nix::errno::Errno::EAGAIN) => {}
                    Err(e) => return Err(MailboxError::Sys(e)),
                }
            }
        }
    }

    impl Receiving for PollThenGiveUp {
        fn make(name: &str) -> Self {
            Self(PollThenTake::make_with(name, true))
        }
        fn try_receive(&self) -> Result<Message, MailboxError> {
            received(receive_on(&self.0.mqd))
        }
        fn receive(&self) -> Result<Message, MailboxError> {
            self.0.receive_timeout(Duration::from_secs(3600))
        }
        fn receive_timeout(&self, timeout: Duration) -> Result<Message, MailboxError> {
            self.0.receive_timeout(timeout)
        }
    }

    impl Receiving for PollAgain {
        fn make(name: &str) -> Self {
            Self(PollThenTake::make_with(name, false))
        }
        fn try_receive(&self) -> Result<Message, MailboxError> {
            received(receive_on(&self.0.mqd))
        }
        fn receive(&self) -> Result<Message, MailboxError> {
            self.0.receive_timeout(Duration::from_secs(3600))
        }
        fn receive_timeout(&self, timeout: Duration) -> Result<Message, MailboxError> {
            self.0.receive_timeout(timeout)
        }
    }

    #[test]
    fn eagain_after_a_poll_taken_for_a_timeout_is_told_time_was_left() {
        let m = check_receive_timeout_raced::<PollThenGiveUp>()
            .err()
            .unwrap_or_default();
        assert!(
            m.starts_with("receive_timeout(5 s) returned Timeout after"),
            "{m}"
        );
        assert!(m.ends_with("A wait cut short."), "{m}");
        assert_eq!(
            check_receive_timeout_raced::<PollAgain>()
                .err()
                .unwrap_or_default(),
            ""
        );
        assert_eq!(
            check_receive_timeout_raced::<PastDeadline>()
                .err()
                .unwrap_or_default(),
            ""
        );
    }

    /// Looks (`mq_getattr`), then receives on the blocking descriptor.
    struct LookThenReceive(MqdT);

    impl Receiving for LookThenReceive {
        fn make(name: &str) -> Self {
            Self(blocking(name))
        }
        fn try_receive(&self) -> Result<Message, MailboxError> {
            if nix::mqueue::mq_getattr(&self.0)
                .map_err(MailboxError::Sys)?
                .curmsgs()
                == 0
            {
                return Err(MailboxError::Empty);
            }
            received(receive_on(&self.0))
        }
        fn receive(&self) -> Result<Message, MailboxError> {
            receive_on(&self.0)
                .map(|(body, priority)| Message { body, priority })
                .map_err(MailboxError::Sys)
        }
        fn receive_timeout(&self, timeout: Duration) -> Result<Message, MailboxError> {
            timed_on(&self.0, timeout)
        }
    }

    /// Switches `O_NONBLOCK` on for its call, on the one descriptor it has.
    struct ToggleFlag(MqdT);

    impl Receiving for ToggleFlag {
        fn make(name: &str) -> Self {
            Self(blocking(name))
        }
        fn try_receive(&self) -> Result<Message, MailboxError> {
            nix::mqueue::mq_set_nonblock(&self.0).map_err(MailboxError::Sys)?;
            let got = receive_on(&self.0);
            let _ = nix::mqueue::mq_remove_nonblock(&self.0);
            received(got)
        }
        fn receive(&self) -> Result<Message, MailboxError> {
            receive_on(&self.0)
                .map(|(body, priority)| Message { body, priority })
                .map_err(MailboxError::Sys)
        }
        fn receive_timeout(&self, timeout: Duration) -> Result<Message, MailboxError> {
            timed_on(&self.0, timeout)
        }
    }

    /// Right, written differently: one blocking descriptor, and `try_receive` gives
    /// `mq_timedreceive` a moment already past (ETIMEDOUT at once on an empty queue).
    struct PastDeadline(MqdT);

    impl Receiving for PastDeadline {
        fn make(name: &str) -> Self {
            Self(blocking(name))
        }
        fn try_receive(&self) -> Result<Message, MailboxError> {
            let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_REALTIME)
                .map_err(MailboxError::Sys)?;
            let mut buf = vec![0u8; 16];
            let mut priority = 0;
            let got = mq_timedreceive(&self.0, &mut buf, &mut priority, &now).map(|n| {
                buf.truncate(n);
                (buf, priority)
            });
            received(got)
        }
        fn receive(&self) -> Result<Message, MailboxError> {
            receive_on(&self.0)
                .map(|(body, priority)| Message { body, priority })
                .map_err(MailboxError::Sys)
        }
        fn receive_timeout(&self, timeout: Duration) -> Result<Message, MailboxError> {
            timed_on(&self.0, timeout)
        }
    }

    #[test]
    fn a_look_then_a_blocking_receive_is_told_it_waited() {
        let m = check_try_receive_raced::<LookThenReceive>()
            .err()
            .unwrap_or_default();
        assert!(m.starts_with("try_receive() waited for a message."), "{m}");
        assert!(m.contains("without O_NONBLOCK"), "{m}");
        assert!(m.contains("It looked first (mq_getattr"), "{m}");
    }

    #[test]
    fn a_flag_switched_for_one_call_is_named() {
        let m = check_try_receive_leaves_the_flags_alone::<ToggleFlag>()
            .err()
            .unwrap_or_default();
        assert!(
            m.contains("receive() on an empty mailbox returned Sys(EAGAIN) at once"),
            "{m}"
        );
        assert!(
            m.contains("try_receive switched O_NONBLOCK on for its call"),
            "{m}"
        );
    }

    #[test]
    fn a_deadline_already_past_is_right_too() {
        assert_eq!(
            check_try_receive_raced::<PastDeadline>()
                .err()
                .unwrap_or_default(),
            ""
        );
        assert_eq!(
            check_try_receive_leaves_the_flags_alone::<PastDeadline>()
                .err()
                .unwrap_or_default(),
            ""
        );
    }
}
