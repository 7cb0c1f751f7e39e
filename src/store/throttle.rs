//! The `throttle` and `bans` tables: what the regulation limits count (wrong
//! passwords by user and address, code checks), and the bans in force.

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, exec, secs, time};
use crate::domain::{Time, text_enum};

text_enum!(
    /// What one counted event is, and whose.
    Counted { Password => "password", Address => "address", CodeCheck => "code_check" }
);

/// The most rows read back for one subject: more than any limit allows.
const MOST: i64 = 1000;

/// Count one event of `kind` for `subject` at `at`, first dropping its
/// events from before `keep_since` (those no window can count any more).
pub fn record(
    conn: &Connection,
    kind: Counted,
    subject: &str,
    at: Time,
    keep_since: Time,
) -> Result<(), StoreError> {
    exec(
        conn,
        "DELETE FROM throttle WHERE kind = ?1 AND subject = ?2 AND at < ?3",
        params![kind.as_str(), subject, secs(keep_since)],
    )?;
    exec(
        conn,
        "INSERT INTO throttle (kind, subject, at) VALUES (?1, ?2, ?3)",
        params![kind.as_str(), subject, secs(at)],
    )?;
    Ok(())
}

/// The instants of `subject`'s events of `kind` at or after `since`, oldest first.
pub fn since(
    conn: &Connection,
    kind: Counted,
    subject: &str,
    since: Time,
) -> Result<Vec<Time>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at FROM throttle WHERE kind = ?1 AND subject = ?2 AND at >= ?3
         ORDER BY at LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![kind.as_str(), subject, secs(since), MOST], |r| {
        r.get::<_, i64>(0).map(time)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Forget every event of `kind` for `subject` (a ban begins, or a correct password).
pub fn forget(conn: &Connection, kind: Counted, subject: &str) -> Result<(), StoreError> {
    exec(
        conn,
        "DELETE FROM throttle WHERE kind = ?1 AND subject = ?2",
        params![kind.as_str(), subject],
    )?;
    Ok(())
}

/// A ban on `subject`: until when, and how many in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ban {
    pub until: Time,
    pub count: u32,
}

pub fn ban(conn: &Connection, kind: Counted, subject: &str) -> Result<Option<Ban>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT until, count FROM bans WHERE kind = ?1 AND subject = ?2")?
        .query_row(params![kind.as_str(), subject], |r| {
            Ok(Ban {
                until: time(r.get(0)?),
                count: r.get(1)?,
            })
        })
        .optional()?)
}

pub fn set_ban(
    conn: &Connection,
    kind: Counted,
    subject: &str,
    ban: &Ban,
) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO bans (kind, subject, until, count) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, subject) DO UPDATE SET until = excluded.until, count = excluded.count",
        params![kind.as_str(), subject, secs(ban.until), ban.count],
    )?;
    Ok(())
}

/// Lift a ban and its count (a correct password, an admin's unlock).
pub fn lift(conn: &Connection, kind: Counted, subject: &str) -> Result<(), StoreError> {
    exec(
        conn,
        "DELETE FROM bans WHERE kind = ?1 AND subject = ?2",
        params![kind.as_str(), subject],
    )?;
    Ok(())
}
