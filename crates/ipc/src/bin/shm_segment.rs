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
//!
//! `shm_segment --name NAME --create-fails` checks `Segment::create`'s error path alone:
//! the launcher lowers its file-size limit (RLIMIT_FSIZE, which binds root too) so that
//! `ftruncate` fails with EFBIG, calls `create`, and checks that the failed create left no
//! object behind.

use ipc::segment::{CAPACITY, set_role};
use ipc::shm_segment::Segment;
use ipc::sys::{shm_exists, step_usage};
use proctest::args::{Args, number_in};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ChildStdout, Command, ExitCode, ExitStatus, Stdio};

const PROGRAM: &str = "shm_segment";

fn usage() -> String {
    step_usage(
        "shm_segment [--name NAME] [--items N] [--no-lock | --stop-after-create | --create-fails]
       NAME: the segment's name, /something (default /course-ipc-PID-segment);
       N: items per producer, 1 to 10000000 (default 20000)",
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
    ipc::sys::die_with_parent();
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
    ipc::sys::die_with_parent();
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

/// `--create-fails`: `ftruncate` is made to fail (EFBIG), and the failed `create` must
/// leave nothing behind.
fn failed_create(name: &str) -> ExitCode {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: ignoring a signal installs no handler. Without this, a size past the limit
    // also sends SIGXFSZ, whose default action ends the process.
    if let Err(e) = unsafe { signal(Signal::SIGXFSZ, SigHandler::SigIgn) } {
        eprintln!("{PROGRAM}: cannot ignore SIGXFSZ: {e}");
        return ExitCode::FAILURE;
    }
    println!("launcher: the file-size limit is 1 byte during create: ftruncate must fail");
    // Only around `create`: standard output may be a file, which the limit binds too.
    let limits = getrlimit(Resource::RLIMIT_FSIZE)
        .and_then(|(soft, hard)| setrlimit(Resource::RLIMIT_FSIZE, 1, hard).map(|()| (soft, hard)));
    let (soft, hard) = match limits {
        Ok(limits) => limits,
        Err(e) => {
            eprintln!("{PROGRAM}: cannot lower the file-size limit: {e}");
            return ExitCode::FAILURE;
        }
    };
    let created = Segment::create(name);
    if let Err(e) = setrlimit(Resource::RLIMIT_FSIZE, soft, hard) {
        eprintln!("{PROGRAM}: cannot restore the file-size limit: {e}");
        return ExitCode::FAILURE;
    }
    match created {
        Ok(_) => {
            eprintln!(
                "{PROGRAM}: Segment::create({name}) succeeded although the object could not be \
                 given its size (ftruncate fails with EFBIG here): return ftruncate's error"
            );
            let _ = nix::sys::mman::shm_unlink(name);
            ExitCode::FAILURE
        }
        Err(e) if shm_exists(name) => {
            let _ = nix::sys::mman::shm_unlink(name);
            eprintln!(
                "{PROGRAM}: Segment::create({name}) failed ({e}) but left the object {name} \
                 behind (the launcher removed it): after shm_open created it, every error path \
                 removes it again (shm_unlink), or the next create of that name fails with \
                 EEXIST. Left behind."
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            println!("launcher: create failed ({e}) and left nothing behind");
            ExitCode::SUCCESS
        }
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
    proctest::lifetime::children_die_with_parent();
    let mut args = Args::from_env(PROGRAM, &usage());
    let name_ok =
        |n: &str| n.starts_with('/') && n.len() > 1 && n.len() < 200 && !n[1..].contains('/');
    if args.flag("--producer") {
        let (Some(name), Some(id), Some(count)) =
            (args.positional(), args.positional(), args.positional())
        else {
            args.fail("--producer takes NAME ID COUNT")
        };
        let id = number_in("ID", &id, &(0..=1)).unwrap_or_else(|p| args.fail(&p));
        let count = number_in("COUNT", &count, &(1..=10_000_000)).unwrap_or_else(|p| args.fail(&p));
        let (create, no_lock) = (args.flag("--create"), args.flag("--no-lock"));
        args.finish();
        return producer(&name, id, count, create, no_lock);
    }
    if args.flag("--consumer") {
        let (Some(name), Some(total)) = (args.positional(), args.positional()) else {
            args.fail("--consumer takes NAME TOTAL")
        };
        let total = number_in("TOTAL", &total, &(2..=20_000_000)).unwrap_or_else(|p| args.fail(&p));
        args.finish();
        return consumer(&name, total);
    }
    let name = match args.value("--name") {
        Some(value) if name_ok(&value) => value,
        Some(value) => args.fail(&format!(
            "NAME must start with / and contain no other /, not {value:?}"
        )),
        None => format!("/course-ipc-{}-segment", std::process::id()),
    };
    let items = args
        .number("--items", "N", 1..=10_000_000u64)
        .unwrap_or(20_000);
    let no_lock = args.flag("--no-lock");
    let stop_early = args.flag("--stop-after-create");
    let create_fails = args.flag("--create-fails");
    if [no_lock, stop_early, create_fails]
        .iter()
        .filter(|&&f| f)
        .count()
        > 1
    {
        args.fail("choose one of --no-lock, --stop-after-create and --create-fails");
    }
    args.finish();
    if create_fails {
        return failed_create(&name);
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
