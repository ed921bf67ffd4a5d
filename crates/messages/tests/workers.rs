//! Checks `messages/workers`: the master reassigns the job of a worker that stops
//! answering after the timeout, every job completes exactly once, late answers are
//! ignored, and every thread ends when the master is done. Time is virtual: the tests
//! take no time and always give the same result.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use interleave::explore::{Config, Strategy, explore};
use interleave::scenario::{Returned, Scenario, Table};
use interleave::thread;
use interleave::time::Instant;
use messages::workers::{Completed, Event, Job, Master, Worker, pool};

const TIMEOUT: Duration = Duration::from_millis(100);

/// A value shown in the table as it is.
struct Shown(String);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn event(e: Option<Event>) -> Shown {
    Shown(match e {
        None => "None".to_string(),
        Some(Event::Done { job, worker }) => format!("Done(job {job}, W{worker})"),
        Some(Event::Duplicate { job, worker }) => format!("Duplicate(job {job}, W{worker})"),
        Some(Event::TimedOut { job, worker }) => format!("TimedOut(job {job}, W{worker})"),
    })
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

/// The scenario's world: a master (driven by actor M) and two workers W0 and W1.
struct Pool {
    master: RefCell<Option<Master>>,
    workers: Vec<Worker>,
    /// The job each worker last took, as a worker remembers it.
    taken: RefCell<BTreeMap<usize, Job>>,
}

impl Pool {
    fn new() -> Self {
        let (master, workers) = pool(2, TIMEOUT);
        Pool {
            master: RefCell::new(Some(master)),
            workers,
            taken: RefCell::new(BTreeMap::new()),
        }
    }

    fn with_master<R>(&self, f: impl FnOnce(&mut Master) -> R) -> R {
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

fn dispatch(p: &Pool) -> Shown {
    let handed = p.with_master(|m| m.dispatch());
    let s: Vec<String> = handed
        .iter()
        .map(|(j, w)| format!("job {j} -> W{w}"))
        .collect();
    Shown(format!("[{}]", s.join(", ")))
}

/// Up to the step where W0 has been silent long enough.
fn until_the_timeout() -> Scenario<Pool> {
    Scenario::new(Pool::new)
        .call("M", "submit([7, 8])", |p| {
            Shown(format!("{:?}", p.with_master(|m| m.submit(&[7, 8]))))
        })
        .call("M", "dispatch()", dispatch)
        .call("W0", "next_job()", |p| p.next_job(0))
        .call("W1", "next_job()", |p| p.next_job(1))
        .call("W1", "answer(64)", |p| p.answer(1))
        .call("M", "collect()", |p| event(p.with_master(|m| m.collect())))
        .call("M", "collect()", |p| event(p.with_master(|m| m.collect())))
        .state(jobs_done)
        .max_steps(5_000)
}

fn one_stuck_worker() -> Table {
    until_the_timeout()
        .call("M", "dispatch()", dispatch)
        .call("W1", "next_job()", |p| p.next_job(1))
        .call("W1", "answer(49)", |p| p.answer(1))
        .call("W0", "answer(49)", |p| p.answer(0))
        .call("M", "collect()", |p| event(p.with_master(|m| m.collect())))
        .call("M", "collect()", |p| event(p.with_master(|m| m.collect())))
        .call("W0", "next_job()", |p| p.next_job(0))
        .call("M", "finish()", |p| {
            let m = p.master.borrow_mut().take().expect("the master is running");
            completed(&m.finish())
        })
        .call("W1", "next_job()", |p| p.next_job(1))
        .run()
}

#[test]
fn a_stuck_worker_has_its_job_handed_to_another_and_its_late_answer_is_ignored() {
    let table = until_the_timeout().run();
    let seventh = &table.rows[6];
    assert!(
        seventh
            .returned
            .iter()
            .any(|r| r.contains("TimedOut(job 0, W0)")),
        "at step 7, M collect() should give up on W0 after the {TIMEOUT:?} timeout \
         (TimedOut(job 0, W0)): W0 took job 0 at step 3 and has not answered. Instead the \
         master {}: a master that waits for an answer however long it takes is stalled by \
         one silent worker.\n\n{table:#}",
        if seventh.blocked.iter().any(|b| b.starts_with("M collect()")) {
            "stays blocked, waiting for W0 forever".to_string()
        } else {
            format!("got {:?}", seventh.returned)
        }
    );
    let table = one_stuck_worker();
    let dones: Vec<&String> = table
        .rows
        .iter()
        .flat_map(|r| &r.returned)
        .filter(|r| r.contains("-> Done(job 0,"))
        .collect();
    assert!(
        dones.len() == 1,
        "job 0 completed {} times ({}): W1 answered it first after the reassignment, so \
         W0's late answer must be ignored (Event::Duplicate); every job completes exactly \
         once.\n\n{table:#}",
        dones.len(),
        dones
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    );
    interleave::assert_table!(table);
}

/// Runs nine jobs (inputs 1..=9, squared) on three workers; every job takes 40 ms, except
/// W1's first one, which takes `w1_first` (virtual time). Checks that every job completes
/// exactly once with the right result, how long the master took, and that every thread
/// ends.
fn nine_jobs(w1_first: Duration) {
    let (master, workers) = pool(3, TIMEOUT);
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
            "job {j} completed {n} times: {results:?}. Every job must complete exactly once: \
             when a job was handed out twice, the second answer is a late duplicate to ignore"
        );
    }
    assert!(
        took <= Duration::from_secs(1),
        "the master needed {took:?} for nine 40ms jobs on three workers: it waited for W1, \
         who stopped answering, instead of handing W1's job to another worker after the \
         {TIMEOUT:?} timeout"
    );
    for t in threads {
        t.join().expect("a worker panicked");
    }
}

#[test]
fn a_worker_that_stops_answering_does_not_stall_the_master() {
    explore(Config::new().iterations(500), || {
        nine_jobs(Duration::from_secs(3600))
    });
}

#[test]
fn a_slow_worker_late_answer_is_ignored() {
    explore(Config::new().iterations(500), || {
        nine_jobs(Duration::from_millis(130))
    });
}

#[test]
fn a_slow_worker_within_two_delays() {
    explore(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || nine_jobs(Duration::from_millis(130)),
    );
}

#[test]
fn all_workers_healthy_every_job_done_once() {
    explore(Config::new().iterations(100), || {
        nine_jobs(Duration::from_millis(40))
    });
}

#[test]
fn collect_with_no_job_out_returns_none() {
    let (mut master, _workers) = pool(2, TIMEOUT);
    assert_eq!(master.collect(), None);
    master.submit(&[]);
    assert!(master.is_done());
    assert!(master.finish().is_empty());
}
