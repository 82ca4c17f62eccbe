//! `latchkey backup` copies a SQLite database while a member and a guest
//! write to it, and `latchkey restore` puts the copy in a new place: a new
//! server there, with the same secrets file and epoch file, shows the
//! member every message acknowledged before the backup began.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use latchkey_client::{Delivery, Guest, Member};
use support::{free_port, unique, Database, NoMailServer, Server, Settings, PASSWORD};

/// Runs `latchkey ARGS` with only the variables the README tells an
/// operator to set (and PATH).
fn latchkey(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("latchkey runs")
}

fn sqlite_url(dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        dir.join("data/latchkey.db").display()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_writes_restores_every_acknowledged_message() {
    let db = Database::sqlite();
    let settings = Settings {
        extra_env: vec![(
            "LATCHKEY_RATE_LIMITS__POSTS_PER_SESSION_PER_MINUTE".into(),
            "100000".into(),
        )],
        ..Settings::default()
    };
    let mut server = Server::start(&db, &NoMailServer(free_port()), &settings).await;
    let url = server.url.clone();
    let bob = Member::register(&url, "bob", "Bob", "bob@member.test", PASSWORD.as_bytes())
        .await
        .unwrap();
    let guest_email = format!("{}@guest.test", unique("ann"));
    let (conversation, _) = Guest::contact(&url, "bob", &guest_email, "Ann", "hello", None)
        .await
        .unwrap();
    let link = bob
        .send(&conversation, "welcome", Delivery::Myself)
        .await
        .unwrap()
        .link
        .unwrap()
        .to_string();
    let ann = Guest::open(&url, &link, &guest_email).await.unwrap();

    // 20 MB more of pages to copy, so that the backup takes long enough
    // (a few hundred milliseconds) for writes to be seen going on under it.
    let pool = db.pool().await;
    sqlx::query(
        "CREATE TABLE ballast AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
         WHERE i < 2000) SELECT i, randomblob(10000) AS bytes FROM n",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    // The member and the guest write, two loops each, as fast as the
    // server acknowledges; every acknowledged message is recorded.
    let acknowledged: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let (bob, ann) = (Arc::new(bob), Arc::new(ann));
    let mut writers = Vec::new();
    for loop_id in 0..4 {
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        let (bob, ann) = (bob.clone(), ann.clone());
        writers.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let (seq, body) = if loop_id % 2 == 0 {
                    let body = format!("bob {loop_id}-{i}");
                    let sent = bob
                        .send(&conversation, &body, Delivery::None)
                        .await
                        .unwrap();
                    (sent.seq, body)
                } else {
                    let body = format!("ann {loop_id}-{i}");
                    (ann.reply(&body).await.unwrap().0, body)
                };
                acknowledged.lock().unwrap().push((seq, body));
                i += 1;
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 30 {
        assert!(Instant::now() < deadline, "the writers did not get going");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The operator's backup, with the server's variables, while the
    // writes go on.
    let backups = tempfile::tempdir().unwrap();
    let copy = backups.path().join("latchkey-backup.db");
    let before_backup = acknowledged.lock().unwrap().clone();
    let started = Instant::now();
    let output = {
        let (database_url, copy) = (db.url(), copy.clone());
        let secrets = server.secrets_file();
        tokio::task::spawn_blocking(move || {
            latchkey(
                &["backup", "--to", copy.to_str().unwrap()],
                &[
                    ("LATCHKEY_DATABASE_URL", &database_url),
                    ("LATCHKEY_SECRETS_FILE", secrets.to_str().unwrap()),
                ],
            )
        })
        .await
        .unwrap()
    };
    let took = started.elapsed();
    let after_backup = acknowledged.lock().unwrap().len();
    assert!(
        output.status.success(),
        "latchkey backup failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "backup: {:?}, {} messages acknowledged before it, {} while it ran",
        took,
        before_backup.len(),
        after_backup - before_backup.len()
    );
    assert!(
        after_backup > before_backup.len(),
        "no write was acknowledged while the backup ran: it did not run under load"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the backup is readable by others");
    }
    // A second backup to the same file is refused, and leaves it alone.
    let size = std::fs::metadata(&copy).unwrap().len();
    let again = latchkey(
        &["backup", "--to", copy.to_str().unwrap()],
        &[("LATCHKEY_DATABASE_URL", &db.url())],
    );
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing backup was overwritten"
    );
    assert_eq!(std::fs::metadata(&copy).unwrap().len(), size);

    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }
    // The installation is lost; the secrets file and the running
    // installation's epoch file are what is left beside the backup.
    server.stop();

    let fresh = tempfile::tempdir().unwrap();
    let restored_url = sqlite_url(fresh.path());
    let output = latchkey(
        &["restore", "--from", copy.to_str().unwrap()],
        &[("LATCHKEY_DATABASE_URL", &restored_url)],
    );
    assert!(
        output.status.success(),
        "latchkey restore failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // A second restore would replace a database: refused without --force.
    let again = latchkey(
        &["restore", "--from", copy.to_str().unwrap()],
        &[("LATCHKEY_DATABASE_URL", &restored_url)],
    );
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing database was replaced"
    );

    let restored = server.on_database(restored_url);
    let bob = Member::login(&restored.url, "bob", PASSWORD.as_bytes())
        .await
        .unwrap();
    let stored: BTreeMap<i64, String> = bob
        .read(&conversation)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.seq, m.body))
        .collect();
    for (seq, body) in &before_backup {
        assert_eq!(
            stored.get(seq),
            Some(body),
            "message {seq}, acknowledged before the backup, is not in the restored copy"
        );
    }
    eprintln!(
        "restore: {} messages in the copy, every one of the {} acknowledged before the backup",
        stored.len(),
        before_backup.len()
    );
}

#[test]
fn backup_and_restore_point_postgresql_at_its_own_tools() {
    let url = "postgres://latchkey@127.0.0.1:1/latchkey";
    let backup = latchkey(
        &["backup", "--to", "/nonexistent/copy"],
        &[("LATCHKEY_DATABASE_URL", url)],
    );
    assert_eq!(backup.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&backup.stderr).contains("pg_dump"));
    let restore = latchkey(
        &["restore", "--from", "/nonexistent/copy"],
        &[("LATCHKEY_DATABASE_URL", url)],
    );
    assert_eq!(restore.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&restore.stderr).contains("pg_restore"));
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_refuses_a_copy_from_a_newer_version_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    let migrated = latchkey(&["migrate"], &[("LATCHKEY_DATABASE_URL", &url)]);
    assert!(migrated.status.success());
    let copy = dir.path().join("copy.db");
    let output = latchkey(
        &["backup", "--to", copy.to_str().unwrap()],
        &[("LATCHKEY_DATABASE_URL", &url)],
    );
    assert!(output.status.success());
    // A migration this binary does not have, as a newer latchkey would
    // leave.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&format!("sqlite://{}", copy.display()))
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', 1, x'00', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let fresh = tempfile::tempdir().unwrap();
    let restored_url = sqlite_url(fresh.path());
    let output = latchkey(
        &["restore", "--from", copy.to_str().unwrap()],
        &[("LATCHKEY_DATABASE_URL", &restored_url)],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("9999"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(fresh.path().join("data"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "a refused restore left {left:?}");
}
