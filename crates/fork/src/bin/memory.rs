//! `memory [INITIAL CHANGED]`: a variable `x` holds INITIAL (100 by default); the child of
//! a fork sets its `x` to CHANGED (200 by default). Both processes report the value and
//! the virtual address they see (step `fork/memory`): the same address, two values.
//!
//! `memory --child-stops [INITIAL CHANGED]` is for the tests: the child stops itself
//! (SIGSTOP) as soon as it is forked, before any of `observe`'s child code runs, so that
//! the test can kill it before it reports: `observe` must then fail (EIO), not wait forever
//! and not make up the child's view.
//!
//! `memory --fail-at-exit [INITIAL CHANGED]` is for the tests too: the child writes its
//! whole report, then exits with status 3 where it asks for 0 (see
//! `proctest::faults::children_fail_at_exit`): `observe` must fail with EIO all the same.
//!
//! `memory --report-lost [INITIAL CHANGED]` is for the tests too: each pipe (or socket)
//! the child inherits from `observe` leads to /dev/null, from the child's birth, before any
//! of `observe`'s child code runs. The child's writes succeed and it exits with status 0,
//! but not a byte of its report reaches the parent: `observe` must fail (EIO). A parent that
//! returns a view all the same did not take it from the pipe. The demo says on standard
//! error how many pipe descriptors the child had at birth.
//!
//! `memory --hold-pieces [INITIAL CHANGED]` is for the tests as well: when the child writes
//! its report in several pieces (several write calls), its second piece is held until the
//! parent has read what was there, or waits for the child otherwise (a seccomp filter holds
//! the calls, see `proctest::faults::hold_calls`, and a thread of the parent lets each go
//! on). A read() on a pipe returns what has arrived; a parent that reads the report with
//! one read() then gets only the first piece in every run, not only when the scheduler
//! happens to run it between the child's writes. The demo then says so on standard error.

use fork::memory;
use fork::sys::Audit;
use proctest::faults::{Gate, hold_calls};
use std::os::fd::IntoRawFd;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

const USAGE: &str = "memory [--child-stops | --fail-at-exit | --report-lost] [--hold-pieces]
       [INITIAL CHANGED]
       (two different whole numbers, 0..=18446744073709551615; default 100 200)
example: memory 100 200   (this demo belongs to step fork/memory: `just check fork/memory`)";

/// What the tests make the child do.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trial {
    /// Nothing special.
    None,
    /// The child stops at birth (`--child-stops`).
    Stops,
    /// The child fails at exit, after its report (`--fail-at-exit`).
    FailsAtExit,
    /// The child's pipes lead to /dev/null (`--report-lost`).
    ReportLost,
}

/// The write calls of a child that `--hold-pieces` watches.
const WRITES: [libc::c_long; 5] = fork::WRITE_CALLS;

/// The read calls of the parent: the piece held goes on when one would find nothing.
const READS: [libc::c_long; 4] = [
    libc::SYS_read,
    libc::SYS_readv,
    libc::SYS_pread64,
    libc::SYS_preadv,
];

/// The other calls a parent may wait in for its child: the piece held goes on at once.
const WAITS: [libc::c_long; 9] = [
    libc::SYS_wait4,
    libc::SYS_waitid,
    libc::SYS_poll,
    libc::SYS_ppoll,
    libc::SYS_select,
    libc::SYS_pselect6,
    libc::SYS_epoll_wait,
    libc::SYS_epoll_pwait,
    libc::SYS_epoll_pwait2,
];

/// How many write calls the child made to a descriptor other than 0, 1 and 2 (its report).
static PIECES: AtomicU32 = AtomicU32::new(0);

/// Whether the child's second piece was held.
static HELD: AtomicBool = AtomicBool::new(false);

/// How many bytes are waiting to be read in the pipe `fd` (FIONREAD), 0 if unknown.
fn available(fd: u64) -> i32 {
    let Ok(fd) = i32::try_from(fd) else {
        return 0;
    };
    let mut bytes: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, to `bytes`.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &raw mut bytes) };
    if rc == 0 { bytes } else { 0 }
}

/// `--hold-pieces`: from now on, holds the second write call of a child of this process
/// (to a descriptor above 2) until the parent's next call that needs it: a read that
/// would find the pipe empty, or a wait (wait4, poll...). A read that finds the first
/// piece returns it alone. The piece is not held when the parent already waits (in a wait,
/// or in a read after the first piece), so nothing can wait for ever. A thread started
/// before the filter receives every call held and lets it go on, for the rest of the demo
/// (the calls of the main thread would fail without it).
fn hold_pieces() -> std::io::Result<()> {
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<Gate>();
    std::thread::spawn(move || {
        let Ok(gate) = gate_rx.recv() else {
            return;
        };
        let mut held = None;
        // Whether the parent may be blocked waiting for the child's next piece: then no
        // piece is held any more.
        let mut waiting = false;
        while let Ok(Some(call)) = gate.next(Duration::from_secs(3600)) {
            let ours = std::path::Path::new(&format!("/proc/self/task/{}", call.tid)).exists();
            if !ours && WRITES.contains(&call.number) && call.args[0] > 2 {
                let pieces = PIECES.fetch_add(1, Ordering::SeqCst) + 1;
                if pieces == 2 && !waiting {
                    HELD.store(true, Ordering::SeqCst);
                    held = Some(call);
                    continue;
                }
            } else if ours && READS.contains(&call.number) {
                let empty = available(call.args[0]) == 0;
                match held.take() {
                    // This read returns what is there: the first piece, without the rest.
                    Some(piece) if !empty => held = Some(piece),
                    Some(piece) => {
                        waiting = true;
                        let _ = gate.release(piece);
                    }
                    // A read after the first piece would wait for the next one.
                    None => waiting |= empty && PIECES.load(Ordering::SeqCst) > 0,
                }
            } else if ours && WAITS.contains(&call.number) {
                waiting = true;
                if let Some(piece) = held.take() {
                    let _ = gate.release(piece);
                }
            }
            let _ = gate.release(call);
        }
    });
    let calls: Vec<libc::c_long> = WRITES.iter().chain(&READS).chain(&WAITS).copied().collect();
    let gate = hold_calls(&calls)?;
    let _ = gate_tx.send(gate);
    Ok(())
}

/// The descriptors `--report-lost` looks at in a child: 3 to 1023 (a demo has a few).
const SCANNED: usize = 1024;

/// `--report-lost`: /dev/null, open for writing (-1 before).
static NULL: AtomicI32 = AtomicI32::new(-1);

/// `--report-lost`: bit `fd` set for each pipe or socket the demo held before `observe`,
/// which the child keeps as they are.
static BEFORE: [AtomicU64; SCANNED / 64] = [const { AtomicU64::new(0) }; SCANNED / 64];

/// `--report-lost`: how many pipe descriptors the children redirected, counted in a shared
/// anonymous mapping, so that the children's counts reach the demo.
static REDIRECTED: AtomicPtr<AtomicU32> = AtomicPtr::new(std::ptr::null_mut());

/// Whether `fd` is a pipe or a socket (one `fstat`, async-signal-safe).
fn is_channel(fd: i32) -> bool {
    // SAFETY: an all-zero `stat` is valid (plain integers); fstat writes one through the
    // pointer, to `stat`, and is async-signal-safe.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let rc = unsafe { libc::fstat(fd, &raw mut stat) };
    let kind = stat.st_mode & libc::S_IFMT;
    rc == 0 && (kind == libc::S_IFIFO || kind == libc::S_IFSOCK)
}

/// `--report-lost`: from now on, each child forked has every pipe and socket descriptor
/// that the demo did not hold already (those `observe` made) replaced by /dev/null at its
/// birth (dup2), before any of `observe`'s child code runs: its writes succeed, and nothing
/// reaches the parent. Works for `fork` through the C library (a `pthread_atfork` handler),
/// which is what `nix::unistd::fork` calls.
fn report_lost() -> std::io::Result<()> {
    extern "C" fn pipes_to_null() {
        let null = NULL.load(Ordering::SeqCst);
        let mut redirected = 0;
        for fd in 3..SCANNED {
            let held = BEFORE[fd / 64].load(Ordering::SeqCst) & (1 << (fd % 64)) != 0;
            let fd = i32::try_from(fd).unwrap_or(i32::MAX);
            if fd != null && !held && is_channel(fd) {
                // SAFETY: dup2 only replaces this process's descriptor `fd` by a copy of
                // `null`, and is async-signal-safe, as code run in a forked child must be.
                if unsafe { libc::dup2(null, fd) } == fd {
                    redirected += 1;
                }
            }
        }
        // SAFETY: the pointer is null or the shared mapping made by report_lost, which
        // stays mapped; an atomic add is async-signal-safe.
        if let Some(count) = unsafe { REDIRECTED.load(Ordering::SeqCst).as_ref() } {
            count.fetch_add(redirected, Ordering::SeqCst);
        }
    }
    for fd in 3..SCANNED {
        if is_channel(i32::try_from(fd).unwrap_or(i32::MAX)) {
            BEFORE[fd / 64].fetch_or(1 << (fd % 64), Ordering::SeqCst);
        }
    }
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    // Kept open for the whole demo (the children copy it), before the audit's baseline.
    NULL.store(null.into_raw_fd(), Ordering::SeqCst);
    // SAFETY: a new anonymous shared mapping of one page, never unmapped (the demo exits).
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if page == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    // The page is zero-filled and aligned: a valid AtomicU32 holding 0.
    REDIRECTED.store(page.cast(), Ordering::SeqCst);
    // SAFETY: registering a handler has no precondition; the handler only calls
    // async-signal-safe functions (fstat, dup2) and touches atomics, as one run in a child
    // must.
    let rc = unsafe { libc::pthread_atfork(None, None, Some(pipes_to_null)) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::from_raw_os_error(rc))
    }
}

/// How many pipe descriptors the children of `--report-lost` had redirected.
fn redirected() -> u32 {
    // SAFETY: the pointer is null or the shared mapping made by report_lost.
    unsafe { REDIRECTED.load(Ordering::SeqCst).as_ref() }
        .map_or(0, |count| count.load(Ordering::SeqCst))
}

/// Reads `[--child-stops | --fail-at-exit | --report-lost] [--hold-pieces] [INITIAL
/// CHANGED]`, or exits with the usage error.
fn parse() -> (u64, u64, Trial, bool) {
    let mut args = proctest::args::Args::from_env("memory", USAGE);
    let hold = args.flag("--hold-pieces");
    let stops = args.flag("--child-stops");
    let fails = args.flag("--fail-at-exit");
    let lost = args.flag("--report-lost");
    let trial = match (stops, fails, lost) {
        (false, false, false) => Trial::None,
        (true, false, false) => Trial::Stops,
        (false, true, false) => Trial::FailsAtExit,
        (false, false, true) => Trial::ReportLost,
        _ => args.fail("--child-stops, --fail-at-exit and --report-lost exclude each other"),
    };
    let given: Vec<String> = std::iter::from_fn(|| args.positional()).collect();
    args.clone().finish();
    let number = |text: &String| {
        text.parse::<u64>().unwrap_or_else(|_| {
            args.fail(&format!(
                "{text:?} is not a whole number from 0 to {}",
                u64::MAX
            ))
        })
    };
    let (initial, changed) = match given.as_slice() {
        [] => (100, 200),
        [initial, changed] => {
            let (initial, changed) = (number(initial), number(changed));
            if initial == changed {
                args.fail(&format!(
                    "INITIAL and CHANGED are both {initial}: the child must change the value"
                ));
            }
            (initial, changed)
        }
        _ => args.fail(&format!("expected no argument or two, got {}", given.len())),
    };
    (initial, changed, trial, hold)
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let (initial, changed, trial, hold) = parse();
    // Before the audit's baseline: the filter's listener stays open for the whole demo.
    if hold {
        if let Err(err) = hold_pieces() {
            eprintln!("memory: cannot hold the child's writes here: {err}");
            return ExitCode::FAILURE;
        }
    }
    if trial == Trial::ReportLost {
        if let Err(err) = report_lost() {
            eprintln!("memory: cannot make the child's pipes lead to /dev/null: {err}");
            return ExitCode::FAILURE;
        }
    }
    let audit = Audit::start();
    if trial == Trial::Stops {
        if let Err(err) = proctest::faults::children_stop_at_birth() {
            eprintln!("memory: cannot make the child stop at birth: {err}");
            return ExitCode::FAILURE;
        }
    }
    if trial == Trial::FailsAtExit {
        if let Err(err) = proctest::faults::children_fail_at_exit() {
            eprintln!("memory: cannot make the child fail at exit: {err}");
            return ExitCode::FAILURE;
        }
    }
    let mut ok = true;
    match memory::observe(initial, changed) {
        Ok(views) => {
            let (child, parent) = (views.child, views.parent);
            println!("x = {initial} before the fork; the child sets it to {changed}");
            println!(
                "child  (pid {}): x = {} at {:#x}",
                child.pid, child.value, child.address
            );
            println!(
                "parent (pid {}): x = {} at {:#x}",
                parent.pid, parent.value, parent.address
            );
            let same_address = child.address == parent.address;
            println!(
                "same virtual address: {}; same value: {}",
                if same_address { "yes" } else { "no" },
                if child.value == parent.value {
                    "yes"
                } else {
                    "no"
                }
            );
            if same_address && child.value != parent.value {
                println!("one address, two values: each process has its own copy of x");
            }
        }
        Err(err) => {
            ok = false;
            eprintln!("memory: observe failed: {err}");
            let pieces = PIECES.load(Ordering::SeqCst);
            if hold && pieces > 1 {
                let held = if HELD.load(Ordering::SeqCst) {
                    ", the second one held until the parent read the empty pipe or waited"
                } else {
                    ""
                };
                eprintln!(
                    "memory: the child writes its report in pieces: {pieces} write calls{held}"
                );
            }
        }
    }
    if trial == Trial::ReportLost {
        eprintln!(
            "memory: pipe descriptors of the child made to lead to /dev/null at its birth: {}",
            redirected()
        );
    }
    for problem in audit.problems() {
        ok = false;
        eprintln!("memory: before exiting, the parent found {problem}");
    }
    if ok {
        println!("audit: every child waited for, no descriptor left open");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
