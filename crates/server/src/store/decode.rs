//! Rows into domain types, strictly: every stored value either is one the
//! server writes or is [`StoreError::Corrupt`]. No default stands in for an
//! unknown value, and no column is read by position.

use latchkey_api::{DisplayName, Handle};
use latchkey_core::{ConversationId, MessageId, Role};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::StoreError;
use crate::model::{is_lower_hex32, Language, MemberId, Timestamp};

/// A row as either driver hands it over (sqlx's `Any` row, or rusqlite's on
/// the SQLite fast path): the few raw types the schema uses. A NULL where
/// the type has none, or a value of another type, is `None` from
/// [`RawValue::Mismatch`]; the driver's own failures pass through.
pub(super) trait RawRow {
    /// The column's value as `T`, or why not.
    fn raw<T: RawValue>(&self, column: &'static str) -> Result<T, RawError>;
}

/// Why a column did not read.
pub(super) enum RawError {
    /// NULL where the type has none, or another type.
    Mismatch,
    /// The driver failed.
    Store(StoreError),
}

/// A Rust type both drivers decode.
pub(super) trait RawValue:
    for<'a> sqlx::Decode<'a, sqlx::Any> + sqlx::Type<sqlx::Any> + rusqlite::types::FromSql
{
}

impl RawValue for i64 {}
impl RawValue for Option<i64> {}
impl RawValue for String {}
impl RawValue for Option<String> {}
impl RawValue for Vec<u8> {}
impl RawValue for Option<Vec<u8>> {}

impl RawRow for AnyRow {
    fn raw<T: RawValue>(&self, column: &'static str) -> Result<T, RawError> {
        self.try_get(column).map_err(|e| match e {
            sqlx::Error::ColumnDecode { .. } => RawError::Mismatch,
            other => RawError::Store(StoreError::Database(other)),
        })
    }
}

impl RawRow for rusqlite::Row<'_> {
    fn raw<T: RawValue>(&self, column: &'static str) -> Result<T, RawError> {
        self.get(column).map_err(|e| match e {
            rusqlite::Error::InvalidColumnType(..)
            | rusqlite::Error::FromSqlConversionFailure(..)
            | rusqlite::Error::IntegralValueOutOfRange(..) => RawError::Mismatch,
            other => RawError::Store(StoreError::Sqlite(other)),
        })
    }
}

/// One row of one table, read column by column.
pub(super) struct Columns<'r, R: RawRow> {
    row: &'r R,
    table: &'static str,
}

impl<'r, R: RawRow> Columns<'r, R> {
    pub(super) fn of(table: &'static str, row: &'r R) -> Columns<'r, R> {
        Columns { row, table }
    }

    /// The error for this table and column.
    pub(super) fn corrupt(&self, column: &'static str, problem: &'static str) -> StoreError {
        StoreError::Corrupt {
            table: self.table,
            column,
            problem,
        }
    }

    fn get<T: RawValue>(&self, column: &'static str) -> Result<T, StoreError> {
        self.row.raw(column).map_err(|e| match e {
            // NULL where the schema forbids it, or another type: the value
            // was not written by this server.
            RawError::Mismatch => self.corrupt(column, "is NULL or of another type"),
            RawError::Store(other) => other,
        })
    }

    pub(super) fn int(&self, column: &'static str) -> Result<i64, StoreError> {
        self.get(column)
    }

    pub(super) fn text(&self, column: &'static str) -> Result<String, StoreError> {
        self.get(column)
    }

    pub(super) fn opt_text(&self, column: &'static str) -> Result<Option<String>, StoreError> {
        self.get(column)
    }

    pub(super) fn bytes(&self, column: &'static str) -> Result<Vec<u8>, StoreError> {
        self.get(column)
    }

    pub(super) fn opt_bytes(&self, column: &'static str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(column)
    }

    /// A sequence number or count: never negative.
    pub(super) fn count(&self, column: &'static str) -> Result<i64, StoreError> {
        let n = self.int(column)?;
        if n < 0 {
            return Err(self.corrupt(column, "is negative"));
        }
        Ok(n)
    }

    /// A member's handle, as the handle rule allows it.
    pub(super) fn handle(&self, column: &'static str) -> Result<Handle, StoreError> {
        Handle::parse(&self.text(column)?)
            .map_err(|_| self.corrupt(column, "breaks the handle rule"))
    }

    /// A member's display name, as the display-name rule allows it.
    pub(super) fn display_name(&self, column: &'static str) -> Result<DisplayName, StoreError> {
        DisplayName::parse(&self.text(column)?)
            .map_err(|_| self.corrupt(column, "breaks the display-name rule"))
    }

    /// A SHA-256 value (a grant id's hash): exactly 32 bytes.
    pub(super) fn hash32(&self, column: &'static str) -> Result<[u8; 32], StoreError> {
        self.bytes(column)?
            .try_into()
            .map_err(|_| self.corrupt(column, "is not 32 bytes"))
    }

    /// A number that may be absent (NULL): never negative.
    pub(super) fn opt_count(&self, column: &'static str) -> Result<Option<u64>, StoreError> {
        let n: Option<i64> = self.get(column)?;
        n.map(|n| u64::try_from(n).map_err(|_| self.corrupt(column, "is negative")))
            .transpose()
    }

    /// 0 or 1; anything else is corrupt, not "true".
    pub(super) fn flag(&self, column: &'static str) -> Result<bool, StoreError> {
        match self.int(column)? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(self.corrupt(column, "is neither 0 nor 1")),
        }
    }

    pub(super) fn time(&self, column: &'static str) -> Result<Timestamp, StoreError> {
        let ms = self.int(column)?;
        if ms < 0 {
            return Err(self.corrupt(column, "is a time before 1970"));
        }
        Ok(Timestamp::from_ms(ms))
    }

    pub(super) fn opt_time(&self, column: &'static str) -> Result<Option<Timestamp>, StoreError> {
        let ms: Option<i64> = self.get(column)?;
        match ms {
            Some(ms) if ms < 0 => Err(self.corrupt(column, "is a time before 1970")),
            other => Ok(other.map(Timestamp::from_ms)),
        }
    }

    /// A language tag. One without a catalogue is not corrupt: the
    /// catalogue may have been removed since; its mails go out in English.
    pub(super) fn language(&self, column: &'static str) -> Result<Language, StoreError> {
        Ok(crate::i18n::stored(&self.text(column)?))
    }

    fn hex16(&self, column: &'static str) -> Result<String, StoreError> {
        let text = self.text(column)?;
        if !is_lower_hex32(&text) {
            return Err(self.corrupt(column, "is not 32 lower-case hex digits"));
        }
        Ok(text)
    }

    pub(super) fn member_id(&self, column: &'static str) -> Result<MemberId, StoreError> {
        MemberId::parse(&self.hex16(column)?)
            .ok_or_else(|| self.corrupt(column, "is not 32 lower-case hex digits"))
    }

    pub(super) fn opt_member_id(
        &self,
        column: &'static str,
    ) -> Result<Option<MemberId>, StoreError> {
        let text: Option<String> = self.get(column)?;
        text.map(|t| {
            MemberId::parse(&t)
                .ok_or_else(|| self.corrupt(column, "is not 32 lower-case hex digits"))
        })
        .transpose()
    }

    pub(super) fn conversation_id(
        &self,
        column: &'static str,
    ) -> Result<ConversationId, StoreError> {
        conversation_id(&self.hex16(column)?)
            .ok_or_else(|| self.corrupt(column, "is not 32 lower-case hex digits"))
    }

    pub(super) fn opt_conversation_id(
        &self,
        column: &'static str,
    ) -> Result<Option<ConversationId>, StoreError> {
        let text: Option<String> = self.get(column)?;
        text.map(|t| {
            conversation_id(&t)
                .ok_or_else(|| self.corrupt(column, "is not 32 lower-case hex digits"))
        })
        .transpose()
    }

    /// An id stored as its 16 bytes (migrations 0018 and 0019).
    pub(super) fn id16(&self, column: &'static str) -> Result<[u8; 16], StoreError> {
        self.bytes(column)?
            .try_into()
            .map_err(|_| self.corrupt(column, "is not 16 bytes"))
    }

    /// An id stored as its 16 bytes, or NULL.
    pub(super) fn opt_id16(&self, column: &'static str) -> Result<Option<[u8; 16]>, StoreError> {
        self.opt_bytes(column)?
            .map(|bytes| {
                bytes
                    .try_into()
                    .map_err(|_| self.corrupt(column, "is not 16 bytes"))
            })
            .transpose()
    }

    /// A message id: its 16 bytes (migration 0018).
    pub(super) fn message_id(&self, column: &'static str) -> Result<MessageId, StoreError> {
        Ok(MessageId::from_bytes(self.id16(column)?))
    }

    /// 1 = member, 2 = guest, as in the protocol's associated data.
    pub(super) fn role(&self, column: &'static str) -> Result<Role, StoreError> {
        let byte = self.int(column)?;
        [Role::Member, Role::Guest]
            .into_iter()
            .find(|role| i64::from(role.as_byte()) == byte)
            .ok_or_else(|| self.corrupt(column, "is not a known sender (1 or 2)"))
    }
}

/// The core's parser takes either case; the store writes lower case only.
fn conversation_id(text: &str) -> Option<ConversationId> {
    if is_lower_hex32(text) {
        text.parse().ok()
    } else {
        None
    }
}
