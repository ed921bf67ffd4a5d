//! A master, its workers, and timeouts (`messages/workers`).
//!
//! Task: a `Master` hands jobs to N workers and collects their answers. It must not
//! trust a worker to answer: a worker may crash, hang or just be very slow. So every job
//! handed out has a deadline (`timeout` after it was sent). `collect` waits for an
//! answer only until the earliest deadline; when it passes, the job goes back to the
//! front of the queue, to be handed to another worker, and its worker is considered
//! silent until it answers again (jobs handed out together share a deadline: each
//! comes back from its own `collect`, in any order). A silent worker may still answer later: if the job
//! was done meanwhile, that late answer is a duplicate and is ignored.
//!
//! The policy, exactly: `dispatch` hands the queue's jobs, oldest first, to the idle
//! workers, lowest number first; `collect` returns one event: `Done` (a first answer),
//! `Duplicate` (an answer for a job already done) or `TimedOut` (a deadline passed),
//! or `None` when no worker has a job. A worker that answers, even late, is idle again.
//! A deadline counts from the moment the job was handed out, so an answer from another
//! worker does not push it back; when only silent workers hold jobs, no deadline is left
//! and `collect` waits for an answer. A job done by a late answer leaves the queue.
//!
//! Invariant to protect: every job completes exactly once; a silent worker never stalls
//! the master longer than the timeout; when the master is done (dropped), every worker's
//! `next_job` returns `None` (after any job already handed to it) and every late `answer`
//! fails, so all threads can end.
//! Done when `just check messages/workers` passes.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use interleave::channel::{Receiver, Sender, bounded, unbounded};
use interleave::time::Instant;

/// A job: its number (0, 1, ... in submission order) and its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    /// The job's number.
    pub id: usize,
    /// What to work on.
    pub input: u64,
}

/// A worker's answer, as the master receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The job answered.
    pub job: usize,
    /// The worker who answered.
    pub worker: usize,
    /// The result.
    pub output: u64,
}

/// A job's accepted result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completed {
    /// The job.
    pub job: usize,
    /// The worker whose answer was accepted.
    pub worker: usize,
    /// The result.
    pub output: u64,
}

/// What one `collect` saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The first answer for `job`: its result is kept.
    Done {
        /// The job.
        job: usize,
        /// Who answered.
        worker: usize,
    },
    /// An answer for a job already done (a late worker): ignored.
    Duplicate {
        /// The job.
        job: usize,
        /// Who answered late.
        worker: usize,
    },
    /// `worker` did not answer `job` in time: the job is back in the queue.
    TimedOut {
        /// The job.
        job: usize,
        /// The silent worker.
        worker: usize,
    },
}

/// What the master knows about one worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkerState {
    /// No job: may be given one.
    Idle,
    /// Working on `job`, which must be answered by `deadline`.
    Busy {
        /// The job handed to it.
        job: usize,
        /// When the master stops waiting for it.
        deadline: Instant,
    },
    /// Missed the deadline of `job`; gets no new job until it answers.
    Silent {
        /// The job it did not answer in time (handed to someone else since).
        job: usize,
    },
}

/// The master's end of the pool.
#[derive(Debug)]
pub struct Master {
    timeout: Duration,
    /// One job channel per worker; dropping them tells the workers to stop.
    jobs: Vec<Sender<Job>>,
    results: Receiver<Answer>,
    /// Jobs waiting to be handed out, the next one first.
    queue: VecDeque<Job>,
    /// One entry per worker.
    workers: Vec<WorkerState>,
    /// `inputs[j]`: the input of job `j`.
    inputs: Vec<u64>,
    /// `done[j]`: job `j` has an accepted result.
    done: Vec<bool>,
    /// Accepted results, in the order they were accepted.
    completed: Vec<Completed>,
}

/// A worker's end of the pool.
#[derive(Debug)]
pub struct Worker {
    id: usize,
    jobs: Receiver<Job>,
    results: Sender<Answer>,
}

/// The master is gone: nobody will read this answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MasterGone;

impl fmt::Display for MasterGone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the master is gone")
    }
}

impl std::error::Error for MasterGone {}

/// A master and `workers` workers (numbered from 0); the master waits `timeout` for each
/// answer.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use messages::workers::pool;
///
/// let (master, workers) = pool(2, Duration::from_secs(5));
/// let threads: Vec<_> = workers
///     .into_iter()
///     .map(|w| {
///         std::thread::spawn(move || {
///             while let Some(job) = w.next_job() {
///                 if w.answer(&job, job.input * job.input).is_err() {
///                     break;
///                 }
///             }
///         })
///     })
///     .collect();
/// let mut results = master.run(&[3, 4, 5]);
/// results.sort_by_key(|c| c.job);
/// let outputs: Vec<u64> = results.iter().map(|c| c.output).collect();
/// assert_eq!(outputs, [9, 16, 25]);
/// for t in threads {
///     t.join().unwrap();
/// }
/// ```
pub fn pool(workers: usize, timeout: Duration) -> (Master, Vec<Worker>) {
    let (results_tx, results_rx) = unbounded();
    let mut jobs = Vec::new();
    let mut handles = Vec::new();
    for id in 0..workers {
        // The master hands a job only to an idle worker: one slot is enough, and a
        // dispatch never waits.
        let (tx, rx) = bounded(1);
        jobs.push(tx);
        handles.push(Worker {
            id,
            jobs: rx,
            results: results_tx.clone(),
        });
    }
    let master = Master {
        timeout,
        jobs,
        results: results_rx,
        queue: VecDeque::new(),
        workers: vec![WorkerState::Idle; workers],
        inputs: Vec::new(),
        done: Vec::new(),
        completed: Vec::new(),
    };
    (master, handles)
}

impl Worker {
    /// The worker's number.
    pub fn id(&self) -> usize {
        self.id
    }

    /// Waits for the next job; `None` once the master is gone.
    pub fn next_job(&self) -> Option<Job> {
        self.jobs.recv().ok()
    }

    /// Sends the result of `job` to the master.
    ///
    /// # Errors
    ///
    /// [`MasterGone`] if the master has finished (a late answer nobody will read).
    pub fn answer(&self, job: &Job, output: u64) -> Result<(), MasterGone> {
        let answer = Answer {
            job: job.id,
            worker: self.id,
            output,
        };
        self.results.send(answer).map_err(|_| MasterGone)
    }
}

impl Master {
    /// Adds jobs with these inputs to the queue (numbered after the jobs already
    /// submitted); returns their numbers.
    pub fn submit(&mut self, inputs: &[u64]) -> Vec<usize> {
        let first = self.done.len();
        for (i, &input) in inputs.iter().enumerate() {
            self.queue.push_back(Job {
                id: first + i,
                input,
            });
            self.inputs.push(input);
            self.done.push(false);
        }
        (first..self.done.len()).collect()
    }

    /// Hands queued jobs, oldest first, to idle workers, lowest number first. Never
    /// blocks. Returns `(job, worker)` for each job handed out.
    ///
    /// # Panics
    ///
    /// If a worker is gone while the master thinks it idle.
    pub fn dispatch(&mut self) -> Vec<(usize, usize)> {
        let mut handed = Vec::new();
        for w in 0..self.workers.len() {
            if self.workers[w] != WorkerState::Idle {
                continue;
            }
            let Some(job) = self.queue.pop_front() else {
                break;
            };
            self.jobs[w]
                .send(job)
                .unwrap_or_else(|_| panic!("worker {w} is gone"));
            self.workers[w] = WorkerState::Busy {
                job: job.id,
                deadline: Instant::now() + self.timeout,
            };
            handed.push((job.id, w));
        }
        handed
    }

    /// Waits for one event: an answer, or the earliest deadline passing. Returns `None`
    /// at once if no worker has a job (nothing to wait for).
    ///
    /// # Panics
    ///
    /// If every worker is gone while jobs are out.
    pub fn collect(&mut self) -> Option<Event> {
        if self.workers.iter().all(|w| *w == WorkerState::Idle) {
            return None;
        }
        // TODO: this waits for an answer however long it takes: one worker that stops
        // answering stalls the whole master. Wait only until the earliest deadline of
        // the `Busy` workers (`recv_timeout`); when it passes, mark that worker `Silent`,
        // put its job back at the front of the queue and return `Event::TimedOut`.
        let answer = self.results.recv().expect("every worker is gone");
        Some(self.accept(answer))
    }

    fn accept(&mut self, answer: Answer) -> Event {
        let Answer {
            job,
            worker,
            output,
        } = answer;
        // Whatever it answered, the worker is free again.
        self.workers[worker] = WorkerState::Idle;
        // TODO: once a job can be handed out twice, two answers can come for it, and
        // only the first may count (the others are `Event::Duplicate`).
        self.done[job] = true;
        // A job that timed out may still be waiting in the queue: it is done now.
        self.queue.retain(|j| j.id != job);
        self.completed.push(Completed {
            job,
            worker,
            output,
        });
        Event::Done { job, worker }
    }

    /// True when every submitted job has an accepted result.
    pub fn is_done(&self) -> bool {
        self.done.iter().all(|&d| d)
    }

    /// What the master knows about `worker`.
    ///
    /// # Panics
    ///
    /// If there is no such worker.
    pub fn state(&self, worker: usize) -> WorkerState {
        self.workers[worker]
    }

    /// Ends the master and returns the accepted results, in the order they were
    /// accepted. Dropping the master closes every channel: waiting workers get `None`,
    /// late answers fail.
    pub fn finish(self) -> Vec<Completed> {
        self.completed
    }

    /// Runs `inputs` through the workers: dispatch, collect, until every job is done;
    /// then finishes.
    ///
    /// # Panics
    ///
    /// If jobs remain but no worker has one (no worker at all).
    pub fn run(mut self, inputs: &[u64]) -> Vec<Completed> {
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
