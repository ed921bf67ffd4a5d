//! Checks `rw_monitor/hoare`: the readers-writers policy, its scenarios and explorations.

mod common;

use interleave::explore::{Config, Strategy};
use rw_monitor::hoare::ReadersWriters;

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

/// Monitors written as students do, on the Hoare monitor, to show what the checks catch
/// and what they accept.
mod versions {
    use interleave::monitor::{Condition, Monitor, Semantics};
    use std::marker::PhantomData;

    #[derive(Default)]
    pub struct State {
        readers: usize,
        busy: bool,
    }

    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// Right: the leaving writer broadcasts `ok_to_read` instead of the readers'
        /// cascade.
        BroadcastReaders,
        /// Wrong: no cascade, a leaving writer lets one reader in.
        NoCascade,
        /// Wrong: readers only wait while a writer writes (reader preference).
        ReaderPreference,
        /// Wrong: a leaving writer lets a waiting writer in first (writer preference).
        WriterPreference,
        /// Wrong: every leaving reader signals `ok_to_write`, not only the last one.
        EveryReaderSignals,
        /// Wrong: `while` in `start_read`: a reader woken by a leaving writer sees the
        /// next waiting writer and goes back to sleep.
        WhileInStartRead,
        /// Wrong: the last reader broadcasts `ok_to_write`.
        BroadcastWriters,
        /// Wrong: a leaving writer with no reader waiting broadcasts `ok_to_write`.
        WriterBroadcastsWriters,
    }

    pub trait Which: Send + Sync + 'static {
        const KIND: Kind;
    }

    macro_rules! kinds {
        ($($name:ident),*) => {$(
            pub struct $name;
            impl Which for $name {
                const KIND: Kind = Kind::$name;
            }
        )*};
    }
    kinds!(
        BroadcastReaders,
        NoCascade,
        ReaderPreference,
        WriterPreference,
        EveryReaderSignals,
        WhileInStartRead,
        BroadcastWriters,
        WriterBroadcastsWriters
    );

    pub struct Rw<K> {
        m: Monitor<State>,
        ok_to_read: Condition,
        ok_to_write: Condition,
        kind: PhantomData<K>,
    }

    impl<K: Which> Rw<K> {
        pub fn new() -> Self {
            Rw {
                m: Monitor::new(State::default(), Semantics::Hoare),
                ok_to_read: Condition::new(),
                ok_to_write: Condition::new(),
                kind: PhantomData,
            }
        }
    }

    impl<K: Which> rw_monitor::RwMonitor for Rw<K> {
        fn start_read(&self) {
            let mut m = self.m.enter();
            let must_wait = |m: &State, q: bool| match K::KIND {
                Kind::ReaderPreference => m.busy,
                _ => m.busy || q,
            };
            if K::KIND == Kind::WhileInStartRead {
                while must_wait(&m, self.ok_to_write.queue()) {
                    self.ok_to_read.wait(&mut m);
                }
            } else if must_wait(&m, self.ok_to_write.queue()) {
                self.ok_to_read.wait(&mut m);
            }
            m.readers += 1;
            if !matches!(K::KIND, Kind::NoCascade | Kind::BroadcastReaders) {
                self.ok_to_read.signal(&mut m);
            }
        }

        fn finish_read(&self) {
            let mut m = self.m.enter();
            m.readers -= 1;
            if m.readers == 0 || K::KIND == Kind::EveryReaderSignals {
                if K::KIND == Kind::BroadcastWriters {
                    self.ok_to_write.broadcast(&mut m);
                } else {
                    self.ok_to_write.signal(&mut m);
                }
            }
        }

        fn start_write(&self) {
            let mut m = self.m.enter();
            if m.readers != 0 || m.busy {
                self.ok_to_write.wait(&mut m);
            }
            m.busy = true;
        }

        fn finish_write(&self) {
            let mut m = self.m.enter();
            m.busy = false;
            let readers_first = K::KIND != Kind::WriterPreference;
            if readers_first && self.ok_to_read.queue() {
                if K::KIND == Kind::BroadcastReaders {
                    self.ok_to_read.broadcast(&mut m);
                } else {
                    self.ok_to_read.signal(&mut m);
                }
            } else if self.ok_to_write.queue() {
                if K::KIND == Kind::WriterBroadcastsWriters {
                    self.ok_to_write.broadcast(&mut m);
                } else {
                    self.ok_to_write.signal(&mut m);
                }
            } else {
                self.ok_to_read.signal(&mut m);
            }
        }
    }
}

use versions::Rw;

#[test]
fn the_checks_catch_no_cascade_a_preference_early_signals_whiles_and_a_broadcast() {
    use versions::{
        BroadcastWriters, EveryReaderSignals, NoCascade, ReaderPreference, WhileInStartRead,
        WriterPreference,
    };
    let first = "reference_scenario_a_waiting_writer_keeps_new_readers_out";
    let second = "waiting_readers_enter_together_before_the_next_writer";
    assert_eq!(common::tables(Rw::<NoCascade>::new), Some((second, 6)));
    assert_eq!(
        common::tables(Rw::<ReaderPreference>::new),
        Some((first, 3))
    );
    assert_eq!(
        common::tables(Rw::<WriterPreference>::new),
        Some((first, 6))
    );
    assert_eq!(
        common::tables(Rw::<EveryReaderSignals>::new),
        Some((second, 8))
    );
    assert_eq!(
        common::tables(Rw::<WhileInStartRead>::new),
        Some((first, 6))
    );
    assert_eq!(common::tables(Rw::<BroadcastWriters>::new), None);
    let broadcast =
        common::verdict(Rw::<BroadcastWriters>::new).expect("two waiting writers let in together");
    assert!(
        broadcast.contains("exactly one waiting writer enters"),
        "{broadcast}"
    );
    // Only visible with two writers waiting behind the one that leaves.
    let writers = common::verdict(Rw::<versions::WriterBroadcastsWriters>::new)
        .expect("a leaving writer lets two waiting writers in");
    assert!(
        writers
            .contains("exactly one waiting writer enters, but W3 start_write(), W4 start_write()"),
        "{writers}"
    );
}

#[test]
fn broadcasting_to_the_waiting_readers_passes() {
    assert_eq!(common::verdict(Rw::<versions::BroadcastReaders>::new), None);
}

/// What a student with reader preference reads: the step, and the rule it breaks.
#[test]
fn the_failure_names_the_rule_reader_preference_breaks() {
    let table = common::writer_waits_for_readers_then_readers_go_first(
        Rw::<versions::ReaderPreference>::new,
    );
    let expected = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/snapshots/hoare__reference_scenario_a_waiting_writer_keeps_new_readers_out.snap"
    ))
    .expect("the snapshot");
    let expected = expected.splitn(3, "---\n").nth(2).unwrap_or_default();
    let explanation = table
        .explain_difference(expected)
        .expect("the table differs");
    assert!(
        explanation.contains("at step 3")
            && explanation.contains(
                "note: a reader waits while a writer is waiting, even if only readers are"
            ),
        "{explanation}"
    );
}

#[test]
fn readers_admitted_by_a_leaving_writer_enter_before_a_writer_arriving_then() {
    common::admitted_readers_enter_before_a_late_writer(ReadersWriters::new);
}
