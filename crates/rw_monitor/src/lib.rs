//! Readers and writers: many readers may be inside at once, a writer only alone.
//!
//! Every step implements the same API and the same policy (from `readerwriter_2` in the
//! source notes) with a different tool:
//!
//! - [`hoare`]: the textbook monitor ([`interleave::monitor`]) under Hoare semantics;
//! - [`mesa`]: a mutex and condition variables ([`interleave::sync`]), Mesa semantics;
//! - [`busy_wait`]: the notes' first attempt, `readerwriter_1`, which spins inside the
//!   monitor, rewritten with conditions.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/04_rw_monitor/hoare.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/04_rw_monitor/hoare.rs"
)]
pub mod hoare;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/04_rw_monitor/mesa.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/04_rw_monitor/mesa.rs"
)]
pub mod mesa;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/04_rw_monitor/busy_wait.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/04_rw_monitor/busy_wait.rs"
)]
pub mod busy_wait;

/// The operations every step's `ReadersWriters` offers, so that tests, demos and the
/// benchmark can drive any of them.
pub trait RwMonitor: Send + Sync {
    /// Blocks until the caller may read, then counts it among the readers inside.
    fn start_read(&self);
    /// The caller stops reading.
    fn finish_read(&self);
    /// Blocks until the caller may write alone, then lets it in.
    fn start_write(&self);
    /// The caller stops writing.
    fn finish_write(&self);
}

macro_rules! impl_rw_monitor {
    ($($step:ident),*) => {$(
        impl RwMonitor for $step::ReadersWriters {
            fn start_read(&self) {
                $step::ReadersWriters::start_read(self)
            }
            fn finish_read(&self) {
                $step::ReadersWriters::finish_read(self)
            }
            fn start_write(&self) {
                $step::ReadersWriters::start_write(self)
            }
            fn finish_write(&self) {
                $step::ReadersWriters::finish_write(self)
            }
        }
    )*};
}

impl_rw_monitor!(hoare, mesa, busy_wait);
