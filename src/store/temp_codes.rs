//! The `temp_codes` table: at most one temporary access code per user, as a
//! keyed hash, with who issued it, why, until when, and its one use.

use super::engine::Db;
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
pub fn replace(db: &Db, code: &NewTempCode<'_>) -> Result<Option<TempCodeRow>, StoreError> {
    let old = for_user(db, code.user_id)?;
    db.execute(
        "INSERT INTO temp_codes (user_id, code_mac, created_at, expires_at, created_by,
             reason, used_at, used_ip)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL)
         ON CONFLICT (user_id) DO UPDATE SET code_mac = excluded.code_mac,
             created_at = excluded.created_at, expires_at = excluded.expires_at,
             created_by = excluded.created_by, reason = excluded.reason,
             used_at = NULL, used_ip = NULL",
        &[
            code.user_id.into(),
            code.code_mac.into(),
            secs(code.created_at).into(),
            secs(code.expires_at).into(),
            code.created_by.into(),
            code.reason.into(),
        ],
    )?;
    Ok(old)
}

/// The user's code, if one was ever issued (and not removed by a reset).
pub fn for_user(db: &Db, user_id: i64) -> Result<Option<TempCodeRow>, StoreError> {
    db.query_opt(
        "SELECT code_mac, created_at, expires_at, created_by, reason, used_at, used_ip
         FROM temp_codes WHERE user_id = ?1",
        &[user_id.into()],
    )?
    .map(|row| {
        Ok(TempCodeRow {
            code_mac: row.get(0)?,
            created_at: time(row.get(1)?),
            expires_at: time(row.get(2)?),
            created_by: row.get(3)?,
            reason: row.get(4)?,
            used_at: opt_time(row.get(5)?),
            used_ip: row.get(6)?,
        })
    })
    .transpose()
}

/// Spend the user's code: `false` when it was already spent (so it is
/// accepted once, however two logins race).
pub fn mark_used(db: &Db, user_id: i64, at: Time, ip: &str) -> Result<bool, StoreError> {
    let n = db.execute(
        "UPDATE temp_codes SET used_at = ?2, used_ip = ?3 WHERE user_id = ?1 AND used_at IS NULL",
        &[user_id.into(), secs(at).into(), ip.into()],
    )?;
    Ok(n == 1)
}

/// Remove the user's code (a 2FA reset removes it with the factors).
pub fn delete_for_user(db: &Db, user_id: i64) -> Result<usize, StoreError> {
    let n = db.execute(
        "DELETE FROM temp_codes WHERE user_id = ?1",
        &[user_id.into()],
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{each_engine, user};

    fn code<'a>(user_id: i64, mac: &'a [u8], at: i64, by: &'a str) -> NewTempCode<'a> {
        NewTempCode {
            user_id,
            code_mac: mac,
            created_at: time(at),
            expires_at: time(at + 3600),
            created_by: by,
            reason: "lost phone",
        }
    }

    #[test]
    fn a_new_code_replaces_the_old_one_used_or_not() {
        each_engine("temp_codes", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            assert_eq!(for_user(db, id).unwrap(), None);
            assert_eq!(replace(db, &code(id, b"one", 100, "ann")).unwrap(), None);
            assert!(mark_used(db, id, time(200), "192.0.2.1").unwrap());
            let old = replace(db, &code(id, b"two", 300, "bob")).unwrap().unwrap();
            assert_eq!(
                (old.code_mac.as_slice(), old.used_at, old.used_ip.as_deref()),
                (&b"one"[..], Some(time(200)), Some("192.0.2.1"))
            );
            let new = for_user(db, id).unwrap().unwrap();
            assert_eq!(
                new,
                TempCodeRow {
                    code_mac: b"two".to_vec(),
                    created_at: time(300),
                    expires_at: time(3900),
                    created_by: "bob".to_owned(),
                    reason: "lost phone".to_owned(),
                    used_at: None,
                    used_ip: None,
                }
            );
        });
    }

    #[test]
    fn a_code_is_spent_once_and_removed_with_a_reset() {
        each_engine("temp_codes_use", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            assert!(!mark_used(db, id, time(1), "192.0.2.1").unwrap(), "no code");
            replace(db, &code(id, b"mac", 0, "ann")).unwrap();
            assert!(mark_used(db, id, time(1), "192.0.2.1").unwrap());
            assert!(!mark_used(db, id, time(2), "192.0.2.2").unwrap(), "spent");
            let row = for_user(db, id).unwrap().unwrap();
            assert_eq!(
                (row.used_at, row.used_ip.as_deref()),
                (Some(time(1)), Some("192.0.2.1"))
            );
            assert_eq!(delete_for_user(db, id).unwrap(), 1);
            assert_eq!(delete_for_user(db, id).unwrap(), 0);
            assert_eq!(for_user(db, id).unwrap(), None);
        });
    }
}
