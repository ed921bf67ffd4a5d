//! mmap topic: files used like memory, and memory shared between processes.
//!
//! The steps, in order:
//! - [`file`](mod@file): count the lines of a file through a read-only mapping;
//! - [`private_vs_shared`]: writes through `MAP_PRIVATE` stay in the process, writes through
//!   `MAP_SHARED` reach the file;
//! - [`shared_counter`]: two processes add to one counter in an anonymous shared mapping;
//! - [`ring`]: a single-producer single-consumer ring buffer in shared memory.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`, or the
//! reference in `solutions/` when the crate is built with `--features solution`. The other
//! modules are the support the student does not write: safe wrappers around `mmap`
//! ([`mapping`], [`shm`]), the error type ([`error`]), the `read()`-based line counter that
//! the mapping is compared with ([`lines`]), the two-process race of `shared_counter`
//! ([`race`]), the waiting policy of the ring ([`wait`]) and
//! the blocking transfers built on it ([`ring_io`]), and what the demo binaries use to pin a
//! process to a processor ([`cpu`]), to check for leaks ([`leaks`]), to write from a
//! forked child ([`child`]) and to explain a `SIGBUS` ([`fault`]).
//!
//! The benchmark of the chapter is the binary `ipc_bench`:
//! `cargo run --release -p mmap --features solution --bin ipc_bench -- --total 64M`.

pub mod child;
pub mod cpu;
pub mod error;
pub mod fault;
pub mod leaks;
pub mod lines;
pub mod mapping;
pub mod race;
pub mod ring_io;
pub mod shm;
pub mod wait;

#[cfg_attr(not(feature = "solution"), path = "../../../exercises/11_mmap/file.rs")]
#[cfg_attr(feature = "solution", path = "../../../solutions/11_mmap/file.rs")]
pub mod file;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/11_mmap/private_vs_shared.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/11_mmap/private_vs_shared.rs"
)]
pub mod private_vs_shared;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/11_mmap/shared_counter.rs"
)]
#[cfg_attr(
    feature = "solution",
    path = "../../../solutions/11_mmap/shared_counter.rs"
)]
pub mod shared_counter;

#[cfg_attr(not(feature = "solution"), path = "../../../exercises/11_mmap/ring.rs")]
#[cfg_attr(feature = "solution", path = "../../../solutions/11_mmap/ring.rs")]
pub mod ring;
