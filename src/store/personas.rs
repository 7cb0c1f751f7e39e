//! The `personas` table: how the login simulator plays a user, the clock of
//! their phone and the address they log in from (the demo's stories).

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, exec};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonaRow {
    /// Seconds their phone's clock is off (negative: slow).
    pub phone_skew: i64,
    /// Where they log in from now; `None`: where they were last seen.
    pub ip: Option<String>,
}

pub fn get(conn: &Connection, user_id: i64) -> Result<Option<PersonaRow>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT phone_skew, ip FROM personas WHERE user_id = ?1")?
        .query_row([user_id], |r| {
            Ok(PersonaRow {
                phone_skew: r.get(0)?,
                ip: r.get(1)?,
            })
        })
        .optional()?)
}

pub fn set(conn: &Connection, user_id: i64, p: &PersonaRow) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO personas (user_id, phone_skew, ip) VALUES (?1, ?2, ?3)
         ON CONFLICT (user_id) DO UPDATE SET phone_skew = excluded.phone_skew, ip = excluded.ip",
        params![user_id, p.phone_skew, p.ip],
    )?;
    Ok(())
}
