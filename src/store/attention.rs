//! The overview's figures and short lists: counts from the counters the
//! schema's triggers keep, lists read a few rows along partial indexes.

use rusqlite::{Connection, params};

use super::users::{COLUMNS, UserRow, from_row};
use super::{StoreError, secs};
use crate::domain::Time;

/// Figures for the overview. None of them counts a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub total: u64,
    pub active: u64,
    pub disabled: u64,
    pub with_factor: u64,
    pub without_factor: u64,
    /// Active users without a factor, and the admins among them.
    pub active_without_factor: u64,
    pub active_admins_without_factor: u64,
    pub locked: u64,
    pub low_codes: u64,
    pub pending: u64,
    pub audit_events: u64,
}

/// The counters, and the locks in force at `now` (a range of the lock index,
/// as long as the list of people locked out right now).
pub fn counts(conn: &Connection, now: Time, backup_low: u32) -> Result<Counts, StoreError> {
    let mut c = Counts::default();
    let mut stmt = conn.prepare_cached("SELECT name, value FROM counters")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (name, value): (String, i64) = (row.get(0)?, row.get(1)?);
        let value = u64::try_from(value).unwrap_or_default();
        match name.as_str() {
            "users" => c.total = value,
            "users_disabled" => c.disabled = value,
            "users_without_factor" => c.without_factor = value,
            "active_without_factor" => c.active_without_factor = value,
            "active_admins_without_factor" => c.active_admins_without_factor = value,
            "factors_pending" => c.pending = value,
            other => {
                let left = other
                    .strip_prefix("codes_left_")
                    .and_then(|n| n.parse::<u32>().ok());
                if left.is_some_and(|n| n <= backup_low) {
                    c.low_codes += value;
                }
            }
        }
    }
    c.active = c.total.saturating_sub(c.disabled);
    c.with_factor = c.total.saturating_sub(c.without_factor);
    c.audit_events = events(conn)?;
    c.locked = conn
        .prepare_cached("SELECT count(*) FROM users WHERE locked_until > ?1")?
        .query_row([secs(now)], |r| r.get(0))?;
    Ok(c)
}

/// How many audit events there are, as the chain's head counts them:
/// every change writes one, so this changes whenever anything does. Only
/// in the moment between the migration and the first sealing, when the head
/// counts nothing yet, are the events counted instead.
pub fn events(conn: &Connection) -> Result<u64, StoreError> {
    let (chained, events): (bool, u64) = conn
        .prepare_cached("SELECT chained, events FROM audit_head")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if chained {
        return Ok(events);
    }
    Ok(conn
        .prepare_cached("SELECT count(*) FROM audit")?
        .query_row([], |r| r.get(0))?)
}

/// How many active users without a factor began their grace after
/// `cutoff` (still in it): a range of the partial index of users without a
/// factor, as long as the list of recent arrivals.
pub fn in_grace_after(
    conn: &Connection,
    cutoff: Time,
    admins_only: bool,
) -> Result<u64, StoreError> {
    let role = if admins_only {
        " AND role = 'admin'"
    } else {
        ""
    };
    let sql = format!(
        "SELECT count(*) FROM users
         WHERE active_factors = 0 AND status = 'active' AND grace_from > ?1{role}"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([secs(cutoff)], |r| r.get(0))?)
}

/// Active users with no active factor whose grace began at or before
/// `cutoff` (so it is over when enforcement applies to them), oldest first.
pub fn without_factor_before(
    conn: &Connection,
    cutoff: Time,
    admins_only: bool,
    limit: u32,
) -> Result<Vec<UserRow>, StoreError> {
    let role = if admins_only {
        " AND role = 'admin'"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE active_factors = 0 AND status = 'active' \
         AND grace_from <= ?1{role} ORDER BY grace_from LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![secs(cutoff), limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Users whose 2FA is locked at `now`, the soonest released first.
pub fn locked(conn: &Connection, now: Time, limit: u32) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE locked_until > ?1 ORDER BY locked_until LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![secs(now), limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Users with backup codes and at most `low` left, the fewest first.
pub fn low_codes(conn: &Connection, low: u32, limit: u32) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE codes_total > 0 AND codes_left <= ?1 \
         ORDER BY codes_left, email LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![low, limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
