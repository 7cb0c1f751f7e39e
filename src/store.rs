//! `SQLite` storage: opening (pragmas, refusal of foreign or newer files),
//! migrations from `schema.sql`, and transactions. Nothing else writes SQL.

pub mod attempts;
pub mod attention;
pub mod audit;
pub mod challenges;
pub mod codes;
pub mod deliveries;
pub mod devices;
pub mod factors;
pub mod meta;
mod open;
pub mod policy;
pub mod readiness;
pub mod throttle;
pub mod user_list;
pub mod users;

use std::path::{Path, PathBuf};

use chrono::DateTime;
use rusqlite::config::DbConfig;
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior};
use thiserror::Error;

use crate::domain::Time;

pub use open::Access;

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
    pub(crate) fn backwards(&self) -> bool {
        matches!(self, Keyset::Before(_) | Keyset::Last)
    }

    pub fn as_ref(&self) -> Keyset<&K> {
        match self {
            Keyset::First => Keyset::First,
            Keyset::From(k) => Keyset::From(k),
            Keyset::After(k) => Keyset::After(k),
            Keyset::Before(k) => Keyset::Before(k),
            Keyset::Last => Keyset::Last,
        }
    }

    /// For a list read newest first: the key to compare `(at, id)` with,
    /// the comparison, and the direction to read in.
    fn newest_first(self) -> (Option<K>, &'static str, &'static str) {
        match self {
            Keyset::First => (None, "", "DESC"),
            Keyset::Last => (None, "", "ASC"),
            Keyset::From(k) => (Some(k), "<=", "DESC"),
            Keyset::After(k) => (Some(k), "<", "DESC"),
            Keyset::Before(k) => (Some(k), ">", "ASC"),
        }
    }

    /// The same place, keyed by the key row's `(time, key)` as `time_of`
    /// finds it; `None` when that row is gone.
    pub(crate) fn with_time(
        self,
        time_of: impl FnOnce(&K) -> Result<Option<i64>, StoreError>,
    ) -> Result<Option<Keyset<(i64, K)>>, StoreError> {
        type Place<K> = fn((i64, K)) -> Keyset<(i64, K)>;
        let keyed = |k: K, place: Place<K>| Ok(time_of(&k)?.map(|t| place((t, k))));
        match self {
            Keyset::First => Ok(Some(Keyset::First)),
            Keyset::Last => Ok(Some(Keyset::Last)),
            Keyset::From(k) => keyed(k, Keyset::From),
            Keyset::After(k) => keyed(k, Keyset::After),
            Keyset::Before(k) => keyed(k, Keyset::Before),
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

/// How many prepared statements a connection keeps (rusqlite's default, 16,
/// is fewer than one login touches).
const STATEMENT_CACHE: usize = 256;

/// The WHERE clauses of one statement and the values bound to them, built
/// up from what a caller asked for: only the filters asked for are in the
/// SQL, so `SQLite` can pick the index that answers them (a clause such as
/// `(?1 IS NULL OR user_id = ?1)` hides the index from it).
#[derive(Debug, Default)]
pub(crate) struct Where {
    clauses: Vec<String>,
    args: Vec<Value>,
}

impl Where {
    /// Bind a value; returns its placeholder.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.args.push(value.into());
        format!("?{}", self.args.len())
    }

    pub fn and(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// The clauses joined with AND (`1` when there are none).
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "1".to_owned()
        } else {
            self.clauses.join(" AND ")
        }
    }

    pub fn params(&self) -> rusqlite::ParamsFromIter<&Vec<Value>> {
        rusqlite::params_from_iter(&self.args)
    }

    /// Limit a newest-first list to the rows `at` names, given the key row's
    /// `(time, id)`; returns the direction to read in (`DESC` from the newest).
    /// `time` and `id` are the columns, so an index on `(…, time)` (whose
    /// entries end with the rowid) answers the range and the order at once.
    pub fn newest_first(&mut self, at: Keyset<(i64, i64)>, time: &str, id: &str) -> &'static str {
        let (key, op, order) = at.newest_first();
        if let Some((t, i)) = key {
            let (t, i) = (self.bind(t), self.bind(i));
            self.and(format!("({time}, {id}) {op} ({t}, {i})"));
        }
        order
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
    #[error("cannot read {0}: {1}; check its permissions, or pass another --db")]
    Unreadable(PathBuf, String),
    #[error("{0} is a directory: pass --db with the database file, e.g. {0}/factordesk.db")]
    Directory(PathBuf),
    #[error(
        "{0} is {1}, not a database file; it was left untouched: pass --db with a factordesk database"
    )]
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
    #[error("there is no user {0} to simulate: pick one from the Users list")]
    NoUser(String),
    #[error("the database is busy (another program holds a lock on it); try again in a moment")]
    Busy,
    #[error(
        "the database cannot be written: the file or its directory is read-only; fix the permissions, or copy it somewhere writable and pass that --db"
    )]
    ReadOnly,
    #[error("database error: {}", short(.0))]
    Sqlite(rusqlite::Error),
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

/// The step whose rows are finished in Rust (emails in canonical form, with
/// their skeletons): see `schema.sql`.
const EMAIL_STEP: i64 = 5;

/// The schema version this build writes.
pub fn latest() -> i64 {
    i64::try_from(steps().len()).unwrap_or(i64::MAX)
}

pub struct Store {
    conn: Connection,
    /// Inside [`Store::batch`]: each `write` joins the batch's transaction.
    in_batch: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.conn.path())
            .field("in_batch", &self.in_batch)
            .finish()
    }
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
        let mut store = Store {
            conn,
            in_batch: false,
        };
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
        let store = Store {
            conn: open::read_only_connection(path)?,
            in_batch: false,
        };
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
        let mut store = Store {
            conn: Connection::open_in_memory()?,
            in_batch: false,
        };
        store
            .conn
            .pragma_update(None, "application_id", APPLICATION_ID)?;
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// The simulator's sandbox: a private in-memory database holding the
    /// settings and one user with everything of theirs a login touches
    /// (factors, backup codes, devices, challenges, messages, attempts), read
    /// in one transaction. Writing to it never touches this database, and it
    /// costs kilobytes, not a copy of every user.
    pub fn copy_user(&self, email: &str) -> Result<Store, StoreError> {
        copy_user_from(&self.conn, email)
    }

    /// [`Store::copy_user`] from the database file at `path`, read through
    /// a connection of its own, so another thread can make it.
    pub fn copy_user_from_file(path: &Path, email: &str) -> Result<Store, StoreError> {
        Self::probe(path)?;
        let src = open::read_only_connection(path)?;
        copy_user_from(&src, email)
    }

    fn configure(&self) -> Result<(), StoreError> {
        // WAL for concurrent readers; NORMAL is durable enough under WAL and
        // bundled SQLite would otherwise default to FULL.
        self.conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        // Statement journals and the small sorts of a page stay in memory:
        // on disk, each write would create and remove a temp file.
        self.conn.pragma_update(None, "temp_store", "MEMORY")?;
        self.conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Every statement the use cases run stays prepared, with one plan:
        // without the planner's stability guarantee, `SQLite` prepares a
        // statement again whenever a bound value might change its plan.
        self.conn
            .set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        self.conn
            .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        Ok(())
    }

    /// Apply every step past `user_version` in one exclusive transaction.
    pub(crate) fn migrate(&mut self) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Exclusive)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        for (i, step) in steps().iter().enumerate() {
            let n = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if n > version {
                tx.execute_batch(step)?;
                if n == EMAIL_STEP {
                    users::canonicalize_emails(&tx)?;
                }
                tx.pragma_update(None, "user_version", n)?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Give the query planner statistics of every table (sampled, so it
    /// takes a moment at any size), and fold the write-ahead log back into
    /// the file: after bulk work such as the generator.
    pub fn optimize(&self) -> Result<(), StoreError> {
        self.conn
            .execute_batch("PRAGMA analysis_limit = 1000; ANALYZE;")?;
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
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

    /// A store over a connection a test has set up (at an older schema).
    #[cfg(test)]
    pub(crate) fn from_connection(conn: Connection) -> Store {
        Store {
            conn,
            in_batch: false,
        }
    }

    /// For tests that hook the connection (the query-plan test traces it).
    #[cfg(test)]
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Run `f` in one immediate transaction: all of it lands, or none.
    /// Inside [`Store::batch`] it joins the batch's transaction instead.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&Connection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.in_batch {
            return f(&self.conn);
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| E::from(classify(e)))?;
        let value = f(&tx)?;
        tx.commit().map_err(|e| E::from(classify(e)))?;
        Ok(value)
    }

    /// Whether a batch's transaction is open.
    pub fn in_batch(&self) -> bool {
        self.in_batch
    }

    /// Start a batch: every [`Store::write`] until [`Store::end_batch`]
    /// joins one transaction, with a larger page cache. For bulk work such
    /// as the generator, where a transaction per use case would cost more
    /// than the use case itself.
    pub fn begin_batch(&mut self) -> Result<(), StoreError> {
        if self.in_batch {
            return Ok(());
        }
        self.conn
            .pragma_update(None, "cache_size", BATCH_CACHE_KIB)?;
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.in_batch = true;
        Ok(())
    }

    /// End a batch: commit all of it, or roll all of it back.
    pub fn end_batch(&mut self, commit: bool) -> Result<(), StoreError> {
        if !self.in_batch {
            return Ok(());
        }
        self.in_batch = false;
        let end = self
            .conn
            .execute_batch(if commit { "COMMIT" } else { "ROLLBACK" });
        let restored = self
            .conn
            .pragma_update(None, "cache_size", DEFAULT_CACHE_KIB);
        end.and(restored)?;
        Ok(())
    }
}

/// The page cache of a batch, in KiB (negative: `SQLite` reads it as KiB),
/// and the default it returns to.
const BATCH_CACHE_KIB: i64 = -65_536;
const DEFAULT_CACHE_KIB: i64 = -2_000;

/// The tables a sandbox takes one user's rows from, and how to find them.
/// The user's own row comes last: with it absent, the triggers that keep its
/// counters leave them alone, and the row arrives with the right values.
const SANDBOX_TABLES: [(&str, &str); 7] = [
    ("factors", "user_id = ?1"),
    ("backup_codes", "user_id = ?1"),
    ("devices", "user_id = ?1"),
    ("challenges", "user_id = ?1"),
    ("deliveries", "user_id = ?1"),
    ("attempts", "user_id = ?1"),
    ("users", "id = ?1"),
];

fn copy_user_from(src: &Connection, email: &str) -> Result<Store, StoreError> {
    let mut dst = Store::in_memory()?;
    // Children before their user (see SANDBOX_TABLES); checked again below.
    dst.conn.pragma_update(None, "foreign_keys", "OFF")?;
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
        let tx = dst.conn.transaction()?;
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
    dst.conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(dst)
}

/// Copy the rows of `table` that `filter` picks, column for column.
fn copy_rows(
    src: &Connection,
    dst: &Connection,
    table: &str,
    filter: &str,
    user_id: Option<i64>,
) -> Result<(), StoreError> {
    let mut select = src.prepare(&format!("SELECT * FROM {table} WHERE {filter}"))?;
    let columns = select.column_count();
    let placeholders: Vec<String> = (1..=columns).map(|i| format!("?{i}")).collect();
    let mut insert = dst.prepare(&format!(
        "INSERT OR REPLACE INTO {table} VALUES ({})",
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

/// Run one statement through the connection's statement cache: the use
/// cases run the same few dozen statements over and over.
pub(crate) fn exec<P: rusqlite::Params>(
    conn: &Connection,
    sql: &str,
    params: P,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
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
            let mut store = Store {
                conn,
                in_batch: false,
            };
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
        let mut store = Store {
            conn,
            in_batch: false,
        };
        store.migrate().unwrap();
        let one = factors::by_id(store.conn(), 1).unwrap().unwrap();
        assert_eq!(
            (one.resync_step, one.last_step, one.last_used_ip.as_deref()),
            (Some(900), None, None)
        );
        assert_eq!(one.state().spent(), Some(900));
        let two = factors::by_id(store.conn(), 2).unwrap().unwrap();
        assert_eq!((two.resync_step, two.last_step), (None, Some(800)));
        let a = &attempts::for_user_since(store.conn(), 1, time(0), 10).unwrap()[0];
        assert!(a.first_used_by_resync && a.first_used_ip.is_none(), "{a:?}");
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

    fn count(store: &Store, table: &str) -> i64 {
        store
            .conn
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    /// Two users, each with a factor and a device; the policy changed.
    fn two_users(store: &mut Store) {
        store
            .write(|tx| {
                tx.execute_batch(
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
            .conn
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
            .conn
            .query_row(
                "SELECT value FROM policy WHERE key = 'resend_mode'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(policy, "keep");
        copy.write(|tx| {
            tx.execute("DELETE FROM factors", [])
                .map_err(StoreError::from)
        })
        .unwrap();
        assert_eq!(count(&store, "factors"), 2, "the original is untouched");
        let fk: i64 = copy
            .conn
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
        assert!(copy.conn.path().is_none_or(str::is_empty), "in memory");
        assert_eq!(count(&copy, "users"), 1);
        copy.write(|tx| {
            tx.execute("DELETE FROM devices", [])
                .map_err(StoreError::from)
        })
        .unwrap();
        assert_eq!(count(&store, "devices"), 2);
        assert!(matches!(
            Store::copy_user_from_file(&dir.path().join("nope.db"), "b@x.org"),
            Err(StoreError::Missing(_))
        ));
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
