//! The `factors` table: a user's TOTP, HOTP, SMS and email factors, with the
//! sealed secret, its parameters, drift or counter, and the replay guard.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{StoreError, exec, opt_time, parse_col, secs, time};
use crate::domain::oath::{Algorithm, Params};
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
    /// How the secret's codes are made (SHA1, 6 digits, 30 s unless imported).
    pub params: Params,
    /// An HOTP token: the counter its next code is expected at. `None` for
    /// a time-based secret (and for SMS and email).
    pub counter: Option<u64>,
    /// A hardware token's serial number, as its seed file named it.
    pub serial: Option<String>,
}

impl FactorRow {
    /// What a TOTP check needs: the drift, the steps already spent, the parameters.
    pub fn state(&self) -> FactorState {
        FactorState {
            drift: self.drift,
            last_step: self.last_step,
            resync_step: self.resync_step,
            params: self.params,
        }
    }

    /// How many digits its codes have.
    pub fn digits(&self) -> usize {
        match self.kind {
            FactorKind::Totp => usize::from(self.params.digits),
            FactorKind::Sms | FactorKind::Email => crate::domain::otp::DIGITS,
        }
    }

    /// Digits typed for this factor that are not of its length: refused
    /// before anything is counted, with the length it wants.
    pub fn wrong_length(&self, code: &str) -> Option<crate::domain::otp::WrongLength> {
        (code.len() != self.digits()).then(|| crate::domain::otp::WrongLength {
            code: crate::domain::text::excerpt(code, 40),
            label: self.label.clone(),
            digits: self.digits(),
        })
    }

    /// A counter-based (HOTP) token rather than a time-based secret.
    pub fn is_hotp(&self) -> bool {
        self.kind == FactorKind::Totp && self.counter.is_some()
    }
}

const COLUMNS: &str = "id, user_id, kind, status, label, destination, secret, drift_steps, \
     last_step, last_used_at, last_used_ip, created_at, confirmed_at, resync_step, resynced_at, \
     algorithm, digits, period, counter, serial";

fn params_of(r: &Row<'_>, first: usize) -> rusqlite::Result<Params> {
    let bad = |idx: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Integer,
            format!("unexpected {what}").into(),
        )
    };
    let algorithm = parse_col(r, first, Algorithm::parse)?;
    let digits: i64 = r.get(first + 1)?;
    let period: i64 = r.get(first + 2)?;
    Ok(Params {
        algorithm,
        digits: u8::try_from(digits).map_err(|_| bad(first + 1, "digits"))?,
        period: u32::try_from(period).map_err(|_| bad(first + 2, "period"))?,
    })
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<FactorRow> {
    from_row_at(r, 0)
}

fn from_row_at(r: &Row<'_>, at: usize) -> rusqlite::Result<FactorRow> {
    Ok(FactorRow {
        id: r.get(at)?,
        user_id: r.get(at + 1)?,
        kind: parse_col(r, at + 2, FactorKind::parse)?,
        status: parse_col(r, at + 3, FactorStatus::parse)?,
        label: r.get(at + 4)?,
        destination: r.get(at + 5)?,
        secret: r.get(at + 6)?,
        drift: r.get(at + 7)?,
        last_step: r.get(at + 8)?,
        last_used_at: opt_time(r.get(at + 9)?),
        last_used_ip: r.get(at + 10)?,
        created_at: time(r.get(at + 11)?),
        confirmed_at: opt_time(r.get(at + 12)?),
        resync_step: r.get(at + 13)?,
        resynced_at: opt_time(r.get(at + 14)?),
        params: params_of(r, at + 15)?,
        counter: r
            .get::<_, Option<i64>>(at + 18)?
            .map(|c| u64::try_from(c).unwrap_or(0)),
        serial: r.get(at + 19)?,
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
    pub params: Params,
    /// Set for an HOTP token: the counter its next code is at.
    pub counter: Option<u64>,
    pub serial: Option<&'a str>,
}

impl<'a> NewFactor<'a> {
    /// A factor with the default parameters, no counter and no serial.
    pub fn new(user_id: i64, kind: FactorKind, status: FactorStatus, label: &'a str) -> Self {
        NewFactor {
            user_id,
            kind,
            status,
            label,
            destination: None,
            secret: None,
            created_at: Time::default(),
            params: Params::DEFAULT,
            counter: None,
            serial: None,
        }
    }
}

/// A counter as stored (a counter past `i64::MAX` cannot come from a token).
fn counter_col(counter: Option<u64>) -> Option<i64> {
    counter.map(|c| i64::try_from(c).unwrap_or(i64::MAX))
}

pub fn insert(conn: &Connection, f: &NewFactor<'_>) -> Result<i64, StoreError> {
    exec(
        conn,
        "INSERT INTO factors (user_id, kind, status, label, destination, secret, created_at,
             algorithm, digits, period, counter, serial, confirmed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
             CASE WHEN ?3 = 'active' THEN ?7 END)",
        params![
            f.user_id,
            f.kind.as_str(),
            f.status.as_str(),
            f.label,
            f.destination,
            f.secret,
            secs(f.created_at),
            f.params.algorithm.as_str(),
            f.params.digits,
            f.params.period,
            counter_col(f.counter),
            f.serial,
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

/// An HOTP token's next expected counter (after a login, a confirmation
/// or a resync spent the ones before it).
pub fn set_counter(conn: &Connection, id: i64, next: u64) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE factors SET counter = ?2 WHERE id = ?1 AND counter IS NOT NULL",
        params![id, counter_col(Some(next))],
    )?;
    Ok(())
}

/// Mark an HOTP token resynced at `at` (its counter is set apart).
pub fn mark_resynced(conn: &Connection, id: i64, at: Time) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE factors SET resynced_at = ?2 WHERE id = ?1",
        params![id, secs(at)],
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

/// How many active factors hold a secret (what an export will write).
pub fn count_active_secrets(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM factors WHERE status = 'active' AND secret IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A user's factors that hold a secret (TOTP and HOTP), oldest first.
pub fn secrets_for_user(conn: &Connection, user_id: i64) -> Result<Vec<FactorRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM factors WHERE user_id = ?1 AND secret IS NOT NULL ORDER BY id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([user_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every active factor that holds a secret, with its user's address, in
/// address order: what an export writes. Each is handed to `each` in turn,
/// so memory stays flat at any size.
pub fn each_active_secret<E: From<rusqlite::Error>>(
    conn: &Connection,
    mut each: impl FnMut(&str, FactorRow) -> Result<(), E>,
) -> Result<(), E> {
    let columns: String = COLUMNS
        .split(',')
        .map(|c| format!("f.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT u.email, {columns} FROM factors f JOIN users u ON u.id = f.user_id
         WHERE f.status = 'active' AND f.secret IS NOT NULL ORDER BY u.email, f.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let email: String = r.get(0)?;
        let f = from_row_at(r, 1)?;
        each(&email, f)?;
    }
    Ok(())
}
