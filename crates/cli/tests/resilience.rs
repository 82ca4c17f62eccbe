//! The server killed mid-burst loses no acknowledged message and no mail;
//! two instances on one PostgreSQL database send every mail exactly once.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_client::{Delivery, Guest, Member};
use support::{unique, Database, MailServer, Server, Settings, PASSWORD};

fn burst_settings() -> Settings {
    Settings {
        extra_env: vec![
            // Every member message e-mails a link, so every one is a mail
            // that must not be lost.
            ("LATCHKEY_LINKS__COALESCE_SECS".into(), "0".into()),
            // ...and the daily mail caps off, for the same reason.
            ("LATCHKEY_MAIL__PER_CONVERSATION_PER_DAY".into(), "0".into()),
            ("LATCHKEY_MAIL__PER_MEMBER_PER_DAY".into(), "0".into()),
            ("LATCHKEY_MAIL__PER_RECIPIENT_PER_DAY".into(), "0".into()),
            ("LATCHKEY_OUTBOX__MAX_BACKOFF_SECS".into(), "2".into()),
            // A mail leased by a killed worker waits out its lease before
            // another worker retries it: keep that short here.
            ("LATCHKEY_OUTBOX__LEASE_SECS".into(), "4".into()),
            ("LATCHKEY_MAIL__SMTP__TIMEOUT_SECS".into(), "3".into()),
            (
                "LATCHKEY_RATE_LIMITS__CONTACT_PER_IP_PER_HOUR".into(),
                "1000".into(),
            ),
        ],
        ..Settings::default()
    }
}

async fn outbox_len(db: &Database) -> i64 {
    db.count("SELECT COUNT(*) FROM outbox").await
}

async fn wait_outbox_empty(db: &Database) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while outbox_len(db).await > 0 {
        assert!(Instant::now() < deadline, "the outbox never drained");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_burst_on_sqlite() {
    kill_9_during_a_burst(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_burst_on_postgres() {
    kill_9_during_a_burst(Database::postgres().await).await;
}

async fn kill_9_during_a_burst(db: Database) {
    let kind = if db.is_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    let mail = MailServer::start().await;
    let mut server = Server::start(&db, &mail, &burst_settings()).await;
    let url = server.url.clone();
    let guest_email = format!("{}@guest.test", unique("crash"));
    let bob = Member::register(&url, "bob", "Bob", "bob@member.test", PASSWORD.as_bytes())
        .await
        .unwrap();
    let (conversation, _) = Guest::contact(&url, "bob", &guest_email, "G", "first", None)
        .await
        .unwrap();
    mail.wait_for(&guest_email, 1).await;
    let bob = Arc::new(bob);

    // Four writers send as fast as they can; each acknowledged message is
    // recorded. The server dies under them.
    let acknowledged: Arc<Mutex<BTreeMap<i64, String>>> = Arc::default();
    let failed = Arc::new(Mutex::new(0usize));
    let mut writers = Vec::new();
    for writer in 0..4 {
        let bob = bob.clone();
        let acknowledged = acknowledged.clone();
        let failed = failed.clone();
        writers.push(tokio::spawn(async move {
            for i in 0.. {
                let body = format!("burst {writer}-{i}");
                match bob.send(&conversation, &body, Delivery::Email).await {
                    Ok(sent) => {
                        acknowledged.lock().unwrap().insert(sent.seq, body);
                    }
                    Err(_) => {
                        *failed.lock().unwrap() += 1;
                        if *failed.lock().unwrap() > 40 {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 40 {
        assert!(Instant::now() < deadline, "the burst did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let failed_before_kill = *failed.lock().unwrap();
    assert_eq!(
        failed_before_kill, 0,
        "sends failed while the server was up"
    );
    let burst_started = Instant::now();
    server.kill9();
    eprintln!("crash ({kind}): killed");
    let killed_at = acknowledged.lock().unwrap().len();
    for w in writers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    let pending_at_restart = outbox_len(&db).await;

    eprintln!(
        "crash ({kind}): writers stopped after {:?}",
        burst_started.elapsed()
    );
    server.restart();
    eprintln!(
        "crash ({kind}): restarted after {:?}",
        burst_started.elapsed()
    );
    let bob = Member::login(&server.url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap();
    let stored = bob.read(&conversation).await.unwrap();
    let stored_by_seq: BTreeMap<i64, String> =
        stored.iter().map(|m| (m.seq, m.body.clone())).collect();
    for (seq, body) in &acknowledged {
        assert_eq!(
            stored_by_seq.get(seq),
            Some(body),
            "acknowledged message {seq} is missing after the crash"
        );
    }
    // Every stored member message announced a link; every one arrives.
    wait_outbox_empty(&db).await;
    eprintln!(
        "crash ({kind}): outbox empty after {:?}",
        burst_started.elapsed()
    );
    let member_messages = stored.len() - 1;
    let mails = mail.wait_for(&guest_email, 1 + member_messages).await;
    let links: Vec<String> = mails.iter().filter_map(|m| m.link()).collect();
    let unique_links: HashSet<&String> = links.iter().collect();
    assert_eq!(
        unique_links.len(),
        1 + member_messages,
        "a notification was lost"
    );
    eprintln!(
        "crash ({kind}): {} acknowledged when killed ({killed_at} at the signal), {} stored \
         (the rest were in flight), {pending_at_restart} mails waiting in the outbox at restart, \
         {} mails delivered for {} stored messages, {} duplicates",
        acknowledged.len(),
        member_messages,
        links.len(),
        1 + member_messages,
        links.len() - unique_links.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgres_send_each_mail_once() {
    let db = Database::postgres().await;
    let mail = MailServer::start().await;
    let a = Server::start(&db, &mail, &burst_settings()).await;
    let b = a.sibling();
    let servers = [&a.url, &b.url];

    let member_email = format!("{}@member.test", unique("bob"));
    Member::register(&a.url, "bob", "Bob", &member_email, PASSWORD.as_bytes())
        .await
        .unwrap();
    // The member signs in on one instance and works on the other: sessions
    // live in the database.
    let bob_on_b = Member::login(&b.url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap();

    const GUESTS: usize = 12;
    let mut guests = Vec::new();
    for i in 0..GUESTS {
        let email = format!("{}@guest.test", unique(&format!("g{i}-")));
        let (conversation, _) = Guest::contact(servers[i % 2], "bob", &email, "G", "hello", None)
            .await
            .unwrap();
        guests.push((email, conversation));
    }
    // Each guest opens his link on the other instance and replies there.
    for (i, (email, _)) in guests.iter().enumerate() {
        let link = mail.link(email, 1).await;
        let session = Guest::open(servers[(i + 1) % 2], &link, email)
            .await
            .unwrap();
        assert_eq!(session.read().await.unwrap().len(), 1);
        session.reply("a reply").await.unwrap();
    }
    // The member answers each, alternating instances.
    let bob_on_a = Member::login(&a.url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap();
    for (i, (_, conversation)) in guests.iter().enumerate() {
        let bob = if i % 2 == 0 { &bob_on_a } else { &bob_on_b };
        let read = bob.read(conversation).await.unwrap();
        assert_eq!(read.len(), 2);
        bob.send(conversation, "an answer", Delivery::Email)
            .await
            .unwrap();
    }
    wait_outbox_empty(&db).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let all = mail.all().await;
    let guest_links: Vec<String> = all.iter().filter_map(|m| m.link()).collect();
    let distinct_links: HashSet<&String> = guest_links.iter().collect();
    let member_mails = all.iter().filter(|m| m.to() == member_email).count();
    let duplicates = guest_links.len() - distinct_links.len() + member_mails.saturating_sub(GUESTS);
    eprintln!(
        "two instances: {} mails ({} guest links, {member_mails} notices to the member), {duplicates} duplicates",
        all.len(),
        guest_links.len(),
    );
    assert_eq!(duplicates, 0, "a mail went out twice");
    // One first-contact link and one answer link per guest; one notice per
    // guest reply (coalescing is off).
    assert_eq!(distinct_links.len(), 2 * GUESTS);
    assert_eq!(member_mails, GUESTS);
    assert_eq!(all.len(), 3 * GUESTS);
    let a_log = a.log_text();
    let b_log = b.log_text();
    let sent_by_a = a_log.matches("mail sent").count();
    let sent_by_b = b_log.matches("mail sent").count();
    eprintln!("two instances: instance A sent {sent_by_a}, instance B sent {sent_by_b}");
    assert_eq!(sent_by_a + sent_by_b, all.len());
}
