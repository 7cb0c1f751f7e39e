//! The `audit` table: one append-only event per use case, sealed into a chain
//! whose end is `audit_head`; listed newest first, or read in id order.

use rusqlite::{Connection, OptionalExtension, Row, params};

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
        os_user: r.get(8)?,
        written_at: opt_time(r.get(9)?),
        clock_set: r.get(10)?,
        facts: r.get(11)?,
    })
}

/// Append an event with its place in the chain and its MAC. The id is the
/// caller's (see [`tip`]): the MAC covers it, so it is known beforehand.
pub fn insert(conn: &Connection, f: &Fields<'_>, seq: i64, mac: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO audit (id, at, actor, user_id, kind, detail, ip, os_user, written_at,
             clock_set, seq, mac, facts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        f.id,
        f.at,
        f.actor,
        f.user_id,
        f.kind,
        f.detail,
        f.ip,
        f.os_user,
        f.written_at,
        f.clock_set,
        seq,
        mac,
        f.facts
    ])?;
    Ok(())
}

/// The chain's head as stored, and the id the next event gets: past every
/// id the table ever gave out (its AUTOINCREMENT sequence), so a deleted
/// event's id is never given again. One read, once per transaction.
pub fn tip(conn: &Connection) -> Result<(StoredHead, i64), StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT h.chained, h.events, h.last_id, h.last_mac, h.started_at, h.adopted,
                 h.adopted_last_id, h.mac,
                 max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'audit'), 0),
                     coalesce((SELECT max(id) FROM audit), 0)) + 1
             FROM audit_head h WHERE h.one = 1",
        )?
        .query_row([], |r| Ok((head_from(r)?, r.get(8)?)))?)
}

fn head_from(r: &Row<'_>) -> rusqlite::Result<StoredHead> {
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
pub fn head(conn: &Connection) -> Result<StoredHead, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT chained, events, last_id, last_mac, started_at, adopted, adopted_last_id, mac
             FROM audit_head WHERE one = 1",
        )?
        .query_row([], head_from)?)
}

/// Move the head to `head` (with its MAC), in the transaction that added
/// its last event.
pub fn set_head(conn: &Connection, head: &Head, mac: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE audit_head SET events = ?1, last_id = ?2, last_mac = ?3, mac = ?4 WHERE one = 1",
    )?
    .execute(params![head.events, head.last_id, head.last_mac, mac])?;
    Ok(())
}

/// Mark the head chained, at `head`: once, when the events a database held
/// before its chain began have been sealed.
pub fn start_chain(conn: &Connection, head: &Head, mac: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE audit_head SET chained = 1, events = ?1, last_id = ?2, last_mac = ?3,
             started_at = ?4, adopted = ?5, adopted_last_id = ?6, mac = ?7 WHERE one = 1",
    )?
    .execute(params![
        head.events,
        head.last_id,
        head.last_mac,
        head.started_at,
        head.adopted,
        head.adopted_last_id,
        mac
    ])?;
    Ok(())
}

/// Whether any event carries a seal (a head marked unchained over sealed
/// events was reset by hand, and must not be chained afresh).
pub fn any_sealed(conn: &Connection) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM audit WHERE mac IS NOT NULL OR seq IS NOT NULL)",
        )?
        .query_row([], |r| r.get(0))?)
}

/// Seal an event written before the chain began (the schema allows this
/// once, while the head is unchained).
pub fn set_seal(conn: &Connection, id: i64, seq: i64, mac: &[u8]) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE audit SET seq = ?2, mac = ?3 WHERE id = ?1")?
        .execute(params![id, seq, mac])?;
    Ok(())
}

/// Up to `limit` events after id `after`, in id order, with their seals:
/// a page of the chain, read along the primary key.
pub fn chain_page(conn: &Connection, after: i64, limit: u32) -> Result<Vec<Sealed>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, os_user, user_id, kind, detail, ip, written_at, clock_set, seq, mac,
             facts
         FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
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
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
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
        let one = Query {
            kind: kind.as_deref(),
            ..q.clone()
        };
        rows.extend(page_of_kind(conn, &one, at, limit)?);
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
    conn: &Connection,
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
        let p = w.bind(kind.to_owned());
        w.and(format!("a.kind = {p}"));
    }
    // The actor's own index answers it only alone (see [`Query`]).
    if let Some(actor) = q.actor.filter(|_| q.user_id.is_none() && q.kind.is_none()) {
        let p = w.bind(actor.to_owned());
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
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(w.params(), from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Up to `limit` events after id `after`, in id order (as they were
/// written), read along the primary key: what `audit --follow` prints.
pub fn written_after(
    conn: &Connection,
    after: i64,
    limit: u32,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT a.id, a.at, a.actor, a.user_id, u.email, a.kind, a.detail, a.ip, a.os_user,
             a.written_at, a.clock_set, a.facts
         FROM audit a LEFT JOIN users u ON u.id = a.user_id
         WHERE a.id > ?1 ORDER BY a.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The id of the newest event, from the chain's head (one row): cheap
/// enough to ask every second. `None` before the first event (or before
/// the chain, when the head is not kept).
pub fn last_id(conn: &Connection) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT last_id FROM audit_head WHERE one = 1")?
        .query_row([], |r| r.get(0))?)
}

/// How many events the trail holds (the counter the schema keeps).
pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    super::attention::events(conn)
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
    pub fn reset_head(conn: &Connection) {
        conn.execute_batch(
            "DROP TRIGGER audit_head_stays_chained;
             UPDATE audit_head SET chained = 0;",
        )
        .unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::super::{APPLICATION_ID, Store, steps};
    use super::*;

    /// A database at schema step 3 holding three events, ids 1, 2 and 5.
    fn at_step_3() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        for (i, step) in steps().iter().take(3).enumerate() {
            conn.execute_batch(step).unwrap();
            conn.pragma_update(None, "user_version", i + 1).unwrap();
        }
        conn.execute_batch(
            "INSERT INTO users (id, email, role, status, created_at, grace_from)
                 VALUES (1, 'a@example.com', 'member', 'active', 0, 0);
             INSERT INTO audit (id, at, actor, user_id, kind, detail, ip) VALUES
                 (1, 10, 'admin', 1, 'user.add', 'added', NULL),
                 (2, 20, 'admin', 1, 'user.unlock', 'unlocked', '192.0.2.1'),
                 (5, 30, 'admin', NULL, 'policy.set', 'x', NULL);",
        )
        .unwrap();
        conn
    }

    fn names(conn: &Connection, kind: &str) -> Vec<String> {
        let mut stmt = conn
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = ?1 AND tbl_name = 'audit'
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )
            .unwrap();
        stmt.query_map([kind], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn step_4_rebuilds_the_trail_with_its_events_indexes_and_triggers() {
        let conn = at_step_3();
        let (indexes, triggers) = (names(&conn, "index"), names(&conn, "trigger"));
        let mut store = Store::from_connection(conn);
        store.migrate().unwrap();
        let conn = store.conn().unwrap();
        let kept: Vec<(i64, i64, String, Option<i64>)> = conn
            .prepare("SELECT id, at, kind, seq FROM audit ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            kept,
            vec![
                (1, 10, "user.add".to_owned(), None),
                (2, 20, "user.unlock".to_owned(), None),
                (5, 30, "policy.set".to_owned(), None),
            ]
        );
        // Step 10 adds the actor's index; the rest are rebuilt as they were.
        let mut want = indexes;
        want.push("audit_actor".to_owned());
        want.sort();
        assert_eq!(names(conn, "index"), want);
        // All kept, but the event counter, which step 8 retires for the
        // chain head's count.
        let kept: Vec<String> = triggers
            .into_iter()
            .filter(|t| t != "counters_audit_insert")
            .collect();
        assert_eq!(names(conn, "trigger"), kept);
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'audit'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.contains("AUTOINCREMENT"), "{sql}");
        // Unchained until the desk seals them, and counted as before.
        let (head, next) = tip(conn).unwrap();
        assert!(!head.chained);
        assert_eq!((head.events, next), (0, 6));
        assert_eq!(count(conn).unwrap(), 3);
    }

    #[test]
    fn the_trail_is_append_only_but_for_sealing_old_events_once() {
        let mut store = Store::from_connection(at_step_3());
        store.migrate().unwrap();
        let conn = store.conn().unwrap();
        let refused = |sql: &str| {
            let e = conn.execute(sql, []).unwrap_err();
            assert!(e.to_string().contains("append-only"), "{sql}: {e}");
        };
        refused("UPDATE audit SET detail = 'x' WHERE id = 1");
        refused("UPDATE audit SET seq = 1, mac = x'01', detail = 'x' WHERE id = 1");
        refused("UPDATE audit SET id = 9 WHERE id = 5");
        refused("DELETE FROM audit WHERE id = 1");
        refused("DELETE FROM audit_head");
        // Sealing: once, while the head is unchained.
        set_seal(conn, 1, 1, &[1; 32]).unwrap();
        refused("UPDATE audit SET mac = x'02' WHERE id = 1");
        let head = Head::start(0);
        start_chain(conn, &head, &[0; 32]).unwrap();
        let e = set_seal(conn, 2, 2, &[2; 32]).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        refused("UPDATE audit_head SET chained = 0");
    }

    #[test]
    fn a_deleted_event_s_id_is_not_given_again() {
        let mut store = Store::from_connection(at_step_3());
        store.migrate().unwrap();
        let conn = store.conn().unwrap();
        conn.execute_batch(
            "DROP TRIGGER audit_append_only_delete;
             DELETE FROM audit WHERE id = 5;",
        )
        .unwrap();
        assert_eq!(tip(conn).unwrap().1, 6);
        // Nor one the table gave out and lost some other way.
        conn.execute(
            "UPDATE sqlite_sequence SET seq = 40 WHERE name = 'audit'",
            [],
        )
        .unwrap();
        assert_eq!(tip(conn).unwrap().1, 41);
    }

    #[test]
    fn the_chain_reads_in_id_order_a_page_at_a_time() {
        let mut store = Store::from_connection(at_step_3());
        store.migrate().unwrap();
        let conn = store.conn().unwrap();
        let first = chain_page(conn, i64::MIN, 2).unwrap();
        assert_eq!(first.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(first[1].ip.as_deref(), Some("192.0.2.1"));
        let rest = chain_page(conn, 2, 2).unwrap();
        assert_eq!(rest.iter().map(|e| e.id).collect::<Vec<_>>(), [5]);
        assert!(chain_page(conn, 5, 2).unwrap().is_empty());
    }
}
