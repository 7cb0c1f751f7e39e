//! The overview's figures and short lists: counts from the counters the
//! schema's triggers keep, lists read a few rows along partial indexes.

use super::engine::Db;
use super::users::{COLUMNS, UserRow};
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
pub fn counts(db: &Db, now: Time, backup_low: u32) -> Result<Counts, StoreError> {
    let mut c = Counts::default();
    for row in db.query("SELECT name, value FROM counters", &[])? {
        let value = u64::try_from(row.get::<i64>(1)?).unwrap_or_default();
        match row.text(0)? {
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
    c.audit_events = events(db)?;
    c.locked = count(
        db,
        "SELECT count(*) FROM users WHERE locked_until > ?1",
        secs(now),
    )?;
    Ok(c)
}

/// A `count(*)` with one parameter.
fn count(db: &Db, sql: &str, arg: i64) -> Result<u64, StoreError> {
    let n: i64 = db.query_one(sql, &[arg.into()])?.get(0)?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// How many audit events there are, as the chain's head counts them:
/// every change writes one, so this changes whenever anything does. Only
/// in the moment between the migration and the first sealing, when the head
/// counts nothing yet, are the events counted instead.
pub fn events(db: &Db) -> Result<u64, StoreError> {
    let head = db.query_one("SELECT chained, events FROM audit_head", &[])?;
    if head.get::<bool>(0)? {
        return Ok(u64::try_from(head.get::<i64>(1)?).unwrap_or_default());
    }
    let n: i64 = db.query_one("SELECT count(*) FROM audit", &[])?.get(0)?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// How many active users without a factor began their grace after
/// `cutoff` (still in it): a range of the partial index of users without a
/// factor, as long as the list of recent arrivals.
pub fn in_grace_after(db: &Db, cutoff: Time, admins_only: bool) -> Result<u64, StoreError> {
    let role = if admins_only {
        " AND role = 'admin'"
    } else {
        ""
    };
    let sql = format!(
        "SELECT count(*) FROM users
         WHERE active_factors = 0 AND status = 'active' AND grace_from > ?1{role}"
    );
    count(db, &sql, secs(cutoff))
}

/// Active users with no active factor whose grace began at or before
/// `cutoff` (so it is over when enforcement applies to them), oldest first.
pub fn without_factor_before(
    db: &Db,
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
    users(db, &sql, &[secs(cutoff).into(), limit.into()])
}

/// Users whose 2FA is locked at `now`, the soonest released first.
pub fn locked(db: &Db, now: Time, limit: u32) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE locked_until > ?1 ORDER BY locked_until LIMIT ?2"
    );
    users(db, &sql, &[secs(now).into(), limit.into()])
}

/// Users with backup codes and at most `low` left, the fewest first.
pub fn low_codes(db: &Db, low: u32, limit: u32) -> Result<Vec<UserRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE codes_total > 0 AND codes_left <= ?1 \
         ORDER BY codes_left, email LIMIT ?2"
    );
    users(db, &sql, &[low.into(), limit.into()])
}

/// The users a statement selecting [`COLUMNS`] finds.
fn users(db: &Db, sql: &str, args: &[super::engine::Value]) -> Result<Vec<UserRow>, StoreError> {
    db.query(sql, args)?
        .iter()
        .map(super::users::from_db_row)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::lockout::Lock;
    use crate::domain::{Role, UserStatus};
    use crate::store::testing::{each_engine, user};
    use crate::store::time;

    /// A user with these columns set (`SET` clauses).
    fn user_with(db: &Db, email: &str, set: &str) -> i64 {
        let id = user(db, email);
        db.execute(
            &format!("UPDATE users SET {set} WHERE id = ?1"),
            &[id.into()],
        )
        .unwrap();
        id
    }

    fn emails(rows: &[UserRow]) -> Vec<&str> {
        rows.iter().map(|u| u.email.as_str()).collect()
    }

    /// Five users: two without a factor in grace from 100 and 500 (the
    /// second an admin), one locked until 2000 with 2 codes left, one
    /// disabled, one whose lock ended at 900 with no codes left.
    fn five(db: &Db) {
        user_with(db, "a@example.com", "grace_from = 100");
        user_with(db, "b@example.com", "grace_from = 500, role = 'admin'");
        user_with(
            db,
            "c@example.com",
            "active_factors = 1, factor_kinds = 'totp', codes_total = 10, codes_left = 2,
             locked_until = 2000, failures = 5, streak = 7",
        );
        user_with(db, "d@example.com", "status = 'disabled'");
        user_with(
            db,
            "e@example.com",
            "active_factors = 2, factor_kinds = 'sms,totp', codes_total = 10, codes_left = 0,
             locked_until = 900",
        );
    }

    #[test]
    fn the_figures_come_from_the_counters_and_the_locks_in_force() {
        each_engine("attention_counts", |store| {
            let db = store.db();
            five(db);
            assert_eq!(
                counts(db, time(1000), 3).unwrap(),
                Counts {
                    total: 5,
                    active: 4,
                    disabled: 1,
                    with_factor: 2,
                    without_factor: 3,
                    active_without_factor: 2,
                    active_admins_without_factor: 1,
                    locked: 1,
                    low_codes: 2,
                    pending: 0,
                    audit_events: 0,
                }
            );
            assert_eq!(counts(db, time(800), 1).unwrap().locked, 2);
            assert_eq!(
                counts(db, time(800), 1).unwrap().low_codes,
                1,
                "at most 1 left"
            );
        });
    }

    #[test]
    fn events_are_counted_until_the_head_counts_them() {
        each_engine("attention_events", |store| {
            let db = store.db();
            assert_eq!(events(db).unwrap(), 0);
            db.execute(
                "INSERT INTO audit (at, actor, kind, detail) VALUES (1, 'admin', 'policy.set', 'x')",
                &[],
            )
            .unwrap();
            assert_eq!(events(db).unwrap(), 1, "counted: the head is not chained");
            db.execute("UPDATE audit_head SET chained = 1, events = 7", &[])
                .unwrap();
            assert_eq!(events(db).unwrap(), 7, "the head's count");
        });
    }

    #[test]
    fn short_lists_read_grace_locks_and_codes_in_their_order() {
        each_engine("attention_lists", |store| {
            let db = store.db();
            five(db);
            assert_eq!(in_grace_after(db, time(200), false).unwrap(), 1);
            assert_eq!(in_grace_after(db, time(50), false).unwrap(), 2);
            assert_eq!(in_grace_after(db, time(50), true).unwrap(), 1);
            assert_eq!(in_grace_after(db, time(500), false).unwrap(), 0);
            let before = |cutoff, admins, limit| {
                without_factor_before(db, time(cutoff), admins, limit).unwrap()
            };
            assert_eq!(emails(&before(200, false, 10)), ["a@example.com"]);
            assert_eq!(
                emails(&before(600, false, 10)),
                ["a@example.com", "b@example.com"],
                "oldest grace first; the disabled left out"
            );
            assert_eq!(emails(&before(600, true, 10)), ["b@example.com"]);
            assert_eq!(emails(&before(600, false, 1)), ["a@example.com"]);
            assert_eq!(
                emails(&locked(db, time(800), 10).unwrap()),
                ["e@example.com", "c@example.com"],
                "the soonest released first"
            );
            let c = locked(db, time(1000), 10).unwrap();
            assert_eq!(emails(&c), ["c@example.com"]);
            assert_eq!(
                c[0].lock,
                Lock {
                    failures: 5,
                    locked_until: Some(time(2000)),
                    streak: 7,
                }
            );
            assert_eq!(
                (
                    c[0].role,
                    c[0].status,
                    c[0].active_factors,
                    c[0].factor_kinds.as_str()
                ),
                (Role::Member, UserStatus::Active, 1, "totp")
            );
            assert_eq!((c[0].codes_total, c[0].codes_left), (10, 2));
            assert_eq!(
                emails(&low_codes(db, 3, 10).unwrap()),
                ["e@example.com", "c@example.com"],
                "the fewest first"
            );
            assert_eq!(emails(&low_codes(db, 1, 10).unwrap()), ["e@example.com"]);
        });
    }
}
