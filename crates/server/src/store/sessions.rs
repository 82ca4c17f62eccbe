//! Sessions: a member's, or a guest's scoped to one conversation. The
//! cookie holds a random token; the database holds its SHA-256 only.

use super::decode::{Columns, RawRow};
use super::{sqlite, Store, StoreError};
use crate::model::{Session, SessionOwner, Timestamp};

impl Store {
    /// Starts a session.
    pub async fn create_session(
        &self,
        token_hash: &[u8],
        owner: &SessionOwner,
        now: Timestamp,
        idle_ms: i64,
        absolute_ms: i64,
    ) -> Result<(), StoreError> {
        // Exactly one of the two owner columns is set; the other is NULL.
        let (member, conversation) = match owner {
            SessionOwner::Member(id) => (Some(id.to_hex()), None),
            SessionOwner::Guest(id) => (None, Some(id.to_string())),
        };
        sqlx::query(
            "INSERT INTO sessions (token_hash, member_id, conversation_id, created_at, \
             last_seen_at, idle_ms, expires_at) VALUES ($1, $2, $3, $4, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(member)
        .bind(conversation)
        .bind(now.as_ms())
        .bind(idle_ms)
        .bind(now.plus_ms(absolute_ms).as_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The live session with this token hash. Its idle clock restarts, but
    /// the row is rewritten at most every minute (or quarter of the idle
    /// time): reads should not all be writes. An idle or expired session is
    /// deleted and reads as none.
    pub async fn touch_session(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let stored = match &self.sqlite {
            Some(engine) => engine.read(|conn| {
                sqlite::query_opt(conn, SELECT_SESSION, &[&token_hash], |row| {
                    stored_session(row)
                })
            })?,
            None => sqlx::query(SELECT_SESSION)
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(stored_session)
                .transpose()?,
        };
        let Some(stored) = stored else {
            return Ok(None);
        };
        let alive = stored.expires_at > now && stored.last_seen_at.plus_ms(stored.idle_ms) > now;
        if !alive {
            self.delete_session(token_hash).await?;
            return Ok(None);
        }
        let stale = now.as_ms().saturating_sub(stored.last_seen_at.as_ms())
            >= (stored.idle_ms / 4).min(60_000);
        if stale {
            match &self.sqlite {
                Some(engine) => {
                    let hash = token_hash.to_vec();
                    engine
                        .write(move |conn| {
                            sqlite::execute(conn, TOUCH_SESSION, &[&hash, &now.as_ms()])
                        })
                        .await?;
                }
                None => {
                    sqlx::query(TOUCH_SESSION)
                        .bind(token_hash)
                        .bind(now.as_ms())
                        .execute(&self.pool)
                        .await?;
                }
            }
        }
        Ok(Some(Session {
            token_hash: token_hash.to_vec(),
            owner: stored.owner,
            created_at: stored.created_at,
        }))
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &[u8]) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

const SELECT_SESSION: &str = "SELECT member_id, conversation_id, created_at, last_seen_at, \
                              idle_ms, expires_at FROM sessions WHERE token_hash = $1";

const TOUCH_SESSION: &str = "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1";

/// A session row, before its clocks are judged.
struct StoredSession {
    owner: SessionOwner,
    created_at: Timestamp,
    last_seen_at: Timestamp,
    idle_ms: i64,
    expires_at: Timestamp,
}

fn stored_session(row: &impl RawRow) -> Result<StoredSession, StoreError> {
    let c = Columns::of("sessions", row);
    let owner = match (
        c.opt_member_id("member_id")?,
        c.opt_conversation_id("conversation_id")?,
    ) {
        (Some(member), None) => SessionOwner::Member(member),
        (None, Some(conversation)) => SessionOwner::Guest(conversation),
        // Not "whichever comes first": a session with two owners (or
        // none) was not written by this server.
        _ => {
            return Err(c.corrupt(
                "member_id, conversation_id",
                "has not exactly one owner set",
            ))
        }
    };
    Ok(StoredSession {
        owner,
        created_at: c.time("created_at")?,
        last_seen_at: c.time("last_seen_at")?,
        idle_ms: c.count("idle_ms")?,
        expires_at: c.time("expires_at")?,
    })
}
