//! Demo of `pipes/pingpong`: the notes' socketpair exchange, counting down.
//!
//! `pingpong [ROUNDS] [--slow]` (1 to 100, default 10). Prints the exchange, then the
//! child's status; the audit goes to standard error. With `--slow`, each send first
//! computes for 0.2 s of CPU, which the other side waits for. Each send returns only once the other side has
//! answered (`pipes::sys::turns`), so a line printed after a send is out of order in every
//! run.

use nix::sys::wait::WaitStatus;
use pipes::pingpong::ping_pong;
use pipes::sys::{Audit, parse_in_range, turns, usage_error};

const USAGE: &str = "pingpong [ROUNDS] [--slow]   (ROUNDS from 1 to 100, default 10)\n\
                     then run `just check pipes/pingpong`";

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--slow") {
        args.remove(at);
        turns::slow();
    }
    let rounds: u32 = match args.as_slice() {
        [] => 10,
        [n] => parse_in_range("pingpong", "ROUNDS", n, 1, 100, USAGE),
        _ => usage_error("pingpong", "too many arguments", USAGE),
    };
    let audit = Audit::start();
    // Each send returns once the other side has answered: a line printed after a send
    // then always comes out after the other side's (see pipes::sys::turns).
    turns::arm();
    let code = match ping_pong(rounds) {
        Ok(WaitStatus::Exited(_, code)) => {
            println!("parent: child exited with status {code}");
            i32::from(code != 0)
        }
        Ok(other) => {
            println!("parent: child ended with {other:?}");
            1
        }
        Err(err) => {
            eprintln!("pingpong: the parent's half failed: {err}");
            1
        }
    };
    eprintln!("{}", audit.report());
    std::process::exit(code);
}
