//! The `read()`-based line counter that step `file` is compared with.

use crate::error::FileError;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::Path;

/// Counts the lines of `bytes` the way [`str::lines`] does: every `\n` ends a line, and a
/// last line without `\n` still counts.
///
/// ```
/// assert_eq!(mmap::lines::count_in(b"a\nb\n"), 2);
/// assert_eq!(mmap::lines::count_in(b"a\nb"), 2);
/// assert_eq!(mmap::lines::count_in(b""), 0);
/// ```
pub fn count_in(bytes: &[u8]) -> u64 {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    match bytes.last() {
        Some(&last) if last != b'\n' => newlines + 1,
        _ => newlines,
    }
}

/// Counts the lines of the file at `path` with plain `read()` calls into a 64 KiB buffer:
/// the copy from the kernel's page cache into the process that `mmap` avoids.
///
/// # Errors
///
/// [`FileError::Open`] when the file cannot be opened, [`FileError::Read`] when a read fails.
pub fn count_lines_read(path: &Path) -> Result<u64, FileError> {
    let mut file = File::open(path).map_err(|source| FileError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut newlines = 0u64;
    let mut last = None;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(FileError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = Some(buf[n - 1]);
    }
    Ok(match last {
        Some(b) if b != b'\n' => newlines + 1,
        _ => newlines,
    })
}
