//! What a demo binary checks before it exits: no child left unreaped, no descriptor left
//! open, no shared mapping left mapped. The tests read its last line.
//!
//! Children and descriptors are checked by [`proctest::audit`], as in the other process
//! topics; what this topic adds is the shared mappings, read from `/proc/self/maps`.

use proctest::audit::{Audit, unreaped_children};
use std::fs;
use std::process::ExitCode;

/// The shared mappings of this process (lines of `/proc/self/maps` whose permissions end
/// in `s`), as their permissions and the first word of their path, without addresses: the
/// `/dev/zero (deleted)` behind an anonymous shared mapping shows as `rw-s /dev/zero`.
pub fn shared_mappings() -> Vec<String> {
    let Ok(maps) = fs::read_to_string("/proc/self/maps") else {
        return Vec::new();
    };
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _range = fields.next()?;
            let perms = fields.next()?;
            let path = fields.nth(3).unwrap_or("[anonymous]");
            perms.ends_with('s').then(|| format!("{perms} {path}"))
        })
        .collect()
}

/// What a demo records when it starts, to compare with at the end: the descriptors open
/// (in an [`Audit`]) and the shared mappings.
#[derive(Debug)]
pub struct Baseline {
    audit: Audit,
    shared: Vec<String>,
}

/// Records the descriptors and shared mappings open now.
pub fn baseline() -> Baseline {
    Baseline {
        audit: Audit::start(),
        shared: shared_mappings(),
    }
}

/// The demo's closing check: a line for the output (`no child left behind, no descriptor or
/// mapping leaked`), or a description of what leaked. Returns whether everything was clean.
pub fn check(baseline: &Baseline) -> (bool, String) {
    let children: Vec<i32> = unreaped_children().iter().map(|pid| pid.as_raw()).collect();
    let extra_fds: Vec<String> = baseline
        .audit
        .leaked_fds()
        .iter()
        .map(ToString::to_string)
        .collect();
    // Each mapping of the baseline accounts for one identical line now (two anonymous
    // shared mappings print the same line).
    let mut extra_maps = shared_mappings();
    for old in &baseline.shared {
        if let Some(i) = extra_maps.iter().position(|m| m == old) {
            extra_maps.remove(i);
        }
    }
    if children.is_empty() && extra_fds.is_empty() && extra_maps.is_empty() {
        (
            true,
            "no child left behind, no descriptor or mapping leaked".to_owned(),
        )
    } else {
        (
            false,
            format!(
                "leak: children never waited for: {children:?}; descriptors opened and not \
                 closed: {extra_fds:?}; shared mappings never unmapped: {extra_maps:?}"
            ),
        )
    }
}

/// Ends a demo that ran to completion: prints the line of [`check`] on standard output
/// and returns the exit code, success when nothing leaked and failure otherwise.
pub fn finish(baseline: &Baseline) -> ExitCode {
    let (clean, line) = check(baseline);
    println!("{line}");
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    //! The only unit test of this crate, so that nothing else opens or maps anything in
    //! this process while it compares with its baseline.

    use super::{baseline, check};
    use crate::shm::SharedMemory;
    use std::sync::atomic::AtomicU64;

    const CLEAN: &str = "no child left behind, no descriptor or mapping leaked";

    #[test]
    fn the_closing_check_names_a_descriptor_and_a_shared_mapping_left_open() {
        let start = baseline();
        assert_eq!(check(&start), (true, CLEAN.to_owned()));

        let file = std::fs::File::open("/dev/null").expect("open /dev/null");
        let counter = SharedMemory::<AtomicU64>::new().expect("an anonymous shared mapping");
        let (clean, line) = check(&start);
        assert!(!clean, "a descriptor and a mapping leaked: {line}");
        assert!(
            line.starts_with(
                "leak: children never waited for: []; descriptors opened and not closed: [\""
            ) && line
                .contains(" -> /dev/null\"]; shared mappings never unmapped: [\"rw-s /dev/zero\"]"),
            "{line}"
        );

        drop(file);
        drop(counter);
        assert_eq!(check(&start), (true, CLEAN.to_owned()));
    }
}
