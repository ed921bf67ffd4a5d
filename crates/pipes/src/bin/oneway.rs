//! Demo of `pipes/oneway`: the parent sends a message to its child through a pipe.
//!
//! `oneway` sends "hello through the pipe"; `oneway BYTES` sends BYTES bytes instead
//! (0 to 16777216), more than a pipe holds, so the parent blocks in write() until the
//! child has read enough. Ends with an audit line on standard error.

use nix::sys::wait::WaitStatus;
use pipes::oneway::send_to_child;
use pipes::sys::{Audit, parse_in_range, usage_error};

const USAGE: &str = "oneway [BYTES]   (BYTES from 0 to 16777216; without it, a short greeting is sent)\n\
                     then run `just check pipes/oneway`";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let message: Vec<u8> = match args.as_slice() {
        [] => b"hello through the pipe".to_vec(),
        [bytes] => {
            let n: usize = parse_in_range("oneway", "BYTES", bytes, 0, 1 << 24, USAGE);
            (0..n).map(|i| b'a' + (i % 26) as u8).collect()
        }
        _ => usage_error("oneway", "too many arguments", USAGE),
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
