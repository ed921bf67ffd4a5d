//! Checks `ipc/zero_copy`: the three copies deliver exactly bytes `offset..offset + count`
//! of the file (fewer only at its end) to a pipe or a socket, whatever each system call
//! moves, leave the file's own offset alone and leave nothing open.
//!
//! Every check takes the copy function as an argument, so that the oracle tests at the end
//! can run the same checks against plausible wrong copies (and right ones written
//! differently) and pin the message each gets. The tests of this file take one lock each:
//! they run one at a time, so that the descriptors counted before and after a call are
//! that call's only.

mod common;

use common::{new_fds, open_fds, verdict, within};
use ipc::zero_copy::{with_read_write, with_sendfile, with_splice};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
use nix::unistd::pipe2;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// The signature of the three copies.
type Copier = fn(&File, u64, u64, BorrowedFd<'_>) -> io::Result<u64>;

/// One test at a time (see the module's documentation).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Bytes that differ from their neighbours, so that a shifted copy never matches.
fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(2_654_435_761).rotate_right(13) as u8)
        .collect()
}

/// A temporary file holding `bytes`, its own offset set to `position`.
fn file_with(bytes: &[u8], position: u64) -> (tempfile::NamedTempFile, File) {
    // Named for what it is, for the descriptor lists of a stuck copy ("fd 4 ($TMPDIR/
    // the-file-copied-...)").
    let mut tmp = tempfile::Builder::new()
        .prefix("the-file-copied-")
        .tempfile()
        .expect("a temporary file");
    tmp.write_all(bytes).expect("write the temporary file");
    let mut file = tmp.reopen().expect("reopen the temporary file");
    file.seek(SeekFrom::Start(position)).expect("seek");
    (tmp, file)
}

/// Where the copy goes.
#[derive(Clone, Copy, Debug)]
enum Dest {
    /// A pipe (64 KiB).
    Pipe,
    /// A pipe shrunk to one page (4 KiB): every call moves at most 4 KiB.
    SmallPipe,
    /// A UNIX stream socket.
    Socket,
}

impl Dest {
    fn words(self) -> &'static str {
        match self {
            Dest::Pipe => "a pipe",
            Dest::SmallPipe => "a pipe of 4 KiB",
            Dest::Socket => "a socket",
        }
    }

    /// The end the copy writes to, and a thread that reads everything from the other end
    /// until end of file.
    fn open(self) -> (OwnedFd, JoinHandle<Vec<u8>>) {
        let (read_end, write_end) = match self {
            Dest::Pipe | Dest::SmallPipe => pipe2(OFlag::O_CLOEXEC).expect("pipe2"),
            Dest::Socket => socketpair(
                AddressFamily::Unix,
                SockType::Stream,
                None,
                SockFlag::SOCK_CLOEXEC,
            )
            .expect("socketpair"),
        };
        if let Dest::SmallPipe = self {
            fcntl(&write_end, FcntlArg::F_SETPIPE_SZ(4096)).expect("F_SETPIPE_SZ");
        }
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            File::from(read_end)
                .read_to_end(&mut got)
                .expect("read the destination");
            got
        });
        (write_end, reader)
    }
}

/// One copy to check: `count` bytes from `offset` of a file of `len` bytes whose own
/// offset is `position`, to `dest`.
#[derive(Clone, Copy, Debug)]
struct Case {
    len: usize,
    offset: u64,
    count: u64,
    position: u64,
    dest: Dest,
}

impl Case {
    fn describe(&self, name: &str) -> String {
        format!(
            "{name}(file of {} bytes, offset {}, count {}) to {}",
            self.len,
            self.offset,
            self.count,
            self.dest.words()
        )
    }
}

/// Why a copy `call` failed with `e`, in the step's words: EAGAIN is a non-blocking flag
/// (SPLICE_F_NONBLOCK, O_NONBLOCK) where the copy must wait for a slow reader.
fn failed(call: &str, e: &std::io::Error) -> String {
    if e.raw_os_error() == Some(libc::EAGAIN) {
        format!(
            "{call} failed with EAGAIN: a call would have had to wait, for a full pipe \
             to drain or for room at the destination, and was told not to (SPLICE_F_NONBLOCK, \
             or a descriptor in O_NONBLOCK mode). The destination's reader is slow: the copy \
             must wait for it, so make blocking calls (no SPLICE_F_NONBLOCK). A copy that \
             would not wait."
        )
    } else {
        format!("{call} failed: {e}")
    }
}

/// Why a copy did not return, from the system call its thread sits in (`blocked`, empty
/// when it is running, in none); `past_end`: whether the range asked for goes past the end
/// of the file.
fn stuck_copy(blocked: &str, past_end: bool) -> String {
    match blocked {
        "" if past_end => "It never waits: it keeps running, a loop that never ends. The range \
            goes past the end of the file, and there sendfile and splice return 0, nothing \
            left to move: stop there and return what was copied, fewer than count."
            .to_owned(),
        "" => "It never waits: it keeps running, a loop that never ends. Look at how the \
            result of each call moves the loop forward (a call may move fewer bytes than asked)."
            .to_owned(),
        "splice" => "A splice into a pipe that nobody empties waits forever (for instance \
            from the file into your own pipe while it still holds what the last round left in \
            it: one splice out may move less than the pipe holds): empty your pipe completely before the next splice \
            in."
        .to_owned(),
        call => format!(
            "{call}() waits for something that does not come: the destination is read until \
             the copy returns, so look at what else your copy waits for."
        ),
    }
}

/// Runs `copy` on `case` and judges what reached the destination, the value returned,
/// the file's own offset and the descriptors left open.
fn check(name: &str, copy: Copier, case: Case) -> Result<(), String> {
    let data = pattern(case.len);
    let (_tmp, file) = file_with(&data, case.position);
    let call = case.describe(name);
    let before = open_fds();
    let (dst, reader) = case.dest.open();
    let past_end = case.offset + case.count > case.len as u64;
    let (returned, file) = common::within_by(
        &call,
        |blocked| stuck_copy(blocked, past_end),
        move || {
            let returned = copy(&file, case.offset, case.count, dst.as_fd());
            drop(dst);
            (returned, file)
        },
    )?;
    let received = reader.join().expect("the reader thread never panics");
    let mut file = file;
    let position_after = file.stream_position().expect("stream_position");
    drop(file);
    let leaked = new_fds(&before);
    let start = usize::try_from(case.offset)
        .unwrap_or(usize::MAX)
        .min(case.len);
    let end = usize::try_from(case.offset.saturating_add(case.count))
        .unwrap_or(usize::MAX)
        .min(case.len);
    let expected = &data[start..end];
    let returned = returned.map_err(|e| failed(&call, &e))?;
    if received != expected {
        let at_position = {
            let p = usize::try_from(case.position)
                .unwrap_or(case.len)
                .min(case.len);
            &data[p..(p + received.len()).min(case.len)]
        };
        let cause = if returned as usize > received.len()
            && received.len() < expected.len()
            && received == expected[..received.len()]
        {
            format!(
                "it returned {returned} but only {} bytes reached the destination: the rest \
                 stayed on the way. Everything spliced into your pipe must be spliced out to \
                 `dst` before the next round and before returning",
                received.len()
            )
        } else if received.len() < expected.len() && received == expected[..received.len()] {
            format!(
                "it stopped after {} of {} bytes. One call moves at most what the destination \
                 takes at once (a pipe holds 64 KiB, or less): call again until `count` bytes \
                 went or the call returns 0, the end of the file",
                received.len(),
                expected.len()
            )
        } else if case.position != case.offset && !received.is_empty() && received == at_position {
            format!(
                "the bytes came from the file's own offset ({}), not from `offset` ({}): read at \
                 an explicit offset (`pread`, or `Some(&mut offset)` for sendfile and splice)",
                case.position, case.offset
            )
        } else if received.len() > expected.len() {
            format!(
                "{} bytes arrived for {} expected: more than asked (does it stop at `count`?)",
                received.len(),
                expected.len()
            )
        } else {
            let first = received
                .iter()
                .zip(expected)
                .position(|(a, b)| a != b)
                .unwrap_or(received.len().min(expected.len()));
            format!(
                "{} bytes arrived for {} expected, the first difference at byte {first}: bytes \
                 lost, repeated or out of order",
                received.len(),
                expected.len()
            )
        };
        return Err(format!("{call} delivered the wrong bytes: {cause}."));
    }
    if returned != expected.len() as u64 {
        return Err(format!(
            "{call} delivered the right {} bytes but returned {returned}: return how many bytes \
             were copied ({} here{})",
            expected.len(),
            expected.len(),
            if (expected.len() as u64) < case.count {
                ", since the file ends first"
            } else {
                ""
            }
        ));
    }
    if position_after != case.position {
        return Err(format!(
            "{call} moved the file's own offset from {} to {position_after}: read at an \
             explicit offset (`pread`, or `Some(&mut offset)` for sendfile and splice), so that \
             the caller's file is left as it was",
            case.position
        ));
    }
    if !leaked.is_empty() {
        return Err(format!(
            "{call} left descriptors open: {}. Close what the copy opened (an OwnedFd closes \
             when it goes out of scope)",
            leaked.join(", ")
        ));
    }
    Ok(())
}

/// The cases every copy must pass, in the order a student meets them.
fn cases() -> Vec<Case> {
    let big = 3 * 1024 * 1024 + 4321;
    let case = |len, offset, count, position, dest| Case {
        len,
        offset,
        count,
        position,
        dest,
    };
    vec![
        case(10_000, 0, 10_000, 0, Dest::Socket),
        case(big, 0, big as u64, 0, Dest::Pipe),
        case(big, 0, big as u64, 0, Dest::Socket),
        case(big, 100_001, 1_000_000, 7, Dest::Pipe),
        case(300_000, 12_345, 200_000, 0, Dest::SmallPipe),
        case(100_000, 99_000, 5_000, 3, Dest::Pipe),
        case(100_000, 100_000, 10, 0, Dest::Socket),
        case(100_000, 500_000, 10, 0, Dest::Pipe),
        case(0, 0, 4096, 0, Dest::Pipe),
        case(50_000, 10, 0, 5, Dest::Pipe),
    ]
}

fn check_all(name: &str, copy: Copier) -> Result<(), String> {
    cases()
        .into_iter()
        .try_for_each(|case| check(name, copy, case))
}

/// What happens when nobody reads the destination any more: an error, not a hang.
fn check_closed_reader(name: &str, copy: Copier) -> Result<(), String> {
    let data = pattern(200_000);
    let (_tmp, file) = file_with(&data, 0);
    let before = open_fds();
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    drop(read_end);
    let call = format!("{name}(200000 bytes) to a pipe whose reader has closed it");
    let result = within(
        &call,
        "A write to a pipe without readers fails with EPIPE: return that error.",
        move || copy(&file, 0, 200_000, write_end.as_fd()),
    )?;
    let leaked = new_fds(&before);
    match result {
        Err(e) if e.raw_os_error() == Some(libc::EPIPE) => {}
        Err(e) => return Err(format!("{call} failed with {e}, not EPIPE (broken pipe)")),
        Ok(n) => {
            return Err(format!(
                "{call} returned Ok({n}): the bytes went nowhere, return the error (EPIPE)"
            ));
        }
    }
    if !leaked.is_empty() {
        return Err(format!(
            "{call} left descriptors open on its error path: {}. Close them on every path",
            leaked.join(", ")
        ));
    }
    Ok(())
}

/// What a signal does to a copy that waits: the destination, a pipe, is full before the
/// call, so the copy sleeps in the kernel until someone reads. Once it sleeps, SIGUSR2
/// (handled without SA_RESTART) is sent to its thread, so the call it waits in fails with
/// EINTR having moved nothing; only after the handler ran does a reader empty the pipe.
/// The copy must call again and deliver every byte.
fn check_interrupted(name: &str, copy: Copier) -> Result<(), String> {
    let len = 200_000;
    let data = pattern(len);
    let (_tmp, file) = file_with(&data, 0);
    let (read_end, write_end) = pipe2(OFlag::O_CLOEXEC).expect("pipe2");
    let room = fcntl(&write_end, FcntlArg::F_GETPIPE_SZ).expect("F_GETPIPE_SZ");
    let filler = vec![b'.'; usize::try_from(room).expect("a pipe's size")];
    nix::unistd::write(&write_end, &filler).expect("fill the pipe");
    let call = format!(
        "{name}(file of {len} bytes, offset 0, count {len}) to a full pipe, interrupted by a \
         signal while it waited for room,"
    );
    let reader = std::sync::Mutex::new(None);
    let interrupted = AtomicBool::new(false);
    let result = common::within_while(
        &call,
        |blocked| stuck_copy(blocked, false),
        move || {
            let returned = copy(&file, 0, len as u64, write_end.as_fd());
            drop(write_end);
            returned
        },
        |tid| {
            // Once the copy sleeps in its own call (not a moment in a lock of the
            // allocator), unless it is gone (a copy that failed at once).
            interrupted.store(
                proctest::interrupt_thread(tid, common::BUDGET).is_some(),
                Ordering::SeqCst,
            );
            *reader.lock().expect("one thread") = Some(std::thread::spawn(move || {
                let mut got = Vec::new();
                File::from(read_end)
                    .read_to_end(&mut got)
                    .expect("read the pipe");
                got
            }));
        },
    );
    // A stuck copy still holds the pipe's write end: its reader is left behind too.
    let returned = result?;
    let received = reader
        .into_inner()
        .expect("one thread")
        .map(|r| r.join().expect("the reader thread never panics"));
    let interrupted = interrupted.load(Ordering::SeqCst);
    match returned {
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => Err(format!(
            "{call} failed with EINTR. EINTR only says that a signal handler ran while the call \
             waited, not that anything is wrong with the file or the destination; that call \
             moved nothing, and the copy is not done. Its doc says that the first failing call \
             other than EINTR is an error, so on EINTR make the same call again. Interrupted \
             copy not resumed."
        )),
        Err(e) => Err(failed(&call, &e)),
        Ok(n) => {
            let received = received.unwrap_or_default();
            let got = received.get(filler.len()..).unwrap_or_default();
            if got == &data[..] && n == len as u64 {
                Ok(())
            } else if got.len() < len && got == &data[..got.len()] {
                Err(format!(
                    "{call} returned Ok({n}) after {} of {len} bytes{}: a call that fails with \
                     EINTR moved nothing, and the copy is not done. Make the same call again \
                     until `count` bytes went or the file ends. Interrupted copy not resumed.",
                    got.len(),
                    if interrupted {
                        ", once the signal had interrupted it"
                    } else {
                        ""
                    }
                ))
            } else if got != &data[..] {
                Err(format!(
                    "{call} delivered the wrong bytes: {} bytes arrived for {len} expected, \
                     not the first {len} of the file in order",
                    got.len()
                ))
            } else {
                Err(format!(
                    "{call} delivered the right {len} bytes but returned {n}: return how many \
                     bytes were copied"
                ))
            }
        }
    }
}

#[test]
fn read_write_copies_exactly_the_range_asked_for() {
    let _one = serial();
    verdict(check_all("with_read_write", with_read_write));
}

#[test]
fn sendfile_copies_exactly_the_range_asked_for() {
    let _one = serial();
    verdict(check_all("with_sendfile", with_sendfile));
}

#[test]
fn splice_copies_exactly_the_range_asked_for() {
    let _one = serial();
    verdict(check_all("with_splice", with_splice));
}

#[test]
fn every_copy_reports_a_closed_reader_as_an_error() {
    let _one = serial();
    for (name, copy) in [
        ("with_read_write", with_read_write as Copier),
        ("with_sendfile", with_sendfile),
        ("with_splice", with_splice),
    ] {
        verdict(check_closed_reader(name, copy));
    }
}

#[test]
fn every_copy_goes_on_when_a_signal_interrupts_it() {
    let _one = serial();
    for (name, copy) in [
        ("with_read_write", with_read_write as Copier),
        ("with_sendfile", with_sendfile),
        ("with_splice", with_splice),
    ] {
        verdict(check_interrupted(name, copy));
    }
}

/// Printable bytes, so that the demo's output (read back as text) compares exactly.
fn text(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i * 7 % 26) as u8).collect()
}

#[test]
fn the_demo_sends_a_file_bigger_than_a_pipe_with_each_method() {
    let _one = serial();
    let data = text(300_000);
    let (tmp, _file) = file_with(&data, 0);
    for method in ["read-write", "sendfile", "splice"] {
        let run = common::run_demo(
            proctest::Demo::new(env!("CARGO_BIN_EXE_zero_copy")).args([
                method,
                &tmp.path().to_string_lossy(),
                "1000",
                "250000",
            ]),
            |_| format!("`zero_copy {method}` never finished: a copy is stuck"),
        )
        .unwrap_or_else(|m| panic!("{m}"));
        assert_eq!(
            run.code(),
            Some(0),
            "zero_copy {method} failed:\n{}",
            run.stderr
        );
        assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
        assert!(
            run.stdout.as_bytes() == &data[1000..251_000],
            "zero_copy {method} wrote {} bytes, not bytes 1000..251000 of the file",
            run.stdout.len()
        );
        assert_eq!(
            run.stderr,
            format!(
                "zero_copy: {method} copied 250000 bytes; the file's own offset did not move\n"
            )
        );
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let _one = serial();
    let demo = || proctest::Demo::new(env!("CARGO_BIN_EXE_zero_copy"));
    let cases: [(&[&str], &str); 5] = [
        (&[], "missing the method and the file"),
        (&["copy", "Cargo.toml"], "unknown method \"copy\""),
        (
            &["splice", "Cargo.toml", "-1"],
            "OFFSET must be a whole number from 0",
        ),
        (
            &["splice", "Cargo.toml", "0", "many"],
            "COUNT must be a whole number from 0",
        ),
        (&["splice", "a", "1", "2", "3"], "too many arguments"),
    ];
    for (args, problem) in cases {
        let run = common::run_demo(demo().args(args), |_| "stuck on bad input".to_owned())
            .unwrap_or_else(|m| panic!("{m}"));
        run.assert_usage_error(
            &format!("`zero_copy {}`", args.join(" ")),
            &[problem, "zero_copy METHOD FILE", "just check ipc/zero_copy"],
        );
    }
}

// The oracles: plausible wrong copies that the checks above must fail with the message
// that names their mistake, and right ones written differently that must pass.

mod oracles {
    use super::*;
    use nix::errno::Errno;
    use nix::fcntl::{SpliceFFlags, splice};
    use nix::sys::sendfile::sendfile;
    use nix::unistd::{Whence, lseek};

    fn want(count: u64, done: u64) -> usize {
        usize::try_from(count - done).map_or(1 << 16, |left| left.min(1 << 16))
    }

    /// One sendfile call, at the right offset: stops after what the destination took.
    fn sendfile_once(src: &File, offset: u64, count: u64, dst: BorrowedFd<'_>) -> io::Result<u64> {
        let mut at = offset as i64;
        Ok(sendfile(
            dst,
            src,
            Some(&mut at),
            usize::try_from(count).unwrap_or(usize::MAX),
        )? as u64)
    }

    /// A loop, but at the file's own offset (after seeking there: the offset moves).
    fn sendfile_seeking(
        src: &File,
        offset: u64,
        count: u64,
        dst: BorrowedFd<'_>,
    ) -> io::Result<u64> {
        lseek(src, offset as i64, Whence::SeekSet)?;
        let mut done = 0;
        while done < count {
            match sendfile(dst, src, None, want(count, done)) {
                Ok(0) => break,
                Ok(n) => done += n as u64,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(done)
    }

    /// A loop at the file's own offset, never looking at `offset`.
    fn sendfile_ignoring_offset(
        src: &File,
        _offset: u64,
        count: u64,
        dst: BorrowedFd<'_>,
    ) -> io::Result<u64> {
        let mut done = 0;
        while done < count {
            match sendfile(dst, src, None, want(count, done))? {
                0 => break,
                n => done += n as u64,
            }
        }
        Ok(done)
    }

    /// Right, but takes EINTR for an error.
    fn sendfile_giving_up_on_eintr(
        src: &File,
        offset: u64,
        count: u64,
        dst: BorrowedFd<'_>,
    ) -> io::Result<u64> {
        let mut at = offset as i64;
        let mut done = 0;
        while done < count {
            match sendfile(dst, src, Some(&mut at), want(count, done))? {
                0 => break,
                n => done += n as u64,
            }
        }
        Ok(done)
    }

    /// Right, but stops (with what it copied so far) on EINTR.
    fn sendfile_stopping_on_eintr(
        src: &File,
        offset: u64,
        count: u64,
        dst: BorrowedFd<'_>,
    ) -> io::Result<u64> {
        let mut at = offset as i64;
        let mut done = 0;
        while done < count {
            match sendfile(dst, src, Some(&mut at), want(count, done)) {
                Ok(0) | Err(Errno::EINTR) => break,
                Ok(n) => done += n as u64,
                Err(e) => return Err(e.into()),
            }
        }
        Ok(done)
    }

    /// Right, written differently: seeks, sends at the file's offset, and seeks back.
    fn sendfile_restoring(
        src: &File,
        offset: u64,
        count: u64,
        dst: BorrowedFd<'_>,
    ) -> io::Result<u64> {
        let saved = lseek(src, 0, Whence::SeekCur)?;
        let result = sendfile_seeking(src, offset, count, dst);
        lseek(src, saved, Whence::SeekSet)?;
        result
    }

    /// One splice out per splice in: what the destination did not take stays in the pipe,
    /// which fills up.
    fn splice_not_draining(
        src: &File,
        offset: u64,
        count: u64,
        dst: BorrowedFd<'_>,
    ) -> io::Result<u64> {
        let (out, inp) = pipe2(OFlag::O_CLOEXEC)?;
        let mut at = offset as i64;
        let mut done = 0;
        while done < count {
            let n = splice(
                src.as_fd(),
                Some(&mut at),
                &inp,
                None,
                want(count, done),
                SpliceFFlags::empty(),
            )?;
            if n == 0 {
                break;
            }
            splice(&out, None, dst, None, n, SpliceFFlags::empty())?;
            done += n as u64;
        }
        Ok(done)
    }

    /// Right, but forgets its pipe.
    fn splice_leaking(src: &File, offset: u64, count: u64, dst: BorrowedFd<'_>) -> io::Result<u64> {
        let (out, inp) = pipe2(OFlag::O_CLOEXEC)?;
        let mut at = offset as i64;
        let mut done = 0;
        while done < count {
            let n = splice(
                src.as_fd(),
                Some(&mut at),
                &inp,
                None,
                want(count, done),
                SpliceFFlags::empty(),
            )?;
            if n == 0 {
                break;
            }
            let mut left = n;
            while left > 0 {
                left -= splice(&out, None, dst, None, left, SpliceFFlags::empty())?;
            }
            done += n as u64;
        }
        std::mem::forget((out, inp));
        Ok(done)
    }

    /// Right, but answers `count` even when the file ended first.
    fn splice_returning_count(
        src: &File,
        offset: u64,
        count: u64,
        dst: BorrowedFd<'_>,
    ) -> io::Result<u64> {
        reference_splice(src, offset, count, dst).map(|_| count)
    }

    /// Right, written differently: when the destination is itself a pipe, splice straight
    /// into it.
    fn splice_direct_to_pipes(
        src: &File,
        offset: u64,
        count: u64,
        dst: BorrowedFd<'_>,
    ) -> io::Result<u64> {
        let stat = nix::sys::stat::fstat(dst)?;
        if stat.st_mode & libc::S_IFMT != libc::S_IFIFO {
            return reference_splice(src, offset, count, dst);
        }
        let mut at = offset as i64;
        let mut done = 0;
        while done < count {
            match splice(
                src.as_fd(),
                Some(&mut at),
                dst,
                None,
                want(count, done),
                SpliceFFlags::empty(),
            ) {
                Ok(0) => break,
                Ok(n) => done += n as u64,
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(done)
    }

    /// The reference's shape, written here so that the oracles do not depend on the
    /// student's file.
    fn reference_splice(
        src: &File,
        offset: u64,
        count: u64,
        dst: BorrowedFd<'_>,
    ) -> io::Result<u64> {
        let (out, inp) = pipe2(OFlag::O_CLOEXEC)?;
        let mut at = offset as i64;
        let mut done = 0;
        while done < count {
            let n = match splice(
                src.as_fd(),
                Some(&mut at),
                &inp,
                None,
                want(count, done),
                SpliceFFlags::empty(),
            ) {
                Ok(0) => break,
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut left = n;
            while left > 0 {
                match splice(&out, None, dst, None, left, SpliceFFlags::empty()) {
                    Ok(moved) => left -= moved,
                    Err(Errno::EINTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            done += n as u64;
        }
        Ok(done)
    }

    /// Right, written differently: reads through a mapping of the file, writes from it
    /// (one copy through user space instead of two).
    fn through_a_mapping(
        src: &File,
        offset: u64,
        count: u64,
        dst: BorrowedFd<'_>,
    ) -> io::Result<u64> {
        let data = {
            let mut all = Vec::new();
            let mut f = src.try_clone()?;
            let saved = f.stream_position()?;
            f.seek(SeekFrom::Start(0))?;
            f.read_to_end(&mut all)?;
            f.seek(SeekFrom::Start(saved))?;
            all
        };
        let start = (offset as usize).min(data.len());
        let end = (offset.saturating_add(count) as usize).min(data.len());
        let mut chunk = &data[start..end];
        while !chunk.is_empty() {
            match nix::unistd::write(dst, chunk) {
                Ok(n) => chunk = &chunk[n..],
                Err(Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok((end - start) as u64)
    }

    fn message(copy: Copier) -> String {
        let _one = serial();
        match check_all("copy", copy)
            .and_then(|()| check_closed_reader("copy", copy))
            .and_then(|()| check_interrupted("copy", copy))
        {
            Ok(()) => String::new(),
            Err(message) => message,
        }
    }

    #[test]
    fn one_sendfile_call_is_told_to_loop() {
        let m = message(sendfile_once);
        assert!(m.contains("it stopped after 65536 of"), "{m}");
        assert!(m.contains("call again until `count` bytes went"), "{m}");
    }

    #[test]
    fn sendfile_at_the_files_own_offset_is_told_to_use_an_explicit_offset() {
        let m = message(sendfile_seeking);
        assert!(m.contains("moved the file's own offset from 0 to"), "{m}");
        let m = message(sendfile_ignoring_offset);
        assert!(
            m.contains("moved the file's own offset from 0 to 10000"),
            "{m}"
        );
    }

    #[test]
    fn a_splice_that_leaves_bytes_in_its_pipe_is_told_to_empty_it() {
        let m = message(splice_not_draining);
        assert!(
            m.contains("but only ") && m.contains("bytes reached the destination"),
            "{m}"
        );
        assert!(
            m.contains("must be spliced out to `dst` before the next round"),
            "{m}"
        );
    }

    #[test]
    fn a_forgotten_pipe_is_a_leak() {
        let m = message(splice_leaking);
        assert!(m.contains("left descriptors open:"), "{m}");
        assert!(m.contains("-> pipe:["), "{m}");
    }

    #[test]
    fn answering_count_at_the_end_of_the_file_is_wrong() {
        let m = message(splice_returning_count);
        assert!(
            m.contains("delivered the right 1000 bytes but returned 5000"),
            "{m}"
        );
        assert!(m.contains("since the file ends first"), "{m}");
    }

    #[test]
    fn a_copy_that_gives_up_on_eintr_is_told_to_call_again() {
        let m = message(sendfile_giving_up_on_eintr);
        assert!(m.contains("to a full pipe, interrupted by a signal"), "{m}");
        assert!(m.contains("failed with EINTR"), "{m}");
        assert!(m.ends_with("Interrupted copy not resumed."), "{m}");
        let m = message(sendfile_stopping_on_eintr);
        assert!(m.contains("returned Ok(0) after 0 of 200000 bytes"), "{m}");
        assert!(m.ends_with("Interrupted copy not resumed."), "{m}");
    }

    #[test]
    fn right_copies_written_differently_pass() {
        for copy in [
            sendfile_restoring as Copier,
            splice_direct_to_pipes,
            reference_splice,
            through_a_mapping,
        ] {
            assert_eq!(message(copy), "");
        }
    }
}
