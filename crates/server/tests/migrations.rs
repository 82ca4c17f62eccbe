//! The schema on both databases: the two migration sets say the same thing,
//! a database written by the old schema migrates forward and reads back
//! through the typed store, and a stored value the server would never write
//! reads back as an error, not as a guess.
//!
//! PostgreSQL runs at `LATCHKEY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test makes its own
//! database there. If PostgreSQL cannot be reached these tests fail, never
//! skip.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use latchkey_core::{ConversationId, MessageId, Role};
use latchkey_server::model::{GrantState, SessionOwner, SpentReason, Timestamp};
use latchkey_server::store::{EventKind, MemberId, Store, StoreError};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Connection};

// ------------------------------------------------------------ same text

/// A handle the test knows to be valid.
fn handle(text: &str) -> latchkey_api::Handle {
    latchkey_api::Handle::parse(text).unwrap()
}

fn migrations_dir(database: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(database)
}

/// A migration as a statement list: comments dropped, whitespace collapsed,
/// PostgreSQL's type names spelt as SQLite's. A number that never goes back
/// is `BIGSERIAL PRIMARY KEY` on PostgreSQL and `INTEGER PRIMARY KEY
/// AUTOINCREMENT` on SQLite (three words against two, so not a type name
/// alone).
fn normalised(sql: &str) -> String {
    let without_comments: Vec<&str> = sql
        .lines()
        .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
        .collect();
    without_comments
        .join(" ")
        .split_whitespace()
        .map(|word| {
            // Whole words only, with any trailing punctuation kept.
            let bare = word.trim_end_matches([',', ';', ')']);
            let rest = &word[bare.len()..];
            match bare {
                "BYTEA" => format!("BLOB{rest}"),
                _ => word.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
        .replace("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT")
}

/// The rule: every SQLite migration has a PostgreSQL twin of the same name
/// whose statements are the same once comments and type names (BYTEA for
/// BLOB) are set aside. So one schema is written twice, not two schemas
/// once each. It holds for every migration, the table rebuild of 0004
/// included: PostgreSQL runs the rebuild too (see that file's header). A
/// migration that truly cannot be written alike is listed in
/// [`WRITTEN_APART`], with the reason next to it.
/// Migrations whose twins differ beyond type names, and why.
const WRITTEN_APART: &[&str] = &[
    // Hex to bytes is unhex() on SQLite and decode() on PostgreSQL, and the
    // conversations' new number is a trigger on SQLite and an identity
    // column on PostgreSQL. `migrates_forward` reads the messages it
    // carried on both.
    "0018_compact_messages.sql",
    // Hex to bytes again, and the events' counter: sqlite_sequence carried
    // over on SQLite, the sequence handed to the new table on PostgreSQL.
    // `events_keep_their_numbers` checks both.
    "0019_compact_events.sql",
];

#[test]
fn the_two_migration_sets_differ_only_in_type_names() {
    let names = |database: &str| {
        let mut names: Vec<String> = std::fs::read_dir(migrations_dir(database))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let sqlite = names("sqlite");
    assert_eq!(sqlite, names("postgres"), "the same migrations, by name");
    assert!(sqlite.iter().any(|n| n.starts_with("0004_")), "{sqlite:?}");
    for name in sqlite
        .iter()
        .filter(|n| !WRITTEN_APART.contains(&n.as_str()))
    {
        let read = |database: &str| {
            normalised(&std::fs::read_to_string(migrations_dir(database).join(name)).unwrap())
        };
        let (lite, pg) = (read("sqlite"), read("postgres"));
        if lite != pg {
            let at = lite
                .chars()
                .zip(pg.chars())
                .take_while(|(a, b)| a == b)
                .count();
            let around = |text: &str| {
                text.chars()
                    .skip(at.saturating_sub(40))
                    .take(120)
                    .collect::<String>()
            };
            panic!(
                "{name} differs beyond type names near\n  sqlite:   {}\n  postgres: {}",
                around(&lite),
                around(&pg)
            );
        }
    }
}

#[test]
fn normalising_keeps_what_matters() {
    assert_eq!(
        normalised("a BYTEA, -- note\n  b BYTEA);\nc BYTEAX"),
        "a BLOB, b BLOB); c BYTEAX"
    );
    assert_ne!(normalised("x BIGINT"), normalised("x INTEGER"));
    assert_eq!(
        normalised("seq BIGSERIAL  PRIMARY KEY,"),
        "seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    );
    assert_ne!(normalised("seq BIGSERIAL,"), normalised("seq INTEGER,"));
}

// ------------------------------------------------------------ databases

enum Db {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

fn postgres_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Db {
    fn sqlite() -> Db {
        Db::Sqlite(tempfile::tempdir().unwrap())
    }

    async fn postgres() -> Db {
        sqlx::any::install_default_drivers();
        let admin_url = postgres_admin_url();
        let name = format!("latchkey_migrations_{}", MemberId::generate());
        let mut admin = sqlx::AnyConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} (is it running?): {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        Db::Postgres { admin_url, name }
    }

    fn database(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres { .. } => "postgres",
        }
    }

    fn url(&self) -> String {
        match self {
            Db::Sqlite(dir) => format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("latchkey.db").display()
            ),
            Db::Postgres { admin_url, name } => {
                let base = admin_url
                    .rsplit_once('/')
                    .map_or(admin_url.as_str(), |(b, _)| b);
                format!("{base}/{name}")
            }
        }
    }

    /// A pool of the test's own (not the store's), foreign keys on as the
    /// store has them.
    async fn pool(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&self.url())
            .await
            .unwrap();
        if matches!(self, Db::Sqlite(_)) {
            sqlx::query("PRAGMA foreign_keys = ON")
                .execute(&pool)
                .await
                .unwrap();
        }
        pool
    }

    /// Migrations 0001–0003 only: the schema before CHECK constraints.
    async fn old_schema(&self) -> AnyPool {
        let mut migrator = Migrator::new(migrations_dir(self.database()))
            .await
            .unwrap();
        migrator.migrations = Cow::Owned(
            migrator
                .migrations
                .iter()
                .filter(|m| m.version <= 3)
                .cloned()
                .collect(),
        );
        assert_eq!(migrator.migrations.len(), 3);
        let pool = self.pool().await;
        migrator.run(&pool).await.unwrap();
        pool
    }

    async fn count(&self, sql: &str) -> i64 {
        let pool = self.pool().await;
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres { admin_url, name } = self {
            let _ = std::process::Command::new("psql")
                .args([
                    admin_url.as_str(),
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .output();
        }
    }
}

// ------------------------------------------------------- the old writes

const ANN: &str = "0123456789abcdef0123456789abcdef";
const BOB: &str = "fedcba9876543210fedcba9876543210";
const CONVERSATION: &str = "00112233445566778899aabbccddeeff";
const MESSAGE_1: &str = "10000000000000000000000000000001";
const MESSAGE_2: &str = "20000000000000000000000000000002";
const MAIL: &str = "abababababababababababababababab";
const LOGIN: &str = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
const NOW: i64 = 1_800_000_000_000;
const LATER: i64 = NOW + 86_400_000;

async fn exec(pool: &AnyPool, sql: &str, binds: Vec<Bind>) {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = match bind {
            Bind::Text(t) => query.bind(t),
            Bind::Int(i) => query.bind(i),
            Bind::Bytes(b) => query.bind(b),
            Bind::NoText => query.bind(Option::<String>::None),
        };
    }
    query
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

enum Bind {
    Text(&'static str),
    Int(i64),
    Bytes(Vec<u8>),
    NoText,
}
use Bind::{Bytes, Int, NoText, Text};

/// Rows as the code before typed rows wrote them (binding what it bound).
async fn write_as_old_code(pool: &AnyPool) {
    exec(
        pool,
        "INSERT INTO members (id, handle, display_name, email_sealed, password_file, \
         identity_public, sealed_identity, created_at, recovery_sealed_identity, \
         recovery_verifier) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        vec![
            Text(ANN),
            Text("ann"),
            Text("Ann"),
            Bytes(vec![1; 40]),
            Bytes(vec![2; 40]),
            Bytes(vec![3; 32]),
            Bytes(vec![4; 40]),
            Int(NOW),
            Bytes(vec![5; 40]),
            Bytes(vec![6; 32]),
        ],
    )
    .await;
    // Registered before recovery keys (0003): both columns NULL.
    exec(
        pool,
        "INSERT INTO members (id, handle, display_name, email_sealed, password_file, \
         identity_public, sealed_identity, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        vec![
            Text(BOB),
            Text("bob"),
            Text("Bob"),
            Bytes(vec![1; 40]),
            Bytes(vec![2; 40]),
            Bytes(vec![7; 32]),
            Bytes(vec![4; 40]),
            Int(NOW),
        ],
    )
    .await;
    exec(
        pool,
        "INSERT INTO conversations (id, member_id, sealed_key, guest_email_sealed, \
         guest_email_index, last_seq, created_at, last_activity_at) \
         VALUES ($1, $2, $3, $4, $5, 2, $6, $6)",
        vec![
            Text(CONVERSATION),
            Text(ANN),
            Bytes(vec![8; 80]),
            Bytes(vec![9; 60]),
            Bytes(vec![10; 32]),
            Int(NOW),
        ],
    )
    .await;
    // redeem_grant wrote `confirmed = 1`.
    exec(
        pool,
        "UPDATE conversations SET confirmed = 1, link_requested_at = $2 WHERE id = $1",
        vec![Text(CONVERSATION), Int(NOW + 5)],
    )
    .await;
    for (seq, id, sender) in [(1, MESSAGE_1, 2), (2, MESSAGE_2, 1)] {
        exec(
            pool,
            "INSERT INTO messages (conversation_id, seq, message_id, sender, ciphertext, \
             created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            vec![
                Text(CONVERSATION),
                Int(seq),
                Text(id),
                Int(sender),
                Bytes(vec![11; 256]),
                Int(NOW + seq),
            ],
        )
        .await;
    }
    exec(
        pool,
        "INSERT INTO grants (id_hash, conversation_id, wrapped_key, emailed, kind, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        vec![
            Bytes(vec![12; 32]),
            Text(CONVERSATION),
            Bytes(vec![13; 72]),
            Int(1),
            Text("first_contact"),
            Int(NOW),
            Int(LATER),
        ],
    )
    .await;
    // A grant as 0001 wrote it: no kind (0002 gave it 'message').
    exec(
        pool,
        "INSERT INTO grants (id_hash, conversation_id, wrapped_key, emailed, created_at, \
         expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        vec![
            Bytes(vec![14; 32]),
            Text(CONVERSATION),
            Bytes(vec![13; 72]),
            Int(0),
            Int(NOW),
            Int(LATER),
        ],
    )
    .await;
    exec(
        pool,
        "INSERT INTO spent_grants (id_hash, reason, forget_at) VALUES ($1, $2, $3)",
        vec![Bytes(vec![15; 32]), Text("expired"), Int(LATER)],
    )
    .await;
    // The old create_session bound Option<&str> for the owner columns.
    exec(
        pool,
        "INSERT INTO sessions (token_hash, member_id, conversation_id, created_at, \
         last_seen_at, idle_ms, expires_at) VALUES ($1, $2, $3, $4, $4, $5, $6)",
        vec![
            Bytes(vec![16; 32]),
            Text(ANN),
            NoText,
            Int(NOW),
            Int(3_600_000),
            Int(LATER),
        ],
    )
    .await;
    exec(
        pool,
        "INSERT INTO sessions (token_hash, member_id, conversation_id, created_at, \
         last_seen_at, idle_ms, expires_at) VALUES ($1, $2, $3, $4, $4, $5, $6)",
        vec![
            Bytes(vec![17; 32]),
            NoText,
            Text(CONVERSATION),
            Int(NOW),
            Int(3_600_000),
            Int(LATER),
        ],
    )
    .await;
    exec(
        pool,
        "INSERT INTO outbox (id, conversation_id, payload_sealed, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $4)",
        vec![
            Text(MAIL),
            Text(CONVERSATION),
            Bytes(vec![18; 90]),
            Int(NOW),
        ],
    )
    .await;
    exec(
        pool,
        "INSERT INTO login_attempts (id, handle, state_sealed, expires_at) \
         VALUES ($1, $2, $3, $4)",
        vec![Text(LOGIN), Text("ann"), Bytes(vec![19; 50]), Int(LATER)],
    )
    .await;
}

/// Refused by a CHECK, not by some other rule the value happens to break.
fn assert_check_violation<T: std::fmt::Debug>(what: &str, result: Result<T, sqlx::Error>) {
    match result {
        Err(sqlx::Error::Database(e)) if e.is_check_violation() => {}
        other => panic!("{what}: expected a CHECK violation, got {other:?}"),
    }
}

async fn migrates_forward(db: Db) {
    let pool = db.old_schema().await;
    write_as_old_code(&pool).await;
    pool.close().await;

    // As `serve` and `migrate` do.
    Store::rebuild_small_pages(&db.url()).await;
    let store = Store::connect(&db.url()).await.unwrap();
    store.migrate().await.unwrap();
    if let Db::Sqlite(_) = db {
        // Made with 4 KiB pages by the old schema's pool; rebuilt above
        // with 8 KiB ones (`store/sqlite/page_size.rs`).
        assert_eq!(db.count("PRAGMA page_size").await, 8192);
    }
    let now = Timestamp::from_ms(NOW + 10);
    let ann = MemberId::parse(ANN).unwrap();
    let conversation: ConversationId = CONVERSATION.parse().unwrap();

    let member = store
        .member_by_handle(&handle("ann"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(member.id, ann);
    assert_eq!(member.created_at, Timestamp::from_ms(NOW));
    assert_eq!(member.recovery.unwrap().verifier, vec![6; 32]);
    // 0014 moved the password into member_passwords, unchanged.
    let password = member.password.expect("ann's password carried forward");
    assert_eq!(password.file, vec![2; 40]);
    assert_eq!(password.sealed_identity, vec![4; 40]);
    let bob = store
        .member_by_handle(&handle("bob"))
        .await
        .unwrap()
        .unwrap();
    assert!(bob.recovery.is_none());
    assert_eq!(
        store.member_by_id(&ann).await.unwrap().unwrap().handle,
        handle("ann")
    );

    let inbox = store.conversations_of(&ann, None, 10).await.unwrap();
    assert_eq!(inbox.len(), 1);
    let entry = &inbox[0];
    assert_eq!(entry.conversation.id, conversation);
    assert_eq!(entry.conversation.member_id, ann);
    assert!(entry.conversation.confirmed);
    assert_eq!(entry.conversation.last_seq, 2);
    assert_eq!(
        entry.conversation.link_requested_at,
        Some(Timestamp::from_ms(NOW + 5))
    );
    assert_eq!(
        entry.unread, 1,
        "the guest's message; the member's never counts"
    );

    let messages = store.messages(&conversation, 0, 10).await.unwrap();
    let read: Vec<(i64, MessageId, Role)> = messages
        .iter()
        .map(|m| (m.seq, m.message_id, m.sender))
        .collect();
    assert_eq!(
        read,
        vec![
            (1, MESSAGE_1.parse().unwrap(), Role::Guest),
            (2, MESSAGE_2.parse().unwrap(), Role::Member),
        ]
    );

    match store.peek_grant(&[12; 32], now, 60_000).await.unwrap() {
        GrantState::Valid(redeemed) => {
            assert_eq!(redeemed.conversation_id, conversation);
            // From before epoch keys (0009): no epoch, bare.
            assert_eq!((redeemed.epoch, redeemed.sealed_key), (None, vec![13; 72]));
        }
        other => panic!("{other:?}"),
    }
    // The start of a new version seals them: listed, sealed once (a
    // second instance doing the same changes nothing), then gone from the
    // list.
    let unsealed = store.unsealed_grants().await.unwrap();
    assert!(unsealed
        .iter()
        .any(|g| g.id_hash == [12; 32] && g.wrapped_key == vec![13; 72]));
    store.seal_grant(&[12; 32], 7, &[21; 114]).await.unwrap();
    store.seal_grant(&[12; 32], 8, &[22; 114]).await.unwrap();
    match store.peek_grant(&[12; 32], now, 60_000).await.unwrap() {
        GrantState::Valid(redeemed) => {
            assert_eq!(
                (redeemed.epoch, redeemed.sealed_key),
                (Some(7), vec![21; 114])
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!store
        .unsealed_grants()
        .await
        .unwrap()
        .iter()
        .any(|g| g.id_hash == [12; 32]));
    assert!(matches!(
        store.peek_grant(&[15; 32], now, 60_000).await.unwrap(),
        GrantState::Spent(SpentReason::Expired)
    ));
    assert!(matches!(
        store.peek_grant(&[99; 32], now, 60_000).await.unwrap(),
        GrantState::Unknown
    ));

    let member_session = store.touch_session(&[16; 32], now).await.unwrap().unwrap();
    assert_eq!(member_session.owner, SessionOwner::Member(ann));
    let guest_session = store.touch_session(&[17; 32], now).await.unwrap().unwrap();
    assert_eq!(guest_session.owner, SessionOwner::Guest(conversation));

    let mail = store.claim_mail(now, 60_000).await.unwrap().unwrap();
    assert_eq!((mail.id.as_str(), mail.attempts), (MAIL, 1));
    assert_eq!(
        store.take_login_attempt(LOGIN, now).await.unwrap(),
        Some(("ann".to_owned(), vec![19; 50]))
    );
    store.close().await;

    // The rebuilt tables refuse what 0004 forbids, each rule on its own
    // (every statement is fine but for the one value)...
    let pool = db.pool().await;
    // (Since 0018 a message names its conversation by number.)
    let message = "INSERT INTO messages (conversation, seq, message_id, sender, ciphertext, \
                   created_at) VALUES ((SELECT number FROM conversations WHERE id = $1), \
                   $2, $3, $4, $5, $6)";
    let fresh = vec![0x30; 16];
    let session = "INSERT INTO sessions (token_hash, member_id, conversation_id, created_at, \
                   last_seen_at, idle_ms, expires_at) VALUES ($1, $2, $3, 0, 0, 1, 1)";
    let grant = "INSERT INTO grants (id_hash, conversation_id, wrapped_key, emailed, kind, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, 0, 1)";
    let spent = "INSERT INTO spent_grants (id_hash, reason, forget_at) VALUES ($1, $2, $3)";
    let refusals: Vec<(&str, &str, Vec<Bind>)> = vec![
        (
            "message baseline",
            message,
            vec![
                Text(CONVERSATION),
                Int(3),
                Bytes(fresh),
                Int(2),
                Bytes(vec![0; 256]),
                Int(NOW),
            ],
        ),
        (
            "sender 7",
            message,
            vec![
                Text(CONVERSATION),
                Int(4),
                Bytes(vec![0x50; 16]),
                Int(7),
                Bytes(vec![0; 256]),
                Int(NOW),
            ],
        ),
        (
            "seq 0",
            message,
            vec![
                Text(CONVERSATION),
                Int(0),
                Bytes(vec![0x60; 16]),
                Int(1),
                Bytes(vec![0; 256]),
                Int(NOW),
            ],
        ),
        (
            "15-byte id",
            message,
            vec![
                Text(CONVERSATION),
                Int(4),
                Bytes(vec![0x70; 15]),
                Int(1),
                Bytes(vec![0; 256]),
                Int(NOW),
            ],
        ),
        (
            "negative time",
            message,
            vec![
                Text(CONVERSATION),
                Int(4),
                Bytes(vec![0x40; 16]),
                Int(1),
                Bytes(vec![0; 256]),
                Int(-1),
            ],
        ),
        (
            "session baseline",
            session,
            vec![Bytes(vec![30; 32]), Text(ANN), NoText],
        ),
        (
            "two owners",
            session,
            vec![Bytes(vec![31; 32]), Text(ANN), Text(CONVERSATION)],
        ),
        (
            "no owner",
            session,
            vec![Bytes(vec![31; 32]), NoText, NoText],
        ),
        (
            "short token hash",
            session,
            vec![Bytes(vec![31; 31]), Text(ANN), NoText],
        ),
        (
            "grant baseline",
            grant,
            vec![
                Bytes(vec![40; 32]),
                Text(CONVERSATION),
                Bytes(vec![0; 73]),
                Int(1),
                Text("message"),
            ],
        ),
        (
            "kind foo",
            grant,
            vec![
                Bytes(vec![41; 32]),
                Text(CONVERSATION),
                Bytes(vec![0; 73]),
                Int(1),
                Text("foo"),
            ],
        ),
        (
            "emailed 2",
            grant,
            vec![
                Bytes(vec![41; 32]),
                Text(CONVERSATION),
                Bytes(vec![0; 73]),
                Int(2),
                Text("message"),
            ],
        ),
        (
            "spent baseline",
            spent,
            vec![Bytes(vec![50; 32]), Text("used"), Int(1)],
        ),
        (
            "reason x",
            spent,
            vec![Bytes(vec![51; 32]), Text("x"), Int(1)],
        ),
    ];
    for (what, sql, binds) in refusals {
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = match bind {
                Text(t) => query.bind(t),
                Int(i) => query.bind(i),
                Bytes(b) => query.bind(b),
                NoText => query.bind(Option::<String>::None),
            };
        }
        let stored = query.execute(&pool).await;
        if what.ends_with("baseline") {
            stored.unwrap_or_else(|e| panic!("{what}: {e}"));
        } else {
            assert_check_violation(what, stored);
        }
    }
    assert_check_violation(
        "confirmed 2",
        sqlx::query("UPDATE conversations SET confirmed = 2")
            .execute(&pool)
            .await,
    );
    // ...and their foreign keys point at the rebuilt parents and cascade:
    // deleting the member takes his conversation, its messages, grants,
    // sessions and mail along.
    sqlx::query("DELETE FROM members WHERE id = $1")
        .bind(ANN)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    for table in ["conversations", "messages", "grants", "sessions", "outbox"] {
        assert_eq!(
            db.count(&format!("SELECT COUNT(*) FROM {table}")).await,
            0,
            "{table} after its member was deleted"
        );
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM members").await, 1);
}

/// Migration 0019 carries events over in their compact form, and their
/// numbers go on from where they were, also past events the sweep took.
async fn events_keep_their_numbers(db: Db) {
    let pool = db.pool().await;
    let mut migrator = Migrator::new(migrations_dir(db.database())).await.unwrap();
    migrator.migrations = Cow::Owned(
        migrator
            .migrations
            .iter()
            .filter(|m| m.version <= 18)
            .cloned()
            .collect(),
    );
    migrator.run(&pool).await.unwrap();
    // Three events as 0016 wrote them; the sweep took the newest.
    let member = "a0000000000000000000000000000001";
    let conversation = "c0000000000000000000000000000001";
    let old_events = [
        (
            "e0000000000000000000000000000001",
            "message.created",
            Some(conversation),
            Some("guest"),
        ),
        (
            "e0000000000000000000000000000002",
            "member.disabled",
            None,
            None,
        ),
        (
            "e0000000000000000000000000000003",
            "link.opened",
            Some(conversation),
            None,
        ),
    ];
    for (event_id, kind, conversation, detail) in old_events {
        sqlx::query(
            "INSERT INTO events (event_id, kind, member_id, handle, conversation_id, detail, \
             created_at) VALUES ($1, $2, $3, 'ann', $4, $5, $6)",
        )
        .bind(event_id)
        .bind(kind)
        .bind(member)
        .bind(conversation)
        .bind(detail)
        .bind(NOW)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query("DELETE FROM events WHERE seq = 3")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let store = Store::connect(&db.url()).await.unwrap();
    store.migrate().await.unwrap();
    let carried: Vec<(i64, String, EventKind, Option<ConversationId>)> = store
        .events_after(0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.seq, e.event_id, e.kind, e.conversation_id))
        .collect();
    assert_eq!(
        carried,
        vec![
            (
                1,
                "e0000000000000000000000000000001".to_owned(),
                EventKind::MessageCreated(Role::Guest),
                Some(conversation.parse().unwrap())
            ),
            (
                2,
                "e0000000000000000000000000000002".to_owned(),
                EventKind::MemberDisabled,
                None
            ),
        ]
    );
    store.close().await;
    // The next event is number 4: 3 stays used.
    let pool = db.pool().await;
    sqlx::query(
        "INSERT INTO events (event_id, kind, member_id, handle, conversation_id, created_at) \
         VALUES ($1, 3, $2, 'ann', $3, $4)",
    )
    .bind(vec![0xe4u8; 16])
    .bind(member)
    .bind(vec![0xc1u8; 16])
    .bind(NOW)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(db.count("SELECT MAX(seq) FROM events").await, 4);
}

#[tokio::test]
async fn sqlite_events_keep_their_numbers() {
    events_keep_their_numbers(Db::sqlite()).await;
}

#[tokio::test]
async fn postgres_events_keep_their_numbers() {
    events_keep_their_numbers(Db::postgres().await).await;
}

#[tokio::test]
async fn an_old_sqlite_database_migrates_forward() {
    migrates_forward(Db::sqlite()).await;
}

#[tokio::test]
async fn an_old_postgres_database_migrates_forward() {
    migrates_forward(Db::postgres().await).await;
}

// ------------------------------------------------------ unknown values

fn is_corrupt(result: Result<impl std::fmt::Debug, StoreError>, table: &str, column: &str) {
    match result {
        Err(StoreError::Corrupt {
            table: t,
            column: c,
            ..
        }) if t == table && c.contains(column) => {}
        other => panic!("expected {table}.{column} to be corrupt, got {other:?}"),
    }
}

/// Values the old schema let in (no CHECK) read back as errors naming the
/// table and column, never as a default; and migration 0004 refuses to
/// carry them forward.
async fn unknown_values_are_errors(db: Db) {
    let pool = db.old_schema().await;
    write_as_old_code(&pool).await;
    let bad_message = "30000000000000000000000000000003";
    for sql in [
        format!(
            "INSERT INTO messages (conversation_id, seq, message_id, sender, ciphertext, \
             created_at) VALUES ('{CONVERSATION}', 3, '{bad_message}', 7, $1, {NOW})"
        ),
        "INSERT INTO spent_grants (id_hash, reason, forget_at) VALUES ($1, 'x', 0)".to_owned(),
    ] {
        sqlx::query(&sql)
            .bind(vec![20u8; 32])
            .execute(&pool)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE sessions SET conversation_id = $1 WHERE member_id = $2")
        .bind(CONVERSATION)
        .bind(ANN)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET conversation_id = NULL WHERE member_id IS NULL")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE members SET id = 'not-hex' WHERE handle = 'bob'")
        .execute(&pool)
        .await
        .unwrap();
    // A column added since the old schema that the store's reads name
    // (migration 0009); NULL, as the migration leaves it.
    sqlx::query("ALTER TABLE grants ADD COLUMN epoch BIGINT")
        .execute(&pool)
        .await
        .unwrap();
    // And migration 0010's languages, with its defaults; 0011's disabled
    // members; 0014's passwords table (SQLite takes PostgreSQL's BYTEA as a
    // type name).
    for sql in [
        "ALTER TABLE members ADD COLUMN language TEXT NOT NULL DEFAULT 'en'",
        "ALTER TABLE conversations ADD COLUMN guest_language TEXT NOT NULL DEFAULT 'en'",
        "ALTER TABLE members ADD COLUMN disabled_at BIGINT",
        "CREATE TABLE member_passwords (member_id TEXT NOT NULL, \
         password_file BYTEA NOT NULL, sealed_identity BYTEA NOT NULL)",
        "INSERT INTO member_passwords SELECT id, password_file, sealed_identity FROM members",
    ] {
        sqlx::query(sql).execute(&pool).await.unwrap();
    }
    pool.close().await;

    // The store reads what is there (connect does not migrate).
    let store = Store::connect(&db.url()).await.unwrap();
    let conversation: ConversationId = CONVERSATION.parse().unwrap();
    let now = Timestamp::from_ms(NOW + 10);
    // (Messages are read in their 0018 shape: see
    // `unknown_message_values_are_errors`.)
    is_corrupt(
        store.peek_grant(&[20; 32], now, 60_000).await,
        "spent_grants",
        "reason",
    );
    is_corrupt(
        store.touch_session(&[16; 32], now).await,
        "sessions",
        "member_id",
    );
    is_corrupt(
        store.touch_session(&[17; 32], now).await,
        "sessions",
        "member_id",
    );
    is_corrupt(
        store.member_by_handle(&handle("bob")).await,
        "members",
        "id",
    );

    let pool = db.pool().await;
    sqlx::query("UPDATE conversations SET confirmed = 2")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    is_corrupt(
        store.conversation(&conversation).await,
        "conversations",
        "confirmed",
    );

    // Migration 0004 refuses them, and leaves the database as it was.
    match store.migrate().await {
        Err(StoreError::Migration(sqlx::migrate::MigrateError::ExecuteMigration(
            sqlx::Error::Database(e),
            4,
        ))) if e.is_check_violation() => {}
        other => panic!("expected 0004 to refuse the corrupt rows, got {other:?}"),
    }
    store.close().await;
    assert_eq!(db.count("SELECT COUNT(*) FROM messages").await, 3);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .await,
        3
    );
}

/// Message values the schema's CHECKs refuse, stored where the checks were
/// lifted (a hand-edited database), read back as errors naming the column,
/// with the value kept out of the error.
async fn unknown_message_values_are_errors(db: Db) {
    let pool = db.old_schema().await;
    write_as_old_code(&pool).await;
    pool.close().await;
    let store = Store::connect(&db.url()).await.unwrap();
    store.migrate().await.unwrap();

    let pool = db.pool().await;
    let mut conn = pool.acquire().await.unwrap();
    let lift: &[&str] = match db {
        Db::Sqlite(_) => &["PRAGMA ignore_check_constraints = ON"],
        Db::Postgres { .. } => &[
            "ALTER TABLE messages DROP CONSTRAINT messages_sender_role",
            "ALTER TABLE messages DROP CONSTRAINT messages_message_id_bytes",
        ],
    };
    for sql in lift {
        sqlx::query(sql).execute(&mut *conn).await.unwrap();
    }
    for (seq, message_id, sender) in [(3, vec![0x30; 16], 7), (4, vec![0x40; 15], 1)] {
        sqlx::query(
            "INSERT INTO messages (conversation, seq, message_id, sender, ciphertext, \
             created_at) VALUES ((SELECT number FROM conversations WHERE id = $1), \
             $2, $3, $4, $5, $6)",
        )
        .bind(CONVERSATION)
        .bind(seq)
        .bind(message_id)
        .bind(sender)
        .bind(vec![20u8; 32])
        .bind(NOW)
        .execute(&mut *conn)
        .await
        .unwrap();
    }
    drop(conn);
    pool.close().await;

    let conversation: ConversationId = CONVERSATION.parse().unwrap();
    let messages = store.messages(&conversation, 2, 1).await;
    if let Err(error) = &messages {
        let text = error.to_string();
        assert!(
            !text.contains('7'),
            "the value stays out of the message: {text}"
        );
    }
    is_corrupt(messages, "messages", "sender");
    is_corrupt(
        store.messages(&conversation, 3, 1).await,
        "messages",
        "message_id",
    );
    store.close().await;
}

#[tokio::test]
async fn unknown_message_values_in_sqlite_are_errors() {
    unknown_message_values_are_errors(Db::sqlite()).await;
}

#[tokio::test]
async fn unknown_message_values_in_postgres_are_errors() {
    unknown_message_values_are_errors(Db::postgres().await).await;
}

#[tokio::test]
async fn unknown_values_in_sqlite_are_errors() {
    unknown_values_are_errors(Db::sqlite()).await;
}

#[tokio::test]
async fn unknown_values_in_postgres_are_errors() {
    unknown_values_are_errors(Db::postgres().await).await;
}
