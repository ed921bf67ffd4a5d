//! Demo of step `file`: counts the lines of each file given, through a mapping and with
//! `read()`, side by side.
//!
//! Usage: `count_lines PATH...`. Exit code 0 when every file was counted, 1 when one could
//! not be (the message names it), 2 on a usage error.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = proctest::args::Args::from_env(
        "count_lines",
        "count_lines PATH...\n\
         counts the lines of each file through mmap and through read(); \
         then try `just check mmap/file`",
    );
    let paths = args.rest();
    if paths.is_empty() {
        args.fail_with_usage();
    }
    let mut status = ExitCode::SUCCESS;
    for path in &paths {
        let path = Path::new(path);
        match (
            mmap::file::count_lines_mmap(path),
            mmap::lines::count_lines_read(path),
        ) {
            (Ok(mapped), Ok(read)) => {
                let verdict = if mapped == read { "agree" } else { "DISAGREE" };
                println!(
                    "{}: {mapped} lines through mmap, {read} through read(): {verdict}",
                    path.display()
                );
            }
            (Err(err), _) | (_, Err(err)) => {
                eprintln!("count_lines: {err}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
