//! Checks `pipes/oneway`: the child reads the parent's message until end of file.

mod common;

use common::{assert_clean, assert_usage_error, run};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use proctest::{Demo, Process, Snapshot};
use std::sync::{Arc, Mutex};

fn roles(parent: Option<i32>) -> impl Fn(&Process) -> String {
    move |p: &Process| {
        if Some(p.pid) == parent {
            "the parent".to_owned()
        } else {
            "the child".to_owned()
        }
    }
}

fn oneway(args: &[&str]) -> proctest::Finished {
    run_oneway(Demo::new(env!("CARGO_BIN_EXE_oneway")).args(args))
}

/// [`oneway`], with a watcher (see [`Demo::watch`]).
fn oneway_watched(
    args: &[&str],
    watcher: impl FnMut(&Snapshot) -> bool + Send + 'static,
) -> proctest::Finished {
    run_oneway(
        Demo::new(env!("CARGO_BIN_EXE_oneway"))
            .args(args)
            .watch(watcher),
    )
}

fn run_oneway(demo: Demo) -> proctest::Finished {
    match demo.timeout(common::WATCHDOG).run() {
        Ok(finished) => finished,
        Err(hang) => {
            let parent = common::leader(&hang.snapshot);
            panic!("{}", common::diagnose(&hang, &roles(parent)))
        }
    }
}

#[test]
fn the_child_reads_the_message_until_end_of_file() {
    let run = oneway(&[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    insta::assert_snapshot!("oneway", run.stdout);
    assert_clean(&run);
}

/// Checks that the parent could send the whole message: a child that stops reading
/// before end of file leaves the parent writing into a pipe nobody reads (EPIPE).
fn assert_read_to_the_end(run: &proctest::Finished, bytes: usize) {
    if run.stderr.contains("EPIPE") {
        panic!(
            "{}\n{}{}",
            proctest::wrap(
                &format!(
                    "the parent's write of {bytes} bytes failed with EPIPE: the child had closed \
                     the pipe before the end of the message. The child must read until read() \
                     returns 0 (end of file): one read() returns at most what the pipe holds \
                     then (64 KiB). Stopped before end of file."
                ),
                98
            ),
            run.stdout,
            run.stderr
        );
    }
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    let expected = format!("child: read {bytes} bytes until end of file\n");
    assert!(
        run.stdout.contains(&expected),
        "the child must report all {bytes} bytes (`{}`):\n{}",
        expected.trim_end(),
        run.stdout
    );
}

#[test]
fn a_message_larger_than_the_pipe_arrives_whole() {
    // A pipe holds 64 KiB: the parent blocks in write() until the child has read.
    let run = oneway(&["1000000"]);
    assert_read_to_the_end(&run, 1_000_000);
    assert!(
        run.stdout
            .contains("child: read 1000000 bytes until end of file\n"),
        "{}",
        run.stdout
    );
    assert_clean(&run);
}

/// What the watcher of [`a_write_cut_short_by_a_signal_is_finished`] saw and did.
#[derive(Default)]
struct Frozen {
    /// The signal was sent: the parent was blocked in write() with its child stopped.
    interrupted: bool,
    /// It was sent again, once the parent was blocked in a new write() (the pipe still
    /// full, so that one had written nothing: it fails with EINTR).
    interrupted_again: bool,
    /// The child was resumed.
    resumed: bool,
    /// The parent's read end of the pipe it was writing to, if it still had one then.
    read_end_kept: Option<String>,
}

/// The watcher: once the child (stopped at birth) is stopped and the parent blocked in
/// write() on the full pipe, it notes the parent's descriptors and interrupts the write
/// with SIGUSR1 (write returns a short count); once the parent is blocked in write() again
/// (the signal delivered, so a new call, which has written nothing yet), it interrupts it
/// once more (write fails with EINTR); once the parent is blocked again (writing the rest,
/// or waiting for the child), it resumes the child.
fn freeze_and_interrupt(seen: Arc<Mutex<Frozen>>) -> impl FnMut(&Snapshot) -> bool + Send {
    move |snapshot: &Snapshot| {
        let mut seen = seen.lock().expect("the watcher's notes");
        let Some(parent) = snapshot.leader() else {
            return true;
        };
        let Some(child) = snapshot.stopped_children(parent).next() else {
            return true;
        };
        let call = parent.blocked_in.as_ref().map(|c| c.name.as_str());
        if parent.state != 'S' || call.is_none() || parent.signals.is_pending(libc::SIGUSR1) {
            return true; // still running towards its blocking call, or not interrupted yet
        }
        if seen.interrupted && !seen.interrupted_again && call == Some("write") {
            seen.interrupted_again = true;
            let _ = kill(Pid::from_raw(parent.pid), Signal::SIGUSR1);
            return true;
        }
        if !seen.interrupted && call == Some("write") {
            if let Some(inode) = parent.blocked_on_fd().and_then(|fd| fd.pipe_inode()) {
                seen.read_end_kept = parent
                    .fds
                    .iter()
                    .find(|fd| fd.readable && fd.pipe_inode() == Some(inode))
                    .map(|fd| format!("fd {}", fd.fd));
            }
            seen.interrupted = true;
            let _ = kill(Pid::from_raw(parent.pid), Signal::SIGUSR1);
            return true;
        }
        // Interrupted and blocked again, or blocked elsewhere than in write(): resume.
        seen.resumed = true;
        let _ = kill(Pid::from_raw(child.pid), Signal::SIGCONT);
        false
    }
}

#[test]
fn a_write_cut_short_by_a_signal_is_finished() {
    // 200000 bytes: more than the pipe holds. The child stops at birth; the parent fills
    // the pipe and blocks in write(); a signal then makes write() return what it wrote so
    // far, and a second one makes the next write(), which has written nothing, fail with
    // EINTR. The rest must still be sent, and the parent must not hold the read end.
    let seen = Arc::new(Mutex::new(Frozen::default()));
    let run = oneway_watched(
        &["200000", "--child-stops"],
        freeze_and_interrupt(Arc::clone(&seen)),
    );
    let seen = seen.lock().expect("the watcher's notes");
    let evidence = format!(
        "`oneway 200000 --child-stops`, SIGUSR1 sent twice to the parent by the test while it \
             was blocked in write(), printed:\n{}",
        run.stdout.trim_end()
    );
    if let Some(fd) = &seen.read_end_kept {
        let why = format!(
            "while the child was stopped, the parent was blocked in write() and still held \
             {fd}, the read end of the same pipe. A pipe with a reader never gives EPIPE: had \
             the child died, the parent would have blocked there forever, its own reader. \
             After fork, the parent closes the read end before it writes. A read end kept \
             open."
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    if seen.interrupted && run.stderr.contains("oneway: EINTR") {
        let why = "a signal interrupted the parent's write() on the full pipe at a moment when \
                   that write() had written nothing yet: it then fails with EINTR, which \
                   only says that a signal handler ran. send_to_child returned that error, \
                   leaving the message unsent and the child stopped. Call write() again on \
                   EINTR, as for a short write (crate::sys::write_all does both). An \
                   interrupted write given up.";
        let evidence = format!(
            "`oneway 200000 --child-stops`, SIGUSR1 sent twice to the parent by the test while it \
             was blocked in write(), printed:\n{}",
            format!("{}{}", run.stdout, run.stderr).trim_end()
        );
        panic!("{}", proctest::verdict(&evidence, why));
    }
    assert!(
        seen.interrupted && seen.resumed,
        "the parent never blocked in write() on the full pipe while its child was stopped:\n{}",
        run.stdout
    );
    if !run
        .stdout
        .contains("child: read 200000 bytes until end of file\n")
    {
        let why = "a signal interrupted the parent's write() once the pipe was full, and \
                   write() returned the number of bytes it had written so far; the child then \
                   got less than the message. write() may write less than it was given: call \
                   it again with the rest until everything is written (crate::sys::write_all \
                   does). A short write ignored.";
        panic!("{}", proctest::verdict(&evidence, why));
    }
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_clean(&run);
}

/// The watcher of [`the_child_reads_whatever_the_pipe_holds_until_end_of_file`]: once the
/// parent has written its message and waits for its child (stopped at birth), it opens a
/// write end of the message's pipe of its own (reopening the child's from /proc), and
/// resumes the child. A child that reads until end of file then reads the message and
/// blocks, since the test's end keeps the pipe open: the test writes [`TRAILER`], closes
/// its end, and the child reads the trailer, then end of file.
fn add_a_trailer(outcome: Arc<Mutex<Trailer>>) -> impl FnMut(&Snapshot) -> bool + Send {
    let mut held: Option<(i32, std::fs::File)> = None;
    move |snapshot: &Snapshot| {
        if let Some((child, pipe)) = held.as_mut() {
            let alive = snapshot
                .processes
                .iter()
                .find(|p| p.pid == *child && p.state != 'Z');
            let Some(child) = alive else {
                // The child ended while the pipe was still open: it never saw end of file.
                *outcome.lock().expect("the watcher's note") = Trailer::ChildLeftEarly;
                held = None;
                return false;
            };
            let reading = child.blocked_in.as_ref().is_some_and(|c| c.name == "read");
            if child.state != 'S' || !reading {
                return true;
            }
            use std::io::Write;
            if pipe.write_all(TRAILER).is_ok() {
                *outcome.lock().expect("the watcher's note") = Trailer::Added;
            }
            held = None;
            return false;
        }
        let Some(parent) = snapshot.leader() else {
            return true;
        };
        let Some(child) = snapshot.stopped_children(parent).next() else {
            return true;
        };
        let call = parent.blocked_in.as_ref().map(|c| c.name.as_str());
        if parent.state != 'S' || call.is_none() {
            return true;
        }
        let mut watching = false;
        if matches!(call, Some("wait4" | "waitid")) {
            // The message's pipe: the one the child holds both ends of (born with them).
            // Its standard output is a pipe too, but it holds only that one's write end.
            let read_ends: Vec<u64> = child
                .fds
                .iter()
                .filter(|fd| fd.readable)
                .filter_map(|fd| fd.pipe_inode())
                .collect();
            let write_end = child.fds.iter().find(|fd| {
                fd.writable
                    && fd
                        .pipe_inode()
                        .is_some_and(|inode| read_ends.contains(&inode))
            });
            if let Some(fd) = write_end {
                let path = format!("/proc/{}/fd/{}", child.pid, fd.fd);
                if let Ok(pipe) = std::fs::OpenOptions::new().write(true).open(path) {
                    held = Some((child.pid, pipe));
                    watching = true;
                }
            }
        }
        let _ = kill(Pid::from_raw(child.pid), Signal::SIGCONT);
        watching
    }
}

/// What the watcher of [`add_a_trailer`] got to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trailer {
    /// The moment never came (the parent did not wait with its child stopped).
    NotReached,
    /// The child ended while the test still held a write end: before end of file.
    ChildLeftEarly,
    /// The trailer was written while the child waited for more, and the end closed.
    Added,
}

/// What the test adds to the pipe after the parent's message.
const TRAILER: &[u8] = b"+trailer";

#[test]
fn the_child_reads_whatever_the_pipe_holds_until_end_of_file() {
    // The child stops at birth; the parent writes its 1000 bytes, closes, and waits. The
    // test then holds a write end of its own, and writes 8 more bytes once the child waits
    // for more, as a second writer could: a child reading until end of file reads 1008;
    // one that counts on the message's length stops at 1000.
    let outcome = Arc::new(Mutex::new(Trailer::NotReached));
    let run = oneway_watched(
        &["1000", "--child-stops"],
        add_a_trailer(Arc::clone(&outcome)),
    );
    let outcome = *outcome.lock().expect("the watcher's note");
    let total = 1000 + TRAILER.len();
    let read_all = run
        .stdout
        .contains(&format!("child: read {total} bytes until end of file\n"));
    let why = match outcome {
        Trailer::ChildLeftEarly => Some(
            "the child stopped reading after the parent's 1000 bytes and exited while the pipe \
             was still open (the test held a write end of its own, so no end of file had come): \
             it counted on the message's length. The child must read until read() returns 0, \
             whatever the pipe holds. Not read until end of file."
                .to_owned(),
        ),
        Trailer::Added if !read_all => Some(format!(
            "the test kept the pipe open and wrote {} more bytes after the parent's 1000, and \
             the child did not read them: it stopped before the end of file. The child must \
             read until read() returns 0, whatever the pipe holds. Not read until end of file.",
            TRAILER.len()
        )),
        _ => None,
    };
    if let Some(why) = why {
        let evidence = format!("`oneway 1000` printed:\n{}", run.stdout.trim_end());
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    assert_eq!(
        outcome,
        Trailer::Added,
        "the parent never waited for its child with the message written and the child \
         stopped:\n{}",
        run.stdout
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert_clean(&run);
}

/// The watcher of [`a_child_gone_before_the_end_of_the_message_is_an_error`]: once the
/// parent is blocked in write() on the full pipe with its child stopped at birth, it kills
/// the child, so that nobody is left to read the rest of the message. Notes that it did.
fn kill_the_reader(killed: Arc<Mutex<bool>>) -> impl FnMut(&Snapshot) -> bool + Send {
    move |snapshot: &Snapshot| {
        let Some(parent) = snapshot.leader() else {
            return true;
        };
        let Some(child) = snapshot.stopped_children(parent).next() else {
            return true;
        };
        let writing = parent
            .blocked_in
            .as_ref()
            .is_some_and(|c| c.name == "write");
        if parent.state != 'S' || !writing {
            return true;
        }
        if kill(Pid::from_raw(child.pid), Signal::SIGKILL).is_ok() {
            *killed.lock().expect("the watcher's note") = true;
        }
        false
    }
}

#[test]
fn a_child_gone_before_the_end_of_the_message_is_an_error() {
    // 200000 bytes: more than the pipe holds. The child stops at birth; once the parent
    // has filled the pipe and blocks in write(), the test kills the child. The pipe has no
    // reader left: write() fails with EPIPE, and send_to_child must return that error.
    let killed = Arc::new(Mutex::new(false));
    let run = oneway_watched(
        &["200000", "--child-stops"],
        kill_the_reader(Arc::clone(&killed)),
    );
    assert!(
        *killed.lock().expect("the watcher's note"),
        "the parent never blocked in write() on the full pipe while its child was stopped:\n{}",
        run.stdout
    );
    if run.code() == Some(0) {
        let evidence = format!(
            "`oneway 200000 --child-stops`, its child killed by the test while the parent \
             was blocked in write(), printed:\n{}",
            format!("{}{}", run.stdout, run.stderr).trim_end()
        );
        let why = "the test killed the child while the parent was blocked in write() on the full \
                   pipe, with most of its 200000 bytes still to send. With no reader left, the \
                   parent's write() failed with EPIPE, yet send_to_child returned Ok with the \
                   child's status, as if the message had been delivered. Its doc says a write \
                   that fails in the parent is an error: return it (closing the write end and \
                   reaping the child first is still right). A write error swallowed.";
        panic!("{}", proctest::verdict(&evidence, why));
    }
    assert!(
        run.stderr.contains("oneway: EPIPE"),
        "with its child killed, the parent's write() fails with EPIPE, and send_to_child must \
         return that error:\n{}",
        run.stderr
    );
    // Not checked: whether the killed child was reaped before the error was returned (the
    // doc does not say; the watchdog reaps what is left).
}

#[test]
fn the_parent_waits_for_its_own_child_not_any_child() {
    // The demo forks a child of its own first, which has exited (status 42) before
    // send_to_child is called, and waits for it afterwards.
    let run = oneway(&["--bystander"]);
    if run.stderr.contains("oneway: the bystander") {
        let evidence = format!(
            "`oneway --bystander` printed:\n{}",
            format!("{}{}", run.stdout, run.stderr).trim_end()
        );
        let why = "send_to_child waited for another child of the demo, the bystander, which had \
                   exited (status 42) before send_to_child was called: the demo found it gone \
                   when it waited for it afterwards. wait() reaps whichever child has ended, and \
                   that status belongs to whoever forked that child; the child send_to_child \
                   forked was left unwaited for. Wait for the pid fork returned: \
                   waitpid(child, None). The wrong child waited for.";
        panic!("{}", proctest::verdict(&evidence, why));
    }
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(
        run.stdout.contains("parent: child exited with status 0\n"),
        "send_to_child must return its own child's status (0):\n{}",
        run.stdout
    );
    assert_clean(&run);
}

#[test]
fn an_empty_message_is_end_of_file_at_once() {
    let run = oneway(&["0"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(
        run.stdout
            .contains("child: read 0 bytes until end of file\n"),
        "{}",
        run.stdout
    );
    assert_clean(&run);
}

#[test]
fn bad_sizes_are_usage_errors() {
    for bad in ["abc", "-3", "16777217", ""] {
        let run = run(
            Demo::new(env!("CARGO_BIN_EXE_oneway")).arg(bad),
            &roles(None),
        );
        assert_usage_error(&run, "BYTES must be a whole number from 0 to 16777216");
    }
    let run = run(
        Demo::new(env!("CARGO_BIN_EXE_oneway")).args(["1", "2"]),
        &roles(None),
    );
    assert_usage_error(&run, "too many arguments");
}

#[test]
fn the_child_calls_only_async_signal_safe_functions_and_leaves_with_exit() {
    let source = proctest::source::Source::read(proctest::step_file!("10_pipes/oneway.rs"))
        .unwrap_or_else(|err| panic!("{err}"));
    proctest::source::assert_none(&source.fork_children());
}
