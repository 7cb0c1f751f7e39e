//! The `throttle` and `bans` tables: what the regulation limits count (wrong
//! passwords by user and address, code checks), and the bans in force.

use super::engine::Db;
use super::{StoreError, secs, time};
use crate::domain::{Time, text_enum};

text_enum!(
    /// What one counted event is, and whose.
    Counted { Password => "password", Address => "address", CodeCheck => "code_check" }
);

/// The most rows read back for one subject: more than any limit allows.
const MOST: i64 = 1000;

/// Count one event of `kind` for `subject` at `at`, first dropping its
/// events from before `keep_since` (those no window can count any more).
pub fn record(
    db: &Db,
    kind: Counted,
    subject: &str,
    at: Time,
    keep_since: Time,
) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM throttle WHERE kind = ?1 AND subject = ?2 AND at < ?3",
        &[
            kind.as_str().into(),
            subject.into(),
            secs(keep_since).into(),
        ],
    )?;
    db.execute(
        "INSERT INTO throttle (kind, subject, at) VALUES (?1, ?2, ?3)",
        &[kind.as_str().into(), subject.into(), secs(at).into()],
    )?;
    Ok(())
}

/// The instants of `subject`'s events of `kind` at or after `since`, oldest first.
pub fn since(db: &Db, kind: Counted, subject: &str, since: Time) -> Result<Vec<Time>, StoreError> {
    db.query(
        "SELECT at FROM throttle WHERE kind = ?1 AND subject = ?2 AND at >= ?3
         ORDER BY at LIMIT ?4",
        &[
            kind.as_str().into(),
            subject.into(),
            secs(since).into(),
            MOST.into(),
        ],
    )?
    .iter()
    .map(|row| row.get::<i64>(0).map(time))
    .collect()
}

/// Forget every event of `kind` for `subject` (a ban begins, or a correct password).
pub fn forget(db: &Db, kind: Counted, subject: &str) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM throttle WHERE kind = ?1 AND subject = ?2",
        &[kind.as_str().into(), subject.into()],
    )?;
    Ok(())
}

/// A ban on `subject`: until when, and how many in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ban {
    pub until: Time,
    pub count: u32,
}

pub fn ban(db: &Db, kind: Counted, subject: &str) -> Result<Option<Ban>, StoreError> {
    db.query_opt(
        "SELECT until, count FROM bans WHERE kind = ?1 AND subject = ?2",
        &[kind.as_str().into(), subject.into()],
    )?
    .map(|row| {
        Ok(Ban {
            until: time(row.get(0)?),
            count: row.get(1)?,
        })
    })
    .transpose()
}

pub fn set_ban(db: &Db, kind: Counted, subject: &str, ban: &Ban) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO bans (kind, subject, until, count) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, subject) DO UPDATE SET until = excluded.until, count = excluded.count",
        &[
            kind.as_str().into(),
            subject.into(),
            secs(ban.until).into(),
            ban.count.into(),
        ],
    )?;
    Ok(())
}

/// Lift a ban and its count (a correct password, an admin's unlock).
pub fn lift(db: &Db, kind: Counted, subject: &str) -> Result<(), StoreError> {
    db.execute(
        "DELETE FROM bans WHERE kind = ?1 AND subject = ?2",
        &[kind.as_str().into(), subject.into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::each_engine;

    #[test]
    fn events_are_counted_from_the_window_s_start_and_old_ones_dropped() {
        each_engine("throttle", |store| {
            let db = store.db();
            let p = Counted::Password;
            record(db, p, "7", time(100), time(0)).unwrap();
            record(db, p, "7", time(200), time(0)).unwrap();
            record(db, Counted::Address, "7", time(150), time(0)).unwrap();
            record(db, p, "8", time(150), time(0)).unwrap();
            // At the boundary: an event at `since` counts.
            assert_eq!(
                since(db, p, "7", time(100)).unwrap(),
                [time(100), time(200)]
            );
            assert_eq!(since(db, p, "7", time(101)).unwrap(), [time(200)]);
            // Recording drops what is older than `keep_since`, not at it.
            record(db, p, "7", time(300), time(200)).unwrap();
            assert_eq!(since(db, p, "7", time(0)).unwrap(), [time(200), time(300)]);
            assert_eq!(
                since(db, Counted::Address, "7", time(0)).unwrap(),
                [time(150)]
            );
            forget(db, p, "7").unwrap();
            assert!(since(db, p, "7", time(0)).unwrap().is_empty());
            assert_eq!(since(db, p, "8", time(0)).unwrap(), [time(150)]);
        });
    }

    #[test]
    fn a_ban_is_set_raised_and_lifted() {
        each_engine("bans", |store| {
            let db = store.db();
            let a = Counted::Address;
            assert_eq!(ban(db, a, "192.0.2.1").unwrap(), None);
            let first = Ban {
                until: time(900),
                count: 1,
            };
            set_ban(db, a, "192.0.2.1", &first).unwrap();
            assert_eq!(ban(db, a, "192.0.2.1").unwrap(), Some(first));
            let second = Ban {
                until: time(2700),
                count: 2,
            };
            set_ban(db, a, "192.0.2.1", &second).unwrap();
            assert_eq!(ban(db, a, "192.0.2.1").unwrap(), Some(second));
            assert_eq!(ban(db, Counted::Password, "192.0.2.1").unwrap(), None);
            lift(db, a, "192.0.2.1").unwrap();
            assert_eq!(ban(db, a, "192.0.2.1").unwrap(), None);
        });
    }
}
