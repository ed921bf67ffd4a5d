//! Helpers shared by the multiplexing topic's tests: messages wrapped at 100 columns, a
//! watchdog around in-process calls, and the descriptors this process holds on a file.
#![allow(dead_code)] // each test file uses its own part of these helpers

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

/// How long one in-process call of the student's code may take before the test reports it
/// stuck: a correct call takes microseconds; this only bounds how long a broken one takes
/// to be diagnosed on a slow, busy machine.
pub const BUDGET: Duration = Duration::from_secs(5);

/// Wraps `text` at 100 columns.
pub fn wrap(text: &str) -> String {
    proctest::wrap(text, 100)
}

/// Fails the test with `result`'s message, wrapped at 100 columns.
#[track_caller]
pub fn verdict(result: Result<(), String>) {
    if let Err(message) = result {
        panic!("{}", wrap(&message));
    }
}

/// The device and inode of the open file behind `fd`.
pub fn identity(fd: BorrowedFd<'_>) -> (u64, u64) {
    let stat = nix::sys::stat::fstat(fd).expect("fstat");
    (stat.st_dev, stat.st_ino)
}

/// The descriptors of this process open on the file whose identity is `id` (from
/// [`identity`]). Each test uses files of its own, so another test's descriptors never
/// count here.
pub fn descriptors_on(id: (u64, u64)) -> Vec<i32> {
    let mut found: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter(|&fd: &i32| {
            // SAFETY: fstat only reads the descriptor's metadata; a descriptor closed in the
            // meantime makes it fail with EBADF, nothing else.
            let mut stat: libc::stat = unsafe { std::mem::zeroed() };
            // SAFETY: as above; `stat` is a valid buffer.
            let ok = unsafe { libc::fstat(fd, &mut stat) } == 0;
            ok && (stat.st_dev, stat.st_ino) == id
        })
        .collect();
    found.sort_unstable();
    found
}

/// Whether the descriptor number `fd` is open in this process.
pub fn is_open(fd: impl AsRawFd) -> bool {
    // SAFETY: F_GETFD only reads the descriptor's flags; a closed one fails with EBADF.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) != -1 }
}
