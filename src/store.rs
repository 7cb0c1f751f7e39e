//! `SQLite` storage: opening (pragmas, refusal of foreign or newer files),
//! migrations from `schema.sql`, and transactions. Nothing else writes SQL.

pub mod attempts;
pub mod audit;
pub mod challenges;
pub mod codes;
pub mod deliveries;
pub mod devices;
pub mod factors;
pub mod meta;
pub mod policy;
pub mod users;

use std::path::{Path, PathBuf};

use chrono::DateTime;
use rusqlite::{Connection, OpenFlags, Row, Transaction, TransactionBehavior};
use thiserror::Error;

use crate::domain::Time;

/// Which page of a keyset-paged list to read, in the list's own order (users
/// by email; outbox and audit newest first). Every page comes back in that
/// order, whichever way it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyset<K> {
    /// The first rows.
    First,
    /// The rows from this key on, itself included (to read a page again).
    From(K),
    /// The rows that follow this key.
    After(K),
    /// The rows just before this key, the nearest last.
    Before(K),
    /// The last rows.
    Last,
}

impl<K> Keyset<K> {
    /// Read backwards (then reversed into list order).
    fn backwards(&self) -> bool {
        matches!(self, Keyset::Before(_) | Keyset::Last)
    }

    pub fn as_ref(&self) -> Keyset<&K> {
        self.map_ref(|k| k)
    }

    fn map_ref<'a, L>(&'a self, f: impl FnOnce(&'a K) -> L) -> Keyset<L> {
        match self {
            Keyset::First => Keyset::First,
            Keyset::From(k) => Keyset::From(f(k)),
            Keyset::After(k) => Keyset::After(f(k)),
            Keyset::Before(k) => Keyset::Before(f(k)),
            Keyset::Last => Keyset::Last,
        }
    }

    /// The same place with the key turned into another type.
    pub fn map<L>(self, f: impl FnOnce(K) -> L) -> Keyset<L> {
        match self {
            Keyset::First => Keyset::First,
            Keyset::From(k) => Keyset::From(f(k)),
            Keyset::After(k) => Keyset::After(f(k)),
            Keyset::Before(k) => Keyset::Before(f(k)),
            Keyset::Last => Keyset::Last,
        }
    }
}

/// The whole schema, as migration steps.
pub const SCHEMA: &str = include_str!("../schema.sql");
/// `PRAGMA application_id` of every factordesk database: "FD2A".
pub const APPLICATION_ID: i32 = 0x4644_3241;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error(
        "no database at {0}: create one with `factordesk init` or `factordesk demo`, or pass --db"
    )]
    Missing(PathBuf),
    #[error(
        "{0} is not a factordesk database; it was left untouched: pass --db with a factordesk database"
    )]
    Foreign(PathBuf),
    #[error(
        "{path} has schema version {found}, newer than this factordesk understands ({supported}); it was left untouched: upgrade factordesk"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("a file already exists at {0}: pass another --db, or remove it first")]
    Exists(PathBuf),
    #[error("cannot create {0}: {1}; choose a writable --db location")]
    Create(PathBuf, std::io::Error),
    #[error("cannot read {0}: {1}")]
    Unreadable(PathBuf, String),
    #[error("the database is busy (another factordesk is writing); try again")]
    Busy,
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The migration steps in `schema.sql`, split at `-- step N` lines.
pub fn steps() -> Vec<&'static str> {
    let mut steps = Vec::new();
    let mut rest = SCHEMA;
    let mut n = 1;
    while let Some(start) = rest.find(&format!("\n-- step {n}:")) {
        rest = &rest[start + 1..];
        let end = rest
            .find(&format!("\n-- step {}:", n + 1))
            .unwrap_or(rest.len());
        steps.push(&rest[..end]);
        rest = &rest[end..];
        n += 1;
    }
    steps
}

/// The schema version this build writes.
pub fn latest() -> i64 {
    i64::try_from(steps().len()).unwrap_or(i64::MAX)
}

pub struct Store {
    conn: Connection,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.conn.path())
            .finish()
    }
}

impl Store {
    /// Check, without writing a byte, that `path` is a factordesk database
    /// this build can open.
    pub fn probe(path: &Path) -> Result<(), StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::Unreadable(path.to_owned(), e.to_string()))?;
        let read = |pragma: &str| conn.pragma_query_value(None, pragma, |r| r.get::<_, i64>(0));
        let (app_id, version) = match (read("application_id"), read("user_version")) {
            (Ok(a), Ok(v)) => (a, v),
            (Err(e), _) | (_, Err(e)) if is_not_a_database(&e) => {
                return Err(StoreError::Foreign(path.to_owned()));
            }
            (Err(e), _) | (_, Err(e)) => {
                return Err(StoreError::Unreadable(path.to_owned(), e.to_string()));
            }
        };
        if app_id != i64::from(APPLICATION_ID) {
            return Err(StoreError::Foreign(path.to_owned()));
        }
        if version > latest() {
            return Err(StoreError::TooNew {
                path: path.to_owned(),
                found: version,
                supported: latest(),
            });
        }
        Ok(())
    }

    /// Open an existing factordesk database, upgrading an older schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::probe(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        let mut store = Store { conn };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// Create a new database file (mode 0600) with the whole schema. If
    /// anything fails, the half-made file is removed.
    pub fn create(path: &Path) -> Result<Store, StoreError> {
        crate::keyfile::create_private(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                StoreError::Exists(path.to_owned())
            } else {
                StoreError::Create(path.to_owned(), e)
            }
        })?;
        let made = (|| {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let mut store = Store {
                conn: Connection::open_with_flags(path, flags)?,
            };
            store
                .conn
                .pragma_update(None, "application_id", APPLICATION_ID)?;
            store.configure()?;
            store.migrate()?;
            Ok(store)
        })();
        if made.is_err() {
            remove_database_files(path);
        }
        made
    }

    /// A private in-memory database, for tests and benchmarks.
    pub fn in_memory() -> Result<Store, StoreError> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
        };
        store
            .conn
            .pragma_update(None, "application_id", APPLICATION_ID)?;
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn configure(&self) -> Result<(), StoreError> {
        // WAL for concurrent readers; NORMAL is durable enough under WAL and
        // bundled SQLite would otherwise default to FULL.
        self.conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        self.conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Ok(())
    }

    /// Apply every step past `user_version` in one exclusive transaction.
    fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, step) in steps().iter().enumerate() {
            let n = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if n > version {
                tx.execute_batch(step)?;
                tx.pragma_update(None, "user_version", n)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    /// For reads.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Run `f` in one immediate transaction: all of it lands, or none.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| E::from(classify(e)))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| E::from(classify(e)))?;
        Ok(value)
    }
}

/// Remove a database and its WAL companions (used only on files we just made).
pub fn remove_database_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

fn is_not_a_database(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase)
}

/// Busy is worth its own message; the rest pass through.
pub fn classify(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ) =>
        {
            StoreError::Busy
        }
        _ => StoreError::Sqlite(e),
    }
}

/// Unix seconds, as stored.
pub fn secs(t: Time) -> i64 {
    t.timestamp()
}

pub fn time(secs: i64) -> Time {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

pub fn opt_time(secs: Option<i64>) -> Option<Time> {
    secs.map(time)
}

/// Read a column holding one of a text enum's spellings.
pub fn parse_col<T>(
    row: &Row<'_>,
    idx: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            idx,
            rusqlite::types::Type::Text,
            format!("unexpected value `{text}`").into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_splits_into_numbered_steps() {
        let steps = steps();
        assert!(!steps.is_empty());
        for (i, step) in steps.iter().enumerate() {
            assert!(
                step.starts_with(&format!("-- step {}:", i + 1)),
                "{step:.40}"
            );
        }
        assert_eq!(latest(), i64::try_from(steps.len()).unwrap());
    }

    #[test]
    fn migrations_run_twice_without_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::create(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), latest());
        drop(store);
        let mut store = Store::open(&path).unwrap();
        store.migrate().unwrap();
        assert_eq!(store.schema_version().unwrap(), latest());
    }

    #[test]
    fn each_step_upgrades_from_the_one_before() {
        let all = steps();
        for upto in 0..all.len() {
            let conn = Connection::open_in_memory().unwrap();
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            for (i, step) in all.iter().take(upto).enumerate() {
                conn.execute_batch(step).unwrap();
                conn.pragma_update(None, "user_version", i + 1).unwrap();
            }
            let mut store = Store { conn };
            store.migrate().unwrap();
            assert_eq!(store.schema_version().unwrap(), latest());
        }
    }

    #[test]
    fn created_files_are_private_and_in_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::create(&path).unwrap();
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = store
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1, "NORMAL");
        let fk: i64 = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(Store::create(&path), Err(StoreError::Exists(_))));
    }

    fn bytes_of(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    #[test]
    fn foreign_and_garbage_files_are_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.db");
        std::fs::write(
            &garbage,
            b"this is not sqlite at all, just some text\n".repeat(100),
        )
        .unwrap();
        let before = bytes_of(&garbage);
        assert!(matches!(Store::open(&garbage), Err(StoreError::Foreign(_))));
        assert_eq!(bytes_of(&garbage), before);

        let other = dir.path().join("other.db");
        let conn = Connection::open(&other).unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        drop(conn);
        let before = bytes_of(&other);
        let err = Store::open(&other).unwrap_err();
        assert!(
            err.to_string().contains("is not a factordesk database"),
            "{err}"
        );
        assert_eq!(bytes_of(&other), before);
        assert!(!dir.path().join("other.db-wal").exists());
    }

    #[test]
    fn a_newer_schema_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        drop(Store::create(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", latest() + 1)
            .unwrap();
        conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
        drop(conn);
        let before = bytes_of(&path);
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
        assert!(err.to_string().contains("upgrade factordesk"));
        assert_eq!(bytes_of(&path), before);
    }

    #[test]
    fn missing_and_unwritable_paths() {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::open(&dir.path().join("nope.db")).unwrap_err();
        assert!(err.to_string().contains("factordesk init"), "{err}");
        let err = Store::create(&dir.path().join("no/such/dir/x.db")).unwrap_err();
        assert!(matches!(err, StoreError::Create(..)), "{err}");
    }

    #[test]
    fn the_audit_trail_is_append_only() {
        let store = Store::in_memory().unwrap();
        store
            .conn
            .execute(
                "INSERT INTO audit (at, actor, kind, detail) VALUES (1, 'a', 'k', 'd')",
                [],
            )
            .unwrap();
        assert!(
            store
                .conn
                .execute("UPDATE audit SET detail = 'x'", [])
                .is_err()
        );
        assert!(store.conn.execute("DELETE FROM audit", []).is_err());
    }
}
