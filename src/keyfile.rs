//! Where the sealing key lives: a 0600 file beside the database (created at
//! `init`), or the `FACTORDESK_KEY` environment variable (64 hex digits).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::crypto::{Key, hex, unhex};
use crate::rng::Rng;

/// The environment variable that carries the key itself, for deployments
/// that keep it in a secret store rather than a file.
pub const KEY_ENV: &str = "FACTORDESK_KEY";

#[derive(Debug, Error)]
pub enum KeyFileError {
    #[error(
        "no key file at {0}: the database's secrets are sealed with it; pass --key-file (or FACTORDESK_KEY_FILE) pointing at it"
    )]
    Missing(PathBuf),
    #[error(
        "{0} is not a factordesk key file (expected 64 hex digits): restore the key file created with this database"
    )]
    Malformed(PathBuf),
    #[error("FACTORDESK_KEY is not a key (expected 64 hex digits): fix or unset it")]
    MalformedEnv,
    #[error(
        "a key file already exists at {0}: keep it with its database, or pass another --key-file"
    )]
    Exists(PathBuf),
    #[error("cannot write the key file {0}: {1}; choose a writable --key-file location")]
    Write(PathBuf, std::io::Error),
    #[error("cannot read the key file {0}: {1}")]
    Read(PathBuf, std::io::Error),
}

/// The key file used with `db` when none is named: `DB.key` beside it.
pub fn default_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".key");
    db.with_file_name(name)
}

/// Where the key comes from for this run.
#[derive(Debug, Clone)]
pub enum Source {
    Env(String),
    File(PathBuf),
}

impl Source {
    /// `FACTORDESK_KEY` if set, else the file.
    pub fn resolve(file: PathBuf, env: Option<String>) -> Self {
        match env {
            Some(value) if !value.trim().is_empty() => Source::Env(value),
            _ => Source::File(file),
        }
    }

    pub fn load(&self) -> Result<Key, KeyFileError> {
        match self {
            Source::Env(value) => parse(value).ok_or(KeyFileError::MalformedEnv),
            Source::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => KeyFileError::Missing(path.clone()),
                    // Not text at all: as wrong as a malformed key.
                    std::io::ErrorKind::InvalidData => KeyFileError::Malformed(path.clone()),
                    _ => KeyFileError::Read(path.clone(), e),
                })?;
                parse(&text).ok_or_else(|| KeyFileError::Malformed(path.clone()))
            }
        }
    }

    /// Make a new key: write it to the file (mode 0600, never overwriting),
    /// or, for `FACTORDESK_KEY`, use that one.
    pub fn create(&self, rng: &mut Rng) -> Result<Key, KeyFileError> {
        match self {
            Source::Env(_) => self.load(),
            Source::File(path) => {
                let master: [u8; 32] = rng.bytes();
                let mut file = create_private(path).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        KeyFileError::Exists(path.clone())
                    } else {
                        KeyFileError::Write(path.clone(), e)
                    }
                })?;
                writeln!(file, "{}", hex(&master))
                    .and_then(|()| file.sync_all())
                    .map_err(|e| KeyFileError::Write(path.clone(), e))?;
                Ok(Key::from_bytes(master))
            }
        }
    }

    /// The file this key lives in, if it lives in one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Source::Env(_) => None,
            Source::File(p) => Some(p),
        }
    }
}

fn parse(text: &str) -> Option<Key> {
    let bytes: [u8; 32] = unhex(text)?.try_into().ok()?;
    Some(Key::from_bytes(bytes))
}

/// Create a new file that only its owner can read or write.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_then_load_gives_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db.key");
        let source = Source::File(path.clone());
        let key = source.create(&mut Rng::seeded(1)).unwrap();
        assert_eq!(source.load().unwrap().check_value(), key.check_value());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            source.create(&mut Rng::seeded(2)),
            Err(KeyFileError::Exists(_))
        ));
    }

    #[test]
    fn missing_and_malformed_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.key");
        let err = Source::File(path.clone()).load().unwrap_err();
        assert!(err.to_string().contains("pass --key-file"), "{err}");
        std::fs::write(&path, "not hex").unwrap();
        let err = Source::File(path).load().unwrap_err();
        assert!(matches!(err, KeyFileError::Malformed(_)));
        assert!(matches!(
            Source::Env("xyz".into()).load(),
            Err(KeyFileError::MalformedEnv)
        ));
        let env = Source::resolve(PathBuf::from("x"), Some("ab".repeat(32)));
        assert!(env.load().is_ok());
        assert!(matches!(
            Source::resolve(PathBuf::from("x"), Some(String::new())),
            Source::File(_)
        ));
    }

    #[test]
    fn default_path_sits_beside_the_database() {
        assert_eq!(
            default_path(Path::new("/tmp/a/f.db")),
            PathBuf::from("/tmp/a/f.db.key")
        );
    }
}
