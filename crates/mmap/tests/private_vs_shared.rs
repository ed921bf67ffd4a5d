//! Checks `mmap/private_vs_shared`: a write through `MAP_PRIVATE` is seen by the process but
//! never reaches the file; a write through `MAP_SHARED` (then `msync`) does. The test reads
//! the file's bytes back with plain `read()` calls, through another descriptor, and checks
//! that the write went through the mapping (no `read()` or `write()` of the file's bytes),
//! that the file keeps its length, that nothing stays mapped or open, that a shared write is
//! on disk when the function returns (no page of the file left dirty in the page cache, as
//! `cachestat(2)` tells), and that a write past the end is an error, wherever it starts.
//!
//! Each check takes the function as an argument, so that the oracle tests at the end can
//! prove it fails plausible wrong solutions with the right message, and passes correct ones
//! written differently from the reference.

mod common;

use common::{left_nothing_behind, verdict, with_io, within};
use mmap::error::FileError;
use mmap::mapping::Mapping;
use mmap::private_vs_shared::{Sharing, write_through_mapping};
use nix::sys::mman::{MapFlags, ProtFlags};
use std::fs::{File, OpenOptions};
use std::path::Path;

/// A function with the step's signature.
type WriteThrough = fn(&Path, usize, &[u8], Sharing) -> Result<Vec<u8>, FileError>;

const ORIGINAL: &[u8] = b"hello, world\nsecond line\n";

/// The outcome of one call: its result, and the bytes the calling thread moved with
/// `read()` and `write()` system calls meanwhile (when the kernel accounts them).
struct Call {
    result: Result<Vec<u8>, FileError>,
    read: Option<u64>,
    written: Option<u64>,
}

fn describe(path: &Path, offset: usize, len: usize, sharing: Sharing) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("write_through_mapping({name}, offset {offset}, {len} bytes, {sharing:?})")
}

/// How many pages of the file at `path` are dirty in the page cache (changed, not yet
/// written back), from `cachestat(2)` (Linux 6.5); `None` where it cannot be told: an
/// older kernel, or a file system that keeps everything in memory (tmpfs), where a page
/// is never written back.
fn dirty_pages(path: &Path) -> Option<u64> {
    use std::os::fd::AsRawFd;
    /// `struct cachestat_range`.
    #[repr(C)]
    struct Range {
        off: u64,
        len: u64,
    }
    /// `struct cachestat`.
    #[repr(C)]
    #[derive(Default)]
    struct Stat {
        nr_cache: u64,
        nr_dirty: u64,
        nr_writeback: u64,
        nr_evicted: u64,
        nr_recently_evicted: u64,
    }
    const SYS_CACHESTAT: libc::c_long = 451;
    let file = File::open(path).ok()?;
    let fs = nix::sys::statfs::fstatfs(&file).ok()?;
    // tmpfs, and ramfs (RAMFS_MAGIC, which nix does not name).
    let kind = fs.filesystem_type();
    if kind == nix::sys::statfs::TMPFS_MAGIC || kind.0 == 0x8584_58f6 {
        return None;
    }
    let range = Range { off: 0, len: 0 }; // len 0: to the end of the file
    let mut stat = Stat::default();
    // SAFETY: cachestat reads `range` and writes `stat`, both valid for the call, and
    // only looks at the descriptor.
    let rc = unsafe {
        libc::syscall(
            SYS_CACHESTAT,
            file.as_raw_fd(),
            &range as *const Range,
            &mut stat as *mut Stat,
            0,
        )
    };
    (rc == 0).then_some(stat.nr_dirty + stat.nr_writeback)
}

/// Calls `f` under the watchdog, measuring the calling thread's I/O.
fn call(
    f: WriteThrough,
    path: &Path,
    offset: usize,
    bytes: &[u8],
    sharing: Sharing,
) -> Result<Call, String> {
    mmap::fault::explain_sigbus();
    let (owned, data) = (path.to_owned(), bytes.to_vec());
    within(
        &describe(path, offset, bytes.len(), sharing),
        "mapping, copying and syncing take milliseconds: look for a loop that never ends",
        move || {
            let (result, io) = with_io(|| f(&owned, offset, &data, sharing));
            Call {
                result,
                read: io.map(|io| io.read),
                written: io.map(|io| io.written),
            }
        },
    )
}

/// The file's modification time.
fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn show(bytes: &[u8]) -> String {
    if bytes.len() <= 64 {
        format!("{:?}", String::from_utf8_lossy(bytes))
    } else {
        format!("{} bytes", bytes.len())
    }
}

/// A result for a message: `Ok(26 bytes)` or the error.
fn outcome(result: &Result<Vec<u8>, FileError>) -> String {
    match result {
        Ok(bytes) => format!("Ok({} bytes)", bytes.len()),
        Err(err) => format!("Err({err:?})"),
    }
}

/// The first index where `a` and `b` differ (or the shorter length).
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

/// Writes `bytes` at `offset` of a file holding `original` with `sharing`, and checks what
/// the process saw, what the file holds, its length, and that nothing was left behind.
fn check_one_write(
    f: WriteThrough,
    name: &str,
    original: &[u8],
    offset: usize,
    bytes: &[u8],
    sharing: Sharing,
) -> Result<(), String> {
    // In the build directory, on disk: in a tmpfs (a /tmp in memory) nothing is ever
    // written back, and whether msync was called cannot be seen.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, original).expect("write the test file");
    // On disk before the call: the only dirty pages afterwards are the call's.
    File::open(&path)
        .and_then(|f| f.sync_all())
        .expect("sync the test file");
    // An old modification time, which only a write to the file moves.
    let long_ago = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
    File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(long_ago))
        .expect("set the file's modification time");
    let what = describe(&path, offset, bytes.len(), sharing);
    let call = call(f, &path, offset, bytes, sharing)?;
    let seen = call.result.map_err(|err| match err {
        FileError::OutOfBounds { file_len, end, .. } if end <= file_len => format!(
            "{what} was refused as out of bounds, but it ends at byte {end} of a file of \
             {file_len} bytes: only a write that ends past the file's length is out of bounds, \
             and {end} is not past {file_len}. Refused within bounds."
        ),
        err => format!("{what} failed: {err}"),
    })?;
    let mut changed = original.to_vec();
    changed[offset..offset + bytes.len()].copy_from_slice(bytes);
    if seen != changed {
        let at = first_difference(&seen, &changed);
        return Err(format!(
            "{what} returned {}, but the mapping holds the whole file of {} bytes with the \
             write at byte {offset}: {} (first difference at byte {at}). Wrong contents \
             returned.",
            show(&seen),
            changed.len(),
            show(&changed)
        ));
    }
    let on_disk = std::fs::read(&path).expect("read the file back");
    if on_disk.len() != original.len() {
        return Err(format!(
            "after {what}, the file has {} bytes instead of {}: a write through a mapping \
             never changes the file's length. File length changed.",
            on_disk.len(),
            original.len()
        ));
    }
    match sharing {
        Sharing::Private if on_disk != original => {
            return Err(format!(
                "after {what}, the file changed at byte {}: a write through MAP_PRIVATE reached \
                 the file. A private mapping is copy-on-write: its changes belong to the \
                 process alone. Private write reached the file.",
                first_difference(&on_disk, original)
            ));
        }
        Sharing::Private if modified(&path) != Some(long_ago) => {
            return Err(format!(
                "after {what}, the file holds its old bytes, but its modification time \
                 changed: the file was written (through MAP_SHARED, or with write()), even if \
                 the old bytes were put back, and another process could read the private bytes \
                 meanwhile. A private mapping is copy-on-write: the file is never written. \
                 Private write reached the file."
            ));
        }
        Sharing::Shared if on_disk != changed => {
            return Err(format!(
                "after {what}, the file still holds its old bytes at byte {}: the write went to \
                 a private copy-on-write page. Only MAP_SHARED maps the file's own pages (then \
                 msync makes the change durable). Shared write lost.",
                first_difference(&on_disk, &changed)
            ));
        }
        _ => {}
    }
    if let Some(read) = call.read.filter(|&n| n > 4096) {
        return Err(format!(
            "{what} read {read} bytes of a {}-byte file with read() system calls: it reads the \
             file instead of mapping it. The bytes come from the mapping, which the kernel \
             fills by page faults. Read instead of mapped.",
            original.len()
        ));
    }
    if let Some(written) = call.written.filter(|&n| n >= bytes.len() as u64 && n > 0) {
        return Err(format!(
            "{what} wrote {written} bytes with write() system calls: the file was changed \
             with write(), not through the mapping. With MAP_SHARED, the store into the \
             mapping is the write. Written with write()."
        ));
    }
    if sharing == Sharing::Shared {
        if let Some(dirty) = dirty_pages(&path).filter(|&n| n > 0) {
            return Err(format!(
                "{what} returned with {dirty} page(s) of the file still dirty in the page cache, \
                 not on disk. Every process already sees the change, but the doc promises a \
                 sync before unmapping: msync with MS_SYNC writes the pages back and waits (and \
                 reports an I/O error as FileError::Sync). Not synced."
            ));
        }
    }
    left_nothing_behind(&what, &path)
}

fn check_private_and_shared_writes(f: WriteThrough) -> Result<(), String> {
    check_one_write(f, "greeting.txt", ORIGINAL, 0, b"HELLO", Sharing::Private)?;
    check_one_write(f, "greeting.txt", ORIGINAL, 13, b"SECOND", Sharing::Shared)
}

fn check_writes_up_to_the_last_byte(f: WriteThrough) -> Result<(), String> {
    // 10000 bytes: not a multiple of the page size; writes across the first page boundary,
    // and up to the very last byte.
    let original: Vec<u8> = (0..10_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    for sharing in [Sharing::Private, Sharing::Shared] {
        check_one_write(
            f,
            "ten_thousand.txt",
            &original,
            4090,
            b"ACROSS A PAGE",
            sharing,
        )?;
        check_one_write(f, "ten_thousand.txt", &original, 9995, b"LAST!", sharing)?;
        // Nothing at the very end: `offset + 0` is the file's length, not past it.
        check_one_write(f, "ten_thousand.txt", &original, 10_000, b"", sharing)?;
        check_one_write(f, "greeting.txt", ORIGINAL, 0, ORIGINAL, sharing)?;
    }
    Ok(())
}

fn check_through_the_mapping(f: WriteThrough) -> Result<(), String> {
    // A bigger file and a bigger write, so that a read() or write() of the bytes shows.
    let original = b"0123456789abcdef".repeat(64 * 1024);
    let bytes = vec![b'#'; 256 * 1024];
    check_one_write(f, "megabyte.bin", &original, 4096, &bytes, Sharing::Private)?;
    check_one_write(f, "megabyte.bin", &original, 4096, &bytes, Sharing::Shared)
}

fn check_past_the_end(f: WriteThrough) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("greeting.txt");
    let len = ORIGINAL.len();
    let cases: [(&[u8], usize, &[u8], usize); 4] = [
        (ORIGINAL, len - 2, b"xyz", len + 1),
        (ORIGINAL, len + 8192, b"far", len + 8195),
        (ORIGINAL, usize::MAX - 1, b"xyz", usize::MAX),
        (b"", 0, b"x", 1),
    ];
    for (original, offset, bytes, end) in cases {
        for sharing in [Sharing::Shared, Sharing::Private] {
            std::fs::write(&path, original).expect("write the test file");
            let what = describe(&path, offset, bytes.len(), sharing);
            let file_len = original.len();
            match call(f, &path, offset, bytes, sharing)?.result {
                Err(FileError::OutOfBounds {
                    file_len: l,
                    end: e,
                    ..
                }) if l == file_len && e == end => {}
                other => {
                    return Err(format!(
                        "{what} on a file of {file_len} bytes should be \
                         FileError::OutOfBounds {{ file_len: {file_len}, end: {end} }} (a \
                         mapping never grows a file), got {}. Write past the end not \
                         refused.",
                        outcome(&other)
                    ));
                }
            }
            let after = std::fs::read(&path).expect("read back");
            if after != original {
                return Err(format!(
                    "{what} was refused, but the file changed: {} bytes now, {file_len} before \
                     (refuse before mapping, and never grow the file). File changed.",
                    after.len()
                ));
            }
            left_nothing_behind(&what, &path)?;
        }
    }
    Ok(())
}

fn check_a_missing_file(f: WriteThrough) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("absent.txt");
    let what = describe(&path, 0, 1, Sharing::Shared);
    match call(f, &path, 0, b"x", Sharing::Shared)?.result {
        Err(FileError::Open { path: p, .. }) if p == path => {}
        other => {
            return Err(format!(
                "{what}: expected FileError::Open naming absent.txt, got {}. Missing file not \
                 reported.",
                outcome(&other)
            ));
        }
    }
    if path.exists() {
        return Err(format!(
            "{what} created the missing file: open it without `create`. Missing file \
             created."
        ));
    }
    Ok(())
}

fn check_all(f: WriteThrough) -> Result<(), String> {
    check_private_and_shared_writes(f)?;
    check_writes_up_to_the_last_byte(f)?;
    check_through_the_mapping(f)?;
    check_past_the_end(f)?;
    check_a_missing_file(f)
}

#[test]
fn a_private_write_is_seen_by_the_process_but_never_reaches_the_file() {
    verdict(check_one_write(
        write_through_mapping,
        "greeting.txt",
        ORIGINAL,
        0,
        b"HELLO",
        Sharing::Private,
    ));
}

#[test]
fn a_shared_write_reaches_the_file() {
    verdict(check_one_write(
        write_through_mapping,
        "greeting.txt",
        ORIGINAL,
        13,
        b"SECOND",
        Sharing::Shared,
    ));
}

#[test]
fn writes_across_a_page_and_up_to_the_last_byte_work() {
    verdict(check_writes_up_to_the_last_byte(write_through_mapping));
}

#[test]
fn the_bytes_go_through_the_mapping() {
    verdict(check_through_the_mapping(write_through_mapping));
}

#[test]
fn a_write_past_the_end_is_an_error_and_changes_nothing() {
    verdict(check_past_the_end(write_through_mapping));
}

#[test]
fn a_missing_file_is_an_open_error_that_names_it() {
    verdict(check_a_missing_file(write_through_mapping));
}

// The oracles: the checks above fail plausible wrong solutions with a message naming the
// cause, and pass correct ones written differently from the reference.

fn open_rw(path: &Path) -> Result<File, FileError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|source| FileError::Open {
            path: path.to_owned(),
            source,
        })
}

fn out_of_bounds(path: &Path, file_len: usize, end: usize) -> FileError {
    FileError::OutOfBounds {
        path: path.to_owned(),
        file_len,
        end,
    }
}

fn map_error(path: &Path, len: usize) -> impl FnOnce(nix::errno::Errno) -> FileError {
    let path = path.to_owned();
    move |source| FileError::Map { path, len, source }
}

/// A solution parametrised by its mistakes.
#[derive(Clone, Copy, Default)]
struct Variant {
    /// The flags for each sharing, or None for the right ones.
    flags: Option<fn(Sharing) -> MapFlags>,
    /// Refuse writes that end exactly at the end of the file (`>=` for `>`).
    off_by_one: bool,
    /// Grow the file with set_len instead of refusing a write past the end.
    grows: bool,
    /// Leak the mapping.
    leaks: bool,
    /// Unmap without msync.
    no_sync: bool,
}

fn run_variant(
    v: Variant,
    path: &Path,
    offset: usize,
    bytes: &[u8],
    sharing: Sharing,
) -> Result<Vec<u8>, FileError> {
    let file = open_rw(path)?;
    let mut len = usize::try_from(file.metadata().expect("metadata").len()).expect("small");
    let end = offset.saturating_add(bytes.len());
    if v.grows && end > len && end < 1 << 20 {
        file.set_len(end as u64).expect("set_len");
        len = end;
    }
    if end > len || (v.off_by_one && end >= len) {
        return Err(out_of_bounds(path, len, end));
    }
    let flags = match (v.flags, sharing) {
        (Some(choose), _) => choose(sharing),
        (None, Sharing::Private) => MapFlags::MAP_PRIVATE,
        (None, Sharing::Shared) => MapFlags::MAP_SHARED,
    };
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: the tests' files are not changed by anyone else while mapped.
    let mut map = unsafe { Mapping::new(&file, len, prot, flags) }.map_err(map_error(path, len))?;
    map.as_bytes_mut()[offset..end].copy_from_slice(bytes);
    if !v.no_sync {
        map.sync().expect("msync");
    }
    let seen = map.as_bytes().to_vec();
    if v.leaks {
        std::mem::forget(map);
    }
    Ok(seen)
}

fn always_private(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    let flags = Some((|_| MapFlags::MAP_PRIVATE) as fn(Sharing) -> MapFlags);
    run_variant(
        Variant {
            flags,
            ..Variant::default()
        },
        path,
        o,
        b,
        s,
    )
}

fn always_shared(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    let flags = Some((|_| MapFlags::MAP_SHARED) as fn(Sharing) -> MapFlags);
    run_variant(
        Variant {
            flags,
            ..Variant::default()
        },
        path,
        o,
        b,
        s,
    )
}

fn off_by_one(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    let v = Variant {
        off_by_one: true,
        ..Variant::default()
    };
    run_variant(v, path, o, b, s)
}

fn grows_the_file(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    let v = Variant {
        grows: true,
        ..Variant::default()
    };
    run_variant(v, path, o, b, s)
}

fn never_syncs(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    let v = Variant {
        no_sync: true,
        ..Variant::default()
    };
    run_variant(v, path, o, b, s)
}

fn leaks_the_mapping(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    let v = Variant {
        leaks: true,
        ..Variant::default()
    };
    run_variant(v, path, o, b, s)
}

/// Wrong: the shared write is done with pwrite() after writing a private mapping.
fn writes_with_pwrite(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    let seen = always_private(path, o, b, Sharing::Private)?;
    if s == Sharing::Shared {
        std::os::unix::fs::FileExt::write_all_at(&open_rw(path)?, b, o as u64).expect("pwrite");
    }
    Ok(seen)
}

/// Wrong: the private write is made in a copy of the file read with read().
fn private_copy_by_read(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    if s == Sharing::Shared {
        return run_variant(Variant::default(), path, o, b, s);
    }
    let mut bytes = std::fs::read(path).map_err(|source| FileError::Open {
        path: path.to_owned(),
        source,
    })?;
    let end = o.saturating_add(b.len());
    if end > bytes.len() {
        return Err(out_of_bounds(path, bytes.len(), end));
    }
    bytes[o..end].copy_from_slice(b);
    Ok(bytes)
}

/// Wrong: a "private" write made in a shared mapping, then undone: the file is written
/// twice, and ends with its old bytes.
fn shared_then_restored(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    if s == Sharing::Shared {
        return run_variant(Variant::default(), path, o, b, s);
    }
    let old = std::fs::read(path).expect("read the file");
    let end = o.saturating_add(b.len());
    if end > old.len() {
        return Err(out_of_bounds(path, old.len(), end));
    }
    let seen = always_shared(path, o, b, Sharing::Shared)?;
    always_shared(path, o, &old[o..end], Sharing::Shared)?;
    Ok(seen)
}

/// Wrong: refuses an offset at the end of the file even for no bytes (`offset >= len`).
fn refuses_the_end(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    let len = usize::try_from(std::fs::metadata(path).map_or(0, |m| m.len())).expect("small");
    if o >= len && path.exists() {
        return Err(out_of_bounds(path, len, o.saturating_add(b.len())));
    }
    run_variant(Variant::default(), path, o, b, s)
}

/// Right, written differently: the private mapping of a file opened read-only (copy-on-write
/// needs no write permission), MAP_SHARED_VALIDATE for the shared one, raw nix calls and
/// `msync` without the crate's wrapper.
fn raw_nix_calls(path: &Path, o: usize, b: &[u8], s: Sharing) -> Result<Vec<u8>, FileError> {
    use std::num::NonZeroUsize;
    let file = match s {
        Sharing::Private => File::open(path).map_err(|source| FileError::Open {
            path: path.to_owned(),
            source,
        })?,
        Sharing::Shared => open_rw(path)?,
    };
    let len = usize::try_from(file.metadata().expect("metadata").len()).expect("small");
    let end = o.checked_add(b.len()).filter(|&end| end <= len);
    let Some(end) = end else {
        return Err(out_of_bounds(path, len, o.saturating_add(b.len())));
    };
    let Some(size) = NonZeroUsize::new(len) else {
        return Ok(Vec::new());
    };
    let flags = match s {
        Sharing::Private => MapFlags::MAP_PRIVATE,
        Sharing::Shared => MapFlags::MAP_SHARED_VALIDATE,
    };
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: a fresh mapping of a file nobody else changes meanwhile.
    let ptr = unsafe { nix::sys::mman::mmap(None, size, prot, flags, &file, 0) }
        .map_err(map_error(path, len))?;
    drop(file);
    // SAFETY: `len` writable bytes at `ptr`, alive until the munmap below.
    let bytes = unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr().cast::<u8>(), len) };
    bytes[o..end].copy_from_slice(b);
    let seen = bytes.to_vec();
    if s == Sharing::Shared {
        // SAFETY: the mapping made above.
        unsafe { nix::sys::mman::msync(ptr, len, nix::sys::mman::MsFlags::MS_SYNC) }.map_err(
            |source| FileError::Sync {
                path: path.to_owned(),
                source,
            },
        )?;
    }
    // SAFETY: the mapping made above; `bytes` is not used after this.
    unsafe { nix::sys::mman::munmap(ptr, len) }.expect("munmap");
    Ok(seen)
}

#[track_caller]
fn assert_fails(f: WriteThrough, expected: &[&str]) {
    let message = check_all(f).expect_err("the checks must fail this wrong solution");
    for text in expected {
        assert!(
            message.contains(text),
            "the message should say {text:?}:\n{message}"
        );
    }
}

#[test]
fn the_checks_fail_a_solution_with_the_wrong_flags() {
    assert_fails(
        always_private,
        &[
            "Shared), the file still holds its old bytes",
            "Only MAP_SHARED",
        ],
    );
    assert_fails(
        always_shared,
        &["Private), the file changed at byte 0", "reached the file"],
    );
    assert_fails(
        shared_then_restored,
        &[
            "Private), the file holds its old bytes, but its modification time changed",
            "Private write reached the file.",
        ],
    );
}

#[test]
fn the_checks_fail_a_solution_that_moves_the_bytes_with_system_calls() {
    assert_fails(
        writes_with_pwrite,
        &["with write() system calls", "not through the mapping"],
    );
    assert_fails(
        private_copy_by_read,
        &["with read() system calls", "instead of mapping it"],
    );
}

#[test]
fn the_checks_fail_a_solution_with_the_wrong_bounds() {
    assert_fails(
        off_by_one,
        &["offset 9995, 5 bytes, Private) was refused as out of bounds, but it ends at byte 10000"],
    );
    assert_fails(
        refuses_the_end,
        &[
            "offset 10000, 0 bytes, Private) was refused as out of bounds",
            "Refused within bounds.",
        ],
    );
    assert_fails(
        grows_the_file,
        &[
            "should be FileError::OutOfBounds { file_len: 25, end: 26 }",
            "got Ok(26 bytes)",
        ],
    );
}

#[test]
fn the_checks_fail_a_solution_that_never_syncs() {
    // Where the page cache can be read (Linux 6.5's cachestat, a file system on disk).
    if dirty_pages(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Cargo.toml")
            .as_path(),
    )
    .is_some()
    {
        assert_fails(
            never_syncs,
            &["still dirty in the page cache", "Not synced."],
        );
    }
}

#[test]
fn the_checks_fail_a_solution_that_leaks_its_mapping() {
    assert_fails(leaks_the_mapping, &["the mapping leaked"]);
}

#[test]
fn the_checks_pass_a_correct_solution_written_differently() {
    verdict(check_all(raw_nix_calls));
}
