//! Files on disk: opening only regular files (never blocking on a FIFO or a
//! device), private 0600 files, and new files that appear whole or not at all.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Why a file could not be opened for reading.
#[derive(Debug)]
pub enum OpenError {
    Missing,
    /// A directory, FIFO, socket or device: what it is, in words.
    NotRegular(&'static str),
    Io(io::Error),
}

/// What a non-regular file is, in words ("a FIFO (named pipe)").
fn kind_of(ft: std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if ft.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "a device";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Open `path` for reading if it is a regular file. The open itself never
/// waits (a FIFO with no writer would block a plain open forever), and the
/// type is checked on the opened file, so nothing can be swapped in between.
pub fn open_regular(path: &Path) -> Result<File, OpenError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
        options.custom_flags(i32::try_from(flags.bits()).unwrap_or(0));
    }
    let file = options.open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => OpenError::Missing,
        io::ErrorKind::IsADirectory => OpenError::NotRegular("a directory"),
        _ => OpenError::Io(e),
    })?;
    let ft = file.metadata().map_err(OpenError::Io)?.file_type();
    if ft.is_file() {
        Ok(file)
    } else {
        Err(OpenError::NotRegular(kind_of(ft)))
    }
}

/// Whether this process should write to the regular file at `path`: its
/// owner-write bit is set (a file made read-only on purpose stays so, even
/// for root), and the file and its directory are writable for us.
pub fn writable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let Ok(meta) = std::fs::metadata(path) else {
            return false;
        };
        if meta.permissions().mode() & 0o200 == 0 {
            return false;
        }
        let dir = parent_dir(path);
        rustix::fs::access(path, rustix::fs::Access::WRITE_OK).is_ok()
            && rustix::fs::access(&dir, rustix::fs::Access::WRITE_OK).is_ok()
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly())
    }
}

/// The directory `path` is in (`.` for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// `path` with `suffix` added to its file name (`fd.db` → `fd.db-wal`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// Create a new file that only its owner can read or write.
pub fn create_private(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// A new private file beside `path` with a name of its own
/// (`.NAME.PID.N.tmp`), for building something that is then put in place
/// with [`place_new`].
pub fn temp_beside(path: &Path) -> io::Result<(PathBuf, File)> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let dir = parent_dir(path);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match create_private(&temp) {
            Ok(f) => return Ok((temp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => {}
            Err(e) => return Err(e),
        }
    }
}

/// Put the finished file `temp` at `path`, never over an existing file
/// (`AlreadyExists` then), and remove the name `temp`. The new name appears
/// with the whole file behind it, or not at all.
pub fn place_new(temp: &Path, path: &Path) -> io::Result<()> {
    let placed = match std::fs::hard_link(temp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // A file system without hard links: a rename, after a last look.
        Err(_) if std::fs::symlink_metadata(path).is_ok() => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file already exists there",
        )),
        Err(_) => std::fs::rename(temp, path),
    };
    let _ = std::fs::remove_file(temp);
    if placed.is_ok() {
        sync_dir(path);
    }
    placed
}

/// Make a directory entry just made durable (best effort).
fn sync_dir(path: &Path) {
    if let Ok(dir) = File::open(parent_dir(path)) {
        let _ = dir.sync_all();
    }
}

/// Write `bytes` to a new 0600 file at `path`, whole or not at all: written
/// to a temporary file beside it, flushed to disk, then put in place, never
/// over an existing file. On any failure nothing is left at `path`.
pub fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file already exists there",
        ));
    }
    let (temp, mut file) = temp_beside(path)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    match written {
        Ok(()) => place_new(&temp, path),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_new_is_private_whole_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("codes.txt");
        write_new(&path, b"one").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let err = write_new(&path, b"two").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert!(write_new(&dir.path().join("no/such/dir/x"), b"x").is_err());
        // No temporary file is left behind either way.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        assert!(matches!(
            open_regular(&fifo),
            Err(OpenError::NotRegular("a FIFO (named pipe)"))
        ));
        assert!(matches!(
            open_regular(dir.path()),
            Err(OpenError::NotRegular("a directory"))
        ));
        assert!(matches!(
            open_regular(Path::new("/dev/null")),
            Err(OpenError::NotRegular("a device"))
        ));
        assert!(matches!(
            open_regular(&dir.path().join("none")),
            Err(OpenError::Missing)
        ));
    }
}
