//! No mail cannon (issue 13): every path that sends mail is coalesced and
//! capped per conversation, per member and per recipient, counted in the
//! database (so every instance counts together); over a cap the message or
//! grant is stored, no mail goes out, and the answer says `capped`. Against
//! the real binary, maildev and a fresh database; on SQLite and PostgreSQL.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use latchkey_client::{Delivery, Guest, Member, Notification, ServerUrl};
use support::{unique, Database, MailServer, Server, Settings, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_caps_on_sqlite() {
    // One database per installation: each scenario's server has keys (and
    // an epoch file) of its own.
    coalesced_links_and_recipient_caps(&Database::sqlite()).await;
    conversation_and_member_caps(&Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_caps_on_postgres() {
    coalesced_links_and_recipient_caps(&Database::postgres().await).await;
    conversation_and_member_caps(&Database::postgres().await).await;
    two_instances_meet_one_cap(&Database::postgres().await).await;
}

/// Two instances on one PostgreSQL database (as behind a load balancer)
/// count one cap: a flood of first contacts naming one address, spread over
/// both, sends it the cap's worth of mail, not twice that.
async fn two_instances_meet_one_cap(db: &Database) {
    let mail = MailServer::start().await;
    let first = server(
        db,
        &mail,
        [
            ("MAIL__PER_CONVERSATION_PER_DAY", "100"),
            ("MAIL__PER_MEMBER_PER_DAY", "100"),
            ("MAIL__PER_RECIPIENT_PER_DAY", "3"),
            ("LINKS__COALESCE_SECS", "1d"),
        ],
    )
    .await;
    let second = first.sibling();
    let run = unique("");
    Member::register(
        &first.url,
        "dora",
        "Dora",
        &format!("dora-{run}@member.test"),
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let victim = format!("twice-{run}@guest.test");
    for n in 0..8 {
        let instance = if n % 2 == 0 { &first } else { &second };
        Guest::contact(
            &instance.url,
            "dora",
            &victim,
            "V",
            &format!("flood {n}"),
            None,
        )
        .await
        .unwrap();
    }
    assert_eq!(
        settled(&mail, &victim, 3).await,
        3,
        "one recipient cap for both instances"
    );
}

/// A server with these mail caps and coalescing; contact budgets raised so
/// that the caps, not the request budgets, are what the test meets.
async fn server(db: &Database, mail: &MailServer, caps: [(&str, &str); 4]) -> Server {
    let mut extra_env: Vec<(String, String)> = caps
        .iter()
        .map(|(k, v)| (format!("LATCHKEY_{k}"), (*v).to_owned()))
        .collect();
    extra_env.extend(
        [
            ("LATCHKEY_RATE_LIMITS__CONTACT_PER_IP_PER_HOUR", "1000"),
            ("LATCHKEY_RATE_LIMITS__CONTACT_PER_ADDRESS_PER_HOUR", "1000"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    Server::start(
        db,
        mail,
        &Settings {
            extra_env,
            ..Settings::default()
        },
    )
    .await
}

/// The server's URL, recording the notification of every add-grant answer
/// (the client's `new_link` does not return it) besides the contract check.
fn recording(server: &Server) -> (ServerUrl, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let check = support::contract::observer();
    let url = ServerUrl::parse(&server.base)
        .unwrap()
        .with_observer(Arc::new(move |exchange| {
            check(exchange);
            if exchange.endpoint.path.ends_with("/grants") {
                let body: serde_json::Value = serde_json::from_slice(exchange.body).unwrap();
                record
                    .lock()
                    .unwrap()
                    .push(body["notification"].as_str().unwrap().to_owned());
            }
        }));
    (url, seen)
}

/// Waits for `count` mails to `to`, then long enough for any more the
/// outbox might still hold (it polls every 100 ms), and returns how many.
async fn settled(mail: &MailServer, to: &str, count: usize) -> usize {
    mail.wait_for(to, count).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    mail.to(to).await.len()
}

fn counts(answers: &[String]) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for answer in answers {
        match out.last_mut() {
            Some((last, n)) if last == answer => *n += 1,
            _ => out.push((answer.clone(), 1)),
        }
    }
    out
}

/// Coalescing on (the default): 30 add-grant calls send one link; a flood
/// of first contacts naming one address sends it at most the recipient
/// cap; the member's notices stop at the recipient cap too.
async fn coalesced_links_and_recipient_caps(db: &Database) {
    let mail = MailServer::start().await;
    let server = server(
        db,
        &mail,
        [
            ("MAIL__PER_CONVERSATION_PER_DAY", "100"),
            ("MAIL__PER_MEMBER_PER_DAY", "100"),
            ("MAIL__PER_RECIPIENT_PER_DAY", "3"),
            ("LINKS__COALESCE_SECS", "1d"),
        ],
    )
    .await;
    let (url, answers) = recording(&server);
    let run = unique("");
    let bob_email = format!("bob-{run}@member.test");
    let bob = Member::register(&url, "bob", "Bob", &bob_email, PASSWORD.as_bytes())
        .await
        .unwrap();

    // 30 links without a message to one conversation: one e-mail; the
    // others are coalesced into it, and each answer says so.
    let ann = format!("ann-{run}@guest.test");
    let (conversation, _) = Guest::contact(&url, "bob", &ann, "Ann", "hello", None)
        .await
        .unwrap();
    for _ in 0..30 {
        bob.new_link(&conversation, Delivery::Email).await.unwrap();
    }
    assert_eq!(
        counts(&answers.lock().unwrap()),
        [("queued".into(), 1), ("coalesced".into(), 29)]
    );
    assert_eq!(settled(&mail, &ann, 2).await, 2, "first contact + one link");

    // A flood of first contacts naming one address: every conversation is
    // stored, the address gets the cap's worth of mail.
    let victim = format!("victim-{run}@guest.test");
    for n in 0..8 {
        Guest::contact(&url, "bob", &victim, "V", &format!("flood {n}"), None)
            .await
            .unwrap();
    }
    assert_eq!(settled(&mail, &victim, 3).await, 3, "the recipient cap");
    assert_eq!(bob.conversations().await.unwrap().len(), 1 + 8);

    // The member's notices: one per conversation until he reads (coalesced),
    // and at most the recipient cap in all.
    let mut replies = Vec::new();
    for n in 0..4 {
        let guest = format!("g{n}-{run}@guest.test");
        Guest::contact(&url, "bob", &guest, "G", "first", None)
            .await
            .unwrap();
        let link = mail.link(&guest, 1).await;
        let session = Guest::open(&url, &link, &guest).await.unwrap();
        let (_, notification) = session.reply(&format!("reply {n}")).await.unwrap();
        replies.push((session, notification));
    }
    let notified: Vec<Notification> = replies.iter().map(|(_, n)| *n).collect();
    assert_eq!(
        notified,
        [
            Notification::Queued,
            Notification::Queued,
            Notification::Queued,
            Notification::Capped
        ]
    );
    assert_eq!(settled(&mail, &bob_email, 3).await, 3, "notices capped");
    // The capped reply is stored all the same.
    let capped = replies[3].0.conversation();
    let bodies: Vec<String> = bob
        .read(&capped)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["first", "reply 3"]);
    // No address in clear in the mail log.
    let pool = db.pool().await;
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as("SELECT key_hash FROM mail_log")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for (key,) in rows {
        assert_eq!(key.len(), 32);
        assert!(!support::contains(&key, victim.as_bytes()));
    }
}

/// Coalescing off: 30 add-grant calls to one conversation queue at most the
/// conversation cap, the rest answer `capped`; a member's links stop at
/// the member cap; the member's notices at the conversation cap.
async fn conversation_and_member_caps(db: &Database) {
    let mail = MailServer::start().await;
    let server = server(
        db,
        &mail,
        [
            ("MAIL__PER_CONVERSATION_PER_DAY", "5"),
            ("MAIL__PER_MEMBER_PER_DAY", "6"),
            ("MAIL__PER_RECIPIENT_PER_DAY", "100"),
            ("LINKS__COALESCE_SECS", "0"),
        ],
    )
    .await;
    let (url, answers) = recording(&server);
    let run = unique("");
    let bob_email = format!("bob-{run}@member.test");
    let bob = Member::register(&url, "cleo", "Bob", &bob_email, PASSWORD.as_bytes())
        .await
        .unwrap();

    // The first contact is the conversation's first mail of five.
    let ann = format!("ann-{run}@guest.test");
    let (conversation, _) = Guest::contact(&url, "cleo", &ann, "Ann", "hello", None)
        .await
        .unwrap();
    for _ in 0..30 {
        bob.new_link(&conversation, Delivery::Email).await.unwrap();
    }
    assert_eq!(
        counts(&answers.lock().unwrap()),
        [("queued".into(), 4), ("capped".into(), 26)]
    );
    assert_eq!(settled(&mail, &ann, 5).await, 5, "the conversation cap");

    // Bob has spent 4 of his 6: two more guests get his reply's link, the
    // third does not, though his message is stored.
    let mut sent = Vec::new();
    let mut guests = Vec::new();
    for n in 0..3 {
        let guest = format!("h{n}-{run}@guest.test");
        let (id, _) = Guest::contact(&url, "cleo", &guest, "H", "hi", None)
            .await
            .unwrap();
        let reply = bob.send(&id, "answer", Delivery::Email).await.unwrap();
        sent.push(reply.notification);
        guests.push((guest, id));
    }
    assert_eq!(
        sent,
        [
            Notification::Queued,
            Notification::Queued,
            Notification::Capped
        ]
    );
    assert_eq!(settled(&mail, &guests[2].0, 1).await, 1, "the member cap");
    let bodies: Vec<String> = bob
        .read(&guests[2].1)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(bodies, ["hi", "answer"]);

    // The member's notices from one conversation stop at its cap: the
    // first guest's conversation has had 2 mails (first contact, link).
    let link = mail.link(&guests[0].0, 2).await;
    let guest = Guest::open(&url, &link, &guests[0].0).await.unwrap();
    let mut notified = Vec::new();
    for n in 0..5 {
        notified.push(guest.reply(&format!("more {n}")).await.unwrap().1);
    }
    assert_eq!(
        notified,
        [
            Notification::Queued,
            Notification::Queued,
            Notification::Queued,
            Notification::Capped,
            Notification::Capped
        ]
    );
    assert_eq!(settled(&mail, &bob_email, 3).await, 3);
}
