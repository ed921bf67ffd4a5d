//! `interleave`: a deterministic scheduler with traced primitives, scenario tables and a
//! schedule explorer, the engine behind the course's thread topics.
#![doc = include_str!("../README.md")]

mod escape;
mod runtime;
mod scheduler;
mod site;
mod text;

pub mod cell;
pub mod channel;
pub mod explore;
pub mod monitor;
pub mod real;
pub mod report;
pub mod scenario;
pub mod semaphore;
pub mod sync;
pub mod thread;
pub mod time;
pub mod trace;

pub use explore::{Config, Strategy, explore};

/// Asserts that a scenario [`Table`](scenario::Table) is its snapshot, and explains a
/// difference to the student: the expected table and theirs interleaved with the first
/// differing step marked, the step's [`rule`](scenario::Scenario::rule), what their code
/// did at that step, and the replay line.
///
/// The snapshot is insta's file, found as `insta::assert_snapshot!(table.to_string())`
/// finds it (`tests/snapshots/<test file>__<test name>.snap`, `-2`, `-3`... for later
/// assertions in the same test). When there is no snapshot yet, or a maintainer asks for
/// an update (`INSTA_UPDATE=always`, `cargo insta test`...), insta itself takes over, so
/// snapshot files keep their format; the calling crate needs `insta` among its
/// dev-dependencies. With `INSTA_UPDATE=no` (CI) a difference fails, as it does by
/// default: a student's table is never written as a new snapshot.
///
/// ```ignore
/// let table = Scenario::new(Tunnel::new)
///     .call("N1", "arrive(North)", |t| t.arrive(North))
///     .call("S1", "arrive(South)", |t| t.arrive(South))
///     .rule("a car waits while cars of the other direction are inside")
///     .run();
/// interleave::assert_table!(table);
/// ```
#[macro_export]
macro_rules! assert_table {
    ($table:expr $(,)?) => {{
        let __table: &$crate::scenario::Table = &$table;
        let __site = $crate::__snapshot_site!();
        match $crate::scenario::check_snapshot(__table, &__site) {
            $crate::scenario::Outcome::Pass => {}
            $crate::scenario::Outcome::Delegate(__name) => {
                let __text = __table.to_string();
                ::insta::assert_snapshot!(
                    __name.as_str(),
                    __text,
                    ::std::concat!(::std::stringify!($table), ".to_string()")
                );
            }
            $crate::scenario::Outcome::Fail(__report) => $crate::scenario::fail(__report),
        }
    }};
}

/// Where a snapshot assertion stands: the test file, module and function (used by
/// [`assert_table!`]).
#[doc(hidden)]
#[macro_export]
macro_rules! __snapshot_site {
    () => {{
        fn f() {}
        fn __type_name_of<T>(_: T) -> &'static str {
            ::std::any::type_name::<T>()
        }
        $crate::scenario::Site {
            file: ::std::file!(),
            module_path: ::std::module_path!(),
            function: $crate::scenario::function_name(__type_name_of(f)),
            manifest_dir: ::std::env!("CARGO_MANIFEST_DIR"),
        }
    }};
}

/// What a student's file uses that a simulation cannot see (std's or parking_lot's threads,
/// locks, atomics, channels, clocks), as the report a simulation gives when such a file
/// spawns a thread; `None` when it uses none. `file` names the file in the report;
/// `source` is its text. For tools that explain a failing check (the course runner): a
/// table that differs because of `std::time::Instant` is explained by this, not by the
/// table. A file whose code (not its comments or strings) never names `interleave` is not
/// simulated, and gets `None`: a process step's `std::sync::atomic` is what it should use.
pub fn escape_report(file: &str, source: &str) -> Option<String> {
    let masked: String = site::mask(source).into_iter().collect();
    if !masked.contains("interleave") {
        return None;
    }
    escape::report(file, &escape::find(&masked))
}
