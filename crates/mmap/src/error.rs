//! The error of the file steps: what failed, on which file.

use nix::errno::Errno;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a file could not be counted or written through a mapping. Every variant names the
/// file, so a message tells the user which one to look at.
#[derive(Debug)]
pub enum FileError {
    /// `open` failed (the file is missing, or not readable).
    Open {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// `read` (or `fstat`) failed on an open file.
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// `mmap` failed.
    Map {
        /// The file.
        path: PathBuf,
        /// The length that was asked for.
        len: usize,
        /// What `mmap` returned.
        source: Errno,
    },
    /// `msync` failed: the changes may not be in the file.
    Sync {
        /// The file.
        path: PathBuf,
        /// What `msync` returned.
        source: Errno,
    },
    /// The bytes to write do not fit inside the file (a mapping cannot grow a file).
    OutOfBounds {
        /// The file.
        path: PathBuf,
        /// The file's length.
        file_len: usize,
        /// Where the write would have ended.
        end: usize,
    },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Open { path, source } => write!(f, "cannot open {}: {source}", path.display()),
            Self::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Self::Map { path, len, source } => write!(
                f,
                "cannot map {len} bytes of {}: mmap failed with {source}{}",
                path.display(),
                if *len == 0 {
                    " (a mapping cannot be empty: handle the empty file without mmap)"
                } else {
                    ""
                }
            ),
            Self::Sync { path, source } => {
                write!(
                    f,
                    "cannot sync the mapping of {}: msync failed with {source}",
                    path.display()
                )
            }
            Self::OutOfBounds {
                path,
                file_len,
                end,
            } => write!(
                f,
                "cannot write up to byte {end} of {}: the file has only {file_len} bytes and a mapping cannot grow it",
                path.display()
            ),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Open { source, .. } | Self::Read { source, .. } => Some(source),
            Self::Map { source, .. } | Self::Sync { source, .. } => Some(source),
            Self::OutOfBounds { .. } => None,
        }
    }
}
