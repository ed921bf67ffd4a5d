//! Checks `messages/server`: the balance lives in one server thread; overdrawing debits
//! are refused; no update and no request is lost; the server stops when every client has
//! hung up, and `close` waits for that. Wrong servers the checks must reject, and other
//! correct designs they must accept, are at the end.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::script::Checked;
use common::text::{PLAIN, wrap};
use interleave::channel::{Receiver, RecvTimeoutError, Sender, bounded, unbounded};
use interleave::explore::{Config, Observed, Strategy, check};
use interleave::real::within;
use interleave::report::{Failure, FailureKind};
use interleave::scenario::{Returned, Scenario, Table};
use interleave::thread::{self, JoinHandle};
use interleave::trace;
use messages::server::{Bank, Client, Reply, Server, server};

/// A client as the checks see it.
trait Teller: Clone + Send + 'static {
    fn credit(&self, amount: i64) -> Reply;
    fn debit(&self, amount: i64) -> Reply;
    fn balance(&self) -> i64;
}

/// A server and a bank as the checks see them (the step's, or one written in this file).
trait Banking: Send + 'static {
    type Client: Teller;
    type Server: Send + 'static;
    /// `server(initial)`: a first client and a server not yet running.
    fn server(initial: i64) -> (Self::Client, Self::Server);
    /// `Server::run`.
    fn run(server: Self::Server) -> i64;
    fn open(initial: i64) -> Self;
    fn client(&self) -> Self::Client;
    fn close(self) -> i64;
}

impl Teller for Client {
    fn credit(&self, amount: i64) -> Reply {
        Client::credit(self, amount)
    }
    fn debit(&self, amount: i64) -> Reply {
        Client::debit(self, amount)
    }
    fn balance(&self) -> i64 {
        Client::balance(self)
    }
}

impl Banking for Bank {
    type Client = Client;
    type Server = Server;
    fn server(initial: i64) -> (Client, Server) {
        server(initial)
    }
    fn run(server: Server) -> i64 {
        server.run()
    }
    fn open(initial: i64) -> Self {
        Bank::open(initial)
    }
    fn client(&self) -> Client {
        Bank::client(self)
    }
    fn close(self) -> i64 {
        Bank::close(self)
    }
}

/// The scenario's world: a server not yet running, and two connected clients.
struct Desk<B: Banking> {
    server: RefCell<Option<B::Server>>,
    clients: RefCell<BTreeMap<&'static str, B::Client>>,
    /// The server's `run()` returned while a client was still connected.
    stopped: Cell<bool>,
}

/// What a client's call shows in the table once the server has stopped: the call is not
/// made, since nobody is left to answer it.
const NO_SERVER: &str = "not asked";

impl<B: Banking> Desk<B> {
    fn new() -> Self {
        let (c1, s) = B::server(100);
        let c2 = c1.clone();
        Desk {
            server: RefCell::new(Some(s)),
            clients: RefCell::new(BTreeMap::from([("C1", c1), ("C2", c2)])),
            stopped: Cell::new(false),
        }
    }

    /// Client `name`'s call `f`, shown as its value, or [`NO_SERVER`] once the server has
    /// stopped (the step's tests judge the server that stopped, not the client that would
    /// find it gone).
    fn ask<R: std::fmt::Debug>(&self, name: &str, f: impl FnOnce(&B::Client) -> R) -> Shown {
        if self.stopped.get() {
            return Shown(NO_SERVER.to_string());
        }
        let client = self.clients.borrow()[name].clone();
        Shown(format!("{:?}", f(&client)))
    }

    fn run(&self) -> i64 {
        let s = self
            .server
            .borrow_mut()
            .take()
            .expect("the server runs once");
        let balance = B::run(s);
        self.stopped.set(!self.clients.borrow().is_empty());
        balance
    }

    fn hang_up(&self, name: &str) {
        self.clients.borrow_mut().remove(name);
    }
}

/// A value shown in the table as it is (no quotes from `Debug`).
struct Shown(String);

impl std::fmt::Debug for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `C1 and C2` for `C1, C2`.
fn and(list: &str) -> String {
    match list.rsplit_once(", ") {
        Some((rest, last)) => format!("{rest} and {last}"),
        None => list.to_string(),
    }
}

/// Where `Server::run` is in the step's file, for a failure that blames its loop.
fn server_loop() -> String {
    let file = if cfg!(feature = "solution") {
        "solutions/06_messages/server.rs"
    } else {
        "exercises/06_messages/server.rs"
    };
    let source = std::fs::read_to_string(format!("{}/../../{file}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_default();
    match source.lines().position(|l| l.contains("fn run(")) {
        Some(k) => format!("{file}:{}", k + 1),
        None => file.to_string(),
    }
}

/// Fails if the server's `run()` returned before the last step of the table (the step at
/// which the last client hangs up), naming who was still connected.
fn check_run_lasts(table: &Table) {
    let last = table.rows.len().saturating_sub(1);
    let Some((k, row, value)) = table.rows.iter().enumerate().take(last).find_map(|(k, r)| {
        let value = r
            .returned
            .iter()
            .find_map(|c| c.strip_prefix("S run() -> "))?;
        Some((k, r, value))
    }) else {
        return;
    };
    let connected = row
        .state
        .as_deref()
        .and_then(|s| s.split_once("connected: "))
        .map_or("a client".to_string(), |(_, who)| and(who));
    let were = if connected.contains(" and ") {
        "were"
    } else {
        "was"
    };
    let unanswered = if table.rows.iter().any(|r| {
        r.returned
            .iter()
            .any(|c| c.ends_with(&format!("-> {NO_SERVER}")))
    }) {
        format!(
            " The clients' calls after that were not made, since nobody was left to answer \
             them (the table shows them as \"{NO_SERVER}\")."
        )
    } else {
        String::new()
    };
    panic!(
        "{}\n  --> {}\n\n{table:#}",
        wrap(
            &format!(
                "S run() returned {value} at step {} while {connected} {were} still connected: \
                 the server stopped before the last client hung up.{unanswered} The server \
                 serves until every client has hung up (its request channel disconnects), \
                 however long nobody asks anything: look at the loop in Server::run, and at \
                 what ends it.",
                k + 1
            ),
            PLAIN
        ),
        server_loop()
    );
}

fn amount(call: &str) -> i64 {
    call.trim_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or(0)
}

/// The balance the accepted operations make, and who is still connected.
fn balance_and_clients(done: &[Returned]) -> String {
    let mut balance = 100;
    let mut clients = vec!["C1", "C2"];
    for r in done {
        let accepted = r
            .value
            .as_deref()
            .is_some_and(|v| v.starts_with("Accepted"));
        if r.call.starts_with("credit") && accepted {
            balance += amount(&r.call);
        } else if r.call.starts_with("debit") && accepted {
            balance -= amount(&r.call);
        } else if r.call == "hang_up()" {
            clients.retain(|c| *c != r.actor);
        }
    }
    let clients = if clients.is_empty() {
        "nobody".to_string()
    } else {
        clients.join(", ")
    };
    format!("balance {balance}; connected: {clients}")
}

fn desk_script<B: Banking>() -> Scenario<Desk<B>> {
    Scenario::new(Desk::<B>::new)
        .call("S", "run()", |d| d.run())
        .rule("the server waits for requests while a client is connected")
        .call("C1", "credit(50)", |d| d.ask("C1", |c| c.credit(50)))
        .call("C2", "debit(200)", |d| d.ask("C2", |c| c.debit(200)))
        .rule("200 is more than the balance: refused, with the balance unchanged")
        .call("C2", "debit(30)", |d| d.ask("C2", |c| c.debit(30)))
        .call("C1", "balance()", |d| d.ask("C1", |c| c.balance()))
        .call("C1", "hang_up()", |d| d.hang_up("C1"))
        .rule("C2 is still connected: the server goes on waiting")
        .call("C2", "hang_up()", |d| d.hang_up("C2"))
        .rule("the last client hung up: the server stops and returns the balance")
        .state(balance_and_clients)
        .max_steps(2_000)
}

/// The server alone with its two idle clients: it serves until the last one hangs up,
/// however long nobody asks anything (in virtual time, nothing else moves).
fn idle_script<B: Banking>() -> Scenario<Desk<B>> {
    Scenario::new(Desk::<B>::new)
        .call("S", "run()", |d| d.run())
        .rule("the server waits for requests while a client is connected")
        .call("C1", "hang_up()", |d| d.hang_up("C1"))
        .rule("C2 is still connected: the server goes on waiting")
        .call("C2", "hang_up()", |d| d.hang_up("C2"))
        .rule("the last client hung up: the server stops and returns the balance")
        .state(balance_and_clients)
        .max_steps(2_000)
}

/// Runs a scenario, explaining a server that wakes up on timeouts forever (the scenario
/// never reaches a moment where nothing can move).
fn run_script(script: impl FnOnce() -> Table) -> Table {
    match catch_unwind(AssertUnwindSafe(script)) {
        Ok(table) => table,
        Err(p) => {
            let m = p.downcast_ref::<String>().cloned().unwrap_or_default();
            let flat = m.split_whitespace().collect::<Vec<_>>().join(" ");
            let spun =
                flat.contains("step budget exceeded") || flat.contains("steps without ending");
            if spun && flat.contains(": timed out") {
                panic!(
                    "the server never rests: while nobody sends anything, it wakes up on a \
                     timeout again and again.\nWait for requests with a blocking recv: it \
                     returns when a request comes, or when every client\nhas hung up.\n\n{m}"
                );
            }
            std::panic::resume_unwind(p)
        }
    }
}

fn check_idle(table: &Table) {
    if let Some(k) = table
        .rows
        .iter()
        .take(2)
        .position(|r| r.returned.iter().any(|c| c.starts_with("S run()")))
    {
        panic!(
            "S run() returned at step {} while {} still connected, although nobody had sent \
             anything:\nthe server serves until every client has hung up (its request channel \
             disconnects),\nnot until it has been idle for a while.\n\n{table:#}",
            k + 1,
            if k == 0 { "C1 and C2 were" } else { "C2 was" }
        );
    }
    assert!(
        table.rows.len() < 3 || table.rows[2].returned.iter().any(|c| c == "S run() -> 100"),
        "the last client hung up at step 3: the server must stop and return the balance, \
         100, at that step.\n\n{table:#}"
    );
}

fn check_desk(table: &Table) {
    check_run_lasts(table);
    let overdrawn = table
        .rows
        .iter()
        .flat_map(|r| &r.returned)
        .find(|r| r.contains("-> Accepted(-"));
    assert!(
        overdrawn.is_none(),
        "{} : the server let the balance go negative.\nA debit larger than the balance must \
         be refused with a reply (Reply::Refused), leaving the balance\nunchanged.\n\n{table:#}",
        overdrawn.map(String::as_str).unwrap_or_default()
    );
}

const DESK: &str = include_str!(
    "snapshots/server__an_overdrawing_debit_is_refused_and_the_server_stops_after_the_last_hang_up.snap"
);
const IDLE: &str =
    include_str!("snapshots/server__an_idle_server_serves_until_the_last_client_hangs_up.snap");
const CLOSE: &str =
    include_str!("snapshots/server__close_waits_for_the_last_client_to_hang_up.snap");
const SERVING: &str =
    include_str!("snapshots/server__close_waits_and_the_server_still_serves.snap");

#[test]
fn an_overdrawing_debit_is_refused_and_the_server_stops_after_the_last_hang_up() {
    let table = desk_script::<Bank>().run();
    check_desk(&table);
    interleave::assert_table!(table);
}

/// The scenario's world for `close`: a bank, opened by a scripted call (its server thread
/// outlives the call), and the clients connected to it.
struct Branch<B: Banking> {
    bank: RefCell<Option<B>>,
    clients: RefCell<BTreeMap<&'static str, B::Client>>,
}

impl<B: Banking> Branch<B> {
    fn new() -> Self {
        Branch {
            bank: RefCell::new(None),
            clients: RefCell::new(BTreeMap::new()),
        }
    }

    fn open(&self) {
        let bank = B::open(100);
        *self.clients.borrow_mut() = BTreeMap::from([("C1", bank.client()), ("C2", bank.client())]);
        *self.bank.borrow_mut() = Some(bank);
    }

    fn client(&self, name: &str) -> B::Client {
        self.clients.borrow()[name].clone()
    }

    fn close(&self) -> i64 {
        let bank = self.bank.borrow_mut().take().expect("closed once");
        bank.close()
    }

    fn hang_up(&self, name: &str) {
        self.clients.borrow_mut().remove(name);
    }
}

/// `close` while both clients are connected (and nobody asks anything meanwhile).
fn close_script<B: Banking>() -> Scenario<Branch<B>> {
    Scenario::new(Branch::<B>::new)
        .call("M", "open(100)", |b| b.open())
        .call("C1", "credit(50)", |b| b.client("C1").credit(50))
        .call("M", "close()", |b| b.close())
        .rule("close waits until every client has hung up")
        .call("C1", "hang_up()", |b| b.hang_up("C1"))
        .rule("C2 is still connected: close goes on waiting")
        .call("C2", "hang_up()", |b| b.hang_up("C2"))
        .rule("the last client hung up: the server stops, close returns the final balance")
        .state(balance_and_clients)
        .max_steps(2_000)
}

/// The server goes on serving the clients while `close` waits.
fn serving_while_closing_script<B: Banking>() -> Scenario<Branch<B>> {
    Scenario::new(Branch::<B>::new)
        .call("M", "open(100)", |b| b.open())
        .call("M", "close()", |b| b.close())
        .rule("close waits until every client has hung up")
        .call("C2", "debit(30)", |b| b.client("C2").debit(30))
        .rule("while close waits, the server still serves the clients")
        .call("C1", "hang_up()", |b| b.hang_up("C1"))
        .call("C2", "balance()", |b| b.client("C2").balance())
        .rule("while close waits, the server still serves the clients")
        .call("C2", "hang_up()", |b| b.hang_up("C2"))
        .rule("the last client hung up: the server stops, close returns the final balance")
        .state(balance_and_clients)
        .max_steps(2_000)
}

fn check_close(table: &Table) {
    if let Some(k) = table
        .rows
        .iter()
        .take(4)
        .position(|r| r.returned.iter().any(|c| c.starts_with("M close()")))
    {
        panic!(
            "M close() returned at step {} while a client was still connected: close waits \
             until every client\nhas hung up and the server has stopped by itself; it does not \
             stop the server.\n\n{table:#}",
            k + 1
        );
    }
    let Some(fifth) = table.rows.get(4) else {
        return;
    };
    assert!(
        !fifth.blocked.iter().any(|c| c == "M close()"),
        "the last client hung up at step 5, but M close() is still waiting: the server has not \
         stopped,\nso its request channel is still connected. Who still holds a `Client` when \
         close joins\nthe server?\n\n{table:#}"
    );
    assert!(
        fifth.returned.iter().any(|c| c == "M close() -> 150"),
        "the last client hung up at step 5: close must return the final balance, 150, at that \
         step.\n\n{table:#}"
    );
}

#[test]
fn close_waits_for_the_last_client_to_hang_up() {
    let table = close_script::<Bank>().run();
    check_close(&table);
    interleave::assert_table!(table);
}

#[test]
fn close_waits_and_the_server_still_serves() {
    let table = serving_while_closing_script::<Bank>().run();
    interleave::assert_table!(table);
}

#[test]
fn an_idle_server_serves_until_the_last_client_hangs_up() {
    let table = run_script(|| idle_script::<Bank>().run());
    check_idle(&table);
    interleave::assert_table!(table);
}

/// Re-raises an exploration's failure, explaining a server that never stops or panics.
fn explain(result: Result<interleave::explore::Stats, Box<Failure>>) {
    let Err(f) = result else { return };
    let stuck = matches!(f.kind, FailureKind::Deadlock | FailureKind::LostWakeup)
        && f.message.contains("server waits to receive on");
    if stuck {
        panic!(
            "the server never stops: every client has hung up, yet the server still waits \
             in `recv`\non `requests`, and main waits for the server to finish. The channel \
             is not disconnected\nbecause a Sender of it is still alive: who still holds a \
             `Client` when `close` joins the server?\n\n{f}"
        );
    }
    if f.kind == FailureKind::Panic && f.message.starts_with("thread server panicked") {
        panic!(
            "the server thread panicked: a request the server cannot honour (an overdrawing \
             debit) gets an\nanswer, Reply::Refused; a server that panics leaves every other \
             client without service.\n\n{f}"
        );
    }
    panic!("{f}");
}

/// Clients work on one bank at once; every reply is checked, accepted operations are
/// added up on the test side, and the final balance must be their sum.
fn clients<B: Banking>(operations: &'static [&'static [(&'static str, i64)]]) {
    let bank = B::open(100);
    let accepted = Observed::new(0i64);
    let replies = Observed::new(0usize);
    let handles: Vec<_> = operations
        .iter()
        .enumerate()
        .map(|(i, &ops)| {
            let (client, accepted, replies) = (bank.client(), accepted.clone(), replies.clone());
            thread::Builder::new()
                .name(format!("C{}", i + 1))
                .spawn(move || {
                    for &(op, amount) in ops {
                        trace::label(format!("{op}({amount})"));
                        let reply = match op {
                            "credit" => client.credit(amount),
                            "debit" => client.debit(amount),
                            _ => Reply::Balance(client.balance()),
                        };
                        trace::label(format!("{op}({amount}) -> {reply:?}"));
                        replies.update(|n| *n += 1);
                        match reply {
                            Reply::Accepted(b) => {
                                assert!(
                                    b >= 0,
                                    "{op}({amount}) was accepted and left the balance at {b}:\n\
                                     a debit that would overdraw must be refused with \
                                     Reply::Refused, not applied. The server decides, as it \
                                     applies the debit: a client that asks for the balance \
                                     first and then debits lets another client's debit in \
                                     between its check and its debit. An overdraft."
                                );
                                let signed = if op == "debit" { -amount } else { amount };
                                accepted.update(|s| *s += signed);
                            }
                            Reply::Refused(b) => assert!(
                                op == "debit" && b < amount,
                                "{op}({amount}) was refused with the balance at {b}:\nonly a \
                                 debit larger than the balance may be refused"
                            ),
                            Reply::Balance(b) => assert!(b >= 0, "the balance is {b}"),
                        }
                    }
                    // The client hangs up here: its `Client` is dropped.
                })
                .expect("spawn a client")
        })
        .collect();
    for h in handles {
        h.join().expect("a client panicked");
    }
    let final_balance = bank.close();
    let expected = 100 + accepted.get();
    assert_eq!(
        final_balance, expected,
        "lost update: the server's final balance is {final_balance}, but 100 plus the \
         accepted operations\nmake {expected}"
    );
    let asked: usize = operations.iter().map(|ops| ops.len()).sum();
    assert_eq!(replies.get(), asked, "every request gets exactly one reply");
}

/// Enough money for everything: nothing is refused.
const NO_OVERDRAFT: &[&[(&str, i64)]] = &[
    &[("credit", 30), ("debit", 20)],
    &[("debit", 40), ("balance", 0)],
    &[("credit", 5), ("debit", 10)],
];

/// Debits that overdraw in some schedules and not in others (some leave exactly 0).
const OVERDRAFTS: &[&[(&str, i64)]] = &[
    &[("credit", 30), ("debit", 50)],
    &[("debit", 80), ("balance", 0)],
    &[("debit", 60), ("credit", 10)],
];

/// Four clients, three requests each.
const BUSY: &[&[(&str, i64)]] = &[
    &[("debit", 70), ("credit", 20), ("debit", 40)],
    &[("credit", 10), ("debit", 30), ("balance", 0)],
    &[("debit", 50), ("debit", 5), ("credit", 25)],
    &[("balance", 0), ("debit", 100), ("credit", 15)],
];

fn exploration_checks<B: Banking>() {
    explain(check(
        Config::new().iterations(600),
        clients::<B>.with(NO_OVERDRAFT),
    ));
    explain(check(
        Config::new().iterations(600),
        clients::<B>.with(OVERDRAFTS),
    ));
    explain(check(
        Config::new().iterations(300),
        clients::<B>.with(BUSY),
    ));
    explain(check(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        clients::<B>.with(OVERDRAFTS),
    ));
}

/// Binds the operations of an exploration's body.
trait With {
    fn with(self, ops: &'static [&'static [(&'static str, i64)]]) -> impl Fn() + Send + Sync;
}

impl<F: Fn(&'static [&'static [(&'static str, i64)]]) + Send + Sync + 'static> With for F {
    fn with(self, ops: &'static [&'static [(&'static str, i64)]]) -> impl Fn() + Send + Sync {
        move || self(ops)
    }
}

#[test]
fn the_server_stops_when_every_client_has_hung_up() {
    explain(check(Config::new().iterations(1000), || {
        clients::<Bank>(NO_OVERDRAFT)
    }));
}

#[test]
fn overdrawing_debits_are_refused_and_the_final_balance_is_the_sum_of_accepted_operations() {
    explain(check(Config::new().iterations(1000), || {
        clients::<Bank>(OVERDRAFTS)
    }));
}

#[test]
fn four_clients_three_requests_each() {
    explain(check(Config::new().iterations(400), || {
        clients::<Bank>(BUSY)
    }));
}

#[test]
fn final_balance_within_two_delays() {
    explain(check(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || clients::<Bank>(OVERDRAFTS),
    ));
}

#[test]
fn a_server_with_no_client_stops_at_once() {
    let balance = within(Duration::from_secs(10), "a server with no client", || {
        let (client, server) = server(7);
        drop(client);
        server.run()
    });
    assert_eq!(balance, 7);
}

/// From 40: debit(40), debit(1), credit(5), balance(), then close.
fn whole_balance() -> ([Reply; 3], i64, i64) {
    let bank = Bank::open(40);
    let client = bank.client();
    let replies = [client.debit(40), client.debit(1), client.credit(5)];
    let balance = client.balance();
    drop(client);
    (replies, balance, bank.close())
}

const WHOLE_BALANCE: ([Reply; 3], i64, i64) = (
    [Reply::Accepted(0), Reply::Refused(0), Reply::Accepted(5)],
    5,
    5,
);

/// A debit of exactly the balance is accepted and leaves 0: in a simulation, then on real
/// threads.
#[test]
fn a_debit_of_the_whole_balance_is_accepted() {
    let why = "from 40: debit(40) leaves 0, debit(1) is refused, credit(5) leaves 5, and close \
               returns 5";
    explain(check(
        Config::new().strategy(Strategy::Canonical),
        move || {
            assert_eq!(whole_balance(), WHOLE_BALANCE, "{why}");
        },
    ));
    let real = within(
        Duration::from_secs(10),
        "a bank with one client",
        whole_balance,
    );
    assert_eq!(real, WHOLE_BALANCE, "{why} (on real threads)");
}

/// Every check above, for a bank written in this file.
fn all_checks<B: Banking>() {
    run_script(|| idle_script::<B>().check(IDLE, check_idle));
    desk_script::<B>().check(DESK, check_desk);
    close_script::<B>().check(CLOSE, check_close);
    serving_while_closing_script::<B>().check(SERVING, |_| ());
    exploration_checks::<B>();
}

/// The panic message of `f`, which must panic.
fn failure_of(f: impl FnOnce()) -> String {
    let p = catch_unwind(AssertUnwindSafe(f)).expect_err("the checks must reject this server");
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
        // Whitespace collapsed: the checks assert on words, wherever a report breaks lines.
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a request asks, in the bank written in this file.
enum Ask {
    Credit(i64),
    Debit(i64),
    Balance,
    /// Sent by a faulty `close`: stop now.
    Stop,
}

/// How the bank written in this file goes wrong, if it does.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    /// None: a correct design (an iterator loop, rendezvous replies, a drop before join).
    None,
    /// `run` waits with a timeout, looping on timeouts until the channel disconnects: it
    /// never rests while nobody asks anything (polling).
    Polls,
    /// The server panics on an overdrawing debit.
    Panics,
    /// The server stops after 1 s without a request.
    StopsWhenIdle,
    /// `close` joins the server while the bank still holds a client.
    KeepsItsClient,
    /// `close` sends the server a request to stop at once, whoever is still connected.
    StopsAtOnce,
}

/// A bank written in the test, with `FAULT` (a const parameter, so that each variant is
/// its own type for the generic checks).
struct TestBank<const FAULT: u8> {
    client: Option<TestClient>,
    server: JoinHandle<i64>,
}

#[derive(Clone)]
struct TestClient {
    requests: Sender<(Ask, Sender<Reply>)>,
}

struct TestServer {
    fault: Fault,
    balance: i64,
    requests: Receiver<(Ask, Sender<Reply>)>,
}

const FAULTS: [Fault; 6] = [
    Fault::None,
    Fault::Polls,
    Fault::Panics,
    Fault::StopsWhenIdle,
    Fault::KeepsItsClient,
    Fault::StopsAtOnce,
];

impl TestClient {
    fn call(&self, ask: Ask) -> Reply {
        let (tx, rx) = bounded(0);
        self.requests
            .send((ask, tx))
            .expect("the server stopped while a client was still connected");
        rx.recv()
            .expect("the server dropped a request without replying")
    }
}

impl Teller for TestClient {
    fn credit(&self, amount: i64) -> Reply {
        self.call(Ask::Credit(amount))
    }
    fn debit(&self, amount: i64) -> Reply {
        self.call(Ask::Debit(amount))
    }
    fn balance(&self) -> i64 {
        match self.call(Ask::Balance) {
            Reply::Balance(b) => b,
            other => panic!("Balance answered with {other:?}"),
        }
    }
}

impl TestServer {
    /// Handles one request; false to stop.
    fn handle(&mut self, ask: Ask, reply: Sender<Reply>) -> bool {
        let answer = match ask {
            Ask::Stop => return false,
            Ask::Credit(a) => {
                self.balance += a;
                Reply::Accepted(self.balance)
            }
            Ask::Debit(a) if a > self.balance => {
                assert!(self.fault != Fault::Panics, "overdrawn by {a}");
                Reply::Refused(self.balance)
            }
            Ask::Debit(a) => {
                self.balance -= a;
                Reply::Accepted(self.balance)
            }
            Ask::Balance => Reply::Balance(self.balance),
        };
        let _ = reply.send(answer);
        true
    }

    fn run(mut self) -> i64 {
        match self.fault {
            Fault::Polls | Fault::StopsWhenIdle => loop {
                match self.requests.recv_timeout(Duration::from_secs(1)) {
                    Ok((ask, reply)) => {
                        self.handle(ask, reply);
                    }
                    Err(RecvTimeoutError::Timeout) if self.fault == Fault::Polls => {}
                    Err(_) => return self.balance,
                }
            },
            _ => {
                let requests = self.requests.clone();
                for (ask, reply) in requests.iter() {
                    if !self.handle(ask, reply) {
                        break;
                    }
                }
                self.balance
            }
        }
    }
}

impl<const FAULT: u8> Banking for TestBank<FAULT> {
    type Client = TestClient;
    type Server = TestServer;

    fn server(initial: i64) -> (TestClient, TestServer) {
        let (tx, rx) = unbounded();
        let server = TestServer {
            fault: FAULTS[FAULT as usize],
            balance: initial,
            requests: rx,
        };
        (TestClient { requests: tx }, server)
    }

    fn run(server: TestServer) -> i64 {
        server.run()
    }

    fn open(initial: i64) -> Self {
        let (client, s) = Self::server(initial);
        let server = thread::Builder::new()
            .name("server".into())
            .spawn(move || s.run())
            .expect("spawn the server");
        TestBank {
            client: Some(client),
            server,
        }
    }

    fn client(&self) -> TestClient {
        self.client.clone().expect("the bank's own client")
    }

    fn close(mut self) -> i64 {
        match FAULTS[FAULT as usize] {
            Fault::KeepsItsClient => {}
            Fault::StopsAtOnce => {
                let client = self.client.take().expect("the bank's own client");
                let (tx, _) = bounded(1);
                let _ = client.requests.send((Ask::Stop, tx));
            }
            _ => self.client = None,
        }
        self.server.join().expect("the server panicked")
    }
}

#[test]
fn another_correct_design_passes() {
    all_checks::<TestBank<0>>();
}

#[test]
fn the_checks_reject_a_server_that_polls() {
    let m = failure_of(|| {
        run_script(|| idle_script::<TestBank<1>>().check(IDLE, check_idle));
    });
    assert!(m.starts_with("the server never rests:"), "{m}");
}

#[test]
fn the_checks_reject_a_server_that_panics_on_an_overdraft() {
    let m = failure_of(exploration_checks::<TestBank<2>>);
    assert!(
        m.starts_with("the server thread panicked: a request the server cannot honour"),
        "{m}"
    );
}

#[test]
fn the_checks_reject_a_server_that_stops_when_idle() {
    let m = failure_of(|| {
        idle_script::<TestBank<3>>().check(IDLE, check_idle);
    });
    assert!(
        m.starts_with("S run() returned at step 1 while C1 and C2 were still connected"),
        "{m}"
    );
}

#[test]
fn the_checks_blame_the_server_that_stopped_not_the_client_that_found_it_gone() {
    let m = failure_of(|| {
        desk_script::<TestBank<3>>().check(DESK, check_desk);
    });
    assert!(
        m.starts_with(
            "S run() returned 100 at step 1 while C1 and C2 were still connected: the server \
             stopped before the last client hung up."
        ),
        "{m}"
    );
    assert!(m.contains("look at the loop in Server::run"), "{m}");
}

#[test]
fn the_checks_reject_a_bank_that_keeps_its_own_client() {
    let m = failure_of(exploration_checks::<TestBank<4>>);
    assert!(
        m.starts_with("the server never stops: every client has hung up"),
        "{m}"
    );
}

#[test]
fn the_checks_reject_a_close_that_stops_the_server_at_once() {
    let m = failure_of(|| {
        close_script::<TestBank<5>>().check(CLOSE, check_close);
    });
    assert!(
        m.starts_with("M close() returned at step 3 while a client was still connected"),
        "{m}"
    );
}
