//! Checks `messages/server`: the balance lives in one server thread; overdrawing debits
//! are refused; no update and no request is lost; the server stops when every client has
//! hung up.

use std::cell::RefCell;
use std::collections::BTreeMap;

use interleave::explore::{Config, Observed, Strategy, check};
use interleave::report::{Failure, FailureKind};
use interleave::scenario::{Returned, Scenario};
use interleave::{thread, trace};
use messages::server::{Bank, Client, Reply, Server, server};

/// The scenario's world: a server not yet running, and two connected clients.
struct Desk {
    server: RefCell<Option<Server>>,
    clients: RefCell<BTreeMap<&'static str, Client>>,
}

impl Desk {
    fn new() -> Self {
        let (c1, s) = server(100);
        let c2 = c1.clone();
        Desk {
            server: RefCell::new(Some(s)),
            clients: RefCell::new(BTreeMap::from([("C1", c1), ("C2", c2)])),
        }
    }

    fn client(&self, name: &str) -> Client {
        self.clients.borrow()[name].clone()
    }

    fn run(&self) -> i64 {
        let s = self
            .server
            .borrow_mut()
            .take()
            .expect("the server runs once");
        s.run()
    }

    fn hang_up(&self, name: &str) {
        self.clients.borrow_mut().remove(name);
    }
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

#[test]
fn an_overdrawing_debit_is_refused_and_the_server_stops_after_the_last_hang_up() {
    let table = Scenario::new(Desk::new)
        .call("S", "run()", |d| d.run())
        .call("C1", "credit(50)", |d| d.client("C1").credit(50))
        .call("C2", "debit(200)", |d| d.client("C2").debit(200))
        .call("C2", "debit(30)", |d| d.client("C2").debit(30))
        .call("C1", "balance()", |d| d.client("C1").balance())
        .call("C1", "hang_up()", |d| d.hang_up("C1"))
        .call("C2", "hang_up()", |d| d.hang_up("C2"))
        .state(balance_and_clients)
        .max_steps(2_000)
        .run();
    let overdrawn = table
        .rows
        .iter()
        .flat_map(|r| &r.returned)
        .find(|r| r.contains("-> Accepted(-"));
    assert!(
        overdrawn.is_none(),
        "{} : the server let the balance go negative. A debit larger than the balance must \
         be refused with a reply (Reply::Refused), leaving the balance unchanged.\n\n{table:#}",
        overdrawn.map(String::as_str).unwrap_or_default()
    );
    interleave::assert_table!(table);
}

/// Re-raises an exploration's failure, explaining a server that never stops.
fn explain(result: Result<interleave::explore::Stats, Box<Failure>>) {
    let Err(f) = result else { return };
    let stuck = matches!(f.kind, FailureKind::Deadlock | FailureKind::LostWakeup)
        && f.message
            .contains("server waits to receive on Channel requests");
    if stuck {
        panic!(
            "the server never stops: every client has hung up, yet the server still waits \
             in `recv` on `requests`, and main waits for the server to finish. The channel \
             is not disconnected because a Sender of it is still alive: who still holds a \
             `Client` when `close` joins the server?\n\n{f}"
        );
    }
    panic!("{f}");
}

/// Three clients work on one bank at once; every reply is checked, accepted operations
/// are added up on the test side, and the final balance must be their sum.
fn three_clients(operations: [[(&'static str, i64); 2]; 3]) {
    let bank = Bank::open(100);
    let accepted = Observed::new(0i64);
    let replies = Observed::new(0usize);
    let handles: Vec<_> = operations
        .into_iter()
        .enumerate()
        .map(|(i, ops)| {
            let (client, accepted, replies) = (bank.client(), accepted.clone(), replies.clone());
            thread::Builder::new()
                .name(format!("C{}", i + 1))
                .spawn(move || {
                    for (op, amount) in ops {
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
                                    "{op}({amount}) was accepted and left the balance at {b}: \
                                     a debit that would overdraw must be refused with \
                                     Reply::Refused, not applied"
                                );
                                let signed = if op == "debit" { -amount } else { amount };
                                accepted.update(|s| *s += signed);
                            }
                            Reply::Refused(b) => assert!(
                                op == "debit" && b < amount,
                                "{op}({amount}) was refused with the balance at {b}: only a \
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
         accepted operations make {expected}"
    );
    assert_eq!(replies.get(), 6, "every request gets exactly one reply");
}

/// Enough money for everything: nothing is refused.
const NO_OVERDRAFT: [[(&str, i64); 2]; 3] = [
    [("credit", 30), ("debit", 20)],
    [("debit", 40), ("balance", 0)],
    [("credit", 5), ("debit", 10)],
];

/// Debits that overdraw in some schedules and not in others.
const OVERDRAFTS: [[(&str, i64); 2]; 3] = [
    [("credit", 30), ("debit", 50)],
    [("debit", 80), ("balance", 0)],
    [("debit", 60), ("credit", 10)],
];

#[test]
fn the_server_stops_when_every_client_has_hung_up() {
    explain(check(Config::new().iterations(1000), || {
        three_clients(NO_OVERDRAFT)
    }));
}

#[test]
fn overdrawing_debits_are_refused_and_the_final_balance_is_the_sum_of_accepted_operations() {
    explain(check(Config::new().iterations(1000), || {
        three_clients(OVERDRAFTS)
    }));
}

#[test]
fn final_balance_within_two_delays() {
    explain(check(
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
        || three_clients(OVERDRAFTS),
    ));
}

#[test]
fn a_server_with_no_client_stops_at_once() {
    let (client, server) = server(7);
    drop(client);
    assert_eq!(server.run(), 7);
}
