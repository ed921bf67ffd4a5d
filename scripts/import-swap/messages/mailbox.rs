//! `messages/mailbox` on real threads: every message arrives, in order per sender.
use crate::common::within;
use messages::mailbox::{Kind, Mailbox, Message, Mode, ReceiveError};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn mailboxes_deliver_everything_on_real_threads() {
    within("3 senders into a mailbox of each mode", || {
        for mode in [Mode::Synchronous, Mode::Asynchronous] {
            let mb = Arc::new(Mailbox::new("P0", mode));
            let senders: Vec<_> = (1..=3)
                .map(|s| {
                    let mb = mb.clone();
                    std::thread::spawn(move || {
                        for n in 0..1000 {
                            let m = Message::new(Kind::Data, &format!("P{s}"), "P0", &n.to_string());
                            mb.send(m).unwrap();
                        }
                    })
                })
                .collect();
            let mut last = [None::<u32>; 4];
            for _ in 0..3000 {
                let m = mb.receive();
                let s: usize = m.source[1..].parse().unwrap();
                let n: u32 = m.body.parse().unwrap();
                assert!(last[s].is_none_or(|l| l < n), "{mode:?}: out of order from P{s}");
                last[s] = Some(n);
            }
            for s in senders {
                s.join().unwrap();
            }
            assert_eq!(mb.try_receive(), Err(ReceiveError::Empty));
            assert_eq!(mb.receive_timeout(Duration::from_millis(5)), Err(ReceiveError::Timeout));
        }
    });
}
