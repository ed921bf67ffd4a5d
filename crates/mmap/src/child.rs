//! What a forked child may use: writing bytes and small integers without allocating, and
//! leaving with `_exit`. Everything here is async-signal-safe.

use std::os::fd::BorrowedFd;

/// Formats `n` in decimal into `buf` and returns the digits (no allocation).
///
/// ```
/// let mut buf = [0u8; 20];
/// assert_eq!(mmap::child::format_u64(1_000_000, &mut buf), b"1000000");
/// assert_eq!(mmap::child::format_u64(0, &mut buf), b"0");
/// ```
pub fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[start..];
        }
    }
}

/// Writes all of `bytes` to standard error with `write(2)`, ignoring errors (a child has
/// nobody to report them to).
pub fn write_stderr(bytes: &[u8]) {
    // SAFETY: descriptor 2 stays open for the whole life of the process.
    let fd = unsafe { BorrowedFd::borrow_raw(2) };
    let mut rest = bytes;
    while !rest.is_empty() {
        match nix::unistd::write(fd, rest) {
            Ok(0) | Err(_) => return,
            Ok(n) => rest = &rest[n..],
        }
    }
}

/// Ends the child at once with `_exit(code)`: no destructors, no stdio flush, no atexit
/// handlers (which belong to the parent's copy of the program).
pub fn exit(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and always sound to call.
    unsafe { libc::_exit(code) }
}
