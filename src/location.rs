//! Where the data lives (`--db` as a file path or a `PostgreSQL` URL) and where
//! the sealing key comes from for it: pure decisions, no I/O.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::keyfile;
use crate::store::engine::EngineError;
use crate::store::pg::PgUrl;

/// Where a database is.
#[derive(Debug, Clone)]
pub enum Location {
    /// An `SQLite` file, with its key file beside it by default.
    File(PathBuf),
    /// A `PostgreSQL` database: no file, so no key beside it.
    Postgres(Box<PgUrl>),
}

#[derive(Debug, Error)]
pub enum LocationError {
    #[error("no database was named")]
    Empty,
    #[error("{0}:// is not a kind of database factordesk can open")]
    Scheme(String),
    #[error(transparent)]
    Url(EngineError),
    #[error("a PostgreSQL database keeps no key beside it")]
    NoKey,
}

impl Location {
    /// What `--db` names: a `postgres://` or `postgresql://` URL (any case),
    /// another `scheme://` (refused, rather than made a file of that name),
    /// or a file path.
    pub fn parse(db: &OsStr) -> Result<Location, LocationError> {
        if db.is_empty() {
            return Err(LocationError::Empty);
        }
        let Some(text) = db.to_str() else {
            return Ok(Location::File(PathBuf::from(db)));
        };
        if PgUrl::is_url(text) {
            return PgUrl::parse(text)
                .map(|url| Location::Postgres(Box::new(url)))
                .map_err(LocationError::Url);
        }
        if let Some(scheme) = url_scheme(text) {
            return Err(LocationError::Scheme(scheme.to_owned()));
        }
        Ok(Location::File(PathBuf::from(db)))
    }

    /// The database file, for the engine that has one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::File(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }
}

/// A file as its path, a URL without its password.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => write!(f, "{url}"),
        }
    }
}

/// The scheme of `text` if it starts like a URL (`scheme://`, RFC 3986's
/// letters, digits, `+`, `-` and `.` after a first letter).
fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// Where the key comes from for `location`: `FACTORDESK_KEY` when set (and
/// not blank), else `--key-file`; for a file, else the key file beside it;
/// for `PostgreSQL`, else an error that names both ways to give it.
pub fn key_source(
    location: &Location,
    key_file: Option<PathBuf>,
    env_key: Option<String>,
) -> Result<keyfile::Source, LocationError> {
    match location {
        Location::File(db) => Ok(keyfile::Source::resolve(
            key_file.unwrap_or_else(|| keyfile::default_path(db)),
            env_key,
        )),
        Location::Postgres(_) => match (key_file, env_key) {
            (_, Some(value)) if !value.trim().is_empty() => Ok(keyfile::Source::Env(value)),
            (Some(file), _) => Ok(keyfile::Source::File(file)),
            (None, _) => Err(LocationError::NoKey),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Location, LocationError> {
        Location::parse(OsStr::new(s))
    }

    #[test]
    fn paths_stay_paths() {
        for path in [
            "factordesk.db",
            "/var/lib/fd/desk.db",
            "./postgres://x",
            "postgres:/one-slash.db",
            "postgres",
            "C:\\desk.db",
            "a b.db",
        ] {
            let loc = parse(path).unwrap();
            assert_eq!(loc.file(), Some(Path::new(path)), "{path}");
        }
    }

    #[test]
    fn postgres_urls_in_either_spelling_and_any_case() {
        for url in [
            "postgres://u:pw@127.0.0.1:5432/fd",
            "postgresql://u@host/fd",
            "PostgreSQL://host/fd?connect_timeout=3",
        ] {
            assert!(matches!(parse(url), Ok(Location::Postgres(_))), "{url}");
        }
    }

    #[test]
    fn other_urls_and_bad_postgres_urls_are_refused() {
        let err = parse("mysql://u:hunter2@host/db").unwrap_err();
        assert!(matches!(&err, LocationError::Scheme(s) if s == "mysql"));
        assert!(!err.to_string().contains("hunter2"));
        assert!(matches!(
            parse("sqlite://x.db"),
            Err(LocationError::Scheme(_))
        ));
        assert!(matches!(
            parse("postgres://host"),
            Err(LocationError::Url(_))
        ));
        assert!(matches!(
            parse("postgres://h:99999/db"),
            Err(LocationError::Url(_))
        ));
        assert!(matches!(parse(""), Err(LocationError::Empty)));
        // Not a scheme: digits first, or nothing before "://".
        assert!(parse("1http://x").unwrap().file().is_some());
        assert!(parse("://x").unwrap().file().is_some());
    }

    #[test]
    fn a_file_keeps_its_key_beside_it_unless_told() {
        let db = parse("/d/desk.db").unwrap();
        let source = key_source(&db, None, None).unwrap();
        assert!(matches!(source, keyfile::Source::File(p) if p == Path::new("/d/desk.db.key")));
        let source = key_source(&db, Some("/k/key".into()), None).unwrap();
        assert!(matches!(source, keyfile::Source::File(p) if p == Path::new("/k/key")));
        let source = key_source(&db, None, Some("ab".repeat(32))).unwrap();
        assert!(matches!(source, keyfile::Source::Env(_)));
    }

    #[test]
    fn a_url_needs_a_key_file_or_the_variable() {
        let db = parse("postgres://u:pw@h/fd").unwrap();
        // The CLI words the way out (tests/engines/command_line.rs).
        let err = key_source(&db, None, None).unwrap_err();
        assert!(matches!(err, LocationError::NoKey), "{err}");
        assert!(matches!(
            key_source(&db, None, Some("  ".into())),
            Err(LocationError::NoKey)
        ));
        let source = key_source(&db, Some("/k/key".into()), None).unwrap();
        assert!(matches!(source, keyfile::Source::File(p) if p == Path::new("/k/key")));
        // The variable wins over a file, as it does for a database file.
        let source = key_source(&db, Some("/k/key".into()), Some("ab".repeat(32))).unwrap();
        assert!(matches!(source, keyfile::Source::Env(_)));
    }
}
