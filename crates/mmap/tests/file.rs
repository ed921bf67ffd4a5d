//! Checks `mmap/file`: counting lines through a read-only mapping agrees with `read()` on
//! every kind of file, reads each file, small or large, through the mapping (no `read()`
//! system call at all), sees the file as it is at each call, leaves no mapping or descriptor
//! behind, handles the empty file, and names a missing file.
//!
//! Each check takes the counting function as an argument, so that the oracle tests at the
//! end can prove it fails plausible wrong solutions with the right message, and passes
//! correct ones written differently from the reference.

mod common;

use common::{Io, left_nothing_behind, verdict, with_io, within};
use mmap::error::FileError;
use mmap::file::count_lines_mmap;
use mmap::lines::{count_in, count_lines_read};
use mmap::mapping::Mapping;
use nix::sys::mman::{MapFlags, ProtFlags};
use proctest::Demo;
use std::fs::File;
use std::path::{Path, PathBuf};

/// A line counter with the step's signature.
type Count = fn(&Path) -> Result<u64, FileError>;

/// What can keep a line counter from returning.
const STUCK: &str = "counting is one pass over the mapped bytes; look for a loop whose index \
                     never reaches the end of the slice";

/// The verdict when the `count_lines` demo itself never finishes.
const COUNT_LINES_STUCK: &str = "`count_lines` never finished: counting is one pass over the \
                                 mapped bytes of each file; look for a loop whose index never \
                                 reaches the end of the slice. Demo stuck.";

/// Calls `count(path)` under the watchdog and returns its result, with the `read()` system
/// calls the call made (`None` without I/O accounting).
fn call(count: Count, path: &Path) -> Result<(Result<u64, FileError>, Option<Io>), String> {
    mmap::fault::explain_sigbus();
    let owned = path.to_owned();
    let name = file_name(path);
    within(&format!("count_lines_mmap({name})"), STUCK, move || {
        with_io(|| count(&owned))
    })
}

/// Checks that the call that counted `name`, a file of `len` bytes, made no `read()` system
/// call (`io`: what it read, `None` without I/O accounting: nothing to check then).
fn made_no_read(name: &str, len: usize, io: Option<Io>) -> Result<(), String> {
    let Some(io) = io.filter(|io| io.read_calls > 0 || io.read > 0) else {
        return Ok(());
    };
    let calls = match io.read_calls {
        1 => "1 read() system call".to_owned(),
        n => format!("{n} read() system calls"),
    };
    let why = if len == 0 {
        "The empty file needs neither read() nor a mapping: its length, 0, already says it has \
         no line."
    } else {
        "The step maps every file it counts, small or large, and counts the bytes of the \
         mapping (`map.as_bytes()`), which the kernel fills by page faults, without a single \
         read()."
    };
    Err(format!(
        "count_lines_mmap({name}) made {calls} ({} bytes in all) to count a file of {len} \
         bytes: it reads the file instead of its mapping. {why} Read instead of mapped.",
        io.read
    ))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Files of every shape: (name, contents), made once for every check.
fn shapes() -> &'static [(&'static str, Vec<u8>)] {
    static SHAPES: std::sync::OnceLock<Vec<(&'static str, Vec<u8>)>> = std::sync::OnceLock::new();
    SHAPES.get_or_init(|| {
        // About 2 MiB: many pages, lines of every length from 0 to 199 bytes, no final
        // newline.
        let mut large = Vec::with_capacity(3 << 20);
        let mut i = 0u64;
        while large.len() < 2 << 20 {
            let len = (i * 7919 % 200) as usize;
            large.resize(large.len() + len, b'a' + (i % 26) as u8);
            large.push(b'\n');
            i += 1;
        }
        large.extend_from_slice(b"the last line has no newline");
        vec![
            ("two_lines.txt", b"first\nsecond\n".to_vec()),
            ("no_trailing_newline.txt", b"first\nsecond".to_vec()),
            ("one_word.txt", b"word".to_vec()),
            ("one_newline.txt", b"\n".to_vec()),
            ("only_newlines.txt", b"\n\n\n".to_vec()),
            ("crlf.txt", b"one\r\ntwo\r\n".to_vec()),
            ("binary.bin", (0..=255u8).cycle().take(10_000).collect()),
            (
                "exactly_one_page.txt",
                [b"x".repeat(4095), b"\n".to_vec()].concat(),
            ),
            (
                "one_page_and_one_byte.txt",
                [b"x\n".repeat(2048), b"\n".to_vec()].concat(),
            ),
            ("large.txt", large),
        ]
    })
}

fn check_agrees_on_every_kind_of_file(count: Count) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, contents) in shapes() {
        let (name, contents) = (*name, contents.as_slice());
        let path = dir.path().join(name);
        std::fs::write(&path, contents).expect("write the test file");
        let expected = count_in(contents);
        let by_read = count_lines_read(&path).expect("read() counts every test file");
        assert_eq!(by_read, expected, "the read() reference on {name}");
        let (result, io) = call(count, &path)?;
        let by_mmap = match result {
            Ok(lines) => lines,
            Err(err) => {
                let why = if std::str::from_utf8(contents).is_err() {
                    "This file is not UTF-8 text, and it still has lines: a line ends at each \
                     `\\n` byte (plus a last one without it), so count bytes as they are, \
                     without decoding them (`str::lines` in the header says where lines end, \
                     not that the file is text). A count that needs text."
                } else {
                    "Every readable file has a line count: only opening or mapping it may fail. \
                     A count that failed."
                };
                return Err(format!(
                    "count_lines_mmap({name}) failed on a file of {} bytes: {}. {why}",
                    contents.len(),
                    err.to_string().trim_end_matches('.')
                ));
            }
        };
        if by_mmap != expected {
            let why = match contents.last() {
                Some(&last) if last != b'\n' && by_mmap + 1 == expected => {
                    ": this file does not end with a newline, and its last line still counts. \
                     Last line not counted."
                }
                Some(b'\n') if by_mmap == expected + 1 => {
                    ": every line of this file ends with `\\n`, and nothing comes after the last \
                     one. One line too many."
                }
                _ if std::str::from_utf8(contents).is_err() => {
                    ": this file is not UTF-8 text, and its lines still count. A line ends at \
                     each `\\n` byte (plus a last one without it): count bytes, whatever they \
                     are, without decoding them. Lines miscounted."
                }
                _ => {
                    ": a line ends at each `\\n` byte, plus a last line when the file does not \
                     end with one. Lines miscounted."
                }
            };
            return Err(format!(
                "count_lines_mmap({name}) = {by_mmap}, but read() counts {by_read} lines in \
                 its {} bytes{why}",
                contents.len()
            ));
        }
        made_no_read(name, contents.len(), io)?;
        left_nothing_behind(&format!("count_lines_mmap({name})"), &path)?;
    }
    Ok(())
}

fn check_counts_through_the_mapping(count: Count) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("large.txt");
    let contents = b"a line of the big file\n".repeat(64 * 1024);
    std::fs::write(&path, &contents).expect("write the test file");
    let (result, io) = call(count, &path)?;
    result.map_err(|err| format!("count_lines_mmap(large.txt) failed: {err}"))?;
    made_no_read("large.txt", contents.len(), io)
}

fn check_sees_the_file_as_it_is_now(count: Count) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("changing.txt");
    // Every version ends with a newline: only a count that does not follow the file's
    // changes fails here.
    let versions: [(&str, Vec<u8>); 4] = [
        ("two lines", b"a\nb\n".to_vec()),
        ("a third line appended", b"a\nb\nc\n".to_vec()),
        ("truncated to one line", b"x\n".to_vec()),
        ("grown to 8192 newlines", b"\n".repeat(8192)),
    ];
    for (what, contents) in versions {
        std::fs::write(&path, &contents).expect("rewrite the test file");
        let expected = count_in(&contents);
        let got = call(count, &path)?
            .0
            .map_err(|err| format!("count_lines_mmap(changing.txt), {what}: {err}"))?;
        if got != expected {
            return Err(format!(
                "count_lines_mmap(changing.txt) = {got} after the file was {what} ({} bytes), \
                 but it has {expected} lines: each call must map the file as it is now, with \
                 its current length. Stale count.",
                contents.len()
            ));
        }
    }
    left_nothing_behind("count_lines_mmap(changing.txt)", &path)
}

fn check_the_empty_file(count: Count) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("empty.txt");
    std::fs::write(&path, b"").expect("write the test file");
    let (result, io) = call(count, &path)?;
    match result {
        Ok(0) => {
            made_no_read("empty.txt", 0, io)?;
            left_nothing_behind("count_lines_mmap(empty.txt)", &path)
        }
        Ok(lines) => Err(format!(
            "count_lines_mmap(empty.txt) = {lines}, but the empty file has no line. Empty file \
             miscounted."
        )),
        Err(err) => Err(format!(
            "the empty file should have 0 lines, but count_lines_mmap failed: {err}\n\
             mmap(2) refuses a mapping of length 0 with EINVAL: check the file's length before \
             mapping it. Empty file refused."
        )),
    }
}

fn check_a_missing_file(count: Count) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("missing.txt");
    let err = match call(count, &path)?.0 {
        Ok(lines) => {
            return Err(format!(
                "count_lines_mmap(missing.txt) = {lines}, but the file does not exist: that is \
                 FileError::Open. Missing file not reported."
            ));
        }
        Err(err) => err,
    };
    if !matches!(&err, FileError::Open { path: p, source } if p == &path && source.kind() == std::io::ErrorKind::NotFound)
    {
        let variant = format!("{err:?}");
        let variant = variant.split([' ', '(', '{']).next().unwrap_or_default();
        return Err(format!(
            "count_lines_mmap(missing.txt) returned FileError::{variant}, but a missing file is \
             FileError::Open with its path and NotFound: opening is the step that fails, before \
             any length is read or anything mapped (it said: {err}). Wrong error."
        ));
    }
    let message = err.to_string();
    if !(message.contains("missing.txt") && message.contains("No such file")) {
        return Err(format!(
            "the message should name the file and say it does not exist: {message}. Unclear \
             error."
        ));
    }
    Ok(())
}

#[test]
fn mmap_and_read_agree_on_every_kind_of_file() {
    verdict(check_agrees_on_every_kind_of_file(count_lines_mmap));
}

#[test]
fn the_lines_are_counted_through_the_mapping_without_read() {
    verdict(check_counts_through_the_mapping(count_lines_mmap));
}

#[test]
fn each_call_sees_the_file_as_it_is_now() {
    verdict(check_sees_the_file_as_it_is_now(count_lines_mmap));
}

#[test]
fn the_empty_file_has_no_line() {
    verdict(check_the_empty_file(count_lines_mmap));
}

#[test]
fn a_missing_file_is_an_open_error_that_names_it() {
    verdict(check_a_missing_file(count_lines_mmap));
}

#[test]
fn the_demo_reports_a_missing_file_with_exit_code_1() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let good = dir.path().join("good.txt");
    std::fs::write(&good, b"a\nb").expect("write the test file");
    let missing = dir.path().join("missing.txt");
    let run = Demo::new(env!("CARGO_BIN_EXE_count_lines"))
        .arg(&good)
        .arg(&missing)
        .run()
        .unwrap_or_else(|hang| panic!("{}", proctest::verdict(&hang, COUNT_LINES_STUCK)));
    assert_eq!(
        run.code(),
        Some(1),
        "`count_lines` given a missing file must exit with status 1; it {}:\n{}{}",
        run.ended(),
        run.stdout,
        run.stderr
    );
    assert!(
        run.stderr
            .contains(&format!("cannot open {}", missing.display()))
            && run.stderr.contains("No such file"),
        "stderr should name the missing file: {}",
        run.stderr
    );
    let shown = run.stdout.replace(&*dir.path().to_string_lossy(), "[DIR]");
    assert_eq!(
        shown, "[DIR]/good.txt: 2 lines through mmap, 2 through read(): agree\n",
        "the demo must still count good.txt (`a\\nb`: two lines, the last one without its \
         newline) next to the missing file, and agree with read()"
    );
}

#[test]
fn the_demo_without_a_file_prints_its_usage_with_exit_code_2() {
    let run = Demo::new(env!("CARGO_BIN_EXE_count_lines"))
        .run()
        .unwrap_or_else(|hang| panic!("{}", proctest::verdict(&hang, COUNT_LINES_STUCK)));
    run.assert_usage_error("`count_lines` without a file", &["count_lines PATH..."]);
    insta::assert_snapshot!("count_lines_usage", run.stderr);
}

#[test]
fn the_error_messages_name_the_file() {
    let path = Path::new("/some/dir/data.txt");
    let map = FileError::Map {
        path: path.to_owned(),
        len: 0,
        source: nix::errno::Errno::EINVAL,
    };
    assert_eq!(
        map.to_string(),
        "cannot map 0 bytes of /some/dir/data.txt: mmap failed with EINVAL: Invalid argument \
         (a mapping cannot be empty: handle the empty file without mmap)"
    );
}

// The oracles: the checks above fail plausible wrong solutions with a message naming the
// cause, and pass correct ones written differently from the reference.

fn open_error(path: &Path, source: std::io::Error) -> FileError {
    FileError::Open {
        path: path.to_owned(),
        source,
    }
}

/// Opens `path` and maps `len` bytes of it read-only with `flags`.
fn map(path: &Path, len: usize, flags: MapFlags) -> Result<Mapping, FileError> {
    let file = File::open(path).map_err(|e| open_error(path, e))?;
    // SAFETY: the tests' files are not changed while mapped.
    unsafe { Mapping::new(&file, len, ProtFlags::PROT_READ, flags) }.map_err(|source| {
        FileError::Map {
            path: path.to_owned(),
            len,
            source,
        }
    })
}

fn file_len(path: &Path) -> Result<usize, FileError> {
    let len = std::fs::metadata(path)
        .map_err(|e| open_error(path, e))?
        .len();
    Ok(usize::try_from(len).expect("small test files"))
}

/// Wrong: counts with read(), never maps.
fn counts_with_read(path: &Path) -> Result<u64, FileError> {
    let bytes = std::fs::read(path).map_err(|e| open_error(path, e))?;
    Ok(count_in(&bytes))
}

/// Wrong: grep's habit, mapping pays only for big files: read() the ones under 64 KiB.
fn reads_small_files(path: &Path) -> Result<u64, FileError> {
    let len = file_len(path)?;
    if len < 64 * 1024 {
        return counts_with_read(path);
    }
    let map = map(path, len, MapFlags::MAP_PRIVATE)?;
    Ok(count_in(map.as_bytes()))
}

/// Wrong: right count, but the mapping is never unmapped.
fn never_unmaps(path: &Path) -> Result<u64, FileError> {
    let len = file_len(path)?;
    if len == 0 {
        return Ok(0);
    }
    let map = map(path, len, MapFlags::MAP_PRIVATE)?;
    let lines = count_in(map.as_bytes());
    std::mem::forget(map);
    Ok(lines)
}

/// Wrong: right count, but the descriptor is never closed.
fn never_closes(path: &Path) -> Result<u64, FileError> {
    let file = File::open(path).map_err(|e| open_error(path, e))?;
    let len = file_len(path)?;
    if len == 0 {
        std::mem::forget(file);
        return Ok(0);
    }
    // SAFETY: the tests' files are not changed while mapped.
    let map = unsafe { Mapping::new(&file, len, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE) }
        .expect("map");
    std::mem::forget(file);
    Ok(count_in(map.as_bytes()))
}

/// Wrong: counts the `\n` only (the starter's bug), with the empty file handled.
fn counts_newlines_only(path: &Path) -> Result<u64, FileError> {
    let len = file_len(path)?;
    if len == 0 {
        return Ok(0);
    }
    let map = map(path, len, MapFlags::MAP_PRIVATE)?;
    Ok(map.as_bytes().iter().filter(|&&b| b == b'\n').count() as u64)
}

/// Wrong: counts the pieces between `\n`s, one too many when the file ends with `\n`.
fn counts_pieces(path: &Path) -> Result<u64, FileError> {
    let len = file_len(path)?;
    if len == 0 {
        return Ok(0);
    }
    let map = map(path, len, MapFlags::MAP_PRIVATE)?;
    Ok(map.as_bytes().split(|&b| b == b'\n').count() as u64)
}

/// Wrong: maps two pages more than the file holds and counts them too: the first access
/// to a page wholly past the end of the file is a SIGBUS.
fn maps_past_the_end(path: &Path) -> Result<u64, FileError> {
    let len = file_len(path)?;
    let map = map(path, len + 8192, MapFlags::MAP_PRIVATE)?;
    Ok(count_in(map.as_bytes()))
}

/// Right, written differently: a shared read-only mapping, and a fold over the bytes.
fn shared_mapping_and_fold(path: &Path) -> Result<u64, FileError> {
    let len = file_len(path)?;
    if len == 0 {
        return Ok(0);
    }
    let map = map(path, len, MapFlags::MAP_SHARED)?;
    let bytes = map.as_bytes();
    let (lines, last) = bytes
        .iter()
        .fold((0u64, b'\n'), |(n, _), &b| (n + u64::from(b == b'\n'), b));
    Ok(lines + u64::from(last != b'\n'))
}

/// Right, written differently: raw `mmap`/`munmap` calls from nix, `str::lines`-style
/// counting with `split` and a trailing-piece rule.
fn raw_nix_calls(path: &Path) -> Result<u64, FileError> {
    use std::num::NonZeroUsize;
    let file = File::open(path).map_err(|e| open_error(path, e))?;
    let len = file.metadata().map_err(|e| open_error(path, e))?.len();
    let Some(len) = NonZeroUsize::new(usize::try_from(len).expect("small")) else {
        return Ok(0);
    };
    // SAFETY: a fresh read-only private mapping of a file nobody changes meanwhile.
    let ptr = unsafe {
        nix::sys::mman::mmap(
            None,
            len,
            ProtFlags::PROT_READ,
            MapFlags::MAP_PRIVATE,
            &file,
            0,
        )
    }
    .map_err(|source| FileError::Map {
        path: path.to_owned(),
        len: len.get(),
        source,
    })?;
    drop(file);
    // SAFETY: `len` readable bytes at `ptr`, alive until the munmap below.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.as_ptr().cast::<u8>(), len.get()) };
    let pieces = bytes.split(|&b| b == b'\n').count() as u64;
    let lines = if bytes.ends_with(b"\n") {
        pieces - 1
    } else {
        pieces
    };
    // SAFETY: exactly the mapping made above; `bytes` is not used after this.
    unsafe { nix::sys::mman::munmap(ptr, len.get()) }.expect("munmap");
    Ok(lines)
}

/// Every check, in order, on `count`: the first failure's message.
fn check_all(count: Count) -> Result<(), String> {
    check_agrees_on_every_kind_of_file(count)?;
    check_counts_through_the_mapping(count)?;
    check_sees_the_file_as_it_is_now(count)?;
    check_the_empty_file(count)?;
    check_a_missing_file(count)
}

#[track_caller]
fn assert_fails(count: Count, expected: &[&str]) {
    let message = check_all(count).expect_err("the checks must fail this wrong solution");
    for text in expected {
        assert!(
            message.contains(text),
            "the message should say {text:?}:\n{message}"
        );
    }
}

#[test]
fn the_checks_fail_a_count_that_reads_the_file() {
    assert_fails(
        counts_with_read,
        &[
            "read() system call",
            "reads the file instead of its mapping",
        ],
    );
}

#[test]
fn the_checks_fail_a_count_that_reads_only_small_files() {
    assert_fails(
        reads_small_files,
        &[
            "count_lines_mmap(two_lines.txt) made",
            "read() system call",
            "to count a file of 13 bytes",
            "every file it counts, small or large",
        ],
    );
}

#[test]
fn the_checks_fail_a_count_that_never_unmaps() {
    assert_fails(never_unmaps, &["still maps", "the mapping leaked"]);
}

#[test]
fn the_checks_fail_a_count_that_never_closes_the_file() {
    assert_fails(never_closes, &["still open on", "never closed"]);
}

#[test]
fn the_checks_fail_the_starters_count() {
    assert_fails(
        counts_newlines_only,
        &[
            "no_trailing_newline.txt) = 1, but read() counts 2",
            "its last line still counts",
        ],
    );
    assert_fails(
        counts_pieces,
        &[
            "two_lines.txt) = 3, but read() counts 2",
            "nothing comes after the last one",
        ],
    );
}

#[test]
fn the_checks_pass_correct_counts_written_differently() {
    verdict(check_all(shared_mapping_and_fold));
    verdict(check_all(raw_nix_calls));
}

/// Run in a child process by the test below: a wrong count that maps past the end of its
/// files, under the SIGBUS diagnosis. Does nothing when run directly.
#[test]
#[ignore = "run in a child process by the_checks_explain_the_sigbus_of_a_mapping_past_the_end"]
fn oracle_fixture_maps_past_the_end() {
    if std::env::var_os("MMAP_ORACLE_FIXTURE").is_none() {
        return;
    }
    let _ = check_agrees_on_every_kind_of_file(maps_past_the_end);
}

#[test]
fn the_checks_explain_the_sigbus_of_a_mapping_past_the_end() {
    // The child dies of SIGBUS before its temporary files are removed: give it a directory
    // of its own, removed here.
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let run = Demo::new(std::env::current_exe().expect("the test binary"))
        .args([
            "oracle_fixture_maps_past_the_end",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("MMAP_ORACLE_FIXTURE", "1")
        .env("TMPDIR", tmp.path())
        .run()
        .unwrap_or_else(|hang| {
            panic!(
                "{}",
                proctest::verdict(&hang, "The oracle's child never finished. Stuck.")
            )
        });
    assert_eq!(
        run.signal(),
        Some(libc::SIGBUS),
        "the fixture should die of SIGBUS: {run:?}"
    );
    let dir: PathBuf = tmp.path().canonicalize().expect("canonical path");
    let stderr = run.stderr.replace(&*dir.to_string_lossy(), "[TMP]");
    for expected in [
        "SIGBUS: the process touched byte 4096 of [TMP]/",
        "/two_lines.txt through a mapping, but the file is only 13 bytes long (its last page \
         ends at byte 4096).",
        "Map no more than the file's length",
    ] {
        assert!(
            stderr.contains(expected),
            "the SIGBUS diagnosis should say {expected:?}:\n{stderr}"
        );
    }
}
