//! Storage: every row the server keeps, on SQLite (embedded default, WAL) or
//! PostgreSQL (many app instances, one database).
//!
//! One type, not a trait with two implementations: both databases run the
//! same SQL through sqlx's `Any` driver, with `$n` placeholders both
//! understand. What differs lives here and nowhere else: the migrations (one
//! folder per database), the SQLite connection pragmas, and the row lock used
//! when claiming outbox mail ([`Dialect::skip_locked`]). The same behaviour
//! story runs against both in the integration tests.
//!
//! The hot path is the exception, for speed (issue 12): posts go through
//! one writer per instance that commits them in batches (group commit), on
//! SQLite a thread with its own rusqlite connection (`sqlite/`, which also
//! serves the hot reads in place), on PostgreSQL a task with a dedicated
//! connection (`pg_writer.rs`). Their SQL is written once where it can be
//! (the same `$n` text, bound by name on rusqlite), and their rows decode
//! through the same `decode::Columns`.
//!
//! Rows cross this boundary as the typed entities of [`crate::model`]: ids,
//! roles, kinds and flags are decoded strictly (`decode`), and a value the
//! server never writes is [`StoreError::Corrupt`]. The schema says the same
//! with CHECK constraints (migration 0004), so such a value can only come
//! from outside the server.

mod backup;
mod budgets;
mod conversations;
mod decode;
mod events;
mod gauges;
mod grants;
mod invites;
mod link_requests;
mod members;
mod migration_status;
mod oidc;
mod outbox;
mod passkeys;
mod pg_writer;
mod receipts;
mod sessions;
mod sqlite;
mod sweep;
mod tokens;
mod webhooks;

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use crate::model::{
    ClaimedMail, Conversation, GrantKind, GrantState, InboxEntry, Member, MemberId, MemberPassword,
    MemberRecovery, NewConversation, NewGrant, NewMail, NewMessage, Posted, Redeemed, Session,
    SessionOwner, SpentReason, StoredMessage, Timestamp,
};
pub use backup::{check_sqlite_copy, CopyCheck};
pub use budgets::BudgetCount;
pub use conversations::{ConversationPage, NewPost, NoticeMaker, NoticeRecipient, PostMail};
pub use events::{DeletedBy, Event, EventKind};
pub use gauges::Gauges;
pub use invites::Invite;
pub use migration_status::MigrationStatus;
pub use passkeys::{Passkey, PasskeyRemoval};
pub use sweep::Swept;
pub use tokens::ApiToken;
pub use webhooks::{ClaimedEndpoint, WebhookEndpoint};

/// Which unique value a write collided with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unique {
    /// A member's handle.
    Handle,
    /// A member's identity public key.
    IdentityKey,
    /// A conversation id.
    Conversation,
    /// A message id within its conversation (with other bytes).
    MessageId,
    /// A grant id.
    Grant,
    /// A passkey's credential id, for its member.
    Passkey,
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value is taken.
    #[error("{0:?} already exists")]
    Conflict(Unique),
    /// The row the operation needs is not there.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// SQLite failed on the fast path (its own connections, see `sqlite`).
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A batch of writes did not commit: none of its writes happened.
    #[error("database: the commit failed: {0}")]
    Commit(String),
    /// The SQLite writer has stopped (the store is closing).
    #[error("database: the writer has stopped")]
    WriterGone,
    /// A migration failed.
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored value no domain type can represent (an unknown sender,
    /// kind or reason, a session with two owners, a malformed id). Says
    /// where, never what: the value may be anything, secrets included.
    #[error("corrupt row: {table}.{column} {problem}")]
    Corrupt {
        /// The table read.
        table: &'static str,
        /// The column (or columns) at fault.
        column: &'static str,
        /// What is wrong with it, without the value.
        problem: &'static str,
    },
    /// The database URL names neither SQLite nor PostgreSQL.
    #[error("unsupported database URL (use sqlite://PATH or postgres://...)")]
    UnsupportedUrl,
}

impl StoreError {
    /// Maps a unique-constraint violation to [`StoreError::Conflict`].
    fn conflict_as(what: Unique) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |e| match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what),
            _ => StoreError::Database(e),
        }
    }
}

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// One file, one writer at a time.
    Sqlite,
    /// Many app instances, one database.
    Postgres,
}

impl Dialect {
    /// Row-lock clause for claiming work: PostgreSQL lets concurrent workers
    /// skip each other's rows; SQLite serialises writers anyway.
    fn skip_locked(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
        }
    }
}

/// The storage handle. Cheap to clone (a pool inside).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// What the group-commit writers did, for the metrics.
    write_stats: Arc<WriteStats>,
    /// On PostgreSQL: the post writer (group commit, `pg_writer.rs`).
    pg_writer: Option<pg_writer::PgWriter>,
    /// On SQLite: the writer thread and read connections of the hot path.
    sqlite: Option<Arc<sqlite::SqliteEngine>>,
}

/// Counts kept by a group-commit writer: how many transactions it
/// committed, and how many writes they held.
#[derive(Debug, Default)]
pub(crate) struct WriteStats {
    /// Committed transactions.
    pub batches: AtomicU64,
    /// Writes in them.
    pub writes: AtomicU64,
}

impl WriteStats {
    /// One committed transaction of `writes` writes.
    pub(crate) fn committed(&self, writes: usize) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.writes
            .fetch_add(u64::try_from(writes).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

impl Store {
    /// Connects (creating a SQLite file if needed). Does not migrate.
    pub async fn connect(database_url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = if database_url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://")
        {
            Dialect::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        if dialect == Dialect::Sqlite {
            if let Some(dir) = crate::secrets::sqlite_path(database_url)
                .as_deref()
                .and_then(std::path::Path::parent)
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Database(e.into()))?;
            }
            if let Some(path) = crate::secrets::sqlite_path(database_url) {
                sqlite::page_size::create(&path)?;
            }
        }
        let options = AnyConnectOptions::from_str(database_url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(match dialect {
                Dialect::Sqlite => 8,
                Dialect::Postgres => 16,
            })
            .acquire_timeout(Duration::from_secs(10))
            // No ping before each use: it doubled every statement's round
            // trips on PostgreSQL. A connection that died is found by the
            // statement that fails on it, and the pool replaces it.
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // The writer's pragmas (their reasons are there).
                        conn.execute(sqlite::PRAGMAS).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let write_stats = Arc::<WriteStats>::default();
        let sqlite = match dialect {
            // A file: the writer and the pool must open the same database
            // (an in-memory one would be another for each connection).
            Dialect::Sqlite => {
                let path =
                    crate::secrets::sqlite_path(database_url).ok_or(StoreError::UnsupportedUrl)?;
                Some(Arc::new(sqlite::SqliteEngine::start(
                    &path,
                    write_stats.clone(),
                )?))
            }
            Dialect::Postgres => None,
        };
        let pg_writer = match dialect {
            Dialect::Postgres => Some(pg_writer::PgWriter::start(
                sqlx::postgres::PgConnectOptions::from_str(database_url)?,
                write_stats.clone(),
            )),
            Dialect::Sqlite => None,
        };
        Ok(Store {
            pool,
            dialect,
            pg_writer,
            write_stats,
            sqlite,
        })
    }

    /// Brings an existing SQLite file to the page size new ones get (see
    /// `store/sqlite/page_size.rs`): for the commands that migrate, before
    /// they connect, as it needs the file to itself. Nothing on PostgreSQL.
    /// A failure is logged and the file used as it is: the page size
    /// changes how much disk a message takes, not what the store does.
    pub async fn rebuild_small_pages(database_url: &str) {
        use sqlite::page_size::{convert, Converted, PAGE_SIZE};
        let Some(path) = crate::secrets::sqlite_path(database_url) else {
            return;
        };
        match tokio::task::spawn_blocking(move || convert(&path)).await {
            Ok(Ok(Converted::Nothing)) => {}
            Ok(Ok(Converted::From { old, took })) => tracing::info!(
                old,
                new = PAGE_SIZE,
                took_ms = took.as_millis(),
                "rebuilt the SQLite file with the page size new ones get"
            ),
            Ok(Ok(Converted::Busy)) => tracing::warn!(
                "the SQLite file is open elsewhere; its pages grow at a start where it is not"
            ),
            Ok(Err(error)) => {
                tracing::warn!(%error, "could not change the SQLite file's page size");
            }
            Err(error) => tracing::warn!(%error, "the page size change did not finish"),
        }
    }

    /// Applies the migrations this database has not seen yet.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.dialect {
            Dialect::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Dialect::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Answers when the database does (readiness probe).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Whether this binary's newest migration is applied (migrations run
    /// in order, so then every one is): the readiness probe's second
    /// question, after [`Store::ping`]. A missing migration table is an
    /// error, and so not ready either.
    pub async fn is_migrated(&self) -> Result<bool, StoreError> {
        let migrator = match self.dialect {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        };
        let Some(newest) = migrator.iter().map(|m| m.version).max() else {
            return Ok(true);
        };
        let (applied,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations WHERE version = $1 AND success")
                .bind(newest)
                .fetch_one(&self.pool)
                .await?;
        Ok(applied > 0)
    }

    /// On SQLite, copies the WAL into the database file and empties it.
    /// `secure_delete` zeroes deleted rows in the database file, but the
    /// WAL still holds the pages as they were before the delete until a
    /// checkpoint; after one, destroyed rows are gone from disk.
    async fn scrub_wal(&self) -> Result<(), StoreError> {
        if self.dialect != Dialect::Sqlite {
            return Ok(());
        }
        // A reader in the middle of a transaction can hold the checkpoint
        // back ("busy"); try a few times, then leave it to the next sweep.
        for attempt in 0..5u64 {
            let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.pool)
                .await?;
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(20 * (attempt + 1))).await;
        }
        tracing::warn!("WAL checkpoint stayed busy; retried at the next sweep");
        Ok(())
    }

    /// Closes every connection (SQLite checkpoints its WAL on the last one).
    pub async fn close(&self) {
        if let Some(writer) = &self.pg_writer {
            writer.stop().await;
        }
        if let Some(engine) = &self.sqlite {
            engine.close();
        }
        self.pool.close().await;
    }
}

/// Booleans are stored as 0/1 integers: the one integer type both databases
/// and the `Any` driver agree on (a `bool` parameter is BOOLEAN on
/// PostgreSQL, which does not compare with BIGINT). Read back strictly by
/// [`decode::Columns::flag`].
fn flag(value: bool) -> i64 {
    i64::from(value)
}
