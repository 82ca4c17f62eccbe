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

    /// The live session with this token hash, its idle clock restarted; an
    /// idle or expired one is deleted and reads as none.
    pub async fn touch_session(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> Result<Option<Session>, StoreError> {
        let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "UPDATE sessions SET last_seen_at = $2 \
             WHERE token_hash = $1 AND expires_at > $2 AND last_seen_at + idle_ms > $2 \
             RETURNING member_id, conversation_id",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        let owner = match row {
            Some((Some(member), _)) => SessionOwner::Member(member),
            Some((None, Some(conversation))) => SessionOwner::Guest(conversation),
            _ => {
                self.delete_session(token_hash).await?;
                return Ok(None);
            }
        };
        Ok(Some(Session {
            token_hash: token_hash.to_vec(),
            owner,
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
