//! The convoy bench parses its command line like the demos of the process topics
//! (proctest::args): `--help` exits with 0, bad input is a usage error with exit status 2,
//! and every line of the help and of each usage error fits in 100 columns.

use proctest::args::assert_conventions;

#[test]
fn the_bench_answers_help_and_rejects_bad_arguments() {
    assert_conventions(
        env!("CARGO_BIN_EXE_convoy_bench"),
        &[
            &["--bogus"],
            &["extra"],
            &["--rounds"],
            &["--rounds", "0"],
            &["--rounds", "abc"],
            &["--hold-us", "-3"],
            &["--io-us", "100001"],
        ],
    );
}
