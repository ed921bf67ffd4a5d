//! Checks `fork/memory`: after fork, the child's variable is at the same virtual address
//! as the parent's, but it is a separate copy.

mod common;

use common::{WATCHDOG, diagnose, redact_pids};
use proctest::Demo;

const DEMO: &str = env!("CARGO_BIN_EXE_memory");

/// A view line `child  (pid 4243): x = 200 at 0x7ffc...` → `(pid, value, address)`.
fn parse_view(line: &str) -> Option<(i32, u64, String)> {
    let rest = line.split_once("(pid ")?.1;
    let (pid, rest) = rest.split_once("): x = ")?;
    let (value, address) = rest.split_once(" at ")?;
    Some((pid.parse().ok()?, value.parse().ok()?, address.to_owned()))
}

fn run_memory(args: &[&str]) -> proctest::Finished {
    Demo::new(DEMO)
        .args(args)
        .timeout(WATCHDOG)
        .run()
        .unwrap_or_else(|hang| panic!("{}", proctest::verdict(&hang, &diagnose(&hang))))
}

fn check_copy(initial: u64, changed: u64, args: &[&str]) -> String {
    let run = run_memory(args);
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "`memory {}` failed ({:?}):\n{}\n{}",
        args.join(" "),
        run.status,
        run.stderr,
        run.stdout
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    let view = |who: &str| {
        run.stdout
            .lines()
            .find(|l| l.starts_with(who))
            .and_then(parse_view)
            .unwrap_or_else(|| panic!("no `{who} (pid N): x = V at 0x...` line:\n{}", run.stdout))
    };
    let (child_pid, child_value, child_address) = view("child ");
    let (parent_pid, parent_value, parent_address) = view("parent ");
    assert_ne!(
        child_pid, parent_pid,
        "two processes report:\n{}",
        run.stdout
    );
    assert_eq!(
        child_value, changed,
        "the child set its x to {changed}, yet its view says {child_value}: that view was \
         read by the parent from its own copy. The child must send its own value (and \
         address) back through a pipe.\n{}",
        run.stdout
    );
    assert_eq!(
        parent_value, initial,
        "the parent never changed its x: it must still read {initial}, since the child \
         changed only its own copy.\n{}",
        run.stdout
    );
    assert!(
        child_address.starts_with("0x") && child_address == parent_address,
        "the child's x and the parent's x are at the same virtual address (fork copies the \
         address space as it is): {child_address} vs {parent_address}\n{}",
        run.stdout
    );
    let mut text = redact_pids(&run.stdout);
    text = text.replace(&child_address, "[ADDR]");
    text
}

#[test]
fn same_virtual_address_different_values() {
    let text = check_copy(100, 200, &[]);
    insta::assert_snapshot!("memory_default", text);
}

#[test]
fn same_address_different_values_for_other_numbers() {
    check_copy(7, u64::MAX, &["7", "18446744073709551615"]);
    check_copy(1, 0, &["1", "0"]);
}

#[test]
fn bad_arguments_are_rejected_before_forking() {
    for args in [
        &["abc", "1"][..],
        &["1"],
        &["-3", "4"],
        &["5", "5"],
        &["1", "2", "3"],
    ] {
        let run = run_memory(args);
        assert_eq!(run.code(), Some(2), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("usage: memory [INITIAL CHANGED]")
                && run.stderr.contains("fork/memory"),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(run.stdout, "", "{args:?}");
    }
}

#[test]
fn the_child_calls_only_async_signal_safe_functions_and_leaves_with_exit() {
    let source = proctest::source::Source::read(proctest::step_file!("08_fork/memory.rs"))
        .unwrap_or_else(|err| panic!("{err}"));
    proctest::source::assert_none(&source.fork_children());
}
