//! Opening a factordesk database on `PostgreSQL`: the URL, the connection (TLS as
//! `sslmode` asks, one clear line per failure), refusing a foreign or newer database
//! untouched, and the numbered steps of `schema_pg.sql`, tracked in `factordesk_migrations`.

mod tls;

use std::fmt;
use std::time::Duration;

use super::StoreError;
use super::engine::{Db, EngineError, TxMode};

/// The `PostgreSQL` schema, as migration steps numbered as `schema.sql`'s.
pub const SCHEMA: &str = include_str!("../../schema_pg.sql");

/// The table of applied steps: its presence marks a factordesk database.
pub const VERSIONS: &str = "factordesk_migrations";

/// How long a connection may take before the server counts as unreachable,
/// unless the URL says (`connect_timeout=`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The steps of [`SCHEMA`], split at `-- step N:` lines.
pub fn steps() -> Vec<&'static str> {
    super::split_steps(SCHEMA)
}

/// The schema version this build writes on `PostgreSQL`.
pub fn latest() -> i64 {
    i64::try_from(steps().len()).unwrap_or(i64::MAX)
}

/// A `postgres://` or `postgresql://` URL, checked. It may hold a password:
/// it is shown only as [`PgUrl::redacted`] (also its `Debug` and `Display`).
/// Its `sslmode` and `sslrootcert` are libpq's (see `pg/tls.rs`).
#[derive(Clone)]
pub struct PgUrl {
    config: postgres::Config,
    tls: tls::Wanted,
}

impl PgUrl {
    /// Whether `text` is a `PostgreSQL` URL at all (its scheme, any case).
    pub fn is_url(text: &str) -> bool {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        lower.starts_with("postgres://") || lower.starts_with("postgresql://")
    }

    pub fn parse(text: &str) -> Result<PgUrl, EngineError> {
        if !Self::is_url(text) {
            return Err(EngineError::BadUrl(
                "it does not start with postgres:// or postgresql://".into(),
            ));
        }
        // rust-postgres reads the scheme in lower case only.
        let scheme_end = text.find("://").unwrap_or(0);
        let text = format!(
            "{}{}",
            text[..scheme_end].to_ascii_lowercase(),
            &text[scheme_end..]
        );
        let (text, tls) = tls::Wanted::take_from(&text)?;
        let mut config: postgres::Config = text
            .parse()
            .map_err(|e: postgres::Error| EngineError::BadUrl(one_line(&e)))?;
        if config.get_hosts().is_empty() {
            return Err(EngineError::BadUrl("it names no host".into()));
        }
        if config.get_dbname().is_none() {
            return Err(EngineError::BadUrl("it names no database".into()));
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("factordesk");
        config.ssl_mode(tls.ssl_mode());
        Ok(PgUrl { config, tls })
    }

    /// `postgresql://USER@HOST:PORT/DATABASE`, without the password.
    pub fn redacted(&self) -> String {
        let user = self
            .config
            .get_user()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!("postgresql://{user}{}/{}", self.server(), self.database())
    }

    /// `HOST:PORT` (or the hosts and ports given, comma-separated).
    pub fn server(&self) -> String {
        let ports = self.config.get_ports();
        self.config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let host = match host {
                    postgres::config::Host::Tcp(name) => name.clone(),
                    #[cfg(unix)]
                    postgres::config::Host::Unix(path) => path.display().to_string(),
                };
                let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
                format!("{host}:{port}")
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn database(&self) -> &str {
        self.config.get_dbname().unwrap_or_default()
    }

    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or_default()
    }
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The URL `url` (as written, password and all) with its database
/// replaced by `name`, its query parameters kept: for tools that make a
/// database beside another (the tests' scratch databases, the benchmarks).
pub fn with_database(url: &str, name: &str) -> String {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let path = url[authority..]
        .find('/')
        .map_or(url.len(), |i| authority + i);
    let query = url[path..].find('?').map_or(url.len(), |i| path + i);
    format!("{}/{}{}", &url[..path], name, &url[query..])
}

/// Connect, without reading or writing anything: every connection
/// factordesk opens (the desk, the console's worker, `migrate`, `demo`'s
/// wipe, the simulator's copy) comes through here, with the TLS its URL asks.
pub fn connect(url: &PgUrl) -> Result<Db, StoreError> {
    let (tls, refused) = url.tls.connector()?;
    let client = url
        .config
        .connect(tls)
        .map_err(|e| connect_error(url, &e, &refused))?;
    Ok(Db::postgres(client))
}

/// What connecting failed on, as one line that says what to do.
fn connect_error(url: &PgUrl, e: &postgres::Error, refused: &tls::Refused) -> StoreError {
    let server = url.server();
    if let Some(db) = e.as_db_error() {
        return match db.code().code() {
            // invalid_password; invalid_authorization_specification
            "28P01" | "28000" => EngineError::BadLogin {
                user: url.user().to_owned(),
                server,
                reason: db.message().to_owned(),
            },
            // invalid_catalog_name
            "3D000" => EngineError::NoDatabase {
                database: url.database().to_owned(),
                server,
            },
            _ => EngineError::Connect {
                server,
                reason: db.message().to_owned(),
            },
        }
        .into();
    }
    if let Some(refused) = tls::refusal(&url.tls, &server, e, refused) {
        return refused.into();
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return EngineError::Unreachable {
                server,
                reason: io.to_string(),
            }
            .into();
        }
        source = s.source();
    }
    EngineError::Connect {
        server,
        reason: one_line(e),
    }
    .into()
}

fn one_line(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    text.lines().next().unwrap_or_default().to_owned()
}

/// Open the factordesk database at `url`: an empty database gets the whole
/// schema, an older one the steps it lacks, in one transaction; one that
/// is not factordesk's, or is newer than this build, is refused untouched.
pub fn open(url: &PgUrl) -> Result<Db, StoreError> {
    let db = connect(url)?;
    migrate(&db, url)?;
    Ok(db)
}

/// A database looked at before anything is written to it: what it holds,
/// and the key check stored at its creation, so that a wrong key is
/// refused before [`migrate`] changes a byte (as `Store::key_check` does
/// for a file).
#[derive(Debug)]
pub struct Inspected {
    pub db: Db,
    pub found: Found,
    pub key_check: Option<String>,
}

/// Connect and look, writing nothing: a foreign or newer database is
/// refused here, untouched.
pub fn inspect(url: &PgUrl) -> Result<Inspected, StoreError> {
    let db = connect(url)?;
    let found = found(&db)?;
    match found {
        Found::Foreign => Err(EngineError::Foreign {
            database: url.database().to_owned(),
            server: url.server(),
        }
        .into()),
        Found::Version(v) if v > latest() => Err(EngineError::TooNew {
            database: url.database().to_owned(),
            server: url.server(),
            found: v,
            supported: latest(),
        }
        .into()),
        Found::Empty | Found::Version(0) => Ok(Inspected {
            db,
            found,
            key_check: None,
        }),
        Found::Version(_) => {
            let key_check = db
                .query_opt("SELECT value FROM meta WHERE key = 'key_check'", &[])?
                .map(|row| row.get::<String>(0))
                .transpose()?;
            Ok(Inspected {
                db,
                found,
                key_check,
            })
        }
    }
}

/// What a database holds, as far as opening it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// No table at all in its schema.
    Empty,
    /// Tables, but no [`VERSIONS`] among them.
    Foreign,
    /// factordesk's, at this schema version.
    Version(i64),
}

/// What the database behind `db` holds (in the connection's current schema).
pub fn found(db: &Db) -> Result<Found, StoreError> {
    let row = db.query_one(
        "SELECT count(*), count(*) FILTER (WHERE c.relname = ?1)
         FROM pg_catalog.pg_class c
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
        &[VERSIONS.into()],
    )?;
    let (tables, versions): (i64, i64) = (row.get(0)?, row.get(1)?);
    if versions == 0 {
        return Ok(if tables == 0 {
            Found::Empty
        } else {
            Found::Foreign
        });
    }
    let row = db.query_one(
        &format!("SELECT coalesce(max(version), 0) FROM {VERSIONS}"),
        &[],
    )?;
    Ok(Found::Version(row.get(0)?))
}

/// Apply every step past the database's version, holding the migration
/// lock, so two processes opening one new database do it once.
pub fn migrate(db: &Db, url: &PgUrl) -> Result<(), StoreError> {
    migrate_to(db, url, latest())
}

/// [`migrate`], but only as far as step `target` (for the tests of each
/// upgrade: a database left at an older version).
pub fn migrate_to(db: &Db, url: &PgUrl, target: i64) -> Result<(), StoreError> {
    let all = steps();
    db.transaction(TxMode::Exclusive, |db| {
        let version = match found(db)? {
            Found::Foreign => {
                return Err(EngineError::Foreign {
                    database: url.database().to_owned(),
                    server: url.server(),
                }
                .into());
            }
            Found::Version(v) if v > latest() => {
                return Err(EngineError::TooNew {
                    database: url.database().to_owned(),
                    server: url.server(),
                    found: v,
                    supported: latest(),
                }
                .into());
            }
            Found::Version(v) => v,
            Found::Empty => {
                db.batch(&format!(
                    "CREATE TABLE {VERSIONS} (
                         version     BIGINT PRIMARY KEY,
                         applied_at  BIGINT NOT NULL
                             DEFAULT (extract(epoch FROM now())::bigint)
                     )"
                ))?;
                0
            }
        };
        for (i, step) in all.iter().enumerate() {
            let n = i64::try_from(i).unwrap_or(i64::MAX) + 1;
            if n > version && n <= target {
                db.batch(step).map_err(|e| upgrade_error(url, n, e))?;
                db.execute(
                    &format!("INSERT INTO {VERSIONS} (version) VALUES (?1)"),
                    &[n.into()],
                )?;
            }
        }
        Ok(())
    })
}

fn upgrade_error(url: &PgUrl, step: i64, e: StoreError) -> StoreError {
    match e {
        StoreError::Engine(EngineError::Server { message, .. }) => EngineError::Upgrade {
            database: url.database().to_owned(),
            server: url.server(),
            step,
            reason: message,
        }
        .into(),
        other => other,
    }
}

/// Empty factordesk's database again: every table (their triggers with
/// them) and function in the connection's schema, in one transaction;
/// extensions stay. Only for a database factordesk made and may replace
/// (`demo` over its own demo, or one a failed `demo` left): the caller
/// has checked that.
pub fn wipe(db: &Db) -> Result<(), StoreError> {
    db.transaction(TxMode::Exclusive, |db| {
        db.batch(
            "DO $$
             DECLARE r record;
             BEGIN
                 FOR r IN SELECT c.relname FROM pg_catalog.pg_class c
                          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
                 LOOP
                     EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.relname);
                 END LOOP;
                 FOR r IN SELECT p.oid::regprocedure AS f FROM pg_catalog.pg_proc p
                          JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
                          WHERE n.nspname = current_schema()
                            AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                                            WHERE d.objid = p.oid AND d.deptype = 'e')
                 LOOP
                     EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.f);
                 END LOOP;
             END $$",
        )
    })
}

/// The schema version of a factordesk database (0 if it has none yet).
pub fn schema_version(db: &Db) -> Result<i64, StoreError> {
    Ok(match found(db)? {
        Found::Version(v) => v,
        Found::Empty | Found::Foreign => 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steps_match_the_sqlite_schema_one_for_one() {
        let pg = steps();
        let sqlite = crate::store::steps();
        assert_eq!(
            pg.len(),
            sqlite.len(),
            "schema_pg.sql must mirror every step"
        );
        for (a, b) in pg.iter().zip(&sqlite) {
            let title = |s: &str| s.lines().next().unwrap_or_default().to_owned();
            assert_eq!(title(a), title(b));
        }
        assert_eq!(latest(), crate::store::latest());
    }

    #[test]
    fn urls_are_told_apart_by_their_scheme() {
        assert!(PgUrl::is_url("postgres://h/db"));
        assert!(PgUrl::is_url("PostgreSQL://h/db"));
        assert!(!PgUrl::is_url("postgres:/h/db"));
        assert!(!PgUrl::is_url("postgresq://h/db"));
        assert!(!PgUrl::is_url("./postgres://x"));
        assert!(!PgUrl::is_url(""));
    }

    #[test]
    fn urls_keep_their_password_out_of_sight() {
        let url = PgUrl::parse("postgresql://desk:s3cret@db.example:6543/fd").unwrap();
        assert_eq!(url.redacted(), "postgresql://desk@db.example:6543/fd");
        assert_eq!(format!("{url:?} {url}").matches("s3cret").count(), 0);
        assert_eq!(url.server(), "db.example:6543");
        let url = PgUrl::parse("POSTGRES://h/fd").unwrap();
        assert_eq!(url.redacted(), "postgresql://h:5432/fd");
    }

    #[test]
    fn malformed_urls_say_what_is_wrong() {
        for bad in [
            "postgres://",
            "postgres://host",
            "postgres://u:hunter2@host:notaport/db",
            "postgres://u:hunter2@host:5432/db?connect_timeout=soon",
            "postgres://host/db?sslmode=sometimes",
            "mysql://host/db",
        ] {
            let err = PgUrl::parse(bad).unwrap_err();
            assert!(matches!(err, EngineError::BadUrl(_)), "{bad}: {err}");
            let text = StoreError::from(err).to_string();
            assert!(
                text.contains("not a usable PostgreSQL URL"),
                "{bad}: {text}"
            );
            assert_eq!(text.lines().count(), 1, "{text}");
            assert!(!text.contains("hunter2"), "{text}");
        }
    }
}
