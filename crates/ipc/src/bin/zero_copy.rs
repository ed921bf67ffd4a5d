//! Demo of `ipc/zero_copy`: sends bytes of a file to standard output (a pipe, a socket, a
//! file or a terminal) with one of the step's three copies, then says on standard error
//! how many bytes it copied and whether the file's own offset stayed put.
//!
//! Usage: `zero_copy METHOD FILE [OFFSET [COUNT]]`, METHOD one of `read-write`, `sendfile`,
//! `splice`. Try `cargo run -p ipc --bin zero_copy -- splice Cargo.toml | wc -c`.

use ipc::sys::step_usage;
use ipc::zero_copy::{with_read_write, with_sendfile, with_splice};
use proctest::args::{Args, number_in};
use std::fs::File;
use std::io::{Seek, stdout};
use std::os::fd::AsFd;
use std::process::ExitCode;

const PROGRAM: &str = "zero_copy";

fn usage() -> String {
    step_usage(
        "zero_copy METHOD FILE [OFFSET [COUNT]]
       METHOD: read-write, sendfile or splice;
       OFFSET and COUNT in bytes (default: from 0 to the end)",
        "zero_copy splice Cargo.toml | wc -c",
        "ipc/zero_copy",
    )
}

fn main() -> ExitCode {
    let mut args = Args::from_env(PROGRAM, &usage());
    let (Some(method), Some(path)) = (args.positional(), args.positional()) else {
        args.fail("missing the method and the file")
    };
    let offset = args.positional();
    let count = args.positional();
    if args.leftover().is_some() {
        args.fail("too many arguments");
    }
    let copy = match method.as_str() {
        "read-write" => with_read_write,
        "sendfile" => with_sendfile,
        "splice" => with_splice,
        other => args.fail(&format!(
            "unknown method {other:?}: choose read-write, sendfile or splice"
        )),
    };
    let offset = offset
        .map_or(Ok(0), |v| number_in("OFFSET", &v, &(0..=u64::MAX / 2)))
        .unwrap_or_else(|p| args.fail(&p));
    let count = count
        .map_or(Ok(u64::MAX / 2), |v| {
            number_in("COUNT", &v, &(0..=u64::MAX / 2))
        })
        .unwrap_or_else(|p| args.fail(&p));
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("{PROGRAM}: cannot open {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let before = file.stream_position().unwrap_or(0);
    let out = stdout();
    match copy(&file, offset, count, out.as_fd()) {
        Ok(n) => {
            let after = file.stream_position().unwrap_or(u64::MAX);
            eprintln!(
                "{PROGRAM}: {method} copied {n} bytes; the file's own offset {}",
                if after == before {
                    "did not move".to_owned()
                } else {
                    format!("moved from {before} to {after}")
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{PROGRAM}: {method} failed: {e}");
            ExitCode::FAILURE
        }
    }
}
