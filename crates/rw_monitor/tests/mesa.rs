//! Checks `rw_monitor/mesa`: the readers-writers policy, its scenarios and explorations.

mod common;

use interleave::explore::{Config, Strategy};
use rw_monitor::mesa::ReadersWriters;

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

/// The notes' `readerwriter_2` ported to a mutex and condition variables with its `if`s
/// kept: correct under Hoare semantics, broken under Mesa's.
mod ported_with_ifs {
    use interleave::sync::{Condvar, Mutex};

    #[derive(Default)]
    struct State {
        readers: usize,
        busy: bool,
        waiting_readers: usize,
        waiting_writers: usize,
    }

    pub struct IfMonitor {
        state: Mutex<State>,
        ok_to_read: Condvar,
        ok_to_write: Condvar,
    }

    impl IfMonitor {
        pub fn new() -> Self {
            IfMonitor {
                state: Mutex::named("readers_writers", State::default()),
                ok_to_read: Condvar::named("ok_to_read"),
                ok_to_write: Condvar::named("ok_to_write"),
            }
        }
    }

    impl rw_monitor::RwMonitor for IfMonitor {
        fn start_read(&self) {
            let mut s = self.state.lock();
            if s.busy || s.waiting_writers > 0 {
                s.waiting_readers += 1;
                self.ok_to_read.wait(&mut s);
                s.waiting_readers -= 1;
            }
            s.readers += 1;
            self.ok_to_read.notify_one();
        }
        fn finish_read(&self) {
            let mut s = self.state.lock();
            s.readers -= 1;
            if s.readers == 0 {
                self.ok_to_write.notify_one();
            }
        }
        fn start_write(&self) {
            let mut s = self.state.lock();
            if s.readers != 0 || s.busy {
                s.waiting_writers += 1;
                self.ok_to_write.wait(&mut s);
                s.waiting_writers -= 1;
            }
            s.busy = true;
        }
        fn finish_write(&self) {
            let mut s = self.state.lock();
            s.busy = false;
            if s.waiting_readers > 0 {
                self.ok_to_read.notify_one();
            } else {
                self.ok_to_write.notify_one();
            }
        }
    }
}

#[test]
fn the_explorer_finds_the_barging_writer_that_breaks_the_ifs() {
    let failure = common::check_readers_and_writers(
        ported_with_ifs::IfMonitor::new,
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        2,
        2,
        1,
    )
    .expect_err("the `if` version must fail under Mesa semantics");
    assert!(
        failure
            .message
            .contains("never a writer together with anyone else inside"),
        "{failure}"
    );
    insta::assert_snapshot!(failure.trace.api_only().timeline());
}
