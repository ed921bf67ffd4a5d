//! One-way tunnel topic: a monitor that lets cars of one direction at a time through.
//!
//! Each step is a module whose source file is the student's starter in `exercises/`,
//! or the reference in `solutions/` when the crate is built with `--features solution`.
//! The [`Direction`] type is shared by the steps and is not part of the exercise.

use std::fmt;

/// The direction a car drives through the tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Northbound: enters at the south end.
    North,
    /// Southbound: enters at the north end.
    South,
}

impl Direction {
    /// The other direction.
    pub fn opposite(self) -> Direction {
        match self {
            Direction::North => Direction::South,
            Direction::South => Direction::North,
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::North => "northbound",
            Direction::South => "southbound",
        })
    }
}

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/03_tunnel/basic.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/03_tunnel/basic.rs")]
pub mod basic;

#[cfg_attr(
    not(feature = "solution"),
    path = "../../../exercises/03_tunnel/fair.rs"
)]
#[cfg_attr(feature = "solution", path = "../../../solutions/03_tunnel/fair.rs")]
pub mod fair;
