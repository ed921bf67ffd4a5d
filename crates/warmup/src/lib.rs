//! Warm-up topic: split work across scoped threads.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/00_warmup/scoped_sum.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/00_warmup/scoped_sum.rs"
)]
pub mod scoped_sum;
