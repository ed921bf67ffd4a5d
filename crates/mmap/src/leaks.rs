//! What a demo binary checks before it exits: no child left unreaped, no descriptor left
//! open, no shared mapping left mapped. The tests read its last line.

use std::fs;

/// The descriptors open in this process, as `fd -> target` (`/proc/self/fd`), without the
/// one used to list them.
pub fn open_fds() -> Vec<String> {
    let Ok(dir) = fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let mut fds: Vec<(i32, String)> = dir
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd: i32 = entry.file_name().to_str()?.parse().ok()?;
            let target = fs::read_link(entry.path()).ok()?;
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect();
    fds.sort();
    // The directory stream itself is open while we list: it shows up as /proc/<pid>/fd.
    fds.into_iter()
        .filter(|(_, target)| !target.ends_with("/fd"))
        .map(|(fd, target)| format!("{fd} -> {target}"))
        .collect()
}

/// The pids of this process's children that still exist (running or zombie), from
/// `/proc/self/task/*/children`.
pub fn children() -> Vec<i32> {
    let mut pids = Vec::new();
    if let Ok(tasks) = fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(text) = fs::read_to_string(task.path().join("children")) {
                pids.extend(
                    text.split_whitespace()
                        .filter_map(|p| p.parse::<i32>().ok()),
                );
            }
        }
    }
    pids
}

/// The shared mappings of this process (lines of `/proc/self/maps` whose permissions end
/// in `s`, such as the `/dev/zero (deleted)` behind an anonymous shared mapping), without
/// their addresses.
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

/// What a demo records when it starts, to compare with at the end.
#[derive(Debug, Clone)]
pub struct Baseline {
    fds: Vec<String>,
    shared: Vec<String>,
}

/// Records the descriptors and shared mappings open now.
pub fn baseline() -> Baseline {
    Baseline {
        fds: open_fds(),
        shared: shared_mappings(),
    }
}

/// The demo's closing check: a line for the output (`no child left behind, no descriptor or
/// mapping leaked`), or a description of what leaked. Returns whether everything was clean.
pub fn check(baseline: &Baseline) -> (bool, String) {
    let children = children();
    let fds = open_fds();
    let extra_fds: Vec<&String> = fds.iter().filter(|fd| !baseline.fds.contains(fd)).collect();
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
