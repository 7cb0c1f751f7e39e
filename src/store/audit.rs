//! The `audit` table: one append-only event per use case (actor, user, kind,
//! detail, ip, time), listed newest first with keyset paging.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Keyset, StoreError, Where, secs, time};
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

/// A kind (`login.verify`) or a family (`login`, `login.`): its name
/// without the trailing dot.
fn kind_pattern(kind: Option<&str>) -> Option<&str> {
    kind.map(|k| k.trim().trim_end_matches('.'))
}

/// The most kinds a family filter reads one by one.
const MAX_KINDS: usize = 64;

/// The kinds in the trail that `pattern` names: itself, and every
/// `pattern.*`. Each is found by one step along the kind index, however
/// long the trail.
fn kinds_named(conn: &Connection, pattern: &str) -> Result<Vec<String>, StoreError> {
    let mut kinds = Vec::new();
    let exact: Option<i64> = conn
        .prepare_cached("SELECT 1 FROM audit WHERE kind = ?1 LIMIT 1")?
        .query_row([pattern], |r| r.get(0))
        .optional()?;
    if exact.is_some() {
        kinds.push(pattern.to_owned());
    }
    let hi = format!("{pattern}/");
    let mut after = format!("{pattern}.");
    let mut next = conn.prepare_cached(
        "SELECT kind FROM audit WHERE kind >= ?1 AND kind < ?2 ORDER BY kind LIMIT 1",
    )?;
    while kinds.len() < MAX_KINDS {
        let Some(kind) = next
            .query_row(params![after, hi], |r| r.get::<_, String>(0))
            .optional()?
        else {
            break;
        };
        // The next kind sorts after every `kind…` continuation.
        after = format!("{kind}\u{0}");
        kinds.push(kind);
    }
    Ok(kinds)
}

/// The time of event `id`, to page from.
fn time_of(conn: &Connection, id: i64) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT at FROM audit WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// One page of the events `q` matches, newest first, read at `at` (instead
/// of `q.before`): `After(id)` are older than event `id`, `Before(id)` newer.
/// Each page is read along an index (the user's, the kind's, or time), so
/// it costs the same at any length of trail; a family of kinds is read kind
/// by kind and merged.
pub fn page(
    conn: &Connection,
    q: &Query<'_>,
    at: Keyset<i64>,
) -> Result<Vec<AuditRow>, StoreError> {
    let Some(at) = at.with_time(|id| time_of(conn, *id))? else {
        return Ok(Vec::new());
    };
    let kinds = match kind_pattern(q.kind) {
        None => vec![None],
        Some(pattern) => kinds_named(conn, pattern)?.into_iter().map(Some).collect(),
    };
    let limit = q.limit.max(1);
    let mut rows = Vec::new();
    for kind in &kinds {
        rows.extend(page_of_kind(conn, q.user_id, kind.as_deref(), at, limit)?);
    }
    if kinds.len() > 1 {
        rows.sort_by_key(|r| std::cmp::Reverse((r.at, r.id)));
        if at.backwards() {
            rows.reverse();
        }
        rows.truncate(limit as usize);
    }
    if at.backwards() {
        rows.reverse();
    }
    Ok(rows)
}

/// One page of one kind (or of every kind), in the order it is read.
fn page_of_kind(
    conn: &Connection,
    user_id: Option<i64>,
    kind: Option<&str>,
    at: Keyset<(i64, i64)>,
    limit: u32,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut w = Where::default();
    if let Some(user_id) = user_id {
        let p = w.bind(user_id);
        w.and(format!("a.user_id = {p}"));
    }
    if let Some(kind) = kind {
        let p = w.bind(kind.to_owned());
        w.and(format!("a.kind = {p}"));
    }
    let order = w.newest_first(at, "a.at", "a.id");
    let limit = w.bind(i64::from(limit));
    let sql = format!(
        "SELECT a.id, a.at, a.actor, a.user_id, u.email, a.kind, a.detail, a.ip
         FROM audit a LEFT JOIN users u ON u.id = a.user_id
         WHERE {} ORDER BY a.at {order}, a.id {order} LIMIT {limit}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(w.params(), from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many events the trail holds (the counter the schema keeps).
pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    super::attention::events(conn)
}
