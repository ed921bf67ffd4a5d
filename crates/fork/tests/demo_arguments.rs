//! Every demo of the topic parses its command line like the others (proctest::args):
//! `--help` exits with 0, bad input is a usage error with exit status 2, and every line of
//! the help and of each usage error fits in 100 columns.

use proctest::args::assert_conventions;

#[test]
fn every_demo_answers_help_and_rejects_bad_arguments() {
    for demo in [
        env!("CARGO_BIN_EXE_temperatures"),
        env!("CARGO_BIN_EXE_ordered"),
        env!("CARGO_BIN_EXE_reap"),
    ] {
        assert_conventions(
            demo,
            &[
                &[],
                &["--bogus"],
                &["4", "--bogus"],
                &["99999999999"],
                &["0"],
                &["-3"],
                &["abc"],
            ],
        );
    }
    assert_conventions(
        env!("CARGO_BIN_EXE_reap"),
        &[
            &["4", "--fail"],
            &["4", "--kill", "9"],
            &["4", "--slow", "abc"],
            &["4", "--stopped", "0"],
            &["4", "--interrupt"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_temperatures"),
        &[
            &["4", "--fork-fails-after"],
            &["4", "--fork-fails-after", "4"],
            &["4", "--fork-fails-after", "abc"],
            &["4", "--fork-fails", "--fork-fails-after", "1"],
            &["4", "--report", "--bogus"],
            &["--count-writes"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_ordered"),
        &[
            &["4", "--slow"],
            &["4", "--crash", "9"],
            &["4", "--fail-at-exit", "1"],
            &["4", "--stopped", "9"],
            &["4", "--descending", "--bogus"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_memory"),
        &[
            &["--bogus"],
            &["1"],
            &["1", "99999999999999999999999"],
            &["abc", "def"],
            &["-3", "4"],
            &["1", "1"],
            &["1", "2", "3"],
            &["--child-stops", "--fail-at-exit"],
            &["--report-lost", "--fail-at-exit"],
        ],
    );
}
