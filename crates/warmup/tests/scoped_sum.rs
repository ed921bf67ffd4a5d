//! Checks `warmup/scoped_sum`: the chunking, the parallel sum, and that `parallel_sum`
//! really sums each chunk of `chunk_bounds` on its own thread, all threads running at once.

use std::num::NonZeroUsize;
use std::time::Duration;

use interleave::real::within;
use warmup::scoped_sum::{chunk_bounds, parallel_sum};

fn n(threads: usize) -> NonZeroUsize {
    NonZeroUsize::new(threads).expect("thread counts in these tests are positive")
}

/// Real threads run the student's code: a hang becomes a failure after this long.
const BUDGET: Duration = Duration::from_secs(60);

#[test]
fn chunks_cover_everything_in_order_with_sizes_differing_by_at_most_one() {
    for len in 0..40 {
        for threads in 1..10 {
            let chunks = chunk_bounds(len, n(threads));
            assert_eq!(
                chunks.len(),
                threads,
                "chunk_bounds({len}, {threads}) must return one range per thread, got {chunks:?}"
            );
            let mut next = 0;
            for chunk in &chunks {
                assert_eq!(
                    chunk.start, next,
                    "chunk_bounds({len}, {threads}) = {chunks:?}: ranges must follow each other without gaps or overlaps"
                );
                next = chunk.end;
            }
            assert_eq!(
                next, len,
                "chunk_bounds({len}, {threads}) = {chunks:?} must end at {len}"
            );
            let sizes: Vec<usize> = chunks.iter().map(|c| c.len()).collect();
            assert!(
                sizes.windows(2).all(|w| w[0] >= w[1]) && sizes[0] - sizes[threads - 1] <= 1,
                "chunk_bounds({len}, {threads}) = {chunks:?}: sizes must differ by at most one, longer chunks first"
            );
        }
    }
}

#[test]
fn parallel_sum_equals_the_sequential_sum() {
    let data: Vec<u64> = (1..=1000).map(|x| x * x % 977).collect();
    for len in [0, 1, 2, 7, 100, 1000] {
        let expected: u64 = data[..len].iter().sum();
        for threads in [1, 2, 3, 8, 2000] {
            let slice = data[..len].to_vec();
            let what = format!("parallel_sum of {len} elements on {threads} threads");
            let got = within(BUDGET, &what, move || parallel_sum(&slice, n(threads)));
            assert_eq!(got, expected, "{what}");
        }
    }
}

/// The chunks as the header documents them, computed here rather than by the student's
/// `chunk_bounds`: `len / threads` elements each, one more for the first `len % threads`.
#[cfg(target_os = "linux")]
fn documented(len: usize, threads: usize) -> Vec<std::ops::Range<usize>> {
    let (base, extra) = (len / threads, len % threads);
    let mut start = 0;
    (0..threads)
        .map(|i| {
            let end = start + base + usize::from(i < extra);
            let range = start..end;
            start = end;
            range
        })
        .collect()
}

/// Watches which thread reads which page of the data: the data lives in pages that may
/// not be read, a read faults, and the fault handler notes the reading thread before it
/// lets the read go on. So the test sees, page by page, the first thread that read it,
/// without the student's code doing anything special. Linux only (as the course).
#[cfg(target_os = "linux")]
mod pages {
    use std::cell::UnsafeCell;
    use std::mem::MaybeUninit;
    use std::num::NonZeroUsize;
    use std::ops::Range;
    use std::sync::atomic::Ordering::SeqCst;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
    use std::time::Duration;

    use libc::{c_int, c_void, siginfo_t};

    /// The most pages one observation can watch (32 MiB of data with 4 KiB pages).
    const MAX_PAGES: usize = 8192;
    /// The most chunks a rendezvous can follow.
    const MAX_CHUNKS: usize = 64;
    /// How long a thread waits in the rendezvous for the other chunks' threads to start:
    /// a watchdog (correct code starts them all within milliseconds), not a timing test.
    static PATIENCE_NS: AtomicU64 = AtomicU64::new(0);

    /// Start and length in bytes of the watched mapping (0: nothing is watched).
    static BASE: AtomicUsize = AtomicUsize::new(0);
    static BYTES: AtomicUsize = AtomicUsize::new(0);
    static PAGE: AtomicUsize = AtomicUsize::new(4096);
    /// The first thread (its kernel id) that read each page; 0 for none.
    static READER: [AtomicUsize; MAX_PAGES] = [const { AtomicUsize::new(0) }; MAX_PAGES];

    /// The rendezvous: a thread that starts reading a chunk waits until every chunk has
    /// been started (or the patience runs out), so threads that run one after another are
    /// caught; the thread that called `parallel_sum` never waits.
    static RENDEZVOUS: AtomicBool = AtomicBool::new(false);
    static CHUNK_OF_PAGE: [AtomicUsize; MAX_PAGES] = [const { AtomicUsize::new(0) }; MAX_PAGES];
    static STARTED: [AtomicBool; MAX_CHUNKS] = [const { AtomicBool::new(false) }; MAX_CHUNKS];
    static STARTED_COUNT: AtomicUsize = AtomicUsize::new(0);
    static EXPECTED: AtomicUsize = AtomicUsize::new(0);
    static CALLER: AtomicUsize = AtomicUsize::new(0);
    static DEADLINE: AtomicU64 = AtomicU64::new(0);
    static GAVE_UP: AtomicBool = AtomicBool::new(false);
    /// Bit `i` set: chunk `i` had been started when the rendezvous gave up.
    static STARTED_WHEN_GIVING_UP: AtomicU64 = AtomicU64::new(0);

    /// The handlers of SIGSEGV and SIGBUS before ours, to hand them any other fault.
    struct Saved(UnsafeCell<MaybeUninit<[libc::sigaction; 2]>>);
    // SAFETY: written only by `watch` (one at a time, under `SERIAL`) before our handler
    // is installed, and read by the handler afterwards: `sigaction` orders the two.
    unsafe impl Sync for Saved {}
    static SAVED: Saved = Saved(UnsafeCell::new(MaybeUninit::uninit()));
    const SIGNALS: [c_int; 2] = [libc::SIGSEGV, libc::SIGBUS];

    /// One observation at a time: the handler and the statics are process-wide.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn monotonic_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec to write to; clock_gettime is async-signal-safe.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        u64::try_from(ts.tv_sec).unwrap_or(0) * 1_000_000_000
            + u64::try_from(ts.tv_nsec).unwrap_or(0)
    }

    /// A fault that is not a read of the watched data: put the previous handler back and
    /// return, so that the access faults again and that handler (Rust's stack-overflow
    /// report, or the default action) deals with it.
    fn forward(sig: c_int) {
        let i = usize::from(sig != libc::SIGSEGV);
        // SAFETY: SAVED was filled before this handler was installed (see `Saved`).
        let old = unsafe { (*SAVED.0.get()).assume_init_ref() };
        // SAFETY: restoring a sigaction obtained from the kernel; async-signal-safe.
        unsafe { libc::sigaction(sig, &old[i], std::ptr::null_mut()) };
    }

    /// The kernel's id of the calling thread: unlike `pthread_self`, not reused as soon as
    /// a thread ends (a short-lived thread's id would otherwise pass to the next one).
    fn thread_id() -> usize {
        // SAFETY: gettid has no preconditions and is async-signal-safe.
        let tid = unsafe { libc::gettid() };
        usize::try_from(tid).expect("thread ids are positive")
    }

    fn rendezvous(page: usize, me: usize) {
        let chunk = CHUNK_OF_PAGE[page].load(SeqCst);
        if !STARTED[chunk].swap(true, SeqCst) {
            STARTED_COUNT.fetch_add(1, SeqCst);
        }
        if me == CALLER.load(SeqCst) {
            return;
        }
        let deadline = monotonic_ns() + PATIENCE_NS.load(SeqCst);
        let _ = DEADLINE.compare_exchange(0, deadline, SeqCst, SeqCst);
        while STARTED_COUNT.load(SeqCst) < EXPECTED.load(SeqCst) && !GAVE_UP.load(SeqCst) {
            if monotonic_ns() >= DEADLINE.load(SeqCst) {
                if !GAVE_UP.swap(true, SeqCst) {
                    let mut started = 0u64;
                    for (i, s) in STARTED.iter().enumerate() {
                        if s.load(SeqCst) {
                            started |= 1 << i;
                        }
                    }
                    STARTED_WHEN_GIVING_UP.store(started, SeqCst);
                }
                break;
            }
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000,
            };
            // SAFETY: a valid timespec; nanosleep is async-signal-safe.
            unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
        }
    }

    extern "C" fn on_fault(sig: c_int, info: *mut siginfo_t, _context: *mut c_void) {
        let (base, bytes) = (BASE.load(SeqCst), BYTES.load(SeqCst));
        // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t, and for SIGSEGV and
        // SIGBUS its address field is the faulting address.
        let addr = unsafe { (*info).si_addr() } as usize;
        if base == 0 || addr < base || addr >= base + bytes {
            forward(sig);
            return;
        }
        let page_size = PAGE.load(SeqCst);
        let page = (addr - base) / page_size;
        let me = thread_id();
        let _ = READER[page].compare_exchange(0, me, SeqCst, SeqCst);
        if RENDEZVOUS.load(SeqCst) {
            rendezvous(page, me);
        }
        let start = (base + page * page_size) as *mut c_void;
        // SAFETY: the page belongs to the mapping `watch` made and keeps until every
        // reader is done; making it readable lets the faulting read go on.
        if unsafe { libc::mprotect(start, page_size, libc::PROT_READ) } != 0 {
            forward(sig);
        }
    }

    /// What one call of `parallel_sum` on watched data showed.
    #[derive(Debug)]
    pub struct Watched {
        /// Elements per page.
        pub per_page: usize,
        /// The first reader of each page (an opaque thread id), 0 for none.
        pub readers: Vec<usize>,
        /// What `parallel_sum` returned.
        pub sum: u64,
        /// With a rendezvous that gave up: which chunks had been started by then.
        pub gave_up: Option<Vec<usize>>,
    }

    /// The number of `u64` per page on this machine.
    pub fn per_page() -> usize {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page).expect("a positive page size") / 8
    }

    /// The signature of `parallel_sum`.
    pub type Sum = fn(&[u64], NonZeroUsize) -> u64;

    /// Runs `sum` (the student's `parallel_sum`, or a version written in a test) on `len`
    /// elements (element `i` is `i % 1000`) and `threads` threads, watching who reads
    /// which page. With a `rendezvous` patience, the documented chunks must start on page
    /// boundaries, and each thread waits at its first page until every chunk has been
    /// started, or the patience runs out.
    pub fn watch(len: usize, threads: usize, rendezvous: Option<Duration>, sum: Sum) -> Watched {
        let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let per_page = per_page();
        let page_size = per_page * 8;
        let pages = len.div_ceil(per_page).max(1);
        assert!(
            pages <= MAX_PAGES,
            "the test watches at most {MAX_PAGES} pages"
        );
        let bytes = pages * page_size;
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(base != libc::MAP_FAILED, "mmap of the test data failed");
        let data = base.cast::<u64>();
        for i in 0..len {
            // SAFETY: `i < len`, and the mapping holds `pages * per_page >= len` u64s.
            unsafe { data.add(i).write((i % 1000) as u64) };
        }
        for (page, reader) in READER.iter().enumerate().take(pages) {
            reader.store(0, SeqCst);
            CHUNK_OF_PAGE[page].store(0, SeqCst);
        }
        RENDEZVOUS.store(rendezvous.is_some(), SeqCst);
        let patience = rendezvous.map_or(0, |p| u64::try_from(p.as_nanos()).unwrap_or(u64::MAX));
        PATIENCE_NS.store(patience, SeqCst);
        if rendezvous.is_some() {
            assert!(
                threads <= MAX_CHUNKS,
                "a rendezvous follows at most {MAX_CHUNKS} chunks"
            );
            for (i, chunk) in super::documented(len, threads).iter().enumerate() {
                assert!(
                    chunk.start % per_page == 0 && chunk.end % per_page == 0,
                    "a rendezvous needs chunks on page boundaries"
                );
                let (first, last) = (chunk.start / per_page, chunk.end / per_page);
                for page in &CHUNK_OF_PAGE[first..last] {
                    page.store(i, SeqCst);
                }
            }
        }
        for started in &STARTED {
            started.store(false, SeqCst);
        }
        STARTED_COUNT.store(0, SeqCst);
        EXPECTED.store(threads, SeqCst);
        DEADLINE.store(0, SeqCst);
        GAVE_UP.store(false, SeqCst);
        STARTED_WHEN_GIVING_UP.store(0, SeqCst);
        PAGE.store(page_size, SeqCst);
        BASE.store(base as usize, SeqCst);
        BYTES.store(bytes, SeqCst);
        // SAFETY: `base..base + bytes` is our mapping; no reference into it exists yet.
        let rc = unsafe { libc::mprotect(base, bytes, libc::PROT_NONE) };
        assert_eq!(rc, 0, "mprotect of the test data failed");
        install();

        let at = base as usize;
        let what = format!("parallel_sum of {len} elements on {threads} threads");
        let result = std::panic::catch_unwind(|| {
            super::within(super::BUDGET, &what, move || {
                CALLER.store(thread_id(), SeqCst);
                // SAFETY: the mapping holds `len` initialised u64s and stays mapped (and
                // unchanged) until this call has returned; a read of a protected page is
                // completed by the fault handler, which makes the page readable.
                let data = unsafe { std::slice::from_raw_parts(at as *const u64, len) };
                sum(data, NonZeroUsize::new(threads).expect("threads > 0"))
            })
        });

        // From here on nothing faults: every page readable, the old handlers back.
        // SAFETY: as above.
        unsafe { libc::mprotect(base, bytes, libc::PROT_READ) };
        BASE.store(0, SeqCst);
        restore();
        let readers = READER.iter().take(pages).map(|r| r.load(SeqCst)).collect();
        let gave_up = GAVE_UP.load(SeqCst).then(|| {
            let bits = STARTED_WHEN_GIVING_UP.load(SeqCst);
            (0..threads).filter(|i| bits & (1 << i) != 0).collect()
        });
        match result {
            Ok(sum) => {
                // SAFETY: `parallel_sum` returned and its scoped threads are joined:
                // nobody reads the mapping any more.
                unsafe { libc::munmap(base, bytes) };
                Watched {
                    per_page,
                    readers,
                    sum,
                    gave_up,
                }
            }
            // A panic or a hang: threads may still read the data, so it stays mapped.
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    fn install() {
        // SAFETY: zero is a valid bit pattern for sigaction (empty mask, no flags).
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        let handler: extern "C" fn(c_int, *mut siginfo_t, *mut c_void) = on_fault;
        action.sa_sigaction = handler as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        // SAFETY: a valid sigset to initialise.
        unsafe { libc::sigemptyset(&mut action.sa_mask) };
        // SAFETY: only `watch` writes SAVED, under SERIAL, before installing the handler
        // that reads it.
        let saved = unsafe { (*SAVED.0.get()).as_mut_ptr().cast::<libc::sigaction>() };
        for (i, sig) in SIGNALS.into_iter().enumerate() {
            // SAFETY: a valid action; the old one goes to SAVED[i], inside the array.
            let rc = unsafe { libc::sigaction(sig, &action, saved.add(i)) };
            assert_eq!(rc, 0, "installing the fault handler failed");
        }
    }

    fn restore() {
        // SAFETY: filled by `install`.
        let old = unsafe { (*SAVED.0.get()).assume_init_ref() };
        for (i, sig) in SIGNALS.into_iter().enumerate() {
            // SAFETY: restoring the action the kernel gave us.
            unsafe { libc::sigaction(sig, &old[i], std::ptr::null_mut()) };
        }
    }

    /// The pages wholly inside `chunk` (as far as the data goes).
    pub fn inner_pages(chunk: &Range<usize>, per_page: usize, len: usize) -> Range<usize> {
        let first = chunk.start.div_ceil(per_page);
        let last = if chunk.end == len {
            len.div_ceil(per_page)
        } else {
            chunk.end / per_page
        };
        first..last.max(first)
    }
}

/// Checks who read what in `watched` against the documented chunks; returns the problem.
#[cfg(target_os = "linux")]
fn judge(len: usize, threads: usize, watched: &pages::Watched) -> Option<String> {
    let call = format!("parallel_sum({len} elements, {threads} threads)");
    let expected: u64 = (0..len).map(|i| (i % 1000) as u64).sum();
    if watched.sum != expected {
        return Some(format!(
            "{call} returned {}, expected {expected}",
            watched.sum
        ));
    }
    let chunks = documented(len, threads);
    let per_page = watched.per_page;
    let mut all: Vec<usize> = watched
        .readers
        .iter()
        .copied()
        .filter(|&r| r != 0)
        .collect();
    all.sort_unstable();
    all.dedup();
    let busy = chunks.iter().filter(|c| !c.is_empty()).count();
    if all.len() != busy {
        return Some(format!(
            "{call} read the data on {} thread(s),\nbut chunk_bounds({len}, {threads}) makes \
             {busy} chunks of data: sum each on its own thread, and nothing else.",
            all.len()
        ));
    }
    // The reader of each chunk: every page wholly inside it must have the same one.
    let mut owner: Vec<usize> = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let inner = pages::inner_pages(chunk, per_page, len);
        if inner.is_empty() {
            continue;
        }
        let first = watched.readers[inner.start];
        if let Some(split) = inner.clone().find(|&p| watched.readers[p] != first) {
            let other = watched.readers[split];
            let upto = (split..inner.end)
                .find(|&p| watched.readers[p] != other)
                .unwrap_or(inner.end);
            let at = |page: usize| (page * per_page).min(len);
            return Some(format!(
                "in {call}, chunk {i} of chunk_bounds({len}, {threads}) is {chunk:?},\nbut \
                 one thread read elements {}..{} of it and another thread elements {}..{}.\n\
                 Each thread must sum exactly the one chunk that chunk_bounds gives it.",
                at(inner.start),
                at(split),
                at(split),
                at(upto)
            ));
        }
        if let Some(j) = owner.iter().position(|&o| o == first) {
            return Some(format!(
                "in {call}, one thread read two chunks of chunk_bounds({len}, {threads}),\n\
                 chunk {j} ({:?}) and chunk {i} ({chunk:?}): each chunk must be summed on its \
                 own thread.",
                chunks[j]
            ));
        }
        owner.push(first);
    }
    None
}

/// Data sizes in pages, so that every chunk holds whole pages the test can watch:
/// `pages_per_chunk` pages a chunk, plus `extra` elements.
#[cfg(target_os = "linux")]
fn layout_len(threads: usize, pages_per_chunk: usize, extra: usize) -> usize {
    threads * pages_per_chunk * pages::per_page() + extra
}

/// The cases of the layout check: 1, 4, 5 and 1100 threads, with and without a remainder.
/// The large ones catch layouts whose boundaries drift away from the documented ones (the
/// remainder all in the last chunk, `data.chunks(len.div_ceil(n))`) by more than a page.
#[cfg(target_os = "linux")]
const LAYOUTS: [(usize, usize); 6] = [(4, 0), (4, 3), (5, 4), (1, 7), (1100, 1), (1100, 1050)];

/// The first problem of `sum` with the layouts of [`LAYOUTS`].
#[cfg(target_os = "linux")]
fn check_layouts(sum: pages::Sum) -> Option<String> {
    LAYOUTS.into_iter().find_map(|(threads, extra)| {
        let len = layout_len(threads, 3, extra);
        judge(len, threads, &pages::watch(len, threads, None, sum))
    })
}

/// How long the rendezvous waits before it decides the threads ran one after another.
#[cfg(target_os = "linux")]
const PATIENCE: Duration = Duration::from_secs(10);

/// The first problem of `sum` in the rendezvous: 2 and 4 threads.
#[cfg(target_os = "linux")]
fn check_at_the_same_time(sum: pages::Sum, patience: Duration) -> Option<String> {
    [2, 4].into_iter().find_map(|threads| {
        let len = layout_len(threads, 2, 0);
        let watched = pages::watch(len, threads, Some(patience), sum);
        match &watched.gave_up {
            Some(started) => Some(format!(
                "the threads of parallel_sum({len} elements, {threads} threads) ran one after \
                 another:\na thread that started its chunk waited {} s for the others to \
                 start, but only chunk(s) {started:?} had started.\nSpawn them all (collect \
                 the handles into a Vec) before joining any.",
                patience.as_secs()
            )),
            None => judge(len, threads, &watched),
        }
    })
}

/// Each chunk of `chunk_bounds` is summed by its own thread.
#[cfg(target_os = "linux")]
#[test]
fn parallel_sum_sums_each_chunk_of_chunk_bounds_on_its_own_thread() {
    if let Some(problem) = check_layouts(parallel_sum) {
        panic!("{problem}");
    }
}

/// The threads run at the same time: each one, as it starts reading its chunk, waits until
/// every chunk has been started. Threads spawned and joined one after another (the lazy
/// `.map(spawn).map(join)` of the chapter) never get there.
#[cfg(target_os = "linux")]
#[test]
fn the_threads_of_parallel_sum_run_at_the_same_time() {
    if let Some(problem) = check_at_the_same_time(parallel_sum, PATIENCE) {
        panic!("{problem}");
    }
}

/// Wrong and right versions of `parallel_sum`, as students write them, to show that the
/// checks above tell them apart.
#[cfg(target_os = "linux")]
mod versions {
    use std::num::NonZeroUsize;

    fn spawn_all(data: &[u64], chunks: Vec<&[u64]>) -> u64 {
        let _ = data;
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|c| s.spawn(move || c.iter().sum::<u64>()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .sum()
        })
    }

    /// No thread at all.
    pub fn sequential(data: &[u64], _: NonZeroUsize) -> u64 {
        data.iter().sum()
    }

    /// `data.chunks(len / threads)`: one chunk too many when there is a remainder.
    pub fn floor_chunks(data: &[u64], threads: NonZeroUsize) -> u64 {
        let size = (data.len() / threads.get()).max(1);
        spawn_all(data, data.chunks(size).collect())
    }

    /// `data.chunks(len.div_ceil(threads))`: the remainder spread wrongly (and sometimes
    /// fewer chunks than threads).
    pub fn ceil_chunks(data: &[u64], threads: NonZeroUsize) -> u64 {
        let size = data.len().div_ceil(threads.get()).max(1);
        spawn_all(data, data.chunks(size).collect())
    }

    /// `len / threads` elements each, the whole remainder in the last chunk.
    pub fn remainder_last(data: &[u64], threads: NonZeroUsize) -> u64 {
        let (n, size) = (threads.get(), data.len() / threads.get());
        let chunks = (0..n)
            .map(|i| {
                let end = if i == n - 1 {
                    data.len()
                } else {
                    (i + 1) * size
                };
                &data[i * size..end]
            })
            .collect();
        spawn_all(data, chunks)
    }

    /// Right chunks, but each thread joined before the next one is spawned.
    pub fn one_after_another(data: &[u64], threads: NonZeroUsize) -> u64 {
        let chunks = super::documented(data.len(), threads.get());
        std::thread::scope(|s| {
            chunks
                .into_iter()
                .map(|r| s.spawn(|| data[r].iter().sum::<u64>()))
                .map(|h| h.join().expect("no panic"))
                .sum()
        })
    }

    /// Right: `threads - 1` scoped threads, and the last chunk on the calling thread.
    pub fn last_chunk_on_the_caller(data: &[u64], threads: NonZeroUsize) -> u64 {
        let mut chunks = super::documented(data.len(), threads.get());
        let last = chunks.pop().expect("at least one chunk");
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|r| s.spawn(|| data[r].iter().sum::<u64>()))
                .collect();
            let mine: u64 = data[last].iter().sum();
            mine + handles
                .into_iter()
                .map(|h| h.join().expect("no panic"))
                .sum::<u64>()
        })
    }

    /// Right: a channel collects the partial sums.
    pub fn through_a_channel(data: &[u64], threads: NonZeroUsize) -> u64 {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            for r in super::documented(data.len(), threads.get()) {
                let tx = tx.clone();
                s.spawn(move || {
                    tx.send(data[r].iter().sum::<u64>())
                        .expect("receiver alive")
                });
            }
        });
        drop(tx);
        rx.iter().sum()
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_layout_check_catches_wrong_chunks_and_too_few_threads() {
    let cases: [(&str, pages::Sum, &str); 4] = [
        (
            "sequential",
            versions::sequential,
            "read the data on 1 thread(s)",
        ),
        (
            "floor_chunks",
            versions::floor_chunks,
            "read the data on 5 thread(s)",
        ),
        (
            "ceil_chunks",
            versions::ceil_chunks,
            "and another thread elements",
        ),
        (
            "remainder_last",
            versions::remainder_last,
            "and another thread elements",
        ),
    ];
    for (name, sum, expected) in cases {
        let problem = check_layouts(sum).unwrap_or_else(|| panic!("{name} passed the check"));
        assert!(problem.contains(expected), "{name}: {problem}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn the_rendezvous_catches_threads_run_one_after_another() {
    let problem = check_at_the_same_time(versions::one_after_another, Duration::from_secs(1))
        .expect("threads joined one by one must fail the rendezvous");
    assert!(
        problem.contains("threads) ran one after another"),
        "{problem}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn other_correct_versions_pass() {
    for (name, sum) in [
        (
            "last_chunk_on_the_caller",
            versions::last_chunk_on_the_caller as pages::Sum,
        ),
        ("through_a_channel", versions::through_a_channel),
    ] {
        let problem = check_layouts(sum).or_else(|| check_at_the_same_time(sum, PATIENCE));
        assert!(problem.is_none(), "{name}: {}", problem.unwrap_or_default());
    }
}
