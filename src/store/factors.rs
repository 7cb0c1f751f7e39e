//! The `factors` table: a user's TOTP, HOTP, SMS and email factors, with the
//! sealed secret, its parameters, drift or counter, and the replay guard.

use super::engine::{Db, EngineError, Row};
use super::{StoreError, opt_time, parse_value, secs, time};
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

fn params_of(r: &Row, first: usize) -> Result<Params, StoreError> {
    let algorithm = parse_value(r, first, Algorithm::parse)?;
    let digits: i64 = r.get(first + 1)?;
    Ok(Params {
        algorithm,
        digits: u8::try_from(digits).map_err(|_| EngineError::Column {
            index: first + 1,
            expected: "a digit count (0 to 255)",
            found: "integer",
        })?,
        period: r.get(first + 2)?,
    })
}

fn from_row(r: &Row) -> Result<FactorRow, StoreError> {
    from_row_at(r, 0)
}

fn from_row_at(r: &Row, at: usize) -> Result<FactorRow, StoreError> {
    Ok(FactorRow {
        id: r.get(at)?,
        user_id: r.get(at + 1)?,
        kind: parse_value(r, at + 2, FactorKind::parse)?,
        status: parse_value(r, at + 3, FactorStatus::parse)?,
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
            .get::<Option<i64>>(at + 18)?
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

fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

pub fn insert(db: &Db, f: &NewFactor<'_>) -> Result<i64, StoreError> {
    db.query_one(
        "INSERT INTO factors (user_id, kind, status, label, destination, secret, created_at,
             algorithm, digits, period, counter, serial, confirmed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
         RETURNING id",
        &[
            f.user_id.into(),
            f.kind.as_str().into(),
            f.status.as_str().into(),
            f.label.into(),
            f.destination.into(),
            f.secret.into(),
            secs(f.created_at).into(),
            f.params.algorithm.as_str().into(),
            i64::from(f.params.digits).into(),
            f.params.period.into(),
            counter_col(f.counter).into(),
            f.serial.into(),
            // An active factor is confirmed as it is made (PostgreSQL cannot
            // type one parameter as both a column's and a CASE's value).
            (f.status == FactorStatus::Active)
                .then(|| secs(f.created_at))
                .into(),
        ],
    )?
    .get(0)
}

pub fn by_id(db: &Db, id: i64) -> Result<Option<FactorRow>, StoreError> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM factors WHERE id = ?1"),
        &[id.into()],
    )?
    .as_ref()
    .map(from_row)
    .transpose()
}

pub fn for_user(db: &Db, user_id: i64) -> Result<Vec<FactorRow>, StoreError> {
    db.query(
        &format!("SELECT {COLUMNS} FROM factors WHERE user_id = ?1 ORDER BY id"),
        &[user_id.into()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

pub fn set_status(db: &Db, id: i64, status: FactorStatus) -> Result<(), StoreError> {
    db.execute(
        "UPDATE factors SET status = ?2 WHERE id = ?1",
        &[id.into(), status.as_str().into()],
    )?;
    Ok(())
}

/// Make a pending factor active, remembering the step its confirming code used.
pub fn confirm(db: &Db, id: i64, at: Time, step: Option<i64>) -> Result<(), StoreError> {
    db.execute(
        "UPDATE factors SET status = 'active', confirmed_at = ?2, last_step = coalesce(?3, last_step)
         WHERE id = ?1",
        &[id.into(), secs(at).into(), step.into()],
    )?;
    Ok(())
}

/// Record a successful use; `step` is the TOTP step that must not be reused.
pub fn record_use(
    db: &Db,
    id: i64,
    at: Time,
    ip: &str,
    step: Option<i64>,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE factors SET last_used_at = ?2, last_used_ip = ?3, last_step = coalesce(?4, last_step)
         WHERE id = ?1",
        &[id.into(), secs(at).into(), ip.into(), step.into()],
    )?;
    Ok(())
}

/// An HOTP token's next expected counter (after a login, a confirmation
/// or a resync spent the ones before it).
pub fn set_counter(db: &Db, id: i64, next: u64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE factors SET counter = ?2 WHERE id = ?1 AND counter IS NOT NULL",
        &[id.into(), counter_col(Some(next)).into()],
    )?;
    Ok(())
}

/// Mark an HOTP token resynced at `at` (its counter is set apart).
pub fn mark_resynced(db: &Db, id: i64, at: Time) -> Result<(), StoreError> {
    db.execute(
        "UPDATE factors SET resynced_at = ?2 WHERE id = ?1",
        &[id.into(), secs(at).into()],
    )?;
    Ok(())
}

pub fn set_drift(db: &Db, id: i64, drift: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE factors SET drift_steps = ?2 WHERE id = ?1",
        &[id.into(), drift.into()],
    )?;
    Ok(())
}

/// Point an SMS or email factor at a new destination, pending again.
pub fn set_destination(db: &Db, id: i64, destination: &str, label: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE factors SET destination = ?2, label = ?3, status = 'pending', confirmed_at = NULL
         WHERE id = ?1",
        &[id.into(), destination.into(), label.into()],
    )?;
    Ok(())
}

pub fn delete(db: &Db, id: i64) -> Result<(), StoreError> {
    db.execute("DELETE FROM factors WHERE id = ?1", &[id.into()])?;
    Ok(())
}

pub fn delete_for_user(db: &Db, user_id: i64) -> Result<usize, StoreError> {
    Ok(count(db.execute(
        "DELETE FROM factors WHERE user_id = ?1",
        &[user_id.into()],
    )?))
}

/// Pending enrolments, oldest first: (user id, factor id, kind, started).
pub fn pending(db: &Db, limit: u32) -> Result<Vec<(i64, i64, FactorKind, Time)>, StoreError> {
    db.query(
        "SELECT user_id, id, kind, created_at FROM factors WHERE status = 'pending'
         ORDER BY created_at LIMIT ?1",
        &[limit.into()],
    )?
    .iter()
    .map(|r| {
        Ok((
            r.get(0)?,
            r.get(1)?,
            parse_value(r, 2, FactorKind::parse)?,
            time(r.get(3)?),
        ))
    })
    .collect()
}

/// Mark `step` and all before it as spent by a resync at `at` (the codes read
/// out to the help desk), apart from the last login's step. A resync never
/// moves the spent step back (the larger of the two, written as a `CASE`:
/// two-argument `max` is `SQLite`'s alone; a null step is below any).
pub fn spend_by_resync(db: &Db, id: i64, step: i64, at: Time) -> Result<(), StoreError> {
    db.execute(
        "UPDATE factors
         SET resync_step = CASE WHEN resync_step > ?2 THEN resync_step ELSE ?2 END,
             resynced_at = ?3
         WHERE id = ?1",
        &[id.into(), step.into(), secs(at).into()],
    )?;
    Ok(())
}

/// How many active factors hold a secret (what an export will write).
pub fn count_active_secrets(db: &Db) -> Result<u64, StoreError> {
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM factors WHERE status = 'active' AND secret IS NOT NULL",
            &[],
        )?
        .get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// A user's factors that hold a secret (TOTP and HOTP), oldest first.
pub fn secrets_for_user(db: &Db, user_id: i64) -> Result<Vec<FactorRow>, StoreError> {
    db.query(
        &format!(
            "SELECT {COLUMNS} FROM factors WHERE user_id = ?1 AND secret IS NOT NULL ORDER BY id"
        ),
        &[user_id.into()],
    )?
    .iter()
    .map(from_row)
    .collect()
}

/// How many factors a walk reads at a time.
const WALK_PAGE: u32 = 500;

/// Every active factor that holds a secret, with its user's address, in
/// address order: what an export writes. Each is handed to `each` in turn,
/// so memory stays flat at any size.
///
/// Read a page at a time (keyed on the address and the factor's id, along
/// the address index), each page whole before `each` sees its rows: an
/// export audits each secret as it goes, and on `PostgreSQL` a write made
/// during [`Db::each`]'s walk would be refused as reentrant.
pub fn each_active_secret<E: From<StoreError>>(
    db: &Db,
    each: impl FnMut(&str, FactorRow) -> Result<(), E>,
) -> Result<(), E> {
    walk_active_secrets(db, WALK_PAGE, each)
}

fn walk_active_secrets<E: From<StoreError>>(
    db: &Db,
    page: u32,
    mut each: impl FnMut(&str, FactorRow) -> Result<(), E>,
) -> Result<(), E> {
    let columns: String = COLUMNS
        .split(',')
        .map(|c| format!("f.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ");
    // From ("", 0), the first page too: every address is at least "" and
    // every id above 0, and one statement keeps one plan (along the
    // address index, each user's factors by the user index).
    let sql = format!(
        "SELECT u.email, {columns} FROM users u JOIN factors f ON f.user_id = u.id
         WHERE f.status = 'active' AND f.secret IS NOT NULL
             AND u.email >= ?2 AND (u.email > ?2 OR f.id > ?3)
         ORDER BY u.email, f.id LIMIT ?1"
    );
    let mut after = (String::new(), 0_i64);
    loop {
        let rows = db.query(
            &sql,
            &[page.into(), after.0.as_str().into(), after.1.into()],
        )?;
        let full = rows.len() >= usize::try_from(page).unwrap_or(usize::MAX);
        for r in &rows {
            let email: String = r.get(0)?;
            let f = from_row_at(r, 1)?;
            after = (email.clone(), f.id);
            each(&email, f)?;
        }
        if !full {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests;
