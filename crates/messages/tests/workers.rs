//! Checks `messages/workers`: the master reassigns the job of a worker that stops
//! answering after the timeout, every job completes exactly once, late answers are
//! ignored, and every thread ends when the master is done. Time is virtual: the tests
//! take no time and always give the same result. A test-side model of the policy watches
//! every event of the explorations (deadlines to the nanosecond, the earliest first, silent
//! workers left alone); wrong masters the checks must reject, and another correct design
//! they must accept, are at the end.

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::script::Checked;
use common::text::{PLAIN, wrap};
use interleave::channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};
use interleave::explore::{Config, Strategy, explore};
use interleave::real::within;
use interleave::scenario::{Returned, Row, Scenario, Table};
use interleave::thread;
use interleave::time::Instant;
use messages::workers::{
    Answer, Completed, Event, Job, Master, MasterGone, Worker, WorkerState, pool,
};

const TIMEOUT: Duration = Duration::from_millis(100);

/// A master as the checks see it (the step's, or one written in this file).
trait Mastering: Send + 'static {
    type Worker: Working;
    fn pool(workers: usize, timeout: Duration) -> (Self, Vec<Self::Worker>)
    where
        Self: Sized;
    fn submit(&mut self, inputs: &[u64]) -> Vec<usize>;
    fn dispatch(&mut self) -> Vec<(usize, usize)>;
    fn collect(&mut self) -> Option<Event>;
    fn is_done(&self) -> bool;
    fn state(&self, worker: usize) -> WorkerState;
    fn finish(self) -> Vec<Completed>;
    fn run(self, inputs: &[u64]) -> Vec<Completed>;
}

/// A worker's end as the checks see it.
trait Working: Send + 'static {
    fn id(&self) -> usize;
    fn next_job(&self) -> Option<Job>;
    fn answer(&self, job: &Job, output: u64) -> Result<(), MasterGone>;
}

impl Mastering for Master {
    type Worker = Worker;
    fn pool(workers: usize, timeout: Duration) -> (Self, Vec<Worker>) {
        pool(workers, timeout)
    }
    fn submit(&mut self, inputs: &[u64]) -> Vec<usize> {
        Master::submit(self, inputs)
    }
    fn dispatch(&mut self) -> Vec<(usize, usize)> {
        Master::dispatch(self)
    }
    fn collect(&mut self) -> Option<Event> {
        Master::collect(self)
    }
    fn is_done(&self) -> bool {
        Master::is_done(self)
    }
    fn state(&self, worker: usize) -> WorkerState {
        Master::state(self, worker)
    }
    fn finish(self) -> Vec<Completed> {
        Master::finish(self)
    }
    fn run(self, inputs: &[u64]) -> Vec<Completed> {
        Master::run(self, inputs)
    }
}

impl Working for Worker {
    fn id(&self) -> usize {
        Worker::id(self)
    }
    fn next_job(&self) -> Option<Job> {
        Worker::next_job(self)
    }
    fn answer(&self, job: &Job, output: u64) -> Result<(), MasterGone> {
        Worker::answer(self, job, output)
    }
}

/// A value shown in the table as it is.
struct Shown(String);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn event_text(e: Option<Event>) -> String {
    match e {
        None => "None".to_string(),
        Some(Event::Done { job, worker }) => format!("Done(job {job}, W{worker})"),
        Some(Event::Duplicate { job, worker }) => format!("Duplicate(job {job}, W{worker})"),
        Some(Event::TimedOut { job, worker }) => format!("TimedOut(job {job}, W{worker})"),
    }
}

fn event(e: Option<Event>) -> Shown {
    Shown(event_text(e))
}

fn completed(c: &[Completed]) -> Shown {
    let items: Vec<String> = c
        .iter()
        .map(|c| format!("job {} by W{} = {}", c.job, c.worker, c.output))
        .collect();
    Shown(format!("[{}]", items.join(", ")))
}

fn job(j: Option<Job>) -> Shown {
    Shown(match j {
        Some(j) => format!("job {} ({})", j.id, j.input),
        None => "None".to_string(),
    })
}

fn millis(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// The scenario's world: a master (driven by actor M) and its workers W0, W1...
struct Pool<M: Mastering> {
    master: RefCell<Option<M>>,
    workers: Vec<M::Worker>,
    /// The job each worker last took, as a worker remembers it.
    taken: RefCell<BTreeMap<usize, Job>>,
    /// When the pool was made (virtual time 0).
    start: Instant,
}

impl<M: Mastering> Pool<M> {
    fn new(n: usize) -> Self {
        let (master, workers) = M::pool(n, TIMEOUT);
        Pool {
            master: RefCell::new(Some(master)),
            workers,
            taken: RefCell::new(BTreeMap::new()),
            start: Instant::now(),
        }
    }

    fn with_master<R>(&self, f: impl FnOnce(&mut M) -> R) -> R {
        // Taken out while it runs: `collect` may block, and nobody else touches it.
        let mut m = self
            .master
            .borrow_mut()
            .take()
            .expect("the master is running");
        let r = f(&mut m);
        *self.master.borrow_mut() = Some(m);
        r
    }

    fn next_job(&self, w: usize) -> Shown {
        let j = self.workers[w].next_job();
        if let Some(j) = j {
            self.taken.borrow_mut().insert(w, j);
        }
        job(j)
    }

    fn answer(&self, w: usize) -> Shown {
        let j = self.taken.borrow()[&w];
        Shown(match self.workers[w].answer(&j, j.input * j.input) {
            Ok(()) => "Ok".to_string(),
            Err(e) => format!("Err({e})"),
        })
    }

    fn now(&self) -> String {
        millis(Instant::now().duration_since(self.start))
    }

    /// `collect()`, with the virtual time at which it returned.
    fn collect_at(&self) -> Shown {
        let e = self.with_master(|m| m.collect());
        Shown(format!("{} at {}", event_text(e), self.now()))
    }

    fn state(&self, w: usize) -> Shown {
        let s = self.with_master(|m| m.state(w));
        Shown(match s {
            WorkerState::Idle => "Idle".to_string(),
            WorkerState::Busy { job, deadline } => format!(
                "Busy(job {job}, deadline at {})",
                millis(deadline.duration_since(self.start))
            ),
            WorkerState::Silent { job } => format!("Silent(job {job})"),
        })
    }

    fn finish(&self) -> Shown {
        let m = self
            .master
            .borrow_mut()
            .take()
            .expect("the master is running");
        completed(&m.finish())
    }
}

/// The jobs done so far, from the events `collect` returned.
fn jobs_done(done: &[Returned]) -> String {
    let mut jobs = Vec::new();
    let mut ignored = 0;
    for r in done {
        let v = r.value.as_deref().unwrap_or_default();
        if let Some(rest) = v.strip_prefix("Done(job ") {
            jobs.push(rest.split(',').next().unwrap_or_default().to_string());
        } else if v.starts_with("Duplicate") {
            ignored += 1;
        }
    }
    let jobs = if jobs.is_empty() {
        "none".to_string()
    } else {
        jobs.join(", ")
    };
    format!("done: {jobs}; ignored: {ignored}")
}

fn dispatch<M: Mastering>(p: &Pool<M>) -> Shown {
    let handed = p.with_master(|m| m.dispatch());
    let s: Vec<String> = handed
        .iter()
        .map(|(j, w)| format!("job {j} -> W{w}"))
        .collect();
    Shown(format!("[{}]", s.join(", ")))
}

fn submit<M: Mastering>(inputs: &'static [u64]) -> impl Fn(&Pool<M>) -> Shown {
    move |p| Shown(format!("{:?}", p.with_master(|m| m.submit(inputs))))
}

fn collect<M: Mastering>(p: &Pool<M>) -> Shown {
    event(p.with_master(|m| m.collect()))
}

/// The step-7 timeout, the reassignment and W0's late answer.
fn one_stuck_worker<M: Mastering>() -> Scenario<Pool<M>> {
    Scenario::new(|| Pool::<M>::new(2))
        .call("M", "submit([7, 8])", submit(&[7, 8]))
        .call("M", "dispatch()", dispatch)
        .rule("the oldest jobs first, to the idle workers, lowest number first")
        .call("W0", "next_job()", |p| p.next_job(0))
        .call("W1", "next_job()", |p| p.next_job(1))
        .call("W1", "answer(64)", |p| p.answer(1))
        .call("M", "collect()", collect)
        .rule("an answer is waiting: collect returns it at once")
        .call("M", "collect()", collect)
        .rule("W0 has not answered by job 0's deadline: collect gives up on it")
        .call("M", "dispatch()", dispatch)
        .rule("a timed-out job goes to another worker; W0, silent, gets nothing")
        .call("W1", "next_job()", |p| p.next_job(1))
        .call("W1", "answer(49)", |p| p.answer(1))
        .call("W0", "answer(49)", |p| p.answer(0))
        .call("M", "collect()", collect)
        .rule("W1's answer came first: it counts")
        .call("M", "collect()", collect)
        .rule("job 0 is already done: W0's late answer is ignored")
        .call("W0", "next_job()", |p| p.next_job(0))
        .rule("W0 is idle again, but there is no job left: it waits")
        .call("M", "finish()", |p| p.finish())
        .rule("the master is gone: a waiting worker gets None")
        .call("W1", "next_job()", |p| p.next_job(1))
        .state(jobs_done)
        .max_steps(10_000)
}

/// Checks the stuck-worker scenario step by step against its stored table: the timeout,
/// the reassignment, then that every job counts once; returns the whole table.
fn stuck_worker_checks<M: Mastering>() -> Table {
    one_stuck_worker::<M>().check(STUCK, stuck_worker_explain)
}

/// What the stuck-worker scenario checks in the topic's words, on a table that may have
/// stopped early.
fn stuck_worker_explain(table: &Table) {
    check_stuck_worker(table);
    check_reassigned(table);
    check_one_answer_counts(table);
    check_silent_holder(table);
}

/// What the call of `row` returned, as the policy states it (`[job 0 -> W1]`), or that it
/// had not returned.
fn returned_value(row: &Row) -> String {
    let mine = format!("{} -> ", row.call);
    if let Some(value) = row.returned.iter().find_map(|r| r.strip_prefix(&mine)) {
        return value.to_string();
    }
    if row.returned.contains(&row.call) {
        return "()".to_string();
    }
    "nothing (the call was still blocked)".to_string()
}

fn check_reassigned(table: &Table) {
    let Some(row) = table.rows.get(7) else {
        return;
    };
    let got = returned_value(row);
    if got != "[job 0 -> W1]" {
        panic!(
            "{}\n\n{table:#}",
            wrap(
                &format!(
                    "at step 8, M dispatch() returned {got}, but job 0 timed out with W0, who is \
                     silent: a silent worker gets no new job until it answers, so job 0 goes to \
                     the next idle worker, W1."
                ),
                PLAIN
            )
        );
    }
}

/// At step 13, W0 (silent since step 7) still holds job 0 and its late answer is waiting:
/// `collect` must take it (a duplicate), not say that no worker has a job.
fn check_silent_holder(table: &Table) {
    let Some(row) = table.rows.get(12) else {
        return;
    };
    if returned_value(row) == "None" {
        panic!(
            "{}\n\n{table:#}",
            wrap(
                "at step 13, M collect() returned None, but W0 still held job 0: W0 went silent \
                 when job 0 timed out (step 7), and a silent worker holds its job until it \
                 answers. When only silent workers hold jobs, no deadline is left and collect \
                 waits for an answer; None means that no worker has a job. Here W0's late \
                 answer (step 11) was already waiting: collect takes it and returns \
                 Duplicate(job 0, W0), since W1 did job 0 first.",
                PLAIN
            )
        );
    }
}

fn check_stuck_worker(table: &Table) {
    let Some(seventh) = table.rows.get(6) else {
        return;
    };
    assert!(
        seventh
            .returned
            .iter()
            .any(|r| r.contains("TimedOut(job 0, W0)")),
        "at step 7, M collect() should give up on W0 after the {TIMEOUT:?} timeout \
         (TimedOut(job 0, W0)):\nW0 took job 0 at step 3 and has not answered. Instead the \
         master {}:\na master that waits for an answer however long it takes is stalled by \
         one silent worker.\n\n{table:#}",
        if seventh.blocked.iter().any(|b| b.starts_with("M collect()")) {
            "stays blocked, waiting for W0 forever".to_string()
        } else {
            format!("got {:?}", seventh.returned)
        }
    );
}

fn check_one_answer_counts(table: &Table) {
    let dones: Vec<&String> = table
        .rows
        .iter()
        .flat_map(|r| &r.returned)
        .filter(|r| r.contains("-> Done(job 0,"))
        .collect();
    assert!(
        dones.len() <= 1,
        "job 0 completed {} times ({}):\nW1 answered it first after the reassignment, so \
         W0's late answer must be ignored (Event::Duplicate);\nevery job completes exactly \
         once.\n\n{table:#}",
        dones.len(),
        dones
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
}

#[test]
fn a_stuck_worker_has_its_job_handed_to_another_and_its_late_answer_is_ignored() {
    let table = one_stuck_worker::<Master>().run();
    stuck_worker_explain(&table);
    interleave::assert_table!(table);
}

/// Three workers, jobs handed out at 0, 20 and 40 ms: each deadline counts from its own
/// dispatch, `collect` gives up at the earliest one exactly, a timed-out job goes to the
/// front of the queue, a late answer that comes first counts (and its job leaves the
/// queue), a later one is a duplicate, and a worker that answers is idle again.
fn deadlines<M: Mastering>() -> Scenario<Pool<M>> {
    Scenario::new(|| Pool::<M>::new(3))
        .call("M", "submit([1])", submit(&[1]))
        .call("M", "dispatch()", dispatch)
        .call("T", "sleep(20ms)", |_| {
            thread::sleep(Duration::from_millis(20))
        })
        .call("M", "submit([2])", submit(&[2]))
        .call("M", "dispatch()", dispatch)
        .rule("W0 is busy: the job goes to the lowest-numbered idle worker, W1")
        .call("T", "sleep(20ms)", |_| {
            thread::sleep(Duration::from_millis(20))
        })
        .call("M", "submit([3, 4, 5])", submit(&[3, 4, 5]))
        .rule("jobs are numbered after the jobs already submitted")
        .call("M", "dispatch()", dispatch)
        .rule("only W2 is idle: it gets the oldest job; jobs 3 and 4 wait in the queue")
        .call("M", "state(2)", |p| p.state(2))
        .rule("a deadline is the moment the job was handed out, plus the timeout")
        .call("W1", "next_job()", |p| p.next_job(1))
        .call("W1", "answer(4)", |p| p.answer(1))
        .call("T", "sleep(10ms)", |_| {
            thread::sleep(Duration::from_millis(10))
        })
        .call("M", "collect()", |p| p.collect_at())
        .rule("an answer is waiting: collect returns it at once")
        .call("M", "dispatch()", dispatch)
        .rule("the oldest queued job goes to the only idle worker")
        .call("M", "collect()", |p| p.collect_at())
        .rule("the earliest deadline is job 0's (handed out at 0ms): collect waits until 100ms")
        .call("M", "state(0)", |p| p.state(0))
        .rule("a worker that missed its deadline is silent")
        .call("M", "dispatch()", dispatch)
        .rule("W0 is silent and W1, W2 are busy: nobody gets a job")
        .call("M", "collect()", |p| p.collect_at())
        .rule("the earliest deadline is now job 2's (W2, 140ms), before job 3's (W1, 150ms)")
        .call("M", "collect()", |p| p.collect_at())
        .rule("then job 3's deadline passes: timed-out jobs go to the front, 3 before 2 and 0")
        .call("M", "dispatch()", dispatch)
        .rule("every worker is silent: nobody gets a job")
        .call("M", "collect()", |p| p.collect_at())
        .rule("only silent workers hold jobs: no deadline is left, collect waits for an answer")
        .call("W1", "next_job()", |p| p.next_job(1))
        .call("W1", "answer(16)", |p| p.answer(1))
        .rule("W1 answers job 3 late, but first: its answer counts")
        .call("M", "state(1)", |p| p.state(1))
        .rule("a worker that answers, even late, is idle again")
        .call("M", "dispatch()", dispatch)
        .rule("job 3 is done and leaves the queue: job 2, now first, goes to W1")
        .call("W2", "next_job()", |p| p.next_job(2))
        .call("W2", "answer(9)", |p| p.answer(2))
        .call("M", "collect()", |p| p.collect_at())
        .rule("W2's late answer for job 2 comes first: it counts")
        .call("M", "dispatch()", dispatch)
        .rule("W2 is idle again and gets the next job, 0")
        .call("W1", "next_job()", |p| p.next_job(1))
        .call("W1", "answer(9)", |p| p.answer(1))
        .call("M", "collect()", |p| p.collect_at())
        .rule("job 2 is already done: W1's answer is ignored")
        .call("M", "dispatch()", dispatch)
        .rule("W1 answered, so it is idle again")
        .call("M", "finish()", |p| p.finish())
        .rule("the accepted results, in the order they were accepted")
        .call("W2", "answer(9)", |p| p.answer(2))
        .rule("the master is gone: a late answer fails")
        .state(jobs_done)
        .max_steps(10_000)
}

/// Checks the rows of [`deadlines`] that a wrong master most often gets wrong, with the
/// cause in the topic's words.
fn check_deadlines(table: &Table) {
    let row = |step: usize| table.rows[step - 1].returned.join(", ");
    let expect = |step: usize, want: &str, why: &str| {
        if step > table.rows.len() {
            return;
        }
        let call = &table.rows[step - 1].call;
        let got: Vec<&str> = table.rows[step - 1]
            .returned
            .iter()
            .map(|r| r.strip_prefix(&format!("{call} -> ")).unwrap_or(r))
            .collect();
        let got = if got.is_empty() {
            "nothing (the call was still blocked)".to_owned()
        } else {
            got.join(", ")
        };
        assert!(
            row(step).contains(want),
            "at step {step}, {call} returned {got}, where the policy gives {}.\n{why}\n\n{table:#}",
            want.trim_start_matches("-> ")
        );
    };
    for (step, want) in [
        (2, "[job 0 -> W0]"),
        (5, "[job 1 -> W1]"),
        (8, "[job 2 -> W2]"),
    ] {
        expect(
            step,
            want,
            "dispatch hands the oldest queued jobs to the idle workers, lowest number first.",
        );
    }
    expect(
        9,
        "-> Busy(job 2, deadline at 140ms)",
        "Job 2 was handed to W2 at 40ms: its deadline is 40ms + 100ms.",
    );
    expect(
        15,
        "-> TimedOut(job 0, W0) at 100ms",
        "Job 0 was handed to W0 at 0ms and never answered: collect waits for an answer only\n\
         until the earliest deadline, 100ms, counted from the dispatch (not from the collect).",
    );
    expect(
        16,
        "-> Silent(job 0)",
        "W0 missed job 0's deadline: it is silent until it answers.",
    );
    expect(
        17,
        "-> []",
        "A silent worker gets no new job until it answers; the others are busy.",
    );
    expect(
        18,
        "-> TimedOut(job 2, W2) at 140ms",
        "Job 2 was handed to W2 at 40ms, job 3 to W1 at 50ms: the earliest deadline is \
         140ms, W2's.",
    );
    // Steps 19 and 20 as the policy gives them: every worker holding a job is silent.
    let all_silent = table.rows.len() > 20
        && row(19).contains("-> TimedOut(job 3, W1)")
        && row(20).contains("M dispatch() -> []");
    if let Some(row) = table.rows.get(20).filter(|_| all_silent)
        && !row.blocked.contains(&row.call)
    {
        panic!(
            "{}\n\n{table:#}",
            wrap(
                &format!(
                    "at step 21, M collect() returned {}, where the policy has it wait: every \
                     worker that holds a job (W0, W1, W2) is silent, so no deadline is left and \
                     collect waits for an answer. It returns None only when no worker has a \
                     job, and a silent worker holds its job until it answers.",
                    returned_value(row)
                ),
                PLAIN
            )
        );
    }
    expect(
        25,
        "-> [job 2 -> W1]",
        "Timed-out jobs go back to the *front* of the queue (job 0, then 2, then 3, each ahead \
         of the\nothers), and a job done by a late answer (job 3) leaves it: job 2 is next.",
    );
    expect(
        32,
        "-> Duplicate(job 2, W1)",
        "W2 answered job 2 first (step 28): W1's answer is a duplicate, to ignore.",
    );
    expect(
        35,
        "Err(the master is gone)",
        "Once the master has finished, a late answer fails with MasterGone.",
    );
}

/// Checks the deadlines scenario step by step against its stored table; returns the whole
/// table.
fn deadline_checks<M: Mastering>() -> Table {
    deadlines::<M>().check(DEADLINES, check_deadlines)
}

const STUCK: &str = include_str!(
    "snapshots/workers__a_stuck_worker_has_its_job_handed_to_another_and_its_late_answer_is_ignored.snap"
);
const DEADLINES: &str = include_str!(
    "snapshots/workers__deadlines_count_from_the_dispatch_and_the_earliest_comes_first.snap"
);

#[test]
fn deadlines_count_from_the_dispatch_and_the_earliest_comes_first() {
    let table = deadlines::<Master>().run();
    check_deadlines(&table);
    interleave::assert_table!(table);
}

/// What the test knows about a worker while it watches the master.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Seen {
    Idle,
    /// Handed `job` with this deadline.
    Busy(usize, Duration),
    /// Missed the deadline of `job`.
    Silent(usize),
}

/// Runs `inputs` (squared by the workers) through a master with `n` workers, driving
/// `dispatch` and `collect` as `run` does, and checks every event against a model of the
/// policy kept by the test: a deadline is the dispatch time plus the timeout, `collect`
/// never waits past the earliest one and gives up exactly then, a silent or busy worker
/// gets no job, the first answer for a job is Done and the others Duplicate, and every
/// job completes once with the right result. Worker `w`'s `k`-th job takes
/// `took(w, k)` ms.
fn watch<M: Mastering>(n: usize, inputs: &[u64], took: fn(usize, usize) -> u64) {
    let (mut master, workers) = M::pool(n, TIMEOUT);
    let threads: Vec<_> = workers
        .into_iter()
        .map(|w| {
            thread::Builder::new()
                .name(format!("W{}", w.id()))
                .spawn(move || {
                    let mut k = 0;
                    while let Some(job) = w.next_job() {
                        thread::sleep(Duration::from_millis(took(w.id(), k)));
                        k += 1;
                        if w.answer(&job, job.input * job.input).is_err() {
                            break; // the master is done: nobody reads late answers
                        }
                    }
                })
                .expect("spawn a worker")
        })
        .collect();
    let start = Instant::now();
    let now = || Instant::now().duration_since(start);
    let mut seen = vec![Seen::Idle; n];
    // When a collect last reported a job TimedOut: its deadline, shared by the jobs handed
    // out with it, which must come back by the next collects.
    let mut timed_out_at = None;
    let mut done = vec![false; inputs.len()];
    let mut log: Vec<String> = Vec::new();
    let fail = |log: &[String], msg: String| -> ! {
        panic!(
            "{msg}\n\nwhat the master did (virtual time):\n{}",
            log.join("\n")
        )
    };
    master.submit(inputs);
    loop {
        for (job, w) in master.dispatch() {
            log.push(format!("{:>6} dispatch: job {job} -> W{w}", millis(now())));
            if seen[w] != Seen::Idle {
                let what = match seen[w] {
                    Seen::Busy(j, _) => format!("busy with job {j}"),
                    Seen::Silent(j) => {
                        format!("silent (it missed job {j}'s deadline and has not answered)")
                    }
                    Seen::Idle => unreachable!(),
                };
                fail(
                    &log,
                    format!(
                        "dispatch handed job {job} to W{w}, which is {what}:\nonly idle \
                         workers get jobs"
                    ),
                );
            }
            if done[job] {
                fail(
                    &log,
                    format!("dispatch handed out job {job}, which is already done"),
                );
            }
            seen[w] = Seen::Busy(job, now() + TIMEOUT);
        }
        if master.is_done() {
            break;
        }
        let earliest = seen
            .iter()
            .enumerate()
            .filter_map(|(w, s)| match *s {
                Seen::Busy(j, d) => Some((d, w, j)),
                _ => None,
            })
            .min();
        let e = master.collect();
        let t = now();
        log.push(format!("{:>6} collect: {}", millis(t), event_text(e)));
        if let Some((d, w, j)) = earliest
            && t > d
        {
            let why = if timed_out_at == Some(d) {
                format!(
                    "job {j} (W{w}) never came back as TimedOut: it shared its {} deadline \
                     with the job a collect reported TimedOut then, and the next collect, at {}, \
                     returned another event. Jobs handed out together share a deadline, and each \
                     comes back from a collect of its own: one TimedOut per job, the others from \
                     the next collects, at once. A timed-out job lost.",
                    millis(d),
                    millis(t)
                )
            } else {
                format!(
                    "collect returned at {} although job {j}'s deadline (W{w}) was {}:\n\
                     collect waits for an answer only until the earliest deadline, counted from \
                     the dispatch.",
                    millis(t),
                    millis(d)
                )
            };
            fail(&log, why);
        }
        match e {
            None => fail(
                &log,
                "collect returned None while workers had jobs: None means that no worker \
                 has a job"
                    .to_string(),
            ),
            // Jobs handed out together share a deadline: any one of them may time out
            // first (the others by the next collects).
            Some(Event::TimedOut { job, worker }) => match earliest {
                Some((d, ..)) if t == d && seen.get(worker) == Some(&Seen::Busy(job, d)) => {
                    seen[worker] = Seen::Silent(job);
                    timed_out_at = Some(d);
                }
                Some((d, w, j)) if t == d => fail(
                    &log,
                    format!(
                        "collect returned TimedOut(job {job}, W{worker}) at {}, but {}:\nthe \
                         deadline that passed then is job {j}'s (W{w})",
                        millis(t),
                        match seen.get(worker) {
                            Some(Seen::Busy(j2, d2)) if *j2 == job =>
                                format!("job {job}'s deadline is {}", millis(*d2)),
                            Some(Seen::Busy(j2, _)) => format!("W{worker} holds job {j2}"),
                            Some(Seen::Silent(j2)) => format!(
                                "W{worker} has already timed out on job {j2} and has not \
                                 answered since"
                            ),
                            _ => format!("W{worker} holds no job"),
                        }
                    ),
                ),
                Some((d, ..)) => fail(
                    &log,
                    format!(
                        "collect returned TimedOut(job {job}, W{worker}) at {}, but the \
                         earliest deadline is {}:\na timeout fires at the deadline, not before",
                        millis(t),
                        millis(d)
                    ),
                ),
                None => fail(
                    &log,
                    format!(
                        "collect returned TimedOut(job {job}, W{worker}) although no busy \
                         worker had a deadline"
                    ),
                ),
            },
            Some(Event::Done { job, worker }) | Some(Event::Duplicate { job, worker }) => {
                let dup = matches!(e, Some(Event::Duplicate { .. }));
                if dup != done[job] {
                    fail(
                        &log,
                        if dup {
                            format!(
                                "collect called W{worker}'s answer for job {job} a Duplicate,\n\
                                 but it is the first answer for job {job}: it must count"
                            )
                        } else {
                            format!(
                                "collect accepted W{worker}'s answer for job {job} (Done), but \
                                 job {job} was already done:\na second answer is a Duplicate"
                            )
                        },
                    );
                }
                done[job] = true;
                seen[worker] = Seen::Idle;
            }
        }
    }
    let results = master.finish();
    let mut count = vec![0; inputs.len()];
    for c in &results {
        count[c.job] += 1;
        assert_eq!(
            c.output,
            inputs[c.job] * inputs[c.job],
            "job {} has the wrong result",
            c.job
        );
    }
    for (j, &k) in count.iter().enumerate() {
        assert!(
            k == 1,
            "job {j} is {k} times in the results: {results:?}. Every job completes exactly once."
        );
    }
    for t in threads {
        t.join().expect("a worker panicked");
    }
}

/// Latencies that make some workers late, some very late, and some stuck for an hour.
fn mixed(w: usize, k: usize) -> u64 {
    [
        [40, 130, 20, 3_600_000],
        [250, 30, 90, 60],
        [10, 110, 45, 160],
    ][w % 3][k % 4]
}

fn watched_checks<M: Mastering>() {
    let inputs: Vec<u64> = (1..=10).collect();
    let i = inputs.clone();
    explore(Config::new().iterations(300), move || {
        watch::<M>(3, &i, mixed)
    });
    let i = inputs.clone();
    explore(Config::new().iterations(200), move || {
        watch::<M>(4, &i, |w, k| mixed(w + k, k + 1))
    });
    let i: Vec<u64> = (1..=5).collect();
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 1 }),
        move || watch::<M>(2, &i, mixed),
    );
}

#[test]
fn every_event_follows_the_policy_with_late_and_stuck_workers() {
    watched_checks::<Master>();
}

/// Runs nine jobs (inputs 1..=9, squared) on three workers; every job takes 40 ms, except
/// W1's first one, which takes `w1_first` (virtual time). Checks that every job completes
/// exactly once with the right result, how long the master took, and that every thread
/// ends.
fn nine_jobs<M: Mastering>(w1_first: Duration) {
    let (master, workers) = M::pool(3, TIMEOUT);
    let threads: Vec<_> = workers
        .into_iter()
        .map(|w| {
            thread::Builder::new()
                .name(format!("W{}", w.id()))
                .spawn(move || {
                    let mut first = true;
                    while let Some(job) = w.next_job() {
                        let took = if first && w.id() == 1 {
                            w1_first
                        } else {
                            Duration::from_millis(40)
                        };
                        first = false;
                        thread::sleep(took);
                        if w.answer(&job, job.input * job.input).is_err() {
                            break; // the master is done: nobody reads late answers
                        }
                    }
                })
                .expect("spawn a worker")
        })
        .collect();
    let inputs: Vec<u64> = (1..=9).collect();
    let start = Instant::now();
    let results = master.run(&inputs);
    let took = start.elapsed();
    let mut count = vec![0; inputs.len()];
    for c in &results {
        count[c.job] += 1;
        assert_eq!(
            c.output,
            inputs[c.job] * inputs[c.job],
            "job {} has the wrong result",
            c.job
        );
    }
    for (j, &n) in count.iter().enumerate() {
        assert!(
            n == 1,
            "job {j} completed {n} times: {results:?}.\nEvery job must complete exactly once: \
             when a job was handed out twice, the second answer\nis a late duplicate to \
             ignore"
        );
    }
    assert!(
        took <= Duration::from_secs(1),
        "the master needed {took:?} for nine 40ms jobs on three workers: it waited for W1, \
         who stopped\nanswering, instead of handing W1's job to another worker after the \
         {TIMEOUT:?} timeout"
    );
    for t in threads {
        t.join().expect("a worker panicked");
    }
}

fn run_checks<M: Mastering>() {
    explore(Config::new().iterations(300), || {
        nine_jobs::<M>(Duration::from_secs(3600))
    });
    explore(Config::new().iterations(300), || {
        nine_jobs::<M>(Duration::from_millis(130))
    });
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || nine_jobs::<M>(Duration::from_millis(130)),
    );
}

#[test]
fn a_worker_that_stops_answering_does_not_stall_the_master() {
    explore(Config::new().iterations(500), || {
        nine_jobs::<Master>(Duration::from_secs(3600))
    });
}

#[test]
fn a_slow_worker_late_answer_is_ignored() {
    explore(Config::new().iterations(500), || {
        nine_jobs::<Master>(Duration::from_millis(130))
    });
}

#[test]
fn a_slow_worker_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || nine_jobs::<Master>(Duration::from_millis(130)),
    );
}

#[test]
fn all_workers_healthy_every_job_done_once() {
    explore(Config::new().iterations(100), || {
        nine_jobs::<Master>(Duration::from_millis(40))
    });
}

/// `collect` with no job out, submitting nothing, worker numbers: in a simulation (a
/// `collect` that waits would be reported, not hang), then on real threads.
fn no_job_out<M: Mastering>() {
    let (mut master, workers) = M::pool(3, TIMEOUT);
    let ids: Vec<usize> = workers.iter().map(|w| w.id()).collect();
    assert_eq!(ids, [0, 1, 2], "the workers are numbered from 0");
    assert!(
        master.collect().is_none(),
        "collect with no job handed out must return None at once: there is nothing to wait for"
    );
    assert_eq!(master.submit(&[]), Vec::<usize>::new());
    assert!(master.is_done());
    assert!(master.finish().is_empty());
    for w in &workers {
        assert_eq!(
            w.next_job(),
            None,
            "the master is gone: next_job returns None"
        );
    }
    let job = Job { id: 0, input: 1 };
    assert_eq!(workers[0].answer(&job, 1), Err(MasterGone));
}

#[test]
fn collect_with_no_job_out_returns_none() {
    explore(
        Config::new().strategy(Strategy::Canonical),
        no_job_out::<Master>,
    );
    within(
        Duration::from_secs(10),
        "collect with no job out",
        no_job_out::<Master>,
    );
    assert_eq!(MasterGone.to_string(), "the master is gone");
}

/// Every check above, for a master written in this file.
fn all_checks<M: Mastering>() {
    stuck_worker_checks::<M>();
    deadline_checks::<M>();
    watched_checks::<M>();
    run_checks::<M>();
    explore(Config::new().strategy(Strategy::Canonical), no_job_out::<M>);
}

/// The panic message of `f`, which must panic.
fn failure_of(f: impl FnOnce()) -> String {
    let p = catch_unwind(AssertUnwindSafe(f)).expect_err("the checks must reject this master");
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
        // Whitespace collapsed: the checks assert on words, wherever a report breaks lines.
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// How the master written in this file goes wrong, if it does.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Fault {
    /// None: a correct design, with outstanding jobs kept in a deadline-ordered list
    /// instead of a state per worker.
    None,
    /// Each `collect` waits a whole timeout from now (a deadline extended by every answer).
    WaitsFromNow,
    /// The first busy worker's deadline, not the earliest.
    FirstBusy,
    /// A timed-out job goes to the back of the queue.
    BackOfQueue,
    /// Every answer counts, even for a job already done.
    NoDuplicates,
    /// A worker that missed its deadline is idle at once (and gets new jobs).
    ForgetsSilence,
    /// A job done by a late answer stays in the queue.
    KeepsDoneJobs,
    /// `collect` returns None when no worker is busy, though silent workers hold jobs.
    ForgetsSilentHolders,
}

const FAULTS: [Fault; 8] = [
    Fault::None,
    Fault::WaitsFromNow,
    Fault::FirstBusy,
    Fault::BackOfQueue,
    Fault::NoDuplicates,
    Fault::ForgetsSilence,
    Fault::KeepsDoneJobs,
    Fault::ForgetsSilentHolders,
];

/// A master written in the test (with fault number `F`).
struct TestMaster<const F: u8> {
    timeout: Duration,
    jobs: Vec<Sender<Job>>,
    results: Receiver<Answer>,
    queue: VecDeque<Job>,
    /// Outstanding trusted jobs: (deadline, worker, job), earliest first.
    out: Vec<(Instant, usize, usize)>,
    /// Workers that missed a deadline: worker -> job.
    silent: BTreeMap<usize, usize>,
    inputs: Vec<u64>,
    done: Vec<bool>,
    completed: Vec<Completed>,
}

struct TestWorker {
    id: usize,
    jobs: Receiver<Job>,
    results: Sender<Answer>,
}

impl Working for TestWorker {
    fn id(&self) -> usize {
        self.id
    }
    fn next_job(&self) -> Option<Job> {
        self.jobs.recv().ok()
    }
    fn answer(&self, job: &Job, output: u64) -> Result<(), MasterGone> {
        self.results
            .send(Answer {
                job: job.id,
                worker: self.id,
                output,
            })
            .map_err(|_| MasterGone)
    }
}

impl<const F: u8> TestMaster<F> {
    fn fault(&self) -> Fault {
        FAULTS[F as usize]
    }

    fn accept(&mut self, a: Answer) -> Event {
        self.out.retain(|&(_, w, _)| w != a.worker);
        self.silent.remove(&a.worker);
        if self.done[a.job] && self.fault() != Fault::NoDuplicates {
            return Event::Duplicate {
                job: a.job,
                worker: a.worker,
            };
        }
        self.done[a.job] = true;
        if self.fault() != Fault::KeepsDoneJobs {
            self.queue.retain(|j| j.id != a.job);
        }
        self.completed.push(Completed {
            job: a.job,
            worker: a.worker,
            output: a.output,
        });
        Event::Done {
            job: a.job,
            worker: a.worker,
        }
    }
}

impl<const F: u8> Mastering for TestMaster<F> {
    type Worker = TestWorker;

    fn pool(workers: usize, timeout: Duration) -> (Self, Vec<TestWorker>) {
        let (rtx, rrx) = unbounded();
        let (mut jobs, mut ends) = (Vec::new(), Vec::new());
        for id in 0..workers {
            let (tx, rx) = bounded(1);
            jobs.push(tx);
            ends.push(TestWorker {
                id,
                jobs: rx,
                results: rtx.clone(),
            });
        }
        let master = TestMaster {
            timeout,
            jobs,
            results: rrx,
            queue: VecDeque::new(),
            out: Vec::new(),
            silent: BTreeMap::new(),
            inputs: Vec::new(),
            done: Vec::new(),
            completed: Vec::new(),
        };
        (master, ends)
    }

    fn submit(&mut self, inputs: &[u64]) -> Vec<usize> {
        let first = self.done.len();
        for (k, &input) in inputs.iter().enumerate() {
            self.queue.push_back(Job {
                id: first + k,
                input,
            });
            self.inputs.push(input);
            self.done.push(false);
        }
        (first..self.done.len()).collect()
    }

    fn dispatch(&mut self) -> Vec<(usize, usize)> {
        let mut handed = Vec::new();
        for w in 0..self.jobs.len() {
            let busy = self.out.iter().any(|&(_, x, _)| x == w) || self.silent.contains_key(&w);
            if busy {
                continue;
            }
            let Some(job) = self.queue.pop_front() else {
                break;
            };
            self.jobs[w].send(job).expect("the worker is there");
            self.out.push((Instant::now() + self.timeout, w, job.id));
            self.out.sort();
            handed.push((job.id, w));
        }
        handed
    }

    fn collect(&mut self) -> Option<Event> {
        let silent_count = self.fault() != Fault::ForgetsSilentHolders;
        if self.out.is_empty() && (self.silent.is_empty() || !silent_count) {
            return None;
        }
        let first = match self.fault() {
            Fault::FirstBusy => self.out.iter().min_by_key(|&&(_, w, _)| w).copied(),
            _ => self.out.first().copied(),
        };
        let got = match first {
            Some(_) if self.fault() == Fault::WaitsFromNow => {
                self.results.recv_timeout(self.timeout)
            }
            Some((deadline, ..)) => self
                .results
                .recv_timeout(deadline.duration_since(Instant::now())),
            None => self
                .results
                .recv()
                .map_err(|_| RecvTimeoutError::Disconnected),
        };
        match got {
            Ok(a) => Some(self.accept(a)),
            Err(RecvTimeoutError::Timeout) => {
                let (_, worker, job) = first.expect("a timeout needs a deadline");
                self.out.retain(|&(_, w, _)| w != worker);
                if self.fault() != Fault::ForgetsSilence {
                    self.silent.insert(worker, job);
                }
                if !self.done[job] {
                    let j = Job {
                        id: job,
                        input: self.inputs[job],
                    };
                    if self.fault() == Fault::BackOfQueue {
                        self.queue.push_back(j);
                    } else {
                        self.queue.push_front(j);
                    }
                }
                Some(Event::TimedOut { job, worker })
            }
            Err(RecvTimeoutError::Disconnected) => panic!("every worker is gone"),
        }
    }

    fn is_done(&self) -> bool {
        self.done.iter().all(|&d| d)
    }

    fn state(&self, worker: usize) -> WorkerState {
        if let Some(&job) = self.silent.get(&worker) {
            return WorkerState::Silent { job };
        }
        match self.out.iter().find(|&&(_, w, _)| w == worker) {
            Some(&(deadline, _, job)) => WorkerState::Busy { job, deadline },
            None => WorkerState::Idle,
        }
    }

    fn finish(self) -> Vec<Completed> {
        self.completed
    }

    fn run(mut self, inputs: &[u64]) -> Vec<Completed> {
        self.submit(inputs);
        loop {
            self.dispatch();
            if self.is_done() {
                break;
            }
            if self.collect().is_none() {
                panic!("jobs are left but no worker can take them");
            }
        }
        self.finish()
    }
}

#[test]
fn another_correct_design_passes() {
    all_checks::<TestMaster<0>>();
}

#[test]
fn the_checks_reject_wrong_masters() {
    let cases: [(u8, &str); 7] = [
        (1, "where the policy gives TimedOut(job 0, W0) at 100ms"),
        (2, "where the policy gives TimedOut(job 2, W2) at 140ms"),
        (3, "where the policy gives [job 2 -> W1]"),
        (4, "job 0 completed 2 times"),
        (
            5,
            "at step 8, M dispatch() returned [job 0 -> W0], but job 0 timed out with W0",
        ),
        (6, "where the policy gives [job 2 -> W1]"),
        (
            7,
            "When only silent workers hold jobs, no deadline is left and collect waits for an \
             answer",
        ),
    ];
    for (k, (f, cause)) in cases.into_iter().enumerate() {
        let m = match f {
            1 => failure_of(all_checks::<TestMaster<1>>),
            2 => failure_of(all_checks::<TestMaster<2>>),
            3 => failure_of(all_checks::<TestMaster<3>>),
            4 => failure_of(all_checks::<TestMaster<4>>),
            5 => failure_of(all_checks::<TestMaster<5>>),
            6 => failure_of(all_checks::<TestMaster<6>>),
            _ => failure_of(all_checks::<TestMaster<7>>),
        };
        assert!(
            m.contains(cause),
            "{:?}: expected {cause:?} in\n{m}",
            FAULTS[k + 1]
        );
    }
    // The deadlines scenario names the rule too, at its own step.
    let m = failure_of(|| {
        deadline_checks::<TestMaster<7>>();
    });
    assert!(
        m.contains("at step 21, M collect() returned None at 150ms, where the policy has it wait"),
        "{m}"
    );
    // The model of the explorations finds them too, on its own.
    for m in [
        failure_of(watched_checks::<TestMaster<1>>),
        failure_of(watched_checks::<TestMaster<2>>),
        failure_of(watched_checks::<TestMaster<4>>),
        failure_of(watched_checks::<TestMaster<5>>),
    ] {
        assert!(m.contains("what the master did (virtual time):"), "{m}");
    }
}
