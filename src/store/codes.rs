//! The `backup_codes` table: keyed hashes of one batch per user, and when
//! and from where each was used.

use super::engine::Db;
use super::{StoreError, opt_time, secs, time};
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
    db: &Db,
    user_id: i64,
    macs: &[[u8; 32]],
    at: Time,
) -> Result<usize, StoreError> {
    let removed = delete_rows(db, user_id)?;
    for (position, mac) in (1_i64..).zip(macs) {
        db.execute(
            "INSERT INTO backup_codes (user_id, position, code_mac, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            &[
                user_id.into(),
                position.into(),
                mac.as_slice().into(),
                secs(at).into(),
            ],
        )?;
    }
    set_totals(db, user_id, macs.len())?;
    Ok(removed)
}

/// Remove a user's codes, and their count with them.
pub fn delete_for_user(db: &Db, user_id: i64) -> Result<usize, StoreError> {
    let removed = delete_rows(db, user_id)?;
    set_totals(db, user_id, 0)?;
    Ok(removed)
}

fn delete_rows(db: &Db, user_id: i64) -> Result<usize, StoreError> {
    let n = db.execute(
        "DELETE FROM backup_codes WHERE user_id = ?1",
        &[user_id.into()],
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// A user's totals once a whole batch is written (all unused) or removed:
/// one update of the user per batch (schema step 8), where a trigger per
/// row made ten. A user whose totals are already those is left unwritten.
fn set_totals(db: &Db, user_id: i64, fresh: usize) -> Result<(), StoreError> {
    let fresh = i64::try_from(fresh).unwrap_or(i64::MAX);
    // Both columns are NOT NULL: `<>` is the row value's `IS NOT`, on
    // either engine.
    db.execute(
        "UPDATE users SET codes_total = ?2, codes_left = ?2
         WHERE id = ?1 AND (codes_total <> ?2 OR codes_left <> ?2)",
        &[user_id.into(), fresh.into()],
    )?;
    Ok(())
}

/// What a matching code's row says: unused (its id), or used (when, where).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    Unused(i64),
    Used { at: Time, ip: Option<String> },
}

pub fn find(db: &Db, user_id: i64, mac: &[u8; 32]) -> Result<Option<Match>, StoreError> {
    db.query_opt(
        "SELECT id, used_at, used_ip FROM backup_codes WHERE user_id = ?1 AND code_mac = ?2",
        &[user_id.into(), mac.as_slice().into()],
    )?
    .map(|row| {
        Ok(match row.get::<Option<i64>>(1)? {
            None => Match::Unused(row.get(0)?),
            Some(at) => Match::Used {
                at: time(at),
                ip: row.get(2)?,
            },
        })
    })
    .transpose()
}

pub fn mark_used(db: &Db, id: i64, at: Time, ip: &str) -> Result<(), StoreError> {
    db.execute(
        "UPDATE backup_codes SET used_at = ?2, used_ip = ?3 WHERE id = ?1 AND used_at IS NULL",
        &[id.into(), secs(at).into(), ip.into()],
    )?;
    Ok(())
}

pub fn for_user(db: &Db, user_id: i64) -> Result<Vec<CodeRow>, StoreError> {
    db.query(
        "SELECT position, created_at, used_at, used_ip FROM backup_codes WHERE user_id = ?1
         ORDER BY position",
        &[user_id.into()],
    )?
    .iter()
    .map(|row| {
        Ok(CodeRow {
            position: row.get(0)?,
            created_at: time(row.get(1)?),
            used_at: opt_time(row.get(2)?),
            used_ip: row.get(3)?,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{each_engine, user};

    fn totals(db: &Db, user_id: i64) -> (i64, i64) {
        let row = db
            .query_one(
                "SELECT codes_total, codes_left FROM users WHERE id = ?1",
                &[user_id.into()],
            )
            .unwrap();
        (row.get(0).unwrap(), row.get(1).unwrap())
    }

    #[test]
    fn a_batch_replaces_the_last_and_keeps_the_user_s_totals() {
        each_engine("codes_batch", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            let other = user(db, "b@example.com");
            let first: Vec<[u8; 32]> = (0..10).map(|i| [i; 32]).collect();
            assert_eq!(replace_batch(db, id, &first, time(100)).unwrap(), 0);
            replace_batch(db, other, &first[..2], time(100)).unwrap();
            assert_eq!(totals(db, id), (10, 10));
            let rows = for_user(db, id).unwrap();
            assert_eq!(rows.len(), 10);
            assert_eq!((rows[0].position, rows[9].position), (1, 10));
            assert!(
                rows.iter()
                    .all(|r| r.created_at == time(100) && r.used_at.is_none())
            );

            let second: Vec<[u8; 32]> = (20..23).map(|i| [i; 32]).collect();
            assert_eq!(replace_batch(db, id, &second, time(200)).unwrap(), 10);
            assert_eq!(totals(db, id), (3, 3));
            assert_eq!(
                find(db, id, &[0; 32]).unwrap(),
                None,
                "the old batch is gone"
            );
            assert_eq!(delete_for_user(db, id).unwrap(), 3);
            assert_eq!(totals(db, id), (0, 0));
            assert!(for_user(db, id).unwrap().is_empty());
            assert_eq!(totals(db, other), (2, 2), "another user's codes stay");
        });
    }

    #[test]
    fn a_code_is_found_used_once_and_then_reported_as_used() {
        each_engine("codes_use", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            let other = user(db, "b@example.com");
            replace_batch(db, id, &[[1; 32], [2; 32]], time(0)).unwrap();
            let Some(Match::Unused(code)) = find(db, id, &[2; 32]).unwrap() else {
                panic!("an unused code");
            };
            assert_eq!(find(db, other, &[2; 32]).unwrap(), None, "not another's");
            mark_used(db, code, time(50), "192.0.2.1").unwrap();
            mark_used(db, code, time(60), "192.0.2.2").unwrap();
            assert_eq!(
                find(db, id, &[2; 32]).unwrap(),
                Some(Match::Used {
                    at: time(50),
                    ip: Some("192.0.2.1".to_owned())
                }),
                "the first use stands"
            );
            let rows = for_user(db, id).unwrap();
            assert_eq!(rows[1].used_at, Some(time(50)));
            assert_eq!(rows[0].used_at, None);
        });
    }
}
