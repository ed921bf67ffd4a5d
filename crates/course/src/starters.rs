//! The pristine starters, embedded at build time by build.rs (for `reset`).

/// One embedded starter: its path under `exercises/` (with `/` separators), its contents.
pub type Starter = (&'static str, &'static [u8]);
/// One embedded course: its `[course] title` and its starters.
pub type Course = (&'static str, &'static [Starter]);

include!(concat!(env!("OUT_DIR"), "/starters.rs"));

/// The embedded starter `key` (`<dir>/<file>`) of the course titled `title`.
pub fn find(title: &str, key: &str) -> Option<&'static [u8]> {
    COURSES
        .iter()
        .find(|(t, _)| *t == title)?
        .1
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, bytes)| *bytes)
}

/// Whether this runner was built with the starters of the course titled `title`.
pub fn has_course(title: &str) -> bool {
    COURSES.iter().any(|(t, _)| *t == title)
}
