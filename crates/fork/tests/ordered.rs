//! Checks `fork/ordered`: the children's results come back over pipes and the parent
//! prints them in value order, identically on every run.

mod common;

use common::{assert_rejected, expected_conversions, parse_conversion, redact_pids, run};
use proctest::StdoutTo;

const DEMO: &str = env!("CARGO_BIN_EXE_ordered");

/// Runs `ordered N` and checks it succeeded cleanly; returns its output, pids redacted.
fn run_ordered(count: usize, to: StdoutTo) -> String {
    let arg = count.to_string();
    let run = run(DEMO, &[&arg], to);
    assert!(
        run.status.success() && run.stderr.is_empty(),
        "`ordered {count}` failed ({:?}):\n{}\n{}",
        run.status,
        run.stderr,
        run.stdout
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    let conversions: Vec<(String, String)> = run
        .stdout
        .lines()
        .filter_map(parse_conversion)
        .map(|(f, c, _)| (f, c))
        .collect();
    assert_eq!(
        conversions,
        expected_conversions(count),
        "the parent must print one line per child, in value order:\n{}",
        run.stdout
    );
    redact_pids(&run.stdout)
}

#[test]
fn twenty_runs_print_the_same_lines_in_value_order() {
    let first = run_ordered(6, StdoutTo::Pipe);
    for round in 2..=20 {
        let to = if round % 2 == 0 {
            StdoutTo::File
        } else {
            StdoutTo::Pipe
        };
        let again = run_ordered(6, to);
        assert_eq!(
            again, first,
            "run {round} printed something else than run 1"
        );
    }
    insta::assert_snapshot!("ordered_6", first);
}

#[test]
fn sixty_four_children_in_order_and_nothing_left_open() {
    let out = run_ordered(64, StdoutTo::Pipe);
    assert!(
        out.ends_with("audit: every child waited for, no descriptor left open\n"),
        "{out}"
    );
}

#[test]
fn bad_counts_are_rejected_before_forking() {
    for args in [&["abc"][..], &["0"], &["-3"], &["1000"], &[], &["4", "5"]] {
        assert_rejected(DEMO, args, "1..=64", "fork/ordered");
    }
}

#[test]
fn the_child_calls_only_async_signal_safe_functions_and_leaves_with_exit() {
    let source = proctest::source::Source::read(proctest::step_file!("08_fork/ordered.rs"))
        .unwrap_or_else(|err| panic!("{err}"))
        .allow(&["celsius"]);
    proctest::source::assert_none(&source.fork_children());
}
