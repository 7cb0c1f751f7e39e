//! The `users` table: one user's row, by email or id, and its profile,
//! status, password, phone, lock and login updates.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{StoreError, exec, opt_time, parse_col, parse_value, secs, time};
use crate::domain::lockout::Lock;
use crate::domain::{Role, Time, UserStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub every_login: bool,
    pub lock: Lock,
    pub created_at: Time,
    pub last_login_at: Option<Time>,
    pub active_factors: u32,
    pub factor_kinds: String,
    pub codes_total: u32,
    pub codes_left: u32,
    /// Only failed attempts with a larger id count towards a lock.
    pub failures_after: i64,
    /// Enrolment grace runs from here: creation, or the last 2FA reset.
    pub grace_from: Time,
    /// The next login must set a new password (a suspected compromise).
    pub password_change: bool,
}

pub(super) const COLUMNS: &str = "id, email, name, role, status, password_hash, phone, phone_verified, \
     every_login, failures, failures_after, locked_until, created_at, last_login_at, \
     active_factors, factor_kinds, codes_total, codes_left, grace_from, streak, password_change";

pub(super) fn from_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: parse_col(r, 3, Role::parse)?,
        status: parse_col(r, 4, UserStatus::parse)?,
        password_hash: r.get(5)?,
        phone: r.get(6)?,
        phone_verified: r.get(7)?,
        every_login: r.get(8)?,
        lock: Lock {
            failures: r.get(9)?,
            locked_until: opt_time(r.get(11)?),
            streak: r.get(19)?,
        },
        failures_after: r.get(10)?,
        created_at: time(r.get(12)?),
        last_login_at: opt_time(r.get(13)?),
        active_factors: r.get(14)?,
        factor_kinds: r.get(15)?,
        codes_total: r.get(16)?,
        codes_left: r.get(17)?,
        grace_from: time(r.get(18)?),
        password_change: r.get(20)?,
    })
}

/// [`from_row`] for a row read through [`super::Db`] (the Users list's
/// pages); one reader once this file is ported.
pub(super) fn from_db_row(r: &super::engine::Row) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        role: parse_value(r, 3, Role::parse)?,
        status: parse_value(r, 4, UserStatus::parse)?,
        password_hash: r.get(5)?,
        phone: r.get(6)?,
        phone_verified: r.get(7)?,
        every_login: r.get(8)?,
        lock: Lock {
            failures: r.get(9)?,
            locked_until: opt_time(r.get(11)?),
            streak: r.get(19)?,
        },
        failures_after: r.get(10)?,
        created_at: time(r.get(12)?),
        last_login_at: opt_time(r.get(13)?),
        active_factors: r.get(14)?,
        factor_kinds: r.get(15)?,
        codes_total: r.get(16)?,
        codes_left: r.get(17)?,
        grace_from: time(r.get(18)?),
        password_change: r.get(20)?,
    })
}

pub struct NewUser<'a> {
    pub email: &'a str,
    /// The address's UTS #39 skeleton, for the look-alike check.
    pub skeleton: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub phone: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub created_at: Time,
}

/// Insert a user; `None` if the email is taken (case-insensitively).
pub fn insert(conn: &Connection, u: &NewUser<'_>) -> Result<Option<i64>, StoreError> {
    let changed = exec(
        conn,
        "INSERT INTO users (email, name, role, status, phone, password_hash, created_at, grace_from,
             email_skeleton)
         VALUES (?1, ?2, ?3, 'active', ?4, ?5, ?6, ?6, ?7)
         ON CONFLICT (email) DO NOTHING",
        params![
            u.email,
            u.name,
            u.role.as_str(),
            u.phone,
            u.password_hash,
            secs(u.created_at),
            u.skeleton
        ],
    )?;
    Ok((changed == 1).then(|| conn.last_insert_rowid()))
}

/// Another user's address with this skeleton (one that looks the same as
/// `email` but is spelled differently), if there is one.
pub fn look_alike(
    conn: &Connection,
    skeleton: &str,
    email: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT email FROM users WHERE email_skeleton = ?1 AND email <> ?2 ORDER BY email LIMIT 1",
        )?
        .query_row([skeleton, email], |r| r.get(0))
        .optional()?)
}

/// Step 4's part in Rust: every address in its canonical form (where that
/// spelling is not another user's already) and with its skeleton.
pub(super) fn canonicalize_emails(conn: &Connection) -> Result<(), StoreError> {
    use crate::domain::contact::{Email, canonical_email};
    let mut read = conn.prepare("SELECT id, email FROM users")?;
    let rows = read
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut rename = conn.prepare("UPDATE OR IGNORE users SET email = ?2 WHERE id = ?1")?;
    let mut mark = conn.prepare("UPDATE users SET email_skeleton = ?2 WHERE id = ?1")?;
    for (id, email) in rows {
        let canonical = canonical_email(&email);
        if canonical != email {
            rename.execute(params![id, canonical])?;
        }
        // An address that no longer parses keeps no skeleton: it is found
        // by its exact spelling, and nothing is compared with it.
        if let Ok(parsed) = Email::parse(&canonical) {
            mark.execute(params![id, parsed.skeleton()])?;
        }
    }
    Ok(())
}

pub fn by_email(conn: &Connection, email: &str) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([email.trim()], from_row)
        .optional()?)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<UserRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

pub fn set_profile(
    conn: &Connection,
    id: i64,
    name: &str,
    role: Role,
    every_login: bool,
) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE users SET name = ?2, role = ?3, every_login = ?4 WHERE id = ?1",
        params![id, name, role.as_str(), every_login],
    )?;
    Ok(())
}

pub fn set_status(conn: &Connection, id: i64, status: UserStatus) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE users SET status = ?2 WHERE id = ?1",
        params![id, status.as_str()],
    )?;
    Ok(())
}

pub fn set_password_hash(conn: &Connection, id: i64, hash: &str) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        params![id, hash],
    )?;
    Ok(())
}

/// Whether the next login must set a new password.
pub fn set_password_change(conn: &Connection, id: i64, required: bool) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE users SET password_change = ?2 WHERE id = ?1",
        params![id, required],
    )?;
    Ok(())
}

pub fn set_phone(
    conn: &Connection,
    id: i64,
    phone: Option<&str>,
    verified: bool,
) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE users SET phone = ?2, phone_verified = ?3 WHERE id = ?1",
        params![id, phone, verified],
    )?;
    Ok(())
}

pub fn set_lock(conn: &Connection, id: i64, lock: &Lock) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE users SET failures = ?2, locked_until = ?3, streak = ?4 WHERE id = ?1",
        params![id, lock.failures, lock.locked_until.map(secs), lock.streak],
    )?;
    Ok(())
}

/// From now on only failed attempts after `attempt_id` count towards a lock.
pub fn restart_failures(conn: &Connection, id: i64, attempt_id: i64) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE users SET failures_after = ?2 WHERE id = ?1",
        params![id, attempt_id],
    )?;
    Ok(())
}

/// Restart enrolment grace (after a 2FA reset).
pub fn set_grace_from(conn: &Connection, id: i64, at: Time) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE users SET grace_from = ?2 WHERE id = ?1",
        params![id, secs(at)],
    )?;
    Ok(())
}

pub fn set_last_login(conn: &Connection, id: i64, at: Time) -> Result<(), StoreError> {
    exec(
        conn,
        "UPDATE users SET last_login_at = ?2 WHERE id = ?1",
        params![id, secs(at)],
    )?;
    Ok(())
}

/// Every user in address order, handed to `each` one at a time, so memory
/// stays flat at any size (an export).
pub fn each_user<E: From<rusqlite::Error>>(
    conn: &Connection,
    mut each: impl FnMut(UserRow) -> Result<(), E>,
) -> Result<(), E> {
    let sql = format!("SELECT {COLUMNS} FROM users ORDER BY email");
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        each(from_row(r)?)?;
    }
    Ok(())
}

/// How many users there are.
pub fn count(conn: &Connection) -> Result<u64, StoreError> {
    let n: i64 = conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}
