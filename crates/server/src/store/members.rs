//! Members and their pending logins.

use sqlx::any::AnyRow;

use latchkey_api::{DisplayName, Handle};

use super::decode::Columns;
use super::{Store, StoreError, Unique};
use crate::model::{Language, Member, MemberId, MemberPassword, MemberRecovery, Timestamp};

/// The members table with each member's password, if any: every query
/// that reads a [`Member`] starts with this and filters on `m.`. It reads
/// `disabled_at` too, for the callers that want it beside the member.
pub(super) const SELECT_MEMBER: &str =
    "SELECT m.id, m.handle, m.display_name, m.email_sealed, m.identity_public, m.created_at, \
     m.recovery_sealed_identity, m.recovery_verifier, m.language, \
     m.disabled_at, p.password_file, p.sealed_identity \
     FROM members m LEFT JOIN member_passwords p ON p.member_id = m.id";

/// Two byte columns that are set together.
type BytesPair = (Vec<u8>, Vec<u8>);

/// Decodes two columns that must be both set or both absent.
fn pair(
    c: &Columns<'_, impl super::decode::RawRow>,
    first: &'static str,
    second: &'static str,
    both: &'static str,
) -> Result<Option<BytesPair>, StoreError> {
    match (c.opt_bytes(first)?, c.opt_bytes(second)?) {
        (None, None) => Ok(None),
        (Some(a), Some(b)) => Ok(Some((a, b))),
        _ => Err(c.corrupt(both, "has one of the pair without the other")),
    }
}

pub(super) fn member(row: &AnyRow) -> Result<Member, StoreError> {
    let c = Columns::of("members", row);
    let recovery = pair(
        &c,
        "recovery_sealed_identity",
        "recovery_verifier",
        "recovery_sealed_identity, recovery_verifier",
    )?
    .map(|(sealed_identity, verifier)| MemberRecovery {
        sealed_identity,
        verifier,
    });
    // Both NOT NULL in member_passwords: NULL here means no row.
    let password = pair(
        &c,
        "password_file",
        "sealed_identity",
        "password_file, sealed_identity",
    )?
    .map(|(file, sealed_identity)| MemberPassword {
        file,
        sealed_identity,
    });
    Ok(Member {
        id: c.member_id("id")?,
        handle: c.handle("handle")?,
        display_name: c.display_name("display_name")?,
        email_sealed: c.bytes("email_sealed")?,
        password,
        identity_public: c.bytes("identity_public")?,
        created_at: c.time("created_at")?,
        recovery,
        language: c.language("language")?,
    })
}

/// Which of the members table's two unique values a new row collided
/// with. PostgreSQL names the index (`members_identity_public_unique`),
/// SQLite the column (`UNIQUE constraint failed: members.identity_public`);
/// anything else unique is the handle.
fn member_conflict(error: sqlx::Error) -> StoreError {
    let on_identity_key = match &error {
        sqlx::Error::Database(db) => {
            db.constraint()
                .unwrap_or_default()
                .contains("identity_public")
                || db.message().contains("identity_public")
        }
        _ => false,
    };
    let what = if on_identity_key {
        Unique::IdentityKey
    } else {
        Unique::Handle
    };
    StoreError::conflict_as(what)(error)
}

/// Inserts a member row, alone or in the caller's transaction (an
/// invited member's enrollment). A taken handle or identity key is
/// [`StoreError::Conflict`], saying which.
pub(super) async fn insert_member(
    conn: &mut sqlx::AnyConnection,
    member: &Member,
) -> Result<(), StoreError> {
    let (recovery_sealed_identity, recovery_verifier) = match &member.recovery {
        Some(r) => (
            Some(r.sealed_identity.as_slice()),
            Some(r.verifier.as_slice()),
        ),
        None => (None, None),
    };
    sqlx::query(
        "INSERT INTO members (id, handle, display_name, email_sealed, identity_public, \
         created_at, recovery_sealed_identity, recovery_verifier, language) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(member.id.to_hex())
    .bind(member.handle.as_str())
    .bind(member.display_name.as_str())
    .bind(&member.email_sealed)
    .bind(&member.identity_public)
    .bind(member.created_at.as_ms())
    .bind(recovery_sealed_identity)
    .bind(recovery_verifier)
    .bind(member.language.tag())
    .execute(&mut *conn)
    .await
    .map_err(member_conflict)?;
    if let Some(password) = &member.password {
        sqlx::query(
            "INSERT INTO member_passwords (member_id, password_file, sealed_identity) \
             VALUES ($1, $2, $3)",
        )
        .bind(member.id.to_hex())
        .bind(&password.file)
        .bind(&password.sealed_identity)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

impl Store {
    /// Stores a new member. A taken handle or identity key is
    /// [`StoreError::Conflict`], saying which.
    pub async fn create_member(&self, member: &Member) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        insert_member(&mut conn, member).await
    }

    /// The member with this handle.
    pub async fn member_by_handle(&self, handle: &Handle) -> Result<Option<Member>, StoreError> {
        sqlx::query(&format!("{SELECT_MEMBER} WHERE m.handle = $1"))
            .bind(handle.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(member)
            .transpose()
    }

    /// Remembers the language of a member's notices (he signed in with it).
    pub async fn set_member_language(
        &self,
        id: &MemberId,
        language: Language,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE members SET language = $2 WHERE id = $1 AND language <> $2")
            .bind(id.to_hex())
            .bind(language.tag())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The member with this id.
    pub async fn member_by_id(&self, id: &MemberId) -> Result<Option<Member>, StoreError> {
        sqlx::query(&format!("{SELECT_MEMBER} WHERE m.id = $1"))
            .bind(id.to_hex())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(member)
            .transpose()
    }

    /// Changes the display name.
    pub async fn set_display_name(
        &self,
        id: &MemberId,
        display_name: &DisplayName,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE members SET display_name = $1 WHERE id = $2")
            .bind(display_name.as_str())
            .bind(id.to_hex())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Sets the password file and the re-sealed private key together (a
    /// member with no password gets one), and ends every other session of
    /// the member.
    pub async fn set_password(
        &self,
        id: &MemberId,
        password_file: &[u8],
        sealed_identity: &[u8],
        keep_session: &[u8],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO member_passwords (member_id, password_file, sealed_identity) \
             VALUES ($1, $2, $3) ON CONFLICT (member_id) \
             DO UPDATE SET password_file = excluded.password_file, \
             sealed_identity = excluded.sealed_identity",
        )
        .bind(id.to_hex())
        .bind(password_file)
        .bind(sealed_identity)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE member_id = $1 AND token_hash <> $2")
            .bind(id.to_hex())
            .bind(keep_session)
            .execute(&mut *tx)
            .await?;
        // A login begun against the old password file must not finish.
        sqlx::query(
            "DELETE FROM login_attempts WHERE handle = (SELECT handle FROM members WHERE id = $1)",
        )
        .bind(id.to_hex())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the recovery key's sealed identity and verifier.
    pub async fn set_recovery(
        &self,
        id: &MemberId,
        recovery_sealed_identity: &[u8],
        recovery_verifier: &[u8],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE members SET recovery_sealed_identity = $1, recovery_verifier = $2 WHERE id = $3",
        )
        .bind(recovery_sealed_identity)
        .bind(recovery_verifier)
        .bind(id.to_hex())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Parks OPAQUE server state between the two login requests.
    pub async fn put_login_attempt(
        &self,
        id: &str,
        handle: &str,
        state_sealed: &[u8],
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO login_attempts (id, handle, state_sealed, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(handle)
        .bind(state_sealed)
        .bind(expires_at.as_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Takes (reads and deletes) a parked login, so each can finish once.
    /// Returns the handle and sealed state if it exists and has not expired.
    pub async fn take_login_attempt(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let row: Option<(String, Vec<u8>, i64)> = sqlx::query_as(
            "DELETE FROM login_attempts WHERE id = $1 RETURNING handle, state_sealed, expires_at",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row
            .filter(|(_, _, expires_at)| *expires_at > now.as_ms())
            .map(|(handle, state, _)| (handle, state)))
    }
}
