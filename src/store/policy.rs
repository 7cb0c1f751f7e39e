//! The `policy` table: settings that differ from the defaults, as text, with
//! when each last changed (an enforcement change restarts enrolment grace).

use super::engine::Db;
use super::{StoreError, secs, time};
use crate::domain::Time;
use crate::domain::policy::Policy;

/// The stored policy over the defaults. A stored value this build cannot
/// parse is skipped (the default stands) and reported in the second list.
pub fn load(db: &Db) -> Result<(Policy, Vec<String>), StoreError> {
    let mut policy = Policy::default();
    let mut skipped = Vec::new();
    for row in db.query("SELECT key, value FROM policy ORDER BY key", &[])? {
        if let Err(e) = policy.set(row.text(0)?, row.text(1)?) {
            skipped.push(e.to_string());
        }
    }
    Ok((policy, skipped))
}

pub fn set(db: &Db, key: &str, value: &str, at: Time) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO policy (key, value, changed_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, changed_at = excluded.changed_at",
        &[key.into(), value.into(), secs(at).into()],
    )?;
    Ok(())
}

/// When `key` was last set, if ever.
pub fn changed_at(db: &Db, key: &str) -> Result<Option<Time>, StoreError> {
    Ok(db
        .query_opt(
            "SELECT changed_at FROM policy WHERE key = ?1",
            &[key.into()],
        )?
        .map(|row| row.get::<i64>(0))
        .transpose()?
        .map(time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::each_engine;

    #[test]
    fn settings_override_the_defaults_and_remember_when_they_changed() {
        each_engine("policy", |store| {
            let db = store.db();
            let (policy, skipped) = load(db).unwrap();
            assert_eq!(policy, Policy::default());
            assert!(skipped.is_empty());
            assert_eq!(changed_at(db, "resend_mode").unwrap(), None);

            set(db, "resend_mode", "keep", time(100)).unwrap();
            set(db, "resend_mode", "replace", time(200)).unwrap();
            let mut expected = Policy::default();
            expected.set("resend_mode", "replace").unwrap();
            assert_eq!(load(db).unwrap().0, expected);
            assert_eq!(changed_at(db, "resend_mode").unwrap(), Some(time(200)));
        });
    }

    #[test]
    fn a_value_this_build_cannot_read_is_skipped_and_reported() {
        each_engine("policy_skip", |store| {
            let db = store.db();
            set(db, "resend_mode", "sometimes", time(1)).unwrap();
            set(db, "no_such_setting", "1", time(1)).unwrap();
            let (policy, skipped) = load(db).unwrap();
            assert_eq!(policy, Policy::default());
            assert_eq!(skipped.len(), 2, "{skipped:?}");
        });
    }
}
