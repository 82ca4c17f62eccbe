//! Shredding that holds (issue 13): a used link opens nothing in any old
//! copy of the database, the logs included: SQLite's database and `-wal`
//! files, PostgreSQL's WAL segments and table files, taken right after the
//! guest used the link, while its grant row still exists.
//!
//! The thief here has the link key from the old e-mail and scans every byte
//! of the copies for a wrapped conversation key that it opens. Without the
//! epoch file nothing opens. With the epoch file as it was at the time of
//! the copy, the grant opens (so the scan can find what it looks for).
//! Once the epoch's links are all dead the server erases its key, and the
//! epoch file taken then, with every earlier copy of the database, opens
//! nothing. Against the real binary, maildev and a fresh database.

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

use latchkey_client::{Guest, Member};
use latchkey_core::epoch::{EpochChain, EPOCH_SEALED_LEN};
use latchkey_core::{ConversationId, LinkKey, WrappedConversationKey};
use sqlx::Row;
use support::{unique, Database, MailServer, Server, Settings, PASSWORD};

/// The length of a bare wrapped conversation key.
const WRAPPED_LEN: usize = 73;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn used_links_open_nothing_in_old_sqlite_files() {
    used_links_open_nothing_in_old_copies(Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn used_links_open_nothing_in_old_postgres_wal() {
    used_links_open_nothing_in_old_copies(Database::postgres().await).await;
}

async fn used_links_open_nothing_in_old_copies(db: Database) {
    let mail = MailServer::start().await;
    // Short lives so that the test sees an epoch erased: links live 6 s,
    // 1 s after their first use; epochs last 1 s.
    let settings = Settings {
        ttl_secs: 6,
        grace_secs: 1,
        extra_env: vec![("LATCHKEY_LINKS__EPOCH_SECS".into(), "1".into())],
        ..Settings::default()
    };
    let wal_start = wal_position(&db).await;
    let first_epoch = current_epoch();
    let server = Server::start(&db, &mail, &settings).await;
    let url = &server.url;
    let epoch_file = server.secrets_file().with_extension("epoch");
    let run = unique("shred");
    let guest = format!("{run}@guest.test");

    Member::register(
        url,
        "bob",
        "Bob",
        &format!("bob-{run}@member.test"),
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let (conversation, _) = Guest::contact(url, "bob", &guest, "Ann", "hello", None)
        .await
        .unwrap();
    let link = mail.link(&guest, 1).await;
    let link_key = LinkKey::parse_fragment(link.rsplit_once('#').unwrap().1).unwrap();
    Guest::open(url, &link, &guest).await.unwrap();

    // Right after the use, while the grant row is still there (its grace
    // window): the thief copies everything, the epoch file too.
    let old_copy = copy_database(&db, &wal_start).await;
    let old_epoch_file = EpochChain::from_file_bytes(&std::fs::read(&epoch_file).unwrap()).unwrap();
    let in_use = current_epoch();
    // Every epoch the test's grants can have been sealed in.
    let epochs = first_epoch..=in_use + 1;
    eprintln!(
        "thief's first copy: {} bytes of database files",
        old_copy.iter().map(|(_, b)| b.len()).sum::<usize>()
    );

    let found = scan(
        &old_copy,
        &link_key,
        &conversation,
        &old_epoch_file,
        &epochs,
    );
    assert!(
        found.bare.is_empty(),
        "the old copy alone opened {:?}",
        found.bare
    );
    assert!(
        !found.sealed.is_empty(),
        "the scan must find the grant when the epoch file of the time is taken too"
    );
    eprintln!(
        "with the epoch file of the time the scan opens {:?}",
        found.sealed
    );

    // The server erases the epoch once no link made in it can be alive:
    // wait for the file to move past the epoch the link was made in.
    let started = Instant::now();
    let erased = loop {
        let chain = EpochChain::from_file_bytes(&std::fs::read(&epoch_file).unwrap()).unwrap();
        if chain.first() > in_use {
            break chain;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the epoch file still starts at {} (the link's epoch was {in_use}); server log:\n{}",
            chain.first(),
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(server.log_text().contains("erased dead epoch keys"));

    // Now the thief takes everything again. The loop above saw today's
    // epoch file start after the link's epoch, so it derives none of the
    // keys the test's grants were sealed with (the scan below of the old
    // copy finds nothing for that reason alone); the new copy holds no bare
    // wrapped key either.
    let new_copy = copy_database(&db, &wal_start).await;
    for (what, copy) in [("old", &old_copy), ("new", &new_copy)] {
        let found = scan(copy, &link_key, &conversation, &erased, &epochs);
        assert!(
            found.bare.is_empty() && found.sealed.is_empty(),
            "the {what} copy with the current epoch file opened {found:?}"
        );
    }
    // And the link is dead: "used" while the server remembers its hash
    // (as long as a link lives, here 6 s), then "unknown".
    let dead = Guest::open(url, &link, &guest).await.unwrap_err();
    assert!(
        matches!(dead.code(), Some("link_used" | "unknown_link")),
        "{dead}"
    );
}

/// The epoch the clock is in, for one-second epochs.
fn current_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Where PostgreSQL's WAL is before the test writes, as an LSN (nothing
/// for SQLite).
async fn wal_position(db: &Database) -> String {
    if !db.is_postgres() {
        return String::new();
    }
    let pool = db.pool().await;
    let row = sqlx::query("SELECT pg_current_wal_insert_lsn()::text")
        .fetch_one(&pool)
        .await
        .unwrap();
    row.get(0)
}

/// The files a thief would copy, by name. SQLite: every file of the
/// database (main file, `-wal`, `-shm`). PostgreSQL: the WAL the test wrote
/// (from its starting LSN to now, in whatever segments that spans; read
/// through the server, which owns the files) and the grants tables' files.
async fn copy_database(db: &Database, wal_start: &str) -> Vec<(String, Vec<u8>)> {
    match db {
        Database::Sqlite { dir } => std::fs::read_dir(dir.path().join("data"))
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                (path.display().to_string(), std::fs::read(&path).unwrap())
            })
            .collect(),
        Database::Postgres { .. } => {
            let pool = db.pool().await;
            // Flushed first, so that what was written is on disk.
            sqlx::query("CHECKPOINT").execute(&pool).await.unwrap();
            let segments = sqlx::query(
                "WITH span AS (SELECT pg_walfile_name_offset($1::pg_lsn) AS first, \
                                      pg_walfile_name_offset(pg_current_wal_insert_lsn()) AS last) \
                 SELECT name, \
                   CASE WHEN name = (first).file_name THEN (first).file_offset::bigint ELSE 0 END, \
                   CASE WHEN name = (last).file_name THEN (last).file_offset::bigint ELSE size END \
                 FROM pg_ls_waldir(), span \
                 WHERE name ~ '^[0-9A-F]{24}$' \
                   AND name >= (first).file_name AND name <= (last).file_name ORDER BY name",
            )
            .bind(wal_start)
            .fetch_all(&pool)
            .await
            .unwrap();
            assert!(!segments.is_empty(), "no WAL segment found");
            let mut files = Vec::new();
            for segment in segments {
                let name: String = segment.get(0);
                let from: i64 = segment.get(1);
                let to: i64 = segment.get(2);
                let bytes: Vec<u8> =
                    sqlx::query("SELECT pg_read_binary_file('pg_wal/' || $1, $2, $3)")
                        .bind(&name)
                        .bind(from)
                        .bind(to - from)
                        .fetch_one(&pool)
                        .await
                        .unwrap()
                        .get(0);
                files.push((format!("pg_wal/{name} from {from}"), bytes));
            }
            for table in ["grants", "spent_grants"] {
                let path: String = sqlx::query(&format!("SELECT pg_relation_filepath('{table}')"))
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .get(0);
                let bytes: Vec<u8> = sqlx::query("SELECT pg_read_binary_file($1)")
                    .bind(&path)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
                    .get(0);
                files.push((path, bytes));
            }
            files
        }
    }
}

/// Where a scan found the link's grant.
#[derive(Debug, Default)]
struct Found {
    /// Bare wrapped keys the link opens (what the database alone gives).
    bare: Vec<String>,
    /// Epoch-sealed ones that open with the epoch file's keys, then the
    /// link.
    sealed: Vec<String>,
}

/// Every place in the copies where the link opens a grant: a bare wrapped
/// key at any offset, or an epoch-sealed one under any of `epochs` that
/// `chain` still derives. One pass over the bytes for both.
fn scan(
    copy: &[(String, Vec<u8>)],
    link_key: &LinkKey,
    conversation: &ConversationId,
    chain: &EpochChain,
    epochs: &std::ops::RangeInclusive<u64>,
) -> Found {
    let hash = link_key.grant_id().storage_hash();
    let keys: Vec<_> = epochs.clone().filter_map(|e| chain.key(e)).collect();
    let mut found = Found::default();
    for (name, bytes) in copy {
        for (offset, window) in bytes.windows(WRAPPED_LEN).enumerate() {
            if window[0] != 1 {
                continue;
            }
            if let Ok(wrapped) = WrappedConversationKey::from_bytes(window.to_vec()) {
                if link_key.unwrap(conversation, &wrapped).is_ok() {
                    found.bare.push(format!("{name} at {offset}"));
                }
            }
            let Some(sealed) = bytes.get(offset..offset + EPOCH_SEALED_LEN) else {
                continue;
            };
            for key in &keys {
                if let Ok(wrapped) = key.open_grant(&hash, sealed) {
                    if link_key.unwrap(conversation, &wrapped).is_ok() {
                        found
                            .sealed
                            .push(format!("{name} at {offset}, epoch {}", key.epoch()));
                    }
                }
            }
        }
    }
    found
}

/// A second instance started on the same database with an epoch file of
/// its own (say, `latchkey init` run again on the new machine instead of
/// copying the file), in a later epoch than the first one's, is refused at
/// start, naming the file; so is one with no epoch file at all (it would
/// make a new one). The first instance's record stays: it restarts as
/// before, and its links still open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_with_another_epoch_file_is_refused() {
    let db = Database::sqlite();
    let mail = MailServer::start().await;
    let settings = Settings {
        ttl_secs: 60,
        grace_secs: 10,
        extra_env: vec![("LATCHKEY_LINKS__EPOCH_SECS".into(), "1".into())],
        ..Settings::default()
    };
    let mut first = Server::start(&db, &mail, &settings).await;
    let run = unique("stranger");
    Member::register(
        &first.url,
        "eve",
        "Eve",
        &format!("eve-{run}@member.test"),
        PASSWORD.as_bytes(),
    )
    .await
    .unwrap();
    let guest = format!("{run}@guest.test");
    Guest::contact(&first.url, "eve", &guest, "Gus", "hello", None)
        .await
        .unwrap();
    let link = mail.link(&guest, 1).await;
    // The first instance stops (its record of the chain gets old), and
    // epochs later the stranger's file begins: only the live grant can
    // tell the two files apart.
    first.stop();
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let elsewhere = tempfile::tempdir().unwrap();
    let other_secrets = elsewhere.path().join("secrets.key");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("init")
        .arg("--secrets-file")
        .arg(&other_secrets)
        .env("LATCHKEY_LINKS__EPOCH_SECS", "1")
        .env("LATCHKEY_LINKS__TTL_SECS", "60")
        .env("LATCHKEY_LINKS__GRACE_SECS", "10")
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    for (epoch_file, says) in [
        (
            other_secrets.with_extension("epoch"),
            "is not the epoch file the other instances on this database use",
        ),
        (
            elsewhere.path().join("missing.epoch"),
            "but this database's links were sealed with one",
        ),
    ] {
        let stderr = refused_start(&db, &first.secrets_file(), &epoch_file).await;
        assert!(stderr.contains(says), "{stderr}");
        assert!(!elsewhere.path().join("missing.epoch").exists());
    }

    // The first instance's file is still the one on record, and the link
    // it sealed opens.
    first.restart();
    Guest::open(&first.url, &link, &guest).await.unwrap();
}

/// Starts `latchkey serve` on `db` with this epoch file, expects it to exit
/// with an error before serving, and returns what it said.
async fn refused_start(
    db: &Database,
    secrets_file: &std::path::Path,
    epoch_file: &std::path::Path,
) -> String {
    let mut stranger = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("LATCHKEY_DEV", "true")
        .env("LATCHKEY_BIND", "127.0.0.1:0")
        .env("LATCHKEY_DATABASE_URL", db.url())
        .env("LATCHKEY_SECRETS_FILE", secrets_file)
        .env("LATCHKEY_EPOCH_FILE", epoch_file)
        .env("LATCHKEY_LINKS__TTL_SECS", "60")
        .env("LATCHKEY_LINKS__GRACE_SECS", "10")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = stranger.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            stranger.kill().unwrap();
            panic!("an instance with {} kept running", epoch_file.display());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut stranger.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    stderr
}
