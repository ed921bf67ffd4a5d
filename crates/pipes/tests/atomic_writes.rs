//! Checks `pipes/atomic_writes`: records of at most PIPE_BUF bytes written by several
//! processes into one pipe arrive whole; the test checks every record itself.

mod common;

use common::{assert_clean, assert_usage_error};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::unistd::{pipe, write};
use pipes::atomic_writes::{Received, WriteError, read_records, write_record};
use pipes::sys::{PIPE_BUF, record};
use proctest::{Call, Demo, Finished, within, wrap};
use std::collections::BTreeMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A file path in a directory of this test's own, removed (with its contents) on drop,
/// also when the test fails.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("pipes-atomic-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self { dir }
    }

    fn file(&self) -> PathBuf {
        self.dir.join("records")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn atomic_writes(args: &[&str]) -> Finished {
    let demo = Demo::new(env!("CARGO_BIN_EXE_atomic_writes")).args(args);
    match demo.timeout(common::WATCHDOG).run() {
        Ok(finished) => finished,
        Err(hang) => {
            let parent = common::leader(&hang.snapshot);
            let role = |p: &proctest::Process| {
                if Some(p.pid) == parent {
                    "the reader".to_owned()
                } else {
                    format!("writer pid {}", p.pid)
                }
            };
            panic!("{}", common::diagnose(&hang, &role))
        }
    }
}

/// The stray bytes the demo counted ("received N records and M stray bytes").
fn stray_bytes(run: &proctest::Finished) -> usize {
    run.stdout
        .split_once(" records and ")
        .and_then(|(_, rest)| rest.split(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// When the demo's writers failed: why, for the student (the writers' own error lines, and
/// what a `Short` with nothing written means).
fn writers_failed(run: &proctest::Finished, size: usize) -> Option<String> {
    let failures: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains(", record ") && !l.contains("EPIPE"))
        .collect();
    let first = failures.first()?;
    let said = first.split_once(": ").map_or(*first, |(_, said)| said);
    Some(if first.contains("short write: 0 of") {
        format!(
            "write_record returned Short having written nothing, for a record of {size} bytes \
             ({} writer(s) stopped so). Every record is written the same way, \
             with one write(): a blocking pipe takes it all, in pieces that other writers' \
             pieces may come between (allowed above PIPE_BUF); only a write() that took part \
             of the record is Short. A record refused.",
            failures.len()
        )
    } else {
        format!(
            "write_record failed where one write() of a whole record to a blocking pipe \
             succeeds ({said}; {} writer(s) stopped so). EINTR before anything was written is \
             tried again. Writers failed.",
            failures.len()
        )
    })
}

/// Runs the demo with `writers` writers sending `records` records of `size` bytes, and
/// checks every record of the stream it received: each one whole (header, payload of
/// its writer's letter only, checksum), each (writer, seq) exactly once, each writer's in
/// order.
fn check_all_whole(name: &str, writers: u32, records: u32, size: usize) {
    let scratch = Scratch::new(name);
    let dump = scratch.file();
    let run = atomic_writes(&[
        "--writers",
        &writers.to_string(),
        "--records",
        &records.to_string(),
        "--size",
        &size.to_string(),
        "--dump",
        dump.to_str().expect("a UTF-8 temp path"),
    ]);
    let stream = std::fs::read(&dump).unwrap_or_default();
    assert!(
        !stream.is_empty() || run.code() == Some(0),
        "the demo failed (status {:?}) before it had records to check; its error output:\n{}",
        run.code(),
        run.stderr
    );
    let mut next_seq: BTreeMap<u32, u32> = BTreeMap::new();
    for (i, bytes) in stream.chunks_exact(size).enumerate() {
        let (writer, seq) = record::check(bytes).unwrap_or_else(|why| {
            panic!(
                "record #{i} (bytes {}..{}) is not whole: {why}. A record of at most PIPE_BUF \
                 bytes written with one write() cannot be interleaved: is it written in one \
                 call, and does the reader cut the stream by size, not by read()?",
                i * size,
                (i + 1) * size
            )
        });
        assert!(writer < writers, "record #{i} claims writer {writer}");
        let expected = next_seq.entry(writer).or_insert(0);
        assert_eq!(
            seq, *expected,
            "record #{i}: writer {writer}'s records must arrive once each, in order"
        );
        *expected += 1;
    }
    let expected_len = writers as usize * records as usize * size;
    // A writer that failed explains missing records itself (its error, on stderr), unless
    // it failed with EPIPE: the reader had gone, which is the reader's doing.
    if let Some(why) = writers_failed(&run, size) {
        panic!("{}", proctest::verdict(&run.stdout, &why));
    }
    let stray = stray_bytes(&run);
    let why = if stream.len() + stray == expected_len {
        format!(
            "read_records read every byte that {writers} writers sent ({records} records of \
             {size} bytes each) but returned the last {stray} as stray bytes, not as \
             record(s): a whole record was left uncut at the end. Cut a record as soon as its \
             {size} bytes are buffered (at least the size, not more than it). The last record \
             left uncut."
        )
    } else {
        format!(
            "read_records returned {} of the {expected_len} bytes that {writers} writers sent \
             ({records} records of {size} bytes each), and every record it returned was whole: \
             the writers' records are fine, the reader stopped before the end of file. A \
             read() that returns fewer bytes than asked is not the end (the writers may not \
             have written the rest yet): only 0 is. Stopped before end of file.",
            stream.len()
        )
    };
    assert!(
        stream.len() == expected_len,
        "{}",
        proctest::verdict(&run.stdout, &why)
    );
    assert_eq!(
        stream.len(),
        expected_len,
        "{writers} writers x {records} records x {size} bytes should arrive; summary:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    for writer in 0..writers {
        assert_eq!(
            next_seq.get(&writer).copied().unwrap_or(0),
            records,
            "writer {writer} sent {records} records"
        );
    }
    assert_eq!(
        run.code(),
        Some(0),
        "the records are whole, but the demo failed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    assert!(
        run.stdout
            .contains("every record arrived whole, and each writer's records in order"),
        "{}",
        run.stdout
    );
    assert_clean(&run);
}

#[test]
fn records_of_pipe_buf_bytes_arrive_whole() {
    check_all_whole("pipebuf", 4, 500, PIPE_BUF);
}

#[test]
fn many_small_records_from_eight_writers_arrive_whole() {
    check_all_whole("small", 8, 2000, 100);
}

#[test]
fn records_above_pipe_buf_may_be_torn() {
    // No promise above PIPE_BUF: the test checks only that every byte arrives, and
    // reports (never asserts) how many records were torn on this machine.
    let scratch = Scratch::new("large");
    let dump = scratch.file();
    let size = 100_000;
    let run = atomic_writes(&[
        "--writers",
        "4",
        "--records",
        "20",
        "--size",
        &size.to_string(),
        "--dump",
        dump.to_str().expect("a UTF-8 temp path"),
    ]);
    if let Some(why) = writers_failed(&run, size) {
        panic!("{}", proctest::verdict(&run.stdout, &why));
    }
    assert!(
        run.code() == Some(0),
        "{}",
        proctest::verdict(
            &run.stdout,
            &format!(
                "the demo failed (status {:?}) where every write and read succeeds; its error \
                 output:\n{}",
                run.code(),
                run.stderr.trim_end()
            )
        )
    );
    let stream = std::fs::read(&dump).expect("the demo dumps what it received");
    let written = 4 * 20 * size;
    if stream.len() != written {
        // The demo dumps the records read_records returned, and counts the stray bytes.
        let stray = stray_bytes(&run);
        let why = if stream.len() + stray == written {
            format!(
                "every byte arrived, but read_records returned {} records of {size} bytes and \
                 left {stray} bytes as stray: a record this large never comes in one read() \
                 (a read() on a pipe returns at most what the pipe holds, 64 KiB by default). Cut the stream by size, \
                 whatever each read() returns. Records cut by read().",
                stream.len() / size
            )
        } else {
            format!(
                "{written} bytes were written, but read_records returned {} bytes in records \
                 and {stray} stray bytes: bytes were lost. Read until end of file (read() \
                 returns 0), keeping every byte. Bytes lost.",
                stream.len()
            )
        };
        let evidence = format!(
            "`atomic_writes --writers 4 --records 20 --size {size}` printed:\n{}",
            run.stdout.trim_end()
        );
        panic!("{}", proctest::verdict(&evidence, &why));
    }
    let torn = stream
        .chunks_exact(size)
        .filter(|r| record::check(r).is_err())
        .count();
    eprintln!("records of {size} bytes: {torn} of 80 torn on this run (may be any number)");
    assert!(
        run.stdout.contains("above PIPE_BUF (4096), may be split"),
        "{}",
        run.stdout
    );
    assert_clean(&run);
}

#[test]
fn bad_options_are_usage_errors() {
    for (args, message) in [
        (
            &["--writers", "0"][..],
            "W must be a whole number from 1 to 16",
        ),
        (
            &["--records", "abc"][..],
            "N must be a whole number from 1 to 100000",
        ),
        (
            &["--size", "31"][..],
            "BYTES must be a whole number from 32 to 1048576",
        ),
        (
            &["--size", "2000000"][..],
            "BYTES must be a whole number from 32 to 1048576",
        ),
        (&["--writers"][..], "--writers needs a value"),
        (&["--fast", "1"][..], "unknown option \"--fast\""),
        (
            &["--writers", "16", "--records", "100000", "--size", "4096"][..],
            "more than 256 MiB",
        ),
    ] {
        let run = atomic_writes(args);
        assert_usage_error(&run, message);
    }
}

// The two functions called in the test process on pipes it makes (no fork), each under a
// watchdog. The checks take the function, so that the oracles below can show them a
// wrong one.

type ReadRecords = fn(BorrowedFd<'_>, usize) -> nix::Result<Received>;
type WriteRecord = fn(BorrowedFd<'_>, &[u8]) -> Result<(), WriteError>;

/// How long a call may take: a correct one returns as soon as its writer is done.
const BUDGET: Duration = Duration::from_secs(10);

/// Bytes waiting in a pipe (FIONREAD).
fn waiting(fd: BorrowedFd<'_>) -> usize {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int into the valid pointer we pass.
    unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
    usize::try_from(n).unwrap_or(0)
}

/// Checks `read` on a stream of 5 records of 100 bytes whose boundaries never match the
/// reads: the first record arrives in two halves, the second half only once the reader
/// has taken the first (so one read returns half a record), then the other four in one
/// write of 400 bytes plus 30 stray bytes, then end of file.
fn check_read_records(read: ReadRecords) -> Result<(), String> {
    let (read_end, write_end) = pipe().expect("a pipe");
    let records: Vec<Vec<u8>> = (0..5).map(|seq| record::encode(1, seq, 100)).collect();
    let expected = records.clone();
    let probe = read_end.try_clone().expect("dup the read end");
    // Set once read_records has returned, so that the writer stops waiting for it.
    let returned = Arc::new(AtomicBool::new(false));
    let reader_returned = Arc::clone(&returned);
    let writer = std::thread::spawn(move || {
        write(&write_end, &records[0][..50]).expect("write");
        // Wait until the reader has taken those 50 bytes (or has returned already).
        while waiting(probe.as_fd()) > 0 && !returned.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let mut rest = records[0][50..].to_vec();
        for r in &records[1..] {
            rest.extend_from_slice(r);
        }
        rest.extend_from_slice(&[b'x'; 30]);
        let _ = write(&write_end, &rest);
    });
    let call = Call::start("read_records on a stream cut at odd places", move || {
        let result = read(read_end.as_fd(), 100);
        reader_returned.store(true, Ordering::SeqCst);
        result
    });
    let done = call.finish(BUDGET).map_err(|stuck| {
        wrap(
            &format!(
                "{stuck}. The writer closed its end after 530 bytes: read() then returns 0, end \
                 of file, and read_records must stop there. Never returned."
            ),
            98,
        )
    })?;
    let _ = writer.join();
    let received = done
        .value
        .map_err(|err| format!("read_records failed: {err}"))?;
    let total = received.records.iter().map(Vec::len).sum::<usize>() + received.trailing;
    if total < 530 {
        return Err(wrap(
            &format!(
                "read_records returned after {total} of the 530 bytes the writer sent: it \
                 stopped before end of file. A read() that returns fewer bytes than asked is \
                 not the end (the writer may not have written the rest yet): only 0 is. \
                 Stopped before end of file."
            ),
            98,
        ));
    }
    let whole_then_short = received.records.len() > expected.len()
        && received.records[..expected.len()] == expected[..]
        && received.records[expected.len()..]
            .iter()
            .all(|r| r.len() != 100);
    if whole_then_short {
        let extra: Vec<String> = received.records[expected.len()..]
            .iter()
            .map(|r| format!("{} bytes", r.len()))
            .collect();
        return Err(wrap(
            &format!(
                "read_records got records 0 to 4 whole, then one more of {}: the 30 bytes \
                 left after the last whole record, at end of file, taken for a record of their \
                 own. Every record is exactly `size` (100) bytes; what is left over is counted \
                 in `trailing` (it should be 30, and is {}). Leftover taken for a record.",
                extra.join(" and "),
                received.trailing
            ),
            98,
        ));
    }
    if received.records != expected {
        let got: Vec<String> = received
            .records
            .iter()
            .map(|r| match record::check(r) {
                Ok((_, seq)) => format!("record {seq}"),
                Err(_) if r.len() == 100 => "a torn record".to_owned(),
                Err(_) => format!("{} bytes", r.len()),
            })
            .collect();
        return Err(wrap(
            &format!(
                "read_records got [{}] instead of records 0 to 4. One read() returned half of \
                 record 0, the next the other half and four more records: a read returns \
                 whatever the pipe holds, not one record. Collect the bytes until end of file \
                 (read() returns 0), then cut them by size. Records cut by read().",
                got.join(", ")
            ),
            98,
        ));
    }
    if received.trailing != 30 {
        return Err(wrap(
            &format!(
                "30 bytes were left after the last whole record, but read_records reports \
                 `trailing: {}`. Stray bytes miscounted.",
                received.trailing
            ),
            98,
        ));
    }
    Ok(())
}

/// Checks `write` on a non-blocking pipe with room for 65536 bytes: a record of 100 bytes
/// goes in one write; one of 100000 bytes does not fit, the kernel takes part of it, and
/// `write` must report that as `Short` instead of writing the rest with a second write.
fn check_write_record(write_one: WriteRecord) -> Result<(), String> {
    let (read_end, write_end) = pipe().expect("a pipe");
    fcntl(&write_end, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)).expect("O_NONBLOCK");
    let room =
        usize::try_from(fcntl(&write_end, FcntlArg::F_GETPIPE_SZ).expect("the pipe's capacity"))
            .expect("a positive size");
    let small = record::encode(0, 0, 100);
    let large = record::encode(0, 1, room + 34_464);
    let call = Call::start(
        "write_record on a pipe too small for the record",
        move || {
            let first = write_one(write_end.as_fd(), &small);
            let second = write_one(write_end.as_fd(), &large);
            (first, second, write_end, large.len())
        },
    );
    let done = call.finish(BUDGET).map_err(|stuck| {
        wrap(
            &format!(
                "{stuck}. The pipe is full and nobody reads it: a write_record that loops to \
                 write the rest never ends. One write(), and a Short error when it took only \
                 part. Never returned."
            ),
            98,
        )
    })?;
    let (first, second, _write_end, len) = done.value;
    first.map_err(|err| format!("a record of 100 bytes into an empty pipe failed: {err}"))?;
    let taken = waiting(read_end.as_fd());
    // The kernel takes what fits (in whole pages: less than the room, at times): the
    // pipe then holds the first record and that part of the second, nothing more.
    match second {
        Err(WriteError::Short { written, len: l }) if written + 100 == taken && l == len => Ok(()),
        // One write() whose count was not looked at: the rest of the record is simply lost.
        Ok(()) if taken < len + 100 => Err(wrap(
            &format!(
                "write_record of {len} bytes into a non-blocking pipe with room for {} \
                 returned Ok(()), but the kernel took only {} bytes of it (the pipe holds \
                 {taken}, the first record's 100 included): write() returns how many bytes it \
                 took, and fewer than the record's length is WriteError::Short {{ written, len \
                 }}, which write_record must return. A short write reported as whole.",
                room - 100,
                taken.saturating_sub(100)
            ),
            98,
        )),
        other => Err(wrap(
            &format!(
                "write_record of {len} bytes into a non-blocking pipe with room for {room} \
                 returned {}, and the pipe holds {taken} bytes: the kernel takes part of \
                 the record and write() returns that count; write_record must then return \
                 WriteError::Short {{ written: that count, len: {len} }}, not write the rest \
                 with a second write(), which another writer could get in front of. Not one \
                 write.",
                match &other {
                    Ok(()) => "Ok(())".to_string(),
                    Err(WriteError::Sys(errno)) => format!("Err(WriteError::Sys({errno:?}))"),
                    Err(short) => format!("Err(WriteError::{short:?})"),
                },
                room = room - 100,
            ),
            98,
        )),
    }
}

#[test]
fn a_write_error_says_what_happened() {
    let short = WriteError::Short {
        written: 65_536,
        len: 100_000,
    };
    assert_eq!(
        short.to_string(),
        "short write: 65536 of 100000 bytes (the record would be split)"
    );
    let failed = WriteError::Sys(nix::errno::Errno::EPIPE);
    assert!(
        failed.to_string().starts_with("write failed: EPIPE"),
        "{failed}"
    );
}

/// Checks that a signal does not end `read`: once the reader sleeps in `read()` on an
/// empty pipe, SIGUSR2 (handled without SA_RESTART) is sent to its thread, so that
/// `read()` fails with EINTR having read nothing; only then do two records come, and the
/// end of file. `read` must read on and return both.
fn check_read_records_interrupted(read: ReadRecords) -> Result<(), String> {
    let (read_end, write_end) = pipe().expect("a pipe");
    let call = Call::start(
        "read_records on a pipe, interrupted by a signal",
        move || read(read_end.as_fd(), 100),
    );
    // Once it sleeps in read() on the empty pipe, a signal makes that read() fail with
    // EINTR; the records come only after the handler ran.
    let _ = call.interrupt(BUDGET);
    let mut bytes = record::encode(1, 0, 100);
    bytes.extend_from_slice(&record::encode(1, 1, 100));
    // EPIPE when read_records has already returned (and closed the read end).
    let _ = write(&write_end, &bytes);
    drop(write_end);
    let done = call.finish(BUDGET).map_err(|stuck| {
        wrap(
            &format!("{stuck}. The writer closed its end after 200 bytes. Never returned."),
            98,
        )
    })?;
    match done.value {
        Err(nix::errno::Errno::EINTR) => Err(wrap(
            "read_records failed with EINTR: a signal handler ran while it waited in read(), \
             on an empty pipe, and read() returned EINTR having read nothing. EINTR says only \
             that a handler ran, not that anything is wrong with the pipe: its doc says any \
             error of read other than EINTR, so on EINTR call read() again. A read not \
             resumed after a signal.",
            98,
        )),
        Err(err) => Err(format!("read_records failed: {err}")),
        Ok(received) if received.records.len() == 2 => Ok(()),
        Ok(received) => Err(wrap(
            &format!(
                "read_records returned {} records and {} stray bytes, after a signal \
                 interrupted its read(): two records of 100 bytes were written after the \
                 signal. On EINTR, read again.",
                received.records.len(),
                received.trailing
            ),
            98,
        )),
    }
}

#[test]
fn read_records_reads_on_when_a_signal_interrupts_it() {
    check_read_records_interrupted(read_records).unwrap_or_else(|why| panic!("{why}"));
}

#[test]
fn read_records_cuts_by_size_whatever_the_reads_return() {
    check_read_records(read_records).unwrap_or_else(|why| panic!("{why}"));
}

#[test]
fn read_records_returns_the_errors_of_read() {
    // read() on the write end of a pipe fails with EBADF: an error, not end of file.
    let (_read_end, write_end) = pipe().expect("a pipe");
    let done = within(
        BUDGET,
        "read_records on the write end of a pipe",
        move || (read_records(write_end.as_fd(), 100), write_end),
    )
    .unwrap_or_else(|stuck| panic!("{stuck}: read() on a write end fails at once (EBADF)"));
    let (got, _write_end) = done.value;
    if let Ok(received) = got {
        panic!(
            "{}",
            wrap(
                &format!(
                    "read_records, given the write end of a pipe, where read() fails with EBADF \
                     (the descriptor is not open for reading), returned Ok ({} records, {} bytes \
                     left over). Only \
                     0 bytes means end of file; its doc says any other error of read than \
                     EINTR is returned. An error taken for end of file.",
                    received.records.len(),
                    received.trailing
                ),
                98
            )
        );
    }
}

#[test]
fn write_record_makes_one_write_and_reports_a_short_one() {
    check_write_record(write_record).unwrap_or_else(|why| panic!("{why}"));
}

// Oracles: wrong solutions the checks above must reject.

fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Treats each read() as one record: right only when the reads happen to match.
fn wrong_read_one_record_per_read(fd: BorrowedFd<'_>, size: usize) -> nix::Result<Received> {
    let mut received = Received::default();
    let mut buf = vec![0u8; size];
    loop {
        match nix::unistd::read(fd, &mut buf)? {
            0 => return Ok(received),
            n if n == size => received.records.push(buf.clone()),
            n => received.trailing += n,
        }
    }
}

/// Loops until the whole record is written: a second write() can interleave.
fn wrong_write_all(fd: BorrowedFd<'_>, record: &[u8]) -> Result<(), WriteError> {
    let mut rest = record;
    while !rest.is_empty() {
        match write(fd, rest) {
            Ok(n) => rest = &rest[n..],
            Err(errno) => return Err(WriteError::Sys(errno)),
        }
    }
    Ok(())
}

/// Reassembles correctly, but returns the bytes left at end of file as one more record.
fn wrong_leftover_as_a_record(fd: BorrowedFd<'_>, size: usize) -> nix::Result<Received> {
    let mut received = alternative_read_to_end(fd, size)?;
    if received.trailing > 0 {
        received.records.push(vec![b'x'; received.trailing]);
        received.trailing = 0;
    }
    Ok(received)
}

#[test]
fn oracle_a_leftover_returned_as_a_record_is_named_so() {
    let why = check_read_records(wrong_leftover_as_a_record).expect_err("rejected");
    assert!(
        flat(&why).ends_with("Leftover taken for a record."),
        "{why}"
    );
}

#[test]
fn oracle_one_record_per_read_is_cut_by_read() {
    let why = check_read_records(wrong_read_one_record_per_read).expect_err("rejected");
    assert!(flat(&why).ends_with("Records cut by read()."), "{why}");
}

#[test]
fn oracle_a_write_all_loop_is_not_one_write() {
    let why = check_write_record(wrong_write_all).expect_err("rejected");
    assert!(flat(&why).ends_with("Not one write."), "{why}");
}

// Correct alternatives, which the checks must accept however they are written.

/// Reads everything through a `File` on a copy of the descriptor, then cuts.
fn alternative_read_to_end(fd: BorrowedFd<'_>, size: usize) -> nix::Result<Received> {
    use std::io::Read;
    let mut stream = Vec::new();
    let owned = fd
        .try_clone_to_owned()
        .map_err(|_| nix::errno::Errno::EBADF)?;
    std::fs::File::from(owned)
        .read_to_end(&mut stream)
        .map_err(|_| nix::errno::Errno::EIO)?;
    let chunks = stream.chunks_exact(size);
    let trailing = chunks.remainder().len();
    Ok(Received {
        records: chunks.map(<[u8]>::to_vec).collect(),
        trailing,
    })
}

/// Keeps the partial record between reads instead of collecting everything.
fn alternative_reassemble_as_it_reads(fd: BorrowedFd<'_>, size: usize) -> nix::Result<Received> {
    let mut received = Received::default();
    let mut partial = Vec::with_capacity(size);
    let mut buf = [0u8; 37];
    loop {
        let n = match nix::unistd::read(fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(errno) => return Err(errno),
        };
        for &byte in &buf[..n] {
            partial.push(byte);
            if partial.len() == size {
                received.records.push(std::mem::take(&mut partial));
            }
        }
    }
    received.trailing = partial.len();
    Ok(received)
}

#[test]
fn alternatives_read_to_end_and_reassembly_as_it_reads_pass() {
    check_read_records(alternative_read_to_end).unwrap_or_else(|why| panic!("{why}"));
    check_read_records(alternative_reassemble_as_it_reads).unwrap_or_else(|why| panic!("{why}"));
}
