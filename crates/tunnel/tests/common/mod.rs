//! Test-side helpers shared by the tunnel's step tests: the state column of the scenario
//! tables, and the cars of the explorations with their oracles. Everything here is computed
//! from the calls the cars make and the calls that returned, never from the tunnel's
//! internals, so every correct tunnel gives the same tables.

#![allow(dead_code)]

use interleave::explore::{Config, Observed, Stats, check};
use interleave::report::{Failure, FailureKind};
use interleave::scenario::{Returned, Table};
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::thread::{self, JoinHandle};
use tunnel::Direction;

/// The direction of a scripted call, from its label (`arrive(North)`).
fn dir_of(call: &str) -> Direction {
    if call.contains("North") {
        Direction::North
    } else {
        Direction::South
    }
}

/// The cars inside after the calls that returned: a car is inside from the return of its
/// `arrive` to its `depart`.
fn inside(done: &[Returned]) -> Vec<(String, Direction)> {
    let mut cars: Vec<(String, Direction)> = Vec::new();
    for r in done {
        if r.call.starts_with("arrive") {
            cars.push((r.actor.clone(), dir_of(&r.call)));
        } else {
            cars.retain(|(c, _)| *c != r.actor);
        }
    }
    cars
}

/// The state column: who is inside, drawn as the tunnel with the direction of traffic.
pub fn tunnel_state(done: &[Returned]) -> String {
    let cars = inside(done);
    let names: Vec<&str> = cars.iter().map(|(c, _)| c.as_str()).collect();
    match cars.first().map(|(_, d)| *d) {
        None => "[          ] empty".to_string(),
        Some(Direction::North) => format!("[ ^ {} ^ ] northbound", names.join(" ")),
        Some(Direction::South) => format!("[ v {} v ] southbound", names.join(" ")),
    }
}

/// The state column with the notes' traffic lights: green for a direction whose cars may
/// enter at once (the tunnel is empty or holds cars of that direction).
pub fn lights_and_tunnel(done: &[Returned]) -> String {
    let (nb, sb) = match inside(done).first().map(|(_, d)| *d) {
        None => ("green", "green"),
        Some(Direction::North) => ("green", "red"),
        Some(Direction::South) => ("red", "green"),
    };
    format!("nb {nb:<5} sb {sb:<5} {}", tunnel_state(done))
}

/// One entry into the tunnel, as the test saw it.
#[derive(Debug)]
struct Entry {
    car: String,
    dir: Direction,
    /// The arrival number the tunnel returned (fair tunnels only).
    ticket: Option<u64>,
    /// When the `arrive` call returned, in the test's order of events.
    at: u64,
}

/// Who is inside and who entered when, kept by the test from the calls the cars make.
#[derive(Debug, Default)]
struct Book {
    inside: Vec<(String, Direction)>,
    entries: Vec<Entry>,
    /// When each car's current `arrive` call began.
    calls: Vec<(String, u64)>,
    /// The cars in `arrive` that have not entered yet.
    waiting: Vec<(String, Direction)>,
    events: u64,
}

/// The test-side record of one exploration. When a car enters it checks that no car of the
/// other direction is inside, and, with a bound, bounded waiting: the car was overtaken by
/// at most `bound` cars of the other direction, where `x` overtakes `w` when `x` got a
/// later arrival number and entered first. The arrival numbers come from the tunnel (they
/// are the order in which cars reached its monitor: the test cannot see that moment
/// itself), so the record also checks that they are honest: distinct, and larger for a car
/// that called `arrive` after another had entered. A violation panics in the entering
/// car's thread, which fails the schedule with that message.
#[derive(Clone, Debug)]
pub struct Traffic {
    book: Observed<Book>,
    bound: Option<usize>,
}

impl Traffic {
    /// A record that checks the invariant, and bounded waiting if `bound` is given.
    pub fn new(bound: Option<usize>) -> Self {
        Traffic {
            book: Observed::new(Book::default()),
            bound,
        }
    }

    /// Car `car` calls `arrive(dir)`.
    fn arriving(&self, car: &str, dir: Direction) {
        self.book.update(|b| {
            b.events += 1;
            let at = b.events;
            b.calls.retain(|(c, _)| c != car);
            b.calls.push((car.to_string(), at));
            b.waiting.push((car.to_string(), dir));
        });
    }

    /// Car `car`'s `arrive(dir)` returned `ticket`: it is inside.
    fn entered(&self, car: &str, dir: Direction, ticket: Option<u64>) {
        let bound = self.bound;
        let problem = self.book.update(|b| {
            b.events += 1;
            let at = b.events;
            b.waiting.retain(|(c, _)| c != car);
            if let Some((other, _)) = b.inside.iter().find(|(_, d)| *d != dir) {
                return Some(format!(
                    "{car} entered while {other} was still inside: cars of both directions \
                     in the tunnel"
                ));
            }
            b.inside.push((car.to_string(), dir));
            let called = b
                .calls
                .iter()
                .find(|(c, _)| c == car)
                .map_or(0, |(_, t)| *t);
            let entry = Entry {
                car: car.to_string(),
                dir,
                ticket,
                at,
            };
            let problem = ticket.and_then(|t| check_ticket(&b.entries, car, t, called, dir, bound));
            b.entries.push(entry);
            problem
        });
        if let Some(msg) = problem {
            panic!("{msg}");
        }
    }

    /// Car `car` calls `depart(dir)`: it is no longer inside.
    fn departing(&self, car: &str) {
        self.book.update(|b| b.inside.retain(|(c, _)| c != car));
    }
}

/// Checks the arrival number `t` of `car` (going `dir`, whose call began at event
/// `called`) against the earlier entries; returns the problem, if any.
fn check_ticket(
    entries: &[Entry],
    car: &str,
    t: u64,
    called: u64,
    dir: Direction,
    bound: Option<usize>,
) -> Option<String> {
    for e in entries {
        let Some(te) = e.ticket else { continue };
        if te == t {
            return Some(format!(
                "{car} and {} both got arrival number {t}: numbers must be distinct",
                e.car
            ));
        }
        if e.at < called && te > t {
            return Some(format!(
                "{car} called arrive after {} entered, but got a smaller arrival number \
                 ({t} < {te})",
                e.car
            ));
        }
    }
    let bound = bound?;
    let overtakers: Vec<String> = entries
        .iter()
        .filter(|e| e.dir != dir && e.ticket.is_some_and(|te| te > t))
        .map(|e| format!("{} (#{})", e.car, e.ticket.unwrap_or_default()))
        .collect();
    (overtakers.len() > bound).then(|| {
        format!(
            "starvation: {car} (arrival #{t}) was overtaken by {} {} cars that arrived after \
             it: {} (bound {bound})",
            overtakers.len(),
            dir.opposite(),
            overtakers.join(", ")
        )
    })
}

/// The two operations of a tunnel, so that the same cars drive through every version.
pub trait OneWay: Send + Sync + 'static {
    /// Waits until the car may drive in; returns its arrival number if the tunnel gives
    /// one.
    fn arrive(&self, dir: Direction) -> Option<u64>;
    /// The car has driven out.
    fn depart(&self, dir: Direction);
}

impl OneWay for tunnel::basic::Tunnel {
    fn arrive(&self, dir: Direction) -> Option<u64> {
        tunnel::basic::Tunnel::arrive(self, dir);
        None
    }
    fn depart(&self, dir: Direction) {
        tunnel::basic::Tunnel::depart(self, dir);
    }
}

impl OneWay for tunnel::fair::FairTunnel {
    fn arrive(&self, dir: Direction) -> Option<u64> {
        Some(tunnel::fair::FairTunnel::arrive(self, dir))
    }
    fn depart(&self, dir: Direction) {
        tunnel::fair::FairTunnel::depart(self, dir);
    }
}

/// Starts car `name` going `dir`, crossing `trips` times; inside, it lets the others run.
pub fn car<T: OneWay>(
    tunnel: &Arc<T>,
    traffic: &Traffic,
    name: &str,
    dir: Direction,
    trips: usize,
) -> JoinHandle<()> {
    // Driving through: a scheduling point while inside.
    car_driving(tunnel, traffic, name, dir, trips, thread::yield_now)
}

/// Starts car `name` going `dir`, crossing `trips` times; inside, it calls `through`.
fn car_driving<T: OneWay>(
    tunnel: &Arc<T>,
    traffic: &Traffic,
    name: &str,
    dir: Direction,
    trips: usize,
    through: impl Fn() + Send + 'static,
) -> JoinHandle<()> {
    let (t, traffic, me) = (tunnel.clone(), traffic.clone(), name.to_string());
    thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            for _ in 0..trips {
                traffic.arriving(&me, dir);
                let ticket = t.arrive(dir);
                traffic.entered(&me, dir, ticket);
                through();
                traffic.departing(&me);
                t.depart(dir);
            }
        })
        .expect("spawn a car")
}

/// Runs `cars` (name, direction, trips) through `tunnel` and waits for all of them.
pub fn drive<T: OneWay>(tunnel: T, traffic: &Traffic, cars: &[(&str, Direction, usize)]) {
    let tunnel = Arc::new(tunnel);
    let handles: Vec<_> = cars
        .iter()
        .map(|&(name, dir, trips)| car(&tunnel, traffic, name, dir, trips))
        .collect();
    for h in handles {
        h.join().expect("a car panicked");
    }
}

/// One turn of the tunnel with `n` cars waiting on the south side: N1 enters, then
/// S1..Sn arrive and N2 arrives too, while N1 lets the others run `n` times before it
/// leaves. Once inside, the southbound cars stay until all `n` of them are in: the rules let
/// them in together (no northbound car may enter while they are inside), so with a right
/// tunnel they all get in; if one of them is left waiting, the others wait for it and the
/// run stops, and [`check_turn`] says which car could have entered.
pub fn turn<T: OneWay>(tunnel: T, traffic: &Traffic, n: usize) {
    let tunnel = Arc::new(tunnel);
    let traffic = traffic.clone();
    let convoy = Arc::new((Mutex::named("convoy", 0usize), Condvar::named("convoy")));
    let n1 = thread::Builder::new()
        .name("N1".to_string())
        .spawn(move || {
            traffic.arriving("N1", Direction::North);
            let ticket = tunnel.arrive(Direction::North);
            traffic.entered("N1", Direction::North, ticket);
            let mut others: Vec<JoinHandle<()>> = (1..=n)
                .map(|i| {
                    let convoy = convoy.clone();
                    let wait_for_all = move || {
                        let (count, all_in) = &*convoy;
                        let mut count = count.lock();
                        *count += 1;
                        all_in.notify_all();
                        while *count < n {
                            all_in.wait(&mut count);
                        }
                    };
                    let name = format!("S{i}");
                    car_driving(&tunnel, &traffic, &name, Direction::South, 1, wait_for_all)
                })
                .collect();
            others.push(car(&tunnel, &traffic, "N2", Direction::North, 1));
            for _ in 0..n {
                thread::yield_now();
            }
            traffic.departing("N1");
            tunnel.depart(Direction::North);
            others
        })
        .expect("spawn N1");
    for h in n1.join().expect("N1 panicked") {
        h.join().expect("a car panicked");
    }
}

/// Checks that a failure of [`check_turn`] says what the chain of wake-ups did: a
/// southbound car that could enter left asleep, the wake-up lost on a northbound car.
pub fn assert_names_the_lost_turn(failure: &Failure) {
    let message = &failure.message;
    assert!(
        message.contains("is still waiting to enter, though only southbound cars are inside")
            && message.contains("could enter, but nothing will wake it")
            && message.contains("a northbound car, which may not enter")
            && message.ends_with("A lost wake-up."),
        "{failure}"
    );
}

/// The turn of [`check_turn`] under std's condvar contract: three cars wait on the south
/// side, a northbound car comes late, and every waiting southbound car must get in.
pub fn turn_config() -> Config {
    Config::new()
        .strategy(interleave::explore::Strategy::Random)
        .iterations(300)
        .seed(1)
        .condvar(interleave::explore::CondvarSemantics::Std)
}

/// Explores [`turn`] with `n` southbound cars on tunnels made by `new`. A run that stops
/// with a car waiting though no car of the other direction is inside is reported as what it
/// is: a car that could enter was left asleep. `allowed` says, in the step's words, why
/// such a car may enter (for a fair tunnel, that rule 2 cannot stop it either).
pub fn check_turn<T: OneWay>(
    new: fn() -> T,
    config: Config,
    n: usize,
    allowed: &str,
) -> Result<Stats, Box<Failure>> {
    let last: Arc<std::sync::Mutex<Option<Traffic>>> = Arc::default();
    let keep = last.clone();
    let result = check(config, move || {
        let traffic = Traffic::new(None);
        *keep.lock().expect("the record of the run") = Some(traffic.clone());
        turn(new(), &traffic, n);
    });
    let mut failure = match result {
        Ok(stats) => return Ok(stats),
        Err(f) => f,
    };
    if matches!(
        failure.kind,
        FailureKind::Deadlock | FailureKind::LostWakeup
    ) {
        let traffic = last.lock().expect("the record of the run").take();
        if let Some(message) =
            traffic.and_then(|t| t.book.with(|b| left_asleep(b, &failure, allowed)))
        {
            failure.kind = FailureKind::LostWakeup;
            failure.message = message;
            interleave::trace::export_failure(&failure);
        }
    }
    Err(failure)
}

/// Cars named with commas and "and": `S1, S2 and S3`.
fn names(cars: &[&str]) -> String {
    match cars {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// `northbound` or `southbound`.
fn bound(dir: Direction) -> &'static str {
    match dir {
        Direction::North => "northbound",
        Direction::South => "southbound",
    }
}

/// The car a wake-up woke, from the trace's words: `signal` (`N2 will re-enter`,
/// `hands the monitor to N2`) and `notify_one` (`wakes N2`). A broadcast wakes them all.
fn woken_by(e: &interleave::trace::Event) -> Option<&str> {
    let outcome = e.outcome.as_deref()?;
    match e.op.as_str() {
        "signal" => outcome
            .strip_suffix(" will re-enter")
            .or_else(|| outcome.strip_prefix("hands the monitor to ")),
        "notify_one" => outcome
            .strip_prefix("wakes ")
            .map(|rest| rest.split(' ').next().unwrap_or(rest)),
        _ => None,
    }
}

/// Why the run of `failure` stopped, if a car was left waiting though it could enter: no
/// car of the other direction is inside (and `allowed` says why nothing else stops it).
fn left_asleep(book: &Book, failure: &Failure, allowed: &str) -> Option<String> {
    let (car, dir) = book
        .waiting
        .iter()
        .find(|(_, d)| book.inside.iter().all(|(_, i)| i == d))?;
    let inside: Vec<&str> = book.inside.iter().map(|(c, _)| c.as_str()).collect();
    let where_ = if inside.is_empty() {
        "the tunnel is empty".to_string()
    } else {
        format!("only {} cars are inside ({})", bound(*dir), names(&inside))
    };
    let staying = if inside.is_empty() {
        String::new()
    } else {
        format!(
            " ({} {} inside until every {} car is in, as the rules allow)",
            names(&inside),
            if inside.len() == 1 { "stays" } else { "stay" },
            bound(*dir)
        )
    };
    let mut m = format!(
        "{car} is still waiting to enter, though {where_}: {allowed}, so {car} could enter, \
         but nothing will wake it{staying}. "
    );
    // The last single wake-up of the tunnel's (not of the convoy the test keeps), and
    // whether it went to a car that may not enter.
    let other = |name: &str| {
        book.waiting
            .iter()
            .any(|(c, d)| c == name && *d == dir.opposite())
    };
    let last = failure
        .trace
        .events
        .iter()
        .rev()
        .filter(|e| e.object.as_deref() != Some("convoy"))
        .find_map(|e| woken_by(e).map(|w| (e, w)));
    match last {
        Some((e, woken)) if other(woken) => m.push_str(&format!(
            "The last wake-up, {}'s `{}` on {} at step {}, went to {woken}, a {} car, which may \
             not enter while {} cars are inside: it waits again, and {car} is never woken. \
             When the tunnel turns, wake every waiting car that may enter (a broadcast wakes \
             them all), not one car that passes the wake-up on.",
            e.thread,
            e.op,
            e.object.as_deref().unwrap_or("its condition"),
            e.step,
            bound(dir.opposite()),
            bound(*dir),
        )),
        _ => m.push_str(
            "When the last car of a direction leaves, every waiting car of the other direction \
             must enter: wake them all (a broadcast), or each one that may enter.",
        ),
    }
    m.push_str(" A lost wake-up.");
    Some(m)
}

/// The notes' monitor written in the test (numbering arrivals as a fair tunnel does, so
/// that the bounded-waiting oracle applies), with a choice of signal semantics: under
/// Hoare it is the notes' policy (used to show that this policy starves a direction);
/// under Mesa its `if` is the classic mistake (used to show that the oracle catches it).
#[derive(Debug)]
pub struct NotesTunnel {
    /// Cars inside per direction, and the next arrival number.
    counts: interleave::monitor::Monitor<([usize; 2], u64)>,
    busy: interleave::monitor::Condition,
}

impl NotesTunnel {
    /// An empty tunnel whose monitor has the given semantics.
    pub fn new(semantics: interleave::monitor::Semantics) -> Self {
        NotesTunnel {
            counts: interleave::monitor::Monitor::named("tunnel", ([0, 0], 0), semantics),
            busy: interleave::monitor::Condition::named("busy"),
        }
    }
}

fn index(dir: Direction) -> usize {
    match dir {
        Direction::North => 0,
        Direction::South => 1,
    }
}

impl OneWay for NotesTunnel {
    fn arrive(&self, dir: Direction) -> Option<u64> {
        let mut m = self.counts.enter();
        let ticket = m.1;
        m.1 += 1;
        if m.0[index(dir.opposite())] > 0 {
            self.busy.wait(&mut m);
        }
        m.0[index(dir)] += 1;
        Some(ticket)
    }

    fn depart(&self, dir: Direction) {
        let mut m = self.counts.enter();
        m.0[index(dir)] -= 1;
        if m.0[index(dir)] == 0 {
            while self.busy.queue() {
                self.busy.signal(&mut m);
            }
        }
    }
}

/// The body of the snapshot `name` of the test file `file`, without insta's header.
pub fn snapshot(file: &str, name: &str) -> String {
    let path = format!(
        "{}/tests/snapshots/{file}__{name}.snap",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.splitn(3, "---\n")
        .nth(2)
        .unwrap_or_default()
        .to_string()
}

/// How `table` differs from the snapshot `name` of the test file `file`, in the words
/// the student reads (interleave's explanation), or None if it does not.
pub fn explanation(table: &Table, file: &str, name: &str) -> Option<String> {
    table.explain_difference(&snapshot(file, name))
}

/// The step an explanation points at (0: only the end of the table differs).
pub fn step_of(explanation: &str) -> usize {
    explanation
        .lines()
        .find_map(|l| {
            let rest = l.trim_start().strip_prefix("--> step ")?;
            rest.split(' ').next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// Runs `script` and returns the step at which its table first differs from the
/// snapshot, as the student's failure would point at it; None if it does not differ.
pub fn differs(script: impl FnOnce() -> Table, file: &str, name: &str) -> Option<usize> {
    explanation(&script(), file, name).map(|e| step_of(&e))
}

/// The oracle for std's condvar contract: the notes' `if` passes every FIFO schedule of
/// one car each way (nobody can get in between a signal and the signalled car), on a
/// Mesa monitor and on a mutex with a condition variable, and fails under std's contract,
/// where a wait may end without a signal.
/// Both steps' tests run it: the engine's check of the policy, whatever the step.
pub fn the_std_contract_catches_a_wait_without_a_loop() {
    use interleave::explore::{Config, Strategy, check};
    use interleave::monitor::Semantics;
    use interleave::sync::{Condvar, Mutex};
    use tunnel::Direction::{North, South};

    /// The notes' policy on a mutex and a condition variable, with `if`.
    struct CondvarTunnel {
        inside: Mutex<[usize; 2]>,
        busy: Condvar,
    }
    fn side(dir: Direction) -> usize {
        usize::from(dir == South)
    }
    impl OneWay for CondvarTunnel {
        fn arrive(&self, dir: Direction) -> Option<u64> {
            let mut n = self.inside.lock();
            if n[side(dir.opposite())] > 0 {
                self.busy.wait(&mut n);
            }
            n[side(dir)] += 1;
            None
        }
        fn depart(&self, dir: Direction) {
            let mut n = self.inside.lock();
            n[side(dir)] -= 1;
            if n[side(dir)] == 0 {
                self.busy.notify_all();
            }
        }
    }
    let cars: &[(&str, Direction, usize)] = &[("N1", North, 1), ("S1", South, 1)];
    let condvar = move || {
        let t = CondvarTunnel {
            inside: Mutex::new([0, 0]),
            busy: Condvar::new(),
        };
        drive(t, &Traffic::new(None), cars)
    };
    let mesa = move || drive(NotesTunnel::new(Semantics::Mesa), &Traffic::new(None), cars);
    let std_contract = interleave::explore::CondvarSemantics::Std;
    for config in [
        Config::new().iterations(400),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        check(config.clone(), condvar).unwrap_or_else(|f| panic!("FIFO hides it:\n{f}"));
        check(config.clone(), mesa).unwrap_or_else(|f| panic!("FIFO hides it:\n{f}"));
        for f in [
            check(config.clone().condvar(std_contract), condvar),
            check(config.clone().condvar(std_contract), mesa),
        ] {
            let f = f.expect_err("a spurious wake-up lets a car in");
            assert!(
                f.message
                    .contains("was still inside: cars of both directions in the tunnel"),
                "{f}"
            );
            assert!(f.had_spurious_wakeup(), "{f}");
        }
    }
}
