//! The `users` table: rows, profile and lock updates, and the keyset-paged,
//! full-text searched listing the console and `user list` use.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Keyset, StoreError, exec, opt_time, parse_col, secs, time};
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
}

const COLUMNS: &str = "id, email, name, role, status, password_hash, phone, phone_verified, \
     every_login, failures, failures_after, locked_until, created_at, last_login_at, \
     active_factors, factor_kinds, codes_total, codes_left, grace_from";

fn from_row(r: &Row<'_>) -> rusqlite::Result<UserRow> {
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
        },
        failures_after: r.get(10)?,
        created_at: time(r.get(12)?),
        last_login_at: opt_time(r.get(13)?),
        active_factors: r.get(14)?,
        factor_kinds: r.get(15)?,
        codes_total: r.get(16)?,
        codes_left: r.get(17)?,
        grace_from: time(r.get(18)?),
    })
}

pub struct NewUser<'a> {
    pub email: &'a str,
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
        "INSERT INTO users (email, name, role, status, phone, password_hash, created_at, grace_from)
         VALUES (?1, ?2, ?3, 'active', ?4, ?5, ?6, ?6)
         ON CONFLICT (email) DO NOTHING",
        params![
            u.email,
            u.name,
            u.role.as_str(),
            u.phone,
            u.password_hash,
            secs(u.created_at)
        ],
    )?;
    Ok((changed == 1).then(|| conn.last_insert_rowid()))
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
        "UPDATE users SET failures = ?2, locked_until = ?3 WHERE id = ?1",
        params![id, lock.failures, lock.locked_until.map(secs)],
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

/// The console's and `user list`'s filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// 2FA locked right now.
    Locked,
    /// No active factor.
    NoFactor,
    /// No active factor, enforced, still in grace.
    InGrace,
    /// Backup codes generated, and at or below the low mark.
    LowCodes,
    Disabled,
}

/// One page of users, ordered by email, starting after `after` (keyset paging).
#[derive(Debug, Clone, Default)]
pub struct Query<'a> {
    pub search: Option<&'a str>,
    pub filter: Option<Filter>,
    pub after: Option<&'a str>,
    pub limit: u32,
}

/// What the `InGrace` and `LowCodes` filters need from the policy.
#[derive(Debug, Clone, Copy)]
pub struct FilterContext {
    pub now: Time,
    /// Users created after this are still in grace (`None`: nobody is).
    pub grace_cutoff: Option<Time>,
    /// Whether enforcement applies to members (all) or only admins.
    pub enforce_members: bool,
    pub backup_low: u32,
}

/// Search is answered from the trigram index for three or more characters
/// (anywhere in the email or name), and from the word index for fewer (the
/// start of any word: `ng` finds "Alice Ng", `al` finds alice@…).
pub fn list(
    conn: &Connection,
    q: &Query<'_>,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    page(conn, q, q.after.map_or(Keyset::First, Keyset::After), ctx)
}

/// One page of the users `q` matches, ordered by email, read at `at`
/// (instead of `q.after`).
pub fn page(
    conn: &Connection,
    q: &Query<'_>,
    at: Keyset<&str>,
    ctx: &FilterContext,
) -> Result<Vec<UserRow>, StoreError> {
    let (mut clauses, mut args) = matching(q, ctx);
    let mut bind = |v: Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    match at {
        Keyset::First | Keyset::Last => {}
        Keyset::From(k) => clauses.push(format!("email >= {}", bind(k.to_owned().into()))),
        Keyset::After(k) => clauses.push(format!("email > {}", bind(k.to_owned().into()))),
        Keyset::Before(k) => clauses.push(format!("email < {}", bind(k.to_owned().into()))),
    }
    let limit = bind(i64::from(q.limit.max(1)).into());
    let order = if at.backwards() { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE {} ORDER BY email {order} LIMIT {limit}",
        clauses.join(" AND ")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), from_row)?;
    let mut rows: Vec<UserRow> = rows.collect::<Result<_, _>>()?;
    if at.backwards() {
        rows.reverse();
    }
    Ok(rows)
}

/// The WHERE clauses (joined with AND, never empty) and their arguments for
/// `q`'s search and filter.
fn matching(q: &Query<'_>, ctx: &FilterContext) -> (Vec<String>, Vec<Value>) {
    let mut args: Vec<Value> = Vec::new();
    let mut bind = |v: Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    let mut clauses: Vec<String> = vec!["1".to_owned()];
    if let Some(term) = q.search.map(str::trim).filter(|t| !t.is_empty()) {
        if term.chars().count() >= 3 {
            let phrase = bind(fts_phrase(term).into());
            clauses.push(format!(
                "id IN (SELECT rowid FROM users_fts WHERE users_fts MATCH {phrase})"
            ));
        } else if term.chars().any(char::is_alphanumeric) {
            let prefix = bind(format!("{}*", fts_phrase(term)).into());
            clauses.push(format!(
                "id IN (SELECT rowid FROM users_words WHERE users_words MATCH {prefix})"
            ));
        } else {
            // Punctuation alone has no words: the start of the email.
            let lo = bind(term.to_lowercase().into());
            let hi = bind(format!("{}\u{10FFFF}", term.to_lowercase()).into());
            clauses.push(format!("email >= {lo} AND email < {hi}"));
        }
    }
    match q.filter {
        None => {}
        Some(Filter::Locked) => {
            let now = bind(secs(ctx.now).into());
            clauses.push(format!("locked_until > {now}"));
        }
        Some(Filter::NoFactor) => clauses.push("active_factors = 0".to_owned()),
        Some(Filter::InGrace) => match ctx.grace_cutoff {
            Some(cutoff) => {
                let c = bind(secs(cutoff).into());
                clauses.push(format!("active_factors = 0 AND grace_from > {c}"));
                if !ctx.enforce_members {
                    clauses.push("role = 'admin'".to_owned());
                }
            }
            None => clauses.push("0".to_owned()),
        },
        Some(Filter::LowCodes) => {
            let low = bind(i64::from(ctx.backup_low).into());
            clauses.push(format!("codes_total > 0 AND codes_left <= {low}"));
        }
        Some(Filter::Disabled) => clauses.push("status = 'disabled'".to_owned()),
    }
    (clauses, args)
}

/// A search term as one FTS5 phrase: quotes doubled, so any input is safe.
fn fts_phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// Figures for the overview, from the maintained counters and indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub total: u64,
    pub active: u64,
    pub disabled: u64,
    pub with_factor: u64,
    pub without_factor: u64,
    pub locked: u64,
    pub low_codes: u64,
}

pub fn counts(conn: &Connection, now: Time, backup_low: u32) -> Result<Counts, StoreError> {
    let one = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> Result<u64, StoreError> {
        Ok(conn.prepare_cached(sql)?.query_row(p, |r| r.get(0))?)
    };
    let total = one("SELECT count(*) FROM users", &[])?;
    let disabled = one("SELECT count(*) FROM users WHERE status = 'disabled'", &[])?;
    let without = one("SELECT count(*) FROM users WHERE active_factors = 0", &[])?;
    Ok(Counts {
        total,
        active: total - disabled,
        disabled,
        with_factor: total - without,
        without_factor: without,
        locked: one(
            "SELECT count(*) FROM users WHERE locked_until > ?1",
            &[&secs(now)],
        )?,
        low_codes: one(
            "SELECT count(*) FROM users WHERE codes_total > 0 AND codes_left <= ?1",
            &[&backup_low],
        )?,
    })
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
        "SELECT {COLUMNS} FROM users WHERE active_factors = 0 AND grace_from <= ?1 \
         AND status = 'active'{role} ORDER BY grace_from LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![secs(cutoff), limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Users whose 2FA is locked at `now`.
pub fn locked(conn: &Connection, now: Time, limit: u32) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE locked_until > ?1 ORDER BY locked_until LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![secs(now), limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Users with few or no backup codes left.
pub fn low_codes(conn: &Connection, low: u32, limit: u32) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE codes_total > 0 AND codes_left <= ?1 \
         ORDER BY codes_left, email LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![low, limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many active users have no active factor and a grace that began at
/// or before `cutoff`.
pub fn count_without_factor_before(
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
        "SELECT count(*) FROM users WHERE active_factors = 0 AND grace_from <= ?1 AND status = 'active'{role}"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([secs(cutoff)], |r| r.get(0))?)
}

/// Active users at recovery risk: no factor, SMS only, few backup codes
/// left, or a single factor with no backup code to fall back on.
pub fn at_risk(conn: &Connection, low: u32, limit: u32) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE status = 'active' AND (
             active_factors = 0
             OR factor_kinds = 'sms'
             OR (codes_total > 0 AND codes_left <= ?1)
             OR (active_factors = 1 AND codes_left = 0)
         ) ORDER BY email LIMIT ?2"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![low, limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
