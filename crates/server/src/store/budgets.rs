//! Request budgets shared by every instance on one database: a counter per
//! (budget, keyed hash, clock-aligned window), raised by an atomic upsert.
//! Over budget, the upsert's `WHERE` leaves the row as it is: a flood from
//! one key writes no new row versions, it only takes the row's lock.

use super::decode::Columns;
use super::{Dialect, Store, StoreError};
use crate::model::Timestamp;

/// One counter to raise: a budget's stored name, the key's keyed hash and
/// the budget's size.
#[derive(Clone, Copy, Debug)]
pub struct BudgetCount<'a> {
    /// E.g. `login-ip`, `login-ip/net`.
    pub bucket: &'a str,
    /// HMAC of the key; never the key itself.
    pub key_hash: &'a [u8; 32],
    /// Requests the window lets through.
    pub limit: i64,
}

/// Raises one counter if it is under its limit. No row back: over.
const SPEND_ONE: &str = "INSERT INTO budgets (bucket, key_hash, window_start, expires_at, hits) \
     VALUES ($1, $2, $3, $4, 1) \
     ON CONFLICT (bucket, key_hash, window_start) \
     DO UPDATE SET hits = budgets.hits + 1 WHERE budgets.hits < $5 \
     RETURNING hits";

/// A client's counter, then (only if that one passed) its network's, in one
/// statement and one round trip: PostgreSQL lets a data-modifying CTE feed
/// the next. `passed` is 1 when both were under their limits. Committed
/// without waiting for the disk, as [`SPEND_ONE_PG`] says why.
const SPEND_TWO: &str = "WITH quick AS MATERIALIZED (SELECT \
       set_config('synchronous_commit', 'off', true) AS quick \
     ), first AS ( \
       INSERT INTO budgets (bucket, key_hash, window_start, expires_at, hits) \
       SELECT $1, $2, $3, $4, 1 FROM quick \
       ON CONFLICT (bucket, key_hash, window_start) \
       DO UPDATE SET hits = budgets.hits + 1 WHERE budgets.hits < $5 \
       RETURNING hits \
     ), second AS ( \
       INSERT INTO budgets (bucket, key_hash, window_start, expires_at, hits) \
       SELECT $6, $7, $3, $4, 1 FROM first \
       ON CONFLICT (bucket, key_hash, window_start) \
       DO UPDATE SET hits = budgets.hits + 1 WHERE budgets.hits < $8 \
       RETURNING hits \
     ) SELECT COUNT(*) AS passed FROM second";

/// [`SPEND_ONE`] on PostgreSQL, committed without waiting for the disk.
///
/// Why: one key's counter is one row, and its lock is held until the
/// commit is on disk, so every request of one client (a session's posts,
/// say) would queue behind the previous one's fsync — about 1/fsync a
/// second, whatever else the server does. A counter that loses its last
/// few milliseconds of hits in a database crash is harmless; it is the
/// only thing committed this way (`set_config(..., true)` holds for this
/// statement's own transaction).
const SPEND_ONE_PG: &str = "WITH quick AS MATERIALIZED (SELECT \
       set_config('synchronous_commit', 'off', true) AS quick \
     ) INSERT INTO budgets (bucket, key_hash, window_start, expires_at, hits) \
     SELECT $1, $2, $3, $4, 1 FROM quick \
     ON CONFLICT (bucket, key_hash, window_start) \
     DO UPDATE SET hits = budgets.hits + 1 WHERE budgets.hits < $5 \
     RETURNING hits";

impl Store {
    /// Whether request budgets belong in the database: when several
    /// instances may share it (PostgreSQL). SQLite serves one instance,
    /// which counts faster in memory.
    pub fn shares_budgets(&self) -> bool {
        self.dialect == Dialect::Postgres
    }

    /// Counts one request in the window `[start, end)` against each of
    /// `counts` in turn, stopping at the first one over its limit; `true`
    /// when none was. A limit of 0 or less refuses without writing.
    pub async fn spend_budget(
        &self,
        counts: &[BudgetCount<'_>],
        start: Timestamp,
        end: Timestamp,
    ) -> Result<bool, StoreError> {
        if counts.iter().any(|c| c.limit <= 0) {
            return Ok(false);
        }
        match (counts, self.dialect) {
            ([first, second], Dialect::Postgres) => {
                let row = sqlx::query(SPEND_TWO)
                    .bind(first.bucket)
                    .bind(first.key_hash.as_slice())
                    .bind(start.as_ms())
                    .bind(end.as_ms())
                    .bind(first.limit)
                    .bind(second.bucket)
                    .bind(second.key_hash.as_slice())
                    .bind(second.limit)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(Columns::of("budgets", &row).count("passed")? == 1)
            }
            // SQLite has no INSERT inside WITH: one statement per counter
            // (and on PostgreSQL, a lone counter).
            _ => {
                let spend_one = match self.dialect {
                    Dialect::Postgres => SPEND_ONE_PG,
                    Dialect::Sqlite => SPEND_ONE,
                };
                for count in counts {
                    let passed = sqlx::query(spend_one)
                        .bind(count.bucket)
                        .bind(count.key_hash.as_slice())
                        .bind(start.as_ms())
                        .bind(end.as_ms())
                        .bind(count.limit)
                        .fetch_optional(&self.pool)
                        .await?;
                    if passed.is_none() {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }

    /// Whether each of `counts` has room for one more request in the window
    /// starting at `start`, raising nothing. One statement for all.
    pub async fn budget_left(
        &self,
        counts: &[BudgetCount<'_>],
        start: Timestamp,
    ) -> Result<bool, StoreError> {
        if counts.is_empty() {
            return Ok(true);
        }
        if counts.iter().any(|c| c.limit <= 0) {
            return Ok(false);
        }
        let full: Vec<String> = (0..counts.len())
            .map(|i| {
                let n = 2 + 3 * i;
                format!(
                    "(bucket = ${} AND key_hash = ${} AND hits >= ${})",
                    n,
                    n + 1,
                    n + 2
                )
            })
            .collect();
        let sql = format!(
            "SELECT COUNT(*) AS full_counts FROM budgets WHERE window_start = $1 AND ({})",
            full.join(" OR ")
        );
        let mut query = sqlx::query(&sql).bind(start.as_ms());
        for count in counts {
            query = query
                .bind(count.bucket)
                .bind(count.key_hash.as_slice())
                .bind(count.limit);
        }
        let row = query.fetch_one(&self.pool).await?;
        Ok(Columns::of("budgets", &row).count("full_counts")? == 0)
    }

    /// Deletes the windows that have ended (part of the sweep).
    pub(super) async fn sweep_budgets(&self, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM budgets WHERE expires_at <= $1")
            .bind(now.as_ms())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
