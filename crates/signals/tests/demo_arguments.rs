//! Every demo of the topic parses its command line like the others (proctest::args):
//! `--help` exits with 0, bad input is a usage error with exit status 2, and every line of
//! the help and of each usage error fits in 100 columns.

use proctest::args::assert_conventions;

#[test]
fn every_demo_answers_help_and_rejects_bad_arguments() {
    assert_conventions(
        env!("CARGO_BIN_EXE_handshake"),
        &[
            &["--bogus"],
            &["extra"],
            &["--signal-early", "--signal-after-check"],
            &["--two-rounds", "--usr-blocked"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_shutdown"),
        &[
            &[],
            &["--bogus"],
            &["99999999999"],
            &["-3"],
            &["abc"],
            &["4", "--term-at"],
            &["4", "--term-at", "abc"],
            &["4", "--hangup-at", "1", "x"],
            &["4", "--kill-at", "9"],
        ],
    );
}
