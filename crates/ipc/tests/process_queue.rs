//! Checks `ipc/process_queue`.
//!
//! In this process: the receiving side reads frames that arrive in pieces (the test writes
//! the bytes into the pipe itself, piece by piece), waits with a deadline, does not wait at
//! all with `get_nowait`, and tells the end of the queue from a value cut short; the
//! sending side's `put` never waits for the reader. Then, through the `process_queue` demo,
//! between two processes: every value arrives although the worker exits right after its
//! last `put`, and a master that drains before it waits never deadlocks. The receiving
//! checks take the receiver as a type argument, so that the oracles at the end run them on
//! plausible wrong receivers too.

mod common;

use common::{verdict, within, wrap};
use ipc::frame;
use ipc::process_queue::{GetError, Receiver, queue};
use nix::fcntl::OFlag;
use nix::unistd::pipe2;
use proctest::{Demo, Hang};
use std::os::fd::OwnedFd;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The values of the in-process checks.
type Msg = (u32, String);

/// What the receiving checks need: the step's `Receiver`, or an oracle's.
trait Getter: Send + 'static {
    fn from_fd(fd: OwnedFd) -> Self;
    fn get(&mut self) -> Result<Msg, GetError>;
    fn get_timeout(&mut self, timeout: Duration) -> Result<Msg, GetError>;
    fn get_nowait(&mut self) -> Result<Msg, GetError>;
}

impl Getter for Receiver<Msg> {
    fn from_fd(fd: OwnedFd) -> Self {
        Receiver::from_fd(fd)
    }
    fn get(&mut self) -> Result<Msg, GetError> {
        Receiver::get(self)
    }
    fn get_timeout(&mut self, timeout: Duration) -> Result<Msg, GetError> {
        Receiver::get_timeout(self, timeout)
    }
    fn get_nowait(&mut self) -> Result<Msg, GetError> {
        Receiver::get_nowait(self)
    }
}

fn msg(n: u32, text: &str) -> Msg {
    (n, text.to_owned())
}

fn frame_of(m: &Msg) -> Vec<u8> {
    frame::encode(m).expect("a value that serializes")
}

/// One action of a receiving scenario: bytes the writer sends, or a call and what it must
/// return.
enum Act {
    Write(Vec<u8>),
    CloseWriter,
    Nowait(Result<Msg, GetError>),
    Timeout(Duration, Result<Msg, GetError>),
    Get(Result<Msg, GetError>),
}

fn describe_bytes(bytes: &[u8]) -> String {
    format!("{} bytes", bytes.len())
}

/// One call of a scenario, on the receiver.
type Call<G> = Box<dyn FnOnce(&mut G) -> Result<Msg, GetError> + Send>;

/// Runs a scenario against the receiver `G`: each call runs under the watchdog, and the
/// first result that differs is reported with the story so far.
fn scenario<G: Getter>(name: &str, acts: Vec<Act>) -> Result<(), String> {
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let mut writer = Some(write_end);
    let mut receiver = Some(G::from_fd(read_end));
    let mut story: Vec<String> = Vec::new();
    for act in acts {
        let (call, expect, f): (String, Result<Msg, GetError>, Call<G>) = match act {
            Act::Write(bytes) => {
                story.push(format!("the writer sends {}", describe_bytes(&bytes)));
                proctest::child::write_all(writer.as_ref().expect("open"), &bytes)
                    .expect("write to the test's pipe");
                continue;
            }
            Act::CloseWriter => {
                story.push("the writer closes its end".to_owned());
                writer = None;
                continue;
            }
            Act::Nowait(expect) => (
                "get_nowait()".to_owned(),
                expect,
                Box::new(|g: &mut G| g.get_nowait()),
            ),
            Act::Timeout(t, expect) => (
                format!("get_timeout({} ms)", t.as_millis()),
                expect,
                Box::new(move |g: &mut G| g.get_timeout(t)),
            ),
            Act::Get(expect) => ("get()".to_owned(), expect, Box::new(|g: &mut G| g.get())),
        };
        let mut g = receiver.take().expect("the receiver is back");
        let started = Instant::now();
        let hang_why = "A get with nothing (whole) to read waits: get_nowait must not wait at \
                        all, and get_timeout must give up at its deadline (poll with what is \
                        left, never a plain read on an empty pipe).";
        let (result, g) = within(&format!("{call} ({name})"), hang_why, move || {
            let r = f(&mut g);
            (r, g)
        })
        .map_err(|m| {
            if story.is_empty() {
                m
            } else {
                format!("{m}\n  so far: {}", story.join("; "))
            }
        })?;
        let elapsed = started.elapsed();
        receiver = Some(g);
        story.push(format!("{call} -> {}", show(&result)));
        if !same(&result, &expect) {
            let hint = match (&expect, &result) {
                (Err(GetError::Empty | GetError::Timeout), Ok(_)) => {
                    "a value was returned before all its bytes had arrived"
                }
                (Err(GetError::Empty | GetError::Timeout), Err(GetError::Corrupt(_))) => {
                    "part of a value is not a corrupt value: keep the bytes and wait for the \
                     rest; and a length up to MAX_PAYLOAD (16 MiB) is a value's, only a longer \
                     one is corrupt"
                }
                (Ok(_), Err(GetError::Empty | GetError::Timeout)) => {
                    "the whole value was there: a call with no time left (get_nowait) still \
                     looks once (poll with a zero timeout, then read what is readable) before \
                     it answers Empty; read what poll says is readable, as many times as it \
                     stays readable (one read() returns at most what your buffer holds), and \
                     look at the bytes already read before waiting again"
                }
                (Ok(_), Err(GetError::Corrupt(_))) => {
                    "the bytes of one value came in several reads (or several values in one \
                     read): keep what you read in a buffer and cut frames out of it"
                }
                (Err(GetError::Closed), _) => {
                    "every writer is gone and nothing is buffered: read() returns 0, which is \
                     the end of the queue"
                }
                (Err(GetError::Corrupt(_)), _) => {
                    "the writer stopped in the middle of a value (or sent a length no value \
                     may have): that is Corrupt, not a value and not the clean end"
                }
                _ => "",
            };
            return Err(format!(
                "{call} returned {} instead of {} ({name}).\n  what happened, in order: \
                 {}\n{hint}",
                show(&result),
                show(&expect),
                story.join("; ")
            ));
        }
        if call.starts_with("get_timeout") && matches!(expect, Err(GetError::Timeout)) {
            let t: Duration = parse_timeout(&call);
            if elapsed < t {
                return Err(format!(
                    "{call} returned Timeout after {}, before its deadline ({name}). {}",
                    millis(elapsed),
                    early(t, elapsed)
                ));
            }
        }
    }
    drop(writer);
    Ok(())
}

/// Why a `get_timeout` that answered Timeout `waited` into its `timeout` gave up early.
fn early(timeout: Duration, waited: Duration) -> &'static str {
    if timeout - waited < Duration::from_millis(1) {
        "poll counts whole milliseconds: round the time left up (rounded down, the last \
         fraction of a millisecond is poll(0), which returns at once), and let the clock, not \
         a poll that found nothing, say that the deadline has passed. Gave up early."
    } else {
        "A poll that returned (a piece of a value, a signal, its own timeout) is not the \
         deadline: only the clock says it has passed; until then, poll again with what is \
         left. Gave up early."
    }
}

/// A duration in milliseconds, to a tenth.
fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// A result as a message shows it, as the student's code writes it: a long string by its
/// length only, a `Corrupt` without its words (only the kind counts).
fn show(result: &Result<Msg, GetError>) -> String {
    match result {
        Err(GetError::Empty) => "Err(GetError::Empty)".to_owned(),
        Err(GetError::Timeout) => "Err(GetError::Timeout)".to_owned(),
        Err(GetError::Closed) => "Err(GetError::Closed)".to_owned(),
        Err(GetError::Corrupt(_)) => "Err(GetError::Corrupt(..))".to_owned(),
        Err(GetError::Sys(e)) => format!("Err(GetError::Sys({e:?}))"),
        Ok((n, text)) if text.len() > 40 && text.bytes().all(|b| b == text.as_bytes()[0]) => {
            format!(
                "Ok(({n}, {} bytes of {:?}))",
                text.len(),
                char::from(text.as_bytes()[0])
            )
        }
        _ => format!("{result:?}"),
    }
}

/// Whether a result is the one expected; for `Corrupt`, only the kind counts (its words
/// are the student's).
fn same(result: &Result<Msg, GetError>, expect: &Result<Msg, GetError>) -> bool {
    match (result, expect) {
        (Err(GetError::Corrupt(_)), Err(GetError::Corrupt(_))) => true,
        _ => result == expect,
    }
}

/// The timeout written in `get_timeout(50 ms)`.
fn parse_timeout(call: &str) -> Duration {
    let inner = call
        .trim_start_matches("get_timeout(")
        .trim_end_matches(')');
    let ms: u64 = inner.trim_end_matches(" ms").parse().unwrap_or(0);
    Duration::from_millis(ms)
}

fn check_receiver<G: Getter>() -> Result<(), String> {
    let a = msg(1, "the first value, a little longer than a header");
    let b = msg(2, "b");
    let c = msg(3, "");
    let fa = frame_of(&a);
    let (fb, fc) = (frame_of(&b), frame_of(&c));
    let t = Duration::from_millis(50);
    scenario::<G>(
        "a value that arrives in three pieces",
        vec![
            Act::Nowait(Err(GetError::Empty)),
            Act::Write(fa[..2].to_vec()),
            Act::Nowait(Err(GetError::Empty)),
            Act::Write(fa[2..9].to_vec()),
            Act::Timeout(t, Err(GetError::Timeout)),
            Act::Write(fa[9..].to_vec()),
            Act::Nowait(Ok(a.clone())),
            Act::Nowait(Err(GetError::Empty)),
        ],
    )?;
    scenario::<G>(
        "three values in one write",
        vec![
            Act::Write([fa.clone(), fb.clone(), fc.clone()].concat()),
            Act::Nowait(Ok(a.clone())),
            Act::Timeout(t, Ok(b.clone())),
            Act::Get(Ok(c.clone())),
            Act::Timeout(t, Err(GetError::Timeout)),
        ],
    )?;
    let big = msg(4, &"v".repeat(20_000));
    scenario::<G>(
        "a value of 20000 bytes, whole in the pipe before the call",
        vec![
            Act::Write(frame_of(&big)),
            Act::Nowait(Ok(big.clone())),
            Act::Write(frame_of(&big)),
            Act::Timeout(t, Ok(big.clone())),
            Act::Nowait(Err(GetError::Empty)),
        ],
    )?;
    scenario::<G>(
        "the end of the queue",
        vec![
            Act::Write(fb.clone()),
            Act::CloseWriter,
            Act::Get(Ok(b.clone())),
            Act::Get(Err(GetError::Closed)),
            Act::Nowait(Err(GetError::Closed)),
            Act::Timeout(t, Err(GetError::Closed)),
        ],
    )?;
    scenario::<G>(
        "the writer stops in the middle of a value",
        vec![
            Act::Write(fa[..10].to_vec()),
            Act::CloseWriter,
            Act::Get(Err(GetError::Corrupt(
                "the writer stopped within a value".to_owned(),
            ))),
        ],
    )?;
    scenario::<G>(
        "a header announcing exactly 16 MiB, the most a value may have",
        vec![
            Act::Write((frame::MAX_PAYLOAD as u32).to_le_bytes().to_vec()),
            Act::Nowait(Err(GetError::Empty)),
        ],
    )?;
    scenario::<G>(
        "a header announcing 4 GiB",
        vec![
            Act::Write(vec![0xff, 0xff, 0xff, 0xff, 1, 2, 3]),
            Act::Nowait(Err(GetError::Corrupt(
                "a length no value may have".to_owned(),
            ))),
        ],
    )
}

#[test]
fn get_cuts_whole_values_out_of_whatever_read_returns() {
    verdict(check_receiver::<Receiver<Msg>>());
}

/// `get_timeout(300 ms)` while a value trickles in: its header and a first byte, then one
/// more byte each time the reader waits in `poll` again (seen in /proc), at most one every
/// 100 ms, for 3 s. The value never completes, so the call must give up at its deadline,
/// not 300 ms after the last piece.
fn check_trickle<G: Getter>() -> Result<(), String> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let bytes = frame_of(&msg(9, &"t".repeat(200)));
    let timeout = Duration::from_millis(300);
    let first = frame::HEADER + 1;
    proctest::child::write_all(&write_end, &bytes[..first]).expect("write the first piece");
    let (tid_tx, tid_rx) = mpsc::channel();
    let done = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(first));
    let trickler = {
        let (done, sent, bytes) = (Arc::clone(&done), Arc::clone(&sent), bytes.clone());
        std::thread::spawn(move || {
            let Ok(tid) = tid_rx.recv() else {
                return write_end;
            };
            let until = Instant::now() + Duration::from_secs(3);
            while !done.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(100));
                let call = common::thread_blocked_in(tid);
                let at = sent.load(Ordering::SeqCst);
                if (call.starts_with("poll") || call.starts_with("ppoll")) && at + 1 < bytes.len() {
                    // The call may return (and close the read end: EPIPE) right after the look.
                    if proctest::child::write_all(&write_end, &bytes[at..=at]).is_err() {
                        break;
                    }
                    sent.store(at + 1, Ordering::SeqCst);
                }
            }
            write_end
        })
    };
    let finished = Arc::clone(&done);
    let outcome = within(
        "get_timeout(300ms) while a value trickles in",
        "Wait with poll for what is left of the deadline, and read only what poll says is there.",
        move || {
            let _ = tid_tx.send(common::gettid());
            let mut receiver = G::from_fd(read_end);
            let started = Instant::now();
            let got = receiver.get_timeout(timeout);
            finished.store(true, Ordering::SeqCst);
            (got, started.elapsed())
        },
    );
    done.store(true, Ordering::SeqCst);
    let sent = sent.load(Ordering::SeqCst);
    let pieces = 1 + sent - first;
    let outcome = outcome.map_err(|m| {
        if m.contains("did not return within") {
            format!(
                "{m}\n  so far: the header and {} bytes of the value arrived",
                sent - frame::HEADER
            )
        } else {
            m
        }
    })?;
    let write_end = trickler.join().expect("the trickling thread never panics");
    drop(write_end);
    let (got, waited) = outcome;
    if waited >= Duration::from_secs(3) {
        return Err(format!(
            "get_timeout(300 ms) returned {} after {}: a value trickled in, one \
             byte each time it waited again ({pieces} pieces, one every 100 ms at most), and \
             each piece started a fresh 300 ms wait. Compute the deadline once and give each \
             poll what is left of it. A deadline that moves.",
            show(&got),
            millis(waited)
        ));
    }
    match got {
        Err(GetError::Timeout) if waited >= timeout => Ok(()),
        Err(GetError::Timeout) => Err(format!(
            "get_timeout(300 ms) gave up after {}, before its deadline, while a value \
             trickled in. {}",
            millis(waited),
            early(timeout, waited)
        )),
        other => Err(format!(
            "get_timeout(300 ms) returned {} while a value trickled in (its header and \
             {} of its {} bytes arrived): part of a value is neither a value nor a corrupt \
             one: keep the bytes and wait for the rest, until the deadline",
            show(&other),
            sent - frame::HEADER,
            bytes.len() - frame::HEADER
        )),
    }
}

#[test]
fn get_timeout_ends_at_its_deadline_while_a_value_trickles_in() {
    verdict(check_trickle::<Receiver<Msg>>());
}

#[test]
fn get_reassembles_a_value_bigger_than_the_pipe() {
    let big = msg(7, &"x".repeat(1 << 20));
    let bytes = frame_of(&big);
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let writer = std::thread::spawn(move || {
        // A reader that gave up closes its end: the write fails, which is its business.
        let _ = proctest::child::write_all(&write_end, &bytes);
    });
    let got = within(
        "get() of a 1 MiB value",
        "A value bigger than the pipe (64 KiB) arrives in many reads: keep reading into the buffer until the frame is whole.",
        move || Receiver::<Msg>::from_fd(read_end).get(),
    );
    // A stuck reader keeps the writer waiting for room in the pipe: report it, unjoined.
    let got = got.unwrap_or_else(|m| panic!("{}", wrap(&m)));
    writer.join().expect("the writer never panics");
    assert!(
        got == Ok(big),
        "{}",
        wrap("get() of a 1 MiB value returned something else than the value")
    );
}

/// Why `put` did not return, from the call its thread sits in.
fn put_stuck(call: &str) -> String {
    if call == "write" {
        "put() blocked writing into the pipe because nobody reads it yet: put must hand the value \
         to the feeder thread and return; only the feeder may wait for room in the pipe."
            .to_owned()
    } else {
        "put() must hand the value to the feeder thread and return: only the feeder may wait for \
         room in the pipe."
            .to_owned()
    }
}

/// Why `close` did not return although its feeder had written every value (`blocked`: what
/// the closing thread sits in; `seen`: how the test knows every value was written).
fn close_stuck(blocked: &str, seen: &str) -> String {
    format!(
        "close() never returned (it is stuck in {blocked}) although the feeder had written \
         every value ({seen}): close must tell the feeder that no more values come (under the lock, then \
         notify the condition variable it may be waiting on), and only then join it. A feeder \
         joined before it is told to finish waits for values forever, and so does the join."
    )
}

#[test]
fn put_never_waits_for_the_reader() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // 8 MiB of values, nobody reading: far more than the pipe holds.
    let (tx, mut rx) = queue::<Msg>().expect("a queue");
    let value = msg(0, &"y".repeat(8 * 1024));
    let tx = common::within_by(
        "1024 put()s of 8 KiB with nobody reading yet",
        put_stuck,
        move || {
            for n in 0..1024u32 {
                tx.put(&(n, value.1.clone())).expect("put");
            }
            tx
        },
    )
    .unwrap_or_else(|m| panic!("{}", wrap(&m)));
    let (tid_tx, tid_rx) = mpsc::channel();
    let closing = std::thread::spawn(move || {
        let _ = tid_tx.send(common::gettid());
        tx.close()
    });
    let closer = tid_rx.recv().expect("the closing thread starts");
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    let got = within(
        "getting the 1024 values back",
        "The feeder writes everything the sender put; the reader gets it until Closed.",
        move || {
            let mut seen = Vec::new();
            loop {
                match rx.get() {
                    Ok((n, text)) => {
                        seen.push((n, text.len()));
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => return (seen, e),
                }
            }
        },
    )
    .unwrap_or_else(|m| {
        let arrived = count.load(Ordering::SeqCst);
        if arrived == 1024 && !closing.is_finished() {
            panic!(
                "\n{}",
                wrap(&close_stuck(
                    &common::thread_blocked_in(closer),
                    "all 1024 arrived, and the reader now waits in get() for the end of file"
                ))
            );
        }
        if !closing.is_finished() {
            panic!(
                "\n{}",
                wrap(&format!(
                    "the feeder stopped writing after {arrived} of the 1024 values, while \
                     close() waits for it (stuck in {}): the reader waits in get() for the \
                     rest. Either close joins the feeder while holding the lock the feeder \
                     needs (to take its next value, or to see that close was called), or the \
                     feeder waits on its condition variable for a notify that never came. Let \
                     go of the lock before the join, and notify at every put and at close. A \
                     feeder that stopped.",
                    common::thread_blocked_in(closer)
                ))
            );
        }
        panic!("{}", wrap(&m))
    });
    let closed = within(
        "close() once every value was read",
        "The feeder has written everything: close only has to join it.",
        move || closing.join().expect("close never panics"),
    )
    .unwrap_or_else(|m| panic!("{}", wrap(&m)));
    assert_eq!(
        closed,
        Ok(()),
        "close() reported a failure although every value was read"
    );
    let (seen, end) = got;
    assert_eq!(
        end,
        GetError::Closed,
        "after the last value the queue must say Closed"
    );
    let want: Vec<(u32, usize)> = (0..1024).map(|n| (n, 8 * 1024)).collect();
    assert!(
        seen == want,
        "{}",
        wrap(&format!(
            "{} values came back, not the 1024 put, in order",
            seen.len()
        ))
    );
}

#[test]
fn get_timeout_with_no_limit_waits_until_a_value_comes() {
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let _ = tid_tx.send(common::gettid());
        Receiver::<Msg>::from_fd(read_end).get_timeout(Duration::MAX)
    });
    let tid = tid_rx.recv().expect("the reader starts");
    // Write only once the reader waits in the kernel (seen in /proc, no clock involved), or
    // once it has returned on its own (wrongly: there is nothing to read yet).
    let started = Instant::now();
    while !reader.is_finished() && started.elapsed() < common::BUDGET {
        let call = common::thread_blocked_in(tid);
        if call.starts_with("poll") || call.starts_with("ppoll") || call.starts_with("read") {
            break;
        }
        std::thread::yield_now();
    }
    let finished_early = reader.is_finished();
    let _ = proctest::child::write_all(&write_end, &frame_of(&msg(5, "late")));
    let got = within(
        "get_timeout(Duration::MAX) once a value was sent",
        "A whole value is in the pipe: poll says it is readable, and get_timeout returns it.",
        move || reader.join(),
    )
    .unwrap_or_else(|m| panic!("{}", wrap(&m)))
    .unwrap_or_else(|_| panic!("get_timeout(Duration::MAX) panicked (its message is above)"));
    assert!(
        !finished_early && got == Ok(msg(5, "late")),
        "\n{}",
        wrap(&format!(
            "get_timeout(Duration::MAX) on an empty queue returned {}{}: a timeout too long \
             to add to the clock means no deadline at all; it must wait until the value comes",
            show(&got),
            if finished_early {
                " before any value was sent"
            } else {
                ""
            }
        ))
    );
}

#[test]
fn values_of_no_bytes_at_all_still_travel() {
    use ipc::process_queue::Sender;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    // `()` serializes to nothing: its frame is a header alone, announcing 0 bytes.
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    // A second read end, to see what the feeder has written (FIONREAD).
    let peek = read_end.try_clone().expect("dup the test's pipe");
    let (tx, mut rx) = (
        Sender::<()>::from_fd(write_end),
        Receiver::<()>::from_fd(read_end),
    );
    let puts = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&puts);
    let total = 3 * frame::HEADER;
    let closed = common::within_by(
        "three put(&()), then close()",
        |call| {
            if puts.load(Ordering::SeqCst) < 3 {
                put_stuck(call)
            } else if bytes_in_pipe(&peek) == total {
                close_stuck(&format!("{call}()"), "their 12 bytes are in the pipe")
            } else {
                format!(
                    "close() never returned, and the feeder wrote {} of the {total} bytes of the \
                     three values: a frame of a value of no bytes is its 4-byte header alone, and \
                     the feeder must write it like any other.",
                    bytes_in_pipe(&peek)
                )
            }
        },
        move || {
            for _ in 0..3 {
                tx.put(&()).expect("put");
                counted.fetch_add(1, Ordering::SeqCst);
            }
            tx.close()
        },
    )
    .unwrap_or_else(|m| panic!("{}", wrap(&m)));
    assert_eq!(
        closed,
        Ok(()),
        "{}",
        wrap("close() after three put(&()) reported a failure although the reader is there")
    );
    let written = bytes_in_pipe(&peek);
    assert!(
        written == total,
        "\n{}",
        wrap(&format!(
            "close() returned while the feeder was still writing: of the {total} bytes of three \
             values of no bytes (a 4-byte header each), {written} were in the pipe. close must \
             join() the feeder thread, so that every value put is written when it returns."
        ))
    );
    let got = within("get_nowait() of three () values", "", move || {
        (0..4).map(|_| rx.get_nowait()).collect::<Vec<_>>()
    })
    .unwrap_or_else(|m| panic!("{}", wrap(&m)));
    assert_eq!(
        got,
        [Ok(()), Ok(()), Ok(()), Err(GetError::Closed)],
        "{}",
        wrap("a frame whose header announces 0 bytes is whole once its 4 header bytes are there")
    );
}

/// What the closing check needs: the step's `Sender`, or an oracle's.
trait Putter: Send + 'static {
    fn from_fd(fd: OwnedFd) -> Self;
    fn put(&self, value: &Msg);
    fn close(self);
}

impl Putter for ipc::process_queue::Sender<Msg> {
    fn from_fd(fd: OwnedFd) -> Self {
        ipc::process_queue::Sender::from_fd(fd)
    }
    fn put(&self, value: &Msg) {
        ipc::process_queue::Sender::put(self, value).expect("put");
    }
    fn close(self) {
        let _ = ipc::process_queue::Sender::close(self);
    }
}

/// The bytes waiting in the pipe `fd` (FIONREAD).
fn bytes_in_pipe(fd: &OwnedFd) -> usize {
    use std::os::fd::AsRawFd;
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int through the pointer, which points to `n`.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &raw mut n) };
    assert!(rc == 0, "FIONREAD on the test's pipe");
    usize::try_from(n).unwrap_or(0)
}

/// One value of 1 MiB put, then `close()` on another thread, the pipe read 4 KiB at a time
/// once `close` has returned or sleeps: whenever `close` has returned, every byte of the value
/// must be read or waiting in the pipe, and the pipe must end (end of file).
fn check_close_waits_for_the_feeder<P: Putter>() -> Result<(), String> {
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let total = frame_of(&msg(4, &"z".repeat(1 << 20))).len();
    let sender = common::within_by(
        "put() of a 1 MiB value with nobody reading yet",
        put_stuck,
        move || {
            let sender = P::from_fd(write_end);
            sender.put(&msg(4, &"z".repeat(1 << 20)));
            sender
        },
    )?;
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let bytes_read = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = std::sync::Arc::clone(&bytes_read);
    let (tid_tx, tid_rx) = mpsc::channel();
    let closing = std::sync::Arc::clone(&closed);
    std::thread::spawn(move || {
        let _ = tid_tx.send(common::gettid());
        sender.close();
        closing.store(true, std::sync::atomic::Ordering::SeqCst);
    });
    let tid = tid_rx.recv().expect("the closing thread starts");
    let closed_seen = std::sync::Arc::clone(&closed);
    let is_closed = move || closed.load(std::sync::atomic::Ordering::SeqCst);
    let read = within(
        "reading a 1 MiB value while close() runs",
        "The feeder writes every byte put, then the pipe closes: the reader sees end of file.",
        move || {
            let started = Instant::now();
            while !is_closed()
                && !common::thread_blocked_in(tid).starts_with("futex")
                && started.elapsed() < common::BUDGET
            {
                std::thread::yield_now();
            }
            let mut chunk = vec![0u8; 4096];
            let mut read = 0;
            loop {
                if is_closed() && read + bytes_in_pipe(&read_end) < total {
                    return Err((read, bytes_in_pipe(&read_end)));
                }
                match nix::unistd::read(&read_end, &mut chunk) {
                    Ok(0) => return Ok(read),
                    Ok(n) => {
                        read += n;
                        counted.store(read, std::sync::atomic::Ordering::SeqCst);
                    }
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => panic!("read from the test's pipe: {e}"),
                }
            }
        },
    )
    .map_err(|m| {
        let all_read = bytes_read.load(std::sync::atomic::Ordering::SeqCst) == total;
        if all_read && !closed_seen.load(std::sync::atomic::Ordering::SeqCst) {
            close_stuck(
                &common::thread_blocked_in(tid),
                &format!(
                    "the {total} bytes of the one 1 MiB value put arrived, and the pipe never \
                     ended"
                ),
            )
        } else {
            m
        }
    })?;
    match read {
        Ok(n) if n == total => Ok(()),
        Ok(n) => Err(format!(
            "close() after one put of a 1 MiB value: the pipe ended after {n} of its {total} \
             bytes: the feeder must write every byte of every value before the pipe closes"
        )),
        Err((read, waiting)) => Err(format!(
            "close() returned while the feeder was still writing: after one put of a 1 MiB \
             value ({total} bytes), {read} were read and {waiting} waited in the pipe, so {} \
             were not written yet. A process that exits once close() returns (or drops its \
             Sender) kills the feeder with them: flush must join() the feeder thread (a \
             feeder whose list is empty may still be writing the frame it took off it).",
            total - read - waiting
        )),
    }
}

#[test]
fn close_returns_only_once_the_feeder_has_written_everything() {
    verdict(check_close_waits_for_the_feeder::<
        ipc::process_queue::Sender<Msg>,
    >());
}

#[test]
fn close_reports_values_nobody_will_ever_read() {
    let (tx, rx) = queue::<Msg>().expect("a queue");
    drop(rx);
    // The reader is gone: the feeder's write fails with EPIPE (SIGPIPE is ignored in Rust
    // programs), and close must say so rather than pretend the values went out.
    let closed = within("put() then close() with the reader gone", "", move || {
        let _ = tx.put(&msg(1, "lost"));
        tx.close()
    })
    .unwrap_or_else(|m| panic!("{}", wrap(&m)));
    assert_eq!(
        closed,
        Err(ipc::process_queue::PutError::Broken(
            nix::errno::Errno::EPIPE
        )),
        "{}",
        wrap("close() must report that the feeder could not write (EPIPE: nobody reads the pipe)")
    );
}

#[test]
fn a_sender_that_put_nothing_still_closes_the_queue() {
    let (tx, mut rx) = queue::<Msg>().expect("a queue");
    within(
        "dropping a Sender that put nothing",
        "A Sender that never put has no feeder to wait for: dropping it only closes its end.",
        move || drop(tx),
    )
    .unwrap_or_else(|m| panic!("{}", wrap(&m)));
    let got = within(
        "get() after the only sender, which put nothing, was dropped",
        "",
        move || rx.get(),
    )
    .unwrap_or_else(|m| panic!("{}", wrap(&m)));
    assert_eq!(got, Err(GetError::Closed));
}

// ---------------------------------------------------------------------------------------
// Between two processes, through the demo.

const DEMO: &str = env!("CARGO_BIN_EXE_process_queue");

/// The topic's diagnosis of a stuck demo, from what its two processes were doing.
fn diagnose(hang: &Hang) -> String {
    let procs = &hang.snapshot.processes;
    let master = procs
        .iter()
        .find(|p| !procs.iter().any(|q| q.pid == p.ppid));
    let worker = procs.iter().find(|p| Some(p.ppid) == master.map(|m| m.pid));
    let call = |p: Option<&proctest::Process>| {
        p.and_then(|p| p.blocked_in.as_ref())
            .map_or(String::new(), |s| s.name.clone())
    };
    match (call(master).as_str(), call(worker).as_str()) {
        ("wait4" | "waitid", _) => "The master waits for the worker to exit before it has \
            drained the queue, and the worker cannot exit: dropping its Sender waits for the \
            feeder thread, which is blocked writing into the full pipe (64 KiB) that only the \
            master reads. In drain_then_wait, get every value until Closed first, then wait."
            .to_owned(),
        (_, "write") => "The worker is blocked in write() on the queue's pipe in its main \
            thread: put() wrote to the pipe itself. put must hand the value to the feeder thread \
            and return; only the feeder waits for room in the pipe."
            .to_owned(),
        (m, w) => format!(
            "The demo never finished (the master is in {}, the worker in {}).",
            if m.is_empty() { "no system call" } else { m },
            if w.is_empty() { "no system call" } else { w }
        ),
    }
}

fn run(args: &[&str]) -> proctest::Finished {
    common::run_demo(Demo::new(DEMO).args(args), diagnose)
        .unwrap_or_else(|m| panic!("\n{}", wrap(&m)))
}

fn assert_clean(run: &proctest::Finished, what: &str) {
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert!(
        run.code() == Some(0),
        "\n{}",
        wrap(&format!(
            "`process_queue {what}` failed:\n{}{}",
            run.stdout, run.stderr
        ))
    );
}

#[test]
fn every_value_arrives_although_the_worker_exits_right_after_its_last_put() {
    let run = run(&["20000", "16"]);
    assert_clean(&run, "20000 16");
    insta::assert_snapshot!("process_queue_20000_values", run.stdout);
}

#[test]
fn a_master_that_drains_before_it_waits_never_deadlocks() {
    let run = run(&["200", "8192"]);
    assert_clean(&run, "200 8192");
    assert!(
        run.stdout
            .starts_with("master: 200 values of 8192 bytes arrived, whole and in order\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn every_put_returns_before_the_master_reads_anything() {
    let run = run(&["--put-first", "200", "8192"]);
    assert_clean(&run, "--put-first 200 8192");
    insta::assert_snapshot!("process_queue_put_first", run.stdout);
}

#[test]
fn the_master_sleeps_while_the_worker_computes() {
    // The worker computes for 0.2 s of CPU before its first put: a master that waits in
    // get() uses next to nothing meanwhile; one that loops on get_nowait (and try_wait)
    // keeps a CPU busy.
    let run = run(&["--slow", "10", "16"]);
    assert_clean(&run, "--slow 10 16");
    let report = run
        .cpu_report("drain_then_wait")
        .unwrap_or_else(|| panic!("the demo reported no CPU time for drain_then_wait"));
    let effort = std::time::Duration::from_millis(200);
    if let Some(spin) = report.busy_wait(effort) {
        panic!(
            "\n{}",
            spin.explain(
                "The master, in drain_then_wait,",
                "the worker computed before its first put",
                "get() blocks in read() until a value comes, whereas a loop on get_nowait \
                 (or try_wait) never sleeps; and stopping when the worker has exited loses the \
                 values still in the pipe. Call get until it returns Closed, then wait.",
            )
        );
    }
}

#[test]
fn bad_arguments_are_usage_errors_and_start_no_worker() {
    for (args, problem) in [
        (
            &["0"][..],
            "ITEMS must be a whole number from 1 to 100000, not \"0\"",
        ),
        (
            &["10", "65537"][..],
            "SIZE must be a whole number from 0 to 65536",
        ),
        (&["10", "1", "2"][..], "too many arguments"),
        (&["--worker", "1"][..], "--worker takes ITEMS and SIZE"),
    ] {
        run(args).assert_usage_error(
            &format!("`process_queue {}`", args.join(" ")),
            &[
                problem,
                "process_queue [--put-first | --slow] [ITEMS [SIZE]]",
                "just check ipc/process_queue",
            ],
        );
    }
}

// ---------------------------------------------------------------------------------------
// The oracles: plausible wrong receivers the checks above must fail with the message that
// names their mistake, and a right one written differently that must pass.

mod oracles {
    use super::*;
    use nix::errno::Errno;
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;

    /// Waits for readability until `deadline` (None: forever); false when the time ran out.
    fn readable(fd: &OwnedFd, deadline: Option<Instant>) -> Result<bool, GetError> {
        loop {
            let timeout = deadline.map_or(PollTimeout::NONE, |d| {
                let left = d.saturating_duration_since(Instant::now());
                PollTimeout::try_from(left.as_nanos().div_ceil(1_000_000))
                    .unwrap_or(PollTimeout::MAX)
            });
            match poll(&mut [PollFd::new(fd.as_fd(), PollFlags::POLLIN)], timeout) {
                Ok(0) if deadline.is_some_and(|d| Instant::now() >= d) => return Ok(false),
                Ok(0) | Err(Errno::EINTR) => {}
                Ok(_) => return Ok(true),
                Err(e) => return Err(GetError::Sys(e)),
            }
        }
    }

    /// Takes one read for one value.
    struct OneReadOneValue(OwnedFd);

    impl Getter for OneReadOneValue {
        fn from_fd(fd: OwnedFd) -> Self {
            Self(fd)
        }
        fn get(&mut self) -> Result<Msg, GetError> {
            self.get_by(None)
        }
        fn get_timeout(&mut self, timeout: Duration) -> Result<Msg, GetError> {
            self.get_by(Some(Instant::now() + timeout))
        }
        fn get_nowait(&mut self) -> Result<Msg, GetError> {
            self.get_by(Some(Instant::now())).map_err(|e| match e {
                GetError::Timeout => GetError::Empty,
                e => e,
            })
        }
    }

    impl OneReadOneValue {
        fn get_by(&mut self, deadline: Option<Instant>) -> Result<Msg, GetError> {
            if !readable(&self.0, deadline)? {
                return Err(GetError::Timeout);
            }
            let mut buf = [0u8; 65536];
            let n = nix::unistd::read(&self.0, &mut buf).map_err(GetError::Sys)?;
            if n == 0 {
                return Err(GetError::Closed);
            }
            if n < frame::HEADER {
                return Err(GetError::Corrupt("short".to_owned()));
            }
            frame::decode(&buf[frame::HEADER..n]).map_err(GetError::Corrupt)
        }
    }

    /// Reads header then payload with blocking reads once anything is readable: a
    /// right-looking receiver that waits for the rest of a frame past any deadline.
    struct BlockingRest(OwnedFd);

    impl BlockingRest {
        fn read_exact(&self, buf: &mut [u8]) -> Result<bool, GetError> {
            let mut done = 0;
            while done < buf.len() {
                match nix::unistd::read(&self.0, &mut buf[done..]) {
                    Ok(0) if done == 0 => return Ok(false),
                    Ok(0) => return Err(GetError::Corrupt("cut".to_owned())),
                    Ok(n) => done += n,
                    Err(Errno::EINTR) => {}
                    Err(e) => return Err(GetError::Sys(e)),
                }
            }
            Ok(true)
        }

        fn get_by(&mut self, deadline: Option<Instant>) -> Result<Msg, GetError> {
            if !readable(&self.0, deadline)? {
                return Err(GetError::Timeout);
            }
            let mut header = [0u8; frame::HEADER];
            if !self.read_exact(&mut header)? {
                return Err(GetError::Closed);
            }
            let len = frame::payload_len(&header);
            if len > frame::MAX_PAYLOAD {
                return Err(GetError::Corrupt("too long".to_owned()));
            }
            let mut payload = vec![0u8; len];
            if !self.read_exact(&mut payload)? {
                return Err(GetError::Corrupt("cut".to_owned()));
            }
            frame::decode(&payload).map_err(GetError::Corrupt)
        }
    }

    impl Getter for BlockingRest {
        fn from_fd(fd: OwnedFd) -> Self {
            Self(fd)
        }
        fn get(&mut self) -> Result<Msg, GetError> {
            self.get_by(None)
        }
        fn get_timeout(&mut self, timeout: Duration) -> Result<Msg, GetError> {
            self.get_by(Some(Instant::now() + timeout))
        }
        fn get_nowait(&mut self) -> Result<Msg, GetError> {
            self.get_by(Some(Instant::now())).map_err(|e| match e {
                GetError::Timeout => GetError::Empty,
                e => e,
            })
        }
    }

    /// Right, written differently: reads only what `poll` says is there, one byte count
    /// at a time (FIONREAD), into a buffer, and decodes with a cursor instead of draining.
    struct Cursor {
        fd: OwnedFd,
        bytes: Vec<u8>,
        at: usize,
    }

    impl Cursor {
        fn frame(&mut self) -> Result<Option<Msg>, GetError> {
            let rest = &self.bytes[self.at..];
            if rest.len() < frame::HEADER {
                return Ok(None);
            }
            let len = frame::payload_len(rest);
            if len > frame::MAX_PAYLOAD {
                return Err(GetError::Corrupt("too long".to_owned()));
            }
            if rest.len() < frame::HEADER + len {
                return Ok(None);
            }
            let value = frame::decode(&rest[frame::HEADER..frame::HEADER + len])
                .map_err(GetError::Corrupt)?;
            self.at += frame::HEADER + len;
            Ok(Some(value))
        }

        fn get_by(&mut self, deadline: Option<Instant>) -> Result<Msg, GetError> {
            loop {
                if let Some(value) = self.frame()? {
                    return Ok(value);
                }
                if !readable(&self.fd, deadline)? {
                    return Err(GetError::Timeout);
                }
                let mut chunk = vec![0u8; 4096];
                match nix::unistd::read(&self.fd, &mut chunk) {
                    Ok(0) if self.at == self.bytes.len() => return Err(GetError::Closed),
                    Ok(0) => return Err(GetError::Corrupt("cut".to_owned())),
                    Ok(n) => self.bytes.extend_from_slice(&chunk[..n]),
                    Err(Errno::EINTR | Errno::EAGAIN) => {}
                    Err(e) => return Err(GetError::Sys(e)),
                }
            }
        }
    }

    impl Getter for Cursor {
        fn from_fd(fd: OwnedFd) -> Self {
            Self {
                fd,
                bytes: Vec::new(),
                at: 0,
            }
        }
        fn get(&mut self) -> Result<Msg, GetError> {
            self.get_by(None)
        }
        fn get_timeout(&mut self, timeout: Duration) -> Result<Msg, GetError> {
            self.get_by(Some(Instant::now() + timeout))
        }
        fn get_nowait(&mut self) -> Result<Msg, GetError> {
            self.get_by(Some(Instant::now())).map_err(|e| match e {
                GetError::Timeout => GetError::Empty,
                e => e,
            })
        }
    }

    /// Right but for its timeout: turns the deadline into a poll timeout once, and gives
    /// every poll that same timeout.
    struct TimeoutOnce(Cursor);

    impl Getter for TimeoutOnce {
        fn from_fd(fd: OwnedFd) -> Self {
            Self(Cursor::from_fd(fd))
        }
        fn get(&mut self) -> Result<Msg, GetError> {
            self.0.get()
        }
        fn get_timeout(&mut self, timeout: Duration) -> Result<Msg, GetError> {
            let each = PollTimeout::try_from(timeout.as_millis()).unwrap_or(PollTimeout::MAX);
            loop {
                if let Some(value) = self.0.frame()? {
                    return Ok(value);
                }
                let fd = self.0.fd.as_fd();
                match poll(&mut [PollFd::new(fd, PollFlags::POLLIN)], each) {
                    Ok(0) => return Err(GetError::Timeout),
                    Ok(_) | Err(Errno::EINTR) => {}
                    Err(e) => return Err(GetError::Sys(e)),
                }
                let mut chunk = [0u8; 4096];
                match nix::unistd::read(&self.0.fd, &mut chunk) {
                    Ok(0) => return Err(GetError::Closed),
                    Ok(n) => self.0.bytes.extend_from_slice(&chunk[..n]),
                    Err(Errno::EINTR | Errno::EAGAIN) => {}
                    Err(e) => return Err(GetError::Sys(e)),
                }
            }
        }
        fn get_nowait(&mut self) -> Result<Msg, GetError> {
            self.0.get_nowait()
        }
    }

    /// A sender whose close hands the bytes to a writing thread and returns at once.
    struct Detached(std::sync::Mutex<(Option<OwnedFd>, Vec<u8>)>);

    impl Putter for Detached {
        fn from_fd(fd: OwnedFd) -> Self {
            Self(std::sync::Mutex::new((Some(fd), Vec::new())))
        }
        fn put(&self, value: &Msg) {
            let mut inner = self.0.lock().expect("not poisoned");
            inner.1.extend(frame_of(value));
        }
        fn close(self) {
            let (fd, bytes) = self.0.into_inner().expect("not poisoned");
            let fd = fd.expect("open");
            std::thread::spawn(move || {
                let _ = proctest::child::write_all(&fd, &bytes);
            });
        }
    }

    #[test]
    fn a_timeout_computed_once_is_told_its_deadline_moves() {
        let m = check_trickle::<TimeoutOnce>().err().unwrap_or_default();
        assert!(m.contains("each piece started a fresh 300 ms wait"), "{m}");
        assert!(m.contains("A deadline that moves."), "{m}");
    }

    #[test]
    fn a_close_that_does_not_wait_for_its_writer_is_told_to_join_the_feeder() {
        let m = check_close_waits_for_the_feeder::<Detached>()
            .err()
            .unwrap_or_default();
        assert!(
            m.contains("close() returned while the feeder was still writing"),
            "{m}"
        );
        assert!(m.contains("flush must join() the feeder thread"), "{m}");
    }

    #[test]
    fn one_read_taken_for_one_value_is_told_to_buffer() {
        let m = check_receiver::<OneReadOneValue>()
            .err()
            .unwrap_or_default();
        assert!(
            m.contains("get_nowait() returned Err(GetError::Corrupt(..)) instead of Err(GetError::Empty) (a value that arrives in three pieces)"),
            "{m}"
        );
        assert!(m.contains("part of a value is not a corrupt value"), "{m}");
    }

    #[test]
    fn waiting_for_the_rest_of_a_value_past_the_deadline_is_reported_stuck() {
        let m = check_receiver::<BlockingRest>().err().unwrap_or_default();
        assert!(
            m.contains("get_nowait() (a value that arrives in three pieces) did not return within"),
            "{m}"
        );
        assert!(m.contains("stuck in read() on fd"), "{m}");
    }

    #[test]
    fn a_receiver_with_a_cursor_is_right_too() {
        assert_eq!(check_receiver::<Cursor>().err().unwrap_or_default(), "");
        assert_eq!(check_trickle::<Cursor>().err().unwrap_or_default(), "");
    }
}
