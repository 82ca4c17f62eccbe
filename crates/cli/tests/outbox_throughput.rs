//! The outbox sends over `mail.smtp.connections` connections at once, and
//! still each mail once: a slow relay (it takes 150 ms over each mail)
//! sees several mails being handed over side by side, never more than the
//! setting allows, and every recipient gets exactly one mail. With one
//! connection the mails go one after another, as before the setting.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/counting_relay.rs"]
mod counting_relay;
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use counting_relay::{Arrival, CountingRelay};
use latchkey_client::{Guest, Member};
use support::{free_port, unique, Database, Server, Settings, SmtpPort, PASSWORD};

impl SmtpPort for CountingRelay {
    fn smtp_port(&self) -> u16 {
        self.port
    }
}

/// Each guest's first contact mails him a link: `guests` mails to as many
/// addresses, sent through a relay that takes `delay` over each, with
/// `connections` connections. Returns what the relay received once the
/// outbox is empty (a mail leaves the outbox only after the relay took it,
/// so any second copy would be there too).
async fn first_contacts(connections: u16, guests: usize, delay: Duration) -> Vec<Arrival> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let relay = CountingRelay::start(&root, free_port(), delay).unwrap();
    let db = Database::sqlite();
    let settings = Settings {
        extra_env: vec![
            (
                "LATCHKEY_MAIL__SMTP__CONNECTIONS".into(),
                connections.to_string(),
            ),
            (
                "LATCHKEY_RATE_LIMITS__CONTACT_PER_IP_PER_HOUR".into(),
                "1000".into(),
            ),
        ],
        ..Settings::default()
    };
    let server = Server::start(&db, &relay, &settings).await;
    let member_email = format!("{}@member.test", unique("bob"));
    Member::register(
        &server.url,
        "bob",
        "Bob",
        &member_email,
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let addresses: Vec<String> = (0..guests)
        .map(|i| format!("{}@guest.test", unique(&format!("g{i}-"))))
        .collect();
    for address in &addresses {
        Guest::contact(&server.url, "bob", address, "G", "hello", None)
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut queued = db.count("SELECT COUNT(*) FROM outbox").await;
    while queued > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        queued = db.count("SELECT COUNT(*) FROM outbox").await;
    }
    let arrivals = relay.arrivals();
    let mut per_address: BTreeMap<&str, usize> = BTreeMap::new();
    for arrival in &arrivals {
        for to in arrival.to.split(',') {
            *per_address.entry(to).or_default() += 1;
        }
    }
    for address in &addresses {
        assert_eq!(
            per_address.get(address.as_str()).copied().unwrap_or(0),
            1,
            "{address}: one first-contact mail, no duplicate ({} mails in all)",
            arrivals.len()
        );
    }
    assert_eq!(queued, 0, "the outbox never drained");
    arrivals
}

fn most(arrivals: &[Arrival], field: fn(&Arrival) -> u32) -> u32 {
    arrivals.iter().map(field).max().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_connections_send_side_by_side_and_each_mail_once() {
    let arrivals = first_contacts(4, 24, Duration::from_millis(150)).await;
    let receiving = most(&arrivals, |a| a.receiving);
    let sessions = most(&arrivals, |a| a.open_sessions);
    eprintln!(
        "{} mails; at most {receiving} received at once over {sessions} sessions",
        arrivals.len()
    );
    assert!(
        receiving >= 3,
        "the worker should overlap its sends: at most {receiving} mail(s) at once"
    );
    assert!(
        sessions <= 4,
        "{sessions} SMTP sessions at once; mail.smtp.connections is 4"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_connection_sends_one_mail_at_a_time() {
    let arrivals = first_contacts(1, 6, Duration::from_millis(50)).await;
    assert_eq!(most(&arrivals, |a| a.receiving), 1);
    assert_eq!(most(&arrivals, |a| a.open_sessions), 1);
}
