//! Every demo of the topic parses its command line like the others (proctest::args):
//! `--help` exits with 0, bad input is a usage error with exit status 2, and every line of
//! the help and of each usage error fits in 100 columns.

use proctest::args::assert_conventions;

#[test]
fn every_demo_answers_help_and_rejects_bad_arguments() {
    assert_conventions(
        env!("CARGO_BIN_EXE_oneway"),
        &[&["99999999999"], &["-3"], &["abc"], &["1", "2"]],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_pingpong"),
        &[
            &["99999999999"],
            &["0"],
            &["-3"],
            &["abc"],
            &["1", "2"],
            &["--bogus"],
            &["3", "--child-leaves", "3"],
            &["3", "--child-leaves", "1", "--parent-leaves", "1"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_pipeline"),
        &[
            &[],
            &[" "],
            &["--no-commands", "sort"],
            &["--fds-left", "99", "sort"],
            &["--fds-left"],
            &["--bystander"],
        ],
    );
    assert_conventions(env!("CARGO_BIN_EXE_nonblocking"), &[&["--bogus"]]);
    assert_conventions(
        env!("CARGO_BIN_EXE_atomic_writes"),
        &[
            &["--bogus"],
            &["--records", "99999999999"],
            &["--writers"],
            &["--writers", "0"],
            &["--size", "0"],
            &["--dump"],
            &["extra"],
        ],
    );
    assert_conventions(
        env!("CARGO_BIN_EXE_fifo_reader"),
        &[
            &["--bogus"],
            &["--wait-ms", "99999999999"],
            &["--wait-ms", "-3"],
            &["--dir"],
            &["extra"],
        ],
    );
    assert_conventions(env!("CARGO_BIN_EXE_fifo_writer"), &[&[]]);
}

#[test]
fn a_writer_given_a_wrong_path_says_so_within_100_columns() {
    // A path as fifo_reader names its FIFO, in a directory that does not exist.
    let path =
        std::env::temp_dir().join(format!("pipes-fifo-{}-999999/channel", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fifo_writer"))
        .arg(&path)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run fifo_writer");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("there is no FIFO there"), "{stderr}");
    proctest::args::assert_within_columns(
        &format!("`fifo_writer {}`", path.display()),
        "standard error",
        &stderr,
    );
}
