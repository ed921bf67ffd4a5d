//! `interleave`: a deterministic scheduler with traced primitives, scenario tables and a
//! schedule explorer, the engine behind the course's thread topics.
#![doc = include_str!("../README.md")]

mod runtime;
mod scheduler;

pub mod channel;
pub mod explore;
pub mod monitor;
pub mod real;
pub mod report;
pub mod scenario;
pub mod sync;
pub mod thread;
pub mod time;
pub mod trace;

pub use explore::{Config, Strategy, explore};
