//! Demo of `pipes/fifo`, the writing side: writes lines into an existing FIFO.
//!
//! `fifo_writer PATH [MESSAGE...]` opens the FIFO that `fifo_reader` created at PATH and
//! writes each MESSAGE as a line (default: one greeting). It never waits for a reader:
//! when none has the FIFO open it fails at once (exit status 1) and says so.
//!
//! `--open-denied` makes every open for writing fail with EACCES (see
//! `proctest::faults::opens_for_writing_fail`), as for a FIFO of another user: the writer
//! must report that error, not a missing reader.

use pipes::fifo::{OpenError, open_writer};
use pipes::sys::write_all;
use proctest::args::Args;
use std::path::PathBuf;

const NAME: &str = "fifo_writer";
const USAGE: &str =
    "fifo_writer [--open-denied] PATH [MESSAGE...]   (PATH: the one fifo_reader printed)";

fn main() {
    let mut args = Args::from_env(NAME, USAGE);
    let denied = args.flag("--open-denied");
    let mut rest = args.rest().into_iter();
    let Some(path) = rest.next().map(PathBuf::from) else {
        args.fail("missing the FIFO's PATH")
    };
    let mut messages: Vec<String> = rest.collect();
    if messages.is_empty() {
        messages.push("hello through a named pipe".to_owned());
    }
    if denied {
        if let Err(err) = proctest::faults::opens_for_writing_fail(nix::errno::Errno::EACCES) {
            eprintln!("{NAME}: cannot make opens fail here: {err}");
            std::process::exit(1);
        }
    }
    let fd = match open_writer(&path) {
        Ok(fd) => fd,
        Err(err) => {
            let next = match err {
                OpenError::NoReader => "start fifo_reader first; it prints the path to use",
                OpenError::NoSuchFifo | OpenError::NotAFifo => {
                    "give the path fifo_reader printed, while it runs"
                }
                OpenError::Sys(_) => "check the path and its permissions",
            };
            // The path alone on the first line: a long one leaves the reason within 100
            // columns.
            eprintln!("{NAME}: cannot open {}:\n  {err}: {next}", path.display());
            std::process::exit(1);
        }
    };
    let text: String = messages.iter().map(|m| format!("{m}\n")).collect();
    if let Err(err) = write_all(&fd, text.as_bytes()) {
        eprintln!("{NAME}: writing to {}: {err}", path.display());
        std::process::exit(1);
    }
    println!(
        "{NAME}: sent {} lines, {} bytes",
        messages.len(),
        text.len()
    );
}
