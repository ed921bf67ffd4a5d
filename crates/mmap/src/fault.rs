//! A diagnosis for `SIGBUS`, the signal that kills a process which touches a page of a file
//! mapping lying wholly past the end of the file.
//!
//! A mapping may be longer than its file: the bytes of the last page past the end read as
//! zeros. But a page that starts at or after the end of the file has nothing behind it, and
//! the access is killed with `SIGBUS`. It happens when a mapping is made longer than the
//! file, when a file is truncated while mapped, or when a new file is mapped before it was
//! grown with `ftruncate` (`File::set_len`). Without help the process only dies with
//! "signal 7, SIGBUS"; [`explain_sigbus`] installs a handler that first says which byte of
//! which file was touched, and how long the file is.
//!
//! The tests and the demos that map files call it first thing.

use std::ffi::c_void;
use std::sync::Once;

use proctest::child::{Line, write_all};

/// Installs (once per process) a `SIGBUS` handler that writes a diagnosis on standard
/// error, then lets the signal kill the process as it would have: the exit status still
/// says `SIGBUS`.
///
/// The handler only makes async-signal-safe calls: `open`, `read`, `close` and `stat` on
/// `/proc/self/maps` and the mapped file, `write` on standard error, `sigaction`.
pub fn explain_sigbus() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; the handler
        // below is async-signal-safe and has the SA_SIGINFO signature.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut c_void) = on_sigbus;
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_SIGINFO;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
        }
    });
}

/// Where a faulting address lies: the mapping's line of `/proc/self/maps`, parsed.
struct Place {
    /// The path of the mapped file, as `/proc/self/maps` shows it.
    path: [u8; 512],
    path_len: usize,
    /// The byte of the file at the faulting address.
    byte: u64,
}

extern "C" fn on_sigbus(_signal: libc::c_int, info: *mut libc::siginfo_t, _context: *mut c_void) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler; si_addr is the
    // faulting address for SIGBUS.
    let address = unsafe { (*info).si_addr() } as u64;
    match find(address) {
        Some(place) => explain(&place),
        None => Line::new()
            .text(b"SIGBUS at address ")
            .num(address)
            .text(
                b", which is not inside a file mapping (a misaligned access or a hardware error)\n",
            )
            .eprint(),
    }
    // Back to the default action: returning re-runs the access, which faults again and
    // kills the process with SIGBUS, as it would have without this handler.
    // SAFETY: a zeroed sigaction with SIG_DFL (0) restores the default action.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

fn explain(place: &Place) {
    let path = &place.path[..place.path_len];
    let file = path.strip_suffix(b" (deleted)").unwrap_or(path);
    let size = file_size(file);
    let page = page_size();
    let mut head = Line::new()
        .text(b"SIGBUS: the process touched byte ")
        .num(place.byte)
        .text(b" of ")
        .text(path)
        .text(b" through a mapping");
    head = match size {
        Some(size) => head
            .text(b", but the file is only ")
            .num(size)
            .text(b" bytes long (its last page ends at byte ")
            .num(size.div_ceil(page) * page)
            .text(b").\n"),
        None => head.text(b", and that byte lies past the end of the file.\n"),
    };
    head.eprint();
    for line in [
        &b"A page of a mapping that lies wholly past the end of its file has nothing behind it:\n"
            [..],
        b"the access is killed with SIGBUS. Map no more than the file's length (its metadata's\n",
        b"len()), grow the file first with File::set_len (ftruncate) when the mapping must be\n",
        b"longer, and never truncate a file while it is mapped.\n",
    ] {
        let _ = write_all(proctest::child::stderr_fd(), line);
    }
}

/// The page size (`sysconf` is async-signal-safe in practice on Linux: it reads the
/// auxiliary vector).
fn page_size() -> u64 {
    // SAFETY: sysconf only reads a constant of the process.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096).max(1)
}

/// The size of the file at `path` (`stat`), if it still exists.
fn file_size(path: &[u8]) -> Option<u64> {
    let mut name = [0u8; 513];
    if path.len() >= name.len() {
        return None;
    }
    name[..path.len()].copy_from_slice(path);
    // SAFETY: a zeroed stat is a valid buffer for stat() to fill.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is NUL-terminated (the byte after the path is 0) and `stat` is valid.
    let ok = unsafe { libc::stat(name.as_ptr().cast(), &mut stat) } == 0;
    ok.then(|| u64::try_from(stat.st_size).unwrap_or(0))
}

/// Finds the file mapping that holds `address`, reading `/proc/self/maps` in chunks on
/// the stack.
fn find(address: u64) -> Option<Place> {
    // SAFETY: a NUL-terminated path, read-only.
    let fd = unsafe {
        libc::open(
            c"/proc/self/maps".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    let mut chunk = [0u8; 4096];
    let mut line = [0u8; 1024];
    let mut len = 0;
    let mut found = None;
    'reading: loop {
        // SAFETY: `chunk` is a writable buffer of its length.
        let n = unsafe { libc::read(fd, chunk.as_mut_ptr().cast(), chunk.len()) };
        let Ok(n) = usize::try_from(n) else { break };
        if n == 0 {
            break;
        }
        for &byte in &chunk[..n] {
            if byte == b'\n' {
                if let Some(place) = parse(&line[..len], address) {
                    found = Some(place);
                    break 'reading;
                }
                len = 0;
            } else if len < line.len() {
                line[len] = byte;
                len += 1;
            }
        }
    }
    // SAFETY: `fd` was opened above and is closed once.
    unsafe { libc::close(fd) };
    found
}

/// Parses one line of `/proc/self/maps` (`start-end perms offset dev inode path`) and
/// returns where `address` falls in its file, if the line maps a file and holds it.
fn parse(line: &[u8], address: u64) -> Option<Place> {
    let mut fields = line.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let range = fields.next()?;
    let dash = range.iter().position(|&b| b == b'-')?;
    let start = hex(&range[..dash])?;
    let end = hex(&range[dash + 1..])?;
    if address < start || address >= end {
        return None;
    }
    let _perms = fields.next()?;
    let offset = hex(fields.next()?)?;
    let _device = fields.next()?;
    let _inode = fields.next()?;
    // The path is the rest of the line (it may contain spaces, and " (deleted)").
    let at = line.iter().position(|&b| b == b'/')?;
    let path = &line[at..];
    let mut place = Place {
        path: [0; 512],
        path_len: path.len().min(512),
        byte: address - start + offset,
    };
    place.path[..place.path_len].copy_from_slice(&path[..place.path_len]);
    Some(place)
}

fn hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        let value = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return None,
        };
        Some(acc << 4 | u64::from(value))
    })
}

#[cfg(test)]
mod tests {
    use super::{hex, parse};

    #[test]
    fn a_maps_line_gives_the_file_and_the_byte() {
        let line = b"7f0000001000-7f0000003000 r--s 00002000 fd:01 1234 /tmp/dir/a file.txt";
        let place = parse(line, 0x7f00_0000_1010).expect("inside the mapping");
        assert_eq!(&place.path[..place.path_len], b"/tmp/dir/a file.txt");
        assert_eq!(place.byte, 0x2010);
        assert!(
            parse(line, 0x7f00_0000_3000).is_none(),
            "the end is exclusive"
        );
        assert!(
            parse(b"7f00-7f10 rw-p 00000000 00:00 0 ", 0x7f01).is_none(),
            "anonymous"
        );
        assert_eq!(hex(b"ff"), Some(255));
        assert_eq!(hex(b"xyz"), None);
    }
}
