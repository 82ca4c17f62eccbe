//! Time and failure: a mail relay that is down, sessions that time out,
//! conversations past retention, a member who renames himself, changes his
//! password and signs out.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::{Duration, Instant};

use latchkey_client::{ClientError, Delivery, Guest, Member, Notification};
use support::{
    assert_absent, free_port, unique, Database, MailServer, NoMailServer, Server, Settings,
    PASSWORD,
};

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn outbox_attempts(db: &Database) -> Vec<i64> {
    let pool = db.pool().await;
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT attempts FROM outbox")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.into_iter().map(|(a,)| a).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_waits_for_a_relay_that_is_down() {
    let db = Database::sqlite();
    let port = free_port();
    let settings = Settings {
        extra_env: env(&[
            ("LATCHKEY_OUTBOX__MAX_BACKOFF_SECS", "2"),
            ("LATCHKEY_MAIL__SMTP__TIMEOUT_SECS", "2"),
            ("LATCHKEY_OUTBOX__LEASE_SECS", "5"),
        ]),
        ..Settings::default()
    };
    let server = Server::start(&db, &NoMailServer(port), &settings).await;
    Member::register(
        &server.url,
        "bob",
        "Bob",
        "bob@member.test",
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let ann = format!("{}@guest.test", unique("ann"));
    Guest::contact(&server.url, "bob", &ann, "Ann", "hello", None)
        .await
        .unwrap();

    // The relay is down: the mail stays in the outbox and is retried.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let attempts = outbox_attempts(&db).await;
        assert_eq!(attempts.len(), 1, "the mail must wait in the outbox");
        if attempts[0] >= 3 {
            break;
        }
        assert!(Instant::now() < deadline, "no retries: {attempts:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(server.log_text().contains("mail not sent"));

    // The relay comes up: the mail goes out once, the outbox empties.
    let mail = MailServer::start_on(port).await;
    let delivered = mail.wait_for(&ann, 1).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !outbox_attempts(&db).await.is_empty() {
        assert!(Instant::now() < deadline, "the outbox did not empty");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mail.to(&ann).await.len(), 1);
    assert!(delivered[0].link().is_some());
    let failures = server.log_text().matches("mail not sent").count();
    eprintln!("relay down: {failures} failed attempts, then delivered once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_sessions_time_out_and_idle_conversations_are_deleted() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let settings = Settings {
        extra_env: env(&[
            ("LATCHKEY_SESSIONS__GUEST_IDLE_SECS", "2"),
            ("LATCHKEY_RETENTION_SECS", "6"),
        ]),
        ..Settings::default()
    };
    let server = Server::start(&db, &mail, &settings).await;
    let bob = Member::register(
        &server.url,
        "bob",
        "Bob",
        "bob@member.test",
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let ann = format!("{}@guest.test", unique("ann"));
    let (conversation, _) = Guest::contact(&server.url, "bob", &ann, "Ann", "hello", None)
        .await
        .unwrap();
    let created = Instant::now();
    let link = mail.link(&ann, 1).await;
    let guest = Guest::open(&server.url, &link, &ann).await.unwrap();
    guest.read().await.unwrap();

    // Idle past the guest timeout: the session is over.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let ended = guest.read().await.unwrap_err();
    assert_eq!(ended.status(), Some(401), "{ended}");
    assert_eq!(bob.read(&conversation).await.unwrap().len(), 1);

    // Idle past retention: the conversation is gone.
    let retention = Duration::from_secs(6) + Duration::from_millis(2500);
    tokio::time::sleep(retention.saturating_sub(created.elapsed())).await;
    assert!(bob.conversations().await.unwrap().is_empty());
    let gone = bob.read(&conversation).await.unwrap_err();
    assert_eq!(gone.code(), Some("unknown_conversation"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_renames_changes_password_and_signs_out() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let server = Server::start(&db, &mail, &Settings::default()).await;
    let url = &server.url;
    let mut bob = Member::register(url, "bob", "Bob", "bob@member.test", PASSWORD.as_bytes())
        .await
        .unwrap();
    let ann = format!("{}@guest.test", unique("ann"));
    let (conversation, _) = Guest::contact(url, "bob", &ann, "Ann", "before the change", None)
        .await
        .unwrap();

    bob.set_display_name("Robert the Builder").await.unwrap();
    let link = mail.link(&ann, 1).await;
    assert_eq!(
        Guest::peek(url, &link).await.unwrap().member.display_name,
        "Robert the Builder"
    );

    // A second device is signed in; the password changes on the first.
    let other_device = Member::login(url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap();
    let new_password = b"an entirely new passphrase";
    bob.change_password(PASSWORD.as_bytes(), new_password)
        .await
        .unwrap();
    let ended = other_device.conversations().await.unwrap_err();
    assert_eq!(ended.status(), Some(401), "other sessions end: {ended}");
    let old = Member::login(url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(old, ClientError::LoginFailed), "{old}");
    // The same private key, re-sealed: old messages still open.
    let renewed = Member::login(url, "bob", new_password).await.unwrap();
    assert_eq!(renewed.fingerprint(), bob.fingerprint());
    let read = renewed.read(&conversation).await.unwrap();
    assert_eq!(read[0].body, "before the change");
    renewed
        .send(&conversation, "after the change", Delivery::Email)
        .await
        .unwrap();

    // Signing out ends that session only.
    bob.conversations().await.unwrap();
    let device = Member::login(url, "bob", new_password).await.unwrap();
    device.logout().await.unwrap();
    assert_eq!(bob.conversations().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_reply_is_never_hidden_and_own_messages_are_not_unread() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let server = Server::start(&db, &mail, &Settings::default()).await;
    let url = &server.url;
    let bob = Member::register(url, "bob", "Bob", "bob@member.test", PASSWORD.as_bytes())
        .await
        .unwrap();
    let ann = format!("{}@guest.test", unique("ann"));
    let (conversation, _) = Guest::contact(url, "bob", &ann, "Ann", "hello", None)
        .await
        .unwrap();
    mail.wait_for(&ann, 1).await;
    assert_eq!(bob.conversations().await.unwrap()[0].unread, 1);

    // The guest has not clicked his first-contact link; the member's reply
    // still gets its own e-mail (that link only said "delivered").
    let first = bob
        .send(&conversation, "a reply", Delivery::Email)
        .await
        .unwrap();
    assert_eq!(first.notification, Notification::Queued);
    let second = bob
        .send(&conversation, "and more", Delivery::Email)
        .await
        .unwrap();
    assert_eq!(second.notification, Notification::Coalesced);
    let inbox = bob.conversations().await.unwrap();
    // His own two messages do not count; the guest's, never read, still does.
    assert_eq!(inbox[0].unread, 1, "his own messages are not unread");
    mail.wait_for(&ann, 2).await;

    // Two devices answer one new-link request at once: one link goes out.
    let ann_link_request = latchkey_client::request_link(url, &ann, None);
    ann_link_request.await.unwrap();
    let phone = Member::login(url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap();
    let (a, b) = tokio::join!(bob.fulfil_link_requests(), phone.fulfil_link_requests());
    assert_eq!(a.unwrap() + b.unwrap(), 1, "one link for one request");
    mail.wait_for(&ann, 3).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(mail.to(&ann).await.len(), 3, "no second link mail");

    // A pending new-link request is answered by an e-mailed link in a
    // message, coalesced or not.
    latchkey_client::request_link(url, &ann, None)
        .await
        .unwrap();
    assert!(bob.conversations().await.unwrap()[0].link_requested);
    bob.send(&conversation, "here you are", Delivery::Email)
        .await
        .unwrap();
    assert!(!bob.conversations().await.unwrap()[0].link_requested);

    // A guest signs out on a shared computer.
    let link = mail.link(&ann, 3).await;
    let guest = Guest::open(url, &link, &ann).await.unwrap();
    assert_eq!(guest.read().await.unwrap().len(), 4);
    let shared_computer = Guest::open(url, &link, &ann).await.unwrap();
    shared_computer.sign_out().await.unwrap();
    let ended = shared_computer.read().await.unwrap_err();
    assert_eq!(ended.status(), Some(401), "{ended}");
    guest.read().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_code_closes_registration() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let code = unique("code-");
    let settings = Settings {
        extra_env: vec![("LATCHKEY_REGISTRATION_CODE".into(), code.clone())],
        ..Settings::default()
    };
    let server = Server::start(&db, &mail, &settings).await;
    let url = &server.url;
    for attempt in [None, Some("wrong code")] {
        let refused =
            Member::register_with_code(url, attempt, "bob", "Bob", "b@member.test", b"pw")
                .await
                .unwrap_err();
        assert_eq!(
            (refused.status(), refused.code()),
            (Some(403), Some("registration_closed")),
            "{refused}"
        );
    }
    Member::register_with_code(url, Some(&code), "bob", "Bob", "b@member.test", b"pw")
        .await
        .unwrap();
    assert!(
        !server.log_text().contains(&code),
        "the code reached the log"
    );
}

/// A public server (not dev mode, not loopback) with neither
/// `registration` nor a code lets nobody register; `registration = "open"`
/// opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_server_is_closed_to_registration_unless_opened() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let public = |open: bool| {
        let mut extra_env: Vec<(String, String)> = vec![
            ("LATCHKEY_DEV".into(), "false".into()),
            (
                "LATCHKEY_PUBLIC_URL".into(),
                "https://chat.example.test".into(),
            ),
        ];
        if open {
            extra_env.push(("LATCHKEY_REGISTRATION".into(), "open".into()));
        }
        Settings {
            extra_env,
            ..Settings::default()
        }
    };
    let closed = Server::start(&db, &mail, &public(false)).await;
    let refused = Member::register(&closed.url, "bob", "Bob", "b@member.test", b"pw")
        .await
        .unwrap_err();
    assert_eq!(
        (refused.status(), refused.code()),
        (Some(403), Some("registration_closed")),
        "{refused}"
    );
    drop(closed);
    // A server of its own (new keys on the old database would be another
    // installation, and its epoch file is refused there).
    let fresh = Database::sqlite();
    let open = Server::start(&fresh, &mail, &public(true)).await;
    Member::register(&open.url, "bob", "Bob", "b@member.test", b"pw")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_password_is_replaced_with_the_recovery_key() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let server = Server::start(&db, &mail, &Settings::default()).await;
    let url = &server.url;
    let mut bob = Member::register(url, "bob", "Bob", "bob@member.test", PASSWORD.as_bytes())
        .await
        .unwrap();
    let recovery = bob
        .take_recovery_key()
        .unwrap()
        .expose_printable()
        .to_string();
    assert!(bob.take_recovery_key().is_none(), "handed out once");
    let ann = format!("{}@guest.test", unique("ann"));
    let (conversation, _) = Guest::contact(url, "bob", &ann, "Ann", "kept across recovery", None)
        .await
        .unwrap();

    // A wrong key, or a right key for another handle: the same refusal.
    let wrong = latchkey_core::RecoveryKey::generate(&mut latchkey_core::OsRng)
        .expose_printable()
        .to_string();
    for (handle, key) in [("bob", wrong.as_str()), ("nobody", recovery.as_str())] {
        let refused = Member::recover(url, handle, key, b"new password one")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Some("recovery_failed"), "{refused}");
    }

    // The right key: a new password, the same private key, old messages.
    let recovered = Member::recover(url, "bob", &recovery.to_lowercase(), b"new password one")
        .await
        .unwrap();
    assert_eq!(recovered.fingerprint(), bob.fingerprint());
    assert_eq!(
        recovered.read(&conversation).await.unwrap()[0].body,
        "kept across recovery"
    );
    let ended = bob.conversations().await.unwrap_err();
    assert_eq!(ended.status(), Some(401), "every old session ends: {ended}");
    let old = Member::login(url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap_err();
    assert!(matches!(old, ClientError::LoginFailed), "{old}");

    // A new recovery key replaces the old one.
    let fresh = recovered
        .new_recovery_key(b"new password one")
        .await
        .unwrap()
        .expose_printable()
        .to_string();
    let stale = Member::recover(url, "bob", &recovery, b"new password two")
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Some("recovery_failed"));
    Member::recover(url, "bob", &fresh, b"new password two")
        .await
        .unwrap();
    // The server saw only proofs of the keys; neither they nor the keys
    // reach its log.
    let mut secrets = Vec::new();
    for key in [&recovery, &fresh] {
        let key = latchkey_core::RecoveryKey::parse(key).unwrap();
        secrets.push(("a recovery proof".to_owned(), key.proof().to_vec()));
        secrets.push((
            "a recovery key".to_owned(),
            key.expose_printable().as_bytes().to_vec(),
        ));
    }
    assert_absent("the server log", server.log_text().as_bytes(), &secrets);
}
