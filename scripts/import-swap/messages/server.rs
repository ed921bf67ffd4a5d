//! `messages/server` on real threads: the balance is the sum of accepted operations.
use crate::common::within;
use messages::server::{Bank, Reply};

#[test]
fn the_server_serves_clients_on_real_threads() {
    within("4 clients of one server", || {
        let bank = Bank::open(1000);
        let clients: Vec<_> = (0..4)
            .map(|i| {
                let c = bank.client();
                std::thread::spawn(move || {
                    let mut net = 0i64;
                    for _ in 0..1000 {
                        if i % 2 == 0 {
                            if let Reply::Accepted(_) = c.credit(2) {
                                net += 2;
                            }
                        } else if let Reply::Accepted(_) = c.debit(3) {
                            net -= 3;
                        }
                    }
                    net
                })
            })
            .collect();
        let net: i64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(bank.close(), 1000 + net);
    });
}
