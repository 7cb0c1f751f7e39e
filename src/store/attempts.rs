//! The `attempts` table: every second-factor attempt and its outcome, with the
//! evidence the doctor reads (the step a wrong code matched; a replay's origin).

use rusqlite::{Connection, Row, params};

use super::{StoreError, exec, opt_time, parse_col, secs, time};
use crate::domain::Time;
use crate::domain::vocab::{AttemptKind, AttemptOutcome};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub id: i64,
    pub user_id: i64,
    pub challenge_id: Option<i64>,
    pub factor_id: Option<i64>,
    pub kind: AttemptKind,
    pub outcome: AttemptOutcome,
    pub ip: String,
    pub at: Time,
    pub matched_offset: Option<i64>,
    pub first_used_at: Option<Time>,
    pub first_used_ip: Option<String>,
    /// The replayed step was spent by a help-desk resync, not a login.
    pub first_used_by_resync: bool,
}

/// Who first spent a replayed code: a login (when, from where) or a resync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FirstUse {
    Login { at: Time, ip: Option<String> },
    Resync { at: Time },
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<AttemptRow> {
    Ok(AttemptRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        challenge_id: r.get(2)?,
        factor_id: r.get(3)?,
        kind: parse_col(r, 4, AttemptKind::parse)?,
        outcome: parse_col(r, 5, AttemptOutcome::parse)?,
        ip: r.get(6)?,
        at: time(r.get(7)?),
        matched_offset: r.get(8)?,
        first_used_at: opt_time(r.get(9)?),
        first_used_ip: r.get(10)?,
        first_used_by_resync: r.get(11)?,
    })
}

pub struct NewAttempt<'a> {
    pub user_id: i64,
    pub challenge_id: Option<i64>,
    pub factor_id: Option<i64>,
    pub kind: AttemptKind,
    pub outcome: AttemptOutcome,
    pub ip: &'a str,
    pub at: Time,
    pub matched_offset: Option<i64>,
    pub first_used: Option<&'a FirstUse>,
}

pub fn insert(conn: &Connection, a: &NewAttempt<'_>) -> Result<i64, StoreError> {
    exec(
        conn,
        "INSERT INTO attempts (user_id, challenge_id, factor_id, kind, outcome, ip, at,
             matched_offset, first_used_at, first_used_ip, first_used_by_resync)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            a.user_id,
            a.challenge_id,
            a.factor_id,
            a.kind.as_str(),
            a.outcome.as_str(),
            a.ip,
            secs(a.at),
            a.matched_offset,
            a.first_used.map(|u| match u {
                FirstUse::Login { at, .. } | FirstUse::Resync { at } => secs(*at),
            }),
            match a.first_used {
                Some(FirstUse::Login { ip, .. }) => ip.as_deref(),
                _ => None,
            },
            matches!(a.first_used, Some(FirstUse::Resync { .. }))
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// A user's attempts since `since`, newest first.
pub fn for_user_since(
    conn: &Connection,
    user_id: i64,
    since: Time,
    limit: u32,
) -> Result<Vec<AttemptRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, user_id, challenge_id, factor_id, kind, outcome, ip, at, matched_offset,
                first_used_at, first_used_ip, first_used_by_resync
         FROM attempts WHERE user_id = ?1 AND at >= ?2 ORDER BY at DESC, id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![user_id, secs(since), limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// When a user's failed attempts (wrong or replayed codes) with an id
/// above `after_id` happened, newest first, back to `from`.
pub fn failure_times(
    conn: &Connection,
    user_id: i64,
    after_id: i64,
    from: Time,
    limit: u32,
) -> Result<Vec<Time>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at FROM attempts
         WHERE user_id = ?1 AND outcome IN ('invalid', 'replayed') AND id > ?2 AND at >= ?3
         ORDER BY id DESC LIMIT ?4",
    )?;
    let rows = stmt.query_map(params![user_id, after_id, secs(from), limit], |r| {
        Ok(time(r.get(0)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A code tried again from another address than its first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayedElsewhere {
    pub user_id: i64,
    pub at: Time,
    pub ip: String,
}

/// Authenticator codes tried again from another address than their first
/// use, at or after `since`, on factors still enrolled (replacing or
/// removing the factor settles it): each user's newest, newest first.
pub fn replayed_elsewhere(
    conn: &Connection,
    since: Time,
    limit: u32,
) -> Result<Vec<ReplayedElsewhere>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, max(at), ip FROM attempts INDEXED BY attempts_replayed_elsewhere
         WHERE kind = 'totp' AND outcome = 'replayed' AND first_used_by_resync = 0
           AND first_used_ip IS NOT NULL AND first_used_ip <> ip
           AND at >= ?1 AND factor_id IS NOT NULL
         GROUP BY user_id ORDER BY max(at) DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![secs(since), limit], |r| {
        Ok(ReplayedElsewhere {
            user_id: r.get(0)?,
            at: time(r.get(1)?),
            ip: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The newest attempt id of all (0 with none): a reset point for counting.
pub fn last_id(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(id), 0) FROM attempts")?
        .query_row([], |r| r.get(0))?)
}
