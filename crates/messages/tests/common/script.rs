//! Scenarios judged against a stored table (a snapshot file), for the designs written in the
//! tests and for the checks shared by a step's own test: the step's own test compares with
//! `interleave::assert_table!`, which also maintains the snapshot file.

#![allow(dead_code)]

use interleave::scenario::{Scenario, Table};

/// The table of a snapshot file: the text after its header.
pub fn stored_table(snap: &str) -> &str {
    snap.splitn(3, "---\n").nth(2).unwrap_or(snap).trim_end()
}

/// A scenario run and judged: `explain` may name a difference in the topic's words (it
/// sees the table, which may have stopped early), then the table must be `snap`'s.
pub trait Checked {
    /// Runs the scenario, lets `explain` speak, and compares the table with the one stored
    /// in `snap` (the text of a snapshot file), explaining the first difference.
    ///
    /// # Panics
    ///
    /// When `explain` does, or when the tables differ.
    fn check(self, snap: &str, explain: impl Fn(&Table)) -> Table;
}

impl<T: 'static> Checked for Scenario<T> {
    fn check(self, snap: &str, explain: impl Fn(&Table)) -> Table {
        let table = self.run();
        explain(&table);
        if let Some(report) = table.explain_difference(stored_table(snap)) {
            panic!("{report}");
        }
        table
    }
}
