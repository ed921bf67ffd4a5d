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
