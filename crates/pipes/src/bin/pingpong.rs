//! Demo of `pipes/pingpong`: the notes' socketpair exchange, counting down.
//!
//! `pingpong [ROUNDS]` (1 to 100, default 10). Prints the exchange, then the child's
//! status; the audit goes to standard error.

use nix::sys::wait::WaitStatus;
use pipes::pingpong::ping_pong;
use pipes::sys::Audit;
use proctest::args::{Args, number_in};

const USAGE: &str = "pingpong [ROUNDS]   (ROUNDS from 1 to 100, default 10)\n\
                     then run `just check pipes/pingpong`";

fn main() {
    proctest::lifetime::children_die_with_parent();
    let mut args = Args::from_env("pingpong", USAGE);
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
