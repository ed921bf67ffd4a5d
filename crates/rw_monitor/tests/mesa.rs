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

/// More monitors on a mutex and condition variables, written as students do.
mod versions {
    use interleave::sync::{Condvar, Mutex};

    #[derive(Default)]
    pub struct State {
        readers: usize,
        busy: bool,
        waiting_readers: usize,
        waiting_writers: usize,
        read_batch: u64,
        permits: usize,
    }

    /// Wrong: the `if`s turned into `while`s, nothing else: a reader woken by a leaving
    /// writer sees the next waiting writer and sleeps again.
    pub struct PlainWhiles {
        s: Mutex<State>,
        ok_to_read: Condvar,
        ok_to_write: Condvar,
    }
    impl PlainWhiles {
        pub fn new() -> Self {
            PlainWhiles {
                s: Mutex::new(State::default()),
                ok_to_read: Condvar::new(),
                ok_to_write: Condvar::new(),
            }
        }
    }
    impl rw_monitor::RwMonitor for PlainWhiles {
        fn start_read(&self) {
            let mut s = self.s.lock();
            while s.busy || s.waiting_writers > 0 {
                s.waiting_readers += 1;
                self.ok_to_read.wait(&mut s);
                s.waiting_readers -= 1;
            }
            s.readers += 1;
        }
        fn finish_read(&self) {
            let mut s = self.s.lock();
            s.readers -= 1;
            if s.readers == 0 {
                self.ok_to_write.notify_one();
            }
        }
        fn start_write(&self) {
            let mut s = self.s.lock();
            while s.readers != 0 || s.busy {
                s.waiting_writers += 1;
                self.ok_to_write.wait(&mut s);
                s.waiting_writers -= 1;
            }
            s.busy = true;
        }
        fn finish_write(&self) {
            let mut s = self.s.lock();
            s.busy = false;
            if s.waiting_readers > 0 {
                self.ok_to_read.notify_all();
            } else {
                self.ok_to_write.notify_one();
            }
        }
    }

    /// Wrong: a woken reader re-checks only that no writer is inside, and nobody counts
    /// the admitted readers in, so a writer arriving as the last one leaves goes first.
    pub struct RecheckOnlyBusy {
        s: Mutex<State>,
        ok_to_read: Condvar,
        ok_to_write: Condvar,
    }
    impl RecheckOnlyBusy {
        pub fn new() -> Self {
            RecheckOnlyBusy {
                s: Mutex::new(State::default()),
                ok_to_read: Condvar::new(),
                ok_to_write: Condvar::new(),
            }
        }
    }
    impl rw_monitor::RwMonitor for RecheckOnlyBusy {
        fn start_read(&self) {
            let mut s = self.s.lock();
            if s.busy || s.waiting_writers > 0 {
                s.waiting_readers += 1;
                self.ok_to_read.wait(&mut s);
                while s.busy {
                    self.ok_to_read.wait(&mut s);
                }
                s.waiting_readers -= 1;
            }
            s.readers += 1;
        }
        fn finish_read(&self) {
            let mut s = self.s.lock();
            s.readers -= 1;
            if s.readers == 0 {
                self.ok_to_write.notify_one();
            }
        }
        fn start_write(&self) {
            let mut s = self.s.lock();
            s.waiting_writers += 1;
            while s.readers != 0 || s.busy {
                self.ok_to_write.wait(&mut s);
            }
            s.waiting_writers -= 1;
            s.busy = true;
        }
        fn finish_write(&self) {
            let mut s = self.s.lock();
            s.busy = false;
            if s.waiting_readers > 0 {
                self.ok_to_read.notify_all();
            } else {
                self.ok_to_write.notify_one();
            }
        }
    }

    /// Readers admitted by batch (the leaving writer counts them in); writers wait in a
    /// `while` on the state, so a writer arriving between a wake-up and the woken
    /// writer's return may go first. With `notify_one` for the readers, it is wrong.
    pub struct Batches<const NOTIFY_ALL_READERS: bool> {
        s: Mutex<State>,
        ok_to_read: Condvar,
        ok_to_write: Condvar,
    }
    impl<const N: bool> Batches<N> {
        pub fn new() -> Self {
            Batches {
                s: Mutex::new(State::default()),
                ok_to_read: Condvar::new(),
                ok_to_write: Condvar::new(),
            }
        }
    }
    impl<const NOTIFY_ALL_READERS: bool> rw_monitor::RwMonitor for Batches<NOTIFY_ALL_READERS> {
        fn start_read(&self) {
            let mut s = self.s.lock();
            if !s.busy && s.waiting_writers == 0 {
                s.readers += 1;
                return;
            }
            s.waiting_readers += 1;
            let batch = s.read_batch;
            while s.read_batch == batch {
                self.ok_to_read.wait(&mut s);
            }
        }
        fn finish_read(&self) {
            let mut s = self.s.lock();
            s.readers -= 1;
            if s.readers == 0 {
                self.ok_to_write.notify_one();
            }
        }
        fn start_write(&self) {
            let mut s = self.s.lock();
            s.waiting_writers += 1;
            while s.readers != 0 || s.busy {
                self.ok_to_write.wait(&mut s);
            }
            s.waiting_writers -= 1;
            s.busy = true;
        }
        fn finish_write(&self) {
            let mut s = self.s.lock();
            s.busy = false;
            if s.waiting_readers > 0 {
                s.readers += s.waiting_readers;
                s.waiting_readers = 0;
                s.read_batch += 1;
                if NOTIFY_ALL_READERS {
                    self.ok_to_read.notify_all();
                } else {
                    self.ok_to_read.notify_one();
                }
            } else {
                self.ok_to_write.notify_one();
            }
        }
    }

    /// A leaving writer counts the waiting readers in and leaves as many "permits"; a woken
    /// reader enters if a permit is left. Round 5 of outside solutions: a permit is not tied
    /// to the reader it was meant for, so a reader arriving later (behind a waiting writer)
    /// that wakes spuriously before an admitted one takes its place.
    pub struct Permits {
        s: Mutex<State>,
        ok_to_read: Condvar,
        ok_to_write: Condvar,
    }
    impl Permits {
        pub fn new() -> Self {
            Permits {
                s: Mutex::new(State::default()),
                ok_to_read: Condvar::new(),
                ok_to_write: Condvar::new(),
            }
        }
    }
    impl rw_monitor::RwMonitor for Permits {
        fn start_read(&self) {
            let mut s = self.s.lock();
            if !s.busy && s.waiting_writers == 0 {
                s.readers += 1;
                return;
            }
            s.waiting_readers += 1;
            loop {
                self.ok_to_read.wait(&mut s);
                if s.permits > 0 {
                    s.permits -= 1;
                    return;
                }
            }
        }
        fn finish_read(&self) {
            let mut s = self.s.lock();
            s.readers -= 1;
            if s.readers == 0 {
                self.ok_to_write.notify_one();
            }
        }
        fn start_write(&self) {
            let mut s = self.s.lock();
            s.waiting_writers += 1;
            while s.readers != 0 || s.busy {
                self.ok_to_write.wait(&mut s);
            }
            s.waiting_writers -= 1;
            s.busy = true;
        }
        fn finish_write(&self) {
            let mut s = self.s.lock();
            s.busy = false;
            if s.waiting_readers > 0 {
                s.readers += s.waiting_readers;
                s.permits += s.waiting_readers;
                s.waiting_readers = 0;
                self.ok_to_read.notify_all();
            } else {
                self.ok_to_write.notify_one();
            }
        }
    }
}

#[test]
fn the_late_reader_check_catches_permits_any_woken_reader_may_take() {
    let std_contract = Config::new()
        .iterations(1000)
        .condvar(interleave::explore::CondvarSemantics::Std);
    let failure = common::check_a_late_reader_waits_behind_a_waiting_writer(
        versions::Permits::new,
        std_contract.clone(),
    )
    .expect_err("a late reader woken spuriously takes an admitted reader's permit");
    assert!(
        failure
            .message
            .contains("R2 started reading while W2 was waiting")
            && failure
                .message
                .contains("A late reader ahead of a waiting writer.")
            && failure.had_spurious_wakeup(),
        "{failure}"
    );
    // Batches tied to a generation number admit exactly the readers that waited.
    common::check_a_late_reader_waits_behind_a_waiting_writer(
        versions::Batches::<true>::new,
        std_contract,
    )
    .unwrap_or_else(|failure| panic!("{failure}"));
}

#[test]
fn the_checks_catch_plain_whiles_and_a_single_reader_woken() {
    assert_eq!(
        common::tables(versions::PlainWhiles::new),
        Some((
            "reference_scenario_a_waiting_writer_keeps_new_readers_out",
            6
        ))
    );
    assert_eq!(
        common::tables(versions::Batches::<false>::new),
        Some(("waiting_readers_enter_together_before_the_next_writer", 6))
    );
}

#[test]
fn batches_of_readers_with_writers_rechecking_in_a_while_pass() {
    assert_eq!(common::verdict(versions::Batches::<true>::new), None);
}

// std's condvar contract: a Mesa monitor, like a `Condvar` of std (or parking_lot), may
// wake a waiter for nothing (a spurious wake-up), and a signal may wake any one of the
// waiters. The simulation does neither unless asked (`CondvarSemantics::Std`); these
// checks ask, which is what Mesa semantics really promise.

/// The policy's invariant under std's condvar contract.
#[test]
fn never_a_writer_with_anyone_else_under_std_condvar_semantics() {
    for (config, crowd) in common::std_contract_shapes() {
        if let Err(failure) = common::check_crowd(ReadersWriters::new, config, crowd) {
            panic!("{failure}");
        }
    }
}

/// The oracle: with one reader and one writer nobody can barge in, and the notes' `if`s
/// pass every FIFO schedule; under std's contract a spurious wake-up lets the writer
/// in beside the reader.
#[test]
fn the_std_contract_catches_the_ifs_without_a_barging_thread() {
    let std_contract = interleave::explore::CondvarSemantics::Std;
    for config in [
        Config::new().iterations(1000),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        if let Err(f) = common::check_readers_and_writers(
            ported_with_ifs::IfMonitor::new,
            config.clone(),
            1,
            1,
            1,
        ) {
            panic!("FIFO hides the `if`s here:\n{f}");
        }
        let f = common::check_readers_and_writers(
            ported_with_ifs::IfMonitor::new,
            config.condvar(std_contract),
            1,
            1,
            1,
        )
        .expect_err("a spurious wake-up breaks the `if`s");
        assert!(
            f.message
                .contains("never a writer together with anyone else inside"),
            "{f}"
        );
        assert!(f.had_spurious_wakeup(), "{f}");
    }
}

#[test]
fn readers_admitted_by_a_leaving_writer_enter_before_a_writer_arriving_then() {
    common::admitted_readers_enter_before_a_late_writer(ReadersWriters::new);
}

#[test]
fn the_late_writer_check_catches_readers_that_recheck_only_busy() {
    let failure = common::check_admitted_readers_before_a_late_writer(
        versions::RecheckOnlyBusy::new,
        Config::new().iterations(300),
    )
    .expect_err("readers not counted in must let the late writer in first");
    assert!(
        failure
            .message
            .contains("W2 started writing before R1 and R2")
            && failure
                .message
                .contains("A writer ahead of admitted readers."),
        "{failure}"
    );
    for config in [
        Config::new().iterations(300),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        common::check_admitted_readers_before_a_late_writer(versions::Batches::<true>::new, config)
            .unwrap_or_else(|failure| panic!("{failure}"));
    }
}
