//! The SQLite hot path: posting a message, checking a session, reading a
//! conversation's page. These run on connections of our own through
//! rusqlite ([`SqliteEngine`]: one writer with group commit, readers in
//! place) instead of sqlx's pool, where every statement is a hand-off to a
//! worker thread and writers wait out each other in the busy handler. The
//! rest of the store (rare writes: sign-ups, links, settings, sweeps) still
//! runs through sqlx on both databases.
//!
//! Statements keep sqlx's `$n` placeholders, so the SQL text is the one the
//! sqlx path runs; [`bind`] binds by those names, whatever order they first
//! appear in. Rows decode through the same [`Columns`](super::decode) as
//! sqlx's rows do.

mod engine;
pub(crate) mod page_size;
mod posts;

use rusqlite::types::ToSql;
use rusqlite::{Connection, Row, Statement};

pub(crate) use engine::{SqliteEngine, PRAGMAS};

use super::StoreError;

/// The placeholder names, `$1` to `$12`: no statement here binds more.
const NAMES: [&str; 12] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12",
];

/// Binds `params` to `$1`, `$2` … of `statement`.
fn bind(statement: &mut Statement<'_>, params: &[&dyn ToSql]) -> Result<(), StoreError> {
    if params.len() != statement.parameter_count() || params.len() > NAMES.len() {
        return Err(StoreError::Sqlite(rusqlite::Error::InvalidParameterCount(
            params.len(),
            statement.parameter_count(),
        )));
    }
    for (name, value) in NAMES.iter().zip(params) {
        let index = statement
            .parameter_index(name)?
            .ok_or_else(|| rusqlite::Error::InvalidParameterName((*name).to_owned()))?;
        statement.raw_bind_parameter(index, value)?;
    }
    Ok(())
}

/// The first row `sql` returns, decoded; none if it returns none.
pub(super) fn query_opt<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    decode: impl FnOnce(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    bind(&mut statement, params)?;
    let mut rows = statement.raw_query();
    match rows.next()? {
        Some(row) => Ok(Some(decode(row)?)),
        None => Ok(None),
    }
}

/// Every row `sql` returns, decoded.
pub(super) fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
    decode: impl Fn(&Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    bind(&mut statement, params)?;
    let mut rows = statement.raw_query();
    let mut all = Vec::new();
    while let Some(row) = rows.next()? {
        all.push(decode(row)?);
    }
    Ok(all)
}

/// Runs a statement that returns no rows; returns how many rows it changed.
pub(super) fn execute(
    conn: &Connection,
    sql: &str,
    params: &[&dyn ToSql],
) -> Result<usize, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    bind(&mut statement, params)?;
    Ok(statement.raw_execute()?)
}

/// Whether `error` is a UNIQUE or PRIMARY KEY violation.
pub(super) fn is_unique_violation(error: &StoreError) -> bool {
    matches!(
        error,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}
