//! Test-side helpers shared by the philosophers' step tests: the state column of the
//! scenario tables, and the philosophers of the explorations with their oracles. All of it
//! is computed from the calls the philosophers make and the calls that returned, never
//! from the table's internals.

#![allow(dead_code)]

use interleave::explore::Observed;
use interleave::monitor::{Condition, Monitor, Semantics};
use interleave::scenario::Returned;
use interleave::sync::Arc;
use interleave::thread::{self, JoinHandle};

/// The philosopher of a scripted call, from its actor name (`P3`).
fn seat(actor: &str) -> usize {
    actor[1..].parse().expect("actors are named P0, P1...")
}

/// The state column for a table of `n`: who eats, drawn as the round table (`E` eats,
/// `.` does not) followed by the names.
pub fn eating(n: usize) -> impl Fn(&[Returned]) -> String {
    move |done| {
        let mut eats = vec![false; n];
        for r in done {
            eats[seat(&r.actor)] = r.call.starts_with("pick_up");
        }
        let seats: Vec<&str> = eats.iter().map(|&e| if e { "E" } else { "." }).collect();
        let names: Vec<String> = (0..n)
            .filter(|&i| eats[i])
            .map(|i| format!("P{i}"))
            .collect();
        let who = if names.is_empty() {
            "nobody eats".to_string()
        } else {
            format!("{} eat", names.join(" "))
        };
        format!("( {} ) {who}", seats.join(" "))
    }
}

/// One meal, as the test saw it.
#[derive(Debug)]
struct Meal {
    who: usize,
    /// The request number the room returned (fair rooms only).
    request: Option<u64>,
    /// When `pick_up_forks` returned, in the test's order of events.
    at: u64,
}

/// Who eats, and the meals so far, kept by the test.
#[derive(Debug, Default)]
struct Book {
    eating: Vec<usize>,
    meals: Vec<Meal>,
    /// When each philosopher's current request began.
    calls: Vec<(usize, u64)>,
    events: u64,
}

/// The test-side record of one exploration: when a philosopher starts eating it checks
/// that no neighbour eats and, with a bound, bounded waiting: each neighbour started at
/// most `bound` meals whose request came after this philosopher's (request numbers come
/// from the room, which alone sees the moment a request reaches it; the record checks
/// they are honest: distinct, and larger for a request made after another meal began).
/// A violation panics in that philosopher's thread, failing the schedule.
#[derive(Clone, Debug)]
pub struct Diners {
    n: usize,
    book: Observed<Book>,
    bound: Option<usize>,
}

impl Diners {
    /// A record for `n` philosophers; checks bounded waiting if `bound` is given.
    pub fn new(n: usize, bound: Option<usize>) -> Self {
        Diners {
            n,
            book: Observed::new(Book::default()),
            bound,
        }
    }

    /// Philosopher `i` becomes hungry.
    pub fn hungry(&self, i: usize) {
        self.book.update(|b| {
            b.events += 1;
            let at = b.events;
            b.calls.retain(|(p, _)| *p != i);
            b.calls.push((i, at));
        });
    }

    /// Philosopher `i` starts eating (its request had number `request`, if any).
    pub fn eats(&self, i: usize, request: Option<u64>) {
        let (n, bound) = (self.n, self.bound);
        let problem = self.book.update(|b| {
            b.events += 1;
            let at = b.events;
            let (l, r) = (philosophers::left_of(i, n), philosophers::right_of(i, n));
            if let Some(&j) = b.eating.iter().find(|&&j| j == l || j == r) {
                return Some(format!(
                    "P{i} started eating while their neighbour P{j} was eating: they share a fork"
                ));
            }
            b.eating.push(i);
            let called = b.calls.iter().find(|(p, _)| *p == i).map_or(0, |(_, t)| *t);
            let problem = request.and_then(|h| check_request(&b.meals, i, h, called, n, bound));
            b.meals.push(Meal {
                who: i,
                request,
                at,
            });
            problem
        });
        if let Some(msg) = problem {
            panic!("{msg}");
        }
    }

    /// Philosopher `i` stops eating.
    pub fn done(&self, i: usize) {
        self.book.update(|b| b.eating.retain(|&j| j != i));
    }

    /// How many meals philosopher `i` has eaten.
    pub fn meals(&self, i: usize) -> usize {
        self.book
            .with(|b| b.meals.iter().filter(|m| m.who == i).count())
    }
}

/// Checks request number `h` of philosopher `i` (whose request began at event `called`)
/// against the earlier meals; returns the problem, if any.
fn check_request(
    meals: &[Meal],
    i: usize,
    h: u64,
    called: u64,
    n: usize,
    bound: Option<usize>,
) -> Option<String> {
    for m in meals {
        let Some(hm) = m.request else { continue };
        if hm == h {
            return Some(format!(
                "P{i} and P{} both got request number {h}: numbers must be distinct",
                m.who
            ));
        }
        if m.at < called && hm > h {
            return Some(format!(
                "P{i} asked for the forks after P{} started eating, but got a smaller request \
                 number ({h} < {hm})",
                m.who
            ));
        }
    }
    let bound = bound?;
    for j in [philosophers::left_of(i, n), philosophers::right_of(i, n)] {
        let later: Vec<String> = meals
            .iter()
            .filter(|m| m.who == j && m.request.is_some_and(|hm| hm > h))
            .map(|m| format!("#{}", m.request.unwrap_or_default()))
            .collect();
        if later.len() > bound {
            return Some(format!(
                "starvation: P{i} (request #{h}) stayed hungry while their neighbour P{j} \
                 started {} meals requested after theirs ({}; bound {bound})",
                later.len(),
                later.join(", ")
            ));
        }
    }
    None
}

/// A dining room seen from the philosophers: ask for the forks, put them down.
pub trait Room: Send + Sync + 'static {
    /// Waits until philosopher `i` eats; returns their request number if the room gives
    /// one.
    fn pick_up(&self, i: usize) -> Option<u64>;
    /// Philosopher `i` has finished eating.
    fn put_down(&self, i: usize);
}

impl Room for philosophers::monitor::DiningRoom {
    fn pick_up(&self, i: usize) -> Option<u64> {
        self.pick_up_forks(i);
        None
    }
    fn put_down(&self, i: usize) {
        self.put_down_forks(i);
    }
}

impl Room for philosophers::fair::FairDiningRoom {
    fn pick_up(&self, i: usize) -> Option<u64> {
        Some(self.pick_up_forks(i))
    }
    fn put_down(&self, i: usize) {
        self.put_down_forks(i);
    }
}

/// Starts philosopher `i`, eating `meals` times through `room`.
fn philosopher<R: Room>(room: &Arc<R>, diners: &Diners, i: usize, meals: usize) -> JoinHandle<()> {
    let (room, diners) = (room.clone(), diners.clone());
    thread::Builder::new()
        .name(format!("P{i}"))
        .spawn(move || {
            for _ in 0..meals {
                diners.hungry(i);
                let request = room.pick_up(i);
                diners.eats(i, request);
                // Eating: a scheduling point while holding the forks.
                thread::yield_now();
                diners.done(i);
                room.put_down(i);
            }
        })
        .expect("spawn a philosopher")
}

/// Runs philosopher `i` for `meals[i]` meals through `room`, waits for all of them, and
/// checks that each ate the number of meals asked.
pub fn dine<R: Room>(room: R, diners: &Diners, meals: &[usize]) {
    let room = Arc::new(room);
    let handles: Vec<_> = meals
        .iter()
        .enumerate()
        .map(|(i, &m)| philosopher(&room, diners, i, m))
        .collect();
    for h in handles {
        h.join().expect("a philosopher panicked");
    }
    for (i, &m) in meals.iter().enumerate() {
        assert_eq!(diners.meals(i), m, "P{i} should have eaten {m} meals");
    }
}

/// The notes' monitor written in the test (numbering requests as a fair room does, so
/// that the bounded-waiting oracle applies): used to show that it can starve a
/// philosopher whose two neighbours take turns.
#[derive(Debug)]
pub struct NotesRoom {
    /// `state[i]` (0 thinking, 1 hungry, 2 eating) and the next request number.
    state: Monitor<(Vec<u8>, u64)>,
    me: Vec<Condition>,
}

const THINKING: u8 = 0;
const HUNGRY: u8 = 1;
const EATING: u8 = 2;

impl NotesRoom {
    /// A room of `n` thinking philosophers (Hoare semantics, as in the notes).
    pub fn new(n: usize) -> Self {
        NotesRoom {
            state: Monitor::named("dining room", (vec![THINKING; n], 0), Semantics::Hoare),
            me: (0..n)
                .map(|i| Condition::named(format!("self[{i}]")))
                .collect(),
        }
    }

    fn test(&self, s: &mut interleave::monitor::MonitorGuard<'_, (Vec<u8>, u64)>, i: usize) {
        let n = s.0.len();
        let (l, r) = (philosophers::left_of(i, n), philosophers::right_of(i, n));
        if s.0[l] != EATING && s.0[i] == HUNGRY && s.0[r] != EATING {
            s.0[i] = EATING;
            self.me[i].signal(s);
        }
    }
}

impl Room for NotesRoom {
    fn pick_up(&self, i: usize) -> Option<u64> {
        let mut s = self.state.enter();
        let request = s.1;
        s.1 += 1;
        s.0[i] = HUNGRY;
        self.test(&mut s, i);
        if s.0[i] != EATING {
            self.me[i].wait(&mut s);
        }
        Some(request)
    }

    fn put_down(&self, i: usize) {
        let mut s = self.state.enter();
        let n = s.0.len();
        s.0[i] = THINKING;
        self.test(&mut s, philosophers::left_of(i, n));
        self.test(&mut s, philosophers::right_of(i, n));
    }
}
