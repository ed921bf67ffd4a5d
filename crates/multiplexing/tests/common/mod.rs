//! Helpers shared by the multiplexing topic's tests: messages wrapped at 100 columns, a
//! watchdog around in-process calls, and the descriptors this process holds on a file.
#![allow(dead_code)] // each test file uses its own part of these helpers

use std::os::fd::{AsRawFd, BorrowedFd};
use std::time::Duration;

/// How long one in-process call of the student's code may take before the test reports it
/// stuck: a correct call takes microseconds; this only bounds how long a broken one takes
/// to be diagnosed on a slow, busy machine.
pub const BUDGET: Duration = Duration::from_secs(5);

/// Wraps `text` at 98 columns: the runner indents a failure by two.
pub fn wrap(text: &str) -> String {
    proctest::wrap(text, 98)
}

/// Fails the test with `result`'s message, wrapped to fit in 100 columns once indented.
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

/// The load test of the echo servers: `echo_load`, judged.
pub mod echo {
    use super::wrap;
    use proctest::{Demo, Finished};
    use std::time::Duration;

    const LOAD: &str = env!("CARGO_BIN_EXE_echo_load");
    const ORACLES: &str = env!("CARGO_BIN_EXE_oracles");

    /// The CPU time `echo_load` computes for in each quiet moment, as it does it.
    const QUIET_WORK: Duration = Duration::from_millis(100);

    /// The quiet moments the server's CPU time is measured in: (label, what the load
    /// generator was doing, what keeps a server busy then).
    const QUIET: [(&str, &str, &str); 3] = [
        (
            "connected_and_quiet",
            "every client connected and quiet",
            "Nothing was there to read or write: what keeps waking level-triggered epoll is \
             EPOLLOUT watched on connections with nothing to write (a socket with room is \
             writable nearly always). Register EPOLLIN alone at accept; add EPOLLOUT only while \
             bytes wait.",
        ),
        (
            "every_echo_written",
            "every first echo written and every client quiet",
            "Every echo was written: a connection still watched for EPOLLOUT is reported \
             writable at every epoll_wait. Remove EPOLLOUT (modify back to EPOLLIN) as soon as \
             nothing is left to write.",
        ),
        (
            "holding_echoes_after_eof",
            "the server held the echoes of clients that had closed their side and did not read",
            "What stays ready there is the end of file: level-triggered, it is readable \
             forever. Stop watching EPOLLIN once read() has returned 0 (the socket is full, so \
             EPOLLOUT stays quiet until the client reads).",
        ),
    ];

    /// Runs the load test against the step's server (`fixture` None) or an oracle's, with
    /// `clients` clients.
    pub fn run(edge: bool, clients: usize, fixture: Option<&str>) -> Result<Finished, String> {
        // The server's socket directory goes in a directory of the test's, removed even if
        // the watchdog has to kill the server before it cleans up.
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let mut demo = Demo::new(LOAD).env("TMPDIR", tmp.path());
        if edge {
            demo = demo.arg("--edge");
        }
        if let Some(fixture) = fixture {
            demo = demo.env("ECHO_SERVER", format!("{ORACLES} {fixture}"));
        }
        // A correct run takes a few seconds (three quiet moments of computing included); a
        // debug build on a busy machine gets a generous watchdog, extended while the demo
        // makes progress (it uses CPU), up to three minutes.
        demo.arg(clients.to_string())
            .timeout(Duration::from_secs(60))
            .hard_cap(Duration::from_secs(180))
            .run()
            .map_err(|hang| {
                proctest::verdict(
                    &hang,
                    "The load test never finished: a client waits for an echo that never \
                     comes, and neither the server's checks nor the load generator's saw why. \
                     Stuck.",
                )
            })
    }

    /// Judges a run: it succeeded (else the message leads with the most precise error the
    /// server or the load generator gave), left nothing behind, and the server slept in
    /// each quiet moment.
    pub fn check(outcome: Result<Finished, String>) -> Result<Finished, String> {
        let run = outcome?;
        if run.code() != Some(0) {
            let server = run
                .stderr
                .lines()
                .find_map(|line| line.strip_prefix("echo_server: error: "));
            let load = run
                .stderr
                .split_once("\nerror: ")
                .map(|(_, rest)| rest)
                .or_else(|| run.stderr.strip_prefix("error: "));
            // A load generator killed by a signal (the kernel's out-of-memory killer, say)
            // could not say why: its signal is all there is.
            let killed = run.signal().map(|_| {
                format!(
                    "the load generator was {} before it could report",
                    run.ended()
                )
            });
            let (headline, servers) = match (load, server) {
                (Some(load), _) if load.starts_with("the server stalled") => (load.trim(), false),
                (_, Some(server)) => (server, true),
                (Some(load), None) => (load.trim(), false),
                (None, None) => (killed.as_deref().unwrap_or("the load test failed"), false),
            };
            // The evidence first (without repeating the headline), the verdict last, on the
            // only `error:` line (the one the runner shows as the verdict).
            let mut evidence = run
                .stderr
                .replace(headline, "[below]")
                .replace("\nerror: ", "\nload generator: ");
            if servers {
                // The load generator points up at the server's error, which it printed
                // first; here that error is the verdict, below.
                evidence = evidence
                    .replace("see its error above", "see its error below")
                    .replace("its error is above", "its error is below");
            }
            let evidence = evidence
                .strip_prefix("error: ")
                .map_or(evidence.clone(), |rest| format!("load generator: {rest}"));
            // A line that only pointed at the verdict says nothing of its own.
            let evidence: String = evidence
                .lines()
                .filter(|l| !l.trim_end().ends_with(": [below]"))
                .map(|l| format!("{l}\n"))
                .collect();
            let evidence = wrap(&format!("{}{}", run.stdout, evidence.trim_end()));
            return Err(proctest::verdict(&evidence, headline));
        }
        if !run.leftovers.is_empty() {
            return Err(run.describe_leftovers());
        }
        for (label, work, fix) in QUIET {
            let report = run.cpu_report(label).ok_or_else(|| {
                format!(
                    "the echo server reported no CPU time for `{label}`:\n{}",
                    run.stderr
                )
            })?;
            if let Some(spin) = report.busy_wait(QUIET_WORK) {
                // What the server found ready for nothing at the end of that moment, if
                // anything, says better than the moment which event kept it awake.
                let seen = run
                    .stderr
                    .lines()
                    .find_map(|line| line.strip_prefix(&format!("echo_server: during {label}: ")));
                let fix = match seen {
                    Some(seen) if seen.contains("broken") => format!(
                        "It had {seen}: epoll reports EPOLLHUP or EPOLLERR on a connection whose \
                         client is gone at every epoll_wait, whatever it is registered for. On \
                         EPOLLHUP or EPOLLERR, or when write() fails, close the connection."
                    ),
                    Some(seen) if seen.contains("EPOLLIN after the end of file") => format!(
                        "It had {seen}: level-triggered, an end of file is readable forever. \
                         Stop watching EPOLLIN once read() has returned 0."
                    ),
                    Some(seen) if seen.contains("EPOLLOUT while writable") => format!(
                        "It had {seen}: a socket with room is writable nearly always, so \
                         level-triggered epoll reports it at every epoll_wait. Watch EPOLLOUT \
                         only while bytes wait to be written: add it when write() leaves some, \
                         remove it (modify back to EPOLLIN) once none is left."
                    ),
                    _ => fix.to_owned(),
                };
                // What was ready, when the server said, is the verdict (first); the CPU
                // figures are its evidence.
                let headline = seen.map_or(String::new(), |seen| {
                    wrap(&format!(
                        "the echo server kept waking up for nothing, with {seen}.\n"
                    ))
                });
                return Err(format!(
                    "{headline}{}",
                    spin.explain(
                        "the echo server",
                        &format!("the load generator computed ({work})"),
                        &fix,
                    )
                ));
            }
        }
        Ok(run)
    }

    /// The message of the load test against the oracle `fixture`, which must fail.
    #[track_caller]
    pub fn assert_fails(fixture: &str, edge: bool, expected: &[&str]) {
        let message = check(run(edge, 100, Some(fixture)))
            .err()
            .unwrap_or_else(|| panic!("the checks must fail the server {fixture}"));
        let flat = message.split_whitespace().collect::<Vec<_>>().join(" ");
        for text in expected {
            assert!(
                flat.contains(text),
                "{fixture}: the message should say {text:?}:\n{message}"
            );
        }
        assert!(
            message.lines().all(|line| line.len() <= 100),
            "{fixture}: the message fits in 100 columns:\n{message}"
        );
    }

    /// The load test against the oracle `fixture`, which must pass.
    #[track_caller]
    pub fn assert_passes(fixture: &str, edge: bool) {
        if let Err(message) = check(run(edge, 100, Some(fixture))) {
            panic!("{fixture} is right and must pass:\n{message}");
        }
    }
}
