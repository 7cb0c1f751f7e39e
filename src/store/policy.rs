//! The `policy` table: settings that differ from the defaults, as text, with
//! when each last changed (an enforcement change restarts enrolment grace).

use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreError, exec, secs, time};
use crate::domain::Time;
use crate::domain::policy::Policy;

/// The stored policy over the defaults. A stored value this build cannot
/// parse is skipped (the default stands) and reported in the second list.
pub fn load(conn: &Connection) -> Result<(Policy, Vec<String>), StoreError> {
    let mut policy = Policy::default();
    let mut skipped = Vec::new();
    let mut stmt = conn.prepare_cached("SELECT key, value FROM policy ORDER BY key")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    for row in rows {
        let (key, value) = row?;
        if let Err(e) = policy.set(&key, &value) {
            skipped.push(e.to_string());
        }
    }
    Ok((policy, skipped))
}

pub fn set(conn: &Connection, key: &str, value: &str, at: Time) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO policy (key, value, changed_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, changed_at = excluded.changed_at",
        params![key, value, secs(at)],
    )?;
    Ok(())
}

/// When `key` was last set, if ever.
pub fn changed_at(conn: &Connection, key: &str) -> Result<Option<Time>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT changed_at FROM policy WHERE key = ?1")?
        .query_row([key], |r| r.get::<_, i64>(0))
        .optional()?
        .map(time))
}
