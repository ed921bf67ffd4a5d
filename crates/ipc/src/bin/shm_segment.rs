//! Demo of `ipc/shm_segment`: two producers and a consumer, three processes started one
//! after the other (none forks another: they only share the segment's name), exchange
//! items through the bounded buffer in a shared-memory segment.
//!
//! This program is the launcher; it runs itself in three roles:
//! - `shm_segment --producer NAME 0 N --create`: creates the segment, says `ready`, puts N
//!   items (producer 0's item i is `i`, producer 1's is `1 << 32 | i`);
//! - `shm_segment --producer NAME 1 N`: attaches the segment, says `attached`, puts N items;
//! - `shm_segment --consumer NAME 2N`: attaches the segment, removes its name at once (all
//!   three have it mapped by then), says `attached`, takes 2N items and checks them.
//!
//! Usage: `shm_segment [--name NAME] [--items N] [--no-lock | --stop-after-create]`. N is
//! per producer, 1 to 10000000 (default 20000). `--no-lock` makes the producers skip the
//! mutex (the race of the notes, shown: items lost and read twice); `--stop-after-create`
//! kills the creator as soon as it is ready, before anyone else attached (the launcher then
//! removes the segment itself).

use ipc::segment::{CAPACITY, set_role};
use ipc::shm_segment::Segment;
use ipc::sys::{number, shm_exists, step_usage, usage_error};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdout, Command, ExitCode, ExitStatus, Stdio};

const PROGRAM: &str = "shm_segment";

fn usage() -> String {
    step_usage(
        "shm_segment [--name NAME] [--items N] [--no-lock | --stop-after-create]\n\
         NAME: the segment's name, /something (default /course-ipc-PID-segment); N: items \
         per producer, 1 to 10000000 (default 20000)",
        "shm_segment --items 1000",
        "ipc/shm_segment",
    )
}

fn say(line: &str) {
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The race of the notes: a put that skips the mutex.
fn put_without_lock(segment: &Segment, item: u64) {
    let b = segment.buffer();
    b.empty.wait();
    // SAFETY: deliberately racy (the demonstration): two producers may read the same
    // next_in and write the same slot. Volatile accesses to plain integers: the worst that
    // happens is a lost or repeated item, which is what the consumer counts.
    unsafe {
        let at = b.next_in.get_unguarded();
        b.slots[at as usize % CAPACITY].set_unguarded(item);
        b.next_in.set_unguarded((at + 1) % CAPACITY as u32);
    }
    b.full.post();
}

fn producer(name: &str, id: u64, count: u64, create: bool, no_lock: bool) -> ExitCode {
    set_role(if id == 0 { "producer 0" } else { "producer 1" });
    let segment = if create {
        Segment::create(name)
    } else {
        Segment::attach(name)
    };
    let segment = match segment {
        Ok(segment) => segment,
        Err(e) => {
            eprintln!(
                "{PROGRAM}: producer {id}: cannot {} the segment {name}: {e}",
                if create { "create" } else { "attach" }
            );
            return ExitCode::FAILURE;
        }
    };
    say(if create { "ready" } else { "attached" });
    for i in 0..count {
        let item = id << 32 | i;
        if no_lock {
            put_without_lock(&segment, item);
        } else {
            segment.put(item);
        }
    }
    ExitCode::SUCCESS
}

fn consumer(name: &str, total: u64) -> ExitCode {
    set_role("the consumer");
    let segment = match Segment::attach(name) {
        Ok(segment) => segment,
        Err(e) => {
            eprintln!("{PROGRAM}: consumer: cannot attach the segment {name}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Everyone has the segment mapped: the name can go.
    let unlinked = segment.unlink();
    say(&format!(
        "attached{}",
        if unlinked.is_ok() {
            ""
        } else {
            " (unlink failed)"
        }
    ));
    let per = total / 2;
    let mut next = [0u64; 2];
    let mut seen = [vec![0u8; per as usize], vec![0u8; per as usize]];
    let mut out_of_order = 0u64;
    for _ in 0..total {
        let item = segment.take();
        let (who, i) = ((item >> 32) as usize, item & 0xffff_ffff);
        if who > 1 || i >= per {
            out_of_order += 1;
            continue;
        }
        if i < next[who] {
            out_of_order += 1;
        }
        next[who] = next[who].max(i + 1);
        seen[who][i as usize] = seen[who][i as usize].saturating_add(1);
    }
    let twice: u64 = seen
        .iter()
        .flatten()
        .filter(|&&n| n > 1)
        .map(|&n| u64::from(n) - 1)
        .sum();
    let never: u64 = seen.iter().flatten().filter(|&&n| n == 0).count() as u64;
    if twice == 0 && never == 0 && out_of_order == 0 {
        say(&format!(
            "took {total} items: {per} from each producer, each producer's in order"
        ));
        ExitCode::SUCCESS
    } else {
        say(&format!(
            "took {total} items: {never} never seen, {twice} read more than once, {out_of_order} out of order"
        ));
        ExitCode::FAILURE
    }
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(libc::SIGBUS)) => "was killed by SIGBUS (a bus error: it touched memory of the segment that does not exist)".to_owned(),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => "ended".to_owned(),
    }
}

struct Role {
    name: &'static str,
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Role {
    fn start(name: &'static str, args: &[String]) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find my program: {e}"))?;
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let out = BufReader::new(child.stdout.take().expect("piped"));
        Ok(Self { name, child, out })
    }

    /// The next line the role says, or how it ended if it ends first.
    fn line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.out.read_line(&mut line) {
            Ok(n) if n > 0 => Ok(line.trim_end().to_owned()),
            _ => {
                let status = self.child.wait().map_err(|e| e.to_string())?;
                Err(format!(
                    "{} {} before it said it was ready",
                    self.name,
                    describe(status)
                ))
            }
        }
    }
}

fn stop(roles: &mut [Role]) {
    for role in roles.iter_mut() {
        let _ = role.child.kill();
        let _ = role.child.wait();
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fail = |problem: &str| -> ! { usage_error(PROGRAM, problem, &usage()) };
    let name_ok =
        |n: &str| n.starts_with('/') && n.len() > 1 && n.len() < 200 && !n[1..].contains('/');
    match args.first().map(String::as_str) {
        Some("--producer") => {
            let (name, id, count) = match args.get(1..4) {
                Some([name, id, count]) => (name, id, count),
                _ => fail("--producer takes NAME ID COUNT"),
            };
            let id = number("ID", id, 0..=1).unwrap_or_else(|p| fail(&p));
            let count = number("COUNT", count, 1..=10_000_000).unwrap_or_else(|p| fail(&p));
            let rest = &args[4..];
            return producer(
                name,
                id,
                count,
                rest.iter().any(|a| a == "--create"),
                rest.iter().any(|a| a == "--no-lock"),
            );
        }
        Some("--consumer") => {
            let (name, total) = match args.get(1..3) {
                Some([name, total]) => (name, total),
                _ => fail("--consumer takes NAME TOTAL"),
            };
            return consumer(
                name,
                number("TOTAL", total, 2..=20_000_000).unwrap_or_else(|p| fail(&p)),
            );
        }
        _ => {}
    }
    let mut name = format!("/course-ipc-{}-segment", std::process::id());
    let (mut items, mut no_lock, mut stop_early) = (20_000u64, false, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--name" => {
                let value = it.next().unwrap_or_else(|| fail("--name needs a NAME"));
                if !name_ok(value) {
                    fail(&format!(
                        "NAME must start with / and contain no other /, not {value:?}"
                    ));
                }
                name.clone_from(value);
            }
            "--items" => {
                let value = it.next().unwrap_or_else(|| fail("--items needs a number"));
                items = number("N", value, 1..=10_000_000).unwrap_or_else(|p| fail(&p));
            }
            "--no-lock" => no_lock = true,
            "--stop-after-create" => stop_early = true,
            other => fail(&format!("unknown argument {other:?}")),
        }
    }
    if no_lock && stop_early {
        fail("choose one of --no-lock and --stop-after-create");
    }
    let lock_flag: Vec<String> = if no_lock {
        vec!["--no-lock".to_owned()]
    } else {
        Vec::new()
    };
    let producer_args = |id: &str, create: bool| {
        let mut a = vec![
            "--producer".to_owned(),
            name.clone(),
            id.to_owned(),
            items.to_string(),
        ];
        if create {
            a.push("--create".to_owned());
        }
        a.extend(lock_flag.iter().cloned());
        a
    };
    let mut roles: Vec<Role> = Vec::new();
    let outcome = (|| -> Result<(), String> {
        roles.push(Role::start("producer 0", &producer_args("0", true))?);
        let said = roles[0].line()?;
        say(&format!(
            "producer 0: created the segment and initialized its semaphores ({said})"
        ));
        if stop_early {
            let _ = roles[0].child.kill();
            let status = roles[0].child.wait().map_err(|e| e.to_string())?;
            return Err(format!(
                "producer 0 {} (killed on purpose: --stop-after-create)",
                describe(status)
            ));
        }
        roles.push(Role::start("producer 1", &producer_args("1", false))?);
        let said = roles[1].line()?;
        say(&format!("producer 1: {said} the segment"));
        roles.push(Role::start(
            "the consumer",
            &[
                "--consumer".to_owned(),
                name.clone(),
                (2 * items).to_string(),
            ],
        )?);
        let said = roles[2].line()?;
        say(&format!(
            "the consumer: {said} the segment, and removed its name"
        ));
        // The producers first: if one fails, the consumer would wait for its items forever.
        let mut statuses = Vec::new();
        for role in &mut roles[..2] {
            let status = role.child.wait().map_err(|e| e.to_string())?;
            if !status.success() {
                return Err(format!("{} {}", role.name, describe(status)));
            }
            statuses.push((role.name, status));
        }
        let result = roles[2].line().unwrap_or_else(|e| e);
        say(&format!("the consumer: {result}"));
        let status = roles[2].child.wait().map_err(|e| e.to_string())?;
        statuses.push((roles[2].name, status));
        for (name, status) in &statuses {
            say(&format!("{name}: {}", describe(*status)));
        }
        if status.success() {
            Ok(())
        } else {
            Err("the consumer failed".to_owned())
        }
    })();
    stop(&mut roles);
    let left = shm_exists(&name);
    if left {
        // Whatever went wrong, the launcher knows the name: nothing stays behind.
        let _ = nix::sys::mman::shm_unlink(name.as_str());
    }
    match outcome {
        Ok(()) if !left => {
            say("no segment left behind");
            ExitCode::SUCCESS
        }
        Ok(()) => {
            eprintln!(
                "{PROGRAM}: the segment {name} was still there at the end (the launcher removed it)"
            );
            ExitCode::FAILURE
        }
        Err(problem) => {
            eprintln!(
                "{PROGRAM}: {problem}{}",
                if left {
                    "; the launcher removed the segment left behind"
                } else {
                    ""
                }
            );
            ExitCode::FAILURE
        }
    }
}
