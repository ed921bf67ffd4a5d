//! `messages/workers` on real threads: every job is done once.
use crate::common::within;
use messages::workers::pool;
use std::time::Duration;

#[test]
fn the_pool_does_every_job_on_real_threads() {
    within("a master and 4 workers, 200 jobs", || {
        let (master, workers) = pool(4, Duration::from_secs(10));
        let threads: Vec<_> = workers
            .into_iter()
            .map(|w| {
                std::thread::spawn(move || {
                    while let Some(job) = w.next_job() {
                        if w.answer(&job, job.input * 2).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        let inputs: Vec<u64> = (0..200).collect();
        let mut done = master.run(&inputs);
        done.sort_by_key(|c| c.job);
        assert_eq!(done.iter().map(|c| c.output).collect::<Vec<_>>(), inputs.iter().map(|x| x * 2).collect::<Vec<_>>());
        for t in threads {
            t.join().unwrap();
        }
    });
}
