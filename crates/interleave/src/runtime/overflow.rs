//! Stack overflows in simulated threads. A simulated thread runs on a coroutine stack
//! with a guard page below it; deep recursion in student code runs into that page, and
//! the kernel sends SIGSEGV. std's handler only knows the OS threads' own guard pages, so
//! without this module the process would die with a bare "SIGSEGV". Here a handler, run
//! on an alternate signal stack, recognises a coroutine's guard page, writes which
//! simulated thread overflowed in which test (with async-signal-safe calls only: no
//! allocation, no lock, one `write`), and aborts. Any other fault goes to the previous
//! handler.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Once};

use corosensei::stack::{DefaultStack, Stack, StackPointer};

use super::watchdog::Origin;

/// How many coroutine stacks can be registered at once (stacks are pooled per OS thread,
/// at most 64 each, plus those of running simulations).
const SLOTS: usize = 4096;

/// Guard pages of live coroutine stacks: `[start, end)` pairs, `0` for a free slot.
static GUARDS: [AtomicUsize; 2 * SLOTS] = [const { AtomicUsize::new(0) }; 2 * SLOTS];

/// A coroutine stack whose guard page is known to the SIGSEGV handler while it lives.
pub(crate) struct GuardedStack {
    stack: DefaultStack,
    slot: Option<usize>,
}

impl GuardedStack {
    /// A stack of at least `size` bytes, with its guard page registered.
    pub(crate) fn new(size: usize) -> std::io::Result<Self> {
        let stack = DefaultStack::new(size)?;
        let start = stack.limit().get();
        let end = start + page_size();
        let slot = (0..SLOTS).find(|&i| {
            GUARDS[2 * i]
                .compare_exchange(0, start, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        });
        if let Some(i) = slot {
            GUARDS[2 * i + 1].store(end, Ordering::Release);
        }
        Ok(GuardedStack { stack, slot })
    }
}

impl Drop for GuardedStack {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            GUARDS[2 * i + 1].store(0, Ordering::Release);
            GUARDS[2 * i].store(0, Ordering::Release);
        }
    }
}

// SAFETY: the bounds are those of the wrapped `DefaultStack`, which upholds the trait's
// contract (aligned, guard page included in the limit, valid while the value lives).
unsafe impl Stack for GuardedStack {
    #[inline]
    fn base(&self) -> StackPointer {
        self.stack.base()
    }

    #[inline]
    fn limit(&self) -> StackPointer {
        self.stack.limit()
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 { p as usize } else { 4096 }
}

/// True if `addr` is in the guard page of a coroutine stack.
fn in_guard(addr: usize) -> bool {
    (0..SLOTS).any(|i| {
        let start = GUARDS[2 * i].load(Ordering::Acquire);
        start != 0 && addr >= start && addr < GUARDS[2 * i + 1].load(Ordering::Acquire)
    })
}

/// The end of the message for this OS thread's simulations (`of test ...`, the replay
/// line), prepared when a simulation starts because the handler cannot format anything.
struct Tail {
    text: Box<[u8]>,
}

thread_local! {
    /// Owns the tail; `TAIL_PTR` and `TAIL_LEN` point into it for the handler.
    static TAIL: std::cell::RefCell<Option<Tail>> = const { std::cell::RefCell::new(None) };
    static TAIL_PTR: Cell<*const u8> = const { Cell::new(std::ptr::null()) };
    static TAIL_LEN: Cell<usize> = const { Cell::new(0) };
    /// This thread's own alternate signal stack, if it needed one.
    static ALT: std::cell::RefCell<Option<AltStack>> = const { std::cell::RefCell::new(None) };
}

/// Prepares the current OS thread for a simulation: the handler is installed (once), the
/// thread has an alternate signal stack, and the message's tail names the test.
pub(crate) fn arm(origin: &Arc<Origin>) {
    install();
    ensure_alt_stack();
    // The tail depends on the origin only, which stays the same for every simulation of
    // an exploration: format it once.
    // (The Arc kept here also keeps the address from being reused by another origin.)
    thread_local! {
        static ARMED: std::cell::RefCell<Option<Arc<Origin>>> = const { std::cell::RefCell::new(None) };
    }
    let same = ARMED.with(|a| {
        let mut a = a.borrow_mut();
        let same = a.as_ref().is_some_and(|o| Arc::ptr_eq(o, origin));
        *a = Some(origin.clone());
        same
    });
    if same {
        return;
    }
    let test = origin.test.as_deref().unwrap_or("(unnamed)");
    let mut text = format!("\n  --> a simulated thread of test `{test}`\n");
    text.push_str(&crate::text::labelled(
        "note: ",
        "its stack (1 MiB) is exhausted: a recursion without end, or deeper than a thread's \
         stack allows",
        crate::text::WIDTH,
    ));
    text.push_str(&crate::text::labelled(
        "help: ",
        "look for a recursive call that does not get closer to its base case; a deep \
         recursion can become a loop",
        crate::text::WIDTH,
    ));
    text.push_str(&origin.replay);
    text.push('\n');
    TAIL.with(|t| {
        let mut t = t.borrow_mut();
        if t.as_ref().is_some_and(|t| *t.text == *text.as_bytes()) {
            return;
        }
        let tail = Tail {
            text: text.into_bytes().into_boxed_slice(),
        };
        TAIL_PTR.with(|p| p.set(tail.text.as_ptr()));
        TAIL_LEN.with(|l| l.set(tail.text.len()));
        *t = Some(tail);
    });
}

/// The previous SIGSEGV and SIGBUS actions, to chain to.
static mut PREVIOUS: [Option<libc::sigaction>; 2] = [None, None];

fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (i, sig) in [libc::SIGSEGV, libc::SIGBUS].into_iter().enumerate() {
            // SAFETY: a zeroed sigaction is a valid value; `sigaction` writes the old
            // action into `old` and installs `on_fault`, which only does async-signal-safe
            // work. PREVIOUS is written once, here, before the handler can run for a
            // coroutine fault (no simulation has started yet on any thread that could
            // fault in a registered guard page before `call_once` returns).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_fault as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, &action, &mut old) == 0 {
                    let prev = &raw mut PREVIOUS;
                    (*prev)[i] = Some(old);
                }
            }
        }
    });
}

/// An alternate signal stack this module mapped for a thread that had none.
struct AltStack {
    base: *mut libc::c_void,
    len: usize,
}

impl Drop for AltStack {
    fn drop(&mut self) {
        // SAFETY: disables the alternate stack only if it is still ours, then unmaps the
        // region mapped in `ensure_alt_stack`; no signal handler runs on it any more.
        unsafe {
            let mut current: libc::stack_t = std::mem::zeroed();
            if libc::sigaltstack(std::ptr::null(), &mut current) == 0 && current.ss_sp == self.base
            {
                let off = libc::stack_t {
                    ss_sp: std::ptr::null_mut(),
                    ss_flags: libc::SS_DISABLE,
                    ss_size: 0,
                };
                libc::sigaltstack(&off, std::ptr::null_mut());
            }
            libc::munmap(self.base, self.len);
        }
    }
}

/// Gives the current thread an alternate signal stack if it has none (std gives one to
/// the threads it spawns, but not to every thread), so that the handler can run when the
/// coroutine's stack is exhausted.
fn ensure_alt_stack() {
    ALT.with(|alt| {
        if alt.borrow().is_some() {
            return;
        }
        // SAFETY: queries the current alternate stack into a zeroed stack_t; if there is
        // none, maps a fresh region and installs it. The region stays mapped while the
        // thread lives (dropped with the thread-local, see `AltStack::drop`).
        unsafe {
            let mut current: libc::stack_t = std::mem::zeroed();
            if libc::sigaltstack(std::ptr::null(), &mut current) != 0 {
                return;
            }
            if current.ss_flags & libc::SS_DISABLE == 0 && current.ss_size >= 16 * 1024 {
                return;
            }
            let len = 64 * 1024;
            let base = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            );
            if base == libc::MAP_FAILED {
                return;
            }
            let stack = libc::stack_t {
                ss_sp: base,
                ss_flags: 0,
                ss_size: len,
            };
            if libc::sigaltstack(&stack, std::ptr::null_mut()) != 0 {
                libc::munmap(base, len);
                return;
            }
            *alt.borrow_mut() = Some(AltStack { base, len });
        }
    });
}

/// A fixed buffer for the message: the handler may not allocate.
struct Buf {
    bytes: [u8; 256],
    len: usize,
}

impl Buf {
    fn push(&mut self, s: &[u8]) {
        let n = s.len().min(self.bytes.len() - self.len);
        self.bytes[self.len..self.len + n].copy_from_slice(&s[..n]);
        self.len += n;
    }
}

/// The name of the simulated thread running on this OS thread, read without locking (the
/// thread that faulted is the only one that writes the state, and it is stopped here).
///
/// # Safety
///
/// Only from the fault handler, on the OS thread that runs the simulation.
unsafe fn running_thread_name(buf: &mut Buf) {
    let Some(e) = super::current() else { return };
    let st = e.shared.st.data_ptr();
    // SAFETY: `st` points to the live state of the simulation installed on this thread;
    // the fields read are not being modified (this thread is in the handler, and the
    // watchdog thread only reads).
    unsafe {
        let st = &*st;
        if let Some(t) = st.current
            && let Some(th) = st.threads.get(t)
        {
            buf.push(th.name.as_bytes());
        }
    }
}

extern "C" fn on_fault(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler.
    let addr = unsafe { (*info).si_addr() } as usize;
    if in_guard(addr) {
        let mut buf = Buf {
            bytes: [0; 256],
            len: 0,
        };
        buf.push(b"\nerror: stack overflow in ");
        // SAFETY: we are the fault handler on the faulting thread.
        unsafe { running_thread_name(&mut buf) };
        let tail = TAIL_PTR.with(Cell::get);
        let len = TAIL_LEN.with(Cell::get);
        if tail.is_null() {
            buf.push(b" (a simulated thread): its stack is exhausted\n");
        }
        // SAFETY: write(2) and abort(3) are async-signal-safe; the buffer is valid, and
        // TAIL_PTR/TAIL_LEN describe the boxed slice owned by TAIL on this thread, alive
        // until the thread ends.
        unsafe {
            libc::write(2, buf.bytes.as_ptr().cast(), buf.len);
            if !tail.is_null() {
                libc::write(2, tail.cast(), len);
            }
            libc::abort();
        }
    }
    let i = if sig == libc::SIGSEGV { 0 } else { 1 };
    // SAFETY: PREVIOUS was written once before any coroutine could fault; reading a
    // copy of it here is a plain load. Chaining follows the previous action's flags:
    // a SA_SIGINFO handler gets the same arguments, a plain one the signal number, and
    // the default action is restored so that returning re-raises the fault with it.
    unsafe {
        let prev = &raw const PREVIOUS;
        match (*prev)[i] {
            Some(old) if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != libc::SIG_IGN => {
                if old.sa_flags & libc::SA_SIGINFO != 0 {
                    let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                        std::mem::transmute(old.sa_sigaction);
                    f(sig, info, ctx);
                } else {
                    let f: extern "C" fn(libc::c_int) = std::mem::transmute(old.sa_sigaction);
                    f(sig);
                }
            }
            _ => {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(sig, &dfl, std::ptr::null_mut());
            }
        }
    }
}
