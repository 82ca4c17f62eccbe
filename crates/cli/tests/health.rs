//! Liveness and readiness: while the database refuses every connection,
//! `/health/ready` (and the older `/health`) answer 503 `not_ready` and
//! `/health/live` stays 200; once the database is back, ready is 200 again.

// Test code: a broken expectation is a panic with a message.
#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::{free_port, Database, NoMailServer, Server, Settings};

fn psql(admin_url: &str, sql: &str) {
    let output = Command::new("psql")
        .args([admin_url, "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        output.status.success(),
        "psql refused `{sql}`: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Status and `error` field of `GET /api/v1/PATH`.
async fn probe(base: &str, path: &str) -> (u16, Option<String>) {
    let response = reqwest::get(format!("{base}/api/v1/{path}")).await.unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body.get("error")
            .and_then(|e| e.as_str())
            .map(str::to_owned),
    )
}

/// Probes until `path` answers `status` (the pool notices a change at its
/// next connection), at most 20 seconds.
async fn wait_for(base: &str, path: &str, status: u16) -> (u16, Option<String>) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = probe(base, path).await;
        if answer.0 == status || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_follows_the_database_and_live_does_not() {
    let db = Database::postgres().await;
    let Database::Postgres { admin_url, name } = &db else {
        unreachable!()
    };
    let server = Server::start(&db, &NoMailServer(free_port()), &Settings::default()).await;
    let base = server.base.clone();
    for path in ["health/live", "health/ready", "health"] {
        assert_eq!(probe(&base, path).await, (200, None), "{path} at start");
    }

    // The database goes away: no new connection is allowed, and every
    // open one (the server's pool) is cut.
    psql(
        admin_url,
        &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false"),
    );
    psql(
        admin_url,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    );
    let started = Instant::now();
    let ready = wait_for(&base, "health/ready", 503).await;
    assert_eq!(
        ready,
        (503, Some("not_ready".into())),
        "ready while the database refuses connections"
    );
    eprintln!("ready turned 503 after {:?}", started.elapsed());
    assert_eq!(
        probe(&base, "health").await,
        (503, Some("not_ready".into())),
        "/health answers as ready does"
    );
    let asked = Instant::now();
    assert_eq!(
        probe(&base, "health/live").await,
        (200, None),
        "live while the database is down"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "live waited for the database"
    );

    psql(
        admin_url,
        &format!("ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true"),
    );
    let back = Instant::now();
    assert_eq!(
        wait_for(&base, "health/ready", 200).await,
        (200, None),
        "ready once the database is back"
    );
    eprintln!("ready turned 200 after {:?}", back.elapsed());
    assert_eq!(probe(&base, "health/live").await, (200, None));
    let log = server.log_text();
    assert!(
        log.contains("not ready"),
        "the cause of not ready is not in the log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ready_refuses_a_database_whose_migrations_are_not_applied() {
    let db = Database::sqlite();
    let server = Server::start(&db, &NoMailServer(free_port()), &Settings::default()).await;
    assert_eq!(probe(&server.base, "health/ready").await, (200, None));
    // As if an older copy were put under the running server: its newest
    // migration is not there.
    let pool = db.pool().await;
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT MAX(version) FROM _sqlx_migrations)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(
        probe(&server.base, "health/ready").await,
        (503, Some("not_ready".into()))
    );
    assert_eq!(probe(&server.base, "health/live").await, (200, None));
}
