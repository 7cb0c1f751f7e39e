//! The `audit` table: one append-only event per use case, sealed into a chain
//! whose end is `audit_head`; listed newest first, or read in id order.

use super::engine::{Db, Engine, Row};
use super::{Keyset, StoreError, Where, opt_time, time};
use crate::domain::Time;
use crate::domain::chain::{Fields, Head, Sealed, StoredHead};

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
    /// The operating-system account that wrote it (None before the chain).
    pub os_user: Option<String>,
    /// The real time it was written (None before the chain).
    pub written_at: Option<Time>,
    /// Whether the clock had been set (`--now`) or moved (None before the chain).
    pub clock_set: Option<bool>,
    /// Its typed facts, as stored (JSON).
    pub facts: Option<String>,
}

fn from_row(r: &Row) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        id: r.get(0)?,
        at: time(r.get(1)?),
        actor: r.get(2)?,
        user_id: r.get(3)?,
        user_email: r.get(4)?,
        kind: r.get(5)?,
        detail: r.get(6)?,
        ip: r.get(7)?,
        os_user: r.get(8)?,
        written_at: opt_time(r.get(9)?),
        clock_set: r.get(10)?,
        facts: r.get(11)?,
    })
}

/// Append an event with its place in the chain and its MAC. The id is the
/// caller's (see [`tip`]): the MAC covers it, so it is known beforehand.
pub fn insert(db: &Db, f: &Fields<'_>, seq: i64, mac: &[u8]) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO audit (id, at, actor, user_id, kind, detail, ip, os_user, written_at,
             clock_set, seq, mac, facts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        &[
            f.id.into(),
            f.at.into(),
            f.actor.into(),
            f.user_id.into(),
            f.kind.into(),
            f.detail.into(),
            f.ip.into(),
            f.os_user.into(),
            f.written_at.into(),
            f.clock_set.into(),
            seq.into(),
            mac.into(),
            f.facts.into(),
        ],
    )?;
    Ok(())
}

/// The chain's head as stored, and the id the next event gets: past every
/// id the table ever gave out, so a deleted event's id is never given
/// again. One read, once per writing transaction.
///
/// On `SQLite` that is the table's AUTOINCREMENT sequence. On `PostgreSQL`
/// the id is drawn from the identity column's sequence (`nextval`: a
/// transaction run again, or rolled back, leaves a gap), or past the
/// newest event when a batch wrote ids beyond the last one drawn (the
/// desk counts on from the id it read, and inserts each explicitly).
pub fn tip(db: &Db) -> Result<(StoredHead, i64), StoreError> {
    let sql = match db.engine() {
        Engine::Sqlite => {
            "SELECT h.chained, h.events, h.last_id, h.last_mac, h.started_at, h.adopted,
                 h.adopted_last_id, h.mac,
                 max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit'), 0),
                     coalesce((SELECT max(id) FROM audit), 0)) + 1
             FROM audit_head h WHERE h.one = 1"
        }
        Engine::Postgres => {
            "SELECT h.chained, h.events, h.last_id, h.last_mac, h.started_at, h.adopted,
                 h.adopted_last_id, h.mac,
                 GREATEST(nextval(pg_get_serial_sequence('audit', 'id')),
                          (SELECT coalesce(max(id), 0) + 1 FROM audit))
             FROM audit_head h WHERE h.one = 1"
        }
    };
    let r = db.query_one(sql, &[])?;
    Ok((head_from(&r)?, r.get(8)?))
}

fn head_from(r: &Row) -> Result<StoredHead, StoreError> {
    Ok(StoredHead {
        chained: r.get(0)?,
        events: r.get(1)?,
        last_id: r.get(2)?,
        last_mac: r.get(3)?,
        started_at: r.get(4)?,
        adopted: r.get(5)?,
        adopted_last_id: r.get(6)?,
        mac: r.get(7)?,
    })
}

/// The chain's head as stored.
pub fn head(db: &Db) -> Result<StoredHead, StoreError> {
    head_from(&db.query_one(
        "SELECT chained, events, last_id, last_mac, started_at, adopted, adopted_last_id, mac
         FROM audit_head WHERE one = 1",
        &[],
    )?)
}

/// Move the head to `head` (with its MAC), in the transaction that added
/// its last event.
pub fn set_head(db: &Db, head: &Head, mac: &[u8]) -> Result<(), StoreError> {
    db.execute(
        "UPDATE audit_head SET events = ?1, last_id = ?2, last_mac = ?3, mac = ?4 WHERE one = 1",
        &[
            head.events.into(),
            head.last_id.into(),
            head.last_mac.as_slice().into(),
            mac.into(),
        ],
    )?;
    Ok(())
}

/// Mark the head chained, at `head`: once, when the events a database held
/// before its chain began have been sealed.
pub fn start_chain(db: &Db, head: &Head, mac: &[u8]) -> Result<(), StoreError> {
    db.execute(
        "UPDATE audit_head SET chained = 1, events = ?1, last_id = ?2, last_mac = ?3,
             started_at = ?4, adopted = ?5, adopted_last_id = ?6, mac = ?7 WHERE one = 1",
        &[
            head.events.into(),
            head.last_id.into(),
            head.last_mac.as_slice().into(),
            head.started_at.into(),
            head.adopted.into(),
            head.adopted_last_id.into(),
            mac.into(),
        ],
    )?;
    Ok(())
}

/// Whether any event carries a seal (a head marked unchained over sealed
/// events was reset by hand, and must not be chained afresh).
pub fn any_sealed(db: &Db) -> Result<bool, StoreError> {
    db.query_one(
        "SELECT EXISTS (SELECT 1 FROM audit WHERE mac IS NOT NULL OR seq IS NOT NULL)",
        &[],
    )?
    .get(0)
}

/// Seal an event written before the chain began (the schema allows this
/// once, while the head is unchained).
pub fn set_seal(db: &Db, id: i64, seq: i64, mac: &[u8]) -> Result<(), StoreError> {
    db.execute(
        "UPDATE audit SET seq = ?2, mac = ?3 WHERE id = ?1",
        &[id.into(), seq.into(), mac.into()],
    )?;
    Ok(())
}

/// Up to `limit` events after id `after`, in id order, with their seals:
/// a page of the chain, read along the primary key.
pub fn chain_page(db: &Db, after: i64, limit: u32) -> Result<Vec<Sealed>, StoreError> {
    db.query(
        "SELECT id, at, actor, os_user, user_id, kind, detail, ip, written_at, clock_set, seq, mac,
             facts
         FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
        &[after.into(), limit.into()],
    )?
    .iter()
    .map(|r| {
        Ok(Sealed {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            os_user: r.get(3)?,
            user_id: r.get(4)?,
            kind: r.get(5)?,
            detail: r.get(6)?,
            ip: r.get(7)?,
            written_at: r.get(8)?,
            clock_set: r.get(9)?,
            seq: r.get(10)?,
            mac: r.get(11)?,
            facts: r.get(12)?,
        })
    })
    .collect()
}

/// Which events to list: all, one user's, one kind (`login.verify`) or one
/// family (`login` or `login.`: every `login.*`), one actor's, within a time
/// range (`since` inclusive, `until` exclusive, in seconds).
/// Newest first by time; `before` is the id of the last event already shown.
///
/// Each filter given is answered by an index, but `actor` beside `user_id`
/// or `kind`: no index holds those together, so the desk reads such a list
/// without the actor and keeps the actor's rows itself (see `desk::search`).
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub user_id: Option<i64>,
    pub kind: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub before: Option<i64>,
    pub limit: u32,
}

pub fn list(db: &Db, q: &Query<'_>) -> Result<Vec<AuditRow>, StoreError> {
    page(db, q, q.before.map_or(Keyset::First, Keyset::After))
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
/// long the trail (text sorts bytewise on both engines).
fn kinds_named(db: &Db, pattern: &str) -> Result<Vec<String>, StoreError> {
    let mut kinds = Vec::new();
    // The first kind from `pattern` on, in index order: `kind = ?1 LIMIT 1`
    // would let PostgreSQL's generic plan scan the whole trail for a kind
    // it holds none of.
    let first = db.query_opt(
        "SELECT kind FROM audit WHERE kind >= ?1 ORDER BY kind LIMIT 1",
        &[pattern.into()],
    )?;
    if let Some(row) = first
        && row.get::<String>(0)? == pattern
    {
        kinds.push(pattern.to_owned());
    }
    let hi = format!("{pattern}/");
    // The first `pattern.…`, then each kind past the last found (which
    // sorts after every continuation of it).
    let mut step = (">=", format!("{pattern}."));
    while kinds.len() < MAX_KINDS {
        let (op, after) = &step;
        let sql = format!(
            "SELECT kind FROM audit WHERE kind {op} ?1 AND kind < ?2 ORDER BY kind LIMIT 1"
        );
        let Some(row) = db.query_opt(&sql, &[after.as_str().into(), hi.as_str().into()])? else {
            break;
        };
        let kind: String = row.get(0)?;
        step = (">", kind.clone());
        kinds.push(kind);
    }
    Ok(kinds)
}

/// The time of event `id`, to page from.
fn time_of(db: &Db, id: i64) -> Result<Option<i64>, StoreError> {
    db.query_opt("SELECT at FROM audit WHERE id = ?1", &[id.into()])?
        .map(|r| r.get(0))
        .transpose()
}

/// One page of the events `q` matches, newest first, read at `at` (instead
/// of `q.before`): `After(id)` are older than event `id`, `Before(id)` newer.
/// Each page is read along an index (the user's, the kind's, or time), so
/// it costs the same at any length of trail; a family of kinds is read kind
/// by kind and merged.
pub fn page(db: &Db, q: &Query<'_>, at: Keyset<i64>) -> Result<Vec<AuditRow>, StoreError> {
    let Some(at) = at.with_time(|id| time_of(db, *id))? else {
        return Ok(Vec::new());
    };
    let kinds = match kind_pattern(q.kind) {
        None => vec![None],
        Some(pattern) => kinds_named(db, pattern)?.into_iter().map(Some).collect(),
    };
    let limit = q.limit.max(1);
    let mut rows = Vec::new();
    for kind in &kinds {
        let one = Query {
            kind: kind.as_deref(),
            ..q.clone()
        };
        rows.extend(page_of_kind(db, &one, at, limit)?);
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

/// One page of one kind (`q.kind` is one kind here, not a family, or
/// none), in the order it is read.
fn page_of_kind(
    db: &Db,
    q: &Query<'_>,
    at: Keyset<(i64, i64)>,
    limit: u32,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut w = Where::default();
    if let Some(user_id) = q.user_id {
        let p = w.bind(user_id);
        w.and(format!("a.user_id = {p}"));
    }
    if let Some(kind) = q.kind {
        let p = w.bind(kind);
        w.and(format!("a.kind = {p}"));
    }
    // The actor's own index answers it only alone (see [`Query`]).
    if let Some(actor) = q.actor.filter(|_| q.user_id.is_none() && q.kind.is_none()) {
        let p = w.bind(actor);
        w.and(format!("a.actor = {p}"));
    }
    if let Some(since) = q.since {
        let p = w.bind(since);
        w.and(format!("a.at >= {p}"));
    }
    if let Some(until) = q.until {
        let p = w.bind(until);
        w.and(format!("a.at < {p}"));
    }
    let order = w.newest_first(at, "a.at", "a.id");
    let limit = w.bind(i64::from(limit));
    let sql = format!(
        "SELECT a.id, a.at, a.actor, a.user_id, u.email, a.kind, a.detail, a.ip, a.os_user,
             a.written_at, a.clock_set, a.facts
         FROM audit a LEFT JOIN users u ON u.id = a.user_id
         WHERE {} ORDER BY a.at {order}, a.id {order} LIMIT {limit}",
        w.sql()
    );
    db.query(&sql, w.args())?.iter().map(from_row).collect()
}

/// Up to `limit` events after id `after`, in id order (as they were
/// written), read along the primary key: what `audit --follow` prints.
pub fn written_after(db: &Db, after: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
    db.query(
        "SELECT a.id, a.at, a.actor, a.user_id, u.email, a.kind, a.detail, a.ip, a.os_user,
             a.written_at, a.clock_set, a.facts
         FROM audit a LEFT JOIN users u ON u.id = a.user_id
         WHERE a.id > ?1 ORDER BY a.id LIMIT ?2",
        &[after.into(), limit.into()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// The id of the newest event, from the chain's head (one row): cheap
/// enough to ask every second. `None` before the first event (or before
/// the chain, when the head is not kept).
pub fn last_id(db: &Db) -> Result<Option<i64>, StoreError> {
    db.query_one("SELECT last_id FROM audit_head WHERE one = 1", &[])?
        .get(0)
}

/// How many events the trail holds (the counter the schema keeps).
pub fn count(db: &Db) -> Result<u64, StoreError> {
    super::attention::events(db)
}

/// Databases as a test needs them: from before the chain, or tampered with.
#[cfg(test)]
pub(crate) mod testing {
    use rusqlite::Connection;

    use crate::store::{APPLICATION_ID, steps};

    /// A database file at schema step 3 (before the chain) for the key
    /// whose check value is `key_check`, with `events` events, ids 1 to N.
    pub fn before_the_chain(path: &std::path::Path, key_check: &str, events: i64) {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        for (i, step) in steps().iter().take(3).enumerate() {
            conn.execute_batch(step).unwrap();
            conn.pragma_update(None, "user_version", i + 1).unwrap();
        }
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('key_check', ?1)",
            [key_check],
        )
        .unwrap();
        conn.execute(
            "WITH RECURSIVE n (id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n WHERE id < ?1)
             INSERT INTO audit (id, at, actor, kind, detail)
                 SELECT id, id, 'admin', 'policy.set', 'x' FROM n",
            [events],
        )
        .unwrap();
    }

    /// Events without a seal.
    pub fn unsealed(path: &std::path::Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT count(*) FROM audit WHERE mac IS NULL", [], |r| {
                r.get(0)
            })
            .unwrap()
    }

    /// Mark the head unchained by hand, as someone hoping to have the
    /// events chained afresh would.
    pub fn reset_head(db: &super::Db) {
        db.batch(match db.engine() {
            super::Engine::Sqlite => "DROP TRIGGER audit_head_stays_chained",
            super::Engine::Postgres => {
                "ALTER TABLE audit_head DISABLE TRIGGER audit_head_stays_chained"
            }
        })
        .unwrap();
        db.batch("UPDATE audit_head SET chained = 0").unwrap();
    }
}

#[cfg(test)]
mod tests;
