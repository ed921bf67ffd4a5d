//! Checks `messages/mailbox`: a synchronous send waits for the receiver, an asynchronous
//! one does not; `try_receive` never blocks; `receive_timeout` waits, but not forever.

use std::fmt;
use std::time::Duration;

use interleave::explore::{Config, Observed, Strategy, explore};
use interleave::scenario::{Returned, Scenario, Table};
use interleave::sync::Arc;
use interleave::thread;
use interleave::time::Instant;
use messages::mailbox::{Kind, Mailbox, Message, Misaddressed, Mode, ReceiveError};

/// A value shown in the table as it is (no quotes from `Debug`).
struct Shown(String);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn send(body: &'static str) -> impl FnOnce(&Mailbox) {
    move |m: &Mailbox| {
        m.send(Message::new(Kind::Data, "P1", "P2", body))
            .expect("addressed to P2")
    }
}

fn receive(m: &Mailbox) -> Shown {
    Shown(m.receive().to_string())
}

fn shown(r: Result<Message, ReceiveError>) -> Shown {
    Shown(match r {
        Ok(m) => format!("Ok({m})"),
        Err(e) => format!("Err({e:?})"),
    })
}

fn try_receive(m: &Mailbox) -> Shown {
    shown(m.try_receive())
}

fn receive_timeout(m: &Mailbox) -> Shown {
    shown(m.receive_timeout(Duration::from_millis(10)))
}

/// Messages in the mailbox, from the calls that returned: sends minus receives that got
/// a message.
fn in_mailbox(done: &[Returned]) -> String {
    let mut n = 0i64;
    for r in done {
        let got = r.value.as_deref().is_some_and(|v| !v.starts_with("Err"));
        if r.call.starts_with("send") {
            n += 1;
        } else if got {
            n -= 1;
        }
    }
    format!("in the mailbox: {n}")
}

fn synchronous_script() -> Table {
    Scenario::new(|| Mailbox::new("P2", Mode::Synchronous))
        .call("P1", "send(\"hello\")", send("hello"))
        .call("P2", "receive()", receive)
        .call("P2", "try_receive()", try_receive)
        .call("P2", "receive_timeout(10ms)", receive_timeout)
        .call("P2", "receive()", receive)
        .call("P1", "send(\"bye\")", send("bye"))
        .state(in_mailbox)
        .max_steps(1_000)
        .run()
}

fn asynchronous_script() -> Table {
    Scenario::new(|| Mailbox::new("P2", Mode::Asynchronous))
        .call("P2", "try_receive()", try_receive)
        .call("P1", "send(\"hello\")", send("hello"))
        .call("P1", "send(\"bye\")", send("bye"))
        .call("P2", "receive()", receive)
        .call("P2", "try_receive()", try_receive)
        .call("P2", "receive_timeout(10ms)", receive_timeout)
        .state(in_mailbox)
        .max_steps(1_000)
        .run()
}

#[test]
fn synchronous_send_waits_until_the_owner_receives() {
    let table = synchronous_script();
    let first = &table.rows[0];
    assert!(
        first.returned.is_empty(),
        "with a synchronous mailbox, P1's send(\"hello\") returned at step 1, before P2 \
         received anything: the message was left *in* the mailbox and the sender went on \
         (the notes' weak synchronization). A synchronous send returns only once the owner \
         has received the message: a rendezvous, where the mailbox has no room at all.\n\n\
         {table:#}"
    );
    interleave::assert_table!(table);
}

#[test]
fn asynchronous_send_returns_at_once_and_try_receive_says_empty() {
    let table = asynchronous_script();
    let second = &table.rows[1];
    assert!(
        second.blocked.is_empty(),
        "with an asynchronous mailbox, P1's send must return at once, the message waiting \
         in the mailbox; it is blocked:\n\n{table:#}"
    );
    interleave::assert_table!(table);
}

/// P1 sends `late` after 5 ms (virtual time); P2 waits at most 10 ms.
fn late_message(mode: Mode) {
    let mailbox = Arc::new(Mailbox::new("P2", mode));
    let m = mailbox.clone();
    let sender = thread::Builder::new()
        .name("P1".into())
        .spawn(move || {
            thread::sleep(Duration::from_millis(5));
            m.send(Message::new(Kind::Data, "P1", "P2", "late"))
                .expect("addressed to P2");
        })
        .expect("spawn P1");
    let start = Instant::now();
    let got = mailbox.receive_timeout(Duration::from_millis(10));
    let waited = start.elapsed();
    assert!(
        got.as_ref().is_ok_and(|m| m.body == "late"),
        "receive_timeout(10ms) returned {got:?} after {waited:?}, but P1 sent a message at \
         5ms: receive_timeout must wait up to its timeout for a message, not give up at once"
    );
    assert_eq!(waited, Duration::from_millis(5), "the message came at 5ms");
    sender.join().expect("P1 panicked");
}

#[test]
fn receive_timeout_waits_for_a_message_that_comes_in_time() {
    explore(Config::new().iterations(50), || {
        late_message(Mode::Asynchronous)
    });
    explore(Config::new().iterations(50), || {
        late_message(Mode::Synchronous)
    });
}

#[test]
fn receive_timeout_gives_up_after_the_timeout() {
    explore(Config::new().strategy(Strategy::Canonical), || {
        let mailbox = Mailbox::new("P2", Mode::Asynchronous);
        let start = Instant::now();
        let got = mailbox.receive_timeout(Duration::from_millis(10));
        let waited = start.elapsed();
        assert_eq!(got, Err(ReceiveError::Timeout), "nobody sends anything");
        assert_eq!(
            waited,
            Duration::from_millis(10),
            "receive_timeout(10ms) with no sender must give up after 10ms (virtual time), \
             not after {waited:?}"
        );
    });
}

#[test]
fn a_message_for_someone_else_is_handed_back() {
    let mailbox = Mailbox::new("P2", Mode::Asynchronous);
    let msg = Message::new(Kind::Error, "P1", "P3", "not for P2");
    assert_eq!(mailbox.send(msg.clone()), Err(Misaddressed(msg)));
    assert_eq!(mailbox.try_receive(), Err(ReceiveError::Empty));
}

#[test]
fn message_length_is_the_body_length() {
    let msg = Message::new(Kind::Sync, "P1", "P2", "ack");
    assert_eq!(msg.len(), 3);
    assert_eq!(msg.to_string(), "Sync P1->P2 \"ack\"");
}

/// Two senders, three messages each, to P2, who mixes blocking and non-blocking
/// receives: every message arrives once, each sender's in order; with a synchronous
/// mailbox, no send returns before its message was received.
fn two_senders(mode: Mode) {
    let mailbox = Arc::new(Mailbox::new("P2", mode));
    let received = Observed::new(Vec::<(String, String)>::new());
    let senders: Vec<_> = ["P1", "P3"]
        .into_iter()
        .map(|name| {
            let (m, received) = (mailbox.clone(), received.clone());
            thread::Builder::new()
                .name(name.into())
                .spawn(move || {
                    for i in 0..3 {
                        let body = format!("{name}.{i}");
                        m.send(Message::new(Kind::Data, name, "P2", &body))
                            .expect("addressed to P2");
                        if mode == Mode::Synchronous {
                            let seen = received.with(|r| r.iter().any(|(_, b)| *b == body));
                            assert!(
                                seen,
                                "{name}'s synchronous send of {body:?} returned before P2 \
                                 received it: a synchronous send must wait until the owner \
                                 has taken the message (a rendezvous)"
                            );
                        }
                    }
                })
                .expect("spawn a sender")
        })
        .collect();
    let mut got = 0;
    while got < 6 {
        let msg = if got % 2 == 0 {
            mailbox.receive()
        } else {
            match mailbox.try_receive() {
                Ok(m) => m,
                Err(ReceiveError::Empty) => {
                    thread::yield_now();
                    continue;
                }
                Err(e) => panic!("try_receive: {e}"),
            }
        };
        received.update(|r| r.push((msg.source.clone(), msg.body.clone())));
        got += 1;
    }
    for s in senders {
        s.join().expect("a sender panicked");
    }
    assert_eq!(mailbox.try_receive(), Err(ReceiveError::Empty));
    let all = received.get();
    for name in ["P1", "P3"] {
        let mine: Vec<&str> = all
            .iter()
            .filter(|(s, _)| s == name)
            .map(|(_, b)| b.as_str())
            .collect();
        let want: Vec<String> = (0..3).map(|i| format!("{name}.{i}")).collect();
        assert_eq!(
            mine, want,
            "P2 must get each of {name}'s messages once, in the order they were sent"
        );
    }
}

#[test]
fn every_message_arrives_once_in_order_asynchronous() {
    explore(Config::new().iterations(1000), || {
        two_senders(Mode::Asynchronous)
    });
}

#[test]
fn every_message_arrives_once_in_order_synchronous() {
    explore(Config::new().iterations(1000), || {
        two_senders(Mode::Synchronous)
    });
}
