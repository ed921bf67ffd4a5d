//! mmap, step 1: count the lines of a file through a read-only mapping.
//!
//! Task: `count_lines_mmap` opens the file, maps it with `PROT_READ` and `MAP_PRIVATE`, and
//! counts its lines by reading the mapping like a byte slice, without a single `read()`,
//! whatever the file's size. (Nothing writes through a `PROT_READ` mapping, so `MAP_SHARED`,
//! memmap2's choice, would read the same bytes: the next step is where the two differ.)
//! Invariant: it agrees with `count_lines_read` (plain `read()` calls) on every file: a line
//! is ended by `\n`, and a last line without `\n` still counts (`str::lines` semantics).
//! Errors name the file: a missing file is `FileError::Open`, and the empty file is not an
//! error at all (0 lines), although `mmap` refuses to map 0 bytes (`EINVAL`).
//! Time budget: each call of your functions gets 10 s, and the `count_lines` demo 10 s,
//! extended while it computes (up to 30 s); counting takes milliseconds.
//! Done when `just check mmap/file` (or `cargo course check mmap/file`) passes.

use crate::error::FileError;
use crate::mapping::Mapping;
use nix::sys::mman::{MapFlags, ProtFlags};
use std::fs::File;
use std::path::Path;

/// Counts the lines of the file at `path` through a read-only mapping of the whole file.
///
/// # Errors
///
/// [`FileError::Open`] when the file cannot be opened (its message names the path),
/// [`FileError::Read`] when its length cannot be read, [`FileError::Map`] when `mmap` fails.
pub fn count_lines_mmap(path: &Path) -> Result<u64, FileError> {
    let file = File::open(path).map_err(|source| FileError::Open {
        path: path.to_owned(),
        source,
    })?;
    let len = file
        .metadata()
        .map_err(|source| FileError::Read {
            path: path.to_owned(),
            source,
        })?
        .len();
    let len = usize::try_from(len).expect("a file that fits in the address space");
    // TODO: an empty file has no line, but what does `mmap` say to a mapping of 0 bytes?
    // (Try `cargo run -p mmap --bin count_lines -- /dev/null`.)
    // SAFETY: the course's files are not modified or truncated while we count; if another
    // program truncated one, the access would fault with SIGBUS (the documented risk of
    // mapping files).
    let map = unsafe { Mapping::new(&file, len, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE) }
        .map_err(|source| FileError::Map {
            path: path.to_owned(),
            len,
            source,
        })?;
    // The descriptor is no longer needed: the mapping keeps its own reference to the file.
    drop(file);
    let bytes = map.as_bytes();
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    // TODO: is every line ended by a `\n`? Compare with `crate::lines::count_lines_read`.
    Ok(newlines)
}
