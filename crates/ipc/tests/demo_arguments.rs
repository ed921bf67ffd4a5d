//! Every demo of the topic parses its command line like the others (proctest::args):
//! `--help` exits with 0, bad input is a usage error with exit status 2.

use proctest::args::assert_conventions;

#[test]
fn every_demo_answers_help_and_rejects_bad_arguments() {
    assert_conventions(
        env!("CARGO_BIN_EXE_process_queue"),
        &[
            &["0"],
            &["10", "65537"],
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
            &["--crash", "--no-child"],
            &["--bogus"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_shm_segment"),
        &[
            &["--items", "0"],
            &["--name", "x"],
            &["--no-lock", "--stop-after-create"],
            &["x"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_master"),
        &[
            &["abc"],
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
            &["splice", "f", "1", "2", "3"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_zero_copy_bench"),
        &[&["--mib", "0"], &["--rounds", "11"], &["--mib"], &["extra"]],
    );
}
