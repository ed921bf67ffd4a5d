//! Every demo of the topic parses its command line like the others (proctest::args):
//! `--help` exits with 0, bad input is a usage error with exit status 2.

use proctest::args::assert_conventions;

#[test]
fn every_demo_answers_help_and_rejects_bad_arguments() {
    assert_conventions(
        env!("CARGO_BIN_EXE_oneway"),
        &[&["99999999999"], &["1", "2"]],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_pingpong"),
        &[&["99999999999"], &["--bogus"]],
    );
    assert_conventions(env!("CARGO_BIN_EXE_pipeline"), &[&[], &[" "]]);
    assert_conventions(env!("CARGO_BIN_EXE_nonblocking"), &[&["--bogus"]]);
    assert_conventions(
        env!("CARGO_BIN_EXE_atomic_writes"),
        &[&["--bogus"], &["--records", "99999999999"], &["--writers"]],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_fifo_reader"),
        &[&["--bogus"], &["--wait-ms", "99999999999"], &["--dir"]],
    );
    assert_conventions(env!("CARGO_BIN_EXE_fifo_writer"), &[&[]]);
}
