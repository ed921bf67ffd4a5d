//! Checks `ipc/timeouts`.
//!
//! `read_timeout_with` runs against a scripted system: a clock that moves only when the
//! script says so, and `poll`/`read` calls that return what the script says. Each scenario
//! lists the calls a correct read makes and the timeout each `poll` must get, so the
//! remaining-time computation is checked exactly, without waiting for anything. `gather`
//! runs on real worker processes (the `master` demo in its `--worker` role); the silent one
//! waits on a pipe this test holds and never writes to, so it is silent for sure, with no
//! clock involved. The oracles at the end run the same checks against plausible wrong
//! versions and right ones written differently.

mod common;

use common::{verdict, within, within_by, wrap};
use ipc::clock::System;
use ipc::timeouts::{Outcome, ReadError, Report, Worker, gather, poll_timeout, read_timeout_with};
use nix::errno::Errno;
use nix::poll::PollTimeout;
use nix::unistd::pipe2;
use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// The scripted system.

/// One call the script expects, what it returns, and the clock when it returns.
#[derive(Clone, Copy, Debug)]
enum Step {
    Poll {
        want: PollTimeout,
        gives: Result<bool, Errno>,
        then: Duration,
    },
    Read {
        gives: Result<usize, Errno>,
        then: Duration,
    },
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn poll(want_ms: i32, gives: Result<bool, Errno>, then: Duration) -> Step {
    let want = if want_ms < 0 {
        PollTimeout::NONE
    } else {
        PollTimeout::try_from(want_ms).expect("a valid poll timeout")
    };
    Step::Poll { want, gives, then }
}

fn read(gives: Result<usize, Errno>, then: Duration) -> Step {
    Step::Read { gives, then }
}

fn show_time(t: Duration) -> String {
    if t.subsec_nanos() % 1_000_000 == 0 {
        format!("{} ms", t.as_millis())
    } else {
        format!("{:.1} ms", t.as_secs_f64() * 1000.0)
    }
}

fn show_timeout(t: PollTimeout) -> String {
    match i32::from(t) {
        n if n < 0 => "no timeout (-1)".to_owned(),
        n => format!("{n} ms"),
    }
}

fn show_poll(r: Result<bool, Errno>) -> String {
    match r {
        Ok(true) => "readable".to_owned(),
        Ok(false) => "time ran out (0)".to_owned(),
        Err(e) => format!("failed: {e:?}"),
    }
}

fn show_read(r: Result<usize, Errno>) -> String {
    match r {
        Ok(0) => "0 (end of file)".to_owned(),
        Ok(n) => format!("{n} bytes"),
        Err(e) => format!("failed: {e:?}"),
    }
}

/// A clock and system calls that follow a script, and remember the first divergence.
struct Scripted {
    base: Instant,
    now: Duration,
    steps: VecDeque<Step>,
    log: Vec<String>,
    problem: Option<String>,
}

impl Scripted {
    fn diverge(&mut self, problem: String) -> Errno {
        if self.problem.is_none() {
            self.problem = Some(problem);
        }
        // Ends any sane loop: EBADF is an error no read_timeout retries.
        Errno::EBADF
    }
}

impl System for Scripted {
    fn now(&mut self) -> Instant {
        self.base + self.now
    }

    fn poll_readable(&mut self, _fd: BorrowedFd<'_>, timeout: PollTimeout) -> nix::Result<bool> {
        let at = show_time(self.now);
        if self.problem.is_some() {
            return Err(Errno::EBADF);
        }
        match self.steps.pop_front() {
            Some(Step::Poll { want, gives, then }) if want == timeout => {
                self.log.push(format!(
                    "at {at:>9}: poll({}) -> {} at {}",
                    show_timeout(timeout),
                    show_poll(gives),
                    show_time(then)
                ));
                self.now = then;
                gives
            }
            Some(Step::Poll { want, .. }) => {
                self.log.push(format!(
                    "at {at:>9}: poll({})   <- expected poll({})",
                    show_timeout(timeout),
                    show_timeout(want)
                ));
                Err(self.diverge(format!(
                    "at {at} it called poll with {} where {} were left",
                    show_timeout(timeout),
                    show_timeout(want)
                )))
            }
            Some(Step::Read { .. }) => {
                self.log.push(format!(
                    "at {at:>9}: poll({})   <- expected read()",
                    show_timeout(timeout)
                ));
                Err(self.diverge(format!(
                    "at {at} it called poll again where poll had said the pipe was readable: \
                     read it"
                )))
            }
            None => {
                self.log.push(format!(
                    "at {at:>9}: poll({})   <- expected nothing more",
                    show_timeout(timeout)
                ));
                Err(self.diverge(format!(
                    "at {at} it called poll again where it should have returned"
                )))
            }
        }
    }

    fn read(&mut self, _fd: BorrowedFd<'_>, _buf: &mut [u8]) -> nix::Result<usize> {
        let at = show_time(self.now);
        if self.problem.is_some() {
            return Err(Errno::EBADF);
        }
        match self.steps.pop_front() {
            Some(Step::Read { gives, then }) => {
                self.log
                    .push(format!("at {at:>9}: read() -> {}", show_read(gives)));
                self.now = then;
                gives
            }
            Some(Step::Poll { want, .. }) => {
                self.log.push(format!(
                    "at {at:>9}: read()   <- expected poll({})",
                    show_timeout(want)
                ));
                Err(self.diverge(format!(
                    "at {at} it called read without waiting first: a read with nothing to read \
                     blocks (or fails with EAGAIN); poll first"
                )))
            }
            None => {
                self.log
                    .push(format!("at {at:>9}: read()   <- expected nothing more"));
                Err(self.diverge(format!(
                    "at {at} it called read again where it should have returned"
                )))
            }
        }
    }
}

/// A scenario: what happens on the pipe, and what `read_timeout_with` must return.
struct Scenario {
    what: &'static str,
    timeout: Duration,
    steps: Vec<Step>,
    expect: Result<usize, ReadError>,
    /// Why the expected calls are right, for the message.
    rule: &'static str,
}

type ReadTimeout =
    fn(&mut Scripted, BorrowedFd<'_>, &mut [u8], Duration) -> Result<usize, ReadError>;

fn show_timeout_arg(t: Duration) -> String {
    if t == Duration::MAX {
        "Duration::MAX".to_owned()
    } else if t >= Duration::from_secs(86_400) {
        format!("{} days", t.as_secs() / 86_400)
    } else {
        show_time(t)
    }
}

fn run_scenario(read_timeout: ReadTimeout, scenario: Scenario) -> Result<(), String> {
    let Scenario {
        what,
        timeout,
        steps,
        expect,
        rule,
    } = scenario;
    let (out, _inp) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
    let call = format!("read_timeout_with(.., {})", show_timeout_arg(timeout));
    let (result, sys) = within(
        &format!("{call}, with {what},"),
        "The scripted system never blocks: a call that does not return loops without end.",
        move || {
            let mut sys = Scripted {
                base: Instant::now(),
                now: Duration::ZERO,
                steps: steps.into(),
                log: Vec::new(),
                problem: None,
            };
            let mut buf = [0u8; 64];
            let result = read_timeout(&mut sys, out.as_fd(), &mut buf, timeout);
            (result, sys)
        },
    )?;
    let table = if sys.log.is_empty() {
        "    none: it returned without a single call to poll or read".to_owned()
    } else {
        sys.log
            .iter()
            .map(|l| format!("    {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let problem = match (&sys.problem, sys.steps.front()) {
        (Some(problem), _) => Some(format!(": {problem}")),
        (None, Some(next)) if result == expect || result.is_err() => Some(format!(
            " returned {} at {}, where it should have called {} next",
            show_result(&result),
            show_time(sys.now),
            match next {
                Step::Poll { want, .. } => format!("poll({})", show_timeout(*want)),
                Step::Read { .. } => "read()".to_owned(),
            }
        )),
        _ if result != expect => Some(format!(
            " returned {} at {}, not {}",
            show_result(&result),
            show_time(sys.now),
            show_result(&expect)
        )),
        _ => None,
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(format!(
            "{call}{problem}.\n  what the pipe and the clock did: {what}\n  the calls it \
             made:\n{table}\n{rule}"
        )),
    }
}

/// A result as the student's code writes it.
fn show_result(result: &Result<usize, ReadError>) -> String {
    match result {
        Ok(n) => format!("Ok({n})"),
        Err(ReadError::TimedOut) => "Err(ReadError::TimedOut)".to_owned(),
        Err(ReadError::Sys(e)) => format!("Err(ReadError::Sys({e:?}))"),
    }
}

const DEADLINE_RULE: &str = "The deadline is computed once (`sys.now()` + timeout), and each \
    poll gets only what is left of it, rounded up to whole milliseconds (`poll_timeout`).";

fn scenarios() -> Vec<Scenario> {
    use Errno::{EAGAIN, EBADF, EINTR, EINVAL};
    let sub = |us: u64| Duration::from_micros(us);
    vec![
        Scenario {
            what: "data already there",
            timeout: ms(100),
            steps: vec![poll(100, Ok(true), ms(0)), read(Ok(5), ms(0))],
            expect: Ok(5),
            rule: DEADLINE_RULE,
        },
        Scenario {
            what: "silence until the deadline",
            timeout: ms(100),
            steps: vec![poll(100, Ok(false), ms(100))],
            expect: Err(ReadError::TimedOut),
            rule: DEADLINE_RULE,
        },
        Scenario {
            what: "a signal at 30 ms, then silence",
            timeout: ms(100),
            steps: vec![poll(100, Err(EINTR), ms(30)), poll(70, Ok(false), ms(100))],
            expect: Err(ReadError::TimedOut),
            rule: "EINTR only says that a signal handler ran: wait again, for the 70 ms left \
                   of the deadline, not for a fresh 100 ms (the deadline would move with every \
                   signal).",
        },
        Scenario {
            what: "a signal at 30 ms, then data at 50 ms",
            timeout: ms(100),
            steps: vec![
                poll(100, Err(EINTR), ms(30)),
                poll(70, Ok(true), ms(50)),
                read(Ok(3), ms(50)),
            ],
            expect: Ok(3),
            rule: DEADLINE_RULE,
        },
        Scenario {
            what: "the pipe readable at 10 ms, but another reader took the bytes (EAGAIN)",
            timeout: ms(100),
            steps: vec![
                poll(100, Ok(true), ms(10)),
                read(Err(EAGAIN), ms(10)),
                poll(90, Ok(false), ms(100)),
            ],
            expect: Err(ReadError::TimedOut),
            rule: "EAGAIN from a non-blocking read means nothing is there (any more): wait again \
                   for what is left of the deadline.",
        },
        Scenario {
            what: "a signal during read at 10 ms, data at 20 ms",
            timeout: ms(100),
            steps: vec![
                poll(100, Ok(true), ms(10)),
                read(Err(EINTR), ms(10)),
                poll(90, Ok(true), ms(20)),
                read(Ok(2), ms(20)),
            ],
            expect: Ok(2),
            rule: "A read interrupted by a signal before it read anything fails with EINTR: \
                   wait again for what is left.",
        },
        Scenario {
            what: "a signal at 2.1 ms, with 0.4 ms left",
            timeout: sub(2500),
            steps: vec![
                poll(3, Err(EINTR), sub(2100)),
                poll(1, Ok(false), sub(3100)),
            ],
            expect: Err(ReadError::TimedOut),
            rule: "poll counts in whole milliseconds: round up. 2.5 ms is poll(3), and 0.4 ms \
                   left is poll(1): rounded down to poll(0), poll returns at once, and the loop \
                   spins until the deadline.",
        },
        Scenario {
            what: "nothing there",
            timeout: Duration::ZERO,
            steps: vec![poll(0, Ok(false), ms(0))],
            expect: Err(ReadError::TimedOut),
            rule: "A zero timeout still looks once: poll(0) answers at once.",
        },
        Scenario {
            what: "data there",
            timeout: Duration::ZERO,
            steps: vec![poll(0, Ok(true), ms(0)), read(Ok(4), ms(0))],
            expect: Ok(4),
            rule: "A zero timeout still looks once: what is already there is read.",
        },
        Scenario {
            what: "end of file at 5 ms",
            timeout: ms(100),
            steps: vec![poll(100, Ok(true), ms(5)), read(Ok(0), ms(5))],
            expect: Ok(0),
            rule: "End of file is readable, and read returns 0: pass it on.",
        },
        Scenario {
            what: "a read that fails with EBADF",
            timeout: ms(100),
            steps: vec![poll(100, Ok(true), ms(1)), read(Err(EBADF), ms(1))],
            expect: Err(ReadError::Sys(EBADF)),
            rule: "Errors other than EINTR and EAGAIN are returned as ReadError::Sys.",
        },
        Scenario {
            what: "a poll that fails with EINVAL",
            timeout: ms(100),
            steps: vec![poll(100, Err(EINVAL), ms(0))],
            expect: Err(ReadError::Sys(EINVAL)),
            rule: "Errors other than EINTR and EAGAIN are returned as ReadError::Sys.",
        },
        Scenario {
            what: "no deadline, data after an hour",
            timeout: Duration::MAX,
            steps: vec![
                poll(-1, Ok(true), ms(3_600_000)),
                read(Ok(1), ms(3_600_000)),
            ],
            expect: Ok(1),
            rule: "A timeout too large to add to the clock (`checked_add` gives None) means no \
                   deadline: poll with PollTimeout::NONE.",
        },
        Scenario {
            what: "silence for 30 days, longer than one poll can wait",
            timeout: Duration::from_secs(30 * 86_400),
            steps: vec![
                poll(i32::MAX, Ok(false), ms(i32::MAX as u64)),
                poll(444_516_353, Ok(false), Duration::from_secs(30 * 86_400)),
            ],
            expect: Err(ReadError::TimedOut),
            rule: "poll waits at most i32::MAX ms (PollTimeout::MAX, 24.8 days): the clock, not \
                   poll's answer, says whether the deadline has passed; before it, wait again.",
        },
    ]
}

fn check_read_timeout(read_timeout: ReadTimeout) -> Result<(), String> {
    scenarios()
        .into_iter()
        .try_for_each(|s| run_scenario(read_timeout, s))
}

fn the_step(
    sys: &mut Scripted,
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    timeout: Duration,
) -> Result<usize, ReadError> {
    read_timeout_with(sys, fd, buf, timeout)
}

#[test]
fn poll_timeout_rounds_up_to_whole_milliseconds() {
    let cases: [(Option<Duration>, PollTimeout); 7] = [
        (None, PollTimeout::NONE),
        (Some(Duration::ZERO), PollTimeout::ZERO),
        (Some(Duration::from_nanos(1)), PollTimeout::from(1u8)),
        (Some(ms(1)), PollTimeout::from(1u8)),
        (Some(Duration::from_micros(1001)), PollTimeout::from(2u8)),
        (Some(ms(250)), PollTimeout::from(250u16)),
        (Some(Duration::from_secs(40 * 86_400)), PollTimeout::MAX),
    ];
    for (left, want) in cases {
        let got = within("poll_timeout", "", move || poll_timeout(left));
        let got = got.unwrap_or_else(|m| panic!("{}", wrap(&m)));
        assert!(
            got == want,
            "{}",
            wrap(&format!(
                "poll_timeout({left:?}) is {}, not {}: whole milliseconds, rounded up (a \
                 fraction of a millisecond rounded down to 0 makes poll return at once, again \
                 and again), at most PollTimeout::MAX, and PollTimeout::NONE for no deadline",
                show_timeout(got),
                show_timeout(want)
            ))
        );
    }
}

#[test]
fn read_timeout_polls_with_what_is_left_of_one_deadline() {
    verdict(check_read_timeout(the_step));
}

#[test]
fn read_timeout_reads_a_real_pipe_and_gives_up_on_a_silent_one() {
    let (out, inp) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
    proctest::child::write_all(&inp, b"hi").expect("write");
    let timeout = ms(50);
    let got = within("read_timeout on a real pipe", "", move || {
        let mut buf = [0u8; 16];
        let first = ipc::timeouts::read_timeout(out.as_fd(), &mut buf, timeout);
        let started = Instant::now();
        let second = ipc::timeouts::read_timeout(out.as_fd(), &mut buf, timeout);
        drop(inp);
        (first, second, started.elapsed())
    })
    .unwrap_or_else(|m| panic!("{}", wrap(&m)));
    assert_eq!(
        got.0,
        Ok(2),
        "read_timeout must read the 2 bytes waiting in the pipe"
    );
    assert_eq!(
        got.1,
        Err(ReadError::TimedOut),
        "then, with nothing left, time out"
    );
    assert!(
        got.2 >= timeout,
        "it timed out after {:?}, before its 50 ms",
        got.2
    );
}

// ---------------------------------------------------------------------------------------
// gather, on real worker processes.

const MASTER: &str = env!("CARGO_BIN_EXE_master");

/// Workers `master --worker N` for each of `numbers`; those marked silent read a pipe this
/// test keeps (returned) and never writes to.
fn spawn_workers(numbers: &[(u64, bool)]) -> (Vec<Worker>, Vec<i32>, Vec<OwnedFd>) {
    let kinds: Vec<(u64, bool, bool)> = numbers.iter().map(|&(n, s)| (n, s, false)).collect();
    spawn_workers_of(&kinds)
}

/// [`spawn_workers`], each worker `(n, silent, partial)`: a partial one writes the first
/// words of its answer, then waits on its gate like a silent one.
fn spawn_workers_of(numbers: &[(u64, bool, bool)]) -> (Vec<Worker>, Vec<i32>, Vec<OwnedFd>) {
    let mut workers = Vec::new();
    let mut pids = Vec::new();
    let mut gates = Vec::new();
    for (i, &(n, silent, partial)) in numbers.iter().enumerate() {
        let input = if silent || partial {
            let (read_end, write_end) = pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
            gates.push(write_end);
            Stdio::from(read_end)
        } else {
            Stdio::null()
        };
        let mut process = Command::new(MASTER)
            .args(["--worker", &n.to_string()])
            .args(partial.then_some("--partial"))
            .stdin(input)
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a worker");
        pids.push(i32::try_from(process.id()).expect("pids fit"));
        let answer = OwnedFd::from(process.stdout.take().expect("piped"));
        workers.push(Worker {
            name: format!("worker {i}"),
            answer,
            process,
        });
    }
    (workers, pids, gates)
}

/// The state letter of process `pid` (`Z` for a zombie), or None once it is gone.
fn state_of(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Whether `pid` has a SIGKILL pending (it was killed and has not run since to die).
fn kill_pending(pid: i32) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return false;
    };
    status
        .lines()
        .filter(|l| l.starts_with("SigPnd:") || l.starts_with("ShdPnd:"))
        .filter_map(|l| u64::from_str_radix(l.split_whitespace().nth(1)?, 16).ok())
        .any(|mask| mask & (1 << (libc::SIGKILL - 1)) != 0)
}

/// Checks that every worker is gone (reaped), then kills whatever is left so that no test
/// leaves a process behind.
fn check_reaped(pids: &[i32]) -> Result<(), String> {
    let mut problems = Vec::new();
    for (i, &pid) in pids.iter().enumerate() {
        match state_of(pid) {
            None => {}
            Some(_) if state_of(pid) == Some('Z') || kill_pending(pid) => problems.push(format!(
                "worker {i} (pid {pid}) is a zombie: it ended but nobody waited for it. Call \
                 wait() on every worker, also the ones you killed"
            )),
            Some(_) => {
                problems.push(format!(
                    "worker {i} (pid {pid}) is still running after gather returned: a worker \
                     you give up on never ends by itself; kill() it, then wait() for it"
                ));
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Why gather is stuck, from the system call it sits in.
fn stuck_gather(call: &str) -> String {
    match call {
        "wait4" | "waitid" => "It waits for a worker that is still running: a worker you give \
            up on never ends by itself; kill() it, then wait() for it."
            .to_owned(),
        _ => STUCK_GATHER.to_owned(),
    }
}

type Gather = fn(Vec<Worker>, Duration) -> Vec<Report>;

const STUCK_GATHER: &str = "A worker that never answers never closes its pipe either: a plain \
    read waits for it forever. Read each answer with read_timeout and what is left of one \
    deadline, and give up at the deadline.";

fn outcomes(reports: &[Report]) -> Vec<(String, Outcome, Option<i32>, Option<i32>)> {
    use std::os::unix::process::ExitStatusExt;
    reports
        .iter()
        .map(|r| {
            (
                r.name.clone(),
                r.outcome.clone(),
                r.status.code(),
                r.status.signal(),
            )
        })
        .collect()
}

fn check_gather_gives_up_on_a_silent_worker(gather: Gather) -> Result<(), String> {
    let (workers, pids, gates) = spawn_workers(&[(7, false), (9, true), (11, false)]);
    let timeout = ms(1000);
    let started = Instant::now();
    let reports = within_by(
        "gather(3 workers, 1000 ms), worker 1 silent",
        stuck_gather,
        move || gather(workers, timeout),
    );
    let elapsed = started.elapsed();
    let reports = reports.inspect_err(|_| {
        let _ = check_reaped(&pids);
    })?;
    let got = outcomes(&reports);
    let want = vec![
        (
            "worker 0".to_owned(),
            Outcome::Answered("7 squared is 49".to_owned()),
            Some(0),
            None,
        ),
        (
            "worker 1".to_owned(),
            Outcome::GaveUp,
            None,
            Some(libc::SIGKILL),
        ),
        (
            "worker 2".to_owned(),
            Outcome::Answered("11 squared is 121".to_owned()),
            Some(0),
            None,
        ),
    ];
    let reaped = check_reaped(&pids);
    // Only now: a silent worker left running ends once its standard input closes, and
    // would then be taken for a zombie, not for the running worker it was.
    drop(gates);
    if got != want {
        return Err(format!(
            "gather(3 workers, 1000 ms), worker 1 silent, reported (name, outcome, exit code, \
             signal):\n  {got:?}\nexpected:\n  {want:?}\nWorkers 0 and 2 answer at once; worker \
             1 never does: give up on it at the deadline (kill it: it ends by SIGKILL), and \
             still read worker 2, whose answer is waiting in its pipe (a zero time left still \
             looks once)."
        ));
    }
    reaped?;
    if elapsed < timeout {
        return Err(format!(
            "gather gave up on worker 1 after {elapsed:?}, before its 1000 ms deadline"
        ));
    }
    Ok(())
}

fn check_gather_reads_answers_already_there_with_zero_time(gather: Gather) -> Result<(), String> {
    let (workers, pids, _gates) = spawn_workers(&[(2, false), (3, false)]);
    // Wait (without reaping, WNOWAIT) until both workers have exited: their answers are then
    // in their pipes before gather starts.
    for &pid in &pids {
        nix::sys::wait::waitid(
            nix::sys::wait::Id::Pid(nix::unistd::Pid::from_raw(pid)),
            nix::sys::wait::WaitPidFlag::WEXITED | nix::sys::wait::WaitPidFlag::WNOWAIT,
        )
        .expect("waitid");
    }
    let reports = within_by(
        "gather(2 workers that already answered, 0 ms)",
        stuck_gather,
        move || gather(workers, Duration::ZERO),
    )?;
    let got = outcomes(&reports);
    let want = vec![
        (
            "worker 0".to_owned(),
            Outcome::Answered("2 squared is 4".to_owned()),
            Some(0),
            None,
        ),
        (
            "worker 1".to_owned(),
            Outcome::Answered("3 squared is 9".to_owned()),
            Some(0),
            None,
        ),
    ];
    let reaped = check_reaped(&pids);
    if got != want {
        return Err(format!(
            "gather with a zero timeout, both workers having answered and exited, reported \
             (name, outcome, exit code, signal):\n  {got:?}\nexpected:\n  {want:?}\nA zero \
             timeout still looks once: what is already in a pipe is read."
        ));
    }
    reaped
}

fn check_gather_gives_up_on_a_worker_cut_off_mid_answer(gather: Gather) -> Result<(), String> {
    let (workers, pids, gates) = spawn_workers_of(&[(7, false, false), (13, false, true)]);
    let reports = within_by(
        "gather(2 workers, 300 ms), worker 1 stopped in the middle of its answer",
        |call| match call {
            "wait4" | "waitid" => "It waits for worker 1, which wrote `13 squ` and then \
                nothing and is still running: a worker not done at the deadline never ends by \
                itself (kill() it, then wait), and an answer is whole only at the end of file \
                (a first piece taken for the whole answer leaves the worker running). Read each \
                answer until read() returns 0 or the deadline passes, kill the worker if it \
                passed, and only then wait() for it."
                .to_owned(),
            other => stuck_gather(other),
        },
        move || gather(workers, ms(300)),
    );
    let reports = reports.inspect_err(|_| {
        let _ = check_reaped(&pids);
    })?;
    let got = outcomes(&reports);
    let reaped = check_reaped(&pids);
    // Only now: a silent worker left running ends once its standard input closes, and
    // would then be taken for a zombie, not for the running worker it was.
    drop(gates);
    let cut = got.get(1).map(|(_, outcome, _, _)| outcome.clone());
    if cut != Some(Outcome::GaveUp) {
        return Err(format!(
            "worker 1 wrote `13 squ` and then nothing more until the deadline, and gather \
             reported {cut:?} for it: an answer is whole only at the end of file. A worker still \
             writing at the deadline is given up on (GaveUp) and killed like a silent one. A \
             cut answer taken for an answer."
        ));
    }
    reaped
}

/// A call of gather's thread, seen at its entry by [`check_gather_keeps_one_deadline`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    /// A signal sent to the process `pid` (`kill`; `None` for a pidfd).
    Kill(Option<i32>),
    /// A `poll` (or `ppoll`) with this timeout, in milliseconds (`None`: no limit).
    Poll(Option<i64>),
}

/// What the held call `held` is, for [`check_gather_keeps_one_deadline`].
fn seen(held: &proctest::faults::Held) -> Seen {
    #[cfg(target_arch = "x86_64")]
    if held.number == libc::SYS_poll {
        // poll(fds, nfds, timeout): a C int, negative for no limit.
        let ms = i64::from(held.args[2] as i32);
        return Seen::Poll((ms >= 0).then_some(ms));
    }
    if held.number == libc::SYS_ppoll {
        // ppoll(fds, nfds, timeout, sigmask): a pointer to a timespec, null for no limit.
        let at = held.args[2] as usize as *const libc::timespec;
        if at.is_null() {
            return Seen::Poll(None);
        }
        // SAFETY: the pointer is the argument of a call that a thread of this process makes
        // and that is held at its entry: the timespec it names lives until the call
        // returns, which it cannot do before the gate lets it go on.
        let t = unsafe { at.read_volatile() };
        return Seen::Poll(Some(
            t.tv_sec.saturating_mul(1000) + (t.tv_nsec + 999_999) / 1_000_000,
        ));
    }
    if held.number == libc::SYS_kill {
        return Seen::Kill(Some(held.args[0] as i32));
    }
    Seen::Kill(None)
}

/// Runs `gather(workers, timeout)` (named `what` if it gets stuck) with every `poll`,
/// `ppoll` and `kill` of its thread held at its entry (a seccomp gate), noted and let go
/// on; the first `poll` is held `first_poll_held` longer (time passing while it waits).
/// The reports, and the calls in the order they came.
fn gather_watched(
    gather: Gather,
    workers: Vec<Worker>,
    timeout: Duration,
    what: &str,
    first_poll_held: Duration,
) -> Result<(Vec<Report>, Vec<Seen>), String> {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};
    let (gate_tx, gate_rx) = mpsc::channel();
    let done = Arc::new(AtomicBool::new(false));
    let finished = Arc::clone(&done);
    let controller = std::thread::spawn(move || {
        let mut calls = Vec::new();
        let Ok(gate) = gate_rx.recv() else {
            return calls;
        };
        let gate: proctest::faults::Gate = gate;
        let started = Instant::now();
        while started.elapsed() < common::BUDGET * 2 {
            match gate.next(ms(20)) {
                Ok(Some(held)) => {
                    let call = seen(&held);
                    if matches!(call, Seen::Poll(_))
                        && !calls.iter().any(|c| matches!(c, Seen::Poll(_)))
                    {
                        std::thread::sleep(first_poll_held);
                    }
                    calls.push(call);
                    let _ = gate.release(held);
                }
                _ if finished.load(Ordering::SeqCst) => break,
                _ => {}
            }
        }
        calls
    });
    let mut calls_of = vec![libc::SYS_ppoll, libc::SYS_kill, libc::SYS_pidfd_send_signal];
    #[cfg(target_arch = "x86_64")]
    calls_of.push(libc::SYS_poll);
    let reports = within_by(what, stuck_gather, move || {
        let gate = proctest::faults::hold_calls(&calls_of)
            .expect("a kernel with seccomp user notifications (Linux 5.5 or later)");
        let _ = gate_tx.send(gate);
        let reports = gather(workers, timeout);
        done.store(true, Ordering::SeqCst);
        reports
    })?;
    let calls = controller.join().expect("the controller never panics");
    Ok((reports, calls))
}

/// gather with two silent workers (0 and 1) and one that answers at once: the deadline is
/// one for all. Every `poll` and `kill` of gather's thread is held at its entry (a seccomp
/// gate), noted and let go on. A gather that gives up on a worker does so because the
/// deadline passed: after its first `kill`, no `poll` may wait any more (1 ms at most, a
/// rounding). A deadline taken afresh for each worker shows as a poll of 1000 ms for worker
/// 1 after worker 0 was killed. Judged from the calls' arguments, not from the clock.
fn check_gather_keeps_one_deadline(gather: Gather) -> Result<(), String> {
    let (workers, pids, gates) = spawn_workers(&[(5, true), (6, true), (8, false)]);
    let watched = gather_watched(
        gather,
        workers,
        ms(1000),
        "gather(3 workers, 1000 ms), workers 0 and 1 silent",
        Duration::ZERO,
    );
    let (reports, calls) = watched.inspect_err(|_| {
        let _ = check_reaped(&pids);
    })?;
    let got = outcomes(&reports);
    let reaped = check_reaped(&pids);
    drop(gates);
    let killed = calls.iter().position(|c| matches!(c, Seen::Kill(_)));
    let late = killed.and_then(|k| {
        calls[k..].iter().find_map(|c| match c {
            Seen::Poll(None) => Some("no limit at all".to_owned()),
            Seen::Poll(Some(ms)) if *ms > 1 => Some(format!("a timeout of {ms} ms")),
            _ => None,
        })
    });
    if let (Some(k), Some(late)) = (killed, late) {
        let whom = match calls[k] {
            Seen::Kill(Some(pid)) => pids
                .iter()
                .position(|&p| p == pid)
                .map_or_else(|| "a worker".to_owned(), |i| format!("worker {i}")),
            _ => "a worker".to_owned(),
        };
        return Err(format!(
            "gather(3 workers, 1000 ms), workers 0 and 1 silent, killed {whom} at the deadline \
             and then waited in poll() for the next worker with {late}. The 1000 ms are one \
             deadline for all the workers, computed once before the first; once it has passed, \
             each later worker gets one look (a timeout of 0), not a fresh timeout of its own, \
             so with two silent workers gather waited past its deadline. A deadline per worker."
        ));
    }
    let want = vec![
        (
            "worker 0".to_owned(),
            Outcome::GaveUp,
            None,
            Some(libc::SIGKILL),
        ),
        (
            "worker 1".to_owned(),
            Outcome::GaveUp,
            None,
            Some(libc::SIGKILL),
        ),
        (
            "worker 2".to_owned(),
            Outcome::Answered("8 squared is 64".to_owned()),
            Some(0),
            None,
        ),
    ];
    if got != want {
        return Err(format!(
            "gather(3 workers, 1000 ms), workers 0 and 1 silent, reported (name, outcome, exit \
             code, signal):\n  {got:?}\nexpected:\n  {want:?}\nWorkers 0 and 1 never answer: \
             give up on both at the deadline (kill them: they end by SIGKILL), and still read \
             worker 2, whose answer is waiting in its pipe (a zero time left still looks once)."
        ));
    }
    reaped
}

/// gather with one worker that writes the first words of its answer at once and then
/// nothing: the time left counts down across the pieces of an answer. gather's first
/// `poll` is held 200 ms at its entry (time passing while it waits, as when the piece comes
/// late); the next `poll`, after the piece, may wait only what is left of the deadline then,
/// at least 100 ms less. A time left taken once per worker and given whole to every read
/// restarts the wait after each piece. Judged from the calls' arguments.
fn check_gather_counts_down_across_pieces(gather: Gather) -> Result<(), String> {
    let (workers, pids, gates) = spawn_workers_of(&[(13, false, true)]);
    let watched = gather_watched(
        gather,
        workers,
        ms(1000),
        "gather(1 worker, 1000 ms), worker 0 stopped in the middle of its answer",
        ms(200),
    );
    let (reports, calls) = watched.inspect_err(|_| {
        let _ = check_reaped(&pids);
    })?;
    let polls: Vec<Option<i64>> = calls
        .iter()
        .filter_map(|c| match c {
            Seen::Poll(timeout) => Some(*timeout),
            Seen::Kill(_) => None,
        })
        .collect();
    let reaped = check_reaped(&pids);
    drop(gates);
    drop(reports);
    if let [Some(first), second, ..] = polls[..] {
        let restarted = match second {
            None => Some("no limit at all".to_owned()),
            Some(second) if second + 100 > first => Some(format!("a timeout of {second} ms")),
            Some(_) => None,
        };
        if let Some(again) = restarted {
            return Err(format!(
                "gather waited again for the whole time left after a piece of an answer. \
                 gather(1 worker, 1000 ms): worker 0 wrote `13 squ` and then nothing; gather \
                 waited in poll() with a timeout of {first} ms, which returned with the piece \
                 200 ms later, then waited for the rest with {again}: the time left was not \
                 counted down. The 1000 ms are one deadline: after each piece of an answer, the \
                 next wait gets only what is left of it (here at most {} ms), or a worker that \
                 writes a word now and then is waited for past the deadline. A wait restarted \
                 after each piece.",
                first.saturating_sub(200)
            ));
        }
    }
    reaped
}

fn check_gather(gather: Gather) -> Result<(), String> {
    check_gather_gives_up_on_a_silent_worker(gather)?;
    check_gather_keeps_one_deadline(gather)?;
    check_gather_gives_up_on_a_worker_cut_off_mid_answer(gather)?;
    check_gather_counts_down_across_pieces(gather)?;
    check_gather_reads_answers_already_there_with_zero_time(gather)
}

#[test]
fn gather_gives_up_on_a_silent_worker_and_reaps_everyone() {
    verdict(check_gather_gives_up_on_a_silent_worker(gather));
}

#[test]
fn gather_keeps_one_deadline_for_all_its_workers() {
    verdict(check_gather_keeps_one_deadline(gather));
}

#[test]
fn gather_gives_up_on_a_worker_that_stops_in_the_middle_of_its_answer() {
    verdict(check_gather_gives_up_on_a_worker_cut_off_mid_answer(gather));
}

#[test]
fn gather_counts_the_time_left_down_across_the_pieces_of_an_answer() {
    verdict(check_gather_counts_down_across_pieces(gather));
}

#[test]
fn gather_with_no_time_left_still_reads_answers_already_there() {
    verdict(check_gather_reads_answers_already_there_with_zero_time(
        gather,
    ));
}

// ---------------------------------------------------------------------------------------
// The demo.

#[test]
fn the_master_demo_gives_up_on_worker_1() {
    let run = common::run_demo(proctest::Demo::new(MASTER), |hang| {
        let master = hang.snapshot.processes.first();
        let call = master
            .and_then(|p| p.blocked_in.as_ref())
            .map_or(String::new(), |s| s.name.clone());
        format!(
            "`master` never finished: the master process is {}. {}",
            master.map_or("gone".to_owned(), |p| match &p.blocked_in {
                Some(s) => format!("blocked in {}()", s.name),
                None => format!("in state {}", p.state),
            }),
            stuck_gather(&call)
        )
    });
    let run = run.unwrap_or_else(|m| panic!("{}", wrap(&m)));
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    assert_eq!(
        run.code(),
        Some(0),
        "the master demo failed:\n{}{}",
        run.stdout,
        run.stderr
    );
    insta::assert_snapshot!("master_1000_ms", run.stdout);
}

#[test]
fn bad_arguments_are_usage_errors_and_start_no_worker() {
    for (args, problem) in [
        (
            &["abc"][..],
            "TIMEOUT_MS must be a whole number from 0 to 60000, not \"abc\"",
        ),
        (
            &["60001"][..],
            "TIMEOUT_MS must be a whole number from 0 to 60000",
        ),
        (&["1", "2"][..], "too many arguments"),
        (&["--worker", "x"][..], "N must be a whole number"),
    ] {
        let run = common::run_demo(proctest::Demo::new(MASTER).args(args), |_| {
            "stuck on bad input".to_owned()
        })
        .unwrap_or_else(|m| panic!("{m}"));
        run.assert_usage_error(
            &format!("`master {}`", args.join(" ")),
            &[problem, "master [TIMEOUT_MS]", "just check ipc/timeouts"],
        );
    }
}

// ---------------------------------------------------------------------------------------
// The oracles.

mod oracles {
    use super::*;
    use ipc::clock::RealSystem;

    /// The rounding of the reference, so that the oracles do not use the student's.
    fn poll_timeout(left: Option<Duration>) -> PollTimeout {
        left.map_or(PollTimeout::NONE, |l| {
            PollTimeout::try_from(l.as_nanos().div_ceil(1_000_000)).unwrap_or(PollTimeout::MAX)
        })
    }

    /// The reference's read, generic, so that the oracles do not use the student's.
    fn read_timeout_with(
        sys: &mut impl System,
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, ReadError> {
        let deadline = sys.now().checked_add(timeout);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(sys.now()));
            match sys.poll_readable(fd, poll_timeout(left)) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(ReadError::Sys(e)),
                Ok(false) => {
                    if deadline.is_some_and(|d| sys.now() >= d) {
                        return Err(ReadError::TimedOut);
                    }
                }
                Ok(true) => match sys.read(fd, buf) {
                    Ok(n) => return Ok(n),
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    Err(e) => return Err(ReadError::Sys(e)),
                },
            }
        }
    }

    fn read_timeout(
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, ReadError> {
        read_timeout_with(&mut RealSystem, fd, buf, timeout)
    }

    fn message(result: Result<(), String>) -> String {
        result.err().unwrap_or_default()
    }

    /// The starter's shape: a fresh full timeout for every poll, EINTR an error.
    fn fresh_timeout(
        sys: &mut Scripted,
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, ReadError> {
        loop {
            match sys.poll_readable(fd, poll_timeout(Some(timeout))) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(ReadError::Sys(e)),
                Ok(false) => return Err(ReadError::TimedOut),
                Ok(true) => match sys.read(fd, buf) {
                    Ok(n) => return Ok(n),
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    Err(e) => return Err(ReadError::Sys(e)),
                },
            }
        }
    }

    /// A deadline, but EINTR taken for an error.
    fn eintr_is_an_error(
        sys: &mut Scripted,
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, ReadError> {
        let deadline = sys.now().checked_add(timeout);
        let left = deadline.map(|d| d.saturating_duration_since(sys.now()));
        match sys.poll_readable(fd, poll_timeout(left)) {
            Err(e) => Err(ReadError::Sys(e)),
            Ok(false) => Err(ReadError::TimedOut),
            Ok(true) => sys.read(fd, buf).map_err(ReadError::Sys),
        }
    }

    /// A deadline, with milliseconds rounded down.
    fn rounding_down(
        sys: &mut Scripted,
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, ReadError> {
        let deadline = sys.now().checked_add(timeout);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(sys.now()));
            let t = left.map_or(PollTimeout::NONE, |l| {
                PollTimeout::try_from(l).unwrap_or(PollTimeout::MAX)
            });
            match sys.poll_readable(fd, t) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(ReadError::Sys(e)),
                Ok(false) => {
                    if deadline.is_some_and(|d| sys.now() >= d) {
                        return Err(ReadError::TimedOut);
                    }
                }
                Ok(true) => match sys.read(fd, buf) {
                    Ok(n) => return Ok(n),
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    Err(e) => return Err(ReadError::Sys(e)),
                },
            }
        }
    }

    /// Gives up without looking once when no time is left.
    fn no_last_look(
        sys: &mut Scripted,
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, ReadError> {
        if timeout.is_zero() {
            return Err(ReadError::TimedOut);
        }
        read_timeout_with(sys, fd, buf, timeout)
    }

    /// Adds the timeout with `+`: panics on Duration::MAX.
    fn overflowing(
        sys: &mut Scripted,
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, ReadError> {
        let deadline = sys.now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(sys.now());
            match sys.poll_readable(fd, poll_timeout(Some(left))) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(ReadError::Sys(e)),
                Ok(false) => {
                    if sys.now() >= deadline {
                        return Err(ReadError::TimedOut);
                    }
                }
                Ok(true) => match sys.read(fd, buf) {
                    Ok(n) => return Ok(n),
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    Err(e) => return Err(ReadError::Sys(e)),
                },
            }
        }
    }

    /// Trusts poll's "time ran out": right on a real poll, wrong past 24.8 days.
    fn trusting_poll(
        sys: &mut Scripted,
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, ReadError> {
        let deadline = sys.now().checked_add(timeout);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(sys.now()));
            match sys.poll_readable(fd, poll_timeout(left)) {
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(ReadError::Sys(e)),
                Ok(false) => return Err(ReadError::TimedOut),
                Ok(true) => match sys.read(fd, buf) {
                    Ok(n) => return Ok(n),
                    Err(Errno::EAGAIN | Errno::EINTR) => {}
                    Err(e) => return Err(ReadError::Sys(e)),
                },
            }
        }
    }

    /// Right, written differently: the time left as a running budget (subtracting what
    /// each wait used), checked with checked_sub.
    fn running_budget(
        sys: &mut Scripted,
        fd: BorrowedFd<'_>,
        buf: &mut [u8],
        timeout: Duration,
    ) -> Result<usize, ReadError> {
        let start = sys.now();
        let forever = start.checked_add(timeout).is_none();
        loop {
            let used = sys.now().duration_since(start);
            let left = if forever {
                None
            } else {
                Some(timeout.checked_sub(used).unwrap_or_default())
            };
            let t = match left {
                None => PollTimeout::NONE,
                Some(l) => {
                    PollTimeout::try_from(l.as_micros().div_ceil(1000)).unwrap_or(PollTimeout::MAX)
                }
            };
            match sys.poll_readable(fd, t) {
                Ok(true) => match sys.read(fd, buf) {
                    Ok(n) => return Ok(n),
                    Err(Errno::EAGAIN | Errno::EINTR) => continue,
                    Err(e) => return Err(ReadError::Sys(e)),
                },
                Ok(false)
                    if left.is_some_and(|l| {
                        sys.now().duration_since(start) >= timeout || l.is_zero()
                    }) =>
                {
                    return Err(ReadError::TimedOut);
                }
                Ok(false) | Err(Errno::EINTR) => continue,
                Err(e) => return Err(ReadError::Sys(e)),
            }
        }
    }

    #[test]
    fn a_fresh_timeout_per_poll_is_told_the_deadline_moved() {
        let m = message(check_read_timeout(fresh_timeout));
        assert!(
            m.contains("(.., 100 ms): at 30 ms it called poll with 100 ms where 70 ms were left"),
            "{m}"
        );
        assert!(
            m.contains("what the pipe and the clock did: a signal at 30 ms, then silence"),
            "{m}"
        );
        assert!(m.contains("not for a fresh 100 ms"), "{m}");
    }

    #[test]
    fn eintr_taken_for_an_error_is_told_to_wait_again() {
        let m = message(check_read_timeout(eintr_is_an_error));
        assert!(
            m.contains(
                "returned Err(ReadError::Sys(EINTR)) at 30 ms, where it should have called \
                 poll(70 ms) next"
            ),
            "{m}"
        );
        assert!(
            m.contains("EINTR only says that a signal handler ran"),
            "{m}"
        );
    }

    #[test]
    fn milliseconds_rounded_down_are_told_to_round_up() {
        let m = message(check_read_timeout(rounding_down));
        assert!(
            m.contains("at 0 ms it called poll with 2 ms where 3 ms were left"),
            "{m}"
        );
        assert!(m.contains("round up"), "{m}");
    }

    #[test]
    fn a_zero_timeout_without_a_look_is_wrong() {
        let m = message(check_read_timeout(no_last_look));
        assert!(m.contains("(.., 0 ms) returned Err(ReadError::TimedOut) at 0 ms, where it should have called poll(0 ms) next"), "{m}");
    }

    #[test]
    fn an_overflowing_deadline_is_reported_as_a_panic() {
        let m = message(check_read_timeout(overflowing));
        assert!(
            m.contains("(.., Duration::MAX), with no deadline, data after an hour, panicked"),
            "{m}"
        );
    }

    #[test]
    fn trusting_polls_zero_past_its_limit_is_wrong() {
        let m = message(check_read_timeout(trusting_poll));
        assert!(m.contains("(.., 30 days) returned Err(ReadError::TimedOut) at 2147483647 ms, where it should have called poll(444516353 ms) next"), "{m}");
    }

    #[test]
    fn a_running_budget_is_right_too() {
        assert_eq!(message(check_read_timeout(running_budget)), "");
    }

    /// The starter's gather: a plain blocking read.
    fn blocking_gather(workers: Vec<Worker>, _timeout: Duration) -> Vec<Report> {
        use std::io::Read;
        workers
            .into_iter()
            .map(
                |Worker {
                     name,
                     answer,
                     mut process,
                 }| {
                    let mut text = String::new();
                    let _ = std::fs::File::from(answer).read_to_string(&mut text);
                    let status = process.wait().expect("wait");
                    Report {
                        name,
                        outcome: Outcome::Answered(text),
                        status,
                    }
                },
            )
            .collect()
    }

    /// Gives up at the deadline, but never kills: the silent worker lives on.
    fn gather_without_kill(workers: Vec<Worker>, timeout: Duration) -> Vec<Report> {
        gather_with(workers, timeout, false, true)
    }

    /// Neither kills nor waits for the worker it gave up on (forgets it).
    fn gather_kill_forgotten(workers: Vec<Worker>, timeout: Duration) -> Vec<Report> {
        gather_with(workers, timeout, false, false)
    }

    /// Kills, but never waits for the worker it gave up on.
    fn gather_without_wait(workers: Vec<Worker>, timeout: Duration) -> Vec<Report> {
        gather_with(workers, timeout, true, false)
    }

    /// A fresh deadline for each worker: two silent workers make it wait twice as long.
    fn gather_deadline_per_worker(workers: Vec<Worker>, timeout: Duration) -> Vec<Report> {
        workers
            .into_iter()
            .flat_map(|worker| gather_with(vec![worker], timeout, true, true))
            .collect()
    }

    /// Stops at the first silent worker: the later ones are never read.
    fn gather_stopping_early(workers: Vec<Worker>, timeout: Duration) -> Vec<Report> {
        let deadline = Instant::now() + timeout;
        let mut expired = false;
        workers
            .into_iter()
            .map(
                |Worker {
                     name,
                     answer,
                     mut process,
                 }| {
                    let mut text = Vec::new();
                    let mut buf = [0u8; 256];
                    let outcome = loop {
                        if expired {
                            break Outcome::GaveUp;
                        }
                        let left = deadline.saturating_duration_since(Instant::now());
                        match read_timeout(answer.as_fd(), &mut buf, left) {
                            Ok(0) => {
                                break Outcome::Answered(
                                    String::from_utf8_lossy(&text).into_owned(),
                                );
                            }
                            Ok(n) => text.extend_from_slice(&buf[..n]),
                            Err(_) => {
                                expired = true;
                                break Outcome::GaveUp;
                            }
                        }
                    };
                    if outcome == Outcome::GaveUp {
                        let _ = process.kill();
                    }
                    let status = process.wait().expect("wait");
                    Report {
                        name,
                        outcome,
                        status,
                    }
                },
            )
            .collect()
    }

    fn gather_with(workers: Vec<Worker>, timeout: Duration, kill: bool, wait: bool) -> Vec<Report> {
        let deadline = Instant::now() + timeout;
        workers
            .into_iter()
            .map(
                |Worker {
                     name,
                     answer,
                     mut process,
                 }| {
                    let mut text = Vec::new();
                    let mut buf = [0u8; 256];
                    let outcome = loop {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match read_timeout(answer.as_fd(), &mut buf, left) {
                            Ok(0) => {
                                break Outcome::Answered(
                                    String::from_utf8_lossy(&text).into_owned(),
                                );
                            }
                            Ok(n) => text.extend_from_slice(&buf[..n]),
                            Err(_) => break Outcome::GaveUp,
                        }
                    };
                    let gave_up = outcome == Outcome::GaveUp;
                    if gave_up && kill {
                        let _ = process.kill();
                    }
                    let status = if gave_up && !wait {
                        // Pretend: the status of a process nobody waited for.
                        std::os::unix::process::ExitStatusExt::from_raw(libc::SIGKILL)
                    } else {
                        process.wait().expect("wait")
                    };
                    std::mem::forget(process);
                    Report {
                        name,
                        outcome,
                        status,
                    }
                },
            )
            .collect()
    }

    #[test]
    fn a_blocking_gather_is_reported_stuck_in_read() {
        let m = message(check_gather(blocking_gather));
        assert!(
            m.contains("gather(3 workers, 1000 ms), worker 1 silent did not return within"),
            "{m}"
        );
        assert!(m.contains("it is stuck in read() on fd"), "{m}");
        assert!(m.contains("a plain read waits for it forever"), "{m}");
    }

    #[test]
    fn a_silent_worker_left_alive_or_unreaped_is_named() {
        let m = message(check_gather(gather_without_kill));
        assert!(m.contains("it is stuck in wait4()"), "{m}");
        assert!(
            m.contains("a worker you give up on never ends by itself; kill() it"),
            "{m}"
        );
        let m = message(check_gather(gather_kill_forgotten));
        assert!(m.contains("worker 1 (pid"), "{m}");
        assert!(m.contains("is still running after gather returned"), "{m}");
        let m = message(check_gather(gather_without_wait));
        assert!(
            m.contains("is a zombie: it ended but nobody waited for it"),
            "{m}"
        );
    }

    #[test]
    fn a_deadline_per_worker_is_told_the_deadline_is_one() {
        let m = message(check_gather(gather_deadline_per_worker));
        assert!(
            m.contains("silent, killed worker 0 at the deadline and then waited in poll()"),
            "{m}"
        );
        assert!(m.contains("for the next worker with a timeout of "), "{m}");
        assert!(m.ends_with("A deadline per worker."), "{m}");
    }

    #[test]
    fn a_gather_that_stops_at_the_first_silent_worker_is_wrong() {
        let m = message(check_gather(gather_stopping_early));
        assert!(m.contains("(\"worker 2\", GaveUp"), "{m}");
        assert!(m.contains("a zero time left still looks once"), "{m}");
    }
}
