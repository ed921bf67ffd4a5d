//! mmap, step 2: `MAP_PRIVATE` against `MAP_SHARED`.
//!
//! Task: `write_through_mapping` maps a file read-write, copies `bytes` into the mapping at
//! `offset`, and returns what the mapping holds afterwards. With `Sharing::Private` the
//! mapping is copy-on-write: the process sees its change, the file never does. With
//! `Sharing::Shared` the change is made in the page cache that every process and the file
//! share; `msync` then waits until it is on disk.
//! Invariant: after a private write the file's bytes are unchanged; after a shared write
//! they hold `bytes` at `offset`. A mapping never grows a file: writing past its end is an
//! error, not a crash.
//! Time budget: each call of your functions gets 10 s; mapping, copying and syncing take
//! milliseconds.
//! Done when `just check mmap/private_vs_shared` passes.

use crate::error::FileError;
use crate::mapping::Mapping;
use nix::sys::mman::{MapFlags, ProtFlags};
use std::fs::OpenOptions;
use std::path::Path;

/// Who sees the writes made through a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sharing {
    /// `MAP_PRIVATE`: copy-on-write; only this process sees its writes.
    Private,
    /// `MAP_SHARED`: writes go to the file (through the page cache), seen by everyone.
    Shared,
}

/// Maps the whole file at `path` read-write with `sharing`, writes `bytes` at `offset`
/// through the mapping, and returns the mapping's contents after the write (what this
/// process sees). A shared mapping is synced (`msync`) before it is unmapped.
///
/// # Errors
///
/// [`FileError::Open`] when the file cannot be opened read-write (a private mapping may open it
/// read-only instead: copy-on-write never writes the file), [`FileError::Read`] when its
/// length cannot be read, [`FileError::OutOfBounds`] when `offset + bytes.len()` is past its
/// end, [`FileError::Map`] and [`FileError::Sync`] when `mmap` or `msync` fail.
pub fn write_through_mapping(
    path: &Path,
    offset: usize,
    bytes: &[u8],
    sharing: Sharing,
) -> Result<Vec<u8>, FileError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|source| FileError::Open {
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
    let end = offset.saturating_add(bytes.len());
    if end > len {
        return Err(FileError::OutOfBounds {
            path: path.to_owned(),
            file_len: len,
            end,
        });
    }
    // TODO: this mapping is always private, whatever `sharing` asks for. Which `MapFlags`
    // make the writes reach the file?
    let flags = MapFlags::MAP_PRIVATE;
    // SAFETY: the tests' files are not truncated or written by anyone else while mapped.
    let mut map = unsafe {
        Mapping::new(
            &file,
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            flags,
        )
    }
    .map_err(|source| FileError::Map {
        path: path.to_owned(),
        len,
        source,
    })?;
    map.as_bytes_mut()[offset..end].copy_from_slice(bytes);
    // Other processes already see a shared write (same page cache); msync makes it durable
    // on disk before we report success. A private mapping has nothing to sync.
    if sharing == Sharing::Shared {
        map.sync().map_err(|source| FileError::Sync {
            path: path.to_owned(),
            source,
        })?;
    }
    Ok(map.as_bytes().to_vec())
}
