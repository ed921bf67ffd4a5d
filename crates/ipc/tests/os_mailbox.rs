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

fn check_receive_timeout() -> Result<(), String> {
    let names = Names::new("timeout");
    let mailbox = Mailbox::create(&names.0, 2, 16).expect("create a mailbox");
    let timeout = Duration::from_millis(200);
    let (got, waited, mailbox) = within(
        "receive_timeout(200 ms) on an empty mailbox",
        "It must give up at its deadline: now + 200 ms on CLOCK_REALTIME, as a TimeSpec.",
        move || {
            let started = Instant::now();
            let got = mailbox.receive_timeout(timeout);
            (got, started.elapsed(), mailbox)
        },
    )?;
    match got {
        Err(MailboxError::Timeout) if waited >= timeout => {}
        Err(MailboxError::Timeout) => {
            return Err(format!(
                "receive_timeout(200 ms) on an empty mailbox gave up after {waited:?}, before its \
                 deadline. mq_timedreceive takes the moment to give up at, a time of day on \
                 CLOCK_REALTIME (clock_gettime + the timeout), not a duration: 200 ms as a moment \
                 is January 1st 1970, long past, so it gives up at once"
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
                "receive_timeout(200 ms) on an empty mailbox returned {}, not Timeout{carry}",
                text(&other)
            ));
        }
    }
    mailbox.send(b"late", 2).expect("send");
    // A timeout of 999999999 ns: now + timeout carries into the seconds on nearly every
    // call, and the kernel checks the moment even when a message is there.
    let got = mailbox.receive_timeout(Duration::from_nanos(999_999_999));
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
    let asleep = || {
        std::fs::read_to_string(format!("/proc/self/task/{tid}/stat"))
            .ok()
            .and_then(|stat| {
                let state = stat[stat.rfind(')')? + 1..].trim_start().chars().next()?;
                Some(state == 'S')
            })
            .unwrap_or(false)
    };
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
             ms, was still waiting {waited:?} later ({sent} signals): each EINTR started a \
             fresh 300 ms. Compute the deadline once, before the loop, and retry \
             mq_timedreceive with that same moment. A deadline that moves."
        ));
    }
    match got {
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
