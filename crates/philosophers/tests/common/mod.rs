//! Test-side helpers shared by the philosophers' step tests: the state column of the
//! scenario tables, and the philosophers of the explorations with their oracles. All of it
//! is computed from the calls the philosophers make and the calls that returned, never
//! from the table's internals.

#![allow(dead_code)]

pub mod script;

use interleave::explore::{Config, Observed, Strategy, check};
use interleave::monitor::{Condition, Monitor, Semantics};
use interleave::report::FailureKind;
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
                    "P{i} started eating while their neighbour P{j} was eating:\nthey share a fork"
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
                 number\n({h} < {hm})",
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
                 started {} meals\nrequested after theirs ({}; bound {bound})",
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

/// Dining rooms written in the test, the notes' monitor and plausible wrong variants of the
/// two steps, kept to prove that the checks find their faults and name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The notes' monitor (numbering requests as a fair room does, so that the
    /// bounded-waiting oracle applies): it can starve a philosopher whose two neighbours
    /// take turns.
    Notes,
    /// `put_down_forks` tests only the left neighbour.
    TestsLeftOnly,
    /// `put_down_forks` tests the right neighbour only if the left one did not start
    /// eating (as if one freed philosopher were enough).
    StopsAtFirst,
    /// A fair room that never clears the record of who overtook a philosopher.
    FairNeverForgets,
    /// A fair room that checks the wrong side: `i` may not overtake a neighbour whom the
    /// *other* neighbour overtook.
    FairWrongSide,
    /// A stricter room: a hungry philosopher never overtakes a hungry neighbour who asked
    /// earlier (no overtaking at all).
    FairNoOvertaking,
}

/// One seat of a [`TestRoom`].
#[derive(Clone, Copy, Debug)]
struct Seat {
    doing: u8,
    /// Overtaken by the left, by the right neighbour since hungry.
    by: [bool; 2],
    request: u64,
}

const THINKING: u8 = 0;
const HUNGRY: u8 = 1;
const EATING: u8 = 2;

/// A dining room written in the test (Hoare semantics, as in the notes).
#[derive(Debug)]
pub struct TestRoom {
    variant: Variant,
    /// The seats and the next request number.
    state: Monitor<(Vec<Seat>, u64)>,
    me: Vec<Condition>,
}

/// The notes' monitor, written in the test.
pub struct NotesRoom;

impl NotesRoom {
    /// A room of `n` thinking philosophers.
    #[allow(clippy::new_ret_no_self)]
    pub fn new(n: usize) -> TestRoom {
        TestRoom::new(Variant::Notes, n)
    }
}

type Guard<'a> = interleave::monitor::MonitorGuard<'a, (Vec<Seat>, u64)>;

impl TestRoom {
    /// A room of `n` thinking philosophers.
    pub fn new(variant: Variant, n: usize) -> Self {
        let seat = Seat {
            doing: THINKING,
            by: [false; 2],
            request: 0,
        };
        TestRoom {
            variant,
            state: Monitor::named("dining room", (vec![seat; n], 0), Semantics::Hoare),
            me: (0..n)
                .map(|i| Condition::named(format!("self[{i}]")))
                .collect(),
        }
    }

    /// Tests `i`; true if `i` started eating.
    fn test(&self, g: &mut Guard<'_>, i: usize) -> bool {
        let n = g.0.len();
        let (l, r) = (philosophers::left_of(i, n), philosophers::right_of(i, n));
        let s = &g.0;
        let free = s[l].doing != EATING && s[r].doing != EATING;
        let owes = |j: usize, side: usize| s[j].doing == HUNGRY && s[j].by[side];
        let allowed = match self.variant {
            Variant::Notes | Variant::TestsLeftOnly | Variant::StopsAtFirst => true,
            Variant::FairNeverForgets => !owes(l, 1) && !owes(r, 0),
            Variant::FairWrongSide => !owes(l, 0) && !owes(r, 1),
            Variant::FairNoOvertaking => [l, r]
                .iter()
                .all(|&j| s[j].doing != HUNGRY || s[j].request > s[i].request),
        };
        if s[i].doing != HUNGRY || !free || !allowed {
            return false;
        }
        let s = &mut g.0;
        s[i].doing = EATING;
        if self.variant != Variant::FairNeverForgets {
            s[i].by = [false; 2];
        }
        if s[l].doing == HUNGRY {
            s[l].by[1] = true;
        }
        if s[r].doing == HUNGRY {
            s[r].by[0] = true;
        }
        self.me[i].signal(g);
        true
    }
}

impl Room for TestRoom {
    fn pick_up(&self, i: usize) -> Option<u64> {
        let mut g = self.state.enter();
        let request = g.1;
        g.1 += 1;
        g.0[i].doing = HUNGRY;
        g.0[i].request = request;
        self.test(&mut g, i);
        if g.0[i].doing != EATING {
            self.me[i].wait(&mut g);
        }
        Some(request)
    }

    fn put_down(&self, i: usize) {
        let mut g = self.state.enter();
        let n = g.0.len();
        g.0[i].doing = THINKING;
        let left = self.test(&mut g, philosophers::left_of(i, n));
        match self.variant {
            Variant::TestsLeftOnly => {}
            Variant::StopsAtFirst if left => {}
            _ => {
                self.test(&mut g, philosophers::right_of(i, n));
            }
        }
    }
}

/// Which policy a dining room follows, for the model of [`drive`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// The notes' monitor: a hungry philosopher eats as soon as neither neighbour eats.
    Notes,
    /// The fair room: and, besides, no hungry neighbour has already been overtaken by them.
    Fair,
}

/// What a philosopher does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doing {
    /// Not hungry.
    Thinking,
    /// Waiting for the forks.
    Hungry,
    /// Holding both forks.
    Eating,
}

/// The policy, computed on the test side: what every correct room does at each step of a
/// script (tables of four or more, where the two neighbours of a philosopher are not
/// neighbours of each other, so the order in which a room tests them does not matter).
struct Model {
    n: usize,
    policy: Policy,
    doing: Vec<Doing>,
    /// `overtaken[i]`: the step at which the left and the right neighbour of `i` overtook
    /// `i` (started eating while `i` was hungry), since `i` became hungry.
    overtaken: Vec<[Option<usize>; 2]>,
    requests: u64,
}

const BY_LEFT: usize = 0;
const BY_RIGHT: usize = 1;

impl Model {
    fn new(n: usize, policy: Policy) -> Self {
        assert!(n >= 4, "the model needs a table of four or more");
        Model {
            n,
            policy,
            doing: vec![Doing::Thinking; n],
            overtaken: vec![[None; 2]; n],
            requests: 0,
        }
    }

    fn neighbours(&self, i: usize) -> (usize, usize) {
        (
            philosophers::left_of(i, self.n),
            philosophers::right_of(i, self.n),
        )
    }

    /// Why hungry philosopher `i` may not eat now, or `None` if they may.
    fn held_back(&self, i: usize) -> Option<String> {
        let (l, r) = self.neighbours(i);
        for j in [l, r] {
            if self.doing[j] == Doing::Eating {
                return Some(format!("their neighbour P{j} eats"));
            }
        }
        if self.policy == Policy::Fair {
            // `i` is the right neighbour of `l` and the left neighbour of `r`.
            for (j, side) in [(l, BY_RIGHT), (r, BY_LEFT)] {
                if let (Doing::Hungry, Some(at)) = (self.doing[j], self.overtaken[j][side]) {
                    return Some(format!(
                        "they already overtook their hungry neighbour P{j} (at step {at}), \
                         who must eat first"
                    ));
                }
            }
        }
        None
    }

    /// Why hungry philosopher `i` eats now.
    fn why_eats(&self, i: usize) -> String {
        let (l, r) = self.neighbours(i);
        let hungry: Vec<String> = [l, r]
            .into_iter()
            .filter(|&j| self.doing[j] == Doing::Hungry)
            .map(|j| format!("P{j}"))
            .collect();
        match (self.policy, hungry.is_empty()) {
            (Policy::Fair, false) => format!(
                "neither neighbour eats, and P{i} has not overtaken hungry {} yet: \
                 each neighbour may overtake a hungry philosopher once",
                hungry.join(" or ")
            ),
            _ => "neither neighbour eats".to_string(),
        }
    }

    fn start_eating(&mut self, i: usize, step: usize) {
        let (l, r) = self.neighbours(i);
        self.doing[i] = Doing::Eating;
        self.overtaken[i] = [None; 2];
        if self.doing[l] == Doing::Hungry {
            self.overtaken[l][BY_RIGHT] = Some(step);
        }
        if self.doing[r] == Doing::Hungry {
            self.overtaken[r][BY_LEFT] = Some(step);
        }
    }
}

/// A small deterministic generator (xorshift), so that scripts are the same on every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed: neighbouring seeds give unrelated scripts.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// What one step does under the policy: the philosophers who start eating (the caller
/// first), each with the reason, and the caller's request number.
struct Expected {
    eats: Vec<(usize, String)>,
    request: Option<u64>,
}

fn expected_step(model: &mut Model, i: usize, pick: bool, step: usize) -> Expected {
    let mut eats = Vec::new();
    let mut request = None;
    if pick {
        model.doing[i] = Doing::Hungry;
        request = Some(model.requests);
        model.requests += 1;
        if model.held_back(i).is_none() {
            eats.push((i, model.why_eats(i)));
            model.start_eating(i, step);
        }
    } else {
        model.doing[i] = Doing::Thinking;
        let (l, r) = model.neighbours(i);
        for j in [l, r] {
            if model.doing[j] == Doing::Hungry && model.held_back(j).is_none() {
                eats.push((j, model.why_eats(j)));
                model.start_eating(j, step);
            }
        }
    }
    Expected { eats, request }
}

fn label(i: usize, pick: bool) -> String {
    if pick {
        format!("P{i} pick_up_forks({i})")
    } else {
        format!("P{i} put_down_forks({i})")
    }
}

/// One step of a driven script, for the table of a failure.
struct Line {
    call: String,
    returned: Vec<String>,
    waiting: Vec<usize>,
    eating: Vec<usize>,
}

/// `text` broken into lines of at most 98 columns: the runner indents a failure by two.
fn wrap(text: &str) -> String {
    interleave::report::wrap(text, 98)
}

fn show_lines(lines: &[Line]) -> String {
    let names = |v: &[usize]| {
        v.iter()
            .map(|j| format!("P{j}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut rows = vec![[
        "step".to_string(),
        "call".to_string(),
        "returned".to_string(),
        "waiting".to_string(),
        "eating".to_string(),
    ]];
    for (k, l) in lines.iter().enumerate() {
        // One returned call per line, so that the table fits in the runner's 100 columns.
        let returned = if l.returned.is_empty() {
            vec![String::new()]
        } else {
            l.returned.clone()
        };
        for (r, call) in returned.into_iter().enumerate() {
            let first = |text: String| if r == 0 { text } else { String::new() };
            rows.push([
                first((k + 1).to_string()),
                first(l.call.clone()),
                call,
                first(names(&l.waiting)),
                first(names(&l.eating)),
            ]);
        }
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(cells.join(" | ").trim_end());
        out.push('\n');
    }
    out
}

/// Plays a random script against `room` at a table of `n` and checks every step against
/// the policy. Each step, a philosopher who is not waiting acts (a thinking one picks up,
/// an eating one puts down), and the test waits until nothing can move any more (the
/// virtual clock only advances then) before it looks who returned; after `len` steps the
/// eaters put down until nobody is hungry. The first step where the room differs from
/// the policy panics, saying who should have eaten or waited and why, with the steps so
/// far. Run it inside an exploration: the policy fixes the outcome of every step whatever
/// the schedule.
pub fn drive<R: Room>(room: R, n: usize, policy: Policy, script: u64, len: usize) {
    let room = Arc::new(room);
    let mut model = Model::new(n, policy);
    let mut rng = Rng::new(script);
    // Calls that returned: (philosopher, pick_up?, request number).
    let returns: Observed<Vec<(usize, bool, Option<u64>)>> = Observed::new(Vec::new());
    let mut requests: Vec<Option<u64>> = vec![None; n];
    let mut lines: Vec<Line> = Vec::new();
    let mut handles = Vec::new();
    for step in 1.. {
        let i = if step <= len {
            let free: Vec<usize> = (0..n)
                .filter(|&j| model.doing[j] != Doing::Hungry)
                .collect();
            free[rng.below(free.len())]
        } else {
            match (0..n).find(|&j| model.doing[j] == Doing::Eating) {
                Some(j) => j,
                None => break,
            }
        };
        let pick = model.doing[i] == Doing::Thinking;
        let (r, out) = (room.clone(), returns.clone());
        handles.push(
            thread::Builder::new()
                .name(format!("P{i}"))
                .spawn(move || {
                    let request = if pick {
                        r.pick_up(i)
                    } else {
                        r.put_down(i);
                        None
                    };
                    out.update(|v| v.push((i, pick, request)));
                })
                .expect("spawn a philosopher's call"),
        );
        // Nothing else can move once the virtual clock advances.
        thread::sleep(std::time::Duration::from_millis(1));
        let mut got = returns.update(std::mem::take);
        // The step's own call first, as in a scenario table.
        got.sort_by_key(|&(j, p, _)| (j != i || p != pick, j));
        let e = expected_step(&mut model, i, pick, step);
        if let Some(h) = e.request {
            requests[i] = Some(h);
        }
        lines.push(Line {
            call: label(i, pick),
            returned: got
                .iter()
                .map(|&(j, p, h)| match h {
                    Some(h) if p => format!("{} -> {h}", label(j, p)),
                    _ => label(j, p),
                })
                .collect(),
            waiting: Vec::new(),
            eating: Vec::new(),
        });
        // Where it happened, after the cause: the cause is what the verdict line shows.
        let at = format!("at step {step} ({})", label(i, pick));
        let picked = |j: usize| got.iter().find(|&&(x, p, _)| x == j && p);
        let problem = if !pick && !got.iter().any(|&(x, p, _)| x == i && !p) {
            Some(format!(
                "P{i} put_down_forks({i}) did not return {at}: putting the forks down never waits"
            ))
        } else if let Some((j, why)) = e.eats.iter().find(|(j, _)| picked(*j).is_none()) {
            let question = match policy {
                Policy::Notes => format!("who should have tested P{j}?"),
                Policy::Fair => format!("was P{j} tested, with both rules exactly as stated?"),
            };
            Some(format!(
                "P{j} should start eating {at}, but P{j} is still waiting.\n{}\n\
                 A hungry philosopher eats as soon as the policy allows: {question}",
                wrap(&format!("P{j} may eat: {why}."))
            ))
        } else if let Some(j) =
            (0..n).find(|&j| picked(j).is_some() && !e.eats.iter().any(|(x, _)| *x == j))
        {
            Some(format!(
                "P{j} started eating {at}, but P{j} must wait:\n{}",
                wrap(&format!(
                    "{}.",
                    model
                        .held_back(j)
                        .unwrap_or_else(|| "nothing freed their forks at this step".into())
                ))
            ))
        } else if policy == Policy::Fair {
            e.eats.iter().find_map(|&(j, _)| {
                let (want, got) = (requests[j]?, picked(j)?.2);
                (got != Some(want)).then(|| {
                    format!(
                        "P{j} got request number {} {at}, but theirs was request {want}:\n\
                         requests are numbered 0, 1, 2... in the order they reach the room.",
                        got.map_or("none".to_string(), |h| h.to_string())
                    )
                })
            })
        } else {
            None
        };
        let last = lines.last_mut().expect("pushed above");
        last.waiting = (0..n)
            .filter(|&j| model.doing[j] == Doing::Hungry)
            .collect();
        last.eating = (0..n)
            .filter(|&j| model.doing[j] == Doing::Eating)
            .collect();
        if let Some(p) = problem {
            panic!(
                "{p}\n\n{}({POLICY_TABLE} after each step; random script {script}, \
                 {n} philosophers)",
                show_lines(&lines)
            );
        }
    }
    for h in handles {
        h.join().expect("a philosopher's call panicked");
    }
}

/// Random scripts at tables of four to six (12 steps, then 40), each followed by
/// put-downs until nobody is hungry: several philosophers wait at once, each eats several
/// times, and every step is compared with `policy` (who eats, who waits and why, and, for
/// the fair policy, the request numbers), under the canonical schedule and many others.
pub fn follows_the_policy<R: Room>(policy: Policy, make: fn(usize) -> R) {
    for len in [12, 40] {
        for n in [4, 5, 6] {
            for script in 0..15 {
                explore_policy(Config::new().strategy(Strategy::Canonical), move || {
                    drive(make(n), n, policy, script, len)
                });
            }
            explore_policy(Config::new().iterations(60), move || {
                drive(make(n), n, policy, 100 + n as u64, len)
            });
        }
    }
}

/// What the table under a failure of [`drive`] shows (and how its failures are told apart).
const POLICY_TABLE: &str = "waiting and eating: what the policy says";

/// Drives random scripts (see [`drive`]) under `config`; a step that breaks the policy is
/// reported with its explanation, the steps so far and the replay line (without the
/// primitive-level interleaving, which says less than the steps); other failures with
/// interleave's full report.
pub fn explore_policy(config: Config, body: impl Fn() + Send + Sync + 'static) {
    if let Some(m) = policy_failure(config, body) {
        panic!("{m}");
    }
}

/// The failure [`explore_policy`] would report, if any.
pub fn policy_failure(config: Config, body: impl Fn() + Send + Sync + 'static) -> Option<String> {
    let f = check(config, body).err()?;
    let mine = f.kind == FailureKind::Panic
        && f.message.starts_with("thread main panicked: ")
        && f.message.contains(POLICY_TABLE);
    Some(if mine {
        format!(
            "{}\n{}",
            f.message.trim_start_matches("thread main panicked: "),
            f.replay_line()
        )
    } else {
        f.to_string()
    })
}
