//! The admin API's bearer tokens. Only a token's SHA-256 is stored: the
//! token itself is shown once, by `latchkey admin token create`.

use sqlx::any::AnyRow;

use super::decode::Columns;
use super::{Store, StoreError};
use crate::model::Timestamp;

/// A token as stored: everything but the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    /// What the log and the listing call it.
    pub name: String,
    /// What it may do (`members:read`, …).
    pub scopes: Vec<String>,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it last authenticated a call.
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked; it authenticates nothing since.
    pub revoked_at: Option<Timestamp>,
}

const COLUMNS: &str = "name, scopes, created_at, last_used_at, revoked_at";

fn api_token(row: &AnyRow) -> Result<ApiToken, StoreError> {
    let c = Columns::of("api_tokens", row);
    Ok(ApiToken {
        name: c.text("name")?,
        scopes: c
            .text("scopes")?
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        created_at: c.time("created_at")?,
        last_used_at: c.opt_time("last_used_at")?,
        revoked_at: c.opt_time("revoked_at")?,
    })
}

impl Store {
    /// Stores a new token's hash. False if the name is taken (by a live or
    /// a revoked token: names are never reused, so a log line names one).
    pub async fn create_api_token(
        &self,
        name: &str,
        token_hash: &[u8; 32],
        scopes: &[&str],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO api_tokens (name, token_hash, scopes, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(token_hash.as_slice())
        .bind(scopes.join(","))
        .bind(now.as_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every token, by name.
    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>, StoreError> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM api_tokens ORDER BY name"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(api_token)
            .collect()
    }

    /// Revokes a token. False if no live token has this name.
    pub async fn revoke_api_token(&self, name: &str, now: Timestamp) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
        )
        .bind(name)
        .bind(now.as_ms())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The live token with this hash; its last use becomes `now`.
    pub async fn use_api_token(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<ApiToken>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(token_hash.as_slice())
        .fetch_optional(&self.pool)
        .await?;
        let Some(token) = row.as_ref().map(api_token).transpose()? else {
            return Ok(None);
        };
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1")
            .bind(token_hash.as_slice())
            .bind(now.as_ms())
            .execute(&self.pool)
            .await?;
        Ok(Some(token))
    }
}
