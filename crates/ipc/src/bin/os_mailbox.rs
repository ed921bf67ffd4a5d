//! Demo of `ipc/os_mailbox`: a parent and a child process, each with a mailbox kept by the
//! kernel (a POSIX message queue).
//!
//! The parent creates both mailboxes, puts three messages with different priorities into
//! the child's before the child even exists, and starts the child (this program again, as
//! `os_mailbox --child PREFIX`). The child opens both by name and says so; the parent then
//! removes both names at once (the queues live on while someone has them open, and nothing
//! is left behind even if both processes are killed). The child receives in priority order,
//! tries a non-blocking receive and a receive with a timeout on its empty mailbox, and
//! answers `done`. The parent then fills its own mailbox until `try_send` says `Full`.
//!
//! Usage: `os_mailbox [--name PREFIX] [--crash | --no-child | --kill-parent]`. `--crash`
//! kills the child after its first message (the kernel keeps the others); `--no-child`
//! fails to start the child (the parent returns early: its mailboxes must still go);
//! `--kill-parent` kills the parent with SIGKILL once the child has opened the mailboxes.

use ipc::os_mailbox::{Mailbox, MailboxError, Message};
use ipc::sys::{mq_exists, mqueues_available, open_fds, step_usage};
use nix::sys::signal::{Signal, raise};
use proctest::args::Args;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const PROGRAM: &str = "os_mailbox";
const CAPACITY: usize = 4;
const SIZE: usize = 64;

fn usage() -> String {
    step_usage(
        "os_mailbox [--name PREFIX] [--crash | --no-child | --kill-parent]\n\
         PREFIX: the mailboxes are PREFIX-child and PREFIX-parent (default /course-ipc-PID)",
        "os_mailbox --crash",
        "ipc/os_mailbox",
    )
}

fn show(m: &Message) -> String {
    format!(
        "{:?} (priority {})",
        String::from_utf8_lossy(&m.body),
        m.priority
    )
}

fn fail(what: &str, e: &MailboxError) -> ExitCode {
    eprintln!("{PROGRAM}: {what} failed: {e:?}");
    ExitCode::FAILURE
}

fn child(prefix: &str, crash: bool) -> ExitCode {
    ipc::sys::die_with_parent();
    let (inbox, parent) = match (
        Mailbox::open(&format!("{prefix}-child")),
        Mailbox::open(&format!("{prefix}-parent")),
    ) {
        (Ok(inbox), Ok(parent)) => (inbox, parent),
        (Err(e), _) | (_, Err(e)) => return fail("child: opening the mailboxes", &e),
    };
    if let Err(e) = parent.send(b"attached", 0) {
        return fail("child: send", &e);
    }
    for _ in 0..3 {
        match inbox.receive() {
            Ok(m) => println!("child: received {}", show(&m)),
            Err(e) => return fail("child: receive", &e),
        }
        if crash {
            println!("child: killed (SIGKILL) before it read the rest");
            let _ = raise(Signal::SIGKILL);
        }
    }
    let started = Instant::now();
    match inbox.try_receive() {
        Err(MailboxError::Empty) => println!("child: try_receive on its empty mailbox: Empty"),
        other => println!("child: try_receive on its empty mailbox: {other:?}"),
    }
    let timeout = Duration::from_millis(300);
    let started_wait = Instant::now();
    let got = inbox.receive_timeout(timeout);
    let waited = started_wait.elapsed();
    let _ = started;
    match got {
        Err(MailboxError::Timeout) if waited >= timeout => {
            println!(
                "child: receive_timeout(300 ms) on its empty mailbox: Timeout, not before 300 ms"
            );
        }
        Err(MailboxError::Timeout) => {
            println!(
                "child: receive_timeout(300 ms) on its empty mailbox: Timeout after only {waited:?}"
            );
            eprintln!(
                "{PROGRAM}: receive_timeout(300 ms) gave up after {waited:?}: mq_timedreceive \
                 takes the moment to give up at (a time of day on CLOCK_REALTIME, now + the \
                 timeout), not the duration; 300 ms as a moment is in January 1970, long past"
            );
            return ExitCode::FAILURE;
        }
        other => println!("child: receive_timeout(300 ms) on its empty mailbox: {other:?}"),
    }
    match parent.send(b"done", 0) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail("child: send", &e),
    }
}

fn main() -> ExitCode {
    proctest::lifetime::children_die_with_parent();
    let mut args = Args::from_env(PROGRAM, &usage());
    let check = |args: &Args, value: String| -> String {
        if !value.starts_with('/') || value.len() > 200 || value[1..].contains('/') {
            args.fail(&format!(
                "PREFIX must start with / and contain no other / (a queue name), not {value:?}"
            ));
        }
        value
    };
    let child_of = args.value("--child").map(|v| check(&args, v));
    let prefix = match args.value("--name") {
        Some(v) => check(&args, v),
        None => child_of
            .clone()
            .unwrap_or_else(|| format!("/course-ipc-{}", std::process::id())),
    };
    let crash = args.flag("--crash");
    let no_child = args.flag("--no-child");
    let kill_parent = args.flag("--kill-parent");
    args.finish();
    if u8::from(crash) + u8::from(no_child) + u8::from(kill_parent) > 1 {
        Args::new(PROGRAM, &usage(), Vec::<String>::new())
            .fail("choose at most one of --crash, --no-child and --kill-parent");
    }
    if let Some(prefix) = child_of {
        return child(&prefix, crash);
    }
    if let Err(why) = mqueues_available() {
        eprintln!("{PROGRAM}: {why}");
        return ExitCode::FAILURE;
    }
    let start = open_fds();
    let names = [format!("{prefix}-child"), format!("{prefix}-parent")];
    let (mut inbox_of_child, mut inbox) = match (
        Mailbox::create(&names[0], CAPACITY, SIZE),
        Mailbox::create(&names[1], CAPACITY, SIZE),
    ) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return fail("parent: creating the mailboxes", &e),
    };
    println!(
        "parent: created the mailboxes `child` and `parent` ({CAPACITY} messages of at most {SIZE} bytes)"
    );
    for (body, priority) in [("routine 1", 1), ("urgent", 5), ("routine 2", 1)] {
        if let Err(e) = inbox_of_child.send(body.as_bytes(), priority) {
            return fail("parent: send", &e);
        }
    }
    println!(
        "parent: sent \"routine 1\" (priority 1), \"urgent\" (priority 5), \"routine 2\" (priority 1) before the child started"
    );
    let exe = if no_child {
        std::path::PathBuf::from("/nonexistent/os_mailbox-child")
    } else {
        std::env::current_exe().expect("my own program")
    };
    let mut command = Command::new(exe);
    command.args(["--child", &prefix]).stdin(Stdio::null());
    if crash {
        command.arg("--crash");
    }
    let mut child_process = match command.spawn() {
        Ok(process) => process,
        Err(e) => {
            // An early return: both mailboxes are dropped here, and must take their names
            // with them.
            eprintln!("{PROGRAM}: cannot start the child: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = inbox.receive() {
        let _ = child_process.kill();
        let _ = child_process.wait();
        return fail("parent: receive", &e);
    }
    // The child has both queues open: remove the names now.
    let unlinked = inbox_of_child.unlink().is_ok() & inbox.unlink().is_ok();
    if kill_parent {
        let _ = raise(Signal::SIGKILL);
    }
    let mut ok = unlinked;
    if crash {
        let status = child_process.wait().expect("wait for the child");
        println!("parent: the child ended: {status}");
        let mut kept = Vec::new();
        while let Ok(m) = inbox_of_child.try_receive() {
            kept.push(show(&m));
        }
        println!(
            "parent: the kernel kept the {} message(s) the child never read: {}",
            kept.len(),
            kept.join(", ")
        );
    } else {
        match inbox.receive() {
            Ok(m) => println!("parent: received {}", show(&m)),
            Err(e) => return fail("parent: receive", &e),
        }
        let status = child_process.wait().expect("wait for the child");
        ok &= status.success();
        println!("parent: the child ended: {status}");
    }
    let mut sent = 0;
    let full = loop {
        match inbox.try_send(b"filler", 0) {
            Ok(()) => sent += 1,
            Err(e) => break e,
        }
        if sent > CAPACITY {
            break MailboxError::Sys(nix::errno::Errno::EOVERFLOW);
        }
    };
    println!("parent: try_send into its own mailbox: {sent} accepted, then {full:?}");
    ok &= full == MailboxError::Full && sent == CAPACITY;
    drop(inbox_of_child);
    drop(inbox);
    let left: Vec<&String> = names.iter().filter(|n| mq_exists(n)).collect();
    if left.is_empty() {
        println!("parent: no mailbox left behind");
    } else {
        ok = false;
        println!("parent: mailboxes left behind: {left:?}");
    }
    let leaked: Vec<String> = open_fds()
        .iter()
        .filter(|fd| !start.contains(fd))
        .map(ToString::to_string)
        .collect();
    if leaked.is_empty() {
        println!("parent: descriptors: the same as at the start");
    } else {
        ok = false;
        println!("parent: descriptors left open: {}", leaked.join(", "));
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
