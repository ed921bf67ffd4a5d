//! The thread table's entries and the coroutines that run simulated threads: each
//! simulated thread is a stackful coroutine (corosensei) on the simulation's OS thread;
//! stacks are pooled and reused across executions.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};

use corosensei::{Coroutine, Yielder};

use super::execution::ObjId;
use super::overflow::GuardedStack;

/// Index of a simulated thread in the thread table.
pub(crate) type Tid = usize;
/// A simulated thread's coroutine: resumed with `()`, yields `()`, returns its panic
/// message if it panicked.
pub(crate) type Co = Coroutine<(), (), Option<String>, GuardedStack>;

/// What a blocked thread waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitKind {
    /// Ownership of a lock-like object (mutex, rwlock, monitor entry).
    Acquire,
    /// A notification on a condition variable or monitor condition.
    Notify,
    /// Room in a channel.
    Send,
    /// A message in a channel.
    Recv,
    /// The end of another thread.
    Join,
    /// A deadline only (sleep).
    Sleep,
    /// One of several channel operations (`select!`); the thread's record lists them.
    Select,
    /// A permit of a semaphore.
    Permit,
    /// An `unpark` (`thread::park`).
    Park,
}

/// The reason a thread is blocked.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Wait {
    pub(crate) kind: WaitKind,
    pub(crate) obj: Option<ObjId>,
    pub(crate) thread: Option<Tid>,
}

impl Wait {
    pub(crate) fn on(kind: WaitKind, obj: ObjId) -> Self {
        Wait {
            kind,
            obj: Some(obj),
            thread: None,
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum TState {
    Ready,
    Blocked { wait: Wait, deadline: Option<u64> },
    Finished,
}

pub(crate) struct ThreadRec {
    pub(crate) name: std::borrow::Cow<'static, str>,
    pub(crate) state: TState,
    pub(crate) stamp: u64,
    pub(crate) streak: u64,
    pub(crate) yielded: bool,
    pub(crate) timed_out: bool,
    /// Spurious wake-ups this thread may still get (std's condvar contract).
    pub(crate) spurious_left: u8,
    /// The thread's last wait ended with a spurious wake-up (not a notification).
    pub(crate) woke_spuriously: bool,
    /// While blocked in a `select!`: its operations (`Send` or `Recv`, channel).
    pub(crate) select: Vec<(WaitKind, ObjId)>,
    /// A pending `unpark` (`thread::park` returns at once and consumes it).
    pub(crate) unparked: bool,
}

thread_local! {
    static STACKS: RefCell<Vec<GuardedStack>> = const { RefCell::new(Vec::new()) };
}

/// How big a simulated thread's stack is (virtual memory, committed on use).
const STACK_SIZE: usize = 1024 * 1024;

/// A coroutine running `f` (which receives its yielder) and catching its panic.
pub(crate) fn new_coroutine(f: impl FnOnce(&Yielder<(), ()>) + 'static) -> Co {
    let stack = STACKS
        .with(|s| s.borrow_mut().pop())
        .unwrap_or_else(|| GuardedStack::new(STACK_SIZE).expect("allocate a coroutine stack"));
    Coroutine::with_stack(stack, move |y: &Yielder<(), ()>, ()| {
        match catch_unwind(AssertUnwindSafe(|| f(y))) {
            Ok(()) => None,
            Err(payload) => Some(panic_message(&*payload)),
        }
    })
}

/// Returns a finished coroutine's stack to the pool.
pub(crate) fn recycle(co: Co) {
    let stack = co.into_stack();
    STACKS.with(|s| {
        let mut s = s.borrow_mut();
        // Enough for the largest explorations (a hundred threads and more) to reuse
        // every stack: a fresh one costs an mmap, a guard page and page faults.
        if s.len() < 256 {
            s.push(stack)
        }
    });
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}
