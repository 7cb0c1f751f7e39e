//! Values as the tables keep them: times as Unix seconds, vocabulary as its
//! text (read back through the enum's own spellings).

use chrono::DateTime;
use rusqlite::Row;

use crate::domain::Time;

/// Unix seconds, as stored.
pub fn secs(t: Time) -> i64 {
    t.timestamp()
}

pub fn time(secs: i64) -> Time {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

pub fn opt_time(secs: Option<i64>) -> Option<Time> {
    secs.map(time)
}

/// Read a column holding one of a text enum's spellings.
pub fn parse_col<T>(
    row: &Row<'_>,
    idx: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("unexpected value `{text}`").into(),
        )
    })
}

/// [`parse_col`] for a row read through [`super::Db`].
pub fn parse_value<T>(
    row: &super::engine::Row,
    idx: usize,
    parse: fn(&str) -> Option<T>,
) -> Result<T, super::StoreError> {
    parse(row.text(idx)?).ok_or_else(|| {
        super::engine::EngineError::Column {
            index: idx,
            expected: "one of its words",
            found: "another text",
        }
        .into()
    })
}
