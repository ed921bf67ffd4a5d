//! Demo of `ipc/zero_copy`: sends bytes of a file to standard output (a pipe, a socket, a
//! file or a terminal) with one of the step's three copies, then says on standard error
//! how many bytes it copied and whether the file's own offset stayed put.
//!
//! Usage: `zero_copy METHOD FILE [OFFSET [COUNT]]`, METHOD one of `read-write`, `sendfile`,
//! `splice`. Try `cargo run -p ipc --bin zero_copy -- splice Cargo.toml | wc -c`.

use ipc::sys::{number, step_usage, usage_error};
use ipc::zero_copy::{with_read_write, with_sendfile, with_splice};
use std::fs::File;
use std::io::{Seek, stdout};
use std::os::fd::AsFd;
use std::process::ExitCode;

const PROGRAM: &str = "zero_copy";

fn usage() -> String {
    step_usage(
        "zero_copy METHOD FILE [OFFSET [COUNT]]\n\
         METHOD: read-write, sendfile or splice; OFFSET and COUNT in bytes \
         (default: from 0 to the end)",
        "zero_copy splice Cargo.toml | wc -c",
        "ipc/zero_copy",
    )
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fail = |problem: &str| -> ! { usage_error(PROGRAM, problem, &usage()) };
    let (method, path, rest) = match args.as_slice() {
        [method, path, rest @ ..] if rest.len() <= 2 => (method, path, rest),
        [] | [_] => fail("missing the method and the file"),
        _ => fail("too many arguments"),
    };
    let copy = match method.as_str() {
        "read-write" => with_read_write,
        "sendfile" => with_sendfile,
        "splice" => with_splice,
        other => fail(&format!(
            "unknown method {other:?}: choose read-write, sendfile or splice"
        )),
    };
    let offset = rest
        .first()
        .map_or(Ok(0), |v| number("OFFSET", v, 0..=u64::MAX / 2))
        .unwrap_or_else(|p| fail(&p));
    let count = rest
        .get(1)
        .map_or(Ok(u64::MAX / 2), |v| number("COUNT", v, 0..=u64::MAX / 2))
        .unwrap_or_else(|p| fail(&p));
    let mut file = match File::open(path) {
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
