//! Demo of `pipes/atomic_writes`: several writer processes share one pipe.
//!
//! `atomic_writes [--writers W] [--records N] [--size BYTES] [--dump FILE]` starts W
//! writer processes (1 to 16, default 4) whose standard output is the write end of one
//! pipe; each sends N records (1 to 100000, default 500) of BYTES bytes (32 to 1048576,
//! default 4096 = PIPE_BUF) with `write_record`. The demo reads the pipe with
//! `read_records`, checks every record (see `pipes::sys::record`), prints a summary, and
//! with `--dump FILE` writes the records as received to FILE. Records of more than
//! PIPE_BUF bytes carry no guarantee: torn records are then reported, not an error.
//!
//! The writers are this same binary run as `atomic_writes --writer K --records N --size
//! BYTES`, writing to its standard output.

use pipes::atomic_writes::{read_records, write_record};
use pipes::sys::{Audit, PIPE_BUF, record};
use proctest::args::Args;
use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::process::{Child, Command, Stdio};

const USAGE: &str = "atomic_writes [--writers W] [--records N] [--size BYTES] [--dump FILE]\n\
                     \x20 W from 1 to 16 (default 4), N from 1 to 100000 (default 500),\n\
                     \x20 BYTES from 32 to 1048576 (default 4096, PIPE_BUF), at most 256 MiB in all\n\
                     then run `just check pipes/atomic_writes`";
const NAME: &str = "atomic_writes";

struct Options {
    writer: Option<u32>,
    writers: u32,
    records: u32,
    size: usize,
    dump: Option<String>,
}

fn options() -> Options {
    let mut args = Args::from_env(NAME, USAGE);
    let opts = Options {
        writer: args.number("--writer", "K", 0..=15),
        writers: args.number("--writers", "W", 1..=16).unwrap_or(4),
        records: args.number("--records", "N", 1..=100_000).unwrap_or(500),
        size: args
            .number("--size", "BYTES", record::MIN_SIZE..=1 << 20)
            .unwrap_or(PIPE_BUF),
        dump: args.value("--dump"),
    };
    let total = u64::from(opts.writers) * u64::from(opts.records) * opts.size as u64;
    if total > 256 << 20 {
        args.fail(&format!(
            "W x N x BYTES is {total} bytes, more than 256 MiB"
        ));
    }
    args.finish();
    opts
}

fn main() {
    let opts = options();
    match opts.writer {
        Some(k) => writer(k, &opts),
        None => {
            let audit = Audit::start();
            let code = reader(&opts);
            eprintln!("{}", audit.report());
            std::process::exit(code);
        }
    }
}

/// Writer mode: prepare every record, then send each with one `write_record`.
fn writer(k: u32, opts: &Options) {
    let out = std::io::stdout();
    for seq in 0..opts.records {
        let bytes = record::encode(k, seq, opts.size);
        if let Err(err) = write_record(out.as_fd(), &bytes) {
            // One write() for the whole line: the writers share the demo's stderr, and a
            // line written in pieces would interleave with theirs.
            let line = format!("{NAME}: writer {k}, record {seq}: {err}\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            std::process::exit(1);
        }
    }
}

fn reader(opts: &Options) -> i32 {
    let (read_end, write_end) = match nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) {
        Ok(ends) => ends,
        Err(err) => {
            eprintln!("{NAME}: pipe: {err}");
            return 1;
        }
    };
    let exe = std::env::current_exe().expect("the demo knows its own path");
    let mut children: Vec<Child> = Vec::new();
    for k in 0..opts.writers {
        let spawned = write_end
            .try_clone()
            .map_err(|e| e.to_string())
            .and_then(|end| {
                Command::new(&exe)
                    .args(["--writer", &k.to_string()])
                    .args(["--records", &opts.records.to_string()])
                    .args(["--size", &opts.size.to_string()])
                    .stdin(Stdio::null())
                    .stdout(Stdio::from(end))
                    .spawn()
                    .map_err(|e| e.to_string())
            });
        match spawned {
            Ok(child) => children.push(child),
            Err(err) => {
                eprintln!("{NAME}: cannot start writer {k}: {err}");
                break;
            }
        }
    }
    // The reader's own copy of the write end must go, or it never sees end of file.
    // (O_CLOEXEC above: a writer gets the pipe as its stdout only, not these copies.)
    drop(write_end);
    let received = read_records(read_end.as_fd(), opts.size);
    drop(read_end);
    let mut code = 0;
    for (k, child) in children.iter_mut().enumerate() {
        match child.wait() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                eprintln!("{NAME}: writer {k} failed: {status}");
                code = 1;
            }
            Err(err) => {
                eprintln!("{NAME}: waiting for writer {k}: {err}");
                code = 1;
            }
        }
    }
    if children.len() < opts.writers as usize {
        return 1;
    }
    let received = match received {
        Ok(received) => received,
        Err(err) => {
            eprintln!("{NAME}: read_records failed: {err}");
            return 1;
        }
    };
    if let Some(path) = &opts.dump {
        if let Err(err) = std::fs::write(path, received.records.concat()) {
            eprintln!("{NAME}: cannot write {path}: {err}");
            code = 1;
        }
    }
    code.max(summarize(opts, &received))
}

/// Checks every record and prints the summary. Returns the exit code.
fn summarize(opts: &Options, received: &pipes::atomic_writes::Received) -> i32 {
    let atomic = opts.size <= PIPE_BUF;
    println!(
        "{} writers x {} records of {} bytes, one write() each: {}",
        opts.writers,
        opts.records,
        opts.size,
        if atomic {
            format!("each is atomic (PIPE_BUF is {PIPE_BUF})")
        } else {
            format!("above PIPE_BUF ({PIPE_BUF}), may be split")
        }
    );
    println!(
        "received {} records and {} stray bytes",
        received.records.len(),
        received.trailing
    );
    let mut next: BTreeMap<u32, u32> = (0..opts.writers).map(|k| (k, 0)).collect();
    let mut torn = Vec::new();
    let mut out_of_order = Vec::new();
    for (i, bytes) in received.records.iter().enumerate() {
        match record::check(bytes) {
            Ok((writer, seq)) => match next.get_mut(&writer) {
                Some(expected) if *expected == seq => *expected += 1,
                _ => out_of_order.push(format!("record #{i} is writer {writer}'s {seq}")),
            },
            Err(why) => torn.push(format!("record #{i}: {why}")),
        }
    }
    let whole = received.records.len() - torn.len();
    println!("whole: {whole}, torn: {}", torn.len());
    for why in torn.iter().take(3) {
        println!("  {why}");
    }
    let missing: u32 = next
        .values()
        .map(|&got| opts.records.saturating_sub(got))
        .sum();
    let complete = torn.is_empty()
        && out_of_order.is_empty()
        && received.trailing == 0
        && missing == 0
        && received.records.len() == (opts.writers * opts.records) as usize;
    if complete {
        println!("every record arrived whole, and each writer's records in order");
        0
    } else if !atomic {
        if !torn.is_empty() {
            println!("records above PIPE_BUF torn apart by other writers: no atomicity promised");
        }
        0
    } else {
        for what in out_of_order.iter().take(3) {
            println!("  out of order: {what}");
        }
        println!("some records are missing, torn or out of order ({missing} never arrived whole)");
        1
    }
}
