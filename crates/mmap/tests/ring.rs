//! Checks `mmap/ring`: the ring buffer keeps the byte stream whole (in one process first,
//! where a failure is easy to read), never blocks, then a million items cross from a child
//! to its parent in order with the right checksum (through the demo binary: the test
//! harness never forks). Two rules no run on this machine can show are read in the source:
//! `write` runs in the forked producer, so it calls only async-signal-safe functions, and
//! the counters are published with Release and read with Acquire. One order no run shows
//! either is forced: a read-only data page makes `write`'s first byte copied into it fault,
//! and the counters are read at that moment (the new head must not be stored yet).
//!
//! The in-process checks take the ring as a type argument, so that the oracle tests at the
//! end can prove they fail plausible wrong rings with the right message.

mod common;

use common::{verdict, wrap};
use mmap::ring::Ring;
use mmap::shm::SharedMemory;
use proctest::source::{Source, Violation};
use proctest::{Demo, Finished, Hang};
use std::cell::UnsafeCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the checks need from a ring: the step's `Ring<N>`, or a wrong one of the oracles.
trait ByteRing {
    const CAPACITY: usize;
    fn new() -> Self;
    fn put(&self, bytes: &[u8]) -> usize;
    fn take(&self, buf: &mut [u8]) -> usize;
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool;
}

/// The step's ring, in an anonymous shared mapping as the demo makes it.
struct Real<const N: usize>(SharedMemory<Ring<N>>);

impl<const N: usize> ByteRing for Real<N> {
    const CAPACITY: usize = N;
    fn new() -> Self {
        Self(SharedMemory::new().expect("mmap of a ring"))
    }
    fn put(&self, bytes: &[u8]) -> usize {
        // SAFETY: each check is the only producer (and only consumer) of its own ring.
        unsafe { self.0.write(bytes) }
    }
    fn take(&self, buf: &mut [u8]) -> usize {
        // SAFETY: as in `put`: one producer and one consumer, the check.
        unsafe { self.0.read(buf) }
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The call a check is making, for the message when it does not return.
type Doing = Arc<Mutex<String>>;

fn doing(now: &Doing, what: String) {
    *now.lock().expect("not poisoned") = what;
}

/// Runs `check` on a fresh ring of type `R` under the watchdog, turning a panic of the ring
/// into a failure that says which call panicked, and a call that never returns into one
/// that says which call blocked.
fn run_check<R: ByteRing + 'static>(
    check: fn(&R, &Doing) -> Result<(), String>,
) -> Result<(), String> {
    run_check_within(common::BUDGET, check)
}

/// [`run_check`] with a budget of its own.
fn run_check_within<R: ByteRing + 'static>(
    budget: std::time::Duration,
    check: fn(&R, &Doing) -> Result<(), String>,
) -> Result<(), String> {
    let now: Doing = Arc::new(Mutex::new(String::from("creating the ring")));
    let seen = Arc::clone(&now);
    let outcome = proctest::within(budget, "the ring check", move || {
        let ring = R::new();
        catch_unwind(AssertUnwindSafe(|| check(&ring, &seen))).map_err(|payload| {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            format!(
                "{} panicked: {message}",
                seen.lock().map(|s| s.clone()).unwrap_or_default()
            )
        })
    });
    match outcome.map(|timed| timed.value) {
        Ok(Ok(result)) => result,
        Ok(Err(panicked)) => Err(panicked),
        Err(stuck) => Err(format!(
            "{} did not return: {stuck}. `write` and `read` never block: when the ring is full, \
             write copies nothing and returns 0, when it is empty, read returns 0; waiting is \
             done around them, by mmap::ring_io. Blocking call.",
            now.lock().map(|s| s.clone()).unwrap_or_default()
        )),
    }
}

fn pattern(start: u64, len: usize) -> Vec<u8> {
    (0..len as u64)
        .map(|i| ((start + i) * 31 % 251) as u8)
        .collect()
}

fn check_empty_and_full<R: ByteRing>(ring: &R, now: &Doing) -> Result<(), String> {
    let n = R::CAPACITY;
    let mut buf = [0u8; 16];
    doing(now, format!("read(16 bytes) from a new ring of {n} bytes"));
    if ring.take(&mut buf) != 0 || ring.len() != 0 || !ring.is_empty() {
        return Err(format!(
            "a new ring reads nothing, has len() 0 and is_empty(): got len() {}, is_empty() {}. \
             Empty ring misread.",
            ring.len(),
            ring.is_empty()
        ));
    }
    let all = pattern(0, n + 100);
    doing(
        now,
        format!("write({} bytes) into an empty ring of {n} bytes", n + 100),
    );
    let accepted = ring.put(&all);
    if accepted != n {
        return Err(format!(
            "an empty ring of {n} bytes takes exactly {n} of {} bytes (as much as there is room \
             for), but write returned {accepted}{}. Capacity wrong.",
            n + 100,
            if accepted + 1 == n {
                ": head - tail == N means full, no byte needs to stay free"
            } else if accepted == 0 {
                ": write copies as much as it can, not all or nothing"
            } else {
                ""
            }
        ));
    }
    if ring.len() != n || ring.is_empty() {
        return Err(format!(
            "after {n} bytes were written into a ring of {n}, len() should be {n} and \
             is_empty() false: got {} and {}. Full ring misread.",
            ring.len(),
            ring.is_empty()
        ));
    }
    doing(now, format!("write(4 bytes) into a full ring of {n} bytes"));
    let more = ring.put(b"more");
    if more != 0 {
        return Err(format!(
            "a full ring accepts nothing, but write(4 bytes) returned {more}: it overwrote \
             bytes the consumer has not read. Unread bytes overwritten."
        ));
    }
    let mut out = vec![0u8; n + 10];
    doing(
        now,
        format!("read({} bytes) from a full ring of {n} bytes", n + 10),
    );
    let got = ring.take(&mut out);
    if got != n || out[..n] != all[..n] {
        return Err(format!(
            "reading a full ring of {n} bytes gave {got} bytes{}",
            if got == n {
                ", not the bytes written"
            } else {
                ""
            }
        ));
    }
    if ring.len() != 0 || !ring.is_empty() {
        return Err(format!(
            "after reading everything, len() should be 0 and is_empty() true: got {} and {}. \
             Emptied ring misread.",
            ring.len(),
            ring.is_empty()
        ));
    }
    doing(
        now,
        "read(16 bytes) from a ring emptied by reading".to_owned(),
    );
    if ring.take(&mut buf) != 0 {
        return Err("a ring emptied by reading reads nothing more".to_owned());
    }
    Ok(())
}

fn check_wrap_around<R: ByteRing>(ring: &R, now: &Doing) -> Result<(), String> {
    let n = R::CAPACITY;
    // In the demo's ring of 64 KiB: 40000 bytes in and out, then 50000 from index 40000.
    let (first, len) = if n == 65536 {
        (40_000, 50_000)
    } else {
        (n * 5 / 8, n * 3 / 4)
    };
    let mut sink = vec![0u8; first];
    doing(
        now,
        format!("write({first} bytes) into an empty ring of {n} bytes"),
    );
    if ring.put(&pattern(0, first)) != first || ring.take(&mut sink) != first {
        return Err(format!(
            "{first} bytes should go in and out of an empty ring of {n} bytes"
        ));
    }
    // The next free index is `first`: the write goes to first..n, then 0..rest.
    let data = pattern(first as u64, len);
    doing(
        now,
        format!("writing {len} bytes into an empty ring whose next free index is {first} (of {n})"),
    );
    let accepted = ring.put(&data);
    if accepted != len {
        return Err(format!(
            "an empty ring has room for {len} bytes, but write returned {accepted}"
        ));
    }
    let mut out = vec![0u8; len];
    doing(
        now,
        format!("reading {len} bytes that start at index {first} and wrap around to index 0"),
    );
    let got = ring.take(&mut out);
    if got != len {
        return Err(format!("{len} bytes were written, read returned {got}"));
    }
    if out != data {
        return Err(format!(
            "the {len} bytes that wrapped around the end came back changed from byte {}: a \
             copy that reaches the end of the buffer continues at index 0. Wrap-around \
             wrong.",
            out.iter().zip(&data).position(|(a, b)| a != b).unwrap_or(0)
        ));
    }
    Ok(())
}

fn check_interleaved<R: ByteRing>(ring: &R, now: &Doing) -> Result<(), String> {
    let n = R::CAPACITY;
    let stream = pattern(7, 300 * n);
    let (mut sent, mut received) = (0usize, Vec::new());
    let mut step = 0usize;
    while received.len() < stream.len() {
        step += 1;
        let w = (step * 13) % (n + n / 4);
        let end = (sent + w).min(stream.len());
        doing(
            now,
            format!("write #{step} of {w} bytes into a ring of {n}"),
        );
        sent += ring.put(&stream[sent..end]);
        let mut buf = vec![0u8; (step * 7) % (n + n / 8)];
        doing(
            now,
            format!(
                "read #{step} of up to {} bytes from a ring of {n}",
                buf.len()
            ),
        );
        let got = ring.take(&mut buf);
        received.extend_from_slice(&buf[..got]);
        if ring.len() != sent - received.len() {
            return Err(format!(
                "after write #{step} and read #{step}, {} bytes were written and {} read, but \
                 len() says {}. len() wrong.",
                sent,
                received.len(),
                ring.len()
            ));
        }
        if step > 100_000 {
            return Err("no progress: the ring stopped moving bytes".to_owned());
        }
    }
    if received != stream {
        return Err(format!(
            "the bytes that came out are not the bytes that went in (first difference at byte \
             {}): none may be lost, duplicated or reordered. Stream corrupted.",
            received
                .iter()
                .zip(&stream)
                .position(|(a, b)| a != b)
                .unwrap_or(received.len())
        ));
    }
    Ok(())
}

#[test]
fn an_empty_ring_reads_nothing_and_a_full_ring_accepts_nothing() {
    verdict(run_check::<Real<65536>>(check_empty_and_full));
}

#[test]
fn a_write_that_reaches_the_end_continues_at_index_zero() {
    verdict(run_check::<Real<65536>>(check_wrap_around));
}

#[test]
fn interleaved_writes_and_reads_of_every_size_keep_the_stream_whole() {
    // A tiny ring, so that every size and every position around the end is exercised.
    verdict(run_check::<Real<64>>(check_interleaved));
}

#[test]
fn a_ring_whose_size_is_not_a_power_of_two_keeps_the_stream_whole() {
    let result = run_check::<Real<1000>>(check_interleaved)
        .and_then(|()| run_check::<Real<1000>>(check_wrap_around));
    verdict(result.map_err(|e| {
        // The same check as in a ring of 64 bytes: a failure only here is the index.
        let flat = e.split_whitespace().collect::<Vec<_>>().join(" ");
        let cause = flat.strip_suffix(" Stream corrupted.").unwrap_or(&flat);
        proctest::wrap(
            &format!(
                "In a ring of 1000 bytes, not a power of two: {cause} Byte p of the stream sits \
                 at index p % N; p & (N - 1) is the same index only when N is a power of two. \
                 An index that skips."
            ),
            98,
        )
    }));
}

/// The step's source, parsed.
fn source() -> Source {
    Source::read(proctest::step_file!("11_mmap/ring.rs"))
        .unwrap_or_else(|err| panic!("{err}"))
        .helpers("crate::child", &["Line", "write_all", "exit"])
}

/// What `write` may not do, since the demo's producer is a forked child. The bounds check
/// of the given `check_in_buffer` is left out: its `assert!` fires only for a copy past
/// the end, which the in-process tests above report first.
fn producer_violations(source: &Source) -> Vec<Violation> {
    source
        .runs_in_child("write")
        .into_iter()
        .filter(|v| v.function != "check_in_buffer")
        .collect()
}

#[test]
fn write_calls_only_what_a_forked_producer_may_call() {
    proctest::source::assert_none(&producer_violations(&source()));
}

/// The memory orderings `write` and `read` use on the counters, read in the source: a
/// `Relaxed` store of our own counter (or a `Relaxed` load of the other side's) breaks
/// the hand-over of the bytes on a weakly ordered processor, and x86 hides it. Fences
/// (`fence(Release)` before the store, `fence(Acquire)` after the load) are accepted.
mod orderings {
    use syn::visit::Visit;

    /// One counter access with its ordering, in one function: a `load`, a `store`, or a
    /// read-modify-write (`fetch_add`, `swap`, `compare_exchange`, `fetch_update`), which
    /// both reads and publishes.
    #[derive(Debug)]
    pub struct Access {
        pub function: String,
        pub counter: String,
        pub method: String,
        pub store: bool,
        pub ordering: String,
        pub line: usize,
        pub column: usize,
    }

    /// A `fence(ordering)` call: its function, ordering and place.
    #[derive(Debug)]
    struct Fence {
        function: String,
        ordering: String,
        at: (usize, usize),
    }

    #[derive(Default)]
    struct Finder {
        function: String,
        accesses: Vec<Access>,
        fences: Vec<Fence>,
    }

    fn ordering_of(expr: &syn::Expr) -> Option<String> {
        match expr {
            syn::Expr::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
            _ => None,
        }
    }

    /// `self.head`, `self.head.0`, `(*self.head)`: the counter's name.
    fn counter_of(expr: &syn::Expr) -> Option<String> {
        match expr {
            syn::Expr::Field(field) => match &field.member {
                syn::Member::Named(name) if name == "head" || name == "tail" => {
                    Some(name.to_string())
                }
                _ => counter_of(&field.base),
            },
            syn::Expr::Paren(inner) => counter_of(&inner.expr),
            syn::Expr::Unary(unary) => counter_of(&unary.expr),
            _ => None,
        }
    }

    impl<'ast> Visit<'ast> for Finder {
        fn visit_impl_item_fn(&mut self, node: &'ast syn::ImplItemFn) {
            self.function = node.sig.ident.to_string();
            syn::visit::visit_impl_item_fn(self, node);
        }

        fn visit_expr_method_call(&mut self, node: &'ast syn::ExprMethodCall) {
            let method = node.method.to_string();
            // The ordering that matters: a load's, a store's, and for a read-modify-write
            // the one of its write (what publishes our counter).
            let ordering = match method.as_str() {
                "load" | "fetch_update" => node.args.first(),
                "store" | "swap" | "fetch_add" | "fetch_sub" | "fetch_max" | "fetch_or" => {
                    node.args.iter().nth(1)
                }
                "compare_exchange" | "compare_exchange_weak" => node.args.iter().nth(2),
                _ => None,
            };
            if let (Some(ordering), Some(counter)) =
                (ordering.and_then(ordering_of), counter_of(&node.receiver))
            {
                let at = node.method.span().start();
                self.accesses.push(Access {
                    function: self.function.clone(),
                    counter,
                    store: method != "load",
                    method,
                    ordering,
                    line: at.line,
                    column: at.column,
                });
            }
            syn::visit::visit_expr_method_call(self, node);
        }

        fn visit_expr_call(&mut self, node: &'ast syn::ExprCall) {
            if let syn::Expr::Path(path) = &*node.func {
                let name = path.path.segments.last().map(|s| s.ident.to_string());
                if name.as_deref() == Some("fence") {
                    if let Some(ordering) = node.args.first().and_then(ordering_of) {
                        let at = path.path.segments.last().map_or((0, 0), |s| {
                            let at = s.ident.span().start();
                            (at.line, at.column)
                        });
                        self.fences.push(Fence {
                            function: self.function.clone(),
                            ordering,
                            at,
                        });
                    }
                }
            }
            syn::visit::visit_expr_call(self, node);
        }
    }

    /// The counter accesses of `write` and `read` whose ordering is too weak, as sentences.
    pub fn too_weak(file: &str, text: &str) -> Vec<String> {
        let Ok(ast) = syn::parse_file(text) else {
            return Vec::new();
        };
        let mut finder = Finder::default();
        finder.visit_file(&ast);
        // A fence orders a Relaxed access only from the right side: a Release fence
        // before our store, an Acquire fence after the load of the other side's counter.
        let fenced = |access: &Access, wanted: &[&str], before: bool| {
            let place = (access.line, access.column);
            finder.fences.iter().any(|fence| {
                fence.function == access.function
                    && wanted.contains(&fence.ordering.as_str())
                    && if before {
                        fence.at < place
                    } else {
                        fence.at > place
                    }
            })
        };
        let mut found = Vec::new();
        for access in &finder.accesses {
            // Whose counter is it? The producer owns head, the consumer tail.
            let own = matches!(
                (access.function.as_str(), access.counter.as_str()),
                ("write", "head") | ("read", "tail")
            );
            let other = matches!(
                (access.function.as_str(), access.counter.as_str()),
                ("write", "tail") | ("read", "head")
            );
            let releases = ["Release", "AcqRel", "SeqCst"].contains(&access.ordering.as_str());
            let acquires = ["Acquire", "AcqRel", "SeqCst"].contains(&access.ordering.as_str());
            let how = if access.method == "store" {
                format!("stores `{}`", access.counter)
            } else {
                format!("updates `{}` ({})", access.counter, access.method)
            };
            let fence_note = if finder
                .fences
                .iter()
                .any(|f| f.function == access.function && f.ordering != "Acquire")
            {
                " A fence(Release) counts only before the store it orders."
            } else {
                ""
            };
            if own
                && access.store
                && !releases
                && !fenced(access, &["Release", "AcqRel", "SeqCst"], true)
            {
                found.push(format!(
                    "{file}:{}: `{}` {how} with {}: the bytes it copied before may become \
                     visible to the other process after the new `{}`, which then reads (or \
                     overwrites) bytes not yet there. Publish with Ordering::Release.{fence_note}",
                    access.line, access.function, access.ordering, access.counter
                ));
            }
            let fence_note = if finder
                .fences
                .iter()
                .any(|f| f.function == access.function && f.ordering != "Release")
            {
                " A fence(Acquire) counts only after the load it orders."
            } else {
                ""
            };
            if other
                && !access.store
                && !acquires
                && !fenced(access, &["Acquire", "AcqRel", "SeqCst"], false)
            {
                found.push(format!(
                    "{file}:{}: `{}` loads the other side's `{}` with {}: seeing its new \
                     value does not make the other side's copies visible, so this side may \
                     read stale bytes (or overwrite bytes still being read). Load it with \
                     Ordering::Acquire.{fence_note}",
                    access.line, access.function, access.counter, access.ordering
                ));
            }
        }
        found
    }
}

fn ordering_message(found: &[String]) -> String {
    wrap(&format!(
        "{}\nnote: x86 keeps stores in order, so the demo passes on this machine, but the \
         compiler may move plain copies past a Relaxed store, and ARM or POWER reorder them \
         too. Release on our counter, Acquire on the other side's. Memory ordering too weak.",
        found.join("\n")
    ))
}

#[test]
fn the_counters_hand_the_bytes_over_with_release_and_acquire() {
    let path = proctest::step_file!("11_mmap/ring.rs");
    let text = std::fs::read_to_string(path).expect("read the step's file");
    let found = orderings::too_weak("exercises/11_mmap/ring.rs", &text);
    assert!(found.is_empty(), "{}", ordering_message(&found));
}

fn diagnose(hang: &Hang) -> String {
    let processes = &hang.snapshot.processes;
    let waiting_for_child = processes.iter().any(|p| {
        p.blocked_in
            .as_ref()
            .is_some_and(|c| c.name.starts_with("wait"))
    });
    let running = processes.iter().any(|p| p.state == 'R');
    let why = if waiting_for_child && running {
        "the transfer never finished: the parent, the consumer, stopped reading and waits for \
         the child in wait4(), while the child, the producer, spins on a ring that stays full \
         because nobody empties it any more. The consumer took the stream for ended (or for \
         broken) too early: a consumer that reads bytes the producer has not copied yet (head \
         stored before the copy, or more read than is available) loses its place in the \
         stream. Transfer stuck."
            .to_owned()
    } else {
        let states: Vec<String> = processes
            .iter()
            .map(|p| format!("pid {} state {}", p.pid, p.state))
            .collect();
        format!(
            "the transfer never finished: neither process is blocked in a system call, they \
             are waiting on each other through the ring ({}): the producer sees the ring full \
             while the consumer sees it empty. Check how `write` and `read` compute the free \
             and available bytes from head and tail. Transfer stuck.",
            states.join(", ")
        )
    };
    proctest::verdict(&hang, &why)
}

fn run_demo(args: &[&str]) -> Finished {
    Demo::new(env!("CARGO_BIN_EXE_ring"))
        .args(args)
        .run()
        .unwrap_or_else(|hang| panic!("{}", diagnose(&hang)))
}

#[test]
fn a_million_items_cross_from_child_to_parent_in_order() {
    let run = run_demo(&[]);
    assert!(
        run.code() == Some(0),
        "{}",
        wrap(&format!(
            "{}{}\nThe ring demo failed (exit {:?}, signal {:?}): the items must arrive in \
             order, none lost or duplicated.",
            run.stdout,
            run.stderr,
            run.code(),
            run.signal()
        ))
    );
    assert!(run.leftovers.is_empty(), "{}", run.describe_leftovers());
    insta::assert_snapshot!("ring_million", run.stdout);
}

#[test]
fn bad_arguments_are_usage_errors_and_fork_nothing() {
    for bad in ["abc", "-3", "0", "100000001"] {
        run_demo(&[bad]).assert_usage_error(
            &format!("`ring {bad}`"),
            &[
                &format!("invalid number of items `{bad}`"),
                "from 1 to 100000000",
            ],
        );
    }
    let run = run_demo(&["1", "2"]);
    run.assert_usage_error("`ring 1 2`", &["too many arguments"]);
    insta::assert_snapshot!("ring_usage", run.stderr);
}

// The oracles: wrong rings the checks above must fail, with the right message.

/// A mistake a ring can make.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bug {
    /// Copies past the end of the buffer instead of wrapping (the starter).
    NoWrap,
    /// Keeps one byte free to tell full from empty.
    WastesAByte,
    /// Writes everything or nothing.
    AllOrNothing,
    /// Waits in `write` until everything fits.
    BlocksWhenFull,
    /// Advances `tail` by the size of the buffer, not by what it copied.
    TailBySize,
    /// Computes the write index from `tail`.
    IndexFromTail,
}

/// Lets a [`Bug::BlocksWhenFull`] ring stop waiting once its test has its verdict, so that
/// it does not spin for the rest of the test binary's life.
static RELEASE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The reference algorithm with one [`Bug`] in it; `B` selects the bug.
struct Buggy<const N: usize, const B: u8> {
    head: AtomicU64,
    tail: AtomicU64,
    data: UnsafeCell<Vec<u8>>,
}

const fn bug(b: u8) -> Bug {
    match b {
        0 => Bug::NoWrap,
        1 => Bug::WastesAByte,
        2 => Bug::AllOrNothing,
        3 => Bug::BlocksWhenFull,
        4 => Bug::TailBySize,
        _ => Bug::IndexFromTail,
    }
}

impl<const N: usize, const B: u8> ByteRing for Buggy<N, B> {
    const CAPACITY: usize = N;
    fn new() -> Self {
        Self {
            head: AtomicU64::new(0),
            tail: AtomicU64::new(0),
            data: UnsafeCell::new(vec![0; N]),
        }
    }
    fn put(&self, bytes: &[u8]) -> usize {
        let b = bug(B);
        let head = self.head.load(Ordering::Relaxed);
        let mut tail = self.tail.load(Ordering::Acquire);
        let mut free = N.saturating_sub(head.wrapping_sub(tail) as usize);
        if b == Bug::WastesAByte {
            free = free.saturating_sub(1);
        }
        while b == Bug::BlocksWhenFull && free < bytes.len() && !RELEASE.load(Ordering::Relaxed) {
            std::hint::spin_loop();
            tail = self.tail.load(Ordering::Acquire);
            free = N.saturating_sub(head.wrapping_sub(tail) as usize);
        }
        let mut n = bytes.len().min(free);
        if b == Bug::AllOrNothing && n < bytes.len() {
            n = 0;
        }
        let base = if b == Bug::IndexFromTail { tail } else { head };
        let start = (base % N as u64) as usize;
        // SAFETY: single-threaded oracle: nobody else touches the buffer.
        let data = unsafe { &mut *self.data.get() };
        if b == Bug::NoWrap {
            data[start..start + n].copy_from_slice(&bytes[..n]);
        } else {
            let first = n.min(N - start);
            data[start..start + first].copy_from_slice(&bytes[..first]);
            data[..n - first].copy_from_slice(&bytes[first..n]);
        }
        self.head.store(head + n as u64, Ordering::Release);
        n
    }
    fn take(&self, buf: &mut [u8]) -> usize {
        let tail = self.tail.load(Ordering::Relaxed);
        let head = self.head.load(Ordering::Acquire);
        let n = buf.len().min(head.wrapping_sub(tail) as usize);
        let start = (tail % N as u64) as usize;
        // SAFETY: single-threaded oracle: nobody else touches the buffer.
        let data = unsafe { &*self.data.get() };
        let first = n.min(N - start);
        buf[..first].copy_from_slice(&data[start..start + first]);
        buf[first..n].copy_from_slice(&data[..n - first]);
        let advance = if bug(B) == Bug::TailBySize {
            buf.len()
        } else {
            n
        };
        self.tail.store(tail + advance as u64, Ordering::Release);
        n
    }
    fn len(&self) -> usize {
        let tail = self.tail.load(Ordering::Acquire);
        self.head.load(Ordering::Acquire).wrapping_sub(tail) as usize
    }
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Every in-process check on the ring type `R` (of capacity 64, where every size and every
/// position around the end is exercised quickly): the first failure's message.
fn check_all<R: ByteRing + 'static>() -> Result<(), String> {
    run_check::<R>(check_empty_and_full)?;
    run_check::<R>(check_wrap_around)?;
    run_check::<R>(check_interleaved)
}

#[track_caller]
fn assert_fails<R: ByteRing + 'static>(expected: &[&str]) {
    let message = check_all::<R>().expect_err("the checks must fail this wrong ring");
    for text in expected {
        assert!(
            message.contains(text),
            "the message should say {text:?}:\n{message}"
        );
    }
}

#[test]
fn the_checks_fail_wrong_rings_with_the_right_message() {
    assert_fails::<Buggy<64, 0>>(&[
        "writing 48 bytes into an empty ring whose next free index is 40 (of 64) panicked",
    ]);
    assert_fails::<Buggy<64, 1>>(&[
        "takes exactly 64 of 164 bytes",
        "but write returned 63: head - tail == N means full",
    ]);
    assert_fails::<Buggy<64, 2>>(&["write returned 0: write copies as much as it can"]);
    assert_fails::<Buggy<64, 4>>(&["a new ring reads nothing, has len() 0"]);
    assert_fails::<Buggy<64, 5>>(&["the bytes that came out are not the bytes that went in"]);
}

#[test]
fn the_checks_report_a_write_that_waits_for_room() {
    let budget = std::time::Duration::from_secs(2);
    let result = run_check_within::<Buggy<64, 3>>(budget, check_empty_and_full);
    RELEASE.store(true, Ordering::Relaxed);
    let message = result.expect_err("a write that waits must fail");
    for text in [
        "write(164 bytes) into an empty ring of 64 bytes did not return",
        "its thread is running, not blocked",
        "`write` and `read` never block",
    ] {
        assert!(
            message.contains(text),
            "the message should say {text:?}:\n{message}"
        );
    }
}

#[test]
fn the_source_checks_fail_a_ring_with_relaxed_counters_or_a_printing_producer() {
    let reference = include_str!("../../../solutions/11_mmap/ring.rs");
    assert!(orderings::too_weak("ring.rs", reference).is_empty());
    let relaxed = reference
        .replace(
            "self.head.store(head + n as u64, Ordering::Release)",
            "self.head.store(head + n as u64, Ordering::Relaxed)",
        )
        .replace(
            "let head = self.head.load(Ordering::Acquire);",
            "let head = self.head.load(Ordering::Relaxed);",
        );
    let found = orderings::too_weak("ring.rs", &relaxed);
    assert_eq!(found.len(), 2, "{found:?}");
    let message = ordering_message(&found);
    assert!(
        message.contains("`write` stores `head` with Relaxed")
            && message.contains("`read` loads the other side's `head` with Relaxed")
            && message.ends_with("Memory ordering too weak."),
        "{message}"
    );
    let fenced = relaxed.replace(
        "self.head.store(head + n as u64, Ordering::Relaxed)",
        "std::sync::atomic::fence(Ordering::Release);\n        self.head.store(head + n as u64, Ordering::Relaxed)",
    );
    assert_eq!(orderings::too_weak("ring.rs", &fenced).len(), 1);
    // A fence after the store orders nothing the other side relies on.
    let fenced_late = relaxed.replace(
        "self.head.store(head + n as u64, Ordering::Relaxed)",
        "self.head.store(head + n as u64, Ordering::Relaxed);\n        \
         std::sync::atomic::fence(Ordering::Release)",
    );
    let found = orderings::too_weak("ring.rs", &fenced_late);
    assert!(
        found.len() == 2
            && found[0].contains("`write` stores `head` with Relaxed")
            && found[0].contains("A fence(Release) counts only before the store it orders."),
        "{found:?}"
    );
    // A read-modify-write publishes too: fetch_add(Relaxed) is as weak as a Relaxed store.
    let added = reference.replace(
        "self.head.store(head + n as u64, Ordering::Release)",
        "self.head.fetch_add(n as u64, Ordering::Relaxed)",
    );
    let found = orderings::too_weak("ring.rs", &added);
    assert!(
        found.len() == 1 && found[0].contains("`write` updates `head` (fetch_add) with Relaxed"),
        "{found:?}"
    );
    let printing = reference.replace(
        "let free = N - head.wrapping_sub(tail) as usize;",
        "let free = N - head.wrapping_sub(tail) as usize;\n        println!(\"{free} free\");",
    );
    let source = Source::parse("ring.rs", &printing)
        .expect("parse")
        .helpers("crate::child", &["Line", "write_all", "exit"]);
    let found = producer_violations(&source);
    assert!(
        found.len() == 1 && found[0].to_string().contains("calls `println!`"),
        "{found:?}"
    );
    // The advice names the helpers this crate has (crate::child), not another topic's.
    let advice = std::panic::catch_unwind(|| proctest::source::assert_none(&found))
        .expect_err("a violation fails")
        .downcast::<String>()
        .expect("a message");
    assert!(
        advice.contains("crate::child's Line, write_all and exit")
            && advice.contains("leave with crate::child::exit.")
            && !advice.contains("crate::sys"),
        "{advice}"
    );
}

/// What the SIGSEGV handler of [`probe`] needs: the protected page,
/// where the ring's counters are, and what it saw.
mod fault_probe {
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

    pub static PAGE: AtomicUsize = AtomicUsize::new(0);
    pub static HEAD: AtomicUsize = AtomicUsize::new(0);
    pub static TAIL: AtomicUsize = AtomicUsize::new(0);
    pub static FAULTED: AtomicBool = AtomicBool::new(false);
    /// head - tail when the producer first wrote into the protected page.
    pub static PUBLISHED: AtomicU64 = AtomicU64::new(0);

    /// The handler: a write into the protected page records the counters, then makes the
    /// page writable again and returns, so that the write is retried and succeeds. Only
    /// loads, stores and mprotect: async-signal-safe.
    pub extern "C" fn on_segv(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        let page = PAGE.load(Ordering::SeqCst);
        // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
        let addr = unsafe { (*info).si_addr() } as usize;
        if page == 0 || !(page..page + 4096).contains(&addr) {
            // Not ours: give the fault back to the default action (the write is retried).
            // SAFETY: resetting a disposition is async-signal-safe.
            unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
            return;
        }
        // SAFETY: HEAD and TAIL point at the ring's two counters, alive during the probe.
        let (head, tail) = unsafe {
            (
                (*(HEAD.load(Ordering::SeqCst) as *const AtomicU64)).load(Ordering::SeqCst),
                (*(TAIL.load(Ordering::SeqCst) as *const AtomicU64)).load(Ordering::SeqCst),
            )
        };
        PUBLISHED.store(head.wrapping_sub(tail), Ordering::SeqCst);
        FAULTED.store(true, Ordering::SeqCst);
        // SAFETY: the page is part of the probe's mapping; making it writable again is what
        // lets the interrupted write finish.
        unsafe {
            libc::mprotect(
                page as *mut libc::c_void,
                4096,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
    }
}

/// Which call [`probe`] makes fault. `Producer`: the ring's data page that the next write
/// falls in is made read-only, so `put`'s first byte copied into it faults, and the handler
/// reads the counters at that very moment: the new head must not be stored yet (a consumer
/// that loaded it would see bytes counted that are not there). `Consumer`: the page
/// holding 64 unread bytes is made unreadable, so `take`'s first byte copied out faults;
/// `tail` must not be stored yet (the producer could overwrite bytes still being copied).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Producer,
    Consumer,
}

/// Makes `side`'s copy fault on its first byte and checks the counters at that instant.
/// `base` is the ring's mapping: head at offset 0, tail at `pad`, the data at `2 * pad` (the
/// `Ring` struct's layout); `capacity` its data size.
fn probe(
    base: usize,
    pad: usize,
    capacity: usize,
    put: &dyn Fn(&[u8]) -> usize,
    take: &dyn Fn(&mut [u8]) -> usize,
    side: Side,
) -> Result<(), String> {
    use fault_probe::{FAULTED, HEAD, PAGE, PUBLISHED, TAIL};
    use std::sync::atomic::Ordering::SeqCst;
    // One probe at a time: the handler and its statics belong to the whole process, and
    // the tests run on parallel threads. (Another probe's handler, or a disposition
    // restored under this one, would take this probe's fault for a real one: SIGSEGV.)
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _probing = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let data = base + 2 * pad;
    let page = data.div_ceil(4096) * 4096;
    let skip = page - data;
    assert!(skip + 64 <= capacity, "the probe's ring is too small");
    // Empty the ring with head = tail = skip: the next write starts at the protected page.
    let filler = vec![0u8; skip];
    let mut out = vec![0u8; skip];
    if skip > 0 && (put(&filler) != skip || take(&mut out) != skip) {
        return Err("the ring did not take and give back its first bytes".to_owned());
    }
    HEAD.store(base, SeqCst);
    TAIL.store(base + pad, SeqCst);
    FAULTED.store(false, SeqCst);
    PUBLISHED.store(0, SeqCst);
    // SAFETY: a zeroed sigaction with SA_SIGINFO and a valid handler is a valid action.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
        fault_probe::on_segv;
    action.sa_sigaction = handler as usize;
    action.sa_flags = libc::SA_SIGINFO;
    // SAFETY: all zero is a valid sigaction, overwritten by the call below.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: the old action is restored below; the handler only acts on our page.
    unsafe { libc::sigaction(libc::SIGSEGV, &action, &mut old) };
    PAGE.store(page, SeqCst);
    if side == Side::Consumer && put(&[0xab; 64]) != 64 {
        return Err("an empty ring did not take 64 bytes".to_owned());
    }
    let protection = match side {
        Side::Producer => libc::PROT_READ,
        Side::Consumer => libc::PROT_NONE,
    };
    // SAFETY: the page belongs to the ring's mapping, which outlives the probe.
    unsafe { libc::mprotect(page as *mut libc::c_void, 4096, protection) };
    let moved = match side {
        Side::Producer => put(&[0xab; 64]),
        Side::Consumer => take(&mut [0u8; 64]),
    };
    PAGE.store(0, SeqCst);
    // SAFETY: as above; and the previous action comes back.
    unsafe {
        libc::mprotect(
            page as *mut libc::c_void,
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
        );
        libc::sigaction(libc::SIGSEGV, &old, std::ptr::null_mut());
    }
    if moved != 64 {
        return Err(format!("the ring moved {moved} of 64 bytes"));
    }
    if !FAULTED.load(SeqCst) {
        return Err("the copy never touched the ring's data page it was due in".to_owned());
    }
    let published = PUBLISHED.load(SeqCst);
    if side == Side::Consumer && published != 64 {
        return Err(format!(
            "read stored the new tail before it copied the bytes out. When the copy began, \
             the ring counted only {published} unread byte(s) instead of 64, so the producer \
             could already overwrite bytes still being read. Copy the bytes out first, then \
             store the new tail with Release. Released before read."
        ));
    }
    if side == Side::Producer && published != 0 {
        return Err(format!(
            "write stored the new head before it copied the bytes in. When the copy began, \
             the ring already counted {published} byte(s), so a consumer loading head then \
             would take bytes that are not there yet. Copy the bytes first, then store the \
             new head with Release. Published before written."
        ));
    }
    Ok(())
}

/// The size of the ring the probe uses: a few pages, so that a page of data can be
/// protected alone.
const PROBE: usize = 4 * 4096;

/// Runs `probe` on a fresh step's ring of [`PROBE`] bytes, under the watchdog.
fn probe_the_ring(side: Side) -> Result<(), String> {
    let pad = std::mem::size_of::<mmap::shm::Padded<AtomicU64>>();
    assert_eq!(
        std::mem::size_of::<Ring<PROBE>>(),
        2 * pad + PROBE,
        "Ring's fields must stay as the starter declares them (head, tail, data)"
    );
    common::within(
        "a write or read on a ring with a protected data page",
        "`write` and `read` never block: look for a loop that never ends",
        move || {
            let ring: SharedMemory<Ring<PROBE>> = SharedMemory::new().expect("mmap of a ring");
            let base = std::ptr::from_ref::<Ring<PROBE>>(&ring) as usize;
            let put = |bytes: &[u8]| {
                // SAFETY: the check is the ring's only producer.
                unsafe { ring.write(bytes) }
            };
            let take = |buf: &mut [u8]| {
                // SAFETY: the check is the ring's only consumer.
                unsafe { ring.read(buf) }
            };
            probe(base, pad, PROBE, &put, &take, side)
        },
    )
    .and_then(|result| result)
}

#[test]
fn write_copies_the_bytes_before_it_publishes_them() {
    verdict(probe_the_ring(Side::Producer));
}

#[test]
fn read_copies_the_bytes_out_before_it_releases_them() {
    verdict(probe_the_ring(Side::Consumer));
}

/// A wrong ring with the step's layout, whose `write` stores head before it copies.
#[repr(C)]
struct PublishesFirst {
    head: mmap::shm::Padded<AtomicU64>,
    tail: mmap::shm::Padded<AtomicU64>,
    data: UnsafeCell<[u8; PROBE]>,
}

// SAFETY: atomics and plain bytes, all zero is valid.
unsafe impl mmap::shm::Shareable for PublishesFirst {}
// SAFETY: the oracle is only ever used by the one thread of its test.
unsafe impl Sync for PublishesFirst {}

impl PublishesFirst {
    fn write(&self, bytes: &[u8]) -> usize {
        let head = self.head.load(Ordering::Relaxed);
        let n = bytes
            .len()
            .min(PROBE - (head - self.tail.load(Ordering::Acquire)) as usize);
        self.head.store(head + n as u64, Ordering::Release);
        for (i, &b) in bytes[..n].iter().enumerate() {
            let at = (head as usize + i) % PROBE;
            // SAFETY: the oracle is used by one thread; `at` is in bounds.
            unsafe { (*self.data.get())[at] = b };
        }
        n
    }

    /// The consumer's mistake: the new tail is stored before the bytes are copied out.
    fn read_releasing_first(&self, buf: &mut [u8]) -> usize {
        let tail = self.tail.load(Ordering::Relaxed);
        let n = buf
            .len()
            .min((self.head.load(Ordering::Acquire) - tail) as usize);
        self.tail.store(tail + n as u64, Ordering::Release);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            // SAFETY: as in `write`.
            *b = unsafe { (*self.data.get())[(tail as usize + i) % PROBE] };
        }
        n
    }

    fn read(&self, buf: &mut [u8]) -> usize {
        let tail = self.tail.load(Ordering::Relaxed);
        let n = buf
            .len()
            .min((self.head.load(Ordering::Acquire) - tail) as usize);
        for (i, b) in buf[..n].iter_mut().enumerate() {
            // SAFETY: as in `write`.
            *b = unsafe { (*self.data.get())[(tail as usize + i) % PROBE] };
        }
        self.tail.store(tail + n as u64, Ordering::Release);
        n
    }
}

#[test]
fn oracle_a_write_that_publishes_before_it_copies_is_caught() {
    let ring: SharedMemory<PublishesFirst> = SharedMemory::new().expect("mmap of a ring");
    let pad = std::mem::size_of::<mmap::shm::Padded<AtomicU64>>();
    let base = std::ptr::from_ref::<PublishesFirst>(&ring) as usize;
    let put = |bytes: &[u8]| ring.write(bytes);
    let take = |buf: &mut [u8]| ring.read(buf);
    let why = probe(base, pad, PROBE, &put, &take, Side::Producer)
        .expect_err("a ring that publishes first must be caught");
    assert!(
        why.contains("already counted 64 byte(s)") && why.ends_with("Published before written."),
        "{why}"
    );
}

#[test]
fn oracle_a_read_that_releases_before_it_copies_is_caught() {
    let ring: SharedMemory<PublishesFirst> = SharedMemory::new().expect("mmap of a ring");
    let pad = std::mem::size_of::<mmap::shm::Padded<AtomicU64>>();
    let base = std::ptr::from_ref::<PublishesFirst>(&ring) as usize;
    // A right write (copy, then publish), so that only the read is wrong.
    let put = |bytes: &[u8]| {
        let head = ring.head.load(Ordering::Relaxed);
        let n = bytes.len();
        for (i, &b) in bytes.iter().enumerate() {
            // SAFETY: the oracle is used by one thread; the index is in bounds.
            unsafe { (*ring.data.get())[(head as usize + i) % PROBE] = b };
        }
        ring.head.store(head + n as u64, Ordering::Release);
        n
    };
    let take = |buf: &mut [u8]| ring.read_releasing_first(buf);
    let why = probe(base, pad, PROBE, &put, &take, Side::Consumer)
        .expect_err("a ring that releases first must be caught");
    assert!(
        why.contains("only 0 unread byte(s)") && why.ends_with("Released before read."),
        "{why}"
    );
}
