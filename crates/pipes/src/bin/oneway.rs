//! Demo of `pipes/oneway`: the parent sends a message to its child through a pipe.
//!
//! `oneway` sends "hello through the pipe"; `oneway BYTES` sends BYTES bytes instead
//! (0 to 16777216), more than a pipe holds, so the parent blocks in write() until the
//! child has read enough. Ends with an audit line on standard error.
//!
//! `--child-stops` is for the tests: every child stops itself (SIGSTOP) as soon as it is
//! forked, before any of `send_to_child`'s child code runs, until the test resumes it
//! (SIGCONT); and SIGUSR1 gets a handler that does nothing, so that the test can
//! interrupt the parent's blocked `write()`, which then returns a short count. With the
//! child stopped, the parent's descriptors can be looked at while it writes.
//!
//! `--bystander` is for the tests too: before calling `send_to_child`, the demo forks one
//! more child of its own, which exits at once (status 42), and waits for it only
//! afterwards. `send_to_child` must wait for the child it forked, not for any child: if
//! the bystander's status was taken, the demo says so and exits with 1.

use nix::sys::wait::WaitStatus;
use pipes::oneway::send_to_child;
use pipes::sys::{Audit, Bystander};
use proctest::args::{Args, number_in};

const USAGE: &str = "oneway [BYTES] [--child-stops] [--bystander]
       (BYTES from 0 to 16777216; without it, a short greeting is sent)
then run `just check pipes/oneway`";

extern "C" fn ignore(_: libc::c_int) {}

/// `--child-stops`: children stop at birth, and SIGUSR1 interrupts without killing.
fn children_stop() -> nix::Result<()> {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(
        SigHandler::Handler(ignore),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler does nothing at all.
    unsafe { sigaction(Signal::SIGUSR1, &action) }?;
    proctest::faults::children_stop_at_birth()
        .map_err(|err| nix::errno::Errno::from_raw(err.raw_os_error().unwrap_or(0)))
}

fn main() {
    proctest::lifetime::children_die_with_parent();
    let mut args = Args::from_env("oneway", USAGE);
    let stops = args.flag("--child-stops");
    let bystander = args.flag("--bystander");
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
    // Before `--child-stops`: the bystander must end, not stop.
    let bystander = bystander.then(|| {
        Bystander::start().unwrap_or_else(|err| {
            eprintln!("oneway: cannot fork the bystander: {err}");
            std::process::exit(1);
        })
    });
    if stops {
        if let Err(err) = children_stop() {
            eprintln!("oneway: cannot make the children stop at birth: {err}");
            std::process::exit(1);
        }
    }
    let audit = Audit::start();
    println!("parent: sending {} bytes", message.len());
    let sent = send_to_child(&message);
    match &sent {
        Ok(WaitStatus::Exited(_, code)) => println!("parent: child exited with status {code}"),
        Ok(WaitStatus::Signaled(_, signal, _)) => {
            println!("parent: child was killed by {}", signal.as_str());
        }
        Ok(other) => println!("parent: child ended with {other:?}"),
        Err(err) => eprintln!("oneway: {err}"),
    }
    let taken = bystander.map(Bystander::reap).and_then(Result::err);
    if let Some(taken) = &taken {
        eprintln!("oneway: {taken}");
    }
    eprintln!("{}", audit.report());
    if sent.is_err() || taken.is_some() {
        std::process::exit(1);
    }
}
