//! The `meta` table: facts about the database itself (the key check, when and
//! how it was created). Ported to [`Db`]: the same SQL on either engine.

use super::StoreError;
use super::engine::Db;

pub fn get(db: &Db, key: &str) -> Result<Option<String>, StoreError> {
    db.query_opt("SELECT value FROM meta WHERE key = ?1", &[key.into()])?
        .map(|row| row.get(0))
        .transpose()
}

pub fn set(db: &Db, key: &str, value: &str) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[key.into(), value.into()],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::each_engine;

    #[test]
    fn a_value_is_set_replaced_and_read_back() {
        each_engine("meta", |store| {
            let db = store.db();
            assert_eq!(get(db, "origin").unwrap(), None);
            set(db, "origin", "init").unwrap();
            assert_eq!(get(db, "origin").unwrap().as_deref(), Some("init"));
            set(db, "origin", "demo").unwrap();
            assert_eq!(get(db, "origin").unwrap().as_deref(), Some("demo"));
            set(db, "empty", "").unwrap();
            assert_eq!(get(db, "empty").unwrap().as_deref(), Some(""));
        });
    }
}
