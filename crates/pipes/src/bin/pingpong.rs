//! Demo of `pipes/pingpong`: the notes' socketpair exchange, counting down.
//!
//! `pingpong [ROUNDS] [--slow]` (1 to 100, default 10). Prints the exchange, then the
//! child's status; the audit goes to standard error. With `--slow`, each send first
//! computes for 0.2 s of CPU, which the other side waits for. Each send returns only once the other side has
//! answered (`pipes::sys::turns`), so a line printed after a send is out of order in every
//! run.
//!
//! `pingpong ROUNDS --parent-leaves K` checks the child's half alone: the demo plays the
//! parent itself for K rounds (1 to ROUNDS - 1), then closes its socket and waits. The
//! student's `child_side` must then fail, and the child exit with status 1, instead of
//! going on with counts it never received.
//!
//! `pingpong ROUNDS --child-leaves K` checks the parent's half the same way: the demo's
//! own child answers K rounds, then closes its socket and exits. The student's
//! `parent_side` must then fail (its next send or receive does), and the demo says what
//! it returned.
//!
//! `pingpong ROUNDS --child-answers-off` checks that the parent prints what it receives:
//! the demo's own child answers each count N with N + 100 (and prints so), so the
//! student's `parent_side` must print `parent recv: N + 100`, or fail on the odd answer.

use nix::sys::wait::WaitStatus;
use pipes::pingpong::ping_pong;
use pipes::sys::{Audit, turns};
use proctest::args::{Args, number_in};

const USAGE: &str = concat!(
    "pingpong [ROUNDS] [--slow | --parent-leaves K | --child-leaves K | --child-answers-off]\n",
    "       (ROUNDS from 1 to 100, default 10; K from 1 to ROUNDS - 1)\n",
    "then run `just check pipes/pingpong`"
);

/// `--parent-leaves K`: the demo's own parent half, which leaves after `k` rounds; the
/// student's `child_side` runs in the child. Returns the exit code.
fn parent_leaves(rounds: u32, k: u32) -> nix::Result<i32> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
    use nix::sys::wait::waitpid;
    use nix::unistd::{ForkResult, fork, read};
    use pipes::sys::{Line, exit_now, parse_u32, write_all};
    let (parent_sock, child_sock) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::empty(),
    )?;
    // SAFETY: the demo is single-threaded, and `child_side` must only call
    // async-signal-safe functions (the step's static check holds it to that).
    match unsafe { fork() }? {
        ForkResult::Child => {
            drop(parent_sock);
            let code = match pipes::pingpong::child_side(&child_sock, rounds) {
                Ok(()) => 0,
                Err(_) => 1,
            };
            exit_now(code)
        }
        ForkResult::Parent { child } => {
            drop(child_sock);
            for count in (rounds - k + 1..=rounds).rev() {
                println!("parent write: {count}");
                write_all(&parent_sock, Line::new().num(count.into()).as_bytes())?;
                let mut buf = [0u8; 16];
                let n = read(&parent_sock, &mut buf)?;
                match parse_u32(&buf[..n]) {
                    Some(reply) => println!("parent recv: {reply}"),
                    None => println!("parent recv: {:?}", String::from_utf8_lossy(&buf[..n])),
                }
            }
            println!("parent: leaving after {k} round(s): closing its socket");
            drop(parent_sock);
            let status = waitpid(child, None)?;
            match status {
                WaitStatus::Exited(_, code) => println!("parent: child exited with status {code}"),
                other => println!("parent: child ended with {other:?}"),
            }
            Ok(0)
        }
    }
}

/// `--child-leaves K`: the demo's own child half, which answers `k` rounds and then
/// closes its socket (`k` = `rounds`: it answers every round), each count N with N +
/// `off`; the student's `parent_side` runs in the parent. Returns the exit code.
fn child_leaves(rounds: u32, k: u32, off: u32) -> nix::Result<i32> {
    use nix::sys::socket::{AddressFamily, SockFlag, SockType, socketpair};
    use nix::sys::wait::waitpid;
    use nix::unistd::{ForkResult, fork, read};
    use pipes::sys::{Line, exit_now, parse_u32, write_all};
    let (parent_sock, child_sock) = socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::empty(),
    )?;
    // SAFETY: the demo is single-threaded, and the child below only calls read, write
    // (through `Line` and `write_all`) and _exit.
    match unsafe { fork() }? {
        ForkResult::Child => {
            drop(parent_sock);
            for round in 1..=k {
                let mut buf = [0u8; 16];
                let n = match read(&child_sock, &mut buf) {
                    Ok(n) if n > 0 => n,
                    _ => exit_now(1),
                };
                let Some(count) = parse_u32(&buf[..n]) else {
                    exit_now(1)
                };
                Line::new()
                    .text(b"child recv: ")
                    .num(count.into())
                    .text(b"\n")
                    .print();
                let answer = count + off;
                Line::new()
                    .text(b"child write: ")
                    .num(answer.into())
                    .text(b"\n")
                    .print();
                if round == k && k < rounds {
                    // Before the last reply: after it, the parent may print at any moment.
                    Line::new()
                        .text(b"child: leaving after ")
                        .num(k.into())
                        .text(b" round(s): closing its socket\n")
                        .print();
                }
                if write_all(&child_sock, Line::new().num(answer.into()).as_bytes()).is_err() {
                    exit_now(1);
                }
            }
            exit_now(0)
        }
        ForkResult::Parent { child } => {
            drop(child_sock);
            let played = pipes::pingpong::parent_side(&parent_sock, rounds);
            drop(parent_sock);
            match played {
                Ok(()) => println!("parent: parent_side returned Ok(())"),
                Err(err) => println!("parent: parent_side failed with {err}"),
            }
            waitpid(child, None)?;
            Ok(0)
        }
    }
}

fn main() {
    proctest::lifetime::children_die_with_parent();
    let mut args = Args::from_env("pingpong", USAGE);
    if args.flag("--slow") {
        turns::slow();
    }
    let leaves = args.value("--parent-leaves");
    let child_leaves_after = args.value("--child-leaves");
    let answers_off = args.flag("--child-answers-off");
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
    if [leaves.is_some(), child_leaves_after.is_some(), answers_off]
        .iter()
        .filter(|&&given| given)
        .count()
        > 1
    {
        args.fail("--parent-leaves, --child-leaves and --child-answers-off cannot be combined");
    }
    if answers_off {
        match child_leaves(rounds, rounds, 100) {
            Ok(code) => std::process::exit(code),
            Err(err) => {
                eprintln!("pingpong: the demo's child half failed: {err}");
                std::process::exit(1);
            }
        }
    }
    if let Some(k) = child_leaves_after {
        let k: u32 = number_in("K", &k, &(1..=rounds.saturating_sub(1).max(1)))
            .unwrap_or_else(|problem| args.fail(&problem));
        if k >= rounds {
            args.fail("--child-leaves needs ROUNDS of 2 or more");
        }
        match child_leaves(rounds, k, 0) {
            Ok(code) => std::process::exit(code),
            Err(err) => {
                eprintln!("pingpong: the demo's child half failed: {err}");
                std::process::exit(1);
            }
        }
    }
    if let Some(k) = leaves {
        let k: u32 = number_in("K", &k, &(1..=rounds.saturating_sub(1).max(1)))
            .unwrap_or_else(|problem| args.fail(&problem));
        if k >= rounds {
            args.fail("--parent-leaves needs ROUNDS of 2 or more");
        }
        match parent_leaves(rounds, k) {
            Ok(code) => std::process::exit(code),
            Err(err) => {
                eprintln!("pingpong: the demo's parent half failed: {err}");
                std::process::exit(1);
            }
        }
    }
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
