//! The `factors` table: a user's TOTP, SMS and email factors, with the sealed
//! TOTP secret, drift and the last step used (the replay guard).

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{StoreError, exec, opt_time, parse_col, secs, time};
use crate::domain::totp::FactorState;
use crate::domain::{FactorKind, FactorStatus, Time};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorRow {
    pub id: i64,
    pub user_id: i64,
    pub kind: FactorKind,
    pub status: FactorStatus,
    pub label: String,
    pub destination: Option<String>,
    pub secret: Option<Vec<u8>>,
    pub drift: i64,
    pub last_step: Option<i64>,
    pub last_used_at: Option<Time>,
    pub last_used_ip: Option<String>,
    pub created_at: Time,
    pub confirmed_at: Option<Time>,
    /// The newest step a help-desk resync spent (the second code read out).
    pub resync_step: Option<i64>,
    pub resynced_at: Option<Time>,
}

impl FactorRow {
    /// What a TOTP check needs: the drift and the steps already spent.
    pub fn state(&self) -> FactorState {
        FactorState {
            drift: self.drift,
            last_step: self.last_step,
            resync_step: self.resync_step,
        }
    }
}

const COLUMNS: &str = "id, user_id, kind, status, label, destination, secret, drift_steps, \
     last_step, last_used_at, last_used_ip, created_at, confirmed_at, resync_step, resynced_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<FactorRow> {
    Ok(FactorRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        kind: parse_col(r, 2, FactorKind::parse)?,
        status: parse_col(r, 3, FactorStatus::parse)?,
        label: r.get(4)?,
        destination: r.get(5)?,
        secret: r.get(6)?,
        drift: r.get(7)?,
        last_step: r.get(8)?,
        last_used_at: opt_time(r.get(9)?),
        last_used_ip: r.get(10)?,
        created_at: time(r.get(11)?),
        confirmed_at: opt_time(r.get(12)?),
        resync_step: r.get(13)?,
        resynced_at: opt_time(r.get(14)?),
    })
}

pub struct NewFactor<'a> {
    pub user_id: i64,
    pub kind: FactorKind,
    pub status: FactorStatus,
    pub label: &'a str,
    pub destination: Option<&'a str>,
    pub secret: Option<&'a [u8]>,
    pub created_at: Time,
}

pub fn insert(conn: &Connection, f: &NewFactor<'_>) -> Result<i64, StoreError> {
    exec(
        conn,
        "INSERT INTO factors (user_id, kind, status, label, destination, secret, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            f.user_id,
            f.kind.as_str(),
            f.status.as_str(),
            f.label,
            f.destination,
            f.secret,
            secs(f.created_at)
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<FactorRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM factors WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

pub fn for_user(conn: &Connection, user_id: i64) -> Result<Vec<FactorRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM factors WHERE user_id = ?1 ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([user_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn set_status(conn: &Connection, id: i64, status: FactorStatus) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE factors SET status = ?2 WHERE id = ?1",
        params![id, status.as_str()],
    )?;
    Ok(())
}

/// Make a pending factor active, remembering the step its confirming code used.
pub fn confirm(conn: &Connection, id: i64, at: Time, step: Option<i64>) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE factors SET status = 'active', confirmed_at = ?2, last_step = coalesce(?3, last_step)
         WHERE id = ?1",
        params![id, secs(at), step],
    )?;
    Ok(())
}

/// Record a successful use; `step` is the TOTP step that must not be reused.
pub fn record_use(
    conn: &Connection,
    id: i64,
    at: Time,
    ip: &str,
    step: Option<i64>,
) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE factors SET last_used_at = ?2, last_used_ip = ?3, last_step = coalesce(?4, last_step)
         WHERE id = ?1",
        params![id, secs(at), ip, step],
    )?;
    Ok(())
}

pub fn set_drift(conn: &Connection, id: i64, drift: i64) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE factors SET drift_steps = ?2 WHERE id = ?1",
        params![id, drift],
    )?;
    Ok(())
}

/// Point an SMS or email factor at a new destination, pending again.
pub fn set_destination(
    conn: &Connection,
    id: i64,
    destination: &str,
    label: &str,
) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE factors SET destination = ?2, label = ?3, status = 'pending', confirmed_at = NULL
         WHERE id = ?1",
        params![id, destination, label],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, id: i64) -> Result<(), StoreError> {
    exec(conn, "DELETE FROM factors WHERE id = ?1", [id])?;
    Ok(())
}

pub fn delete_for_user(conn: &Connection, user_id: i64) -> Result<usize, StoreError> {
    Ok(exec(
        conn,
        "DELETE FROM factors WHERE user_id = ?1",
        [user_id],
    )?)
}

/// Pending enrolments, oldest first: (user id, factor id, kind, started).
pub fn pending(
    conn: &Connection,
    limit: u32,
) -> Result<Vec<(i64, i64, FactorKind, Time)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id, id, kind, created_at FROM factors WHERE status = 'pending'
         ORDER BY created_at LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            parse_col(r, 2, FactorKind::parse)?,
            time(r.get(3)?),
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Mark `step` and all before it as spent by a resync at `at` (the codes read
/// out to the help desk), apart from the last login's step.
pub fn spend_by_resync(conn: &Connection, id: i64, step: i64, at: Time) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE factors SET resync_step = max(coalesce(resync_step, ?2), ?2), resynced_at = ?3
         WHERE id = ?1",
        params![id, step, secs(at)],
    )?;
    Ok(())
}
