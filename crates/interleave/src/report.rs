//! Failure reports: what happened, in which schedule, and how to see it again.

use std::fmt;

use crate::trace::Trace;

/// How many primitive-level events the detailed trace shows at most (the last ones).
pub(crate) const DETAIL_LIMIT: usize = 400;
/// How many rows the interleaving table shows at most (the last ones).
const TABLE_LIMIT: usize = 120;

/// Kinds of failure an execution can end with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Threads wait for each other in a cycle, or for something no thread will do.
    Deadlock,
    /// A thread waits for a notification that no remaining thread can send.
    LostWakeup,
    /// A simulated thread panicked.
    Panic,
    /// An invariant registered with [`crate::explore::invariant()`] returned false.
    Invariant,
    /// The step budget was exceeded (livelock or busy-waiting).
    Budget,
    /// A thread was bypassed more often than a [`crate::explore::Fairness`] bound allows.
    Unfair,
    /// A primitive escaped the scheduler (real primitive blocking inside a simulation...).
    Escape,
    /// Two accesses to a tracked cell ([`crate::cell::UnsafeCell`]) that no
    /// happens-before orders: data published without Release and Acquire, or shared
    /// without synchronisation.
    DataRace,
    /// A failure whose cause a test found in its own record of the run and wrote in the
    /// message, in the step's words (a spin that can never end because a turn was
    /// skipped): the message is the whole headline.
    Explained,
}

impl FailureKind {
    /// The headline word used in reports.
    pub fn headline(self) -> &'static str {
        match self {
            FailureKind::Deadlock => "deadlock",
            FailureKind::LostWakeup => "deadlock (lost wake-up)",
            FailureKind::Panic => "panic",
            FailureKind::Invariant => "invariant violated",
            FailureKind::Budget => "step budget exceeded",
            FailureKind::Unfair => "bounded waiting violated",
            FailureKind::Escape => "escape from the scheduler",
            FailureKind::DataRace => "data race",
            FailureKind::Explained => "failure",
        }
    }
}

/// A failure found by [`crate::explore::check`], with everything needed to replay it.
#[derive(Clone, Debug)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The diagnosis in one or two sentences.
    pub message: String,
    /// The strategy string that replays the failing schedule (`pct:3`, `schedule:4.9`).
    pub strategy: String,
    /// The seed of the failing schedule.
    pub seed: u64,
    /// Which schedule of the exploration failed (1 is the first).
    pub schedule: usize,
    /// The trace of the failing schedule up to the failure.
    pub trace: Trace,
}

impl Failure {
    /// Whether a wait in the failing schedule ended with a spurious wake-up (std's condvar
    /// contract, [`crate::explore::CondvarSemantics::Std`], or a Mesa monitor): what an
    /// oracle test of a wait without a loop checks the failure came from.
    pub fn had_spurious_wakeup(&self) -> bool {
        self.trace.events.iter().any(|e| {
            e.outcome
                .as_deref()
                .is_some_and(|o| o.starts_with("spurious wake-up ("))
        })
    }

    /// The replay line printed at the end of the report.
    pub fn replay_line(&self) -> String {
        replay_line(self.seed, &self.strategy)
    }
}

impl fmt::Display for Failure {
    /// The evidence first (the interleaving, then the detailed trace), the verdict last:
    /// what went wrong, where, why, and the replay line, within 100 columns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let steps = self.trace.events.last().map(|e| e.step).unwrap_or(0);
        let api = self.trace.api_only();
        let (title, table) = if api.events.is_empty() {
            ("interleaving (primitive operations)", &self.trace)
        } else {
            ("interleaving", &api)
        };
        match crate::trace::report_timeline(table, TABLE_LIMIT) {
            Some(t) => writeln!(f, "{title}:\n{t}")?,
            None => writeln!(
                f,
                "{title}:\n{}",
                crate::trace::report_compact(&table.events, TABLE_LIMIT)
            )?,
        }
        // The detailed trace, when it says more than the interleaving: operations on
        // objects below the topic's level (locks, waits, loads and stores).
        let more = self
            .trace
            .events
            .iter()
            .any(|e| !e.api && e.object.is_some());
        if !api.events.is_empty() && more {
            writeln!(
                f,
                "detailed trace:\n{}",
                crate::trace::report_compact(&self.trace.events, DETAIL_LIMIT)
            )?;
        }
        let mut v = Verdict::new(headline(self.kind, &self.message));
        let when = format!(
            "step {steps} of schedule {} (strategy {}, seed {})",
            self.schedule, self.strategy, self.seed
        );
        match panicking_thread(self.kind, &self.message)
            .as_deref()
            .and_then(|t| panic_place(&self.trace, t))
        {
            Some(place) => {
                if let Some(check) = failed_check(&self.message, &place) {
                    v.headline = check;
                }
                v.place = Some(place);
                v.context.push(format!("at {when}"));
            }
            None => v.place = Some(when),
        }
        if self.kind == FailureKind::Budget && self.message.contains("busy-wait") {
            v.helps.push(busy_wait_help(&self.message, false));
        }
        v.replay = self.replay_line();
        write!(f, "{v}")
    }
}

/// The first line of a verdict: the kind of failure and its diagnosis.
pub(crate) fn headline(kind: FailureKind, message: &str) -> String {
    match kind {
        FailureKind::Panic => match message.strip_prefix("thread ") {
            Some(rest) => rest.to_string(),
            None => format!("panic: {message}"),
        },
        // The diagnosis starts with the words: "data race on the message: ...", or is the
        // test's own.
        FailureKind::DataRace | FailureKind::Explained => message.to_string(),
        _ => format!("{}: {message}", kind.headline()),
    }
}

/// A panic raised at `place` by the step's own checks (an assertion of its tests, run in a
/// simulated thread), not by the student's code: its message alone, since the thread did
/// not fail, a check did (`starvation: P1 stayed hungry...`, not `P1 panicked: ...`).
/// `None` for a panic in the student's file (`exercises/...`), which stays "panicked".
pub(crate) fn failed_check(message: &str, place: &str) -> Option<String> {
    // Rust's own panics (an overflow, an unwrap, an index) are a bug of the code that ran,
    // wherever it is written.
    const RUNTIME: [&str; 6] = [
        "attempt to ",
        "called `",
        "index out of bounds",
        "not yet implemented",
        "not implemented",
        "internal error: entered unreachable code",
    ];
    let in_tests = place.starts_with("crates/") && place.contains("/tests/");
    let (_, check) = message.split_once(" panicked: ")?;
    (in_tests && !RUNTIME.iter().any(|start| check.starts_with(start))).then(|| check.to_string())
}

/// The simulated thread a panic message names (`thread S1 panicked: ...`).
fn panicking_thread(kind: FailureKind, message: &str) -> Option<String> {
    if kind != FailureKind::Panic {
        return None;
    }
    let rest = message.strip_prefix("thread ")?;
    let (name, _) = rest.split_once(" panicked")?;
    Some(name.to_string())
}

/// Where thread `thread` panicked, as the panic hook recorded it in the trace.
pub(crate) fn panic_place(trace: &Trace, thread: &str) -> Option<String> {
    trace
        .events
        .iter()
        .rev()
        .find(|e| e.thread == thread && e.op.starts_with(crate::trace::PANICKED_AT))
        .map(|e| clean_path(&e.op[crate::trace::PANICKED_AT.len()..]))
}

/// A source path with its `dir/..` pairs resolved, as a student finds the file:
/// `crates/warmup/src/../../../exercises/00_warmup/scoped_sum.rs:20:5` is
/// `exercises/00_warmup/scoped_sum.rs:20:5`.
pub(crate) fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            "." => {}
            _ => parts.push(part),
        }
    }
    parts.join("/")
}

/// The end of every report, shaped like rustc's diagnostics: `error:` with what went
/// wrong, `-->` where, `note:` why it matters, `help:` what to try, and the replay line
/// last.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    pub(crate) headline: String,
    pub(crate) place: Option<String>,
    /// More about the place (`= at step 34 of schedule 1 ...`).
    pub(crate) context: Vec<String>,
    pub(crate) notes: Vec<String>,
    pub(crate) helps: Vec<String>,
    pub(crate) replay: String,
}

impl Verdict {
    pub(crate) fn new(headline: impl Into<String>) -> Self {
        Verdict {
            headline: headline.into(),
            ..Verdict::default()
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::text::{WIDTH, labelled};
        write!(f, "{}", labelled("error: ", &self.headline, WIDTH))?;
        if let Some(p) = &self.place {
            write!(f, "{}", labelled("  --> ", p, WIDTH))?;
        }
        for c in &self.context {
            write!(f, "{}", labelled("   = ", c, WIDTH))?;
        }
        for n in &self.notes {
            write!(f, "{}", labelled("note: ", n, WIDTH))?;
        }
        for h in &self.helps {
            write!(f, "{}", labelled("help: ", h, WIDTH))?;
        }
        write!(f, "{}", self.replay)
    }
}

thread_local! {
    /// Set while interleave panics with a finished report: the panic hook prints the
    /// report alone, without the "thread ... panicked at" line.
    static REPORTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Panics with a student-facing report as the message (a `String`, so that
/// `#[should_panic(expected = ...)]` matches it). The panic hook prints the report as it
/// is: no thread id, no place inside interleave, no backtrace.
pub(crate) fn fail(report: String) -> ! {
    install_panic_hook();
    REPORTING.with(|r| r.set(true));
    std::panic::panic_any(report)
}

/// Installs (once) the panic hook that keeps reports readable and deterministic:
/// - a report of interleave's is printed alone (see [`fail`]);
/// - a panic in a simulated thread prints nothing: the execution's report says it once,
///   with the place the hook records in the trace;
/// - every other panic goes to the previous hook.
pub(crate) fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if REPORTING.with(|r| r.replace(false)) {
                let msg = payload_text(info.payload());
                eprintln!("{msg}");
                return;
            }
            if let Some(e) = crate::runtime::current()
                && let Some(mut st) = e.shared.st.try_lock()
                && st.current.is_some()
            {
                if let Some(l) = info.location() {
                    let at = format!(
                        "{}{}:{}:{}",
                        crate::trace::PANICKED_AT,
                        l.file(),
                        l.line(),
                        l.column()
                    );
                    st.push_event(None, at.into(), None, false);
                }
                return;
            }
            // Any other panic: as std prints it, but without the thread's numeric id
            // (the same failure prints the same text on every run), with the place's
            // path resolved and long lines wrapped; std's own output (and backtrace) when
            // a backtrace is asked for.
            if std::env::var("RUST_BACKTRACE").is_ok_and(|v| v != "0") {
                return previous(info);
            }
            let payload = payload_text(info.payload());
            if payload == SCOPE_PANICKED {
                // std's scope says again that one of its threads panicked: that thread's
                // panic was printed already, with its place and message.
                return;
            }
            let name = std::thread::current()
                .name()
                .map(|n| format!("thread '{n}'"))
                .unwrap_or_else(|| "a thread".to_string());
            let (place, function) = match info.location() {
                Some(l) => {
                    let here = format!("{}:{}:{}", clean_path(l.file()), l.line(), l.column());
                    match students_frame(&here, payload) {
                        Some((there, function)) => (format!(" at {there}"), function),
                        None => (format!(" at {here}"), None),
                    }
                }
                None => (String::new(), None),
            };
            let mut head = format!("{name} panicked{place}:");
            if crate::text::width(&head) > crate::text::WIDTH {
                // libtest's header names the test already.
                head = format!("panicked{place}:");
            }
            let msg = wrap_message(payload);
            match function {
                Some(f) => eprintln!("\n{head}\n{msg}\n\n(in `{f}`)"),
                None => eprintln!("\n{head}\n{msg}"),
            }
        }));
    });
}

/// What std's `thread::scope` panics with after one of its threads panicked.
const SCOPE_PANICKED: &str = "a scoped thread panicked";

/// Where a panic outside any simulation happened in the student's file (`exercises/...`),
/// and in which function, from the backtrace: for a panic raised inside Rust's library on
/// the student's behalf (`Duration - Duration` that overflows, an `expect` of std's), the
/// first frame in the student's file and its function; for a panic in the student's file,
/// its function. `None` for a `todo!()` (its place says it all) and for panics elsewhere.
fn students_frame(place: &str, message: &str) -> Option<(String, Option<String>)> {
    let in_library = place.starts_with("/rustc/") || place.contains("/library/");
    let in_exercise = place.contains("exercises/");
    if !(in_library || in_exercise)
        || message.starts_with("not yet implemented")
        || message.starts_with("not implemented")
    {
        return None;
    }
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    let mut function: Option<&str> = None;
    for line in trace.lines() {
        let line = line.trim();
        if let Some(path) = line.strip_prefix("at ") {
            let path = clean_path(path);
            if let Some(at) = path.find("exercises/") {
                let there = path[at..].to_string();
                let f = function.map(short_function);
                return Some(if in_exercise {
                    (place.to_string(), f)
                } else {
                    (there, f)
                });
            }
        } else if let Some((n, name)) = line.split_once(": ")
            && n.chars().all(|c| c.is_ascii_digit())
        {
            function = Some(name);
        }
    }
    None
}

/// A function of the backtrace as the student wrote it: `Deadline::remaining` for
/// `locks::clocks::Deadline::remaining`, without closures and hashes.
fn short_function(name: &str) -> String {
    let parts: Vec<&str> = name
        .split("::")
        // Closures (`{{closure}}`) and hashes (`h0123456789abcdef`) are not the student's.
        .filter(|p| !(p.starts_with("{{") || (p.starts_with('h') && p.len() == 17)))
        .collect();
    match parts.as_slice() {
        [.., ty, f] if !ty.contains(['<', '>']) && ty.starts_with(char::is_uppercase) => {
            format!("{ty}::{f}")
        }
        [.., f] => f.to_string(),
        [] => name.to_string(),
    }
}

/// A panic message with its long lines wrapped (lines of tables are kept as they are).
fn wrap_message(msg: &str) -> String {
    let mut out = String::new();
    for line in msg.lines() {
        if crate::text::width(line) <= crate::text::WIDTH || line.contains(" | ") {
            out.push_str(line);
        } else {
            let indent = line.len() - line.trim_start().len();
            out.push_str(&crate::text::labelled(
                &line[..indent],
                line.trim_start(),
                crate::text::WIDTH,
            ));
            out.pop();
        }
        out.push('\n');
    }
    out.pop();
    out
}

fn payload_text(p: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<String>() {
        s
    } else if let Some(s) = p.downcast_ref::<&str>() {
        s
    } else {
        "(non-string panic payload)"
    }
}

/// `text` broken between words into lines of at most `width` columns, each of its own lines
/// on its own: for the messages of a test's failures, as the reports here are laid out (the
/// runner indents a failure by two, so 98 fits in 100 columns).
pub fn wrap(text: &str, width: usize) -> String {
    text.lines()
        .map(|line| crate::text::wrap_prose(line, width).join("\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `replay: just trace tunnel/fair --seed 7 --strategy pct:3` under the course runner
/// (when `COURSE_STEP` is set), otherwise the environment variables and cargo command.
pub fn replay_line(seed: u64, strategy: &str) -> String {
    if let Ok(step) = std::env::var("COURSE_STEP")
        && !step.is_empty()
    {
        return format!("replay: just trace {step} --seed {seed} --strategy {strategy}");
    }
    shell_lines(&format!(
        "replay: INTERLEAVE_SEED={seed} INTERLEAVE_STRATEGY={strategy} INTERLEAVE_ITERATIONS=1 {}",
        cargo_test_command()
    ))
}

/// A command split into lines of at most 100 columns with shell continuations (` \`),
/// so that it can still be copied and pasted as it is.
pub(crate) fn shell_lines(cmd: &str) -> String {
    let max = crate::text::WIDTH - 2;
    let mut out = String::new();
    let mut line = String::new();
    for word in cmd.split(' ') {
        if !line.trim().is_empty() && crate::text::width(&line) + 1 + crate::text::width(word) > max
        {
            out.push_str(&line);
            out.push_str(" \\\n");
            line = format!("    {word}");
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    out.push_str(&line);
    out
}

/// `cargo test -p tunnel --test basic -- the_test --exact`: the command that runs the
/// current test alone (from the package, the test binary and the thread's name).
pub(crate) fn cargo_test_command() -> String {
    let mut cmd = String::from("cargo test");
    if let Ok(pkg) = std::env::var("CARGO_PKG_NAME") {
        cmd.push_str(&format!(" -p {pkg}"));
    }
    if let Some(bin) = test_binary()
        && Some(bin.as_str()) != std::env::var("CARGO_CRATE_NAME").ok().as_deref()
    {
        cmd.push_str(&format!(" --test {bin}"));
    }
    if let Some(name) = std::thread::current().name()
        && name != "main"
    {
        cmd.push_str(&format!(" -- {name} --exact"));
    }
    cmd
}

/// The test binary's name without cargo's hash suffix.
fn test_binary() -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let stem = exe.file_stem()?.to_str()?;
    let name = match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            name
        }
        _ => stem,
    };
    Some(name.to_string())
}

/// How a diagnosis names an object: `Mutex fork 1`, `Condvar ready`, or `Channel#1` for an
/// object with a default name (not `Channel Channel#1`).
pub(crate) fn object_label(kind: &str, name: &str) -> String {
    match name.strip_prefix(kind) {
        Some(rest) if rest.starts_with('#') => name.to_string(),
        _ => format!("{kind} {name}"),
    }
}

/// The help for a busy-wait: block instead. A loop that spins while it holds a lock or a
/// monitor is told that nobody can get in; one that already yields, that yielding is not
/// waiting; one that does not is also told, for the steps that ask for spinning, to yield
/// between looks. In a scenario (`scripted`), the table's next step waits for every call
/// to return or block: what the loop waits for is a later step, which a loop that never
/// blocks keeps from coming.
pub(crate) fn busy_wait_help(message: &str, scripted: bool) -> String {
    let how = "(wait on a condition variable, receive from a channel, lock the mutex it needs)";
    // `... looping over yield while it holds Monitor gate, which O waits to enter: ...`:
    // nobody can change what the loop waits for, whatever it calls in the loop.
    let held = message
        .split_once(" while it holds ")
        .and_then(|(_, rest)| rest.split([',', ':']).next());
    if let Some(held) = held {
        return format!(
            "while a thread holds {held}, no other thread can get in to change what its loop \
             waits for, and yielding does not let go of it. Wait on a condition variable, which \
             releases {held} while it waits, or let go of it between looks"
        );
    }
    if scripted {
        format!(
            "a call that must wait should block {how} instead of testing a condition in a \
             loop: the table moves to its next step only once every call has returned or \
             blocked, so a loop that never blocks keeps what it waits for (a later step) from \
             coming"
        )
    } else if message.contains("yield") {
        format!(
            "unless the step asks for spinning, block {how} instead of testing a condition in \
             a loop. The loop already calls yield_now(), so the other threads did run and what \
             it waits for never happened: look also at what should make its condition true"
        )
    } else {
        format!(
            "a thread that must wait for another should block {how}, not test a condition in \
             a loop; where the step asks for spinning, call yield_now() between looks, so that \
             the thread it waits for can run"
        )
    }
}

/// The diagnosis of an exhausted step budget, from the end of the trace: who ran out of
/// it and what they repeated (`R1 ran 1000 steps without blocking, spinning on `flag`
/// (load): a busy-wait`). `spinner` is the thread that ran too long without blocking, or
/// `None` when the whole execution ran out of steps.
pub(crate) fn budget_message(
    st: &crate::runtime::execution::State,
    spinner: Option<usize>,
) -> String {
    let start = st.events.len().saturating_sub(600);
    let events: Vec<crate::trace::Event> =
        st.events[start..].iter().map(|e| st.resolve(e)).collect();
    let repeat = crate::trace::collapse(&events)
        .into_iter()
        .rev()
        .find_map(|l| match l {
            crate::trace::Line::Repeat {
                threads,
                objects,
                ops,
                ..
            } => Some((threads, objects, ops)),
            crate::trace::Line::Event(_) => None,
        });
    let spinning = |objects: &[String], ops: &[String]| {
        if objects.is_empty() {
            format!("looping over {}", ops.join(", "))
        } else {
            let names: Vec<String> = objects.iter().map(|o| format!("`{o}`")).collect();
            format!("spinning on {} ({})", names.join(", "), ops.join(", "))
        }
    };
    // What the spinner holds, and who waits for it: a thread that spins while it holds
    // a lock or a monitor keeps out the very thread that would end its wait.
    let holding = |t: usize| -> String {
        let held: Vec<(usize, &crate::runtime::execution::ObjRec)> = st
            .objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.holders.contains(&t) && o.kind != "Channel")
            .collect();
        let Some((id, o)) = held.first() else {
            return String::new();
        };
        let waiting: Vec<&str> = (0..st.threads.len())
            .filter(|&w| {
                matches!(st.threads[w].state, crate::runtime::execution::TState::Blocked { wait, .. }
                    if wait.kind == crate::runtime::WaitKind::Acquire && wait.obj == Some(*id))
            })
            .map(|w| st.thread_name(w))
            .collect();
        let label = object_label(o.kind, &o.name);
        match waiting.as_slice() {
            [] => format!(" while it holds {label}"),
            [one] => format!(" while it holds {label}, which {one} waits to enter"),
            [init @ .., last] => format!(
                " while it holds {label}, which {} and {last} wait to enter",
                init.join(", ")
            ),
        }
    };
    match spinner {
        Some(t) => {
            let name = st.thread_name(t);
            let head = format!("{name} ran {} steps without blocking", st.max_streak);
            match repeat {
                Some((threads, objects, ops)) if threads.iter().any(|x| x == name) => {
                    format!(
                        "{head}, {}{}: a busy-wait",
                        spinning(&objects, &ops),
                        holding(t)
                    )
                }
                _ => format!("{head}{}", holding(t)),
            }
        }
        None => {
            let head = format!("the execution ran {} steps without ending", st.max_steps);
            match repeat {
                Some((threads, objects, ops)) => {
                    let holds = match threads.as_slice() {
                        [one] => (0..st.threads.len())
                            .find(|&t| st.thread_name(t) == one)
                            .map(holding)
                            .unwrap_or_default(),
                        _ => String::new(),
                    };
                    let what = if threads.len() == 1 {
                        "a busy-wait"
                    } else {
                        "a livelock or a busy-wait"
                    };
                    format!(
                        "{head}; at the end, {} kept {}{holds}: {what}",
                        threads.join(" and "),
                        spinning(&objects, &ops)
                    )
                }
                None => format!("{head}: a livelock, or a busy-wait?"),
            }
        }
    }
}

/// `server waits to receive on Channel requests, whose Sender is still held by main`.
pub(crate) fn receive_wait(name: &str, channel: &str, holders: &[&str]) -> String {
    match holders {
        [] => format!("{name} waits to receive on {channel}"),
        [one] if *one == name => {
            format!("{name} waits to receive on {channel}, whose Sender {name} itself holds")
        }
        [one] => {
            format!("{name} waits to receive on {channel}, whose Sender is still held by {one}")
        }
        more => format!(
            "{name} waits to receive on {channel}, whose Senders are still held by {}",
            more.join(" and ")
        ),
    }
}
