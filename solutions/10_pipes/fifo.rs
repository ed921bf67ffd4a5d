//! Pipes, step 6: a named pipe (FIFO) between two unrelated processes.
//!
//! Task: an anonymous pipe only reaches the children of its creator; a FIFO has a name
//! in the file system, so any process can open it. `fifo_reader` creates one in a fresh
//! temporary directory, prints its path and reads it; `fifo_writer PATH` opens it and
//! writes. Write the parts that make this safe: removing the FIFO and its directory on
//! every path out (`Drop`), and opening for writing without blocking forever when no
//! reader is there.
//! Invariant: the FIFO and its directory exist only while the reader runs, errors and
//! interruptions included. Opening a FIFO blocks until the other side opens it too,
//! unless `O_NONBLOCK` is given: then a writer gets ENXIO at once when no reader is
//! there, and a reader opens at once (and waits for data with `poll`).
//! Time budget: each check gives the demo 5 s, extended while one of its processes
//! sleeps or computes (up to 30 s), so pacing with `sleep` is fine.
//! Done when `just check pipes/fifo` (or `cargo course check pipes/fifo`) passes.

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl, open};
use nix::sys::stat::{Mode, SFlag, stat};
use nix::unistd::mkfifo;
use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A FIFO named `channel` in a directory of its own, both removed when the `Fifo` is
/// dropped.
#[derive(Debug)]
pub struct Fifo {
    /// The directory made for the FIFO (`pipes-fifo-PID-N` in the parent given to
    /// [`Fifo::create`]).
    dir: PathBuf,
    /// `dir/channel`, the FIFO itself.
    path: PathBuf,
}

impl Fifo {
    /// Creates a fresh directory in `parent` (readable by its owner only) and a FIFO
    /// named `channel` in it (mode 0600).
    ///
    /// # Errors
    ///
    /// When the directory or the FIFO cannot be created; nothing is left behind then.
    pub fn create(parent: &Path) -> io::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = parent.join(format!(
            "pipes-fifo-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        // 0700: only its owner may list it or open the FIFO in it.
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let path = dir.join("channel");
        if let Err(errno) = mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR) {
            // An error path too: the directory must not outlive the failure.
            let _ = std::fs::remove_dir(&dir);
            return Err(errno.into());
        }
        Ok(Self { dir, path })
    }

    /// The FIFO's path, to hand to the writer.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory that holds it.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Opens the FIFO at `path` for reading without waiting for a writer (`O_NONBLOCK`):
/// wait for data with `poll`, and expect EAGAIN while a writer is connected but silent.
///
/// # Errors
///
/// Any error of `open`.
pub fn open_reader(path: &Path) -> nix::Result<OwnedFd> {
    open(
        path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Why [`open_writer`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    /// Nothing exists at the path.
    NoSuchFifo,
    /// Something exists at the path, but it is not a FIFO.
    NotAFifo,
    /// The FIFO exists but no process has it open for reading (ENXIO).
    NoReader,
    /// Another error of `stat`, `open` or `fcntl`.
    Sys(Errno),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchFifo => write!(f, "there is no FIFO there"),
            Self::NotAFifo => write!(f, "that is not a FIFO"),
            Self::NoReader => write!(f, "nobody has it open for reading (ENXIO)"),
            Self::Sys(errno) => write!(f, "{errno}"),
        }
    }
}

impl std::error::Error for OpenError {}

impl Drop for Fifo {
    fn drop(&mut self) {
        // The FIFO first, then the directory, which must be empty to go. Errors are
        // ignored: drop cannot report them, and retrying would not help. Since the
        // reader keeps the `Fifo` alive until it returns from main, this runs on every
        // path out, errors and signals (turned into an early return) included.
        let _ = std::fs::remove_file(&self.path);
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Opens the FIFO at `path` for writing, and fails at once when no reader has it open
/// instead of waiting for one. The descriptor returned is in blocking mode, for ordinary
/// writes.
///
/// # Errors
///
/// [`OpenError::NoSuchFifo`], [`OpenError::NotAFifo`], [`OpenError::NoReader`], or
/// [`OpenError::Sys`].
pub fn open_writer(path: &Path) -> Result<OwnedFd, OpenError> {
    match stat(path) {
        Err(Errno::ENOENT) => return Err(OpenError::NoSuchFifo),
        Err(errno) => return Err(OpenError::Sys(errno)),
        Ok(st) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFIFO => {
            return Err(OpenError::NotAFifo);
        }
        Ok(_) => {}
    }
    // O_NONBLOCK on a write-only open of a FIFO means "do not wait for a reader": ENXIO
    // at once when there is none, instead of blocking in open() forever.
    let fd = open(
        path,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| match errno {
        Errno::ENXIO => OpenError::NoReader,
        Errno::ENOENT => OpenError::NoSuchFifo,
        other => OpenError::Sys(other),
    })?;
    // Connected: back to blocking mode, so that a write waits for room in the pipe
    // instead of failing with EAGAIN when the reader is slower.
    let flags = OFlag::from_bits_retain(fcntl(&fd, FcntlArg::F_GETFL).map_err(OpenError::Sys)?);
    fcntl(&fd, FcntlArg::F_SETFL(flags - OFlag::O_NONBLOCK)).map_err(OpenError::Sys)?;
    Ok(fd)
}
