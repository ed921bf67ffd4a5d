//! Checks `mmap/private_vs_shared`: a write through `MAP_PRIVATE` is seen by the process but
//! never reaches the file; a write through `MAP_SHARED` (then `msync`) does. The test reads
//! the file's bytes back with plain `read()` calls, through another descriptor.

use mmap::error::FileError;
use mmap::private_vs_shared::{Sharing, write_through_mapping};

const ORIGINAL: &[u8] = b"hello, world\nsecond line\n";

fn file_with_original(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("greeting.txt");
    std::fs::write(&path, ORIGINAL).expect("write the test file");
    path
}

#[test]
fn a_private_write_is_seen_by_the_process_but_never_reaches_the_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = file_with_original(&dir);
    let seen = write_through_mapping(&path, 0, b"HELLO", Sharing::Private)
        .unwrap_or_else(|err| panic!("write_through_mapping(Private) failed: {err}"));
    assert_eq!(
        String::from_utf8_lossy(&seen),
        "HELLO, world\nsecond line\n",
        "the process sees its own write through the private mapping"
    );
    let on_disk = std::fs::read(&path).expect("read the file back");
    assert_eq!(
        String::from_utf8_lossy(&on_disk),
        String::from_utf8_lossy(ORIGINAL),
        "a write through MAP_PRIVATE reached the file: a private mapping is copy-on-write, \
         its changes belong to the process alone"
    );
}

#[test]
fn a_shared_write_reaches_the_file() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = file_with_original(&dir);
    let seen = write_through_mapping(&path, 13, b"SECOND", Sharing::Shared)
        .unwrap_or_else(|err| panic!("write_through_mapping(Shared) failed: {err}"));
    assert_eq!(
        String::from_utf8_lossy(&seen),
        "hello, world\nSECOND line\n",
        "the process sees its own write"
    );
    assert!(
        !std::fs::read_to_string("/proc/self/maps")
            .expect("read /proc/self/maps")
            .contains(&*path.to_string_lossy()),
        "the file is still mapped after write_through_mapping returned: the mapping leaked"
    );
    let on_disk = std::fs::read(&path).expect("read the file back");
    assert_eq!(
        String::from_utf8_lossy(&on_disk),
        "hello, world\nSECOND line\n",
        "after writing `SECOND` at byte 13 through a Sharing::Shared mapping, the file still \
         holds its old bytes: the write went to a private copy-on-write page. Only MAP_SHARED \
         maps the file's own pages (then msync makes the change durable)"
    );
}

#[test]
fn a_write_past_the_end_is_an_error_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = file_with_original(&dir);
    let err = write_through_mapping(&path, ORIGINAL.len() - 2, b"xyz", Sharing::Shared)
        .expect_err("a mapping cannot grow the file");
    assert!(
        matches!(
            err,
            FileError::OutOfBounds {
                file_len: 25,
                end: 26,
                ..
            }
        ),
        "expected OutOfBounds (file of 25 bytes, write ending at 26), got {err:?}"
    );
    assert!(err.to_string().contains("greeting.txt"), "{err}");
    assert_eq!(std::fs::read(&path).expect("read back"), ORIGINAL);
}

#[test]
fn a_missing_file_is_an_open_error_that_names_it() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("absent.txt");
    let err = write_through_mapping(&path, 0, b"x", Sharing::Shared)
        .expect_err("a missing file cannot be mapped");
    assert!(
        matches!(&err, FileError::Open { path: p, .. } if p == &path),
        "expected FileError::Open naming absent.txt, got {err:?}"
    );
    assert!(!path.exists(), "the missing file must not be created");
}
