//! Checks `messages/mailbox`: a synchronous send waits for the receiver, an asynchronous
//! one does not; `try_receive` never blocks and takes a waiting sender's message;
//! `receive_timeout` waits, but not forever, and returns as soon as a message comes;
//! messages come out oldest first. Wrong mailboxes the checks must reject, and other
//! correct designs they must accept, are at the end.

mod common;

use std::collections::VecDeque;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use common::script::Checked;
use common::text::{IN_SIMULATION, PLAIN, wrap};
use interleave::channel::{Receiver, Sender, bounded, unbounded};
use interleave::explore::{Config, Observed, Strategy, explore};
use interleave::scenario::{Returned, Row, Scenario, Table};
use interleave::sync::{Arc, Condvar, Mutex};
use interleave::thread;
use interleave::time::Instant;
use messages::mailbox::{Kind, Mailbox, Message, Misaddressed, Mode, ReceiveError};

/// A mailbox as the checks see it (the step's `Mailbox`, or one written in this file).
trait Mbox: Send + Sync + 'static {
    fn send(&self, msg: Message) -> Result<(), Misaddressed>;
    fn receive(&self) -> Message;
    fn try_receive(&self) -> Result<Message, ReceiveError>;
    fn receive_timeout(&self, timeout: Duration) -> Result<Message, ReceiveError>;
}

impl Mbox for Mailbox {
    fn send(&self, msg: Message) -> Result<(), Misaddressed> {
        Mailbox::send(self, msg)
    }
    fn receive(&self) -> Message {
        Mailbox::receive(self)
    }
    fn try_receive(&self) -> Result<Message, ReceiveError> {
        Mailbox::try_receive(self)
    }
    fn receive_timeout(&self, timeout: Duration) -> Result<Message, ReceiveError> {
        Mailbox::receive_timeout(self, timeout)
    }
}

/// Makes P2's mailbox in the given mode.
type Make<M> = fn(Mode) -> M;

fn step_mailbox(mode: Mode) -> Mailbox {
    Mailbox::new("P2", mode)
}

/// A value shown in the table as it is (no quotes from `Debug`).
struct Shown(String);

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn send_as<M: Mbox>(from: &'static str, body: &'static str) -> impl Fn(&M) {
    move |m: &M| {
        m.send(Message::new(Kind::Data, from, "P2", body))
            .expect("addressed to P2")
    }
}

fn send<M: Mbox>(body: &'static str) -> impl Fn(&M) {
    send_as("P1", body)
}

fn receive<M: Mbox>(m: &M) -> Shown {
    Shown(m.receive().to_string())
}

fn shown(r: Result<Message, ReceiveError>) -> Shown {
    Shown(match r {
        Ok(m) => format!("Ok({m})"),
        Err(e) => format!("Err({e:?})"),
    })
}

fn try_receive<M: Mbox>(m: &M) -> Shown {
    shown(m.try_receive())
}

fn receive_timeout<M: Mbox>(m: &M) -> Shown {
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

const WAITS: &str = "a synchronous send waits until the owner takes its message";
const NEVER: &str = "an asynchronous send never waits: the message waits in the mailbox";

fn synchronous_script<M: Mbox>(make: Make<M>) -> Scenario<M> {
    Scenario::new(move || make(Mode::Synchronous))
        .call("P1", "send(\"hello\")", send("hello"))
        .rule(WAITS)
        .call("P2", "receive()", receive)
        .rule("the owner takes the waiting message, and its sender goes on")
        .call("P2", "try_receive()", try_receive)
        .rule("nobody is sending: try_receive says Empty at once")
        .call("P2", "receive_timeout(10ms)", receive_timeout)
        .rule("nobody sends within 10ms: Timeout")
        .call("P2", "receive()", receive)
        .rule("nothing to take: receive waits")
        .call("P1", "send(\"bye\")", send("bye"))
        .rule("the owner is waiting: it takes the message at once, and the send returns")
        .state(in_mailbox)
        .max_steps(1_000)
}

fn asynchronous_script<M: Mbox>(make: Make<M>) -> Scenario<M> {
    Scenario::new(move || make(Mode::Asynchronous))
        .call("P2", "try_receive()", try_receive)
        .rule("no message: try_receive says Empty at once")
        .call("P1", "send(\"hello\")", send("hello"))
        .rule(NEVER)
        .call("P1", "send(\"bye\")", send("bye"))
        .rule(NEVER)
        .call("P2", "receive()", receive)
        .rule("the oldest message comes out first")
        .call("P2", "try_receive()", try_receive)
        .rule("a message is waiting: try_receive takes it")
        .call("P2", "receive_timeout(10ms)", receive_timeout)
        .rule("nobody sends within 10ms: Timeout")
        .state(in_mailbox)
        .max_steps(1_000)
}

/// Two senders wait at once in a synchronous mailbox; each receive, of any kind, takes the
/// oldest waiting message and releases its sender only.
fn synchronous_senders_script<M: Mbox>(make: Make<M>) -> Scenario<M> {
    Scenario::new(move || make(Mode::Synchronous))
        .call("P1", "send(\"a\")", send_as("P1", "a"))
        .rule(WAITS)
        .call("P3", "send(\"b\")", send_as("P3", "b"))
        .rule(WAITS)
        .call("P2", "receive()", receive)
        .rule("the oldest message comes out first, and only its sender goes on")
        .call("P2", "try_receive()", try_receive)
        .rule("a waiting sender's message is there to take: try_receive takes it at once")
        .call("P1", "send(\"c\")", send_as("P1", "c"))
        .rule(WAITS)
        .call("P2", "receive_timeout(10ms)", receive_timeout)
        .rule("a message is there: receive_timeout returns it at once")
        .call("P2", "try_receive()", try_receive)
        .rule("nobody is sending: Empty")
        .call("P3", "send(\"d\")", send_as("P3", "d"))
        .rule(WAITS)
        .call("P1", "send(\"e\")", send_as("P1", "e"))
        .rule(WAITS)
        .call("P2", "receive()", receive)
        .rule("the oldest message comes out first, and only its sender goes on")
        .call("P2", "receive()", receive)
        .rule("the oldest message comes out first, and only its sender goes on")
        .state(in_mailbox)
        .max_steps(2_000)
}

/// Eight messages from two senders before the owner reads any: no send waits, and they
/// come out in the order they went in.
fn asynchronous_pile_script<M: Mbox>(make: Make<M>) -> Scenario<M> {
    const BODIES: [&str; 8] = ["1", "2", "3", "4", "5", "6", "7", "8"];
    // Eight processes send one message each (P2 is the owner).
    const FROM: [&str; 8] = ["P1", "P3", "P4", "P5", "P6", "P7", "P8", "P9"];
    let mut sc = Scenario::new(move || make(Mode::Asynchronous));
    for (from, body) in FROM.into_iter().zip(BODIES) {
        sc = sc
            .call(from, &format!("send({body:?})"), send_as(from, body))
            .rule(NEVER);
    }
    sc.call("P2", "receive()", receive)
        .rule("the oldest message comes out first")
        .call("P2", "try_receive()", try_receive)
        .rule("the oldest message comes out first")
        .call("P2", "receive_timeout(10ms)", receive_timeout)
        .rule("a message is there: receive_timeout returns the oldest at once")
        .call("P2", "receive()", receive)
        .rule("the oldest message comes out first")
        .state(in_mailbox)
        .max_steps(2_000)
}

/// The first row where a send is still blocked after its own step.
fn first_waiting_send(table: &Table) -> Option<usize> {
    table
        .rows
        .iter()
        .position(|r| r.call.contains(" send(") && r.blocked.contains(&r.call))
}

fn check_synchronous(table: &Table) {
    let Some(first) = table.rows.first() else {
        return;
    };
    assert!(
        first.returned.is_empty(),
        "with a synchronous mailbox, {} returned at step 1, before P2 received anything:\n\
         the message was left *in* the mailbox and the sender went on (the notes' weak \
         synchronization).\nA synchronous send returns only once the owner has received the \
         message: a rendezvous,\nwhere the mailbox has no room at all.\n\n{table:#}",
        first.call
    );
}

fn check_synchronous_senders(table: &Table) {
    check_synchronous(table);
    let Some(fourth) = table.rows.get(3) else {
        return;
    };
    assert!(
        fourth
            .returned
            .iter()
            .any(|r| r.contains("Ok(Data P3->P2 \"b\")"))
            && fourth.returned.iter().any(|r| r == "P3 send(\"b\")"),
        "at step 4, P3 was waiting in a synchronous send(\"b\") and P2 called try_receive(), \
         which returned\n{:?}: a waiting sender's message is there to take. try_receive \
         must take it\n(without waiting) and let P3 go on.\n\n{table:#}",
        fourth.returned
    );
}

fn check_asynchronous(table: &Table) {
    if let Some(k) = first_waiting_send(table) {
        panic!(
            "with an asynchronous mailbox, {} waited at step {}, with {} in the mailbox:\n\
             an asynchronous send never waits, however many messages wait to be read (a \
             mailbox with room\nfor a few messages only is a bounded buffer, not an \
             asynchronous mailbox).\n\n{table:#}",
            table.rows[k].call,
            k + 1,
            table.rows[k.saturating_sub(1)]
                .state
                .as_deref()
                .unwrap_or("?")
                .trim_start_matches("in the mailbox: ")
                .to_string()
                + " messages"
        );
    }
}

/// How many messages P1 sends before P2 reads any: far more than any "big enough" room a
/// bounded buffer would be given (the test costs only simulated steps, never memory or time
/// that matter).
const FLOOD: usize = 10_000;

/// P1 sends `FLOOD` messages to an asynchronous mailbox before its owner reads any, then P2
/// reads them all. The state column counts P1's sends that returned (`sent: 10000`).
fn flood_script<M: Mbox>(make: Make<M>) -> Scenario<M> {
    let sent = Arc::new(AtomicUsize::new(0));
    let count = sent.clone();
    Scenario::new(move || make(Mode::Asynchronous))
        .call(
            "P1",
            &format!("send(\"1\") ... send(\"{FLOOD}\")"),
            move |m: &M| {
                for i in 1..=FLOOD {
                    m.send(Message::new(Kind::Data, "P1", "P2", &i.to_string()))
                        .expect("addressed to P2");
                    sent.store(i, SeqCst);
                }
            },
        )
        .rule(NEVER)
        .call("P2", &format!("{FLOOD} x receive()"), |m: &M| {
            for i in 1..=FLOOD {
                let got = m.receive();
                if got.body != i.to_string() {
                    return Shown(format!("receive number {i} returned {got}"));
                }
            }
            Shown("every message, oldest first".to_string())
        })
        .rule("the oldest message comes out first")
        .state(move |_| format!("sent: {}", count.load(SeqCst)))
        .max_steps(1_000_000)
}

/// Runs the flood and says what went wrong, in the step's words.
fn check_flood<M: Mbox>(make: Make<M>) {
    let table = flood_script(make).run();
    if let Some(first) = table.rows.first().filter(|r| r.blocked.contains(&r.call)) {
        let sent: usize = first
            .state
            .as_deref()
            .and_then(|s| s.strip_prefix("sent: "))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let rule = "an asynchronous send never waits, however many messages wait to be read";
        if sent == 0 {
            panic!(
                "{}",
                wrap(
                    &format!(
                        "with an asynchronous mailbox, P1's first send waited, in an empty \
                         mailbox: {rule}."
                    ),
                    PLAIN
                )
            );
        }
        let held = if sent == 1 {
            "1 message was".to_string()
        } else {
            format!("{sent} messages were")
        };
        panic!(
            "{}",
            wrap(
                &format!(
                    "with an asynchronous mailbox, P1's send of message {} waited for room: \
                     {held} waiting to be read. P1 sends {FLOOD} messages to P2 before P2 reads \
                     any, and {rule}. A mailbox that makes a sender wait once it is full is a \
                     bounded buffer, not an asynchronous mailbox: look at what your asynchronous \
                     mailbox keeps its messages in, and at what limits its size.",
                    sent + 1
                ),
                PLAIN
            )
        );
    }
    if let Some(Row { returned, .. }) = table.rows.get(1) {
        let all = format!("P2 {FLOOD} x receive() -> every message, oldest first");
        assert!(
            returned.contains(&all),
            "P1 sent {FLOOD} messages to P2's asynchronous mailbox, \"1\" to \"{FLOOD}\", \
             then P2 received them,\nbut {}: messages come out in the order they went in",
            returned
                .iter()
                .find_map(|r| r.strip_prefix(&format!("P2 {FLOOD} x receive() -> ")))
                .unwrap_or("P2's receives did not all return")
        );
    }
}

#[test]
fn thousands_of_asynchronous_sends_before_any_receive_never_wait() {
    check_flood(step_mailbox);
}

const SYNCHRONOUS: &str =
    include_str!("snapshots/mailbox__synchronous_send_waits_until_the_owner_receives.snap");
const ASYNCHRONOUS: &str = include_str!(
    "snapshots/mailbox__asynchronous_send_returns_at_once_and_try_receive_says_empty.snap"
);
const SENDERS: &str = include_str!(
    "snapshots/mailbox__two_waiting_senders_are_served_oldest_first_by_every_kind_of_receive.snap"
);
const PILE: &str = include_str!(
    "snapshots/mailbox__many_asynchronous_sends_never_wait_and_come_out_in_order.snap"
);

#[test]
fn synchronous_send_waits_until_the_owner_receives() {
    let table = synchronous_script(step_mailbox).run();
    check_synchronous(&table);
    interleave::assert_table!(table);
}

#[test]
fn asynchronous_send_returns_at_once_and_try_receive_says_empty() {
    let table = asynchronous_script(step_mailbox).run();
    check_asynchronous(&table);
    interleave::assert_table!(table);
}

#[test]
fn two_waiting_senders_are_served_oldest_first_by_every_kind_of_receive() {
    let table = synchronous_senders_script(step_mailbox).run();
    check_synchronous_senders(&table);
    interleave::assert_table!(table);
}

#[test]
fn many_asynchronous_sends_never_wait_and_come_out_in_order() {
    let table = asynchronous_pile_script(step_mailbox).run();
    check_asynchronous(&table);
    interleave::assert_table!(table);
}

/// P1 sends `late` after 5 ms (virtual time); P2 waits at most 10 ms.
fn late_message<M: Mbox>(make: Make<M>, mode: Mode) {
    let mailbox = Arc::new(make(mode));
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
         5ms:\nreceive_timeout must wait up to its timeout for a message, not give up at once"
    );
    assert!(
        waited == Duration::from_millis(5),
        "receive_timeout(10ms) returned P1's message after {waited:?}, but the message came \
         at 5ms:\nreceive_timeout returns as soon as a message comes, it does not sit out \
         its whole timeout\n(nor poll at intervals)"
    );
    sender.join().expect("P1 panicked");
}

/// Nobody sends: the wait gives up after exactly its timeout (virtual time).
fn nobody_sends<M: Mbox>(make: Make<M>) {
    for mode in [Mode::Asynchronous, Mode::Synchronous] {
        let mailbox = make(mode);
        let start = Instant::now();
        let got = mailbox.receive_timeout(Duration::from_millis(10));
        let waited = start.elapsed();
        assert!(
            got.is_err(),
            "nobody sends anything, yet receive_timeout returned {got:?}"
        );
        assert_eq!(got, Err(ReceiveError::Timeout), "nobody sends anything");
        assert!(
            waited == Duration::from_millis(10),
            "receive_timeout(10ms) with no sender gave up after {waited:?}: it must wait its \
             whole timeout,\n10ms (virtual time), then give up"
        );
    }
}

fn timeout_checks<M: Mbox>(make: Make<M>) {
    explore(Config::new().iterations(50), move || {
        late_message(make, Mode::Asynchronous)
    });
    explore(Config::new().iterations(50), move || {
        late_message(make, Mode::Synchronous)
    });
    explore(Config::new().strategy(Strategy::Canonical), move || {
        nobody_sends(make)
    });
}

#[test]
fn receive_timeout_waits_for_a_message_that_comes_in_time() {
    explore(Config::new().iterations(50), || {
        late_message(step_mailbox, Mode::Asynchronous)
    });
    explore(Config::new().iterations(50), || {
        late_message(step_mailbox, Mode::Synchronous)
    });
}

#[test]
fn receive_timeout_gives_up_after_the_timeout() {
    explore(Config::new().strategy(Strategy::Canonical), || {
        nobody_sends(step_mailbox)
    });
}

#[test]
fn a_message_for_someone_else_is_handed_back() {
    // In a simulation: a send that blocks instead of refusing is diagnosed, not a hang.
    explore(Config::new().strategy(Strategy::Canonical), || {
        for mode in [Mode::Asynchronous, Mode::Synchronous] {
            let mailbox = Mailbox::new("P2", mode);
            let msg = Message::new(Kind::Error, "P1", "P3", "not for P2");
            let which = match mode {
                Mode::Asynchronous => "asynchronous",
                Mode::Synchronous => "synchronous",
            };
            let rule = "Only messages addressed to the owner go in: send must hand a message \
                        for someone else back at once, as Err(Misaddressed(message)), whatever \
                        its kind";
            let fail = |what: String, more: String| -> ! {
                panic!("{what}\n{}", wrap(&format!("{rule}{more}"), IN_SIMULATION))
            };
            match mailbox.send(msg.clone()) {
                Err(Misaddressed(back)) if back == msg => {}
                Err(Misaddressed(back)) => fail(
                    format!(
                        "P2's {which} mailbox handed back a message that P1 did not send:\n\
                         send({msg}) returned Misaddressed with {back}."
                    ),
                    ", and unchanged.".to_string(),
                ),
                Ok(()) => fail(
                    format!(
                        "P2's {which} mailbox took a message addressed to P3:\n\
                         send({msg}) returned Ok(())."
                    ),
                    format!(" (this one is an {:?} message).", msg.kind),
                ),
            }
            if let Ok(kept) = mailbox.try_receive() {
                fail(
                    format!(
                        "P2's {which} mailbox kept a message addressed to P3:\n\
                         send({msg}) handed it back, yet try_receive() then returned {kept}."
                    ),
                    ", and it never goes in.".to_string(),
                );
            }
        }
    });
    let msg = Message::new(Kind::Error, "P1", "P3", "not for P2");
    assert_eq!(
        Misaddressed(msg).to_string(),
        "message for P3 sent to another mailbox"
    );
}

#[test]
fn a_mailbox_knows_its_owner_and_mode() {
    for mode in [Mode::Synchronous, Mode::Asynchronous] {
        let mailbox = Mailbox::new("P7", mode);
        assert_eq!(mailbox.owner(), "P7");
        assert_eq!(mailbox.mode(), mode);
    }
}

#[test]
fn message_length_is_the_body_length() {
    let msg = Message::new(Kind::Sync, "P1", "P2", "ack");
    assert_eq!(msg.len(), 3);
    assert!(!msg.is_empty());
    assert!(Message::new(Kind::Sync, "P1", "P2", "").is_empty());
    assert_eq!(msg.to_string(), "Sync P1->P2 \"ack\"");
}

#[test]
fn receive_errors_say_what_happened() {
    assert_eq!(ReceiveError::Empty.to_string(), "the mailbox is empty");
    assert_eq!(ReceiveError::Timeout.to_string(), "no message came in time");
}

/// `senders` senders, `each` messages each, to P2, who mixes blocking and non-blocking
/// receives: every message arrives once, each sender's in order; with a synchronous
/// mailbox, no send returns before its message was received.
fn many_senders<M: Mbox>(make: Make<M>, mode: Mode, senders: usize, each: usize) {
    let mailbox = Arc::new(make(mode));
    let received = Observed::new(Vec::<(String, String)>::new());
    let names: Vec<String> = (0..senders)
        .map(|k| format!("P{}", if k == 0 { 1 } else { k + 2 }))
        .collect();
    let handles: Vec<_> = names
        .iter()
        .cloned()
        .map(|name| {
            let (m, received) = (mailbox.clone(), received.clone());
            thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    for i in 0..each {
                        let body = format!("{name}.{i}");
                        m.send(Message::new(Kind::Data, &name, "P2", &body))
                            .expect("addressed to P2");
                        if mode == Mode::Synchronous {
                            let seen = received.with(|r| r.iter().any(|(_, b)| *b == body));
                            assert!(
                                seen,
                                "{name}'s synchronous send of {body:?} returned before P2 \
                                 received it:\na synchronous send must wait until the owner \
                                 has taken that very message (a rendezvous)"
                            );
                        }
                    }
                })
                .expect("spawn a sender")
        })
        .collect();
    let mut got = 0;
    while got < senders * each {
        // When nothing is there, the owner blocks in receive() rather than trying again:
        // a sender stuck in the mailbox then shows as the deadlock it is, not as an owner
        // polling for ever.
        let msg = match got % 3 {
            0 => mailbox.receive(),
            1 => match mailbox.try_receive() {
                Ok(m) => m,
                Err(ReceiveError::Empty) => mailbox.receive(),
                Err(e) => panic!("try_receive: {e}"),
            },
            _ => match mailbox.receive_timeout(Duration::from_millis(1)) {
                Ok(m) => m,
                Err(ReceiveError::Timeout) => mailbox.receive(),
                Err(e) => panic!("receive_timeout: {e}"),
            },
        };
        received.update(|r| r.push((msg.source.clone(), msg.body.clone())));
        got += 1;
    }
    for s in handles {
        s.join().expect("a sender panicked");
    }
    assert_eq!(mailbox.try_receive(), Err(ReceiveError::Empty));
    let all = received.get();
    for name in &names {
        let mine: Vec<&str> = all
            .iter()
            .filter(|(s, _)| s == name)
            .map(|(_, b)| b.as_str())
            .collect();
        let want: Vec<String> = (0..each).map(|i| format!("{name}.{i}")).collect();
        assert_eq!(
            mine, want,
            "P2 must get each of {name}'s messages once, in the order they were sent"
        );
    }
}

fn exploration_checks<M: Mbox>(make: Make<M>) {
    for mode in [Mode::Asynchronous, Mode::Synchronous] {
        explore(Config::new().iterations(600), move || {
            many_senders(make, mode, 2, 3)
        });
        explore(Config::new().iterations(200), move || {
            many_senders(make, mode, 3, 4)
        });
    }
}

#[test]
fn every_message_arrives_once_in_order_asynchronous() {
    explore(Config::new().iterations(1000), || {
        many_senders(step_mailbox, Mode::Asynchronous, 2, 3)
    });
    explore(Config::new().iterations(300), || {
        many_senders(step_mailbox, Mode::Asynchronous, 3, 4)
    });
}

#[test]
fn every_message_arrives_once_in_order_synchronous() {
    explore(Config::new().iterations(1000), || {
        many_senders(step_mailbox, Mode::Synchronous, 2, 3)
    });
    explore(Config::new().iterations(300), || {
        many_senders(step_mailbox, Mode::Synchronous, 3, 4)
    });
}

/// Every check above, for a mailbox written in this file: the same tables as the step's
/// reference, and the same explorations.
fn all_checks<M: Mbox>(make: Make<M>) {
    synchronous_script(make).check(SYNCHRONOUS, check_synchronous);
    asynchronous_script(make).check(ASYNCHRONOUS, check_asynchronous);
    synchronous_senders_script(make).check(SENDERS, check_synchronous_senders);
    asynchronous_pile_script(make).check(PILE, check_asynchronous);
    check_flood(make);
    timeout_checks(make);
    exploration_checks(make);
}

/// The panic message of `f`, which must panic.
fn failure_of(f: impl FnOnce()) -> String {
    let p = catch_unwind(AssertUnwindSafe(f)).expect_err("the checks must reject this mailbox");
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
        // Whitespace collapsed: the checks assert on words, wherever a report breaks lines.
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// A mailbox written in the test: one queue of messages, each with the channel on which
/// the owner acknowledges it (synchronous mode), or a variant with a fault.
struct AckMailbox {
    mode: Mode,
    tx: Sender<(Message, Option<Sender<()>>)>,
    rx: Receiver<(Message, Option<Sender<()>>)>,
    /// Faulty variant: one acknowledgement channel shared by every sender.
    shared_acks: Option<(Sender<()>, Receiver<()>)>,
    /// Faulty variant: `receive_timeout` sleeps its timeout, then looks once.
    sleepy: bool,
}

impl AckMailbox {
    fn new(mode: Mode) -> Self {
        let (tx, rx) = unbounded();
        AckMailbox {
            mode,
            tx,
            rx,
            shared_acks: None,
            sleepy: false,
        }
    }

    fn took(&self, (msg, ack): (Message, Option<Sender<()>>)) -> Message {
        if let Some(ack) = ack {
            ack.send(())
                .expect("the sender waits for its acknowledgement");
        } else if let Some((tx, _)) = &self.shared_acks {
            tx.send(()).expect("the mailbox keeps the acknowledgements");
        }
        msg
    }
}

impl Mbox for AckMailbox {
    fn send(&self, msg: Message) -> Result<(), Misaddressed> {
        if msg.dest != "P2" {
            return Err(Misaddressed(msg));
        }
        match (self.mode, &self.shared_acks) {
            (Mode::Asynchronous, _) => self.tx.send((msg, None)).expect("kept"),
            (Mode::Synchronous, Some((_, acks))) => {
                self.tx.send((msg, None)).expect("kept");
                acks.recv().expect("kept");
            }
            (Mode::Synchronous, None) => {
                let (ack_tx, ack_rx) = bounded(1);
                self.tx.send((msg, Some(ack_tx))).expect("kept");
                ack_rx.recv().expect("the owner acknowledges every message");
            }
        }
        Ok(())
    }

    fn receive(&self) -> Message {
        let m = self.rx.recv().expect("kept");
        self.took(m)
    }

    fn try_receive(&self) -> Result<Message, ReceiveError> {
        match self.rx.try_recv() {
            Ok(m) => Ok(self.took(m)),
            Err(_) => Err(ReceiveError::Empty),
        }
    }

    fn receive_timeout(&self, timeout: Duration) -> Result<Message, ReceiveError> {
        if self.sleepy {
            thread::sleep(timeout);
            return self.try_receive().map_err(|_| ReceiveError::Timeout);
        }
        match self.rx.recv_timeout(timeout) {
            Ok(m) => Ok(self.took(m)),
            Err(_) => Err(ReceiveError::Timeout),
        }
    }
}

/// Queued messages with their numbers, the next number, how many were taken.
type Queue = (VecDeque<(u64, Message)>, u64, u64);

/// A mailbox written in the test as a monitor: a queue under a mutex, a condition variable
/// for every change, and in synchronous mode each sender waits until the owner has taken
/// as many messages as its own number. Optionally bounded (a fault in asynchronous mode).
struct QueueMailbox {
    mode: Mode,
    state: Mutex<Queue>,
    changed: Condvar,
    room: Option<usize>,
}

impl QueueMailbox {
    fn new(mode: Mode) -> Self {
        QueueMailbox {
            mode,
            state: Mutex::new((VecDeque::new(), 0, 0)),
            changed: Condvar::new(),
            room: None,
        }
    }

    fn take(&self, s: &mut Queue) -> Option<Message> {
        let (_, m) = s.0.pop_front()?;
        s.2 += 1;
        self.changed.notify_all();
        Some(m)
    }
}

impl Mbox for QueueMailbox {
    fn send(&self, msg: Message) -> Result<(), Misaddressed> {
        if msg.dest != "P2" {
            return Err(Misaddressed(msg));
        }
        let mut s = self.state.lock();
        while self.room.is_some_and(|r| s.0.len() >= r) {
            self.changed.wait(&mut s);
        }
        let me = s.1;
        s.1 += 1;
        s.0.push_back((me, msg));
        self.changed.notify_all();
        if self.mode == Mode::Synchronous {
            while s.2 <= me {
                self.changed.wait(&mut s);
            }
        }
        Ok(())
    }

    fn receive(&self) -> Message {
        let mut s = self.state.lock();
        loop {
            if let Some(m) = self.take(&mut s) {
                return m;
            }
            self.changed.wait(&mut s);
        }
    }

    fn try_receive(&self) -> Result<Message, ReceiveError> {
        self.take(&mut self.state.lock()).ok_or(ReceiveError::Empty)
    }

    fn receive_timeout(&self, timeout: Duration) -> Result<Message, ReceiveError> {
        let deadline = Instant::now() + timeout;
        let mut s = self.state.lock();
        loop {
            if let Some(m) = self.take(&mut s) {
                return Ok(m);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ReceiveError::Timeout);
            }
            self.changed.wait_for(&mut s, deadline - now);
        }
    }
}

#[test]
fn other_correct_designs_pass() {
    all_checks(AckMailbox::new);
    all_checks(QueueMailbox::new);
}

#[test]
fn the_checks_reject_a_shared_acknowledgement_channel() {
    // Sender A's message is taken, and the acknowledgement wakes sender B instead.
    let m = failure_of(|| {
        exploration_checks(|mode| AckMailbox {
            shared_acks: Some(unbounded()),
            ..AckMailbox::new(mode)
        })
    });
    assert!(m.contains("returned before P2 received it"), "{m}");
}

#[test]
fn the_checks_reject_a_receive_timeout_that_sits_out_its_timeout() {
    let m = failure_of(|| {
        timeout_checks(|mode| AckMailbox {
            sleepy: true,
            ..AckMailbox::new(mode)
        })
    });
    assert!(
        m.contains("but the message came at 5ms: receive_timeout returns as soon as"),
        "{m}"
    );
}

#[test]
fn the_checks_reject_an_asynchronous_mailbox_with_little_room() {
    let m = failure_of(|| {
        asynchronous_pile_script(|mode| QueueMailbox {
            room: Some(4),
            ..QueueMailbox::new(mode)
        })
        .check(PILE, check_asynchronous);
    });
    assert!(
        m.starts_with("with an asynchronous mailbox, P6 send(\"5\") waited at step 5, with 4"),
        "{m}"
    );
}

#[test]
fn the_checks_reject_an_asynchronous_mailbox_with_a_big_bound() {
    // Room for a thousand: the eight messages of the pile fit, the flood does not.
    let m = failure_of(|| {
        check_flood(|mode| QueueMailbox {
            room: Some(1000),
            ..QueueMailbox::new(mode)
        })
    });
    assert!(
        m.starts_with(
            "with an asynchronous mailbox, P1's send of message 1001 waited for room: 1000 \
             messages were waiting to be read"
        ),
        "{m}"
    );
}

#[test]
fn the_checks_reject_a_synchronous_mailbox_with_room_for_one() {
    let m = failure_of(|| {
        synchronous_script(|_| QueueMailbox {
            room: Some(1),
            ..QueueMailbox::new(Mode::Asynchronous)
        })
        .check(SYNCHRONOUS, check_synchronous);
    });
    assert!(m.contains("the notes' weak synchronization"), "{m}");
}

// std's condvar contract: a `Condvar` of std (or parking_lot) may wake a waiter for
// nothing (a spurious wake-up), and `notify_one` may wake any one of its waiters. The
// simulation does neither unless asked (`CondvarSemantics::Std`); these checks ask, so
// that a mailbox written with a mutex and a condition variable (rather than a channel)
// is held to what they really promise.

/// Every message once, in order, and receive_timeout's wait, under std's contract.
#[test]
fn every_message_arrives_once_in_order_under_std_condvar_semantics() {
    let std_contract = interleave::explore::CondvarSemantics::Std;
    for mode in [Mode::Asynchronous, Mode::Synchronous] {
        explore(
            Config::new().iterations(1000).condvar(std_contract),
            move || many_senders(step_mailbox, mode, 2, 3),
        );
        explore(
            Config::new().iterations(50).condvar(std_contract),
            move || late_message(step_mailbox, mode),
        );
    }
}

/// The oracle: a mailbox on a mutex and a condition variable whose `receive` waits with
/// `if` passes every FIFO schedule of one sender and its owner, and fails under std's
/// contract: a spurious wake-up makes `receive` return with nothing to take.
#[test]
fn the_std_contract_catches_a_wait_without_a_loop() {
    use interleave::sync::{Condvar, Mutex};
    use std::collections::VecDeque;

    struct CondvarMailbox {
        queue: Mutex<VecDeque<String>>,
        arrived: Condvar,
    }
    impl CondvarMailbox {
        fn send(&self, body: &str) {
            let mut q = self.queue.lock();
            q.push_back(body.to_string());
            self.arrived.notify_one();
        }
        fn receive(&self) -> Option<String> {
            let mut q = self.queue.lock();
            if q.is_empty() {
                self.arrived.wait(&mut q);
            }
            q.pop_front()
        }
    }
    let body = || {
        let mailbox = Arc::new(CondvarMailbox {
            queue: interleave::sync::Mutex::new(VecDeque::new()),
            arrived: interleave::sync::Condvar::new(),
        });
        let m = mailbox.clone();
        let sender = thread::spawn(move || {
            m.send("first");
            m.send("second");
        });
        for want in ["first", "second"] {
            let got = mailbox.receive();
            assert_eq!(
                got.as_deref(),
                Some(want),
                "receive() returned with no message in the mailbox"
            );
        }
        sender.join().expect("the sender panicked");
    };
    let std_contract = interleave::explore::CondvarSemantics::Std;
    for config in [
        Config::new().iterations(1000),
        Config::new().strategy(Strategy::DelayBounded { bound: 2 }),
    ] {
        if let Err(f) = interleave::explore::check(config.clone(), body) {
            panic!("FIFO hides the `if`:\n{f}");
        }
        let f = interleave::explore::check(config.condvar(std_contract), body)
            .expect_err("a spurious wake-up makes receive return empty-handed");
        assert!(
            f.message.contains("receive() returned with no message"),
            "{f}"
        );
        assert!(f.had_spurious_wakeup(), "{f}");
    }
}
