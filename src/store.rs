//! Storage: the `Store` over a [`Db`] on either engine, its `SQLite` opening
//! (pragmas, refusal of foreign or newer files), migrations, and transactions.
//! Nothing else writes SQL.

pub mod attempts;
pub mod attention;
pub mod audit;
mod batch;
pub mod challenges;
pub mod codes;
mod columns;
pub mod deliveries;
pub mod devices;
pub mod engine;
pub mod factors;
mod keyset;
pub mod meta;
mod open;
pub mod personas;
pub mod pg;
pub mod policy;
pub mod readiness;
mod sandbox;
mod search_keys;
pub mod temp_codes;
#[cfg(test)]
pub(crate) mod testing;
pub mod throttle;
pub mod transfer;
pub mod user_list;
pub mod user_sort;
pub mod users;

use std::path::{Path, PathBuf};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};
use thiserror::Error;

pub use batch::Upkeep;
pub use columns::{opt_time, parse_col, parse_value, secs, time};
pub use engine::{Db, TxMode};
pub use keyset::Keyset;
pub(crate) use keyset::Where;
pub use open::Access;

/// How many prepared statements a connection keeps (rusqlite's default, 16,
/// is fewer than one login touches).
const STATEMENT_CACHE: usize = 256;

/// The whole schema, as migration steps.
pub const SCHEMA: &str = include_str!("../schema.sql");
/// `PRAGMA application_id` of every factordesk database: "FD2A".
pub const APPLICATION_ID: i32 = 0x4644_3241;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("no database at {0}")]
    Missing(PathBuf),
    #[error("{0} is not a factordesk database; it was left untouched")]
    Foreign(PathBuf),
    #[error(
        "{path} has schema version {found}, newer than this factordesk understands ({supported}); it was left untouched: upgrade factordesk"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("a file already exists at {0}")]
    Exists(PathBuf),
    #[error("cannot create {0}: {1}")]
    Create(PathBuf, std::io::Error),
    #[error("cannot read {0}: {1}")]
    Unreadable(PathBuf, String),
    #[error("{0} is a directory")]
    Directory(PathBuf),
    #[error("{0} is {1}, not a database file; it was left untouched")]
    NotRegular(PathBuf, &'static str),
    #[error(
        "{path} is read-only and has schema version {found}, older than this factordesk's ({supported}); it was left untouched: make it writable (chmod u+w {path}) and run factordesk once to upgrade it"
    )]
    ReadOnlyOld {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "{path} could not be brought to schema version {step} ({reason}); it was left as it was: restore it from a backup"
    )]
    Upgrade {
        path: PathBuf,
        step: i64,
        reason: String,
    },
    #[error("there is no user {0} to simulate")]
    NoUser(String),
    #[error("the database is busy (another program holds a lock on it); try again in a moment")]
    Busy,
    #[error("the database cannot be written: the file or its directory is read-only")]
    ReadOnly,
    #[error("database error: {}", short(.0))]
    Sqlite(rusqlite::Error),
    /// `PostgreSQL`, or a row read through the engine handle (issue 12).
    #[error(transparent)]
    Engine(engine::EngineError),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        classify(e)
    }
}

/// `SQLite`'s own words, without the statement it was running.
fn short(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(_, Some(msg))
        | rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        other => other.to_string(),
    }
    .lines()
    .next()
    .unwrap_or_default()
    .to_owned()
}

/// The migration steps in `schema.sql`, split at `-- step N` lines.
pub fn steps() -> Vec<&'static str> {
    split_steps(SCHEMA)
}

/// A schema file's steps, split at its `-- step N:` lines (`schema.sql`'s,
/// and `PostgreSQL`'s, which numbers its steps the same).
pub(crate) fn split_steps(schema: &'static str) -> Vec<&'static str> {
    let mut steps = Vec::new();
    let mut rest = schema;
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

/// The step whose rows are finished in Rust (emails in canonical form, with
/// their skeletons): see `schema.sql`.
const EMAIL_STEP: i64 = 5;

/// The schema version this build writes.
pub fn latest() -> i64 {
    i64::try_from(steps().len()).unwrap_or(i64::MAX)
}

pub struct Store {
    db: Db,
    /// Inside [`Store::batch`]: each `write` joins the batch's transaction.
    in_batch: bool,
    /// What a batch put off until its end.
    deferred: batch::Deferred,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("engine", &self.db.engine())
            .field("path", &self.db.as_sqlite().and_then(Connection::path))
            .field("in_batch", &self.in_batch)
            .field("deferred", &self.deferred)
            .finish()
    }
}

/// Define factordesk's own SQL functions on a `SQLite` connection that
/// factordesk did not open: the triggers that keep the Users search's keys
/// call them, so a connection without them cannot change a user's email or
/// name (tools and tests that write the file directly).
pub fn define_functions(conn: &Connection) -> Result<(), StoreError> {
    Ok(search_keys::define(conn)?)
}

impl Store {
    /// Check, without writing a byte or making a `-wal`/`-shm` file beside
    /// it and without blocking, that `path` is a regular file holding a
    /// factordesk database this build can open, and whether it can be written.
    pub fn probe(path: &Path) -> Result<Access, StoreError> {
        open::probe(path)
    }

    /// Open an existing factordesk database, upgrading an older schema.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Self::probe(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        let mut store = Store::from_connection(conn)?;
        store.configure()?;
        store.migrate().map_err(|e| match e {
            StoreError::Sqlite(e) => StoreError::Upgrade {
                path: path.to_owned(),
                step: latest(),
                reason: short(&e),
            },
            other => other,
        })?;
        Ok(store)
    }

    /// A second, read-only connection to the database file at `path` (one
    /// already opened, so already migrated): for reads on another thread.
    pub fn open_reader(path: &Path) -> Result<Store, StoreError> {
        Self::probe(path)?;
        let store = Store::from_connection(open::read_only_connection(path)?)?;
        store.configure_reader()?;
        Ok(store)
    }

    /// Create a new database file (mode 0600) with the whole schema. If
    /// anything fails, the half-made file is removed.
    pub fn create(path: &Path) -> Result<Store, StoreError> {
        if path.is_dir() {
            return Err(StoreError::Directory(path.to_owned()));
        }
        crate::files::create_private(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                StoreError::Exists(path.to_owned())
            } else {
                StoreError::Create(path.to_owned(), e)
            }
        })?;
        Self::initialise(path)
    }

    /// A private in-memory database, for tests and benchmarks.
    pub fn in_memory() -> Result<Store, StoreError> {
        let mut store = Store::from_connection(Connection::open_in_memory()?)?;
        store
            .conn()?
            .pragma_update(None, "application_id", APPLICATION_ID)?;
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn configure(&self) -> Result<(), StoreError> {
        let conn = self.conn()?;
        // WAL for concurrent readers; NORMAL is durable enough under WAL and
        // bundled SQLite would otherwise default to FULL.
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Statement journals and the small sorts of a page stay in memory:
        // on disk, each write would create and remove a temp file.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Every statement the use cases run stays prepared, with one plan:
        // without the planner's stability guarantee, `SQLite` prepares a
        // statement again whenever a bound value might change its plan.
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        Ok(())
    }

    /// Apply every step past `user_version` in one exclusive transaction.
    pub(crate) fn migrate(&mut self) -> Result<(), StoreError> {
        self.db.transaction(TxMode::Exclusive, |db| {
            let tx = db.require_sqlite()?;
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            for (i, step) in steps().iter().enumerate() {
                let n = i64::try_from(i).unwrap_or(i64::MAX) + 1;
                if n > version {
                    tx.execute_batch(step)?;
                    if n == EMAIL_STEP {
                        users::canonicalize_emails(tx)?;
                    }
                    tx.pragma_update(None, "user_version", n)?;
                }
            }
            Ok(())
        })
    }

    /// Give the query planner statistics of every table (sampled, so it
    /// takes a moment at any size), and fold the write-ahead log back into
    /// the file: after bulk work such as the generator.
    /// On `PostgreSQL`, `ANALYZE` alone (autovacuum keeps the rest).
    pub fn optimize(&self) -> Result<(), StoreError> {
        let Some(conn) = self.db.as_sqlite() else {
            return self.db.batch("ANALYZE");
        };
        conn.execute_batch("PRAGMA analysis_limit = 1000; ANALYZE;")?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    pub fn schema_version(&self) -> Result<i64, StoreError> {
        match self.db.as_sqlite() {
            Some(conn) => Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?),
            None => pg::schema_version(&self.db),
        }
    }

    /// The `SQLite` connection, for reads through store functions not yet
    /// ported to [`Db`]; [`EngineError::Unported`] on `PostgreSQL`.
    ///
    /// [`EngineError::Unported`]: engine::EngineError::Unported
    pub fn conn(&self) -> Result<&Connection, StoreError> {
        self.db.require_sqlite()
    }

    /// The database on either engine, for ported store functions.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A store over an open `SQLite` connection, outside any batch, with
    /// factordesk's SQL functions (the search keys' triggers call them)
    /// defined on it: every opening comes through here (and tests, over a
    /// connection they set up).
    pub(crate) fn from_connection(conn: Connection) -> Result<Store, StoreError> {
        define_functions(&conn)?;
        Ok(Store::from_db(Db::sqlite(conn)))
    }

    /// A store over an open handle on either engine (a `PostgreSQL` one
    /// already migrated: `pg::open`), outside any batch.
    pub(crate) fn from_db(db: Db) -> Store {
        Store {
            db,
            in_batch: false,
            deferred: batch::Deferred::default(),
        }
    }

    /// For tests that hook the connection (the query-plan test traces it).
    #[cfg(test)]
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        self.db.as_sqlite_mut().expect("a SQLite store")
    }

    /// Run `f` in one writing transaction ([`TxMode::Write`]): all of it
    /// lands, or none. Inside [`Store::begin_batch`] it joins the batch's
    /// transaction instead. On `PostgreSQL` a transaction that lost a race
    /// runs `f` again: it must read afresh what it relies on, and do
    /// nothing outside the database that a second run would repeat.
    pub fn write<T, E>(&mut self, mut f: impl FnMut(&Db) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.in_batch {
            return f(&self.db);
        }
        self.db.transaction(TxMode::Write, f)
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

/// Busy and read-only are worth their own messages; the rest pass through.
pub fn classify(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => {
                StoreError::Busy
            }
            rusqlite::ErrorCode::ReadOnly => StoreError::ReadOnly,
            _ => StoreError::Sqlite(e),
        },
        _ => StoreError::Sqlite(e),
    }
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
            let mut store = Store::from_connection(conn).unwrap();
            store.migrate().unwrap();
            assert_eq!(store.schema_version().unwrap(), latest());
        }
    }

    #[test]
    fn step_2_moves_an_old_resync_off_the_factor_s_last_use() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        conn.execute_batch(steps()[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO users (id, email, role, status, created_at, grace_from)
                 VALUES (1, 'a@example.com', 'member', 'active', 0, 0);
             INSERT INTO factors (id, user_id, kind, status, label, last_step, last_used_at,
                 last_used_ip, created_at)
                 VALUES (1, 1, 'totp', 'active', 'app', 900, 27000, 'the help desk (resync)', 0),
                        (2, 1, 'totp', 'active', 'app 2', 800, 24000, '198.51.100.7', 0);
             INSERT INTO attempts (user_id, factor_id, kind, outcome, ip, at, first_used_at,
                 first_used_ip)
                 VALUES (1, 1, 'totp', 'replayed', '198.51.100.7', 27060, 27000,
                     'the help desk (resync)');",
        )
        .unwrap();
        let mut store = Store::from_connection(conn).unwrap();
        store.migrate().unwrap();
        let one = factors::by_id(store.db(), 1).unwrap().unwrap();
        assert_eq!(
            (one.resync_step, one.last_step, one.last_used_ip.as_deref()),
            (Some(900), None, None)
        );
        assert_eq!(one.state().spent(), Some(900));
        let two = factors::by_id(store.db(), 2).unwrap().unwrap();
        assert_eq!((two.resync_step, two.last_step), (None, Some(800)));
        let a = &attempts::for_user_since(store.db(), 1, time(0), 10).unwrap()[0];
        assert!(a.first_used_by_resync && a.first_used_ip.is_none(), "{a:?}");
    }

    #[test]
    fn created_files_are_private_and_in_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let store = Store::create(&path).unwrap();
        let mode: String = store
            .conn()
            .unwrap()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = store
            .conn()
            .unwrap()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 1, "NORMAL");
        let fk: i64 = store
            .conn()
            .unwrap()
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
        assert!(matches!(err, StoreError::Missing(_)), "{err}");
        let err = Store::create(&dir.path().join("no/such/dir/x.db")).unwrap_err();
        assert!(matches!(err, StoreError::Create(..)), "{err}");
    }

    /// On `PostgreSQL` a write whose reads another connection changed
    /// before it wrote runs again, reading afresh: nothing is lost.
    #[test]
    fn a_write_that_lost_a_race_runs_again_from_a_fresh_read() {
        let Some(pair) = testing::postgres_pair("write_race") else {
            return;
        };
        // Named: the database it holds stays until the test ends.
        let testing::PgPair { mut a, mut b, .. } = pair;
        meta::set(a.db(), "n", "0").unwrap();
        let mut runs = 0;
        let read = a
            .write(|db| -> Result<String, StoreError> {
                runs += 1;
                let n: i64 = meta::get(db, "n")?.unwrap().parse().unwrap();
                if runs == 1 {
                    // Between this read and the write below, another
                    // connection commits a change to the same row.
                    b.write(|db| meta::set(db, "n", "10")).unwrap();
                }
                meta::set(db, "n", &(n + 1).to_string())?;
                Ok(n.to_string())
            })
            .unwrap();
        assert_eq!((runs, read.as_str()), (2, "10"));
        assert_eq!(meta::get(b.db(), "n").unwrap().as_deref(), Some("11"));
    }

    #[test]
    fn the_audit_trail_is_append_only() {
        let store = Store::in_memory().unwrap();
        store
            .conn()
            .unwrap()
            .execute(
                "INSERT INTO audit (at, actor, kind, detail) VALUES (1, 'a', 'k', 'd')",
                [],
            )
            .unwrap();
        assert!(
            store
                .conn()
                .unwrap()
                .execute("UPDATE audit SET detail = 'x'", [])
                .is_err()
        );
        assert!(
            store
                .conn()
                .unwrap()
                .execute("DELETE FROM audit", [])
                .is_err()
        );
    }
}
