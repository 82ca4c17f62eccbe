//! Numbers read at scrape time for the metrics endpoint: how full the
//! outbox is, how many sessions live, how busy the pool is. Counts only;
//! no row's content leaves here.

use std::sync::atomic::Ordering;

use super::{Store, StoreError};
use crate::model::Timestamp;

/// The store's gauges at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gauges {
    /// Mails waiting in the outbox, every instance's.
    pub outbox_depth: i64,
    /// When the oldest of them was queued; none when the outbox is empty.
    pub outbox_oldest_created_at: Option<Timestamp>,
    /// Sessions neither past their absolute expiry nor idle (as far as the
    /// last rewritten `last_seen_at` tells: it lags by up to a minute).
    pub sessions_active: i64,
    /// When the oldest event some webhook endpoint has not acknowledged
    /// was written; none when all are up to date.
    pub webhook_oldest_undelivered: Option<Timestamp>,
    /// Open connections of this instance's pool.
    pub pool_size: u32,
    /// Of those, the ones not in use.
    pub pool_idle: usize,
    /// Transactions the group-commit writer committed since start.
    pub write_batches: u64,
    /// Writes those transactions held (over `write_batches`: the mean
    /// batch).
    pub batched_writes: u64,
}

impl Store {
    /// Reads the gauges (two counting queries).
    pub async fn gauges(&self, now: Timestamp) -> Result<Gauges, StoreError> {
        // Read before the queries take a connection of their own.
        let (pool_size, pool_idle) = (self.pool.size(), self.pool.num_idle());
        // -1 stands for "empty": created_at is never negative.
        let (outbox_depth, oldest): (i64, i64) =
            sqlx::query_as("SELECT COUNT(*), COALESCE(MIN(created_at), -1) FROM outbox")
                .fetch_one(&self.pool)
                .await?;
        let (sessions_active,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM sessions WHERE expires_at > $1 AND last_seen_at + idle_ms > $1",
        )
        .bind(now.as_ms())
        .fetch_one(&self.pool)
        .await?;
        let webhook_oldest_undelivered = self.oldest_undelivered_event().await?;
        Ok(Gauges {
            outbox_depth,
            webhook_oldest_undelivered,
            outbox_oldest_created_at: (oldest >= 0).then(|| Timestamp::from_ms(oldest)),
            sessions_active,
            pool_size,
            pool_idle,
            write_batches: self.write_stats.batches.load(Ordering::Relaxed),
            batched_writes: self.write_stats.writes.load(Ordering::Relaxed),
        })
    }
}
