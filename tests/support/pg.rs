//! `PostgreSQL` for the test crates: the throwaway cluster's URL (.ci/run
//! sets `FACTORDESK_TEST_PG`) and a fresh, empty database for each test.

pub use factordesk::store::pg::with_database;
use std::io::Write as _;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

/// The variable that carries the test cluster's URL.
pub const VAR: &str = "FACTORDESK_TEST_PG";

/// The test cluster's URL, or `None` after saying (once per test binary,
/// past the harness's capture) that the `PostgreSQL` runs are skipped.
pub fn pg_url() -> Option<String> {
    static SAID: Once = Once::new();
    set_or_skipped(VAR, "PostgreSQL runs", &SAID)
}

/// The value of `var`, or `None` after saying once (`said`) that `what`
/// are skipped.
fn set_or_skipped(var: &str, what: &str, said: &Once) -> Option<String> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Some(value),
        _ => {
            said.call_once(|| {
                let _ = writeln!(std::io::stderr(), "skipping {what}: {var} is not set");
            });
            None
        }
    }
}

/// The variable that carries the test CA's certificate: the cluster serves
/// TLS for `localhost` with a certificate it signed (.ci/postgres).
pub const CA_VAR: &str = "FACTORDESK_TEST_PG_CA";

/// The test CA's certificate file, or `None` after saying (once per test
/// binary) that the TLS runs are skipped.
pub fn pg_ca() -> Option<String> {
    static SAID: Once = Once::new();
    set_or_skipped(CA_VAR, "PostgreSQL TLS runs", &SAID)
}

/// The variable that runs the desk suites on `PostgreSQL` (`postgres`).
pub const ENGINE_VAR: &str = "FACTORDESK_TEST_ENGINE";

/// Under `FACTORDESK_TEST_ENGINE=postgres`, a fresh database for one more
/// desk, kept until the test process ends (the cluster is a throwaway);
/// `None` on `SQLite`. Asking for `PostgreSQL` without a cluster fails
/// loudly rather than quietly testing `SQLite` again.
pub fn on_postgres() -> Option<factordesk::store::pg::PgUrl> {
    scratch_url().map(|url| factordesk::store::pg::PgUrl::parse(&url).unwrap())
}

/// [`on_postgres`]'s database as its URL (with its password).
pub fn scratch_url() -> Option<String> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    if std::env::var(ENGINE_VAR).as_deref() != Ok("postgres") {
        return None;
    }
    assert!(pg_url().is_some(), "{ENGINE_VAR}=postgres needs {VAR}");
    let scratch = Scratch::new(&format!("desk{}", NEXT.fetch_add(1, Ordering::Relaxed)))?;
    let url = scratch.url.clone();
    // Dropped with the cluster: the desk outlives any one scope here.
    std::mem::forget(scratch);
    Some(url)
}

/// An empty database of its own on the test cluster, dropped (with any
/// connection still open to it) when this goes: tests run in parallel.
pub struct Scratch {
    admin: String,
    pub name: String,
    pub url: String,
}

impl Scratch {
    /// A new database named after `label`; `None` when no cluster is set.
    pub fn new(label: &str) -> Option<Scratch> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin = pg_url()?;
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
            "fdt_{label}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{VAR} does not connect: {e}"));
        // One statement each: CREATE DATABASE cannot share a transaction.
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .unwrap();
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .unwrap();
        let url = with_database(&admin, &name);
        Some(Scratch { admin, name, url })
    }

    /// A plain client on this database, for what a test sets up by hand.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).unwrap()
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
