//! Invitations and the site's hold on its members: an invited member has
//! no row in `members` (no key yet) until he enrolls; a disabled one keeps
//! his rows with `disabled_at` set.

use latchkey_api::{DisplayName, Handle};
use sqlx::any::AnyRow;

use super::decode::Columns;
use super::events::{self, DeletedBy, EventKind, Subject};
use super::members::{insert_member, member, SELECT_MEMBER};
use super::outbox::queue_mail;
use super::passkeys::{insert_passkey, Passkey};
use super::{Store, StoreError, Unique};
use crate::model::{Member, MemberId, NewMail, Timestamp};

/// A member-to-be, as stored.
#[derive(Clone)]
pub struct Invite {
    /// The id his member row will have (the sealed address's context).
    pub member_id: MemberId,
    /// Reserved for him.
    pub handle: Handle,
    /// As the site gave it.
    pub display_name: DisplayName,
    /// His address, sealed with the member-email key.
    pub email_sealed: Vec<u8>,
    /// The name of the admin token that invited him.
    pub created_by: String,
    /// When.
    pub created_at: Timestamp,
    /// When the enrollment link stops working.
    pub expires_at: Timestamp,
}

impl std::fmt::Debug for Invite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Invite")
            .field("member_id", &self.member_id)
            .field("handle", &self.handle)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str =
    "member_id, handle, display_name, email_sealed, created_by, created_at, expires_at";

fn invite(row: &AnyRow) -> Result<Invite, StoreError> {
    let c = Columns::of("invites", row);
    Ok(Invite {
        member_id: c.member_id("member_id")?,
        handle: c.handle("handle")?,
        display_name: c.display_name("display_name")?,
        email_sealed: c.bytes("email_sealed")?,
        created_by: c.text("created_by")?,
        created_at: c.time("created_at")?,
        expires_at: c.time("expires_at")?,
    })
}

impl Store {
    /// Stores an invitation, with its e-mail if any (queued in the same
    /// transaction; over a mail budget it is not). A handle a member or a
    /// live invitation has is [`StoreError::Conflict`]; an expired
    /// invitation for it is replaced. Returns whether the mail was queued.
    pub async fn create_invite(
        &self,
        invite: &Invite,
        token_hash: &[u8; 32],
        mail: Option<&NewMail>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM invites WHERE handle = $1 AND expires_at <= $2")
            .bind(invite.handle.as_str())
            .bind(now.as_ms())
            .execute(&mut *tx)
            .await?;
        let (members,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM members WHERE handle = $1")
            .bind(invite.handle.as_str())
            .fetch_one(&mut *tx)
            .await?;
        if members > 0 {
            return Err(StoreError::Conflict(Unique::Handle));
        }
        sqlx::query(&format!(
            "INSERT INTO invites ({COLUMNS}, token_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(invite.member_id.to_hex())
        .bind(invite.handle.as_str())
        .bind(invite.display_name.as_str())
        .bind(&invite.email_sealed)
        .bind(&invite.created_by)
        .bind(invite.created_at.as_ms())
        .bind(invite.expires_at.as_ms())
        .bind(token_hash.as_slice())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::conflict_as(Unique::Handle))?;
        let queued = match mail {
            Some(mail) => queue_mail(&mut tx, self.dialect, None, mail, now).await?,
            None => false,
        };
        tx.commit().await?;
        Ok(queued)
    }

    /// The live invitation an enrollment token names.
    pub async fn invite_by_token(
        &self,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<Invite>, StoreError> {
        self.live_invite("token_hash", token_hash.to_vec(), now)
            .await
    }

    /// The live invitation that reserves this handle.
    pub async fn invite_by_handle(
        &self,
        handle: &Handle,
        now: Timestamp,
    ) -> Result<Option<Invite>, StoreError> {
        self.live_invite("handle", handle.as_str().to_owned(), now)
            .await
    }

    /// The unexpired invitation whose `column` (one of the two unique
    /// ones, a fixed name) holds `value`.
    async fn live_invite<V>(
        &self,
        column: &'static str,
        value: V,
        now: Timestamp,
    ) -> Result<Option<Invite>, StoreError>
    where
        V: for<'q> sqlx::Encode<'q, sqlx::Any> + sqlx::Type<sqlx::Any> + Send,
    {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invites WHERE {column} = $1 AND expires_at > $2"
        ))
        .bind(value)
        .bind(now.as_ms())
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(invite)
        .transpose()
    }

    /// Every live invitation.
    pub async fn invites(&self, now: Timestamp) -> Result<Vec<Invite>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM invites WHERE expires_at > $1 ORDER BY handle"
        ))
        .bind(now.as_ms())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(invite)
        .collect()
    }

    /// Withdraws the invitation for this handle (live or not). Returns
    /// whether there was one.
    pub async fn delete_invite(&self, handle: &Handle) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM invites WHERE handle = $1")
            .bind(handle.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Withdraws the invitation of the member-to-be `id`, whatever handle
    /// it reserves.
    pub async fn delete_invite_of(&self, id: &MemberId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM invites WHERE member_id = $1")
            .bind(id.to_hex())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The invited member enrolls: his invitation is used up and his member
    /// row stored, with the passkey he set up his key with, if he did,
    /// together. False (and nothing stored) if the invitation is gone or
    /// expired, so a link works once.
    pub async fn enroll(
        &self,
        member: &Member,
        passkey: Option<&Passkey>,
        token_hash: &[u8; 32],
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let used = sqlx::query(
            "DELETE FROM invites WHERE token_hash = $1 AND member_id = $2 AND expires_at > $3",
        )
        .bind(token_hash.as_slice())
        .bind(member.id.to_hex())
        .bind(now.as_ms())
        .execute(&mut *tx)
        .await?;
        if used.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        insert_member(&mut tx, member).await?;
        if let Some(passkey) = passkey {
            insert_passkey(&mut tx, &member.id, passkey).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Every member with the time the site disabled him, if it did.
    pub async fn members_with_state(&self) -> Result<Vec<(Member, Option<Timestamp>)>, StoreError> {
        sqlx::query(&format!("{SELECT_MEMBER} ORDER BY m.handle"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| {
                Ok((
                    member(row)?,
                    Columns::of("members", row).opt_time("disabled_at")?,
                ))
            })
            .collect()
    }

    /// Whether the site disabled this member.
    pub async fn member_disabled(&self, id: &MemberId) -> Result<bool, StoreError> {
        let disabled: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT disabled_at FROM members WHERE id = $1")
                .bind(id.to_hex())
                .fetch_optional(&self.pool)
                .await?;
        Ok(matches!(disabled, Some((Some(_),))))
    }

    /// Disables a member and ends his sessions and his guests' (their
    /// links then answer that he is disabled), or re-enables him.
    pub async fn set_member_disabled(
        &self,
        id: &MemberId,
        disabled_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        // Disabling an enabled member is the event; disabling him again
        // only moves the time, as before.
        let newly_disabled: Option<(String,)> =
            match disabled_at {
                Some(at) => sqlx::query_as(
                    "UPDATE members SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL \
                     RETURNING handle",
                )
                .bind(id.to_hex())
                .bind(at.as_ms())
                .fetch_optional(&mut *tx)
                .await?,
                None => None,
            };
        if newly_disabled.is_none() {
            sqlx::query("UPDATE members SET disabled_at = $2 WHERE id = $1")
                .bind(id.to_hex())
                .bind(disabled_at.map(|t| t.as_ms()))
                .execute(&mut *tx)
                .await?;
        }
        if disabled_at.is_some() {
            sqlx::query(
                "DELETE FROM sessions WHERE member_id = $1 OR conversation_id IN \
                 (SELECT id FROM conversations WHERE member_id = $1)",
            )
            .bind(id.to_hex())
            .execute(&mut *tx)
            .await?;
        }
        if let (Some((handle,)), Some(at)) = (newly_disabled, disabled_at) {
            let subject = Subject {
                member_id: *id,
                handle,
                conversation_id: None,
            };
            events::record(
                &mut tx,
                self.dialect,
                &[(EventKind::MemberDisabled, subject)],
                at,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Destroys a member: each conversation as a member's delete does
    /// (messages, grants, sessions, pending mail), then his own row,
    /// sessions, passkeys and provider account. Returns whether he existed.
    pub async fn delete_member(&self, id: &MemberId) -> Result<bool, StoreError> {
        let rows = sqlx::query("SELECT id FROM conversations WHERE member_id = $1")
            .bind(id.to_hex())
            .fetch_all(&self.pool)
            .await?;
        for row in &rows {
            let conversation = Columns::of("conversations", row).conversation_id("id")?;
            self.delete_conversation_idle_since(
                &conversation,
                Timestamp::from_ms(i64::MAX),
                DeletedBy::MemberDeleted,
            )
            .await?;
        }
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM sessions WHERE member_id = $1")
            .bind(id.to_hex())
            .execute(&mut *tx)
            .await?;
        // The foreign key cascades too; said here so that the list of what
        // a member leaves behind is in one place.
        sqlx::query("DELETE FROM member_passkeys WHERE member_id = $1")
            .bind(id.to_hex())
            .execute(&mut *tx)
            .await?;
        // His provider account too: some providers' subject is his address,
        // and a later sign-in must not come back as the deleted member.
        sqlx::query("DELETE FROM oidc_accounts WHERE member_id = $1")
            .bind(id.to_hex())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM login_attempts WHERE handle = (SELECT handle FROM members WHERE id = $1)",
        )
        .bind(id.to_hex())
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query("DELETE FROM members WHERE id = $1")
            .bind(id.to_hex())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.scrub_wal().await?;
        Ok(done.rows_affected() > 0)
    }
}
