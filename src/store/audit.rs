//! The `audit` table: one append-only event per use case (actor, user, kind,
//! detail, ip, time), listed newest first with keyset paging.

use rusqlite::{Connection, Row, params};

use super::{Keyset, StoreError, secs, time};
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
    page(conn, q, q.before.map_or(Keyset::First, Keyset::After))
}

/// A kind (`login.verify`) or a family (`login`, `login.`), as matched by
/// [`KIND_MATCHES`].
fn kind_pattern(kind: Option<&str>) -> Option<&str> {
    kind.map(|k| k.trim().trim_end_matches('.'))
}

/// The kind itself, or any kind in its family (`login` matches `login.*`).
const KIND_MATCHES: &str =
    "(?2 IS NULL OR kind = ?2 OR substr(kind, 1, length(?2) + 1) = ?2 || '.')";

/// One page of the events `q` matches, newest first, read at `at` (instead
/// of `q.before`): `After(id)` are older than event `id`, `Before(id)` newer.
pub fn page(
    conn: &Connection,
    q: &Query<'_>,
    at: Keyset<i64>,
) -> Result<Vec<AuditRow>, StoreError> {
    let (key, newer, order) = at.newest_first();
    let keyset = if key.is_some() {
        format!("(a.at, a.id) {newer} (SELECT at, id FROM audit WHERE id = ?3)")
    } else {
        "?3 IS NULL".to_owned()
    };
    let sql = format!(
        "SELECT a.id, a.at, a.actor, a.user_id, u.email, a.kind, a.detail, a.ip
         FROM audit a LEFT JOIN users u ON u.id = a.user_id
         WHERE (?1 IS NULL OR a.user_id = ?1)
           AND {KIND_MATCHES}
           AND {keyset}
         ORDER BY a.at {order}, a.id {order} LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![q.user_id, kind_pattern(q.kind), key, q.limit],
        from_row,
    )?;
    let mut rows: Vec<AuditRow> = rows.collect::<Result<_, _>>()?;
    if at.backwards() {
        rows.reverse();
    }
    Ok(rows)
}

/// How many events `q` matches (`q.before` and `q.limit` aside).
pub fn count_matching(conn: &Connection, q: &Query<'_>) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM audit WHERE (?1 IS NULL OR user_id = ?1) AND {KIND_MATCHES}"
        ))?
        .query_row(params![q.user_id, kind_pattern(q.kind)], |r| r.get(0))?)
}

pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM audit")?
        .query_row([], |r| r.get(0))?)
}
