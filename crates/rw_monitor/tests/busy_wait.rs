//! Checks `rw_monitor/busy_wait`: the readers-writers policy, its scenarios and explorations.

mod common;

use interleave::explore::{Config, Strategy};
use rw_monitor::busy_wait::ReadersWriters;

#[test]
fn reference_scenario_a_waiting_writer_keeps_new_readers_out() {
    let table = common::writer_waits_for_readers_then_readers_go_first(ReadersWriters::new);
    interleave::assert_table!(table);
}

#[test]
fn waiting_readers_enter_together_before_the_next_writer() {
    let table = common::waiting_readers_enter_together_before_the_next_writer(ReadersWriters::new);
    interleave::assert_table!(table);
}

#[test]
fn never_a_writer_with_anyone_else_under_random_and_pct_schedules() {
    common::explore_readers_and_writers(
        ReadersWriters::new,
        Config::new().iterations(1000),
        2,
        2,
        2,
    );
}

#[test]
fn never_a_writer_with_anyone_else_within_two_delays() {
    common::explore_readers_and_writers(
        ReadersWriters::new,
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        2,
        2,
        1,
    );
}

#[test]
fn several_rounds_of_readers_and_writers() {
    let table = common::several_rounds_of_readers_and_writers(ReadersWriters::new);
    interleave::assert_table!(table);
}

#[test]
fn several_writers_waiting_at_once_follow_the_policy() {
    if let Some(problem) = common::judge_crowds(ReadersWriters::new) {
        panic!("{problem}");
    }
}

/// Three readers and three writers, four readers and one writer, one reader and four
/// writers: several waiters on each side, several rounds.
#[test]
fn never_a_writer_with_anyone_else_with_more_readers_and_writers() {
    for (config, readers, writers, rounds) in common::shapes().into_iter().skip(2) {
        common::explore_readers_and_writers(ReadersWriters::new, config, readers, writers, rounds);
    }
}

/// Under std's condvar contract: a monitor switched to Mesa semantics gets what Mesa
/// semantics really promise (a wake-up for nothing, a signal that wakes any waiter); a
/// Hoare monitor is not affected.
#[test]
fn never_a_writer_with_anyone_else_under_std_condvar_semantics() {
    for (config, crowd) in common::std_contract_shapes() {
        if let Err(failure) = common::check_crowd(ReadersWriters::new, config, crowd) {
            panic!("{failure}");
        }
    }
}

/// Repairs that still poll, as students write them: they leave the monitor between two
/// looks, so the others can get in, but they never wait on a condition.
mod versions {
    use interleave::monitor::{Monitor, Semantics};
    use interleave::thread;
    use std::time::Duration;

    #[derive(Default)]
    pub struct State {
        readers: usize,
        writers: usize,
        busy: bool,
    }

    /// Wrong: polls, yielding the processor between two looks (`SLEEP`: sleeping 1 ms).
    pub struct Polling<const SLEEP: bool> {
        m: Monitor<State>,
    }

    impl<const SLEEP: bool> Polling<SLEEP> {
        pub fn new() -> Self {
            Polling {
                m: Monitor::new(State::default(), Semantics::Hoare),
            }
        }

        fn pause() {
            if SLEEP {
                thread::sleep(Duration::from_millis(1));
            } else {
                thread::yield_now();
            }
        }
    }

    impl<const SLEEP: bool> rw_monitor::RwMonitor for Polling<SLEEP> {
        fn start_read(&self) {
            loop {
                let mut m = self.m.enter();
                if m.writers == 0 {
                    m.readers += 1;
                    return;
                }
                drop(m);
                Self::pause();
            }
        }
        fn finish_read(&self) {
            self.m.enter().readers -= 1;
        }
        fn start_write(&self) {
            self.m.enter().writers += 1;
            loop {
                let mut m = self.m.enter();
                if !m.busy && m.readers == 0 {
                    m.busy = true;
                    return;
                }
                drop(m);
                Self::pause();
            }
        }
        fn finish_write(&self) {
            let mut m = self.m.enter();
            m.writers -= 1;
            m.busy = false;
        }
    }
}

#[test]
fn the_checks_catch_polling_outside_the_monitor() {
    // W1 polls for the readers to leave, and the scenario's step budget stops it.
    let first = "reference_scenario_a_waiting_writer_keeps_new_readers_out";
    assert_eq!(
        common::tables(versions::Polling::<false>::new),
        Some((first, 2))
    );
    assert_eq!(
        common::tables(versions::Polling::<true>::new),
        Some((first, 2))
    );
}
