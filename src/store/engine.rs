//! The narrow handle the store's SQL runs through, over `SQLite` (rusqlite) or
//! `PostgreSQL` (the synchronous `postgres` crate); no other code names an engine.
//!
//! # Design (issue 12: `PostgreSQL` as a second engine)
//!
//! The store keeps writing SQL itself, once, in the dialect both engines
//! accept; [`Db`] runs it on whichever engine holds the data. The whole
//! interface is six calls: [`Db::execute`], [`Db::query`], [`Db::query_opt`],
//! [`Db::each`] (a long walk, row by row), [`Db::batch`] (schema steps) and
//! [`Db::transaction`]. The rules that make one text serve both:
//!
//! - **Parameters** are written `?1`, `?2` … (or `?`); on `PostgreSQL` they
//!   are rewritten to `$1` … outside literals, quoted names, comments and
//!   dollar-quoted bodies ([`dialect::postgres`]). Nothing else is rewritten:
//!   SQL that only one engine reads (`INSERT OR IGNORE`, `strftime`, `FTS5`'s
//!   `MATCH`, `INDEXED BY`, `rowid`, `group_concat`) is written in the common
//!   form (`ON CONFLICT DO NOTHING`, integer seconds computed in Rust,
//!   `COALESCE`, `RETURNING`, `string_agg` behind a store function), or the
//!   store branches on [`Db::engine`] for the few statements that must differ
//!   (the search indexes). PORTING.md lists them.
//! - **Values** pass as one small type, [`Value`] (integer, real, text,
//!   blob, null: `SQLite`'s five). `PostgreSQL`'s are read into it (`bigint`,
//!   `integer` and `boolean` as integers, a whole `numeric` such as `sum()`'s
//!   as an integer, `bytea` as a blob) and written from it into the type the
//!   server expects of each parameter, so `?1` may be compared with an
//!   `integer` or a `bigint` column alike. The schema keeps `SQLite`'s
//!   choices on both: integer seconds, 0/1 flags, text vocabulary.
//! - **Rows** are read by index with typed getters ([`Row::get`],
//!   [`Row::text`], [`Row::blob`]); results are whole `Vec`s (pages are
//!   small), except [`Db::each`], which stops when its callback says so.
//! - **Transactions**: [`TxMode::Write`] is `BEGIN IMMEDIATE` on `SQLite`
//!   (one writer at a time) and `SERIALIZABLE` on `PostgreSQL`, where a
//!   transaction that lost a race is rolled back and run again (up to
//!   [`RETRIES`] times), so the use cases keep `SQLite`'s guarantees (a
//!   code is accepted once, no failure lost) with no locking SQL of their
//!   own. The closure may therefore run more than once: it must do nothing
//!   outside the database that a second run would repeat. [`TxMode::Read`]
//!   is one consistent snapshot; [`TxMode::Exclusive`] (migrations) holds
//!   the whole database on `SQLite` and a transaction-scoped advisory lock
//!   on `PostgreSQL`. A transaction inside another joins it.
//! - **Errors** are the store's: `SQLite`'s as before ([`super::classify`]),
//!   `PostgreSQL`'s as [`EngineError`] inside [`StoreError::Engine`], with
//!   a lost race that kept losing as [`StoreError::Busy`].
//!
//! Every call takes `&self`, as the store's functions take `&Connection`
//! today, so porting a store function is changing its argument type and
//! its row reading, not its shape. The `PostgreSQL` client sits in a
//! `RefCell`: a call made from inside [`Db::each`]'s callback gets
//! [`EngineError::Reentrant`], never a panic.

pub mod dialect;
mod value;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use postgres::fallible_iterator::FallibleIterator as _;

use rusqlite::Connection;
use thiserror::Error;

pub use value::{FromValue, Row, Value};

use super::StoreError;

/// How many times a `PostgreSQL` transaction that lost a race runs again.
pub const RETRIES: u32 = 50;

/// How many prepared statements a `PostgreSQL` connection keeps.
const PG_STATEMENT_CACHE: usize = 256;

/// Which engine holds the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// What a transaction may do, and how it waits for others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxMode {
    /// Reads from one snapshot.
    Read,
    /// Reads and writes, as if no other transaction ran at the same time.
    Write,
    /// Nothing else writes meanwhile (schema migrations).
    Exclusive,
}

/// What went wrong in the engine layer (`PostgreSQL`, or reading a row).
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("the database refused a statement: {message} (SQLSTATE {code})")]
    Server { code: String, message: String },
    #[error(
        "the connection to the PostgreSQL server was lost: {0}; check the server and try again"
    )]
    Lost(String),
    #[error("the PostgreSQL client failed: {0}")]
    Client(String),
    #[error("column {index} holds {found}, not {expected}")]
    Column {
        index: usize,
        expected: &'static str,
        found: &'static str,
    },
    #[error("a statement that must return a row returned none")]
    NoRow,
    #[error("the database handle was used from inside its own row walk")]
    Reentrant,
    /// Store code not yet ported from `SQLite` was reached on `PostgreSQL`
    /// (nothing a user can reach opens `PostgreSQL` until all of it is).
    #[error("this part of factordesk does not run on PostgreSQL yet")]
    Unported,
    #[error("that is not a usable PostgreSQL URL ({0})")]
    BadUrl(String),
    #[error("cannot reach the PostgreSQL server at {server} ({reason})")]
    Unreachable { server: String, reason: String },
    #[error("the PostgreSQL server at {server} refused user {user:?} ({reason})")]
    BadLogin {
        user: String,
        server: String,
        reason: String,
    },
    #[error("there is no database {database:?} on the PostgreSQL server at {server}")]
    NoDatabase { database: String, server: String },
    #[error("cannot connect to the PostgreSQL server at {server} ({reason})")]
    Connect { server: String, reason: String },
    #[error("the PostgreSQL server at {server} does not offer TLS, which sslmode={mode} requires")]
    NoTls { server: String, mode: &'static str },
    #[error("the certificate of the PostgreSQL server at {server} is not signed by {roots}")]
    Untrusted { server: String, roots: String },
    #[error(
        "the certificate of the PostgreSQL server at {server} is not for that host (it is for {names})"
    )]
    WrongHost { server: String, names: String },
    #[error("the TLS handshake with the PostgreSQL server at {server} failed ({reason})")]
    Tls { server: String, reason: String },
    #[error("cannot use {roots} ({reason})")]
    RootCert { roots: String, reason: String },
    #[error(
        "database {database:?} on {server} is not a factordesk database (it has tables but no factordesk_migrations); it was left untouched"
    )]
    Foreign { database: String, server: String },
    #[error(
        "database {database:?} on {server} has schema version {found}, newer than this factordesk understands ({supported}); it was left untouched: upgrade factordesk"
    )]
    TooNew {
        database: String,
        server: String,
        found: i64,
        supported: i64,
    },
    #[error("database {database:?} on {server} is empty")]
    Uninitialised { database: String, server: String },
    #[error(
        "database {database:?} on {server} is already a factordesk database; it was left untouched"
    )]
    Initialised { database: String, server: String },
    #[error(
        "database {database:?} on {server} could not be brought to schema version {step} ({reason}); it was left as it was"
    )]
    Upgrade {
        database: String,
        server: String,
        step: i64,
        reason: String,
    },
}

impl EngineError {
    /// A stable name for scripts (`--json` errors), as `desk::kinds` gives.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::Server { .. } => "store.server",
            EngineError::Lost(_) => "store.lost",
            EngineError::Client(_) => "store.client",
            EngineError::Column { .. } => "store.column",
            EngineError::NoRow => "store.no_row",
            EngineError::Reentrant => "store.reentrant",
            EngineError::Unported => "store.unported",
            EngineError::BadUrl(_) => "store.bad_url",
            EngineError::Unreachable { .. } => "store.unreachable",
            EngineError::BadLogin { .. } => "store.bad_login",
            EngineError::NoDatabase { .. } => "store.no_database",
            EngineError::Connect { .. } => "store.connect",
            EngineError::NoTls { .. } => "store.no_tls",
            EngineError::Untrusted { .. } => "store.untrusted",
            EngineError::WrongHost { .. } => "store.wrong_host",
            EngineError::Tls { .. } => "store.tls",
            EngineError::RootCert { .. } => "store.root_cert",
            EngineError::Foreign { .. } => "store.foreign",
            EngineError::TooNew { .. } => "store.too_new",
            EngineError::Upgrade { .. } => "store.upgrade",
            // As on SQLite: no database made yet there, or one already.
            EngineError::Uninitialised { .. } => "store.missing",
            EngineError::Initialised { .. } => "store.exists",
        }
    }
}

/// The `PostgreSQL` SQLSTATEs of a transaction that lost a race and may be
/// run again: `serialization_failure`, `deadlock_detected`.
const RETRYABLE: [&str; 2] = ["40001", "40P01"];

/// An open database on either engine (see the module's doc).
pub struct Db {
    inner: Inner,
    /// Inside [`Db::transaction`]: a nested one joins it.
    in_tx: Cell<bool>,
    /// A `PostgreSQL` statement failed because its transaction lost a race:
    /// the transaction may run again, whatever error `f` made of it.
    lost_race: Cell<bool>,
}

enum Inner {
    Sqlite(Connection),
    Postgres(Box<RefCell<PgConn>>),
}

struct PgConn {
    client: postgres::Client,
    statements: HashMap<String, postgres::Statement>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("engine", &self.engine())
            .field("in_tx", &self.in_tx.get())
            .finish_non_exhaustive()
    }
}

impl Db {
    /// A handle over an open `SQLite` connection (configured by its opener).
    pub fn sqlite(conn: Connection) -> Db {
        Db {
            inner: Inner::Sqlite(conn),
            in_tx: Cell::new(false),
            lost_race: Cell::new(false),
        }
    }

    /// A handle over a connected `PostgreSQL` client.
    pub fn postgres(client: postgres::Client) -> Db {
        Db {
            inner: Inner::Postgres(Box::new(RefCell::new(PgConn {
                client,
                statements: HashMap::new(),
            }))),
            in_tx: Cell::new(false),
            lost_race: Cell::new(false),
        }
    }

    pub fn engine(&self) -> Engine {
        match self.inner {
            Inner::Sqlite(_) => Engine::Sqlite,
            Inner::Postgres(_) => Engine::Postgres,
        }
    }

    /// The `SQLite` connection, while store code not yet ported needs it.
    pub fn as_sqlite(&self) -> Option<&Connection> {
        match &self.inner {
            Inner::Sqlite(conn) => Some(conn),
            Inner::Postgres(_) => None,
        }
    }

    /// The `SQLite` connection, to hook it (the query-plan test traces it).
    pub fn as_sqlite_mut(&mut self) -> Option<&mut Connection> {
        match &mut self.inner {
            Inner::Sqlite(conn) => Some(conn),
            Inner::Postgres(_) => None,
        }
    }

    /// The `SQLite` connection itself, to close it (`None` on `PostgreSQL`).
    pub fn into_sqlite(self) -> Option<Connection> {
        match self.inner {
            Inner::Sqlite(conn) => Some(conn),
            Inner::Postgres(_) => None,
        }
    }

    /// The `SQLite` connection for store code not yet ported, or
    /// [`EngineError::Unported`] on `PostgreSQL`.
    pub fn require_sqlite(&self) -> Result<&Connection, StoreError> {
        self.as_sqlite().ok_or_else(|| EngineError::Unported.into())
    }

    /// Run one statement; the rows it changed.
    pub fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        match &self.inner {
            Inner::Sqlite(conn) => {
                let n = conn
                    .prepare_cached(sql)?
                    .execute(rusqlite::params_from_iter(params))?;
                Ok(u64::try_from(n).unwrap_or(u64::MAX))
            }
            Inner::Postgres(pg) => {
                let mut pg = pg.try_borrow_mut().map_err(|_| EngineError::Reentrant)?;
                let stmt = pg.prepare(sql).map_err(|e| self.fail(&e))?;
                pg.client
                    .execute(&stmt, &pg_params(params))
                    .map_err(|e| self.fail(&e))
            }
        }
    }

    /// Every row of one statement.
    pub fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut rows = Vec::new();
        self.each(sql, params, |row| {
            rows.push(row);
            Ok(true)
        })?;
        Ok(rows)
    }

    /// The first row of one statement, if it gave any.
    pub fn query_opt(&self, sql: &str, params: &[Value]) -> Result<Option<Row>, StoreError> {
        let mut first = None;
        self.each(sql, params, |row| {
            first = Some(row);
            Ok(false)
        })?;
        Ok(first)
    }

    /// The first row of a statement that always gives one (`count(*)`).
    pub fn query_one(&self, sql: &str, params: &[Value]) -> Result<Row, StoreError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| EngineError::NoRow.into())
    }

    /// Hand each row to `f` until it answers `false` or the rows end: a walk
    /// that stops early reads no further (on `PostgreSQL` the rest are sent
    /// but dropped: keep such walks bounded with `LIMIT`).
    pub fn each(
        &self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(Row) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        match &self.inner {
            Inner::Sqlite(conn) => {
                let mut stmt = conn.prepare_cached(sql)?;
                let columns = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
                while let Some(row) = rows.next()? {
                    let values = (0..columns)
                        .map(|i| row.get_ref(i).map(Value::from_sqlite))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    if !f(Row::new(values))? {
                        break;
                    }
                }
                Ok(())
            }
            Inner::Postgres(pg) => {
                let mut pg = pg.try_borrow_mut().map_err(|_| EngineError::Reentrant)?;
                let stmt = pg.prepare(sql).map_err(|e| self.fail(&e))?;
                self.pg_rows(&mut pg.client, &stmt, params, f)
            }
        }
    }

    /// Every row of one statement planned for these values each time it
    /// runs: on `PostgreSQL` it is never kept prepared, so the server never
    /// settles on a generic plan, one blind to the values (the Users search,
    /// whose best plan depends on how common the term is). One more round
    /// trip than [`Db::query`]; on `SQLite` the same as it.
    pub fn query_planned(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut rows = Vec::new();
        let push = |row| {
            rows.push(row);
            Ok(true)
        };
        match &self.inner {
            Inner::Sqlite(_) => self.each(sql, params, push)?,
            Inner::Postgres(pg) => {
                let mut pg = pg.try_borrow_mut().map_err(|_| EngineError::Reentrant)?;
                let sql = dialect::postgres(sql);
                self.pg_rows(&mut pg.client, &*sql, params, push)?;
            }
        }
        Ok(rows)
    }

    /// Hand each row of `stmt` (prepared, or text the server plans once) to
    /// `f` until it answers `false` or the rows end.
    fn pg_rows<S: postgres::ToStatement + ?Sized>(
        &self,
        client: &mut postgres::Client,
        stmt: &S,
        params: &[Value],
        mut f: impl FnMut(Row) -> Result<bool, StoreError>,
    ) -> Result<(), StoreError> {
        let params = pg_params(params);
        let mut rows = client
            .query_raw(stmt, params.iter().copied())
            .map_err(|e| self.fail(&e))?;
        while let Some(row) = rows.next().map_err(|e| self.fail(&e))? {
            let values = (0..row.len())
                .map(|i| row.try_get::<_, Value>(i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.fail(&e))?;
            if !f(Row::new(values))? {
                break;
            }
        }
        Ok(())
    }

    /// Run several statements with no parameters (a schema step), as they
    /// are: no rewriting, so PL/pgSQL bodies pass untouched.
    pub fn batch(&self, sql: &str) -> Result<(), StoreError> {
        match &self.inner {
            Inner::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Inner::Postgres(pg) => {
                let mut pg = pg.try_borrow_mut().map_err(|_| EngineError::Reentrant)?;
                // A changed table can change what a prepared statement returns.
                pg.statements.clear();
                pg.client.batch_execute(sql).map_err(|e| self.fail(&e))
            }
        }
    }

    /// Run `f` in one transaction (see the module's doc for each mode):
    /// all of it lands, or none. Inside another transaction it joins it.
    /// On `PostgreSQL`, a transaction that lost a race runs again.
    pub fn transaction<T, E>(
        &self,
        mode: TxMode,
        mut f: impl FnMut(&Db) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        if self.in_tx.get() {
            return f(self);
        }
        let retries = if self.engine() == Engine::Postgres {
            RETRIES
        } else {
            0
        };
        let mut tries = 0;
        loop {
            self.lost_race.set(false);
            self.begin(mode)?;
            self.in_tx.set(true);
            let done = f(self);
            self.in_tx.set(false);
            match done {
                Ok(value) => match self.end("COMMIT") {
                    Ok(()) => return Ok(value),
                    Err(StoreError::Busy) if tries < retries => {
                        let _ = self.end("ROLLBACK");
                    }
                    Err(e) => {
                        let _ = self.end("ROLLBACK");
                        return Err(e.into());
                    }
                },
                Err(e) => {
                    let raced = self.lost_race.get();
                    let _ = self.end("ROLLBACK");
                    if !raced || tries >= retries {
                        return Err(e);
                    }
                }
            }
            tries += 1;
            backoff(tries);
        }
    }

    /// Open a transaction that stays open across calls until
    /// [`Db::close_transaction`] (a batch): every [`Db::transaction`] in
    /// between joins it. It is not run again after a lost race; the caller
    /// hears of it as the error it is.
    pub fn open_transaction(&self, mode: TxMode) -> Result<(), StoreError> {
        if self.in_tx.get() {
            return Err(EngineError::Reentrant.into());
        }
        self.begin(mode)?;
        self.in_tx.set(true);
        Ok(())
    }

    /// End what [`Db::open_transaction`] began: commit all of it, or roll
    /// all of it back.
    pub fn close_transaction(&self, commit: bool) -> Result<(), StoreError> {
        if !self.in_tx.replace(false) {
            return Ok(());
        }
        if commit {
            let done = self.end("COMMIT");
            if done.is_err() {
                let _ = self.end("ROLLBACK");
            }
            done
        } else {
            self.end("ROLLBACK")
        }
    }

    fn begin(&self, mode: TxMode) -> Result<(), StoreError> {
        match (&self.inner, mode) {
            (Inner::Sqlite(_), TxMode::Read) => self.batch("BEGIN DEFERRED"),
            (Inner::Sqlite(_), TxMode::Write) => self.batch("BEGIN IMMEDIATE"),
            (Inner::Sqlite(_), TxMode::Exclusive) => self.batch("BEGIN EXCLUSIVE"),
            (Inner::Postgres(_), TxMode::Read) => {
                self.raw("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            }
            (Inner::Postgres(_), TxMode::Write) => self.raw("BEGIN ISOLATION LEVEL SERIALIZABLE"),
            (Inner::Postgres(_), TxMode::Exclusive) => {
                // Read committed: once the lock is ours, each statement sees
                // what the holder before us committed.
                self.raw("BEGIN")?;
                self.execute("SELECT pg_advisory_xact_lock(?1)", &[ADVISORY_KEY.into()])
                    .map(drop)
            }
        }
    }

    fn end(&self, sql: &str) -> Result<(), StoreError> {
        match &self.inner {
            Inner::Sqlite(conn) => {
                // A failed statement may have rolled it back already.
                if sql == "ROLLBACK" && conn.is_autocommit() {
                    return Ok(());
                }
                Ok(conn.execute_batch(sql)?)
            }
            Inner::Postgres(_) => self.raw(sql),
        }
    }

    /// A statement that leaves prepared statements valid.
    fn raw(&self, sql: &str) -> Result<(), StoreError> {
        match &self.inner {
            Inner::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Inner::Postgres(pg) => {
                let mut pg = pg.try_borrow_mut().map_err(|_| EngineError::Reentrant)?;
                pg.client.batch_execute(sql).map_err(|e| self.fail(&e))
            }
        }
    }

    /// A `PostgreSQL` error as the store's, noting a lost race.
    fn fail(&self, e: &postgres::Error) -> StoreError {
        let e = pg_error(e);
        if matches!(e, StoreError::Busy) {
            self.lost_race.set(true);
        }
        e
    }
}

/// Rows written in bulk into one table by [`Db::load`], one call a row.
pub struct Loader<'a> {
    inner: LoaderInner<'a>,
    rows: u64,
}

enum LoaderInner<'a> {
    Sqlite(rusqlite::Statement<'a>),
    Postgres(postgres::binary_copy::BinaryCopyInWriter<'a>),
}

impl Loader<'_> {
    /// One row, its values in the order of the loader's columns.
    pub fn write(&mut self, values: &[Value]) -> Result<(), StoreError> {
        match &mut self.inner {
            LoaderInner::Sqlite(stmt) => {
                stmt.execute(rusqlite::params_from_iter(values))?;
            }
            LoaderInner::Postgres(writer) => {
                writer.write(&pg_params(values)).map_err(|e| pg_error(&e))?;
            }
        }
        self.rows += 1;
        Ok(())
    }
}

impl Db {
    /// Write many rows into `columns` of `table` (names from the store's
    /// own lists, never from input): `fill` hands each row to the
    /// [`Loader`]. On `PostgreSQL` one `COPY … FROM STDIN` in the binary
    /// format (an error in `fill` aborts it), on `SQLite` one prepared
    /// `INSERT`. Run it inside a transaction; the rows written.
    pub fn load(
        &self,
        table: &str,
        columns: &[&str],
        fill: impl FnOnce(&mut Loader<'_>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let list = columns.join(", ");
        match &self.inner {
            Inner::Sqlite(conn) => {
                let marks = (1..=columns.len())
                    .map(|i| format!("?{i}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let stmt =
                    conn.prepare(&format!("INSERT INTO {table} ({list}) VALUES ({marks})"))?;
                let mut loader = Loader {
                    inner: LoaderInner::Sqlite(stmt),
                    rows: 0,
                };
                fill(&mut loader)?;
                Ok(loader.rows)
            }
            Inner::Postgres(pg) => {
                let mut pg = pg.try_borrow_mut().map_err(|_| EngineError::Reentrant)?;
                let types: Vec<postgres::types::Type> = pg
                    .client
                    .prepare(&format!("SELECT {list} FROM {table} LIMIT 0"))
                    .map_err(|e| self.fail(&e))?
                    .columns()
                    .iter()
                    .map(|c| c.type_().clone())
                    .collect();
                let copy = pg
                    .client
                    .copy_in(&format!("COPY {table} ({list}) FROM STDIN (FORMAT binary)"))
                    .map_err(|e| self.fail(&e))?;
                let mut loader = Loader {
                    inner: LoaderInner::Postgres(postgres::binary_copy::BinaryCopyInWriter::new(
                        copy, &types,
                    )),
                    rows: 0,
                };
                fill(&mut loader)?;
                match loader.inner {
                    LoaderInner::Postgres(writer) => writer.finish().map_err(|e| self.fail(&e)),
                    LoaderInner::Sqlite(_) => Err(EngineError::NoRow.into()),
                }
            }
        }
    }
}

/// A pause before running a transaction again: up to 2 ms a try so far
/// (at most 50 ms), drawn at random so that racers fall out of step.
fn backoff(tries: u32) {
    use std::hash::{BuildHasher as _, Hasher as _};
    let most = u64::from(tries.min(25)) * 2;
    let draw = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    std::thread::sleep(std::time::Duration::from_micros(1 + draw % (most * 1000)));
}

/// The advisory lock migrations hold on `PostgreSQL` ("factordesk schema").
const ADVISORY_KEY: i64 = 0x4644_3241_5343_484D;

impl PgConn {
    fn prepare(&mut self, sql: &str) -> Result<postgres::Statement, postgres::Error> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(&dialect::postgres(sql))?;
        if self.statements.len() >= PG_STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

fn pg_params(params: &[Value]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| p as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

/// A `PostgreSQL` error as the store's: a lost race is [`StoreError::Busy`],
/// a read-only server [`StoreError::ReadOnly`], the rest [`EngineError`].
pub(crate) fn pg_error(e: &postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if RETRYABLE.contains(&code) {
            return StoreError::Busy;
        }
        if code == "25006" {
            return StoreError::ReadOnly;
        }
        return EngineError::Server {
            code: code.to_owned(),
            message: db.message().to_owned(),
        }
        .into();
    }
    if e.is_closed() {
        return EngineError::Lost(first_line(e)).into();
    }
    EngineError::Client(first_line(e)).into()
}

fn first_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    text.lines().next().unwrap_or_default().to_owned()
}

impl From<EngineError> for StoreError {
    fn from(e: EngineError) -> Self {
        StoreError::Engine(e)
    }
}
