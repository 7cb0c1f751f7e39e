//! The simulator's sandbox: a private in-memory database holding the
//! settings and one user with what a login touches, copied in one read.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

use super::{Store, StoreError};

impl Store {
    /// The simulator's sandbox: a private in-memory database holding the
    /// settings and one user with everything of theirs a login touches
    /// (factors, backup codes, devices, challenges, messages, attempts), read
    /// in one transaction. Writing to it never touches this database, and it
    /// costs kilobytes, not a copy of every user.
    pub fn copy_user(&self, email: &str) -> Result<Store, StoreError> {
        copy_user_from(self.conn()?, email)
    }

    /// [`Store::copy_user`] from the database file at `path`, read through
    /// a connection of its own, so another thread can make it.
    pub fn copy_user_from_file(path: &Path, email: &str) -> Result<Store, StoreError> {
        Self::probe(path)?;
        let src = super::open::read_only_connection(path)?;
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

fn copy_user_from(src: &Connection, email: &str) -> Result<Store, StoreError> {
    let dst = Store::in_memory()?;
    let dst_conn = dst.conn()?;
    // Children before their user (see SANDBOX_TABLES); checked again below.
    dst_conn.pragma_update(None, "foreign_keys", "OFF")?;
    {
        // One read transaction on the source: a consistent snapshot.
        let read = src.unchecked_transaction()?;
        let user_id: i64 = read
            .query_row(
                "SELECT id FROM users WHERE email = ?1",
                [email.trim()],
                |r| r.get(0),
            )
            .optional()?
            .ok_or_else(|| StoreError::NoUser(email.trim().to_owned()))?;
        let tx = dst_conn.unchecked_transaction()?;
        copy_rows(&read, &tx, "meta", "1", None)?;
        copy_rows(&read, &tx, "policy", "1", None)?;
        // New rows continue the real database's ids, so a challenge made in
        // the sandbox has the number the next real one would.
        tx.execute("DELETE FROM sqlite_sequence", [])?;
        copy_rows(&read, &tx, "sqlite_sequence", "1", None)?;
        for (table, filter) in SANDBOX_TABLES {
            copy_rows(&read, &tx, table, filter, Some(user_id))?;
        }
        tx.commit()?;
        read.finish()?;
    }
    dst_conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(dst)
}

/// Copy the rows of `table` that `filter` picks, column for column (the
/// stored ones: a generated column is computed again in the copy).
fn copy_rows(
    src: &Connection,
    dst: &Connection,
    table: &str,
    filter: &str,
    user_id: Option<i64>,
) -> Result<(), StoreError> {
    let names = src
        .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")?
        .query_map([table], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let list = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut select = src.prepare(&format!("SELECT {list} FROM {table} WHERE {filter}"))?;
    let columns = select.column_count();
    let placeholders: Vec<String> = (1..=columns).map(|i| format!("?{i}")).collect();
    let mut insert = dst.prepare(&format!(
        "INSERT OR REPLACE INTO {table} ({list}) VALUES ({})",
        placeholders.join(", ")
    ))?;
    let mut rows = match user_id {
        Some(id) => select.query([id])?,
        None => select.query([])?,
    };
    while let Some(row) = rows.next()? {
        let values = (0..columns)
            .map(|i| row.get::<_, Value>(i))
            .collect::<Result<Vec<_>, _>>()?;
        insert.execute(rusqlite::params_from_iter(values))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::latest;

    fn count(store: &Store, table: &str) -> i64 {
        store
            .conn()
            .unwrap()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    /// Two users, each with a factor and a device; the policy changed.
    fn two_users(store: &mut Store) {
        store
            .write(|tx| {
                tx.require_sqlite()?
                    .execute_batch(
                        "INSERT INTO meta (key, value) VALUES ('key_check', 'k');
                     INSERT INTO policy (key, value, changed_at) VALUES ('resend_mode', 'keep', 5);
                     INSERT INTO users (email, name, role, status, created_at, grace_from)
                         VALUES ('a@x.org', 'A', 'member', 'active', 0, 0),
                                ('b@x.org', 'B', 'member', 'active', 0, 0);
                     INSERT INTO factors (user_id, kind, status, label, created_at)
                         VALUES (1, 'totp', 'active', 'app', 0), (2, 'totp', 'active', 'app', 0);
                     INSERT INTO devices (user_id, token_mac, label, last_ip, first_seen_at,
                             last_seen_at, trusted_until)
                         VALUES (1, x'01', 'l', '192.0.2.1', 0, 0, 100),
                                (2, x'02', 'l', '192.0.2.2', 0, 0, 100);",
                    )
                    .map_err(StoreError::from)
            })
            .unwrap();
    }

    #[test]
    fn a_sandbox_holds_one_user_and_the_settings_and_writes_stay_in_it() {
        let mut store = Store::in_memory().unwrap();
        two_users(&mut store);
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
        copy.write(|tx| {
            tx.require_sqlite()?
                .execute("DELETE FROM factors", [])
                .map_err(StoreError::from)
        })
        .unwrap();
        assert_eq!(count(&store, "factors"), 2, "the original is untouched");
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
