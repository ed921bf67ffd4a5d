//! Checks `mmap/file`: counting lines through a read-only mapping agrees with `read()` on
//! every kind of file, the empty file has 0 lines, and a missing file is an error naming it.

use mmap::error::FileError;
use mmap::file::count_lines_mmap;
use mmap::lines::{count_in, count_lines_read};
use proctest::Demo;
use std::path::Path;

/// Whether this process still maps `path` (a mapping left behind is a leak).
fn still_mapped(path: &Path) -> bool {
    std::fs::read_to_string("/proc/self/maps")
        .expect("read /proc/self/maps")
        .contains(&*path.to_string_lossy())
}

/// Files of every shape: (name, contents).
fn shapes() -> Vec<(&'static str, Vec<u8>)> {
    let mut large = Vec::new();
    // About 6 MiB: many pages, lines of every length from 0 to 199 bytes, no final newline.
    let mut i = 0u64;
    while large.len() < 6 << 20 {
        let len = (i * 7919 % 200) as usize;
        large.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
        large.push(b'\n');
        i += 1;
    }
    large.extend_from_slice(b"the last line has no newline");
    vec![
        ("two_lines.txt", b"first\nsecond\n".to_vec()),
        ("no_trailing_newline.txt", b"first\nsecond".to_vec()),
        ("one_word.txt", b"word".to_vec()),
        ("only_newlines.txt", b"\n\n\n".to_vec()),
        ("crlf.txt", b"one\r\ntwo\r\n".to_vec()),
        ("binary.bin", (0..=255u8).cycle().take(10_000).collect()),
        (
            "exactly_one_page.txt",
            [b"x".repeat(4095), b"\n".to_vec()].concat(),
        ),
        ("large.txt", large),
    ]
}

#[test]
fn mmap_and_read_agree_on_every_kind_of_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, contents) in shapes() {
        let path = dir.path().join(name);
        std::fs::write(&path, &contents).expect("write the test file");
        let expected = count_in(&contents);
        let by_read = count_lines_read(&path).expect("read() counts every test file");
        assert_eq!(by_read, expected, "the read() reference on {name}");
        let by_mmap = count_lines_mmap(&path)
            .unwrap_or_else(|err| panic!("count_lines_mmap({name}) failed: {err}"));
        assert_eq!(
            by_mmap,
            expected,
            "count_lines_mmap({name}) = {by_mmap}, but read() counts {by_read} lines{}",
            if contents.last().is_some_and(|&b| b != b'\n') {
                ": this file does not end with a newline, and its last line still counts"
            } else {
                ""
            }
        );
        assert!(
            !still_mapped(&path),
            "{name} is still mapped after count_lines_mmap returned: the mapping leaked (munmap)"
        );
    }
}

#[test]
fn the_empty_file_has_no_line() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("empty.txt");
    std::fs::write(&path, b"").expect("write the test file");
    match count_lines_mmap(&path) {
        Ok(lines) => assert_eq!(lines, 0, "the empty file has no line"),
        Err(err) => panic!(
            "the empty file should have 0 lines, but count_lines_mmap failed: {err}\n\
             mmap(2) refuses a mapping of length 0 with EINVAL: check the file's length before mapping it"
        ),
    }
}

#[test]
fn a_missing_file_is_an_open_error_that_names_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("missing.txt");
    let err = count_lines_mmap(&path).expect_err("a missing file cannot be counted");
    assert!(
        matches!(&err, FileError::Open { path: p, source } if p == &path && source.kind() == std::io::ErrorKind::NotFound),
        "a missing file should give FileError::Open with its path and NotFound, got {err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("missing.txt") && message.contains("No such file"),
        "the message should name the file and say it does not exist: {message}"
    );
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
        .unwrap_or_else(|hang| panic!("{hang}"));
    assert_eq!(
        run.code(),
        Some(1),
        "a missing file is exit code 1: {run:?}"
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
        "the good file is still counted"
    );
}

#[test]
fn the_demo_without_a_file_prints_its_usage_with_exit_code_2() {
    let run = Demo::new(env!("CARGO_BIN_EXE_count_lines"))
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"));
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
