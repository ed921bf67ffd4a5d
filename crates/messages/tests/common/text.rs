//! Failure messages laid out for the runner, which shows every line of a failure indented.

#![allow(dead_code)]

/// Columns for a failure the runner shows indented by two (a plain panic of the test).
pub const PLAIN: usize = 98;

/// Columns for a failure raised inside a simulation: the runner shows it after `error: `,
/// indented by nine.
pub const IN_SIMULATION: usize = 90;

pub use interleave::report::wrap;
