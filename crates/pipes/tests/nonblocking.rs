//! Checks `pipes/nonblocking`: EAGAIN on the empty pipe, poll, then the data, then end
//! of file.

mod common;

use common::{assert_clean, assert_usage_error};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd::{pipe, write};
use pipes::nonblocking::{ReadNow, read_now, set_nonblocking, wait_readable};
use proctest::cpu::busy_wait_or_yield;
use proctest::{Call, Demo, Finished, within, wrap};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn nonblocking(args: &[&str]) -> Finished {
    let demo = Demo::new(env!("CARGO_BIN_EXE_nonblocking")).args(args);
    match demo.timeout(common::WATCHDOG).run() {
        Ok(finished) => finished,
        Err(hang) => {
            let parent = common::leader(&hang.snapshot);
            let stuck_reader = hang.blocked_in("read").find(|p| {
                Some(p.pid) == parent && p.blocked_on_fd().and_then(|fd| fd.pipe_inode()).is_some()
            });
            let diagnosis = match stuck_reader {
                Some(p) => format!(
                    "the parent (pid {}) is blocked in read() on the empty pipe (fd {}): a read on a \
                     descriptor in non-blocking mode never blocks, it fails at once with EAGAIN. \
                     `set_nonblocking` must add O_NONBLOCK to the read end's flags \
                     (fcntl F_GETFL, then F_SETFL). The writer is waiting for the parent's \
                     go-ahead, which comes only after that EAGAIN. Not non-blocking.",
                    p.pid,
                    p.blocked_in.as_ref().and_then(|s| s.fd).unwrap_or(-1)
                ),
                None => "the demo never finished: what each process was doing is above. Stuck."
                    .to_owned(),
            };
            panic!("{}", proctest::verdict(&hang, &diagnosis))
        }
    }
}

#[test]
fn would_block_then_poll_then_data_then_end_of_file() {
    let run = nonblocking(&[]);
    assert!(
        run.stdout
            .starts_with("1. read() on the empty pipe: would block (EAGAIN): the pipe is empty\n"),
        "the first read must come back at once with EAGAIN, as `ReadNow::WouldBlock`; got:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let last = run
        .stdout
        .lines()
        .find(|l| l.starts_with("4. "))
        .unwrap_or("");
    if !last.contains("end of file") {
        let said = last.split_once(": ").map_or(last, |(_, said)| said);
        let why = format!(
            "after the writer exited, read_now said `{said}`: read() returned 0, which means \
             end of file (no write end is open any more, nothing will ever come), not \"try \
             again later\". Map Ok(0) to ReadNow::EndOfFile; only EAGAIN is WouldBlock. End of \
             file missed."
        );
        let evidence = format!("`nonblocking` printed:\n{}", run.stdout.trim_end());
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    insta::assert_snapshot!("nonblocking", run.stdout);
    assert_clean(&run);
}

#[test]
fn arguments_are_a_usage_error() {
    let run = nonblocking(&["3"]);
    assert_usage_error(&run, "this demo takes no argument");
}

// The functions themselves, called in the test process on pipes it makes (no fork), each
// under a watchdog. Each check takes the function to check, so that the oracle tests
// below can show it a wrong one.

type SetNonblocking = fn(BorrowedFd<'_>) -> nix::Result<()>;
type WaitReadable = fn(BorrowedFd<'_>) -> nix::Result<()>;

/// How long a call may take before the watchdog reports it: a correct one returns at
/// once, or as soon as the writer has done its work.
const BUDGET: Duration = Duration::from_secs(5);

/// The CPU work a writer thread does before it writes (or closes): what wait_readable
/// waits for.
const WRITER_WORK: Duration = Duration::from_millis(200);

fn status_flags(fd: BorrowedFd<'_>) -> OFlag {
    OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL).expect("F_GETFL on a pipe"))
}

/// Checks `set` on the read end of a pipe that already has O_APPEND among its status
/// flags: afterwards both O_NONBLOCK and O_APPEND must be set, also after a second call.
fn check_set_nonblocking(set: SetNonblocking) -> Result<(), String> {
    let (read_end, _write_end) = pipe().expect("a pipe");
    fcntl(&read_end, FcntlArg::F_SETFL(OFlag::O_APPEND)).expect("O_APPEND on a pipe");
    let done = within(BUDGET, "set_nonblocking", move || {
        let first = set(read_end.as_fd());
        let after_first = status_flags(read_end.as_fd());
        // Once more, on a descriptor that is already non-blocking: it must stay so.
        let second = set(read_end.as_fd());
        (first.and(second), after_first, read_end)
    })
    .map_err(|stuck| stuck.to_string())?;
    let (result, after_first, read_end) = done.value;
    result.map_err(|err| format!("set_nonblocking failed: {err}"))?;
    let flags = status_flags(read_end.as_fd());
    if after_first.contains(OFlag::O_NONBLOCK) && !flags.contains(OFlag::O_NONBLOCK) {
        return Err(wrap(
            "set_nonblocking, called on a descriptor already in non-blocking mode, turned \
             O_NONBLOCK off: add the flag to the ones read with F_GETFL (flags | O_NONBLOCK), \
             never toggle it. Not non-blocking.",
            98,
        ));
    }
    if !flags.contains(OFlag::O_NONBLOCK) {
        return Err(wrap(
            "after set_nonblocking, the descriptor's status flags (F_GETFL) lack O_NONBLOCK: \
             reads on it still block. Not non-blocking.",
            98,
        ));
    }
    if !flags.contains(OFlag::O_APPEND) {
        return Err(wrap(
            "set_nonblocking dropped O_APPEND, a status flag the descriptor already had: \
             F_SETFL replaces all the status flags, so read them first with F_GETFL and add \
             O_NONBLOCK to them. Other flags lost.",
            98,
        ));
    }
    Ok(())
}

/// Checks `wait` on the read end of a pipe while another thread computes for
/// [`WRITER_WORK`] and then writes a byte (`close_only`: closes its end instead): `wait`
/// must not return before, and must sleep meanwhile.
fn check_wait_readable(wait: WaitReadable, close_only: bool) -> Result<(), String> {
    let (read_end, write_end) = pipe().expect("a pipe");
    let writer = std::thread::spawn(move || {
        proctest::cpu::work(WRITER_WORK);
        if !close_only {
            write(&write_end, b"x").expect("write to the pipe");
            // Keep the write end open: the data alone must wake the reader.
            return Some(write_end);
        }
        None
    });
    let what = if close_only {
        "wait_readable, on a pipe whose writer closes it after 0.2 s of CPU work,"
    } else {
        "wait_readable, on a pipe the writer fills after 0.2 s of CPU work,"
    };
    // The call looks at the pipe as soon as it returns: the writer has done its part only
    // if the call really waited for it.
    let call = Call::start(what, move || {
        let result = wait(read_end.as_fd());
        let mut ready = [PollFd::new(read_end.as_fd(), PollFlags::POLLIN)];
        let readable = poll(&mut ready, PollTimeout::ZERO).is_ok_and(|n| n > 0);
        (result, readable, read_end)
    });
    // The budget starts once the writer is done: on a busy machine its work takes long.
    let writer_end = writer.join().expect("the writer thread");
    let waited = call.finish(BUDGET);
    let done = match waited {
        Ok(done) => done,
        Err(stuck) => {
            let why = if stuck.spinning() {
                " It keeps going round without sleeping: poll() reports POLLHUP, not \
                 POLLIN, once every writer is gone, and that too means \"read now\" (a read \
                 returns end of file). Never returned."
            } else {
                " It never woke up: poll() on POLLIN returns when data arrives or every \
                 writer is gone (POLLHUP). Never returned."
            };
            return Err(wrap(&format!("{stuck}.{why}"), 98));
        }
    };
    let (result, readable, _read_end) = done.value;
    drop(writer_end);
    result.map_err(|err| format!("wait_readable failed: {err}"))?;
    if !readable {
        return Err(wrap(
            "wait_readable returned while the pipe was still empty and its writer still \
             open: a read now would fail with EAGAIN. It must block until the pipe is \
             readable (poll with no timeout). Returned too early.",
            98,
        ));
    }
    if let Some(spin) = busy_wait_or_yield(done.cpu, done.preempted, WRITER_WORK, done.wall) {
        return Err(spin.explain(
            "wait_readable",
            "the writer computed",
            "poll() with no timeout sleeps in the kernel until the pipe is readable; a loop \
             of zero-timeout polls, or of reads that fail with EAGAIN, never sleeps.",
        ));
    }
    Ok(())
}

#[test]
fn set_nonblocking_adds_o_nonblock_and_keeps_the_other_flags() {
    check_set_nonblocking(set_nonblocking).unwrap_or_else(|why| panic!("{why}"));
}

#[test]
fn read_now_answers_without_blocking() {
    let (read_end, write_end) = pipe().expect("a pipe");
    fcntl(&read_end, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("O_NONBLOCK");
    let done = within(BUDGET, "read_now on an empty pipe", move || {
        let mut buf = [0u8; 16];
        let empty = read_now(read_end.as_fd(), &mut buf);
        write(&write_end, b"abc").expect("write");
        let data = read_now(read_end.as_fd(), &mut buf);
        drop(write_end);
        let end = read_now(read_end.as_fd(), &mut buf);
        (empty, data, end)
    })
    .unwrap_or_else(|stuck| panic!("{stuck}: a read on a non-blocking descriptor never blocks"));
    let (empty, data, end) = done.value;
    assert_eq!(
        empty,
        Ok(ReadNow::WouldBlock),
        "an empty pipe whose writer is still open: EAGAIN, which is the answer WouldBlock"
    );
    assert_eq!(data, Ok(ReadNow::Data(3)), "3 bytes were waiting");
    assert_eq!(
        end,
        Ok(ReadNow::EndOfFile),
        "an empty pipe with no writer left: end of file"
    );
}

#[test]
fn read_now_returns_the_errors_of_read() {
    // read() on the write end of a pipe fails with EBADF (not open for reading): an error,
    // which says nothing about whether data may come.
    let (_read_end, write_end) = pipe().expect("a pipe");
    fcntl(&write_end, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("O_NONBLOCK");
    let done = within(BUDGET, "read_now on the write end of a pipe", move || {
        let mut buf = [0u8; 16];
        (read_now(write_end.as_fd(), &mut buf), write_end)
    })
    .unwrap_or_else(|stuck| panic!("{stuck}: a read on a non-blocking descriptor never blocks"));
    let (got, _write_end) = done.value;
    if got != Err(nix::errno::Errno::EBADF) {
        let why = format!(
            "read_now, given the write end of a pipe, where read() fails with EBADF (the \
             descriptor is not open for reading), answered {got:?}. Only EAGAIN means \
             \"empty, try later\" (WouldBlock), and only 0 bytes means end of file; its doc \
             says any other error of read is returned as it is. An error taken for an answer."
        );
        panic!("{}", wrap(&why, 98));
    }
}

/// Waits (at most `budget`, a watchdog: nothing else happens meanwhile) until `done()`
/// holds; false if it never does.
fn until(budget: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < budget {
        if done() {
            return true;
        }
        std::thread::yield_now();
    }
    false
}

/// Checks that `wait` waits again when a signal handler interrupts it: SIGUSR2, handled
/// without SA_RESTART, is sent to its thread once it sleeps in the kernel, so that
/// `poll` fails with EINTR; a byte is written only after the handler has run.
fn check_resumes_after_eintr(wait: WaitReadable) -> Result<(), String> {
    // One at a time: the signal's handler counts deliveries for the whole process.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (read_end, write_end) = pipe().expect("a pipe");
    let returned = std::sync::Arc::new(AtomicBool::new(false));
    let call = Call::start("wait_readable, interrupted by a signal while it waits,", {
        let returned = std::sync::Arc::clone(&returned);
        move || {
            let result = wait(read_end.as_fd());
            returned.store(true, Ordering::SeqCst);
            (result, readable_now(read_end.as_fd()), read_end)
        }
    });
    let tid = call.tid();
    if call.interrupt(BUDGET).is_some() {
        // The handler has run, so the interrupted call is over: the wait either sleeps in
        // a new one or has returned. The byte comes only then.
        until(BUDGET, || returned.load(Ordering::SeqCst) || blocked(tid));
    }
    write(&write_end, b"x").expect("write to the pipe");
    let done = call
        .finish(BUDGET)
        .map_err(|stuck| wrap(&format!("{stuck}. Never returned."), 98))?;
    match done.value.0 {
        Ok(()) if !done.value.1 => Err(wrap(
            "wait_readable returned Ok(()) when a signal handler interrupted its poll(), while \
             the pipe was still empty and its writer open: a read now would fail with EAGAIN. \
             poll() failing with EINTR says only that the wait was interrupted, nothing about \
             the pipe. Its doc says it retries: call poll() again when it fails with EINTR. An \
             interrupted wait taken for readiness.",
            98,
        )),
        Ok(()) => Ok(()),
        Err(nix::errno::Errno::EINTR) => Err(wrap(
            "wait_readable returned EINTR: a signal handler ran while it waited in poll(), \
             and poll() failed with EINTR, which only says that the wait was interrupted, not \
             that anything is wrong with the pipe. Its doc says it retries: call poll() again \
             when it fails with EINTR. Interrupted wait not resumed.",
            98,
        )),
        Err(err) => Err(format!("wait_readable failed: {err}")),
    }
}

/// Whether the thread `tid` of this process sleeps in a system call.
fn blocked(tid: i32) -> bool {
    proctest::Process::thread_of_self(tid).is_some_and(|t| t.state == 'S' && t.blocked_in.is_some())
}

/// The system call the thread `tid` sleeps in, with how many times it has gone to sleep
/// so far (its voluntary context switches): a new sleep counts one more.
fn sleep_of(tid: i32) -> Option<(proctest::Syscall, u64)> {
    let thread = proctest::Process::thread_of_self(tid)?;
    let call = thread.blocked_in.filter(|_| thread.state == 'S')?;
    let status = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
    let switches = status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))?
        .trim()
        .parse()
        .ok()?;
    Some((call, switches))
}

/// Whether `fd` is readable right now.
fn readable_now(fd: BorrowedFd<'_>) -> bool {
    let mut ready = [PollFd::new(fd, PollFlags::POLLIN)];
    poll(&mut ready, PollTimeout::ZERO).is_ok_and(|n| n > 0)
}

/// Checks that `wait`, if it sleeps in a call with a timeout of its own, goes on waiting
/// when that timeout runs out: nothing is written until it has either gone to sleep again
/// or returned.
fn check_waits_past_its_own_timeout(wait: WaitReadable) -> Result<(), String> {
    let (read_end, write_end) = pipe().expect("a pipe");
    let returned = std::sync::Arc::new(AtomicBool::new(false));
    let call = Call::start("wait_readable, on a pipe nobody writes to yet,", {
        let returned = std::sync::Arc::clone(&returned);
        move || {
            let result = wait(read_end.as_fd());
            returned.store(true, Ordering::SeqCst);
            (result, readable_now(read_end.as_fd()), read_end)
        }
    });
    let tid = call.tid();
    let mut first = None;
    until(BUDGET, || {
        first = sleep_of(tid);
        first.is_some() || returned.load(Ordering::SeqCst)
    });
    let timed = first.filter(|(call, _)| call.has_timeout());
    if let Some((_, slept)) = &timed {
        // A watchdog only: the outcome is what the thread does once its timeout is over.
        until(BUDGET * 2, || {
            returned.load(Ordering::SeqCst) || sleep_of(tid).is_some_and(|(_, now)| now > *slept)
        });
    }
    write(&write_end, b"x").expect("write to the pipe");
    let done = call
        .finish(BUDGET)
        .map_err(|stuck| wrap(&format!("{stuck}. Never returned."), 98))?;
    let (result, readable, _read_end) = done.value;
    result.map_err(|err| format!("wait_readable failed: {err}"))?;
    if !readable {
        let Some((call, _)) = timed else {
            return Err(wrap(
                "wait_readable returned while the pipe was still empty and its writer still \
                 open: a read now would fail with EAGAIN. It must block until the pipe is \
                 readable (poll with no timeout). Returned too early.",
                98,
            ));
        };
        let name = call.name;
        return Err(wrap(
            &format!(
                "wait_readable slept in {name}() with a timeout of its own, and returned Ok(()) \
                 once that timeout ran out, while the pipe was still empty and its writer open: \
                 a read now would fail with EAGAIN. Its doc says it blocks until the pipe is \
                 readable: poll with no timeout (PollTimeout::NONE), or poll again when a \
                 timeout expires with nothing ready. Gave up waiting."
            ),
            98,
        ));
    }
    Ok(())
}

#[test]
fn wait_readable_waits_past_a_timeout_of_its_own() {
    check_waits_past_its_own_timeout(wait_readable).unwrap_or_else(|why| panic!("{why}"));
}

#[test]
fn oracle_a_wait_that_gives_up_after_its_timeout_is_rejected() {
    fn gives_up(fd: BorrowedFd<'_>) -> nix::Result<()> {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::from(50u8)).map(drop)
    }
    fn polls_again(fd: BorrowedFd<'_>) -> nix::Result<()> {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        while poll(&mut fds, PollTimeout::from(50u8))? == 0 {}
        Ok(())
    }
    let why = check_waits_past_its_own_timeout(gives_up).expect_err("rejected");
    assert!(flat(&why).ends_with("Gave up waiting."), "{why}");
    check_waits_past_its_own_timeout(polls_again).unwrap_or_else(|why| panic!("{why}"));
}

#[test]
fn oracle_a_wait_that_takes_eintr_for_readiness_is_rejected() {
    fn takes_eintr(fd: BorrowedFd<'_>) -> nix::Result<()> {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => Ok(()),
            other => other.map(drop),
        }
    }
    let why = check_resumes_after_eintr(takes_eintr).expect_err("rejected");
    assert!(
        flat(&why).ends_with("An interrupted wait taken for readiness."),
        "{why}"
    );
}

#[test]
fn wait_readable_waits_again_after_a_signal() {
    check_resumes_after_eintr(wait_readable).unwrap_or_else(|why| panic!("{why}"));
}

#[test]
fn oracle_a_wait_that_gives_up_on_eintr_is_rejected() {
    fn gives_up(fd: BorrowedFd<'_>) -> nix::Result<()> {
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::NONE).map(|_| ())
    }
    let why = check_resumes_after_eintr(gives_up).expect_err("the check must reject it");
    assert!(
        flat(&why).contains("Interrupted wait not resumed."),
        "{why}"
    );
}

#[test]
fn wait_readable_sleeps_until_data_arrives() {
    check_wait_readable(wait_readable, false).unwrap_or_else(|why| panic!("{why}"));
}

#[test]
fn wait_readable_returns_when_every_writer_is_gone() {
    check_wait_readable(wait_readable, true).unwrap_or_else(|why| panic!("{why}"));
}

// Oracles: wrong solutions written here, which the checks above must reject, each for
// its own reason.

/// Set once an oracle's verdict is in, so that a wrong loop that never ends stops
/// spinning in the test process.
static ORACLE_DONE: AtomicBool = AtomicBool::new(false);

/// `text` on one line, as a student reads it (the checks wrap their messages).
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn wrong_set_replaces_the_flags(fd: BorrowedFd<'_>) -> nix::Result<()> {
    fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).map(drop)
}

fn wrong_wait_polls_with_a_zero_timeout(fd: BorrowedFd<'_>) -> nix::Result<()> {
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    while poll(&mut fds, PollTimeout::ZERO)? == 0 {}
    Ok(())
}

fn wrong_wait_ignores_pollhup(fd: BorrowedFd<'_>) -> nix::Result<()> {
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    while !ORACLE_DONE.load(Ordering::SeqCst) {
        poll(&mut fds, PollTimeout::NONE)?;
        if fds[0]
            .revents()
            .is_some_and(|r| r.contains(PollFlags::POLLIN))
        {
            return Ok(());
        }
    }
    Ok(())
}

fn wrong_wait_does_not_wait(_fd: BorrowedFd<'_>) -> nix::Result<()> {
    Ok(())
}

#[test]
fn oracle_f_setfl_without_f_getfl_loses_the_other_flags() {
    let why = check_set_nonblocking(wrong_set_replaces_the_flags).expect_err("rejected");
    assert!(flat(&why).ends_with("Other flags lost."), "{why}");
}

#[test]
fn oracle_a_zero_timeout_poll_loop_is_a_busy_wait() {
    let why =
        check_wait_readable(wrong_wait_polls_with_a_zero_timeout, false).expect_err("rejected");
    assert!(flat(&why).ends_with("Busy-waiting."), "{why}");
}

#[test]
fn oracle_a_wait_that_ignores_pollhup_never_returns() {
    let why = check_wait_readable(wrong_wait_ignores_pollhup, true).expect_err("rejected");
    ORACLE_DONE.store(true, Ordering::SeqCst);
    assert!(flat(&why).contains("POLLHUP, not POLLIN"), "{why}");
    assert!(flat(&why).ends_with("Never returned."), "{why}");
}

#[test]
fn oracle_a_wait_that_does_not_wait_returns_too_early() {
    let why = check_wait_readable(wrong_wait_does_not_wait, false).expect_err("rejected");
    assert!(flat(&why).ends_with("Returned too early."), "{why}");
}

// Correct alternatives, which the checks must accept however they are written.

fn alternative_set_with_insert(fd: BorrowedFd<'_>) -> nix::Result<()> {
    let mut flags = OFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFL)?);
    flags.insert(OFlag::O_NONBLOCK);
    fcntl(fd, FcntlArg::F_SETFL(flags)).map(drop)
}

fn alternative_wait_with_select(fd: BorrowedFd<'_>) -> nix::Result<()> {
    use nix::sys::select::{FdSet, select};
    loop {
        let mut set = FdSet::new();
        set.insert(fd);
        match select(None, Some(&mut set), None, None, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => return other.map(drop),
        }
    }
}

#[test]
fn alternatives_with_insert_and_select_pass() {
    check_set_nonblocking(alternative_set_with_insert).unwrap_or_else(|why| panic!("{why}"));
    check_wait_readable(alternative_wait_with_select, false).unwrap_or_else(|why| panic!("{why}"));
    check_wait_readable(alternative_wait_with_select, true).unwrap_or_else(|why| panic!("{why}"));
}
