//! The `backup_codes` table: keyed hashes of one batch per user, and when
//! and from where each was used.

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, exec, opt_time, secs, time};
use crate::domain::Time;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRow {
    pub position: u32,
    pub created_at: Time,
    pub used_at: Option<Time>,
    pub used_ip: Option<String>,
}

/// Replace the user's batch with these keyed hashes, in order.
pub fn replace_batch(
    conn: &Connection,
    user_id: i64,
    macs: &[[u8; 32]],
    at: Time,
) -> Result<usize, StoreError> {
    let removed = delete_rows(conn, user_id)?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO backup_codes (user_id, position, code_mac, created_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, mac) in macs.iter().enumerate() {
        stmt.execute(params![user_id, i + 1, mac.as_slice(), secs(at)])?;
    }
    set_totals(conn, user_id, macs.len())?;
    Ok(removed)
}

/// Remove a user's codes, and their count with them.
pub fn delete_for_user(conn: &Connection, user_id: i64) -> Result<usize, StoreError> {
    let removed = delete_rows(conn, user_id)?;
    set_totals(conn, user_id, 0)?;
    Ok(removed)
}

fn delete_rows(conn: &Connection, user_id: i64) -> Result<usize, StoreError> {
    Ok(exec(
        conn,
        "DELETE FROM backup_codes WHERE user_id = ?1",
        [user_id],
    )?)
}

/// A user's totals once a whole batch is written (all unused) or removed:
/// one update of the user per batch (schema step 8), where a trigger per
/// row made ten.
fn set_totals(conn: &Connection, user_id: i64, fresh: usize) -> Result<(), StoreError> {
    let fresh = i64::try_from(fresh).unwrap_or(i64::MAX);
    exec(
        conn,
        "UPDATE users SET codes_total = ?2, codes_left = ?2
         WHERE id = ?1 AND (codes_total, codes_left) IS NOT (?2, ?2)",
        params![user_id, fresh],
    )?;
    Ok(())
}

/// What a matching code's row says: unused (its id), or used (when, where).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Unused(i64),
    Used { at: Time, ip: Option<String> },
}

pub fn find(conn: &Connection, user_id: i64, mac: &[u8; 32]) -> Result<Option<Match>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, used_at, used_ip FROM backup_codes WHERE user_id = ?1 AND code_mac = ?2",
        )?
        .query_row(params![user_id, mac.as_slice()], |r| {
            let used: Option<i64> = r.get(1)?;
            Ok(match used {
                None => Match::Unused(r.get(0)?),
                Some(at) => Match::Used {
                    at: time(at),
                    ip: r.get(2)?,
                },
            })
        })
        .optional()?)
}

pub fn mark_used(conn: &Connection, id: i64, at: Time, ip: &str) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE backup_codes SET used_at = ?2, used_ip = ?3 WHERE id = ?1 AND used_at IS NULL",
        params![id, secs(at), ip],
    )?;
    Ok(())
}

pub fn for_user(conn: &Connection, user_id: i64) -> Result<Vec<CodeRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT position, created_at, used_at, used_ip FROM backup_codes WHERE user_id = ?1
         ORDER BY position",
    )?;
    let rows = stmt.query_map([user_id], |r| {
        Ok(CodeRow {
            position: r.get(0)?,
            created_at: time(r.get(1)?),
            used_at: opt_time(r.get(2)?),
            used_ip: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
