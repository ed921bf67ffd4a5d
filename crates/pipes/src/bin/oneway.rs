//! Demo of `pipes/oneway`: the parent sends a message to its child through a pipe.
//!
//! `oneway` sends "hello through the pipe"; `oneway BYTES` sends BYTES bytes instead
//! (0 to 16777216), more than a pipe holds, so the parent blocks in write() until the
//! child has read enough. Ends with an audit line on standard error.

use nix::sys::wait::WaitStatus;
use pipes::oneway::send_to_child;
use pipes::sys::Audit;
use proctest::args::{Args, number_in};

const USAGE: &str = "oneway [BYTES]   (BYTES from 0 to 16777216; without it, a short greeting is sent)\n\
                     then run `just check pipes/oneway`";

fn main() {
    proctest::lifetime::children_die_with_parent();
    let mut args = Args::from_env("oneway", USAGE);
    let bytes = args.positional();
    if args.leftover().is_some() {
        args.fail("too many arguments");
    }
    let message: Vec<u8> = match bytes {
        None => b"hello through the pipe".to_vec(),
        Some(bytes) => {
            let n: usize = number_in("BYTES", &bytes, &(0..=1 << 24))
                .unwrap_or_else(|problem| args.fail(&problem));
            (0..n).map(|i| b'a' + (i % 26) as u8).collect()
        }
    };
    let audit = Audit::start();
    println!("parent: sending {} bytes", message.len());
    match send_to_child(&message) {
        Ok(WaitStatus::Exited(_, code)) => println!("parent: child exited with status {code}"),
        Ok(other) => println!("parent: child ended with {other:?}"),
        Err(err) => {
            eprintln!("oneway: {err}");
            eprintln!("{}", audit.report());
            std::process::exit(1);
        }
    }
    eprintln!("{}", audit.report());
}
