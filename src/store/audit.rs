//! The `audit` table: one append-only event per use case (actor, user, kind,
//! detail, ip, time), listed newest first with keyset paging.

use rusqlite::{Connection, Row, params};

use super::{StoreError, secs, time};
use crate::domain::Time;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at: Time,
    pub actor: String,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    pub kind: String,
    pub detail: String,
    pub ip: Option<String>,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<AuditRow> {
    Ok(AuditRow {
        id: r.get(0)?,
        at: time(r.get(1)?),
        actor: r.get(2)?,
        user_id: r.get(3)?,
        user_email: r.get(4)?,
        kind: r.get(5)?,
        detail: r.get(6)?,
        ip: r.get(7)?,
    })
}

pub struct NewEvent<'a> {
    pub at: Time,
    pub actor: &'a str,
    pub user_id: Option<i64>,
    pub kind: &'a str,
    pub detail: &'a str,
    pub ip: Option<&'a str>,
}

pub fn insert(conn: &Connection, e: &NewEvent<'_>) -> Result<i64, StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit (at, actor, user_id, kind, detail, ip) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        secs(e.at),
        e.actor,
        e.user_id,
        e.kind,
        e.detail,
        e.ip
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Which events to list: all, one user's, one kind (`login.verify`) or one
/// family (`login` or `login.`: every `login.*`).
/// Newest first by time; `before` is the id of the last event already shown.
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub user_id: Option<i64>,
    pub kind: Option<&'a str>,
    pub before: Option<i64>,
    pub limit: u32,
}

pub fn list(conn: &Connection, q: &Query<'_>) -> Result<Vec<AuditRow>, StoreError> {
    let kind = q.kind.map(|k| k.trim().trim_end_matches('.'));
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.at, a.actor, a.user_id, u.email, a.kind, a.detail, a.ip
         FROM audit a LEFT JOIN users u ON u.id = a.user_id
         WHERE (?1 IS NULL OR a.user_id = ?1)
           AND (?2 IS NULL OR a.kind = ?2 OR substr(a.kind, 1, length(?2) + 1) = ?2 || '.')
           AND (?3 IS NULL OR (a.at, a.id) < (SELECT at, id FROM audit WHERE id = ?3))
         ORDER BY a.at DESC, a.id DESC LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![q.user_id, kind, q.before, q.limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM audit")?
        .query_row([], |r| r.get(0))?)
}
