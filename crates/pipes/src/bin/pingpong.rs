//! Demo of `pipes/pingpong`: the notes' socketpair exchange, counting down.
//!
//! `pingpong [ROUNDS] [--slow]` (1 to 100, default 10). Prints the exchange, then the
//! child's status; the audit goes to standard error. With `--slow`, each send first
//! computes for 0.2 s of CPU, which the other side waits for. Each send returns only once the other side has
//! answered (`pipes::sys::turns`), so a line printed after a send is out of order in every
//! run.

use nix::sys::wait::WaitStatus;
use pipes::pingpong::ping_pong;
use pipes::sys::{Audit, turns};
use proctest::args::{Args, number_in};

const USAGE: &str = "pingpong [ROUNDS] [--slow]   (ROUNDS from 1 to 100, default 10)\n\
                     then run `just check pipes/pingpong`";

fn main() {
    proctest::lifetime::children_die_with_parent();
    let mut args = Args::from_env("pingpong", USAGE);
    if args.flag("--slow") {
        turns::slow();
    }
    let rounds = args.positional();
    if args.leftover().is_some() {
        args.fail("too many arguments");
    }
    let rounds: u32 = match rounds {
        None => 10,
        Some(n) => {
            number_in("ROUNDS", &n, &(1..=100)).unwrap_or_else(|problem| args.fail(&problem))
        }
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
