//! Every demo of the topic parses its command line like the others (proctest::args):
//! `--help` exits with 0, bad input is a usage error with exit status 2, and every line of
//! the help and of each usage error fits in 100 columns.

use proctest::args::assert_conventions;

#[test]
fn every_demo_answers_help_and_rejects_bad_arguments() {
    assert_conventions(
        env!("CARGO_BIN_EXE_process_queue"),
        &[
            &["0"],
            &["-3"],
            &["abc"],
            &["10", "65537"],
            &["10", "-3"],
            &["1", "2", "3"],
            &["--bogus"],
            &["--worker", "1"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_os_mailbox"),
        &[
            &["--name"],
            &["--name", "x"],
            &["--name", "/a/b"],
            &["--crash", "--no-child"],
            &["--bogus"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_shm_segment"),
        &[
            &["--items", "0"],
            &["--items", "abc"],
            &["--items"],
            &["--name", "x"],
            &["--producer"],
            &["--consumer", "/x", "1"],
            &["--no-lock", "--stop-after-create"],
            &["x"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_master"),
        &[
            &["abc"],
            &["-3"],
            &["60001"],
            &["1", "2"],
            &["--worker", "x"],
            &["--compare", "1"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_zero_copy"),
        &[
            &[],
            &["copy", "Cargo.toml"],
            &["splice", "f", "-1"],
            &["splice", "f", "abc"],
            &["--bogus"],
            &["splice", "f", "1", "2", "3"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_zero_copy_bench"),
        &[
            &["--mib", "0"],
            &["--mib", "abc"],
            &["--rounds", "11"],
            &["--rounds", "-3"],
            &["--mib"],
            &["extra"],
        ],
    );
}
