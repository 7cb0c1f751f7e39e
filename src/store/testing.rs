//! For the store's unit tests: a [`Store`] on each engine, `SQLite` in memory
//! and, when `FACTORDESK_TEST_PG` names a cluster, a fresh `PostgreSQL` database.

use super::pg::with_database;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use super::engine::Db;
use super::{Store, pg};

/// The variable that carries the test cluster's URL (as `.ci/run` sets it).
const VAR: &str = "FACTORDESK_TEST_PG";

/// Run `f` on a migrated store on each engine: `SQLite` in memory, then
/// `PostgreSQL` on a database of its own, dropped after (skipped, saying so
/// once, when no cluster is set). A failure names the engine it ran on.
pub(crate) fn each_engine(label: &str, mut f: impl FnMut(&mut Store)) {
    eprintln!("{label}: on SQLite");
    f(&mut Store::in_memory().unwrap());
    if let Some(scratch) = Scratch::new(label) {
        eprintln!("{label}: on PostgreSQL ({})", scratch.name);
        let url = pg::PgUrl::parse(&scratch.url).unwrap();
        let mut store = Store::from_db(pg::open(&url).unwrap());
        f(&mut store);
    }
}

/// The variable that reruns the desk tests on `PostgreSQL` (`postgres`).
const ENGINE_VAR: &str = "FACTORDESK_TEST_ENGINE";

/// Under `FACTORDESK_TEST_ENGINE=postgres`, a fresh `PostgreSQL` database
/// for one more desk, kept until the cluster goes (the desk outlives any
/// scope here); `None` otherwise. Asking for `PostgreSQL` without a cluster
/// fails loudly rather than quietly testing `SQLite` again.
pub(crate) fn desk_database(label: &str) -> Option<pg::PgUrl> {
    if std::env::var(ENGINE_VAR).as_deref() != Ok("postgres") {
        return None;
    }
    let scratch =
        Scratch::new(label).unwrap_or_else(|| panic!("{ENGINE_VAR}=postgres needs {VAR}"));
    let url = pg::PgUrl::parse(&scratch.url).unwrap();
    std::mem::forget(scratch);
    Some(url)
}

/// Two stores, on two connections, over one fresh `PostgreSQL` database
/// (`None` when no cluster is set): for races. The stores close before
/// the database is dropped.
pub(crate) struct PgPair {
    pub a: Store,
    pub b: Store,
    _scratch: Scratch,
}

pub(crate) fn postgres_pair(label: &str) -> Option<PgPair> {
    let scratch = Scratch::new(label)?;
    let url = pg::PgUrl::parse(&scratch.url).unwrap();
    Some(PgPair {
        a: Store::from_db(pg::open(&url).unwrap()),
        b: Store::from_db(pg::open(&url).unwrap()),
        _scratch: scratch,
    })
}

/// A user row with nothing else, for the tables that refer to one: its id.
pub(crate) fn user(db: &Db, email: &str) -> i64 {
    db.query_one(
        "INSERT INTO users (email, role, status, created_at, grace_from)
         VALUES (?1, 'member', 'active', 0, 0) RETURNING id",
        &[email.into()],
    )
    .unwrap()
    .get(0)
    .unwrap()
}

/// An active factor of `kind` for user `user_id`, with nothing sealed in
/// it, for the tables that refer to one: its id.
pub(crate) fn factor(db: &Db, user_id: i64, kind: &str, label: &str) -> i64 {
    db.query_one(
        "INSERT INTO factors (user_id, kind, status, label, created_at)
         VALUES (?1, ?2, 'active', ?3, 0) RETURNING id",
        &[user_id.into(), kind.into(), label.into()],
    )
    .unwrap()
    .get(0)
    .unwrap()
}

/// An empty database on the test cluster, dropped (with any connection
/// still open to it) when this goes: tests run in parallel.
struct Scratch {
    admin: String,
    name: String,
    url: String,
}

impl Scratch {
    fn new(label: &str) -> Option<Scratch> {
        static SAID: Once = Once::new();
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin = match std::env::var(VAR) {
            Ok(url) if !url.trim().is_empty() => url,
            _ => {
                SAID.call_once(|| eprintln!("skipping PostgreSQL runs: {VAR} is not set"));
                return None;
            }
        };
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(30)
            .collect();
        let name = format!(
            "fdu_{label}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{VAR} does not connect: {e}"));
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        let url = with_database(&admin, &name);
        Some(Scratch { admin, name, url })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = client.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// `value` written into SQL, for `EXECUTE` (a test's own values).
pub(crate) fn literal(value: &crate::store::engine::Value) -> String {
    use crate::store::engine::Value;
    match value {
        Value::Integer(i) => i.to_string(),
        Value::Text(t) => format!("'{}'", t.replace('\'', "''")),
        other => panic!("no literal for {other:?}"),
    }
}

/// `PostgreSQL`'s plan for `sql` with `args`: as planned for those values,
/// or (`generic`) as prepared for any, the plan a statement the connection
/// keeps may settle on after a few runs.
pub(crate) fn plan(
    db: &Db,
    sql: &str,
    args: &[crate::store::engine::Value],
    generic: bool,
) -> String {
    let lines = if generic {
        let sql = crate::store::engine::dialect::postgres(sql);
        db.batch(&format!(
            "PREPARE fd_plan AS {sql}; SET plan_cache_mode = force_generic_plan"
        ))
        .unwrap();
        let args: Vec<String> = args.iter().map(literal).collect();
        let lines = db
            .query(
                &format!("EXPLAIN EXECUTE fd_plan({})", args.join(", ")),
                &[],
            )
            .unwrap();
        db.batch("DEALLOCATE fd_plan; RESET plan_cache_mode")
            .unwrap();
        lines
    } else {
        db.query(&format!("EXPLAIN {sql}"), args).unwrap()
    };
    lines
        .iter()
        .map(|r| r.get::<String>(0).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}
