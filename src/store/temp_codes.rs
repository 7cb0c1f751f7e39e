//! The `temp_codes` table: at most one temporary access code per user, as a
//! keyed hash, with who issued it, why, until when, and its one use.

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, opt_time, secs, time};
use crate::domain::Time;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempCodeRow {
    pub code_mac: Vec<u8>,
    pub created_at: Time,
    pub expires_at: Time,
    pub created_by: String,
    pub reason: String,
    pub used_at: Option<Time>,
    pub used_ip: Option<String>,
}

/// A new code for the user, replacing any earlier one (used or not).
pub struct NewTempCode<'a> {
    pub user_id: i64,
    pub code_mac: &'a [u8],
    pub created_at: Time,
    pub expires_at: Time,
    pub created_by: &'a str,
    pub reason: &'a str,
}

/// Store `code`, replacing the user's earlier one; returns the one replaced.
pub fn replace(
    conn: &Connection,
    code: &NewTempCode<'_>,
) -> Result<Option<TempCodeRow>, StoreError> {
    let old = for_user(conn, code.user_id)?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO temp_codes (user_id, code_mac, created_at, expires_at, created_by,
             reason, used_at, used_ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL)",
    )?
    .execute(params![
        code.user_id,
        code.code_mac,
        secs(code.created_at),
        secs(code.expires_at),
        code.created_by,
        code.reason
    ])?;
    Ok(old)
}

/// The user's code, if one was ever issued (and not removed by a reset).
pub fn for_user(conn: &Connection, user_id: i64) -> Result<Option<TempCodeRow>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT code_mac, created_at, expires_at, created_by, reason, used_at, used_ip
             FROM temp_codes WHERE user_id = ?1",
        )?
        .query_row([user_id], |r| {
            Ok(TempCodeRow {
                code_mac: r.get(0)?,
                created_at: time(r.get(1)?),
                expires_at: time(r.get(2)?),
                created_by: r.get(3)?,
                reason: r.get(4)?,
                used_at: opt_time(r.get(5)?),
                used_ip: r.get(6)?,
            })
        })
        .optional()?)
}

/// Spend the user's code: `false` when it was already spent (so it is
/// accepted once, however two logins race).
pub fn mark_used(conn: &Connection, user_id: i64, at: Time, ip: &str) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached(
            "UPDATE temp_codes SET used_at = ?2, used_ip = ?3 WHERE user_id = ?1 AND used_at IS NULL",
        )?
        .execute(params![user_id, secs(at), ip])?;
    Ok(n == 1)
}

/// Remove the user's code (a 2FA reset removes it with the factors).
pub fn delete_for_user(conn: &Connection, user_id: i64) -> Result<usize, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM temp_codes WHERE user_id = ?1")?
        .execute([user_id])?)
}
