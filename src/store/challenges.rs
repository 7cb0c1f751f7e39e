//! The `challenges` table: an open login, export or enrolment challenge, so a
//! CLI login can span several commands: code hash, expiry, attempts, resends.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{StoreError, exec, opt_time, parse_col, secs, time};
use crate::domain::Time;
use crate::domain::vocab::{ChallengePurpose, ChallengeState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRow {
    pub id: i64,
    pub user_id: i64,
    pub factor_id: Option<i64>,
    pub purpose: ChallengePurpose,
    pub device_id: Option<i64>,
    pub ip: String,
    pub code_mac: Option<Vec<u8>>,
    pub code_sealed: Option<Vec<u8>>,
    pub expires_at: Time,
    pub attempts: u32,
    pub max_attempts: u32,
    pub resends: u32,
    pub last_sent_at: Time,
    pub state: ChallengeState,
    pub created_at: Time,
    pub closed_at: Option<Time>,
}

const COLUMNS: &str = "id, user_id, factor_id, purpose, device_id, ip, code_mac, code_sealed, \
     expires_at, attempts, max_attempts, resends, last_sent_at, state, created_at, closed_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<ChallengeRow> {
    Ok(ChallengeRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        factor_id: r.get(2)?,
        purpose: parse_col(r, 3, ChallengePurpose::parse)?,
        device_id: r.get(4)?,
        ip: r.get(5)?,
        code_mac: r.get(6)?,
        code_sealed: r.get(7)?,
        expires_at: time(r.get(8)?),
        attempts: r.get(9)?,
        max_attempts: r.get(10)?,
        resends: r.get(11)?,
        last_sent_at: time(r.get(12)?),
        state: parse_col(r, 13, ChallengeState::parse)?,
        created_at: time(r.get(14)?),
        closed_at: opt_time(r.get(15)?),
    })
}

pub struct NewChallenge<'a> {
    pub user_id: i64,
    pub factor_id: i64,
    pub purpose: ChallengePurpose,
    pub device_id: Option<i64>,
    pub ip: &'a str,
    pub code_mac: Option<&'a [u8]>,
    pub code_sealed: Option<&'a [u8]>,
    pub expires_at: Time,
    pub max_attempts: u32,
    pub at: Time,
}

pub fn insert(conn: &Connection, c: &NewChallenge<'_>) -> Result<i64, StoreError> {
    exec(
        conn,
        "INSERT INTO challenges (user_id, factor_id, purpose, device_id, ip, code_mac, code_sealed,
             expires_at, max_attempts, last_sent_at, state, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'open', ?10)",
        params![
            c.user_id,
            c.factor_id,
            c.purpose.as_str(),
            c.device_id,
            c.ip,
            c.code_mac,
            c.code_sealed,
            secs(c.expires_at),
            c.max_attempts,
            secs(c.at)
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<ChallengeRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM challenges WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

/// The newest open enrolment challenge for a factor.
pub fn open_enrolment(
    conn: &Connection,
    factor_id: i64,
) -> Result<Option<ChallengeRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM challenges WHERE factor_id = ?1 AND purpose = 'enrol' AND state = 'open'
         ORDER BY id DESC LIMIT 1"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([factor_id], from_row)
        .optional()?)
}

/// The user's most recent challenges, newest first.
pub fn recent_for_user(
    conn: &Connection,
    user_id: i64,
    limit: u32,
) -> Result<Vec<ChallengeRow>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM challenges WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![user_id, limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn record_attempt(conn: &Connection, id: i64, attempts: u32) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE challenges SET attempts = ?2 WHERE id = ?1",
        params![id, attempts],
    )?;
    Ok(())
}

pub fn close(
    conn: &Connection,
    id: i64,
    state: ChallengeState,
    at: Time,
) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE challenges SET state = ?2, closed_at = ?3 WHERE id = ?1",
        params![id, state.as_str(), secs(at)],
    )?;
    Ok(())
}

/// A resend: with a new code (hash, sealed copy, expiry) or the same one.
pub fn resent(
    conn: &Connection,
    id: i64,
    new_code: Option<(&[u8], &[u8], Time)>,
    at: Time,
) -> Result<(), StoreError> {
    match new_code {
        Some((mac, sealed, expires_at)) => exec(
            conn,
            "UPDATE challenges SET resends = resends + 1, last_sent_at = ?2,
                 code_mac = ?3, code_sealed = ?4, expires_at = ?5
             WHERE id = ?1",
            params![id, secs(at), mac, sealed, secs(expires_at)],
        )?,
        None => exec(
            conn,
            "UPDATE challenges SET resends = resends + 1, last_sent_at = ?2 WHERE id = ?1",
            params![id, secs(at)],
        )?,
    };
    Ok(())
}

/// Close every open challenge of a user (reset, disable).
pub fn cancel_open(conn: &Connection, user_id: i64, at: Time) -> Result<usize, StoreError> {
    Ok(exec(
        conn,
        "UPDATE challenges SET state = 'cancelled', closed_at = ?2 WHERE user_id = ?1 AND state = 'open'",
        params![user_id, secs(at)],
    )?)
}

/// Close a user's open challenges for one purpose: a new login supersedes the
/// one before it, so only the newest code sent for it works.
pub fn cancel_open_for_purpose(
    conn: &Connection,
    user_id: i64,
    purpose: ChallengePurpose,
    at: Time,
) -> Result<usize, StoreError> {
    Ok(exec(
        conn,
        "UPDATE challenges SET state = 'cancelled', closed_at = ?3
         WHERE user_id = ?1 AND purpose = ?2 AND state = 'open'",
        params![user_id, purpose.as_str(), secs(at)],
    )?)
}

/// Close a factor's open challenges (it was removed or pointed elsewhere).
pub fn cancel_open_for_factor(
    conn: &Connection,
    factor_id: i64,
    at: Time,
) -> Result<usize, StoreError> {
    Ok(exec(
        conn,
        "UPDATE challenges SET state = 'cancelled', closed_at = ?2 WHERE factor_id = ?1 AND state = 'open'",
        params![factor_id, secs(at)],
    )?)
}
