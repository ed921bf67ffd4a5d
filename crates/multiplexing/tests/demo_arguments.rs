//! Every demo of the topic parses its command line like the others (proctest::args):
//! `--help` exits with 0, bad input is a usage error with exit status 2, and every line of
//! the help and of each usage error fits in 100 columns.

use proctest::args::assert_conventions;

#[test]
fn every_demo_answers_help_and_rejects_bad_arguments() {
    assert_conventions(
        env!("CARGO_BIN_EXE_readiness"),
        &[
            &["99999999999"],
            &["0"],
            &["-3"],
            &["abc"],
            &["--bogus"],
            &["1", "2"],
        ],
    );
    assert_conventions(env!("CARGO_BIN_EXE_echo_server"), &[&["--bogus"], &["x"]]);
    assert_conventions(
        env!("CARGO_BIN_EXE_echo_load"),
        &[
            &["99999999999"],
            &["0"],
            &["abc"],
            &["1", "2"],
            &["--bogus"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_pass_fd"),
        &[&["--send"], &["--send", "two"], &["x"]],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_bench"),
        &[
            &["99999999999"],
            &["0"],
            &["-3"],
            &["abc"],
            &["1", "2"],
            &["--bogus"],
        ],
    );
}
