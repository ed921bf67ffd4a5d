//! A mailbox, synchronous or asynchronous (`messages/mailbox`).
//!
//! Task: a `Mailbox` belongs to one process (its owner) and holds the messages sent to
//! it. In the notes' terms it offers two kinds of send and two kinds of receive:
//! - a **synchronous** mailbox makes `send` wait until the owner has *received* the
//!   message (strong synchronization: a rendezvous, nothing is ever stored); an
//!   **asynchronous** one lets `send` return at once, the message waiting in the mailbox;
//! - `receive` blocks until a message is there; `try_receive` never blocks and says
//!   `Empty` when there is none; `receive_timeout` waits at most a given time.
//!
//! Invariant to protect: with a synchronous mailbox, a `send` returns only after the
//! owner took its message; with an asynchronous one, a `send` never waits. Messages come
//! out in the order they went in, and only messages addressed to the owner go in.
//! Done when `just check messages/mailbox` (or `cargo course check messages/mailbox`)
//! passes.

use std::fmt;
use std::time::Duration;

use interleave::channel::{Receiver, Sender, TryRecvError, bounded, unbounded};

/// What a message is for: the notes' "message type" field of the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Ordinary contents.
    Data,
    /// Synchronization information (a signal, an acknowledgement).
    Sync,
    /// An error report.
    Error,
}

/// A message in the notes' format: a header (kind, source, destination) and a body.
/// The header's "message length" is [`Message::len`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// What the message is for.
    pub kind: Kind,
    /// The sending process (`P1`).
    pub source: String,
    /// The process whose mailbox it goes to (`P2`).
    pub dest: String,
    /// The contents.
    pub body: String,
}

impl Message {
    /// A message of `kind` from `source` to `dest`.
    pub fn new(kind: Kind, source: &str, dest: &str, body: &str) -> Self {
        Message {
            kind,
            source: source.to_string(),
            dest: dest.to_string(),
            body: body.to_string(),
        }
    }

    /// The length of the body in bytes (the header's "message length").
    pub fn len(&self) -> usize {
        self.body.len()
    }

    /// True if the body is empty.
    pub fn is_empty(&self) -> bool {
        self.body.is_empty()
    }
}

impl fmt::Display for Message {
    /// `Data P1->P2 "hello"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} {}->{} {:?}",
            self.kind, self.source, self.dest, self.body
        )
    }
}

/// How a mailbox synchronizes its senders with its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `send` returns only once the owner has received the message (a rendezvous).
    Synchronous,
    /// `send` never waits: the message waits in the mailbox.
    Asynchronous,
}

/// Why a non-blocking or timed receive returned no message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiveError {
    /// `try_receive`: no message is waiting.
    Empty,
    /// `receive_timeout`: no message came in time.
    Timeout,
}

impl fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReceiveError::Empty => f.write_str("the mailbox is empty"),
            ReceiveError::Timeout => f.write_str("no message came in time"),
        }
    }
}

impl std::error::Error for ReceiveError {}

/// A message sent to a mailbox that is not its destination's; the message is handed back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Misaddressed(pub Message);

impl fmt::Display for Misaddressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "message for {} sent to another mailbox", self.0.dest)
    }
}

impl std::error::Error for Misaddressed {}

/// The mailbox of one process: any thread may send to it, its owner receives.
///
/// # Examples
///
/// ```
/// use messages::mailbox::{Kind, Mailbox, Message, Mode, ReceiveError};
///
/// let mailbox = Mailbox::new("P2", Mode::Asynchronous);
/// assert_eq!(mailbox.try_receive(), Err(ReceiveError::Empty));
/// mailbox.send(Message::new(Kind::Data, "P1", "P2", "hello")).unwrap();
/// assert_eq!(mailbox.receive().body, "hello");
/// ```
#[derive(Debug)]
pub struct Mailbox {
    owner: String,
    mode: Mode,
    /// Senders' side of the mailbox.
    tx: Sender<Message>,
    /// The owner's side.
    rx: Receiver<Message>,
}

impl Mailbox {
    /// The mailbox of process `owner`, synchronous or asynchronous.
    pub fn new(owner: &str, mode: Mode) -> Self {
        let (tx, rx) = match mode {
            // TODO: with room for one message, a synchronous `send` returns as soon as
            // the message is *in* the mailbox (weak synchronization), before the owner
            // has received it. What capacity leaves no room at all?
            Mode::Synchronous => bounded(1),
            Mode::Asynchronous => unbounded(),
        };
        Mailbox {
            owner: owner.to_string(),
            mode,
            tx,
            rx,
        }
    }

    /// The process this mailbox belongs to.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Whether sends wait for the receiver.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Puts `msg` in the mailbox. A synchronous mailbox blocks until the owner has
    /// received it; an asynchronous one returns at once.
    ///
    /// # Errors
    ///
    /// [`Misaddressed`] with the message if `msg.dest` is not the mailbox's owner.
    pub fn send(&self, msg: Message) -> Result<(), Misaddressed> {
        if msg.dest != self.owner {
            return Err(Misaddressed(msg));
        }
        // The mailbox holds its own receiver, so the channel is never disconnected.
        self.tx.send(msg).expect("the mailbox holds its receiver");
        Ok(())
    }

    /// Takes the oldest message, blocking until there is one.
    pub fn receive(&self) -> Message {
        self.rx.recv().expect("the mailbox holds a sender")
    }

    /// Takes the oldest message if there is one, without blocking.
    ///
    /// # Errors
    ///
    /// [`ReceiveError::Empty`] if no message is waiting (in a synchronous mailbox: if no
    /// sender is waiting).
    pub fn try_receive(&self) -> Result<Message, ReceiveError> {
        self.rx.try_recv().map_err(|e| match e {
            TryRecvError::Empty => ReceiveError::Empty,
            TryRecvError::Disconnected => unreachable!("the mailbox holds a sender"),
        })
    }

    /// Takes the oldest message, waiting at most `timeout` for one.
    ///
    /// # Errors
    ///
    /// [`ReceiveError::Timeout`] if no message came within `timeout`.
    pub fn receive_timeout(&self, timeout: Duration) -> Result<Message, ReceiveError> {
        // TODO: this gives up at once instead of waiting up to `timeout` for a message;
        // the channel has a receive that waits with a deadline.
        let _ = timeout;
        self.try_receive().map_err(|_| ReceiveError::Timeout)
    }
}
