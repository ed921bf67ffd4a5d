//! `interleave`: a deterministic scheduler with traced primitives, scenario tables and a
//! schedule explorer, the engine behind the course's thread topics.
#![doc = include_str!("../README.md")]

mod escape;
mod runtime;
mod scheduler;
mod site;

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
