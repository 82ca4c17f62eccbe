//! Which of this binary's migrations a database has (for `latchkey
//! doctor`), read without applying or creating anything.

use sqlx::Row;

use super::{Dialect, Store, StoreError, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

/// A database's migrations compared with the ones built into this binary.
#[derive(Debug, Default)]
pub struct MigrationStatus {
    /// Built in and applied.
    pub applied: Vec<String>,
    /// Built in, not applied yet (`latchkey migrate` applies them).
    pub pending: Vec<String>,
    /// Applied by a binary that knows migrations this one does not (a
    /// newer version): their versions.
    pub unknown: Vec<i64>,
}

impl Store {
    /// Compares the database's `_sqlx_migrations` table with the embedded
    /// migrations. A database without the table has none applied.
    pub async fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let (migrator, table_query) = match self.dialect {
            Dialect::Sqlite => (
                &SQLITE_MIGRATIONS,
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
                 AND name = '_sqlx_migrations'",
            ),
            Dialect::Postgres => (
                &POSTGRES_MIGRATIONS,
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'",
            ),
        };
        let tables: i64 = sqlx::query_scalar(table_query)
            .fetch_one(&self.pool)
            .await?;
        let mut done: Vec<i64> = Vec::new();
        if tables > 0 {
            for row in sqlx::query("SELECT version FROM _sqlx_migrations")
                .fetch_all(&self.pool)
                .await?
            {
                done.push(row.try_get::<i64, _>(0)?);
            }
        }
        let mut status = MigrationStatus::default();
        for migration in migrator.iter() {
            // The file's name: sqlx reads its underscores as spaces.
            let name = format!(
                "{:04}_{}",
                migration.version,
                migration.description.replace(' ', "_")
            );
            if done.contains(&migration.version) {
                status.applied.push(name);
            } else {
                status.pending.push(name);
            }
        }
        status.unknown = done
            .into_iter()
            .filter(|version| !migrator.iter().any(|m| m.version == *version))
            .collect();
        Ok(status)
    }
}
