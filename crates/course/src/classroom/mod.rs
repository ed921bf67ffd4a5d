//! The classroom kit: hand out topics without the answers, grade submissions against the
//! teacher's pristine course, and speak GitHub Classroom's and Gradescope's formats.
//!
//! - [`handout`]: `cargo course handout`, the students' repository, and `verify` there;
//! - [`workflow`]: its GitHub Classroom workflow;
//! - [`grade`]: `cargo course grade`, with [`submission`] (what is taken from a submission),
//!   [`evidence`] (what a pass must prove) and [`scan`] (what a file must not use);
//! - [`gradescope`]: `cargo course gradescope`, the autograder bundle, with [`zip`].

pub mod evidence;
pub mod grade;
pub mod gradescope;
pub mod handout;
pub mod scan;
pub mod submission;
pub mod workflow;
pub mod zip;
