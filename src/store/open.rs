//! Opening database files without side effects: the check of a file's type
//! and header, read-only connections that leave no -wal or -shm, the key check.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;

use std::path::PathBuf;

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use super::engine::EngineError;
use super::{
    APPLICATION_ID, STATEMENT_CACHE, Store, StoreError, classify, latest, remove_database_files,
};
use crate::files::{self, OpenError};

/// Whether a database file will be written, or only read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadWrite,
    /// The file is read-only (mode without the owner's write bit, or not
    /// writable for us), or so is its directory (no -wal or -shm can be made).
    ReadOnly,
}

/// Check, without writing a byte or making a `-wal`/`-shm` file beside it
/// and without blocking, that `path` is a regular file holding a factordesk
/// database this build can open: only the 100-byte header is read.
pub(super) fn probe(path: &Path) -> Result<Access, StoreError> {
    let mut file = files::open_regular(path).map_err(|e| match e {
        OpenError::Missing => StoreError::Missing(path.to_owned()),
        OpenError::NotRegular("a directory") => StoreError::Directory(path.to_owned()),
        OpenError::NotRegular(kind) => StoreError::NotRegular(path.to_owned(), kind),
        OpenError::Io(e) => StoreError::Unreadable(path.to_owned(), e.to_string()),
    })?;
    let mut header = [0u8; 100];
    let mut got = 0;
    while got < header.len() {
        match file.read(&mut header[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(StoreError::Unreadable(path.to_owned(), e.to_string())),
        }
    }
    let word = |at: usize| {
        i32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    if got < header.len() || &header[..16] != b"SQLite format 3\0" || word(68) != APPLICATION_ID {
        return Err(StoreError::Foreign(path.to_owned()));
    }
    let version = i64::from(word(60));
    if version > latest() {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: version,
            supported: latest(),
        });
    }
    Ok(if files::writable(path) {
        Access::ReadWrite
    } else {
        Access::ReadOnly
    })
}

/// A read-only connection that makes nothing beside the file. With no
/// `-wal` beside it, the file holds every committed change, so it is opened
/// as immutable (no locks, no `-shm`); with one (another connection has the
/// database open, or one stopped without folding its log back), the log is
/// read the ordinary way.
pub(super) fn read_only_connection(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if files::with_suffix(path, "-wal").exists() {
        Connection::open_with_flags(path, flags)?
    } else {
        Connection::open_with_flags(
            format!("file:{}?immutable=1", uri_path(path)),
            flags | OpenFlags::SQLITE_OPEN_URI,
        )?
    };
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

/// The key check stored at creation, read without writing anything, so a
/// wrong key leaves the file byte for byte as it was.
pub(super) fn key_check(path: &Path) -> Result<Option<String>, StoreError> {
    let db = super::Db::sqlite(read_only_connection(path)?);
    super::meta::get(&db, "key_check").map_err(|e| match e {
        StoreError::Busy | StoreError::ReadOnly => e,
        _ => StoreError::Foreign(path.to_owned()),
    })
}

/// A path as the path of a `file:` URI: every byte but the unreserved ones
/// and `/` percent-encoded.
fn uri_path(path: &Path) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt as _;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().replace('\\', "/").into_bytes();
    let mut out = String::with_capacity(bytes.len());
    for b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

impl Store {
    /// The key check stored in the database at `path`, read without
    /// writing anything: checked before any upgrade or change of journal.
    pub fn key_check(path: &Path) -> Result<Option<String>, StoreError> {
        probe(path)?;
        key_check(path)
    }

    /// Open a read-only database file for reading, making nothing beside
    /// it. Every write through it fails with [`StoreError::ReadOnly`].
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        probe(path)?;
        let store = Store::from_connection(read_only_connection(path)?)?;
        store.configure_reader()?;
        let found = store.schema_version()?;
        if found < latest() {
            return Err(StoreError::ReadOnlyOld {
                path: path.to_owned(),
                found,
                supported: latest(),
            });
        }
        Ok(store)
    }

    /// Whether writes through this store fail (a read-only file).
    pub fn is_read_only(&self) -> bool {
        self.db
            .as_sqlite()
            .is_some_and(|c| c.is_readonly(rusqlite::MAIN_DB).unwrap_or(false))
    }

    /// A new database with the whole schema in a private temporary file
    /// beside `path`, to be put there by [`Store::finish_beside`] once it
    /// holds what it must: a file at `path` is never half made.
    pub fn create_beside(path: &Path) -> Result<(PathBuf, Store), StoreError> {
        if path.is_dir() {
            return Err(StoreError::Directory(path.to_owned()));
        }
        let (temp, file) =
            crate::files::temp_beside(path).map_err(|e| StoreError::Create(path.to_owned(), e))?;
        drop(file);
        Ok((temp.clone(), Self::initialise(&temp)?))
    }

    /// Fold the log back into the file made by [`Store::create_beside`],
    /// close it, and put it at `path`, never over another file. On failure
    /// the temporary file is removed and nothing is at `path`.
    pub fn finish_beside(self, temp: &Path, path: &Path) -> Result<(), StoreError> {
        let closed = match self.db.into_sqlite() {
            Some(conn) => conn
                .pragma_update_and_check(None, "journal_mode", "DELETE", |_| Ok(()))
                .map_err(classify)
                .and_then(|()| conn.close().map_err(|(_, e)| classify(e))),
            None => Err(EngineError::Unported.into()),
        };
        let placed = closed.and_then(|()| {
            crate::files::place_new(temp, path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    StoreError::Exists(path.to_owned())
                } else {
                    StoreError::Create(path.to_owned(), e)
                }
            })
        });
        remove_database_files(temp);
        placed
    }

    /// The schema and pragmas in a new, empty file; removed on failure.
    pub(super) fn initialise(path: &Path) -> Result<Store, StoreError> {
        let made = (|| {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            let mut store = Store::from_connection(Connection::open_with_flags(path, flags)?)?;
            store
                .conn()?
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

    /// The pragmas of a connection that only reads.
    pub(super) fn configure_reader(&self) -> Result<(), StoreError> {
        let conn = self.conn()?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_4_puts_old_addresses_in_canonical_form_unless_taken() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        for (i, step) in super::super::steps().iter().take(3).enumerate() {
            conn.execute_batch(step).unwrap();
            conn.pragma_update(None, "user_version", i + 1).unwrap();
        }
        // Hangul written as jamo (letters, so older builds took it) and as
        // the syllable they compose to; an address already canonical.
        conn.execute_batch(
            "INSERT INTO users (id, email, role, status, created_at, grace_from) VALUES
                 (1, char(4352) || char(4449) || '@example.com', 'member', 'active', 0, 0),
                 (2, char(4352) || char(4449) || 'b@example.com', 'member', 'active', 0, 0),
                 (3, char(44032) || 'b@example.com', 'member', 'active', 0, 0),
                 (4, 'alice@example.com', 'member', 'active', 0, 0);",
        )
        .unwrap();
        let mut store = Store::from_connection(conn).unwrap();
        store.migrate().unwrap();
        let row = |id: i64| -> (String, Option<String>) {
            store
                .conn()
                .unwrap()
                .query_row(
                    "SELECT email, email_skeleton FROM users WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        assert_eq!(row(1).0, "\u{ac00}@example.com");
        // Its canonical form is user 3's: it keeps its spelling.
        assert_eq!(row(2).0, "\u{1100}\u{1161}b@example.com");
        assert_eq!(row(3).0, "\u{ac00}b@example.com");
        assert_eq!(row(4).1.as_deref(), Some("alice@exarnple.corn"));
        assert!((1..=4).all(|id| row(id).1.is_some()));
        let found: i64 = store
            .conn()
            .unwrap()
            .query_row(
                "SELECT count(*) FROM users_fts WHERE users_fts MATCH '\"\u{ac00}@e\"'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(found, 1, "the search index follows the new spelling");
    }

    #[test]
    fn uri_paths_escape_what_a_uri_would_read() {
        assert_eq!(uri_path(Path::new("/tmp/a b/f?.db")), "/tmp/a%20b/f%3F.db");
        assert_eq!(uri_path(Path::new("rel/x#1%.db")), "rel/x%231%25.db");
    }
}
