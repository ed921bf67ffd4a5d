//! The demos' audit on real children: one not yet waited for is found, running or as a
//! zombie, and is gone from the audit once waited for. The children are started with
//! `std::process::Command` (fork and exec at once), never with a bare fork in the
//! multi-threaded test harness. Other tests of this binary may have children of their
//! own at the same moment, so each test looks only for its own child's pid.

use nix::unistd::Pid;
use proctest::audit::{Audit, unreaped_children};
use std::io::Read;
use std::process::{Command, Stdio};

fn pid_of(child: &std::process::Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).expect("pids fit in i32"))
}

#[test]
fn a_running_child_is_listed_until_it_is_waited_for() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .spawn()
        .expect("cannot start cat");
    let pid = pid_of(&child);
    // `cat` blocks reading its standard input: it is running for sure.
    assert!(unreaped_children().contains(&pid), "{pid} not found");
    drop(child.stdin.take());
    child.wait().expect("cannot wait for cat");
    assert!(!unreaped_children().contains(&pid), "{pid} still listed");
}

#[test]
fn a_zombie_is_listed_and_named_in_the_report() {
    let audit = Audit::start();
    let mut child = Command::new("true")
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start true");
    let pid = pid_of(&child);
    // End of file on its standard output: `true` has exited, and nobody waited for it
    // yet, so it is a zombie now.
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_end(&mut out)
        .expect("cannot read from true");
    assert!(unreaped_children().contains(&pid), "{pid} not found");
    let report = audit.report();
    let children = report
        .lines()
        .find_map(|line| line.strip_prefix("audit: children never waited for: "))
        .unwrap_or_else(|| panic!("no children line in:\n{report}"));
    assert!(
        children.split(", ").any(|p| p == pid.to_string()),
        "{pid} not in {children:?}"
    );
    assert!(
        audit
            .problems()
            .iter()
            .any(|p| p.contains("never waited for") && p.contains(&pid.to_string())),
        "{:?}",
        audit.problems()
    );
    child.wait().expect("cannot wait for true");
    assert!(!unreaped_children().contains(&pid), "{pid} still listed");
}
