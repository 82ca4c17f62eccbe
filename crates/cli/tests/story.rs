//! The whole guest-messaging story over HTTP, against the real binary, a
//! real SMTP server and a fresh database; once on SQLite and once on
//! PostgreSQL. It ends with a thief's look at the database and the log.

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

use base64ct::{Base64UrlUnpadded, Encoding};
use latchkey_client::{request_link, ClientError, Delivery, Guest, Member, Notification};
use latchkey_core::epoch::EpochChain;
use latchkey_core::testkit::{EpochGrant, Loot};
use latchkey_core::{ConversationId, IdentityPublic, LinkKey, MessageContext, MessageId, Role};
use sqlx::Row;
use support::{assert_absent, unique, Database, MailServer, Server, Settings, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_on_sqlite() {
    story(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn story_on_postgres() {
    story(Database::postgres().await).await;
}

/// The raw link key of a `…/open#k1.…` link.
fn link_key_bytes(link: &str) -> [u8; 32] {
    let fragment = link.rsplit_once('#').map(|(_, f)| f).unwrap();
    let mut out = [0u8; 32];
    Base64UrlUnpadded::decode(fragment.strip_prefix("k1.").unwrap(), &mut out).unwrap();
    out
}

fn grant_id_bytes(link: &str) -> Vec<u8> {
    let fragment = link.rsplit_once('#').map(|(_, f)| f).unwrap();
    let key = LinkKey::parse_fragment(fragment).unwrap();
    Base64UrlUnpadded::decode_vec(&key.grant_id().expose_base64url()).unwrap()
}

async fn story(db: Database) {
    let mail = MailServer::start().await;
    let settings = Settings {
        ttl_secs: 12,
        grace_secs: 3,
        ..Settings::default()
    };
    let server = Server::start(&db, &mail, &settings).await;
    let url = &server.url;
    let run = unique("");
    let bob_email = format!("bob-{run}@member.test");
    let ann = format!("ann-{run}@guest.test");
    let text = |n: &str| format!("plaintext {n} of run {run}: ünïcödé <b>not markup</b>");

    // A member registers; the handle is his alone.
    let mut bob = Member::register(url, "bob", "Bob Builder", &bob_email, PASSWORD.as_bytes())
        .await
        .unwrap();
    let recovery = bob.take_recovery_key().unwrap();
    let taken = Member::register(url, "Bob", "Other", "other@member.test", b"pw")
        .await
        .unwrap_err();
    assert_eq!(
        (taken.status(), taken.code()),
        (Some(409), Some("handle_taken"))
    );
    // A wrong password and an unknown handle get the same answer.
    for (handle, password) in [("bob", "wrong password"), ("nobody", PASSWORD)] {
        let failed = Member::login(url, handle, password.as_bytes())
            .await
            .unwrap_err();
        assert!(matches!(failed, ClientError::LoginFailed), "{failed}");
    }

    // A guest writes from the contact page, checking the member's key.
    let (conversation, shown) = Guest::contact(
        url,
        "bob",
        &ann,
        "Ann Guest",
        &text("1"),
        Some(&bob.fingerprint()),
    )
    .await
    .unwrap();
    assert_eq!(shown.display_name, "Bob Builder");

    // His link arrives by e-mail, without the message.
    let first_mail = mail.wait_for(&ann, 1).await.remove(0);
    assert!(
        first_mail.subject.contains("Bob Builder"),
        "{}",
        first_mail.subject
    );
    assert!(!first_mail.text.contains(&text("1")) && !first_mail.html.contains(&run));
    let l1 = first_mail.link().unwrap();
    assert!(l1.starts_with(&format!("{}/open#k1.", server.base)), "{l1}");

    // A mail scanner fetches the page (the fragment never leaves the
    // client) and looks at the link: neither burns it.
    let _ = reqwest::get(&l1).await.unwrap();
    for _ in 0..2 {
        let peek = Guest::peek(url, &l1).await.unwrap();
        assert_eq!(peek.member.display_name, "Bob Builder");
    }

    // The guest opens it, reads, replies twice; the member gets one notice.
    let ann_session = Guest::open(url, &l1, &ann).await.unwrap();
    assert_eq!(ann_session.conversation(), conversation);
    let read = ann_session.read().await.unwrap();
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].body, text("1"));
    assert_eq!(read[0].sender, Role::Guest);
    assert_eq!(
        read[0].introduction,
        Some((ann.clone(), "Ann Guest".into()))
    );
    assert_eq!(
        ann_session.reply(&text("2")).await.unwrap(),
        (2, Notification::Queued)
    );
    assert_eq!(
        ann_session.reply(&text("2b")).await.unwrap(),
        (3, Notification::Coalesced)
    );
    let notice = mail.wait_for(&bob_email, 1).await.remove(0);
    assert!(notice.link().is_none() && !notice.text.contains(&run));

    // The member signs in anew and reads: address confirmed, 3 unread.
    let bob = Member::login(url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap();
    let inbox = bob.conversations().await.unwrap();
    assert_eq!(inbox.len(), 1);
    assert_eq!(inbox[0].id, conversation);
    assert!(inbox[0].confirmed);
    assert_eq!(inbox[0].unread, 3);
    let read = bob.read(&conversation).await.unwrap();
    let bodies: Vec<&str> = read.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, [text("1"), text("2"), text("2b")]);
    assert_eq!(
        read[0].introduction,
        Some((ann.clone(), "Ann Guest".into()))
    );
    assert_eq!(bob.conversations().await.unwrap()[0].unread, 0);

    // The member replies: a new link by e-mail; a second reply while that
    // link is unredeemed sends no second e-mail.
    let sent = bob
        .send(&conversation, &text("3"), Delivery::Email)
        .await
        .unwrap();
    assert_eq!((sent.seq, sent.notification), (4, Notification::Queued));
    let l2 = mail.link(&ann, 2).await;
    let sent = bob
        .send(&conversation, &text("4"), Delivery::Email)
        .await
        .unwrap();
    assert_eq!((sent.seq, sent.notification), (5, Notification::Coalesced));
    // A link the member keeps and never hands over: it will expire.
    let expiring = bob
        .new_link(&conversation, Delivery::Myself)
        .await
        .unwrap()
        .unwrap();
    let expiring_made = Instant::now();

    // The guest opens the new link and sees everything; a reload inside
    // the grace window works.
    let session2 = Guest::open(url, &l2, &ann).await.unwrap();
    let bodies: Vec<String> = session2
        .read()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.body)
        .collect();
    assert_eq!(
        bodies,
        [text("1"), text("2"), text("2b"), text("3"), text("4")]
    );
    Guest::open(url, &l2, &ann).await.unwrap();
    tokio::time::sleep(Duration::from_millis(settings.grace_secs * 1000 + 1500)).await;
    for used in [&l1, &l2] {
        let gone = Guest::open(url, used, &ann).await.unwrap_err();
        assert_eq!((gone.status(), gone.code()), (Some(410), Some("link_used")));
    }
    assert_eq!(
        mail.to(&ann).await.len(),
        2,
        "the coalesced reply sent no mail"
    );

    // "Deliver it myself": the server never sees the link.
    let sent = bob
        .send(&conversation, &text("5"), Delivery::Myself)
        .await
        .unwrap();
    assert_eq!(sent.notification, Notification::None);
    let own = sent.link.unwrap().to_string();
    let own_fragment = own.rsplit_once('#').unwrap().1.to_owned();
    let session4 = Guest::open(url, &own, &ann).await.unwrap();
    assert_eq!(
        session4.read().await.unwrap().last().unwrap().body,
        text("5")
    );

    // A new-link request, fulfilled by the member's client. An unknown
    // address gets the same answer.
    request_link(url, &ann, Some("bob")).await.unwrap();
    request_link(url, "nobody@guest.test", None).await.unwrap();
    assert!(bob.conversations().await.unwrap()[0].link_requested);
    assert_eq!(bob.fulfil_link_requests().await.unwrap(), 1);
    assert!(!bob.conversations().await.unwrap()[0].link_requested);
    let l5 = mail.link(&ann, 3).await;
    let session5 = Guest::open(url, &l5, &ann).await.unwrap();
    assert_eq!(session5.read().await.unwrap().len(), 6);

    // The link nobody used expires.
    let ttl = Duration::from_secs(settings.ttl_secs) + Duration::from_millis(500);
    tokio::time::sleep(ttl.saturating_sub(expiring_made.elapsed())).await;
    let expired = Guest::open(url, &expiring, &ann).await.unwrap_err();
    assert_eq!(
        (expired.status(), expired.code()),
        (Some(410), Some("link_expired"))
    );
    tokio::time::sleep(Duration::from_millis(1500)).await; // one sweep

    // No mail ever carried the hand-delivered link.
    for m in mail.all().await {
        assert!(!m.text.contains(&own_fragment) && !m.html.contains(&own_fragment));
    }

    // A live link, so that the thief's check below can be seen to work.
    let live = bob
        .new_link(&conversation, Delivery::Myself)
        .await
        .unwrap()
        .unwrap();

    // A thief takes the database and the log.
    let plaintexts: Vec<String> = ["1", "2", "2b", "3", "4", "5"]
        .iter()
        .map(|n| text(n))
        .collect();
    let links = [&l1, &l2, &own, &l5, &expiring, &live];
    let mut secrets: Vec<(String, Vec<u8>)> = vec![
        ("the guest's address".into(), ann.clone().into_bytes()),
        (
            "the member's address".into(),
            bob_email.clone().into_bytes(),
        ),
        ("the member's password".into(), PASSWORD.as_bytes().to_vec()),
        (
            "the recovery key".into(),
            recovery.expose_printable().as_bytes().to_vec(),
        ),
        ("the recovery proof".into(), recovery.proof().to_vec()),
    ];
    for (i, p) in plaintexts.iter().enumerate() {
        secrets.push((format!("plaintext {i}"), p.clone().into_bytes()));
    }
    for (i, link) in links.iter().enumerate() {
        secrets.push((format!("link key {i}"), link_key_bytes(link).to_vec()));
        secrets.push((format!("grant id {i}"), grant_id_bytes(link)));
    }
    assert_absent("the stolen database", &db.steal(), &secrets);
    assert_absent("the server log", server.log_text().as_bytes(), &secrets);

    let (stolen_loot, candidates) = loot(&db).await;
    let started = Instant::now();
    let mut tried = 0usize;
    for candidate in &candidates {
        let opened = stolen_loot.try_key(candidate);
        assert!(
            opened.is_empty(),
            "bytes from the database opened {opened:?}"
        );
        tried += 1;
    }
    eprintln!(
        "thief: {tried} candidate keys from the database against {} messages, {} grants, {} sealed keys, {} identities: nothing opened ({:?})",
        stolen_loot.messages.len(),
        stolen_loot.wrapped_keys.len(),
        stolen_loot.sealed_keys.len(),
        stolen_loot.sealed_identities.len(),
        started.elapsed()
    );
    // Old, used links open nothing in the dump, even with the epoch file.
    // The live link opens nothing in the dump alone (its grant is sealed
    // under an epoch key that is not in the database); with the epoch file
    // taken too, it opens its grant (so the checks above can fail).
    let chain = EpochChain::from_file_bytes(
        &std::fs::read(server.secrets_file().with_extension("epoch")).unwrap(),
    )
    .unwrap();
    for used in [&l1, &l2] {
        assert!(
            stolen_loot.try_key(&link_key_bytes(used)).is_empty()
                && stolen_loot
                    .try_link_with_epochs(&link_key_bytes(used), &chain)
                    .is_empty(),
            "a used link still opens a grant"
        );
    }
    assert!(
        stolen_loot.try_key(&link_key_bytes(&live)).is_empty(),
        "the live link opens its grant without the epoch file"
    );
    assert!(
        !stolen_loot
            .try_link_with_epochs(&link_key_bytes(&live), &chain)
            .is_empty(),
        "the live link must open its grant with the epoch file"
    );

    // Each side deletes a conversation: every row goes.
    let cid_text = conversation.to_string();
    session5.delete().await.unwrap();
    assert!(bob.conversations().await.unwrap().is_empty());
    let after = session4.read().await.unwrap_err();
    assert_eq!(after.status(), Some(401), "{after}");

    let carl = format!("carl-{run}@guest.test");
    let (second, _) = Guest::contact(url, "bob", &carl, "Carl", &text("carl"), None)
        .await
        .unwrap();
    let carl_link = mail.link(&carl, 1).await;
    bob.delete(&second).await.unwrap();
    let unknown = Guest::open(url, &carl_link, &carl).await.unwrap_err();
    assert_eq!(
        (unknown.status(), unknown.code()),
        (Some(404), Some("unknown_link"))
    );
    let gone = bob.delete(&second).await.unwrap_err();
    assert_eq!(gone.status(), Some(404));

    let (after_loot, _) = loot(&db).await;
    assert!(after_loot.messages.is_empty() && after_loot.wrapped_keys.is_empty());
    // Not even the bytes stay behind in the SQLite files (secure_delete, and
    // the WAL checkpointed after deletion). A pg_dump never holds deleted
    // rows, so there the check would prove nothing; PostgreSQL's data files
    // are a documented limit (README, threat model).
    // One row still names it: the deletion's own event, for the site's
    // webhook and open pages, until the sweep takes it (a day after every
    // endpoint had it, a week at most; README, threat model). Nothing else.
    let pool = db.pool().await;
    // (Events name a conversation by its 16 bytes, and their kind by a
    // number: 5 is conversation.deleted by the member; migration 0019.)
    let cid_bytes = conversation.as_bytes().to_vec();
    let kinds: Vec<(i64,)> = sqlx::query_as("SELECT kind FROM events WHERE conversation_id = $1")
        .bind(&cid_bytes)
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(kinds, vec![(5,)]);
    // On one connection, as the server's own do it: secure_delete (the
    // row's bytes are overwritten, not left in a free page), then a
    // checkpoint that empties the WAL.
    let mut conn = pool.acquire().await.unwrap();
    if !db.is_postgres() {
        sqlx::query("PRAGMA secure_delete = ON")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    sqlx::query("DELETE FROM events WHERE conversation_id = $1")
        .bind(&cid_bytes)
        .execute(&mut *conn)
        .await
        .unwrap();
    if !db.is_postgres() {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    drop(conn);
    pool.close().await;
    if !db.is_postgres() {
        let stolen = db.steal();
        assert!(
            !support::contains(&stolen, cid_text.as_bytes())
                && !support::contains(&stolen, &cid_bytes),
            "the deleted conversation's id is still in the database"
        );
        for (context, ciphertext) in &stolen_loot.messages {
            assert!(
                !support::contains(&stolen, ciphertext),
                "deleted message {} is still in the database file",
                context.message
            );
        }
    }
}

/// Everything a thief can read from the database: the protocol objects (to
/// attack) and every 32-byte window of every stored value (to try as keys).
async fn loot(db: &Database) -> (Loot, Vec<[u8; 32]>) {
    let pool = db.pool().await;
    let mut loot = Loot::default();
    for row in sqlx::query(
        "SELECT c.id, m.message_id, m.sender, m.ciphertext FROM messages m \
         JOIN conversations c ON c.number = m.conversation",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        let conversation: ConversationId = row.get::<String, _>(0).parse().unwrap();
        let message = MessageId::from_bytes(row.get::<Vec<u8>, _>(1).try_into().unwrap());
        let sender = if row.get::<i64, _>(2) == 1 {
            Role::Member
        } else {
            Role::Guest
        };
        loot.messages.push((
            MessageContext {
                conversation,
                message,
                sender,
            },
            row.get(3),
        ));
    }
    for row in sqlx::query("SELECT conversation_id, wrapped_key, epoch, id_hash FROM grants")
        .fetch_all(&pool)
        .await
        .unwrap()
    {
        let conversation: ConversationId = row.get::<String, _>(0).parse().unwrap();
        loot.wrapped_keys.push((conversation, row.get(1)));
        loot.epoch_grants.push(EpochGrant {
            conversation,
            epoch: u64::try_from(row.get::<i64, _>(2)).unwrap(),
            id_hash: row.get::<Vec<u8>, _>(3).try_into().unwrap(),
            sealed: row.get(1),
        });
    }
    for row in sqlx::query("SELECT id, sealed_key FROM conversations")
        .fetch_all(&pool)
        .await
        .unwrap()
    {
        loot.sealed_keys
            .push((row.get::<String, _>(0).parse().unwrap(), row.get(1)));
    }
    // Every sealed copy of a member's key: under his password, and under
    // each of his passkeys (the recovery copy is tried with the others).
    for row in sqlx::query(
        "SELECT m.identity_public, p.sealed_identity FROM members m \
         JOIN member_passwords p ON p.member_id = m.id \
         UNION ALL SELECT m.identity_public, k.sealed_identity FROM members m \
         JOIN member_passkeys k ON k.member_id = m.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    {
        let public = IdentityPublic::from_slice(&row.get::<Vec<u8>, _>(0)).unwrap();
        loot.sealed_identities.push((public, row.get(1)));
    }
    let mut candidates = Vec::new();
    for table in [
        "members",
        "member_passwords",
        "member_passkeys",
        "login_attempts",
        "conversations",
        "messages",
        "grants",
        "spent_grants",
        "sessions",
        "outbox",
    ] {
        for row in sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(&pool)
            .await
            .unwrap()
        {
            for i in 0..row.len() {
                let value: Vec<u8> = match row.try_get::<Option<Vec<u8>>, _>(i) {
                    Ok(v) => v.unwrap_or_default(),
                    Err(_) => row
                        .try_get::<Option<String>, _>(i)
                        .ok()
                        .flatten()
                        .map(String::into_bytes)
                        .unwrap_or_default(),
                };
                for window in value.windows(32) {
                    candidates.push(window.try_into().unwrap());
                }
            }
        }
    }
    pool.close().await;
    (loot, candidates)
}
