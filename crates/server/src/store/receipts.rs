//! Read receipts: per conversation and side, a list of read marks
//! (`seq`, `read_at`). A message's read time is the time of the first mark
//! of the other side at or after its seq. Marks are written only when they
//! move past that side's newest mark, in the transaction of what caused
//! them (a link's first redeem, the member's read mark), and only while
//! that side's switch is on: a side that keeps receipts off leaves no
//! trace of its reading. No row holds content.

use latchkey_core::{ConversationId, Role};

use super::decode::{Columns, RawRow};
use super::{flag, sqlite, Store, StoreError};
use crate::model::{MemberId, Timestamp};

/// Records that `reader` had read up to `seq` at `now`, unless his switch
/// is off or an earlier mark already reaches `seq`.
pub(super) async fn record_mark(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    conversation_id: &ConversationId,
    reader: Role,
    seq: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    if seq < 1 {
        return Ok(());
    }
    // The switch of the reading side: the member's own, or the guest's on
    // this conversation.
    let switch = match reader {
        Role::Member => {
            "(SELECT m.read_receipts FROM members m JOIN conversations c \
             ON c.member_id = m.id WHERE c.id = $1)"
        }
        Role::Guest => "(SELECT guest_read_receipts FROM conversations WHERE id = $1)",
    };
    sqlx::query(&format!(
        "INSERT INTO read_marks (conversation_id, reader, seq, read_at) \
         SELECT $1, $2, $3, $4 WHERE {switch} = 1 \
         AND NOT EXISTS (SELECT 1 FROM read_marks WHERE conversation_id = $1 \
         AND reader = $2 AND seq >= $3)"
    ))
    .bind(conversation_id.to_string())
    .bind(i64::from(reader.as_byte()))
    .bind(seq)
    .bind(now.as_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A side's marks from a seq on, oldest first.
pub(super) const SELECT_MARKS: &str = "SELECT seq, read_at FROM read_marks \
                                       WHERE conversation_id = $1 AND reader = $2 \
                                       AND seq >= $3 ORDER BY seq";

/// One mark: (seq, read_at).
pub(super) fn mark(row: &impl RawRow) -> Result<(i64, Timestamp), StoreError> {
    let c = Columns::of("read_marks", row);
    Ok((c.int("seq")?, c.time("read_at")?))
}

impl Store {
    /// `reader`'s marks in a conversation at or after `from_seq`, oldest
    /// first: (seq, read_at).
    pub async fn read_marks(
        &self,
        conversation_id: &ConversationId,
        reader: Role,
        from_seq: i64,
    ) -> Result<Vec<(i64, Timestamp)>, StoreError> {
        // Only PostgreSQL asks: on SQLite, `conversation_page` reads the
        // marks in its own read transaction.
        sqlx::query(SELECT_MARKS)
            .bind(conversation_id.to_string())
            .bind(i64::from(reader.as_byte()))
            .bind(from_seq)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(mark)
            .collect()
    }

    /// Whether the member shares his reading (his switch; on unless he
    /// turned it off).
    pub async fn member_read_receipts(&self, member_id: &MemberId) -> Result<bool, StoreError> {
        self.switch(
            "SELECT read_receipts AS switch FROM members WHERE id = $1",
            member_id.to_hex(),
            ("members", "member"),
        )
        .await
    }

    /// Turns the member's switch on or off. Off also forgets the marks he
    /// left: nothing of his reading stays stored.
    pub async fn set_member_read_receipts(
        &self,
        member_id: &MemberId,
        on: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE members SET read_receipts = $2 WHERE id = $1")
            .bind(member_id.to_hex())
            .bind(flag(on))
            .execute(&mut *tx)
            .await?;
        if !on {
            sqlx::query(
                "DELETE FROM read_marks WHERE reader = $2 AND conversation_id IN \
                 (SELECT id FROM conversations WHERE member_id = $1)",
            )
            .bind(member_id.to_hex())
            .bind(i64::from(Role::Member.as_byte()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether the guest of this conversation shares his reading.
    pub async fn guest_read_receipts(
        &self,
        conversation_id: &ConversationId,
    ) -> Result<bool, StoreError> {
        self.switch(
            "SELECT guest_read_receipts AS switch FROM conversations WHERE id = $1",
            conversation_id.to_string(),
            ("conversations", "conversation"),
        )
        .await
    }

    /// A receipts switch: the one flag `sql` selects from `table` for
    /// `id`; `owner` names the row in the error when it is not there.
    async fn switch(
        &self,
        sql: &'static str,
        id: String,
        (table, owner): (&'static str, &'static str),
    ) -> Result<bool, StoreError> {
        let found = match &self.sqlite {
            Some(engine) => engine.read(|conn| {
                sqlite::query_opt(conn, sql, &[&id], |row| {
                    Columns::of(table, row).flag("switch")
                })
            })?,
            None => sqlx::query(sql)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
                .as_ref()
                .map(|row| Columns::of(table, row).flag("switch"))
                .transpose()?,
        };
        found.ok_or(StoreError::NotFound(owner))
    }

    /// Turns the guest's switch on or off; off forgets his marks.
    pub async fn set_guest_read_receipts(
        &self,
        conversation_id: &ConversationId,
        on: bool,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE conversations SET guest_read_receipts = $2 WHERE id = $1")
            .bind(conversation_id.to_string())
            .bind(flag(on))
            .execute(&mut *tx)
            .await?;
        if !on {
            sqlx::query("DELETE FROM read_marks WHERE conversation_id = $1 AND reader = $2")
                .bind(conversation_id.to_string())
                .bind(i64::from(Role::Guest.as_byte()))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
