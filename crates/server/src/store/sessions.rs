//! Sessions: a member's, or a guest's scoped to one conversation. The
//! cookie holds a random token; the database holds its SHA-256 only.

use super::{Store, StoreError};

/// Whose session it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionOwner {
    /// A signed-in member (internal id).
    Member(String),
    /// A guest, for this conversation only.
    Guest(String),
}

/// A live session.
#[derive(Clone, Debug)]
pub struct Session {
    /// SHA-256 of the cookie token.
    pub token_hash: Vec<u8>,
    /// Who.
    pub owner: SessionOwner,
    /// When it began (the sign-in, for a member).
    pub created_at: i64,
}

impl Store {
    /// Starts a session.
    pub async fn create_session(
        &self,
        token_hash: &[u8],
        owner: &SessionOwner,
        now: i64,
        idle_ms: i64,
        absolute_ms: i64,
    ) -> Result<(), StoreError> {
        let (member, conversation) = match owner {
            SessionOwner::Member(id) => (Some(id.as_str()), None),
            SessionOwner::Guest(id) => (None, Some(id.as_str())),
        };
        sqlx::query(
            "INSERT INTO sessions (token_hash, member_id, conversation_id, created_at, \
             last_seen_at, idle_ms, expires_at) VALUES ($1, $2, $3, $4, $4, $5, $6)",
        )
        .bind(token_hash)
        .bind(member)
        .bind(conversation)
        .bind(now)
        .bind(idle_ms)
        .bind(now.saturating_add(absolute_ms))
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
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        type Row = (Option<String>, Option<String>, i64, i64, i64, i64);
        let row: Option<Row> = sqlx::query_as(
            "SELECT member_id, conversation_id, created_at, last_seen_at, idle_ms, expires_at \
             FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some((member, conversation, created_at, last_seen_at, idle_ms, expires_at)) = row
        else {
            return Ok(None);
        };
        let owner = match (member, conversation) {
            (Some(member), _) => Some(SessionOwner::Member(member)),
            (None, Some(conversation)) => Some(SessionOwner::Guest(conversation)),
            (None, None) => None,
        };
        let alive = expires_at > now && last_seen_at.saturating_add(idle_ms) > now;
        let Some(owner) = owner.filter(|_| alive) else {
            self.delete_session(token_hash).await?;
            return Ok(None);
        };
        if now.saturating_sub(last_seen_at) >= (idle_ms / 4).min(60_000) {
            sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1")
                .bind(token_hash)
                .bind(now)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(Session {
            token_hash: token_hash.to_vec(),
            owner,
            created_at,
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
