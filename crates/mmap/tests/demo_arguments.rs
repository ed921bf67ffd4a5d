//! Every demo of the topic parses its command line like the others (proctest::args):
//! `--help` exits with 0, bad input is a usage error with exit status 2, and every line of
//! the help and of each usage error fits in 100 columns.

use proctest::args::assert_conventions;

#[test]
fn every_demo_answers_help_and_rejects_bad_arguments() {
    assert_conventions(env!("CARGO_BIN_EXE_count_lines"), &[&[]]);
    assert_conventions(
        env!("CARGO_BIN_EXE_ring"),
        &[&["99999999999"], &["0"], &["-3"], &["abc"], &["1", "2"]],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_shared_counter"),
        &[
            &["99999999999"],
            &["0"],
            &["-3"],
            &["abc"],
            &["1", "2"],
            &["--bogus"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_ipc_bench"),
        &[
            &["--bogus"],
            &["--total", "99999999999G"],
            &["--file", "1T"],
            &["--total", "3K"],
            &["--repeat", "99"],
            &["--repeat", "-3"],
            &["--only", "both"],
            &["--total"],
            &["--dir"],
        ],
    );
}
