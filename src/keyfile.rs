//! Where the sealing key lives: a 0600 file beside the database (created at
//! `init`), or the `FACTORDESK_KEY` environment variable (64 hex digits).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use thiserror::Error;

use zeroize::Zeroizing;

use crate::crypto::{Key, hex, unhex};
use crate::files::OpenError;
use crate::rng::Rng;

/// The environment variable that carries the key itself, for deployments
/// that keep it in a secret store rather than a file.
pub const KEY_ENV: &str = "FACTORDESK_KEY";

#[derive(Debug, Error)]
pub enum KeyFileError {
    #[error("no key file at {0}: the database's secrets are sealed with it")]
    Missing(PathBuf),
    #[error(
        "{0} is not a factordesk key file (expected exactly 64 hex digits and at most a newline): restore the key file created with this database"
    )]
    Malformed(PathBuf),
    #[error("FACTORDESK_KEY is not a key (expected exactly 64 hex digits): fix or unset it")]
    MalformedEnv,
    #[error("a key file already exists at {0}")]
    Exists(PathBuf),
    #[error("cannot write the key file {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("cannot read the key file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("the key file {0} is {1}, not a regular file")]
    NotRegular(PathBuf, &'static str),
    #[error(
        "the key file {path} can be read or written by other users (mode {mode:04o}): run: chmod 600 {path}"
    )]
    Exposed { path: PathBuf, mode: u32 },
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

/// A key for a new database, and the file it is to be kept in, if any.
#[derive(Debug)]
pub struct NewKey {
    pub key: Key,
    /// Written whole to a temporary file, to be put in place by
    /// [`NewKey::place`] (`None`: the key came from the environment, or from
    /// a key file that was already there).
    temp: Option<(PathBuf, PathBuf)>,
}

impl NewKey {
    /// Put the new key file in place (never over another file). Returns
    /// whether a file was placed, so a later failure can take it back.
    pub fn place(&mut self) -> Result<bool, KeyFileError> {
        let Some((temp, path)) = self.temp.take() else {
            return Ok(false);
        };
        crate::files::place_new(&temp, &path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                KeyFileError::Exists(path.clone())
            } else {
                KeyFileError::Write(path.clone(), e)
            }
        })?;
        Ok(true)
    }

    /// Remove the temporary file of a key never placed.
    pub fn discard(&mut self) {
        if let Some((temp, _)) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
    }
}

impl Drop for NewKey {
    fn drop(&mut self) {
        self.discard();
    }
}

/// The most a key file may hold: 64 hex digits and a CR LF.
const KEY_FILE_MAX: u64 = 66;

impl Source {
    /// `FACTORDESK_KEY` if set, else the file.
    pub fn resolve(file: PathBuf, env: Option<String>) -> Self {
        match env {
            Some(value) if !value.trim().is_empty() => Source::Env(value),
            _ => Source::File(file),
        }
    }

    pub fn load(&self) -> Result<Key, KeyFileError> {
        use std::io::Read as _;
        match self {
            Source::Env(value) => parse(value).ok_or(KeyFileError::MalformedEnv),
            Source::File(path) => {
                let file = crate::files::open_regular(path).map_err(|e| match e {
                    OpenError::Missing => KeyFileError::Missing(path.clone()),
                    OpenError::NotRegular(kind) => KeyFileError::NotRegular(path.clone(), kind),
                    OpenError::Io(e) => KeyFileError::Read(path.clone(), e),
                })?;
                check_private(path, &file)?;
                let mut text = Zeroizing::new(Vec::with_capacity(80));
                file.take(KEY_FILE_MAX + 1)
                    .read_to_end(&mut text)
                    .map_err(|e| KeyFileError::Read(path.clone(), e))?;
                std::str::from_utf8(&text)
                    .ok()
                    .and_then(parse)
                    .ok_or_else(|| KeyFileError::Malformed(path.clone()))
            }
        }
    }

    /// The key, and the line a key file holds for it (its 64 hex digits
    /// and a newline), to keep it in a new key file ([`write_new`]).
    pub fn load_line(&self) -> Result<(Key, Zeroizing<String>), KeyFileError> {
        let key = self.load()?;
        let text = match self {
            Source::Env(value) => Zeroizing::new(value.clone()),
            Source::File(path) => Zeroizing::new(
                std::fs::read_to_string(path).map_err(|e| KeyFileError::Read(path.clone(), e))?,
            ),
        };
        let mut line = Zeroizing::new(text.trim().to_owned());
        // The file was read again: it must still hold this key.
        if parse(&line).is_none_or(|k| k.check_value() != key.check_value()) {
            return Err(match self {
                Source::Env(_) => KeyFileError::MalformedEnv,
                Source::File(path) => KeyFileError::Malformed(path.clone()),
            });
        }
        line.push('\n');
        Ok((key, line))
    }

    /// The key for a new database: for `FACTORDESK_KEY`, that one; for a
    /// key file already there (a database never made beside it, as after an
    /// `init` stopped half way), that file's key; otherwise a new key from
    /// `rng`, written to a temporary 0600 file until [`NewKey::place`].
    pub fn create(&self, rng: &mut Rng) -> Result<NewKey, KeyFileError> {
        let Source::File(path) = self else {
            return Ok(NewKey {
                key: self.load()?,
                temp: None,
            });
        };
        if std::fs::symlink_metadata(path).is_ok() {
            return Ok(NewKey {
                key: self.load()?,
                temp: None,
            });
        }
        let master = Zeroizing::new(rng.bytes::<32>());
        let (temp, mut file) =
            crate::files::temp_beside(path).map_err(|e| KeyFileError::Write(path.clone(), e))?;
        let mut line = Zeroizing::new(hex(&*master));
        line.push('\n');
        let written = file
            .write_all(line.as_bytes())
            .and_then(|()| file.sync_all());
        drop(file);
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(KeyFileError::Write(path.clone(), e));
        }
        Ok(NewKey {
            key: Key::from_bytes(*master),
            temp: Some((temp, path.clone())),
        })
    }

    /// Whether this source is a file that exists now.
    pub fn file_exists(&self) -> bool {
        self.path()
            .is_some_and(|p| std::fs::symlink_metadata(p).is_ok())
    }

    /// The file this key lives in, if it lives in one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Source::Env(_) => None,
            Source::File(p) => Some(p),
        }
    }
}

/// Refuse a key file that anyone but its owner may read or write, as ssh
/// refuses a private key.
fn check_private(path: &Path, file: &std::fs::File) -> Result<(), KeyFileError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file
            .metadata()
            .map_err(|e| KeyFileError::Read(path.to_owned(), e))?
            .permissions()
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::Exposed {
                path: path.to_owned(),
                mode,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file);
    Ok(())
}

/// Exactly 64 hex digits, then at most one line ending; nothing else.
pub fn parse(text: &str) -> Option<Key> {
    let digits = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text);
    if digits.len() != 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes = Zeroizing::new(unhex(digits)?);
    let master: Zeroizing<[u8; 32]> = Zeroizing::new(bytes.as_slice().try_into().ok()?);
    Some(Key::from_bytes(*master))
}

/// Write `line` (from [`Source::load_line`]) to a new 0600 key file at
/// `path`, whole, never over a file.
pub fn write_new(path: &Path, line: &str) -> Result<(), KeyFileError> {
    crate::files::write_new(path, line.as_bytes()).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists(path.to_owned())
        } else {
            KeyFileError::Write(path.to_owned(), e)
        }
    })
}

/// Create a new file that only its owner can read or write.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    crate::files::create_private(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_then_load_gives_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db.key");
        let source = Source::File(path.clone());
        let mut new = source.create(&mut Rng::seeded(1)).unwrap();
        assert!(!path.exists(), "not placed yet");
        assert!(new.place().unwrap());
        let key = new.key.clone();
        drop(new);
        assert_eq!(source.load().unwrap().check_value(), key.check_value());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A key file already there is taken as it is.
        let again = source.create(&mut Rng::seeded(2)).unwrap();
        assert_eq!(again.key.check_value(), key.check_value());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn missing_and_malformed_say_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.key");
        let err = Source::File(path.clone()).load().unwrap_err();
        assert!(matches!(err, KeyFileError::Missing(_)), "{err}");
        crate::files::write_new(&path, b"not hex").unwrap();
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

    #[test]
    fn only_exactly_64_hex_digits_and_a_newline() {
        let hex64 = "ab".repeat(32);
        for ok in [
            hex64.clone(),
            format!("{hex64}\n"),
            format!("{hex64}\r\n"),
            hex64.to_uppercase(),
        ] {
            assert!(parse(&ok).is_some(), "{ok:?}");
        }
        for bad in [
            format!(" {hex64}"),
            format!("{hex64} "),
            format!("{hex64}\n\n"),
            format!("{hex64}00"),
            hex64[..62].to_owned(),
            format!("{}zz", &hex64[..62]),
            format!("+{}", &hex64[..63]),
            String::new(),
        ] {
            assert!(parse(&bad).is_none(), "{bad:?}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_key_file_others_can_read_is_refused_with_the_chmod() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.key");
        std::fs::write(&path, format!("{}\n", "ab".repeat(32))).unwrap();
        for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = Source::File(path.clone()).load().unwrap_err();
            assert!(
                err.to_string()
                    .ends_with(&format!("run: chmod 600 {}", path.display())),
                "{err}"
            );
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(Source::File(path.clone()).load().is_ok());
        }
        // A FIFO is refused at once, without waiting for a writer.
        let fifo = dir.path().join("fifo.key");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let err = Source::File(fifo).load().unwrap_err();
        assert!(
            matches!(err, KeyFileError::NotRegular(_, "a FIFO (named pipe)")),
            "{err}"
        );
        // A file far too long is read no further than a key's length.
        let long = dir.path().join("long.key");
        std::fs::write(&long, "a".repeat(1 << 20)).unwrap();
        std::fs::set_permissions(&long, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            Source::File(long).load(),
            Err(KeyFileError::Malformed(_))
        ));
    }
}
