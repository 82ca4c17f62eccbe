//! Copies of a SQLite database that restore: made while the server writes,
//! checked before they replace anything. PostgreSQL has its own tools
//! (`pg_dump`, `pg_restore`); nothing here runs on it.

use std::path::Path;

use sqlx::{Connection, Row};

use super::{Dialect, Store, StoreError, SQLITE_MIGRATIONS};

/// What is wrong with a copy, if anything.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CopyCheck {
    /// `PRAGMA integrity_check`'s complaints (empty when it says `ok`).
    pub integrity: Vec<String>,
    /// Migrations the copy has applied that this binary does not know (a
    /// newer version made it), or knows with other contents, or that
    /// failed half-way.
    pub unknown_migrations: Vec<i64>,
    /// Whether it has a migration table at all (else it is no latchkey
    /// database).
    pub has_migrations: bool,
}

impl CopyCheck {
    /// Whether the copy may replace a database.
    pub fn is_sound(&self) -> bool {
        self.integrity.is_empty() && self.unknown_migrations.is_empty() && self.has_migrations
    }
}

impl Store {
    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Writes a consistent copy of the SQLite database into the file
    /// `target` (a path, as text: SQLite takes it so), which must not exist
    /// or be empty. `VACUUM INTO` reads inside one read
    /// transaction: in WAL mode writers go on meanwhile, and the copy is the
    /// database as of the moment it began, every committed write before it
    /// included (the WAL's too), none after.
    pub async fn vacuum_into(&self, target: &str) -> Result<(), StoreError> {
        if self.dialect != Dialect::Sqlite {
            return Err(StoreError::UnsupportedUrl);
        }
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Checks a SQLite copy at `path` before it is used: its pages and indexes
/// (`PRAGMA integrity_check`), and that every migration it has applied is
/// one of this binary's, unchanged (a copy made by an older version is
/// fine: the server migrates it forward at start).
pub async fn check_sqlite_copy(path: &Path) -> Result<CopyCheck, StoreError> {
    sqlx::any::install_default_drivers();
    let url = format!("sqlite://{}?mode=rw", path.display());
    let mut conn = sqlx::AnyConnection::connect(&url).await?;
    let mut check = CopyCheck::default();
    for row in sqlx::query("PRAGMA integrity_check")
        .fetch_all(&mut conn)
        .await?
    {
        let line: String = row.try_get(0)?;
        if line != "ok" {
            check.integrity.push(line);
        }
    }
    let (tables,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_one(&mut conn)
    .await?;
    check.has_migrations = tables == 1;
    if check.has_migrations {
        let rows =
            sqlx::query("SELECT version, checksum, CAST(success AS INTEGER) FROM _sqlx_migrations")
                .fetch_all(&mut conn)
                .await?;
        for row in rows {
            let version: i64 = row.try_get(0)?;
            let checksum: Vec<u8> = row.try_get(1)?;
            // SQLite stores the flag as an integer.
            let success: i64 = row.try_get(2)?;
            let known = SQLITE_MIGRATIONS
                .iter()
                .any(|m| m.version == version && *m.checksum == checksum[..]);
            if !known || success == 0 {
                check.unknown_migrations.push(version);
            }
        }
    }
    conn.close().await?;
    Ok(check)
}
