//! The `deliveries` table: the simulated SMS gateway and mailbox, newest
//! first, with status, failure reason and the sealed message text.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Keyset, StoreError, Where, exec, opt_time, parse_col, secs, time};
use crate::domain::Time;
use crate::domain::vocab::{Channel, DeliveryStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: i64,
    pub user_id: i64,
    pub user_email: String,
    pub challenge_id: Option<i64>,
    pub factor_id: Option<i64>,
    pub channel: Channel,
    pub destination: String,
    pub body: Vec<u8>,
    pub code_mac: Option<Vec<u8>>,
    pub status: DeliveryStatus,
    pub reason: Option<String>,
    pub created_at: Time,
    pub updated_at: Time,
    /// Held back by the message limit: when the next may go.
    pub retry_at: Option<Time>,
    /// The challenge's current code hash, expiry and state, to tell whether
    /// this message holds the code that works now.
    pub live: Option<(Option<Vec<u8>>, Time, String)>,
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<DeliveryRow> {
    let live_expiry: Option<i64> = r.get(14)?;
    Ok(DeliveryRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        user_email: r.get(2)?,
        challenge_id: r.get(3)?,
        factor_id: r.get(4)?,
        channel: parse_col(r, 5, Channel::parse)?,
        destination: r.get(6)?,
        body: r.get(7)?,
        code_mac: r.get(8)?,
        status: parse_col(r, 9, DeliveryStatus::parse)?,
        reason: r.get(10)?,
        created_at: time(r.get(11)?),
        updated_at: time(r.get(12)?),
        retry_at: opt_time(r.get(16)?),
        live: match live_expiry {
            Some(expiry) => Some((r.get(13)?, time(expiry), r.get(15)?)),
            None => None,
        },
    })
}

pub struct NewDelivery<'a> {
    pub user_id: i64,
    pub challenge_id: Option<i64>,
    pub factor_id: Option<i64>,
    pub channel: Channel,
    pub destination: &'a str,
    pub body: &'a [u8],
    pub code_mac: Option<&'a [u8]>,
    pub status: DeliveryStatus,
    pub reason: Option<&'a str>,
    pub at: Time,
    /// Held back by the message limit: when the next may go.
    pub retry_at: Option<Time>,
}

pub fn insert(conn: &Connection, d: &NewDelivery<'_>) -> Result<i64, StoreError> {
    exec(
        conn,
        "INSERT INTO deliveries (user_id, challenge_id, factor_id, channel, destination, body,
             code_mac, status, reason, created_at, updated_at, retry_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
        params![
            d.user_id,
            d.challenge_id,
            d.factor_id,
            d.channel.as_str(),
            d.destination,
            d.body,
            d.code_mac,
            d.status.as_str(),
            d.reason,
            secs(d.at),
            d.retry_at.map(secs)
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Newest first by time; `before` (the id of the last message shown) pages
/// back through older ones.
pub fn list(
    conn: &Connection,
    user_id: Option<i64>,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<DeliveryRow>, StoreError> {
    page(
        conn,
        user_id,
        before.map_or(Keyset::First, Keyset::After),
        limit,
    )
}

/// One page of messages (one user's, or everyone's), newest first, read at
/// `at`: `After(id)` are older than message `id`, `Before(id)` newer. Read
/// along the user's index or the time index, so a page costs the same at
/// any size.
pub fn page(
    conn: &Connection,
    user_id: Option<i64>,
    at: Keyset<i64>,
    limit: u32,
) -> Result<Vec<DeliveryRow>, StoreError> {
    let time_of = |id: &i64| -> Result<Option<i64>, StoreError> {
        Ok(conn
            .prepare_cached("SELECT created_at FROM deliveries WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?)
    };
    let Some(at) = at.with_time(time_of)? else {
        return Ok(Vec::new());
    };
    let mut w = Where::default();
    if let Some(user_id) = user_id {
        let p = w.bind(user_id);
        w.and(format!("d.user_id = {p}"));
    }
    let order = w.newest_first(at, "d.created_at", "d.id");
    let limit = w.bind(i64::from(limit));
    let sql = format!(
        "SELECT d.id, d.user_id, u.email, d.challenge_id, d.factor_id, d.channel, d.destination,
                d.body, d.code_mac, d.status, d.reason, d.created_at, d.updated_at,
                c.code_mac, c.expires_at, c.state, d.retry_at
         FROM deliveries d
         JOIN users u ON u.id = d.user_id
         LEFT JOIN challenges c ON c.id = d.challenge_id
         WHERE {} ORDER BY d.created_at {order}, d.id {order} LIMIT {limit}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(w.params(), from_row)?;
    let mut rows: Vec<DeliveryRow> = rows.collect::<Result<_, _>>()?;
    if at.backwards() {
        rows.reverse();
    }
    Ok(rows)
}

/// How the messages of one challenge that carried the code hashed as `mac`
/// went: `None` if no message carried it, else whether any reached the
/// gateway, and the newest failure reason.
pub fn fate_of_code(
    conn: &Connection,
    challenge_id: i64,
    mac: &[u8],
) -> Result<Option<(bool, Option<String>)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT status, reason FROM deliveries
         WHERE challenge_id = ?1 AND code_mac = ?2
         ORDER BY created_at DESC, id DESC",
    )?;
    let rows = stmt.query_map(params![challenge_id, mac], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    let mut fate: Option<(bool, Option<String>)> = None;
    for row in rows {
        let (status, reason) = row?;
        let entry = fate.get_or_insert((false, None));
        if status == DeliveryStatus::Failed.as_str() {
            if entry.1.is_none() {
                entry.1 = reason;
            }
        } else {
            entry.0 = true;
        }
    }
    Ok(fate)
}

/// Failed deliveries since `since`.
pub fn failed_since(conn: &Connection, since: Time) -> Result<u64, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT count(*) FROM deliveries WHERE status = 'failed' AND created_at >= ?1",
        )?
        .query_row([secs(since)], |r| r.get(0))?)
}

/// The users with a failed delivery since `since`, most recent first: each
/// one's id, a reason and when the last failed.
/// Read from the range of failures since then: without statistics `SQLite`
/// would rather walk every message in user order to spare itself sorting
/// the groups, so the index is named.
pub fn failed_users_since(
    conn: &Connection,
    since: Time,
    limit: u32,
) -> Result<Vec<(i64, String, Time)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT d.user_id, max(d.reason), max(d.created_at) FROM deliveries d INDEXED BY deliveries_failed
         WHERE d.status = 'failed' AND d.created_at >= ?1
         GROUP BY d.user_id ORDER BY max(d.created_at) DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![secs(since), limit], |r| {
        Ok((
            r.get(0)?,
            r.get::<_, Option<String>>(1)?.unwrap_or_default(),
            time(r.get(2)?),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When the messages to `user_id` that went out (not failed) at or after
/// `since` were sent, oldest first: what the message limit counts.
pub fn sent_since(conn: &Connection, user_id: i64, since: Time) -> Result<Vec<Time>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT created_at FROM deliveries
         WHERE user_id = ?1 AND created_at >= ?2 AND status <> 'failed'
         ORDER BY created_at LIMIT 1000",
    )?;
    let rows = stmt.query_map(params![user_id, secs(since)], |r| {
        r.get::<_, i64>(0).map(time)
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
