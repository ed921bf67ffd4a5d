//! The shared balance as a server (`messages/server`).
//!
//! Task: in the monitor topic every clerk touched the balance, so the balance needed a
//! monitor. Here one thread, the server, owns the balance and nobody else can reach it:
//! clients send it requests (`Credit`, `Debit`, `Balance`), each carrying a channel for
//! the reply, and the server handles them one at a time. A debit that would overdraw
//! the account is refused with a reply, never a panic. While nobody asks anything, the
//! server sleeps in a blocking receive (no polling). It stops when every client has hung
//! up (the request channel disconnects) and returns the final balance; `Bank::close` waits
//! for that, it does not stop the server itself.
//!
//! Invariant to protect: the balance never goes negative; every request gets exactly
//! one reply; the final balance is the initial one plus the accepted credits minus the
//! accepted debits, whatever the schedule; and the server ends once nobody can send it
//! a request any more. Done when `just check messages/server` passes.

use interleave::channel::{Receiver, Sender, bounded, unbounded};
use interleave::thread::{self, JoinHandle};

/// What a client asks the server; each request carries the channel for its reply.
#[derive(Debug)]
pub enum Request {
    /// Add `amount` to the balance.
    Credit {
        /// How much, in cents.
        amount: i64,
        /// Where the server sends the reply.
        reply: Sender<Reply>,
    },
    /// Take `amount` from the balance, unless that would overdraw it.
    Debit {
        /// How much, in cents.
        amount: i64,
        /// Where the server sends the reply.
        reply: Sender<Reply>,
    },
    /// Ask for the balance.
    Balance {
        /// Where the server sends the reply.
        reply: Sender<Reply>,
    },
}

/// The server's answer to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The credit or debit was applied; the balance after it.
    Accepted(i64),
    /// The debit would have overdrawn the account; the balance is unchanged.
    Refused(i64),
    /// The balance, in answer to `Balance`.
    Balance(i64),
}

/// The server: owns the balance and serves requests until every client has hung up.
#[derive(Debug)]
pub struct Server {
    /// The balance, in cents; only the server thread ever touches it. Never negative.
    balance: i64,
    requests: Receiver<Request>,
}

/// A client's connection to the server; clone it to give another client its own.
/// Dropping every `Client` is how the clients hang up.
#[derive(Clone, Debug)]
pub struct Client {
    requests: Sender<Request>,
}

/// A server owning `initial` cents and a first client connected to it.
///
/// # Examples
///
/// ```
/// use messages::server::{Reply, server};
///
/// let (client, server) = server(100);
/// let t = std::thread::spawn(move || server.run());
/// assert_eq!(client.debit(30), Reply::Accepted(70));
/// assert_eq!(client.debit(500), Reply::Refused(70));
/// drop(client); // the last client hangs up: the server stops
/// assert_eq!(t.join().unwrap(), 70);
/// ```
pub fn server(initial: i64) -> (Client, Server) {
    let (tx, rx) = unbounded();
    (
        Client { requests: tx },
        Server {
            balance: initial,
            requests: rx,
        },
    )
}

impl Server {
    /// Serves requests one at a time until every client has hung up, then returns the
    /// final balance.
    pub fn run(mut self) -> i64 {
        // `recv` fails only once every `Client` (every Sender) is gone and the queue is
        // empty: that is the moment to stop, and no request is left unanswered.
        while let Ok(request) = self.requests.recv() {
            self.handle(request);
        }
        self.balance
    }

    fn handle(&mut self, request: Request) {
        let (reply, answer) = match request {
            Request::Credit { amount, reply } => {
                self.balance += amount;
                (reply, Reply::Accepted(self.balance))
            }
            Request::Debit { amount, reply } => {
                // TODO: a debit larger than the balance overdraws the account. Refuse it
                // with a reply (`Reply::Refused`), leaving the balance unchanged.
                self.balance -= amount;
                (reply, Reply::Accepted(self.balance))
            }
            Request::Balance { reply } => (reply, Reply::Balance(self.balance)),
        };
        // A client that gave up waiting has dropped its reply channel; that is its
        // business, not a reason to stop serving the others.
        let _ = reply.send(answer);
    }
}

impl Client {
    fn call(&self, make: impl FnOnce(Sender<Reply>) -> Request) -> Reply {
        // Room for the one reply: the server never waits for the client to read it.
        let (reply_tx, reply_rx) = bounded(1);
        self.requests
            .send(make(reply_tx))
            .expect("the server stopped while a client was still connected");
        reply_rx
            .recv()
            .expect("the server dropped a request without replying to it")
    }

    /// Asks the server to add `amount`; returns the balance after it.
    pub fn credit(&self, amount: i64) -> Reply {
        self.call(|reply| Request::Credit { amount, reply })
    }

    /// Asks the server to take `amount`; refused if it would overdraw the account.
    pub fn debit(&self, amount: i64) -> Reply {
        self.call(|reply| Request::Debit { amount, reply })
    }

    /// Asks the server for the balance.
    pub fn balance(&self) -> i64 {
        match self.call(|reply| Request::Balance { reply }) {
            Reply::Balance(b) => b,
            other => panic!("the server answered Balance with {other:?}"),
        }
    }
}

/// A bank: a server thread named `server` and a way to connect clients to it.
#[derive(Debug)]
pub struct Bank {
    /// The bank's own connection, cloned for each new client.
    client: Client,
    server: JoinHandle<i64>,
}

impl Bank {
    /// Starts a server thread owning `initial` cents.
    ///
    /// # Panics
    ///
    /// If the thread cannot be spawned.
    pub fn open(initial: i64) -> Self {
        let (client, server) = server(initial);
        let server = thread::Builder::new()
            .name("server".into())
            .spawn(move || server.run())
            .expect("spawn the server thread");
        Bank { client, server }
    }

    /// A new client connected to the server.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// Waits until every client has hung up and the server has stopped; returns the
    /// final balance.
    ///
    /// # Panics
    ///
    /// If the server thread panicked.
    pub fn close(self) -> i64 {
        // TODO: the server stops when every `Client` has hung up. Are they all gone
        // when this waits for the server? (When is `self.client` dropped?)
        self.server.join().expect("the server thread panicked")
    }
}
