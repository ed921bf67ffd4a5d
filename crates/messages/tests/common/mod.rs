//! Test-side helpers shared by the step tests of this topic.

pub mod script;
pub mod text;
