//! The simulator's sandbox: a private in-memory database holding the
//! settings and one user with what a login touches, copied in one read.

use std::path::Path;

use rusqlite::Connection;

use super::engine::{Db, Engine, TxMode, Value};
use super::{Store, StoreError};
use crate::location::Location;

impl Store {
    /// The simulator's sandbox: a private in-memory database holding the
    /// settings and one user with everything of theirs a login touches
    /// (factors, backup codes, devices, challenges, messages, attempts), read
    /// in one transaction. Writing to it never touches this database, and it
    /// costs kilobytes, not a copy of every user. It is `SQLite` whichever
    /// engine holds the data.
    pub fn copy_user(&self, email: &str) -> Result<Store, StoreError> {
        copy_user_from(self.db(), email)
    }

    /// [`Store::copy_user`] from the database at `location`, read through
    /// a connection of its own, so another thread can make it.
    pub fn copy_user_at(location: &Location, email: &str) -> Result<Store, StoreError> {
        match location {
            Location::File(path) => Self::copy_user_from_file(path, email),
            Location::Postgres(url) => copy_user_from(&super::pg::connect(url)?, email),
        }
    }

    /// [`Store::copy_user`] from the database file at `path`, read through
    /// a connection of its own, so another thread can make it.
    pub fn copy_user_from_file(path: &Path, email: &str) -> Result<Store, StoreError> {
        Self::probe(path)?;
        let src = Db::sqlite(super::open::read_only_connection(path)?);
        copy_user_from(&src, email)
    }
}

/// The tables a sandbox takes one user's rows from, and how to find them.
/// The user's own row comes last: with it absent, the triggers that keep its
/// counters leave them alone, and the row arrives with the right values.
const SANDBOX_TABLES: [(&str, &str); 9] = [
    ("factors", "user_id = ?1"),
    ("backup_codes", "user_id = ?1"),
    ("devices", "user_id = ?1"),
    (
        "device_addresses",
        "device_id IN (SELECT id FROM devices WHERE user_id = ?1)",
    ),
    ("challenges", "user_id = ?1"),
    ("deliveries", "user_id = ?1"),
    ("attempts", "user_id = ?1"),
    ("personas", "user_id = ?1"),
    ("users", "id = ?1"),
];

/// [`Store::copy_user`] from a database on either engine.
pub(crate) fn copy_user_from(src: &Db, email: &str) -> Result<Store, StoreError> {
    let dst = Store::in_memory()?;
    let conn = dst.conn()?;
    // Children before their user (see SANDBOX_TABLES); checked again below.
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    {
        let tx = conn.unchecked_transaction()?;
        // One read transaction on the source: a consistent snapshot.
        src.transaction(TxMode::Read, |read| -> Result<(), StoreError> {
            let user_id: i64 = read
                .query_opt(
                    "SELECT id FROM users WHERE email = ?1",
                    &[email.trim().into()],
                )?
                .ok_or_else(|| StoreError::NoUser(email.trim().to_owned()))?
                .get(0)?;
            copy_rows(read, &tx, "meta", "TRUE", None)?;
            copy_rows(read, &tx, "policy", "TRUE", None)?;
            // New rows continue the real database's ids, so a challenge made
            // in the sandbox has the number the next real one would.
            copy_sequences(read, &tx)?;
            for (table, filter) in SANDBOX_TABLES {
                copy_rows(read, &tx, table, filter, Some(user_id))?;
            }
            Ok(())
        })?;
        tx.commit()?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(dst)
}

/// Where each table's ids stand: `SQLite`'s `sqlite_sequence` as it is, or
/// the last value of each `PostgreSQL` identity the copy's tables number
/// with `AUTOINCREMENT`.
fn copy_sequences(src: &Db, dst: &Connection) -> Result<(), StoreError> {
    dst.execute("DELETE FROM sqlite_sequence", [])?;
    let mut insert = dst.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)")?;
    match src.engine() {
        Engine::Sqlite => {
            for row in src.query("SELECT name, seq FROM sqlite_sequence", &[])? {
                insert.execute(rusqlite::params_from_iter(row.values()))?;
            }
        }
        Engine::Postgres => {
            let tables = dst
                .prepare(
                    "SELECT name FROM sqlite_schema
                     WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%' ORDER BY name",
                )?
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            for table in tables {
                let last: Option<i64> = src
                    .query_one(
                        "SELECT pg_sequence_last_value(pg_get_serial_sequence(?1, 'id'))",
                        &[table.as_str().into()],
                    )?
                    .get(0)?;
                if let Some(last) = last {
                    insert.execute(rusqlite::params![table, last])?;
                }
            }
        }
    }
    Ok(())
}

/// Copy the rows of `table` that `filter` picks, column for column: the
/// copy's stored columns (a generated column is computed again in it),
/// which both engines' schemas name alike.
fn copy_rows(
    src: &Db,
    dst: &Connection,
    table: &str,
    filter: &str,
    user_id: Option<i64>,
) -> Result<(), StoreError> {
    let names = dst
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    let mut insert = dst.prepare(&format!(
        "INSERT OR REPLACE INTO {table} ({list}) VALUES ({})",
        placeholders.join(", ")
    ))?;
    let params: Vec<Value> = user_id.into_iter().map(Value::from).collect();
    src.each(
        &format!("SELECT {list} FROM {table} WHERE {filter}"),
        &params,
        |row| {
            insert.execute(rusqlite::params_from_iter(row.values()))?;
            Ok(true)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::latest;
    use crate::store::testing::each_engine;

    fn count(store: &Store, table: &str) -> i64 {
        store
            .db()
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
            .get(0)
            .unwrap()
    }

    /// Two users, each with a factor and a device; the policy changed.
    /// Portable SQL, so either engine can hold them.
    fn two_users(store: &mut Store) {
        store
            .write(|tx| {
                tx.batch(
                    "INSERT INTO meta (key, value) VALUES ('key_check', 'k');
                     INSERT INTO policy (key, value, changed_at) VALUES ('resend_mode', 'keep', 5);
                     INSERT INTO users (email, name, role, status, created_at, grace_from)
                         VALUES ('a@x.org', 'A', 'member', 'active', 0, 0),
                                ('b@x.org', 'B', 'member', 'active', 0, 0);
                     INSERT INTO factors (user_id, kind, status, label, created_at)
                         VALUES (1, 'totp', 'active', 'app', 0), (2, 'totp', 'active', 'app', 0);",
                )?;
                tx.execute(
                    "INSERT INTO devices (user_id, token_mac, label, last_ip, first_seen_at,
                         last_seen_at, trusted_until)
                     VALUES (1, ?1, 'l', '192.0.2.1', 0, 0, 100),
                            (2, ?2, 'l', '192.0.2.2', 0, 0, 100)",
                    &[vec![1u8].into(), vec![2u8].into()],
                )
                .map(drop)
            })
            .unwrap();
    }

    #[test]
    fn a_sandbox_holds_one_user_and_the_settings_and_writes_stay_in_it() {
        each_engine("sandbox_copy", |store| {
            one_user_copied(store);
        });
    }

    fn one_user_copied(store: &mut Store) {
        two_users(store);
        let mut copy = store.copy_user(" a@x.org ").unwrap();
        assert_eq!(count(&copy, "users"), 1);
        assert_eq!(count(&copy, "factors"), 1);
        assert_eq!(count(&copy, "devices"), 1);
        assert_eq!(copy.schema_version().unwrap(), latest());
        let (factors, kinds): (i64, String) = copy
            .conn()
            .unwrap()
            .query_row("SELECT active_factors, factor_kinds FROM users", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(
            (factors, kinds.as_str()),
            (1, "totp"),
            "counters not doubled"
        );
        let policy: String = copy
            .conn()
            .unwrap()
            .query_row(
                "SELECT value FROM policy WHERE key = 'resend_mode'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(policy, "keep");
        let next: i64 = copy
            .conn()
            .unwrap()
            .query_row(
                "INSERT INTO factors (user_id, kind, status, label, created_at)
                 VALUES (1, 'sms', 'pending', 'phone', 0) RETURNING id",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(next, 3, "ids continue the real database's");
        copy.write(|tx| {
            tx.require_sqlite()?
                .execute("DELETE FROM factors", [])
                .map_err(StoreError::from)
        })
        .unwrap();
        assert_eq!(count(store, "factors"), 2, "the original is untouched");
        let fk: i64 = copy
            .conn()
            .unwrap()
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        assert!(matches!(
            store.copy_user("c@x.org"),
            Err(StoreError::NoUser(_))
        ));
    }

    #[test]
    fn a_file_sandbox_reads_what_is_committed_and_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut store = Store::create(&path).unwrap();
        two_users(&mut store);
        // The file stays open and in use while another connection copies it.
        let mut copy = Store::copy_user_from_file(&path, "b@x.org").unwrap();
        assert!(
            copy.conn().unwrap().path().is_none_or(str::is_empty),
            "in memory"
        );
        assert_eq!(count(&copy, "users"), 1);
        copy.write(|tx| {
            tx.require_sqlite()?
                .execute("DELETE FROM devices", [])
                .map_err(StoreError::from)
        })
        .unwrap();
        assert_eq!(count(&store, "devices"), 2);
        assert!(matches!(
            Store::copy_user_from_file(&dir.path().join("nope.db"), "b@x.org"),
            Err(StoreError::Missing(_))
        ));
    }
}
