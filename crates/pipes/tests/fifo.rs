//! Checks `pipes/fifo`: a named pipe between two unrelated processes, and the FIFO and
//! its directory removed on every path (success, no writer, interrupted).

mod common;

use common::{WATCHDOG, assert_usage_error};
use nix::fcntl::{FcntlArg, OFlag, fcntl};
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::stat::Mode;
use nix::unistd::{Pid, mkfifo};
use pipes::fifo::{Fifo, OpenError, open_writer};
use proctest::{Demo, Finished, Snapshot, within, wrap};
use std::io::{BufRead, BufReader, Read};
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A directory of this test's own, in which the reader makes its FIFO's directory;
/// removed on drop, also when the test fails.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("pipes-fifo-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        Self { dir }
    }

    /// What is left in the scratch directory (it should be empty after the reader).
    fn leftovers(&self) -> Vec<String> {
        let mut names: Vec<String> = walk(&self.dir);
        names.sort();
        names
    }
}

fn walk(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|entry| {
            let path = entry.path();
            let mut found = vec![path.display().to_string()];
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                found.extend(walk(&path));
            }
            found
        })
        .collect()
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn assert_nothing_left(scratch: &Scratch, fifo: Option<&Path>) {
    let left = scratch.leftovers();
    if let Some(path) = fifo {
        assert!(
            std::fs::symlink_metadata(path).is_err(),
            "{}",
            wrap(
                &format!(
                    "the FIFO {} is still there after fifo_reader exited: `Fifo`'s Drop must \
                     remove it, then its directory, on every path out. Left behind.",
                    path.display()
                ),
                98
            )
        );
    }
    assert!(
        left.is_empty(),
        "{}",
        wrap(
            &format!(
                "fifo_reader left these behind: {}: `Fifo`'s Drop must remove the FIFO, \
                 then its directory. Left behind.",
                left.join(", ")
            ),
            98
        )
    );
}

/// The reader, started in the background in a process group of its own (the test must
/// learn the FIFO's path from its first line before starting the writer), with a
/// watchdog of its own: every wait is bounded, and a hang is reported with a snapshot
/// of what the reader was doing.
struct Reader {
    pgid: Pid,
    lines: mpsc::Receiver<String>,
    exited: mpsc::Receiver<(ExitStatus, String)>,
}

impl Reader {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_fifo_reader"))
            .arg("--dir")
            .arg(dir)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("fifo_reader starts");
        let pgid = Pid::from_raw(i32::try_from(child.id()).expect("pids fit in i32"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let (line_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (exit_tx, exited) = mpsc::channel();
        std::thread::spawn(move || {
            let mut err = String::new();
            let _ = stderr.read_to_string(&mut err);
            let status = child.wait().expect("waiting for fifo_reader");
            let _ = exit_tx.send((status, err));
        });
        Self {
            pgid,
            lines,
            exited,
        }
    }

    fn stuck(&self, waiting_for: &str) -> ! {
        let snapshot = Snapshot::of_group(self.pgid);
        let _ = killpg(self.pgid, Signal::SIGKILL);
        panic!(
            "fifo_reader did not {waiting_for} within {WATCHDOG:?}. What it was doing:\n{snapshot}"
        )
    }

    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(WATCHDOG)
            .unwrap_or_else(|_| self.stuck("print a line"))
    }

    /// The FIFO's path, from `fifo_reader: listening on PATH`.
    fn fifo_path(&self) -> PathBuf {
        let line = self.next_line();
        let path = line
            .strip_prefix("fifo_reader: listening on ")
            .unwrap_or_else(|| panic!("the reader's first line should give the path: {line:?}"));
        PathBuf::from(path)
    }

    /// Waits for the reader to exit; returns its status, the rest of its output and its
    /// error output.
    fn finish(self) -> (ExitStatus, String, String) {
        let (status, stderr) = self
            .exited
            .recv_timeout(WATCHDOG)
            .unwrap_or_else(|_| self.stuck("exit"));
        let rest: Vec<String> = self.lines.iter().collect();
        (status, rest.join("\n"), stderr)
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // Nothing outlives a test, even a failed one.
        let _ = killpg(self.pgid, Signal::SIGKILL);
    }
}

fn writer(args: &[&str]) -> Finished {
    // The writer computes nothing: a writer still busy after twice the timeout is spinning.
    Demo::new(env!("CARGO_BIN_EXE_fifo_writer"))
        .args(args)
        .timeout(WATCHDOG)
        .hard_cap(WATCHDOG * 2)
        .run()
        .unwrap_or_else(|hang| {
            let opening = hang.blocked_in("openat").next().is_some();
            let diagnosis = if opening {
                "fifo_writer is blocked in open(): opening a FIFO for writing waits until some \
                 process opens it for reading, forever if none does. `open_writer` must open \
                 with O_NONBLOCK, which fails at once with ENXIO when there is no reader. \
                 Blocked in open()."
            } else if hang.spinning().next().is_some() {
                "fifo_writer is running, not blocked: it keeps trying again instead of \
                 answering. When the open fails with ENXIO there is no reader: return \
                 OpenError::NoReader at once, and let the user start the reader. Busy-waiting."
            } else {
                "fifo_writer never finished."
            };
            panic!("{}", proctest::verdict(&hang, diagnosis))
        })
}

#[test]
fn a_message_goes_through_the_fifo_and_the_fifo_is_removed() {
    let scratch = Scratch::new("message");
    let reader = Reader::start(&scratch.dir, &[]);
    let path = reader.fifo_path();
    assert!(path.starts_with(&scratch.dir), "{}", path.display());
    let sent = writer(&[
        path.to_str().expect("UTF-8"),
        "hello",
        "from an unrelated process",
    ]);
    assert_eq!(sent.code(), Some(0), "{}", sent.stderr);
    assert_eq!(sent.stdout, "fifo_writer: sent 2 lines, 32 bytes\n");
    let (status, out, err) = reader.finish();
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(
        out,
        "fifo_reader: end of file after 32 bytes; the writer sent:\n  | hello\n  | from an unrelated process"
    );
    assert_nothing_left(&scratch, Some(&path));
}

#[test]
fn a_writer_without_a_reader_fails_at_once_with_a_clear_error() {
    // The test makes this FIFO itself: nobody ever opens it for reading.
    let scratch = Scratch::new("noreader");
    let path = scratch.dir.join("lonely");
    mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR).expect("mkfifo in the scratch directory");
    let run = writer(&[path.to_str().expect("UTF-8")]);
    let said = run.stderr.trim();
    let told = said.contains("nobody has it open for reading (ENXIO)");
    if run.code() == Some(1) && told {
        return;
    }
    let why = if run.signal().is_some() || said.contains("overflowed its stack") {
        "fifo_writer crashed with no reader: open_writer tried again and again instead of \
         answering, until its stack overflowed (a retry by recursion). ENXIO means that no \
         process has the FIFO open for reading: return OpenError::NoReader at once. Retried \
         instead of reporting."
            .to_owned()
    } else if !told && (run.code() == Some(0) || said.contains("writing to")) {
        "open_writer succeeded although no process had the FIFO open for reading, so the \
         writer wrote to nobody. Did it open the FIFO for reading itself first, or with \
         O_RDWR? Then it is its own reader, and ENXIO never comes. Open with O_WRONLY | \
         O_NONBLOCK only. A writer that is its own reader."
            .to_owned()
    } else {
        format!(
            "with no reader, fifo_writer must exit with status 1 and say \"nobody has it open \
             for reading (ENXIO)\"; it ended with {:?}. Map ENXIO to OpenError::NoReader. The \
             wrong error.",
            run.status
        )
    };
    panic!(
        "{}",
        proctest::verdict(&said_text("`fifo_writer PATH`", said), &why)
    );
}

/// `COMMAND said:` and what it said, or `COMMAND said nothing`.
fn said_text(command: &str, said: &str) -> String {
    if said.is_empty() {
        format!("{command} said nothing on standard error")
    } else {
        format!("{command} said:\n{said}")
    }
}

#[test]
fn an_open_refused_for_another_reason_is_not_reported_as_a_missing_reader() {
    // The demo makes its opens for writing fail with EACCES (a seccomp filter: root
    // bypasses a FIFO's permissions), as for another user's FIFO with mode 0600.
    let scratch = Scratch::new("denied");
    let path = scratch.dir.join("private");
    mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR).expect("mkfifo in the scratch directory");
    let run = writer(&["--open-denied", path.to_str().expect("UTF-8")]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    if !run.stderr.contains("EACCES") {
        let said = run.stderr.trim();
        let why = "open() failed with EACCES (permission denied), but open_writer did not \
                   report it: only ENXIO means that no process has the FIFO open for reading. \
                   Map ENXIO to OpenError::NoReader and return every other errno as \
                   OpenError::Sys(errno), so the user is told what really went wrong. The \
                   wrong error.";
        panic!(
            "{}",
            proctest::verdict(&said_text("`fifo_writer --open-denied PATH`", said), why)
        );
    }
}

#[test]
fn a_writer_given_a_missing_path_or_a_plain_file_says_so() {
    let scratch = Scratch::new("nofifo");
    let missing = scratch.dir.join("missing");
    let run = writer(&[missing.to_str().expect("UTF-8")]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("there is no FIFO there"),
        "{}",
        run.stderr
    );
    let plain = scratch.dir.join("plain");
    std::fs::write(&plain, "not a pipe").expect("a plain file");
    let run = writer(&[plain.to_str().expect("UTF-8")]);
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("that is not a FIFO"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&plain).ok().as_deref(),
        Some("not a pipe")
    );
}

#[test]
fn a_reader_that_no_writer_visits_gives_up_and_cleans_up() {
    let scratch = Scratch::new("nowriter");
    let reader = Reader::start(&scratch.dir, &["--wait-ms", "200"]);
    let path = reader.fifo_path();
    let (status, _, err) = reader.finish();
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("no writer came"), "{err}");
    assert_nothing_left(&scratch, Some(&path));
}

#[test]
fn a_reader_stopped_by_sigterm_cleans_up() {
    let scratch = Scratch::new("sigterm");
    let reader = Reader::start(&scratch.dir, &[]);
    let path = reader.fifo_path();
    // The path is printed once the FIFO exists; the handlers were installed before.
    kill(reader.pgid, Signal::SIGTERM).expect("the reader is alive");
    let (status, _, err) = reader.finish();
    assert_eq!(
        status.code(),
        Some(128 + Signal::SIGTERM as i32),
        "signal {:?}: {err}",
        status.signal()
    );
    assert!(err.contains("stopped by signal"), "{err}");
    assert_nothing_left(&scratch, Some(&path));
}

#[test]
fn bad_arguments_are_usage_errors() {
    let run = writer(&[]);
    assert_usage_error(&run, "missing the FIFO's PATH");
    let run = Demo::new(env!("CARGO_BIN_EXE_fifo_reader"))
        .args(["--wait-ms", "0"])
        .timeout(WATCHDOG)
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"));
    assert_usage_error(&run, "MS must be a whole number from 1 to 600000");
    // Nothing was created for a usage error: it is checked before the FIFO exists.
    let run = Demo::new(env!("CARGO_BIN_EXE_fifo_reader"))
        .args(["--dir"])
        .timeout(WATCHDOG)
        .run()
        .unwrap_or_else(|hang| panic!("{hang}"));
    assert_usage_error(&run, "--dir needs a value");
}

// The step's functions called in the test process (no fork), under a watchdog.

type OpenWriter = fn(&Path) -> Result<OwnedFd, OpenError>;

/// Checks `open` on a FIFO that a reader has open: it returns at once a descriptor for
/// writing in blocking mode (O_NONBLOCK was only for the open).
fn check_open_writer(open: OpenWriter, scratch: &Scratch) -> Result<(), String> {
    let path = scratch.dir.join("channel");
    mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR).expect("mkfifo in the scratch directory");
    // The test opens the reading end itself (not with the step's open_reader, which runs
    // under no watchdog here).
    let reader = nix::fcntl::open(
        &path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .expect("the test opens the reading end");
    let target = path.clone();
    let done = within(WATCHDOG, "open_writer on a FIFO with a reader", move || {
        open(&target)
    })
    .map_err(|stuck| stuck.to_string())?;
    let fd = done
        .value
        .map_err(|err| format!("open_writer failed although a reader has the FIFO open: {err}"))?;
    let flags = OFlag::from_bits_retain(fcntl(&fd, FcntlArg::F_GETFL).expect("F_GETFL"));
    drop(reader);
    if flags.contains(OFlag::O_NONBLOCK) {
        return Err(wrap(
            "open_writer returned a descriptor still in non-blocking mode: O_NONBLOCK was \
             only there so that the open would not wait for a reader. Left on, a write to a \
             full FIFO fails with EAGAIN instead of waiting for room; clear it with \
             fcntl(F_GETFL), then F_SETFL without O_NONBLOCK. Still non-blocking.",
            98,
        ));
    }
    if flags & OFlag::O_ACCMODE != OFlag::O_WRONLY {
        return Err(format!(
            "open_writer returned a descriptor opened with {:?}, not for writing only",
            flags & OFlag::O_ACCMODE
        ));
    }
    Ok(())
}

#[test]
fn open_writer_returns_a_descriptor_in_blocking_mode() {
    let scratch = Scratch::new("blocking");
    check_open_writer(open_writer, &scratch).unwrap_or_else(|why| panic!("{why}"));
}

#[test]
fn dropping_a_fifo_removes_it_and_its_directory() {
    let scratch = Scratch::new("drop");
    let dir = scratch.dir.clone();
    let done = within(WATCHDOG, "Fifo::create then drop", move || {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let fifo = Fifo::create(&dir).map_err(|err| err.to_string())?;
        let (path, fifo_dir) = (fifo.path().to_owned(), fifo.dir().to_owned());
        let mode = |p: &Path| {
            std::fs::symlink_metadata(p).map(|m| (m.file_type(), m.permissions().mode() & 0o777))
        };
        // (The directory's mode is not checked: starters made it with create_dir.)
        let made = mode(&path).is_ok_and(|(t, m)| t.is_fifo() && m == 0o600)
            && mode(&fifo_dir).is_ok_and(|(t, _)| t.is_dir());
        drop(fifo);
        Ok::<_, String>((made, path, fifo_dir))
    })
    .unwrap_or_else(|stuck| panic!("{stuck}"));
    let (made, path, fifo_dir) = done.value.unwrap_or_else(|err| panic!("{err}"));
    assert!(
        made,
        "Fifo::create must make {} a FIFO with mode 0600, in a directory of its own",
        path.display()
    );
    assert!(
        std::fs::symlink_metadata(&path).is_err() && !fifo_dir.exists(),
        "{}",
        wrap(
            &format!(
                "after the Fifo was dropped, {} is still there: Drop must remove the FIFO, \
                 then its directory (which must be empty to go). Left behind.",
                if fifo_dir.exists() {
                    fifo_dir.display()
                } else {
                    path.display()
                }
            ),
            98
        )
    );
    assert_nothing_left(&scratch, None);
}

#[test]
fn a_fifo_that_cannot_be_made_leaves_no_directory_behind() {
    // A parent so deep that the new directory's path just fits in PATH_MAX (4096 bytes,
    // with the final NUL) but `dir/channel` does not: mkdir succeeds, mkfifo fails with
    // ENAMETOOLONG, and create must remove the directory it made before returning.
    let scratch = Scratch::new("deep");
    let pid_digits = std::process::id().to_string().len();
    // `/pipes-fifo-PID-N` adds 13 + pid_digits + digits(N) bytes, N below 1000 here.
    let length = 4076 - pid_digits;
    let mut parent = scratch.dir.clone();
    // Components of at most 200 bytes (NAME_MAX is 255), each adding a `/` too; never
    // leave 1 byte to add, which no component can take.
    let mut remaining = length - parent.as_os_str().len();
    while remaining > 0 {
        let mut size = (remaining - 1).min(200);
        if remaining - (size + 1) == 1 {
            size -= 1;
        }
        parent.push("d".repeat(size));
        remaining -= size + 1;
    }
    assert_eq!(parent.as_os_str().len(), length, "{}", parent.display());
    std::fs::create_dir_all(&parent).expect("a deep parent directory");
    let deep = parent.clone();
    let done = within(
        WATCHDOG,
        "Fifo::create in a very deep directory",
        move || Fifo::create(&deep).map(drop).map_err(|err| err.to_string()),
    )
    .unwrap_or_else(|stuck| panic!("{stuck}"));
    let left: Vec<String> = std::fs::read_dir(&parent)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&scratch.dir);
    if done.value.is_ok() {
        // A FIFO made elsewhere (a shorter path of its own choosing): nothing to judge.
        return;
    }
    assert!(
        left.is_empty(),
        "{}",
        wrap(
            &format!(
                "Fifo::create failed ({}), as it must where `dir/channel` is longer than \
                 PATH_MAX, and left its new directory behind: {}. Its doc says nothing is left \
                 behind when it fails: remove the directory it made before returning mkfifo's \
                 error (no Fifo was built, so no Drop will). Left behind.",
                done.value.unwrap_err(),
                left.join(", ")
            ),
            98
        )
    );
}

#[test]
fn dropping_a_fifo_whose_fifo_is_already_gone_still_removes_its_directory() {
    // Someone (a cleaner, the user) removed the FIFO while the reader ran: Drop's
    // remove_file then fails, and the directory must still go.
    let scratch = Scratch::new("gone");
    let dir = scratch.dir.clone();
    let done = within(
        WATCHDOG,
        "Fifo::create, rm of the FIFO, then drop",
        move || {
            let fifo = Fifo::create(&dir).map_err(|err| err.to_string())?;
            let fifo_dir = fifo.dir().to_owned();
            std::fs::remove_file(fifo.path()).map_err(|err| err.to_string())?;
            drop(fifo);
            Ok::<_, String>(fifo_dir)
        },
    )
    .unwrap_or_else(|stuck| panic!("{stuck}"));
    let fifo_dir = done.value.unwrap_or_else(|err| panic!("{err}"));
    if fifo_dir.exists() {
        panic!(
            "{}",
            wrap(
                &format!(
                    "the FIFO had already been removed (by hand, as a cleaner could) when the \
                     Fifo was dropped, and its directory {} was left behind: Drop gave up when \
                     remove_file failed. Each removal is tried on its own, whatever happened \
                     to the other: ignore remove_file's error, then remove the directory. Left \
                     behind.",
                    fifo_dir.display()
                ),
                98
            )
        );
    }
    assert_nothing_left(&scratch, None);
}

#[test]
fn open_writer_without_a_reader_answers_without_waiting() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let scratch = Scratch::new("nowait");
    let path = scratch.dir.join("lonely");
    mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR).expect("mkfifo in the scratch directory");
    let returned = Arc::new(AtomicBool::new(false));
    let call = proctest::Call::start("open_writer on a FIFO nobody reads", {
        let returned = Arc::clone(&returned);
        move || {
            let result = open_writer(&path).map(drop);
            returned.store(true, Ordering::SeqCst);
            result
        }
    });
    let tid = call.tid();
    // Watch the call until it returns: a thread that answers at once never sleeps.
    let mut slept_in = None;
    let start = std::time::Instant::now();
    while !returned.load(Ordering::SeqCst) && start.elapsed() < WATCHDOG {
        let sleeping = proctest::Process::thread_of_self(tid)
            .filter(|t| t.state == 'S')
            .and_then(|t| t.blocked_in);
        // Seen asleep, and still not returned after that look: the sleep was in the call.
        if let Some(call) = sleeping.filter(|_| !returned.load(Ordering::SeqCst)) {
            slept_in = Some(call.name);
            break;
        }
        std::thread::yield_now();
    }
    let done = call
        .finish(WATCHDOG)
        .unwrap_or_else(|stuck| panic!("{}", wrap(&format!("{stuck}. Never returned."), 98)));
    if let Some(name) = slept_in {
        let answer = match &done.value {
            Ok(()) => "a descriptor".to_owned(),
            Err(err) => format!("\"{err}\""),
        };
        panic!(
            "{}",
            wrap(
                &format!(
                    "open_writer, on a FIFO that no process had open for reading, slept in \
                     {name}() before it answered ({answer}). ENXIO already says that there is no \
                     reader, and the doc says open_writer fails at once instead of waiting for \
                     one: return OpenError::NoReader, do not retry. Waited for a reader."
                ),
                98
            )
        );
    }
    assert!(
        matches!(done.value, Err(OpenError::NoReader)),
        "open_writer with no reader must fail with OpenError::NoReader, not {:?}",
        done.value
    );
}

/// Opens with O_NONBLOCK and leaves it on.
fn wrong_open_stays_nonblocking(path: &Path) -> Result<OwnedFd, OpenError> {
    nix::fcntl::open(
        path,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| match errno {
        nix::errno::Errno::ENXIO => OpenError::NoReader,
        other => OpenError::Sys(other),
    })
}

#[test]
fn oracle_a_writer_left_non_blocking_is_rejected() {
    let scratch = Scratch::new("oracle-nonblocking");
    let why = check_open_writer(wrong_open_stays_nonblocking, &scratch).expect_err("rejected");
    assert!(
        why.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .ends_with("Still non-blocking."),
        "{why}"
    );
}

#[test]
fn a_reader_that_waits_longer_than_the_watchdog_is_not_called_stuck() {
    // The reader waits 3 s for a writer, in a poll() with a timeout: it goes on by itself,
    // so the watchdog extends its 1 s budget instead of calling it a hang.
    let scratch = Scratch::new("patient");
    let run = Demo::new(env!("CARGO_BIN_EXE_fifo_reader"))
        .arg("--dir")
        .arg(&scratch.dir)
        .args(["--wait-ms", "3000"])
        .timeout(Duration::from_secs(1))
        .run()
        .unwrap_or_else(|hang| {
            panic!(
                "{}\n\n{hang}",
                wrap(
                    "fifo_reader waited in poll() with a timeout, which ends by itself: the \
                     watchdog must give it more time. Called stuck while it waited on purpose.",
                    98
                )
            )
        });
    assert_eq!(run.code(), Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("no writer came"), "{}", run.stderr);
    assert_nothing_left(&scratch, None);
}

/// The `open` calls of the calling thread (from now on), behind a gate.
fn hold_opens() -> proctest::faults::Gate {
    #[cfg(target_arch = "x86_64")]
    let calls = [libc::SYS_openat, libc::SYS_open];
    #[cfg(not(target_arch = "x86_64"))]
    let calls = [libc::SYS_openat];
    proctest::faults::hold_calls(&calls)
        .expect("a kernel with seccomp user notifications (Linux 5.5 or later)")
}

/// Checks `open` on a FIFO whose reader leaves as soon as `open`'s first `open()` call has
/// returned (its calls are held at their entry by a gate, and the test closes the reader
/// before it lets a second one go on). A single non-blocking open has its answer by then;
/// a probe followed by a second, blocking open waits for a reader that never comes, which
/// the doc rules out. `Ok(true)` when `open` made a second open and still answered.
fn check_open_writer_with_a_reader_that_leaves(
    open: OpenWriter,
    scratch: &Scratch,
) -> Result<bool, String> {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let path = scratch.dir.join("fleeting");
    mkfifo(&path, Mode::S_IRUSR | Mode::S_IWUSR).expect("mkfifo in the scratch directory");
    let reader = nix::fcntl::open(
        &path,
        OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .expect("the test opens the reading end");
    let returned = Arc::new(AtomicBool::new(false));
    let (gate_tx, gate_rx) = mpsc::channel::<proctest::faults::Gate>();
    let finished = Arc::clone(&returned);
    // The controller: lets the first open go on, then closes the reader before any second
    // open runs. It answers whether there was a second open.
    let controller = std::thread::spawn(move || {
        let gate = gate_rx.recv().ok()?;
        let start = std::time::Instant::now();
        let mut reader = Some(reader);
        let mut opens = 0;
        while start.elapsed() < WATCHDOG {
            match gate.next(Duration::from_millis(20)) {
                Ok(Some(held)) => {
                    opens += 1;
                    if opens == 2 {
                        drop(reader.take());
                    }
                    let _ = gate.release(held);
                }
                _ if finished.load(Ordering::SeqCst) => break,
                _ => {}
            }
        }
        Some(opens)
    });
    let target = path.clone();
    let done = within(
        WATCHDOG,
        "open_writer on a FIFO whose reader leaves after the first open",
        move || {
            let gate = hold_opens();
            let _ = gate_tx.send(gate);
            let result = open(&target).map(drop);
            returned.store(true, Ordering::SeqCst);
            result
        },
    );
    if done.is_err() {
        // Let the stuck open go on (a reader comes and goes), so that no thread stays behind.
        let _ = nix::fcntl::open(
            &path,
            OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
            Mode::empty(),
        );
    }
    let opens = controller.join().ok().flatten().unwrap_or(0);
    match done {
        Ok(_) => Ok(opens >= 2),
        Err(_) => Err(wrap(
            &format!(
                "open_writer opened the FIFO {opens} times: its first open found the test's \
                 reader, which then left, and a later open waited for a new reader that never \
                 came, until the test's watchdog ({WATCHDOG:?}). A reader can leave at any \
                 moment; the doc says open_writer fails at once when no reader has the FIFO \
                 open, instead of waiting for one. Open once, with O_NONBLOCK (ENXIO is \
                 NoReader), then clear O_NONBLOCK with fcntl. Waited for a reader."
            ),
            98,
        )),
    }
}

#[test]
fn open_writer_never_waits_for_a_reader_that_left() {
    let scratch = Scratch::new("fleeting");
    check_open_writer_with_a_reader_that_leaves(open_writer, &scratch)
        .unwrap_or_else(|why| panic!("{why}"));
}

/// Probes with a non-blocking open, then opens again in blocking mode.
fn wrong_probe_then_blocking_open(path: &Path) -> Result<OwnedFd, OpenError> {
    let probe = nix::fcntl::open(
        path,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|_| OpenError::NoReader)?;
    let fd = nix::fcntl::open(path, OFlag::O_WRONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(OpenError::Sys)?;
    drop(probe);
    Ok(fd)
}

#[test]
fn oracle_a_probe_then_a_blocking_open_is_rejected() {
    let scratch = Scratch::new("probe");
    let why = check_open_writer_with_a_reader_that_leaves(wrong_probe_then_blocking_open, &scratch)
        .expect_err("the blocking second open must wait");
    assert!(
        why.contains("opened the FIFO 2 times") && why.ends_with("Waited for a reader."),
        "{why}"
    );
}
