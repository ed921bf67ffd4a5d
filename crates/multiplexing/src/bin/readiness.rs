//! Demo of `multiplexing/readiness`: two children, two pipes, one `collect()`.
//!
//! Child 1 writes `KIB` KiB to its pipe (256 by default: more than the 64 KiB a pipe
//! holds). Child 2 waits until child 1 has finished (it reads a "gate" pipe whose only
//! write end child 1 holds, so the end of file arrives when child 1 exits), then writes
//! one line. The parent hands `collect()` child 2's pipe first, then child 1's (with
//! `--big-first`, child 1's first: no fixed reading order works for both), checks every
//! byte, reaps both children, and checks it left no descriptor open.
//!
//! With `--both-big`, both children write `KIB` KiB, and each one exits only once the other
//! has written everything: reading one pipe to its end of file while the other is full
//! deadlocks, whichever pipe comes first. With `--slow`, child 2 computes for 0.2 s of CPU
//! time before it writes its line: under the tests' watchdog, the demo reports the CPU time
//! `collect()` used meanwhile, which tells a wait that blocks in `poll` from one that spins.
//! With `--quiet`, child 2 sleeps 2 s before it writes its line: a `collect()` that takes
//! a silence for the end returns without it.
//! With `--after-eof`, child 2 writes its line only once `collect()` has read child 1's end
//! of file: `collect()` runs on a thread whose `read()` calls the demo holds at their entry
//! (`proctest::faults::hold_calls`), and the read that will return 0 on child 1's pipe lets
//! child 2 go. Its line then comes after child 1's pipe has left whatever list of pipes
//! `collect()` keeps, never in the same round.
//!
//! Every problem found is a line `error: ...` on standard error, and exit code 1.
//!
//! Usage: `readiness [--big-first] [--both-big] [--slow] [--quiet] [--after-eof] [KIB]`
//! with KIB from 1 to 16384.

use multiplexing::{fds, readiness, usage};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, pipe, read, write};
use proctest::audit::open_fds;
use proctest::cpu::{Meter, work};
use proctest::faults::{Gate, Held};
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "readiness [--big-first] [--both-big] [--slow] [--quiet] [--after-eof] [KIB]
       (KIB: how much child 1 writes, 1 to 16384, default 256)";
const NEXT: &str = "then run `just check multiplexing/readiness`";
const CHILD_2_LINE: &[u8] = b"child 1 has finished\n";

/// How long child 2 stays quiet under `--quiet` before it writes: a pipe that carries
/// nothing for a while has not ended.
const QUIET: Duration = Duration::from_secs(2);

/// The CPU time child 2 computes for under `--slow`: what `collect()` waits for.
pub const SLOW_WORK: Duration = Duration::from_millis(200);

/// A function with the step's signature.
pub type Collect = fn(Vec<OwnedFd>) -> io::Result<Vec<Vec<u8>>>;

fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i + seed) % 251) as u8).collect()
}

/// Writes all of `data` to `out`, then closes `done` (the other child's gate) and waits for
/// the end of file on `wait_for` (when there is one), then `_exit`s. Only async-signal-safe
/// calls.
fn writer(out: OwnedFd, data: &[u8], done: Option<OwnedFd>, wait_for: Option<OwnedFd>) -> ! {
    let mut sent = 0;
    while sent < data.len() {
        match write(&out, &data[sent..]) {
            Ok(n) => sent += n,
            Err(nix::errno::Errno::EINTR) => {}
            // SAFETY: _exit is async-signal-safe and ends the child without running
            // the parent's atexit handlers or flushing its stdio buffers.
            Err(_) => unsafe { libc::_exit(1) },
        }
    }
    drop(done);
    if let Some(gate) = wait_for {
        wait_for_end(&gate);
    }
    // SAFETY: as above.
    unsafe { libc::_exit(0) }
}

/// Reads `gate` until its end of file: every write end closed.
fn wait_for_end(gate: &OwnedFd) {
    let mut byte = [0u8; 1];
    loop {
        match read(gate.as_fd(), &mut byte) {
            Ok(0) => break,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            // SAFETY: _exit is async-signal-safe.
            Err(_) => unsafe { libc::_exit(1) },
        }
    }
}

// ANCHOR: gate
/// Child 2: wait for the gate's end of file (child 1 exited), then write one line.
fn child_2(gate: OwnedFd, out: OwnedFd, slow: bool, quiet: bool) -> ! {
    let _ = nix::sys::prctl::set_name(c"child-2");
    wait_for_end(&gate);
    if slow {
        work(SLOW_WORK);
    }
    if quiet {
        let pause = libc::timespec {
            tv_sec: QUIET.as_secs() as libc::time_t,
            tv_nsec: 0,
        };
        // SAFETY: nanosleep reads the one timespec it is given; it is async-signal-safe.
        // An interruption only shortens the silence.
        unsafe { libc::nanosleep(&raw const pause, std::ptr::null_mut()) };
    }
    let code = match write(&out, CHILD_2_LINE) {
        Ok(n) if n == CHILD_2_LINE.len() => 0,
        _ => 1,
    };
    // SAFETY: _exit is async-signal-safe.
    unsafe { libc::_exit(code) }
}
// ANCHOR_END: gate

/// Where child 1's pipe stands, seen from the demo (which shares `collect()`'s descriptors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PipeState {
    /// Bytes wait in it: a read() returns some.
    Bytes,
    /// Empty, and every writer gone (or the descriptor closed): a read() returns 0.
    End,
    /// Empty, and child 1 may still write: a blocking read() would wait.
    Empty,
}

/// Where pipe `fd` stands. The writers' end is looked at before the bytes: once POLLHUP
/// is seen no byte can come, so an empty pipe then is at its end for good.
fn pipe_state(fd: RawFd) -> PipeState {
    let mut probe = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: poll reads and writes the one `pollfd` it is given, for no longer than the
    // call (a zero timeout: it only looks).
    let looked = unsafe { libc::poll(&raw mut probe, 1, 0) };
    let ended = looked < 0 || probe.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0;
    let mut waiting: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int, the bytes waiting in the pipe, through the pointer.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &raw mut waiting) };
    if rc != 0 {
        PipeState::End
    } else if waiting > 0 {
        PipeState::Bytes
    } else if ended {
        PipeState::End
    } else {
        PipeState::Empty
    }
}

/// The descriptor `held`, a held read() or readv(), reads: its first argument, of which the
/// kernel takes the low 32 bits (`None` for a number no descriptor has).
fn read_fd(held: &Held) -> Option<RawFd> {
    u32::try_from(held.args[0] & 0xffff_ffff)
        .ok()
        .and_then(|fd| RawFd::try_from(fd).ok())
}

/// The device and inode of the file open as descriptor `fd` of this process: the same for
/// every descriptor of one pipe (a copy made with `dup` or `try_clone` too).
fn file_id(fd: RawFd) -> Option<(libc::dev_t, libc::ino_t)> {
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fstat writes one `stat` through the pointer when it succeeds.
    if unsafe { libc::fstat(fd, stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstat succeeded, so it filled the whole `stat`.
    let stat = unsafe { stat.assume_init() };
    Some((stat.st_dev, stat.st_ino))
}

/// What to do with a held read of child 1's pipe through descriptor `fd`: let it go on when
/// bytes wait or at the end of file (which lets child 2 go: drops `go`), or give it back to
/// be held until one of these comes.
fn read_of_child_1(
    gate: &Gate,
    held: Held,
    fd: RawFd,
    go: &mut Option<OwnedFd>,
) -> Option<(Held, RawFd)> {
    match pipe_state(fd) {
        PipeState::Bytes => {}
        // This read returns 0: child 1's pipe has ended for collect().
        PipeState::End => *go = None,
        PipeState::Empty => return Some((held, fd)),
    }
    let _ = gate.release(held);
    None
}

/// Under `--after-eof`: runs `collect(pipes)` on a thread of its own whose `read()`,
/// `readv()` and `close()` calls (and its threads') are held at their entry, and lets child
/// 2 write (drops `go`) when one of them is about to return 0 on child 1's pipe, `watched`
/// (or a copy of that descriptor), or to close it at its end of file (a `collect` that
/// takes POLLHUP without POLLIN for the end reads no 0). A read of that
/// pipe while it is empty and child 1 may still write stays held until bytes or the end of
/// file come, so no end of file is missed (a non-blocking read then returns them later
/// instead of EAGAIN, which a slow scheduler could do too). Every other call goes on at
/// once. `go` is dropped in any case once `collect()` has returned.
fn collect_holding_reads(
    collect: Collect,
    pipes: Vec<OwnedFd>,
    watched: RawFd,
    go: OwnedFd,
) -> io::Result<Vec<Vec<u8>>> {
    // Child 1's pipe is known by its inode, taken while the demo still owns `watched`:
    // collect() may read the pipe through a copy and close the descriptor it was given.
    let child_1_pipe = file_id(watched);
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<io::Result<Gate>>();
    let (done_r, done_w) = pipe()?;
    let collector = std::thread::spawn(move || {
        let held_calls = [libc::SYS_read, libc::SYS_readv, libc::SYS_close];
        let gate = match proctest::faults::hold_calls(&held_calls) {
            Ok(gate) => gate,
            Err(err) => {
                let _ = gate_tx.send(Err(err));
                return None;
            }
        };
        let _ = gate_tx.send(Ok(gate));
        let collected = collect(pipes);
        drop(done_w);
        Some(collected)
    });
    let joined = |collector: std::thread::JoinHandle<Option<io::Result<Vec<Vec<u8>>>>>| {
        collector
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    };
    let gate = match gate_rx.recv() {
        Ok(Ok(gate)) => gate,
        Ok(Err(err)) => {
            drop(go);
            let _ = joined(collector);
            return Err(io::Error::new(
                err.kind(),
                format!("holding collect()'s reads (a seccomp filter) failed: {err}"),
            ));
        }
        Err(_) => {
            drop(go);
            let _ = joined(collector);
            return Err(io::Error::other(
                "the thread running collect() ended at once",
            ));
        }
    };
    let mut go = Some(go);
    // Reads of child 1's empty pipe (and the descriptor each reads), held until it has
    // bytes or its end of file.
    let mut waiting: Vec<(Held, RawFd)> = Vec::new();
    loop {
        let mut fds = vec![
            PollFd::new(gate.as_fd(), PollFlags::POLLIN),
            PollFd::new(done_r.as_fd(), PollFlags::POLLIN),
        ];
        for &(_, fd) in &waiting {
            // SAFETY: `fd` is polled only while a read of it is held: the thread reading it
            // is inside that read(), so the descriptor stays open meanwhile (were it closed
            // by another thread, poll reports POLLNVAL and the read goes on).
            let pipe = unsafe { BorrowedFd::borrow_raw(fd) };
            fds.push(PollFd::new(pipe, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(err) => {
                eprintln!("error: the demo's poll failed: {err}");
                break;
            }
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        if ready[2..].contains(&true) {
            waiting = std::mem::take(&mut waiting)
                .into_iter()
                .filter_map(|(held, fd)| read_of_child_1(&gate, held, fd, &mut go))
                .collect();
        }
        if ready[0] {
            if let Ok(Some(held)) = gate.next(std::time::Duration::ZERO) {
                match read_fd(&held) {
                    Some(fd) if held.number == libc::SYS_close => {
                        // A pipe at its end of file tells so without a read: POLLHUP and no
                        // POLLIN. Closing child 1's pipe then is collect()'s way of having
                        // seen the end, as a read that returns 0 is.
                        if go.is_some()
                            && file_id(fd) == child_1_pipe
                            && matches!(pipe_state(fd), PipeState::End)
                        {
                            go = None;
                        }
                        let _ = gate.release(held);
                    }
                    Some(fd) if go.is_some() && file_id(fd) == child_1_pipe => {
                        waiting.extend(read_of_child_1(&gate, held, fd, &mut go));
                    }
                    _ => {
                        let _ = gate.release(held);
                    }
                }
            }
        }
        if ready[1] {
            break;
        }
    }
    drop(go);
    let collected = joined(collector);
    drop(gate);
    collected.unwrap_or_else(|| Err(io::Error::other("collect() did not run")))
}

/// Forks: `None` in the child, the child's pid in the parent.
fn fork_or_exit() -> Option<Pid> {
    // SAFETY: this demo is single-threaded when it forks, and each child branch in
    // `run` only makes async-signal-safe calls (close through drop, read, write,
    // prctl, clock_gettime, _exit) on buffers prepared before the fork.
    match unsafe { fork() } {
        Ok(ForkResult::Child) => None,
        Ok(ForkResult::Parent { child }) => Some(child),
        Err(err) => {
            eprintln!("error: fork failed: {err}");
            std::process::exit(1);
        }
    }
}

fn reap(name: &CStr, pid: Pid) -> Result<(), String> {
    let name = name.to_string_lossy();
    match waitpid(pid, None) {
        Ok(WaitStatus::Exited(_, 0)) => Ok(()),
        Ok(WaitStatus::Signaled(_, nix::sys::signal::Signal::SIGPIPE, _))
        | Ok(WaitStatus::Exited(_, 1)) => Err(format!(
            "{name} could not write everything: its pipe's read end was closed first (EPIPE); \
             collect() closes a pipe only at its end of file (read() returned 0). Pipe closed early."
        )),
        Ok(status) => Err(format!("{name} ended with {status:?}")),
        Err(err) => Err(format!("waitpid for {name} failed: {err}")),
    }
}

/// The command line.
struct Options {
    big_first: bool,
    both_big: bool,
    slow: bool,
    quiet: bool,
    after_eof: bool,
    kib: u64,
}

fn parse(args: Vec<String>) -> Options {
    let mut args =
        proctest::args::Args::new("readiness", USAGE, args).style(proctest::args::Style::Error {
            next: NEXT.to_owned(),
        });
    let big_first = args.flag("--big-first");
    let both_big = args.flag("--both-big");
    let slow = args.flag("--slow");
    let quiet = args.flag("--quiet");
    let after_eof = args.flag("--after-eof");
    let kib = usage::number_arg(&mut args, 256, "KIB", 1..=16384);
    Options {
        big_first,
        both_big,
        slow,
        quiet,
        after_eof,
        kib,
    }
}

/// What is wrong with `got`, the output of pipe `place` (from 1), which should be `want`,
/// what `name` wrote; `others` are the other children's bytes, to recognise a swap.
fn compare(
    place: usize,
    name: &str,
    got: &[u8],
    want: &[u8],
    others: &[(&str, &[u8])],
) -> Option<String> {
    if got == want {
        return None;
    }
    if let Some((other, _)) = others
        .iter()
        .find(|(_, bytes)| *bytes == got && !got.is_empty())
    {
        return Some(format!(
            "output {place} holds {other}'s bytes, not {name}'s: collect() returns what each pipe \
             carried in the order of the pipes it was given, whatever order they are ready in. \
             Wrong order."
        ));
    }
    if want.starts_with(got) {
        return Some(format!(
            "{name}'s pipe gave {} of its {} bytes: collect() stopped reading it before its end of \
             file. A pipe is done only when read() returns 0 (every writer gone); a short read, or \
             another pipe's end, says nothing about this one. Pipe left early.",
            got.len(),
            want.len()
        ));
    }
    let at = got
        .iter()
        .zip(want)
        .position(|(a, b)| a != b)
        .unwrap_or(got.len().min(want.len()));
    Some(format!(
        "{name}'s pipe gave {} bytes that are not the {} it wrote, from byte {at} on: bytes were \
         lost, duplicated or mixed with another pipe's. Bytes corrupted.",
        got.len(),
        want.len()
    ))
}

/// One pipe's output as the demo judges it: its place (from 1), the child that filled it,
/// what it returned, what that child wrote.
type Output<'a> = (usize, &'a str, &'a [u8], &'a [u8]);

/// When `first`'s output is all its child wrote followed by the last bytes `second`'s child
/// wrote, the rest of which is `second`'s output: the bytes read from `second`'s pipe after
/// `first`'s had ended were returned as `first`'s, what a list of pipes that shrinks does
/// when the position in it is taken for the pipe's number.
fn moved_up(first: Output<'_>, second: Output<'_>) -> Option<String> {
    let (place_a, name_a, got_a, want_a) = first;
    let (place_b, name_b, got_b, want_b) = second;
    let extra = got_a
        .strip_prefix(want_a)
        .filter(|extra| !extra.is_empty())?;
    if [got_b, extra].concat() != want_b {
        return None;
    }
    Some(format!(
        "{name_b}'s bytes were returned as {name_a}'s: output {place_a} holds {name_a}'s {} bytes \
         and then the last {} of {name_b}'s, which output {place_b} lacks. Once {name_a}'s pipe \
         had ended and left the poll list, {name_b}'s pipe moved up into its place, and the \
         position in that shortened list was taken for the pipe's number. Keep each pipe's \
         number next to its PollFd (or keep the list whole, with a negative fd for a pipe that \
         has ended). Wrong pipe.",
        want_a.len(),
        extra.len()
    ))
}

fn main() -> ExitCode {
    run(readiness::collect, std::env::args().skip(1).collect())
}

/// Runs the demo with `collect` as the step's function and `args` as the command line.
pub fn run(collect: Collect, args: Vec<String>) -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let options = parse(args);
    let start = open_fds();
    let size = usize::try_from(options.kib).expect("small") * 1024;
    let data_1 = pattern(size, 0);
    let data_2 = if options.both_big {
        pattern(size, 97)
    } else {
        CHILD_2_LINE.to_vec()
    };

    let (out_1, in_1) = pipe().expect("pipe");
    let (out_2, in_2) = pipe().expect("pipe");
    // Gate 1 reaches its end of file when child 1 has written everything (it holds the only
    // write end); gate 2 likewise for child 2, under --both-big.
    let (gate_1_r, gate_1_w) = pipe().expect("pipe");
    let (gate_2_r, gate_2_w) = pipe().expect("pipe");
    let Some(pid_1) = fork_or_exit() else {
        let _ = nix::sys::prctl::set_name(c"child-1");
        drop((out_1, out_2, in_2, gate_1_r, gate_2_w));
        // Under --both-big, child 1 stays until child 2 has written everything.
        let wait_for = options.both_big.then_some(gate_2_r);
        writer(in_1, &data_1, Some(gate_1_w), wait_for)
    };
    drop((in_1, gate_1_w));
    // Under --after-eof, child 2 also waits for the end of file of `go`, which the demo
    // holds until collect() reads child 1's end of file.
    let go = options.after_eof.then(|| pipe().expect("pipe"));
    let Some(pid_2) = fork_or_exit() else {
        drop((out_1, out_2));
        let go = go.map(|(go_r, go_w)| {
            drop(go_w);
            go_r
        });
        if options.both_big {
            let _ = nix::sys::prctl::set_name(c"child-2");
            writer(in_2, &data_2, Some(gate_2_w), Some(gate_1_r))
        }
        drop((gate_2_r, gate_2_w));
        if let Some(go) = go {
            wait_for_end(&go);
        }
        child_2(gate_1_r, in_2, options.slow, options.quiet)
    };
    drop((in_2, gate_1_r, gate_2_r, gate_2_w));
    let go = go.map(|(go_r, go_w)| {
        drop(go_r);
        go_w
    });
    let watched = out_1.as_raw_fd();

    // Child 2's pipe first by default: its line is the summary on top of the report.
    let swapped = !options.big_first && !options.both_big;
    let pipes = if swapped {
        vec![out_2, out_1]
    } else {
        vec![out_1, out_2]
    };
    let meter = Meter::start("collect");
    let collected = match go {
        Some(go) => collect_holding_reads(collect, pipes, watched, go),
        None => collect(pipes),
    };
    meter.report();
    let mut problems = Vec::new();
    let outputs = match collected {
        Ok(outputs) => outputs,
        Err(err) if err.raw_os_error() == Some(Errno::EBADF as i32) => {
            problems.push(format!(
                "collect() failed: {err}: it used a descriptor that was no longer open, one \
                 it had closed itself (closed twice, or used after its File was dropped). A \
                 pipe closed at its end of file must also leave the list poll() watches: \
                 poll() reports POLLNVAL for a closed descriptor, and closing it again fails \
                 with EBADF. Descriptor closed twice."
            ));
            Vec::new()
        }
        Err(err) => {
            problems.push(format!("collect() failed: {err}"));
            Vec::new()
        }
    };
    let mut ok = true;
    if outputs.len() == 2 {
        let (first, second) = if swapped {
            (&outputs[1], &outputs[0])
        } else {
            (&outputs[0], &outputs[1])
        };
        let (place_1, place_2) = if swapped { (2, 1) } else { (1, 2) };
        let (bulk, line) = (first.as_slice(), second.as_slice());
        let (problem_2, problem_1) = if let Some(moved) = moved_up(
            (place_1, "child 1", bulk, &data_1),
            (place_2, "child 2", line, &data_2),
        )
        .or_else(|| {
            moved_up(
                (place_2, "child 2", line, &data_2),
                (place_1, "child 1", bulk, &data_1),
            )
        }) {
            (None, Some(moved))
        } else {
            (
                compare(place_2, "child 2", line, &data_2, &[("child 1", &data_1)]),
                compare(place_1, "child 1", bulk, &data_1, &[("child 2", &data_2)]),
            )
        };
        let fits = if options.kib > 64 {
            "more than a pipe holds"
        } else {
            "fits in a pipe"
        };
        let verdict = |problem: &Option<String>| {
            if problem.is_none() {
                "every byte as written"
            } else {
                "NOT what it wrote"
            }
        };
        if options.both_big {
            for (name, other, got, problem) in [
                ("child 1", "child 2", bulk, &problem_1),
                ("child 2", "child 1", line, &problem_2),
            ] {
                println!(
                    "{name} (writes {} KiB, {fits}, then waits for {other}): {} bytes, {}",
                    options.kib,
                    got.len(),
                    verdict(problem)
                );
            }
        } else {
            let when = if options.after_eof {
                "once collect() has read child 1's end of file"
            } else {
                "once child 1 has finished"
            };
            if line.len() <= 64 {
                println!(
                    "child 2 (writes {when}): {:?}",
                    String::from_utf8_lossy(line)
                );
            } else {
                println!(
                    "child 2 (writes {when}): {} bytes, NOT its line",
                    line.len()
                );
            }
            println!(
                "child 1 (writes {} KiB, {fits}): {} bytes, {}",
                options.kib,
                bulk.len(),
                verdict(&problem_1)
            );
        }
        problems.extend(problem_2);
        problems.extend(problem_1);
    } else if problems.is_empty() {
        problems.push(format!(
            "collect() returned {} outputs for 2 pipes: one per pipe, in the order given",
            outputs.len()
        ));
    }
    for (name, pid) in [(c"child 1", pid_1), (c"child 2", pid_2)] {
        if let Err(msg) = reap(name, pid) {
            problems.push(msg);
        }
    }
    println!("both children reaped");
    let change = fds::describe_change(&start, &open_fds());
    println!("descriptors: {change}");
    if change != "the same as at the start" {
        problems.push(format!(
            "descriptors {change}: collect() takes ownership of the pipes and closes each one \
             once read() has returned 0 on it (drop the File), leaving nothing open. \
             Descriptors leaked."
        ));
    }
    for problem in &problems {
        ok = false;
        eprintln!("error: {problem}");
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
