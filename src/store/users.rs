//! The `users` table: one user's row, by email or id, and its profile,
//! status, password, phone, lock and login updates.

use rusqlite::{Connection, params};

use std::collections::HashMap;

use super::engine::{Db, Row};
use super::{StoreError, Where, opt_time, parse_value, secs, time};
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

/// A row of [`COLUMNS`] read through [`Db`], on either engine.
pub(super) fn from_db_row(r: &Row) -> Result<UserRow, StoreError> {
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
///
/// The conflict names no target: `SQLite`'s unique constraint is the
/// `NOCASE` column, `PostgreSQL`'s a unique index on the folded address,
/// which a column target would not name.
pub fn insert(db: &Db, u: &NewUser<'_>) -> Result<Option<i64>, StoreError> {
    db.query_opt(
        "INSERT INTO users (email, name, role, status, phone, password_hash, created_at, grace_from,
             email_skeleton)
         VALUES (?1, ?2, ?3, 'active', ?4, ?5, ?6, ?6, ?7)
         ON CONFLICT DO NOTHING
         RETURNING id",
        &[
            u.email.into(),
            u.name.into(),
            u.role.as_str().into(),
            u.phone.into(),
            u.password_hash.into(),
            secs(u.created_at).into(),
            u.skeleton.into(),
        ],
    )?
    .map(|r| r.get(0))
    .transpose()
}

/// Another user's address with this skeleton (one that looks the same as
/// `email` but is spelled differently), if there is one.
pub fn look_alike(db: &Db, skeleton: &str, email: &str) -> Result<Option<String>, StoreError> {
    db.query_opt(
        "SELECT email FROM users WHERE email_skeleton = ?1 AND email <> ?2 ORDER BY email LIMIT 1",
        &[skeleton.into(), email.into()],
    )?
    .map(|r| r.get(0))
    .transpose()
}

/// Step 4's part in Rust: every address in its canonical form (where that
/// spelling is not another user's already) and with its skeleton. `SQLite`
/// only: it runs in `SQLite`'s migrations, and no `PostgreSQL` database
/// predates the step.
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

pub fn by_email(db: &Db, email: &str) -> Result<Option<UserRow>, StoreError> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM users WHERE email = ?1"),
        &[email.trim().into()],
    )?
    .as_ref()
    .map(from_db_row)
    .transpose()
}

pub fn by_id(db: &Db, id: i64) -> Result<Option<UserRow>, StoreError> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM users WHERE id = ?1"),
        &[id.into()],
    )?
    .as_ref()
    .map(from_db_row)
    .transpose()
}

/// The users `ids` name, by id, in one statement (a missing id is left
/// out): a list's people at once, not one round trip each.
pub fn by_ids(db: &Db, ids: &[i64]) -> Result<HashMap<i64, UserRow>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut w = Where::default();
    let marks: Vec<String> = ids.iter().map(|&id| w.bind(id)).collect();
    db.query(
        &format!(
            "SELECT {COLUMNS} FROM users WHERE id IN ({})",
            marks.join(", ")
        ),
        w.args(),
    )?
    .iter()
    .map(|row| from_db_row(row).map(|u| (u.id, u)))
    .collect()
}

pub fn set_profile(
    db: &Db,
    id: i64,
    name: &str,
    role: Role,
    every_login: bool,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET name = ?2, role = ?3, every_login = ?4 WHERE id = ?1",
        &[
            id.into(),
            name.into(),
            role.as_str().into(),
            every_login.into(),
        ],
    )?;
    Ok(())
}

pub fn set_status(db: &Db, id: i64, status: UserStatus) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET status = ?2 WHERE id = ?1",
        &[id.into(), status.as_str().into()],
    )?;
    Ok(())
}

pub fn set_password_hash(db: &Db, id: i64, hash: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET password_hash = ?2 WHERE id = ?1",
        &[id.into(), hash.into()],
    )?;
    Ok(())
}

/// Whether the next login must set a new password.
pub fn set_password_change(db: &Db, id: i64, required: bool) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET password_change = ?2 WHERE id = ?1",
        &[id.into(), required.into()],
    )?;
    Ok(())
}

pub fn set_phone(db: &Db, id: i64, phone: Option<&str>, verified: bool) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET phone = ?2, phone_verified = ?3 WHERE id = ?1",
        &[id.into(), phone.into(), verified.into()],
    )?;
    Ok(())
}

pub fn set_lock(db: &Db, id: i64, lock: &Lock) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET failures = ?2, locked_until = ?3, streak = ?4 WHERE id = ?1",
        &[
            id.into(),
            lock.failures.into(),
            lock.locked_until.map(secs).into(),
            lock.streak.into(),
        ],
    )?;
    Ok(())
}

/// From now on only failed attempts after `attempt_id` count towards a lock.
pub fn restart_failures(db: &Db, id: i64, attempt_id: i64) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET failures_after = ?2 WHERE id = ?1",
        &[id.into(), attempt_id.into()],
    )?;
    Ok(())
}

/// Restart enrolment grace (after a 2FA reset).
pub fn set_grace_from(db: &Db, id: i64, at: Time) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET grace_from = ?2 WHERE id = ?1",
        &[id.into(), secs(at).into()],
    )?;
    Ok(())
}

pub fn set_last_login(db: &Db, id: i64, at: Time) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET last_login_at = ?2 WHERE id = ?1",
        &[id.into(), secs(at).into()],
    )?;
    Ok(())
}

/// How many rows a walk reads at a time.
const WALK_PAGE: u32 = 500;

/// Every user in address order, handed to `each` one at a time, so memory
/// stays flat at any size (an export).
///
/// Read a page at a time along the address index, each page whole before
/// `each` sees its rows: `each` may use the store itself (on `PostgreSQL`
/// a call made during [`Db::each`]'s walk is refused as reentrant).
pub fn each_user<E: From<StoreError>>(
    db: &Db,
    each: impl FnMut(UserRow) -> Result<(), E>,
) -> Result<(), E> {
    walk_users(db, WALK_PAGE, each)
}

fn walk_users<E: From<StoreError>>(
    db: &Db,
    page: u32,
    mut each: impl FnMut(UserRow) -> Result<(), E>,
) -> Result<(), E> {
    let first = format!("SELECT {COLUMNS} FROM users ORDER BY email LIMIT ?1");
    let next = format!("SELECT {COLUMNS} FROM users WHERE email > ?2 ORDER BY email LIMIT ?1");
    let mut after: Option<String> = None;
    loop {
        let rows = match after.take() {
            None => db.query(&first, &[page.into()])?,
            Some(email) => db.query(&next, &[page.into(), email.into()])?,
        };
        let full = rows.len() >= usize::try_from(page).unwrap_or(usize::MAX);
        for r in &rows {
            let u = from_db_row(r)?;
            after = Some(u.email.clone());
            each(u)?;
        }
        if !full {
            return Ok(());
        }
    }
}

/// How many users there are.
pub fn count(db: &Db) -> Result<u64, StoreError> {
    let n: i64 = db.query_one("SELECT count(*) FROM users", &[])?.get(0)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::each_engine;

    fn add(db: &Db, email: &str, skeleton: &str) -> Option<i64> {
        insert(
            db,
            &NewUser {
                email,
                skeleton,
                name: "Ann Bee",
                role: Role::Member,
                phone: Some("+14155550100"),
                password_hash: Some("$argon2id$x"),
                created_at: time(1_000),
            },
        )
        .unwrap()
    }

    #[test]
    fn an_address_taken_in_another_case_is_skipped_on_both_engines() {
        each_engine("users_insert", |store| {
            let db = store.db();
            let id = add(db, "ann@example.com", "ann@example.com").unwrap();
            assert_eq!(add(db, "ANN@Example.com", "ann@example.com"), None);
            assert_eq!(add(db, "ann@example.com", "ann@example.com"), None);
            let other = add(db, "bob@example.com", "bob@example.com").unwrap();
            assert_ne!(id, other);
            assert_eq!(count(db).unwrap(), 2);
            let row = by_email(db, " ann@example.com ").unwrap().unwrap();
            assert_eq!(
                row,
                UserRow {
                    id,
                    email: "ann@example.com".to_owned(),
                    name: "Ann Bee".to_owned(),
                    role: Role::Member,
                    status: UserStatus::Active,
                    password_hash: Some("$argon2id$x".to_owned()),
                    phone: Some("+14155550100".to_owned()),
                    phone_verified: false,
                    every_login: false,
                    lock: Lock {
                        failures: 0,
                        locked_until: None,
                        streak: 0,
                    },
                    created_at: time(1_000),
                    last_login_at: None,
                    active_factors: 0,
                    factor_kinds: String::new(),
                    codes_total: 0,
                    codes_left: 0,
                    failures_after: 0,
                    grace_from: time(1_000),
                    password_change: false,
                }
            );
            assert_eq!(by_id(db, id).unwrap(), Some(row));
            assert_eq!(by_id(db, other + 1).unwrap(), None);
            assert_eq!(by_email(db, "nobody@example.com").unwrap(), None);
        });
    }

    #[test]
    fn each_update_changes_only_its_own_columns() {
        each_engine("users_updates", |store| {
            let db = store.db();
            let id = add(db, "ann@example.com", "ann@example.com").unwrap();
            let other = add(db, "bob@example.com", "bob@example.com").unwrap();
            let before = by_id(db, other).unwrap();
            set_profile(db, id, "Ann Sea", Role::Admin, true).unwrap();
            set_status(db, id, UserStatus::Disabled).unwrap();
            set_password_hash(db, id, "$argon2id$y").unwrap();
            set_password_change(db, id, true).unwrap();
            set_phone(db, id, None, true).unwrap();
            let lock = Lock {
                failures: 4,
                locked_until: Some(time(5_000)),
                streak: 7,
            };
            set_lock(db, id, &lock).unwrap();
            restart_failures(db, id, 42).unwrap();
            set_grace_from(db, id, time(2_000)).unwrap();
            set_last_login(db, id, time(3_000)).unwrap();
            let u = by_id(db, id).unwrap().unwrap();
            assert_eq!(
                (u.name.as_str(), u.role, u.every_login, u.status),
                ("Ann Sea", Role::Admin, true, UserStatus::Disabled)
            );
            assert_eq!(u.password_hash.as_deref(), Some("$argon2id$y"));
            assert!(u.password_change);
            assert_eq!((u.phone, u.phone_verified), (None, true));
            assert_eq!(u.lock, lock);
            assert_eq!(u.failures_after, 42);
            assert_eq!(
                (u.grace_from, u.last_login_at, u.created_at),
                (time(2_000), Some(time(3_000)), time(1_000))
            );
            set_password_change(db, id, false).unwrap();
            set_lock(db, id, &Lock::cleared()).unwrap();
            let u = by_id(db, id).unwrap().unwrap();
            assert!(!u.password_change);
            assert_eq!(u.lock, Lock::cleared());
            assert_eq!(
                by_id(db, other).unwrap(),
                before,
                "another user's row stays"
            );
        });
    }

    #[test]
    fn a_look_alike_is_another_user_s_address_with_the_same_skeleton() {
        each_engine("users_look_alike", |store| {
            let db = store.db();
            add(db, "paypal@example.com", "paypa1@example.com").unwrap();
            add(db, "paypa1@example.com", "paypa1@example.com").unwrap();
            add(db, "other@example.com", "other@example.com").unwrap();
            assert_eq!(
                look_alike(db, "paypa1@example.com", "paypa1@example.com").unwrap(),
                Some("paypal@example.com".to_owned())
            );
            assert_eq!(
                look_alike(db, "paypa1@example.com", "new@example.com").unwrap(),
                Some("paypa1@example.com".to_owned()),
                "the first in address order"
            );
            assert_eq!(
                look_alike(db, "other@example.com", "other@example.com").unwrap(),
                None,
                "its own address is not a look-alike"
            );
        });
    }

    #[test]
    fn a_walk_hands_every_user_over_in_address_order_page_by_page() {
        each_engine("users_walk", |store| {
            let db = store.db();
            for email in ["c@x.org", "a@x.org", "e@x.org", "b@x.org", "d@x.org"] {
                add(db, email, email).unwrap();
            }
            for page in [2, 5, 500] {
                let mut seen = Vec::new();
                walk_users(db, page, |u| {
                    // The store is free between rows: a page is read whole.
                    assert_eq!(by_id(db, u.id)?.as_ref(), Some(&u));
                    seen.push(u.email);
                    Ok::<_, StoreError>(())
                })
                .unwrap();
                assert_eq!(
                    seen,
                    ["a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"]
                );
            }
            // A callback's error ends the walk and comes back as it was.
            let mut seen = 0;
            let stopped = walk_users(db, 2, |_| {
                seen += 1;
                if seen == 3 {
                    Err(StoreError::Busy)
                } else {
                    Ok(())
                }
            });
            assert!(matches!(stopped, Err(StoreError::Busy)), "{stopped:?}");
            assert_eq!(seen, 3);
            let mut all = 0;
            each_user(db, |_| {
                all += 1;
                Ok::<_, StoreError>(())
            })
            .unwrap();
            assert_eq!(all, 5);
        });
    }
}
