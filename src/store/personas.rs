//! The `personas` table: how the login simulator plays a user, the clock of
//! their phone and the address they log in from (the demo's stories).

use super::StoreError;
use super::engine::Db;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonaRow {
    /// Seconds their phone's clock is off (negative: slow).
    pub phone_skew: i64,
    /// Where they log in from now; `None`: where they were last seen.
    pub ip: Option<String>,
}

pub fn get(db: &Db, user_id: i64) -> Result<Option<PersonaRow>, StoreError> {
    db.query_opt(
        "SELECT phone_skew, ip FROM personas WHERE user_id = ?1",
        &[user_id.into()],
    )?
    .map(|row| {
        Ok(PersonaRow {
            phone_skew: row.get(0)?,
            ip: row.get(1)?,
        })
    })
    .transpose()
}

pub fn set(db: &Db, user_id: i64, p: &PersonaRow) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO personas (user_id, phone_skew, ip) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET phone_skew = excluded.phone_skew, ip = excluded.ip",
        &[user_id.into(), p.phone_skew.into(), p.ip.as_deref().into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{each_engine, user};

    #[test]
    fn a_persona_is_set_replaced_and_read_back() {
        each_engine("personas", |store| {
            let db = store.db();
            let id = user(db, "a@example.com");
            assert_eq!(get(db, id).unwrap(), None);
            let slow = PersonaRow {
                phone_skew: -95,
                ip: Some("203.0.113.9".to_owned()),
            };
            set(db, id, &slow).unwrap();
            assert_eq!(get(db, id).unwrap(), Some(slow));
            let home = PersonaRow {
                phone_skew: 0,
                ip: None,
            };
            set(db, id, &home).unwrap();
            assert_eq!(get(db, id).unwrap(), Some(home));
        });
    }
}
