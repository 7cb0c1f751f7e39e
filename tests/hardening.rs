//! End-to-end tests of the binary against hostile input and hostile files:
//! stored escapes, limits, look-alikes, wrong keys, read-only files, FIFOs.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod support;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use factordesk::domain::totp;
use serde_json::Value;

use support::cli::Out;
use support::{T0, now as t0};

/// One test's database (`fd.db` and `fd.db.key` once `init` ran, or on
/// `PostgreSQL` a fresh database and `fd.db.key`: see `support::fd`).
struct Fd {
    base: support::fd::Fd,
}

impl Fd {
    fn empty() -> Fd {
        Fd {
            base: support::fd::Fd::empty(),
        }
    }

    fn new() -> Fd {
        let fd = Fd::empty();
        fd.run(&["init"], None).ok();
        fd
    }

    fn on_postgres(&self) -> bool {
        self.base.on_postgres()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.base.path(name)
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.base.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    /// [`Fd::names`] once the database's own files are added to `others`.
    fn with_own(&self, others: &[&str]) -> Vec<String> {
        let mut names: Vec<String> = others.iter().map(|&n| n.to_owned()).collect();
        names.extend(self.base.own_files());
        names.sort();
        names
    }

    /// `factordesk --db fd.db --now T0 ARGS`, with `stdin`; fails the test
    /// if it has not ended in 20 s (a blocked open).
    fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Out {
        let mut cmd = self.base.command(args);
        if !args.contains(&"--now") {
            cmd.args(["--now", T0]);
        }
        cmd.args(args);
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().unwrap();
        if let Some(bytes) = stdin {
            // The command may refuse before reading all of it.
            let _ = child.stdin.take().unwrap().write_all(bytes);
        }
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("{args:?} did not end: it blocked");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Out::of(child.wait_with_output().unwrap())
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        self.run(&all, None).ok().json()
    }

    fn audit_count(&self) -> usize {
        self.json(&["audit", "--limit", "10000"])
            .as_array()
            .unwrap()
            .len()
    }

    /// Enrol and confirm an authenticator app; its secret.
    fn totp(&self, email: &str) -> Vec<u8> {
        let e = self.json(&["factor", "add-totp", email]);
        let secret = base32::decode(
            base32::Alphabet::Rfc4648 { padding: false },
            e["secret"].as_str().unwrap(),
        )
        .unwrap();
        let id = e["factor_id"].to_string();
        self.json(&[
            "factor",
            "confirm",
            email,
            &id,
            &totp::code_at(&secret, t0()),
        ]);
        secret
    }

    fn sql(&self, sql: &str) {
        self.base.sql(sql);
    }
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
fn is_root() -> bool {
    // A write into a directory without write permission works only for root.
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o555);
    let root = std::fs::write(dir.path().join("x"), "x").is_ok();
    chmod(dir.path(), 0o755);
    root
}

#[test]
fn codes_out_that_cannot_be_written_changes_nothing() {
    let fd = Fd::new();
    let m = "mo@example.com";
    fd.run(&["user", "add", m], None).ok();
    let secret = fd.totp(m);
    let old = fd.json(&["codes", "generate", m])["codes"].clone();
    let audit = fd.audit_count();
    let mut targets = vec!["no/such/dir/codes.txt".to_owned()];
    #[cfg(unix)]
    if !is_root() {
        std::fs::create_dir(fd.path("locked")).unwrap();
        chmod(&fd.path("locked"), 0o555);
        targets.push("locked/codes.txt".to_owned());
    }
    for target in &targets {
        let out = fd.run(&["codes", "generate", m, "--out", target], None);
        assert!(
            out.refused(1).contains("choose a writable --out"),
            "{out:?}"
        );
        assert!(out.stdout.is_empty(), "{out:?}");
        assert!(!fd.path(target).exists());
    }
    assert_eq!(fd.audit_count(), audit, "no batch was made");
    // The old codes still work.
    let _ = secret;
    let s = fd.json(&["login", "start", m, "--assume-password"]);
    let c = s["challenge_id"].to_string();
    let v = fd.json(&["login", "verify", &c, old[3].as_str().unwrap()]);
    assert_eq!(v["result"], "accepted", "{v:#}");
    // A writable place works, and nothing temporary is left beside it.
    let out = fd
        .run(&["codes", "generate", m, "--out", "codes.txt"], None)
        .ok();
    assert!(out.stdout.contains("codes.txt"), "{out:?}");
    assert_eq!(fd.names(), fd.with_own(&["codes.txt"]));
}

#[test]
fn stored_escapes_are_shown_escaped_and_new_ones_refused() {
    let fd = Fd::new();
    let m = "mo@example.com";
    fd.run(&["user", "add", m, "--name", "Mo"], None).ok();
    let secret = fd.totp(m);
    let _ = secret;
    // Rows written before the checks existed (`chr` is PostgreSQL's `char`).
    let char = if fd.on_postgres() { "chr" } else { "char" };
    fd.sql(&format!(
        "UPDATE users SET name = 'Mo' || {char}(27) || '[2J' || {char}(8238) || 'evil' || {char}(10) || 'x';",
    ));
    for args in [&["user", "show", m][..], &["user", "list"]] {
        let out = fd.run(args, None).ok();
        assert!(!out.stdout.contains('\u{1b}'), "{out:?}");
        assert!(!out.stdout.contains('\u{202e}'), "{out:?}");
        assert!(
            out.stdout.contains("Mo\\u{1b}[2J\\u{202e}evil\\u{a}x"),
            "{out:?}"
        );
    }
    // JSON keeps the value, written so a terminal cannot act on it.
    let out = fd.run(&["user", "show", m, "--json"], None).ok();
    assert!(!out.stdout.contains('\u{1b}') && !out.stdout.contains('\u{202e}'));
    assert_eq!(out.json()["profile"]["name"], "Mo\u{1b}[2J\u{202e}evil\nx");
    // The console shows a mark where a direction override was.
    let out = fd
        .run(&["render", "user", "--user", m, "--size", "100x30"], None)
        .ok();
    assert!(!out.stdout.contains('\u{202e}') && !out.stdout.contains('\u{1b}'));
    assert!(out.stdout.contains('\u{fffd}'), "{}", out.stdout);

    // New ones are refused in every free-text input, saying what to do.
    let esc = "ok\u{1b}[2J";
    let audit = fd.audit_count();
    for args in [
        &["user", "edit", m, "--name", esc][..],
        &["user", "disable", m, "--reason", esc],
        &["user", "add", "new@example.com", "--name", "a\u{202e}b"],
        &[
            "--actor",
            "kim\u{2066}",
            "user",
            "unlock",
            m,
            "--reason",
            "ok",
        ],
        &["factor", "enable", m, "1", "--reason", esc],
        &[
            "policy",
            "set",
            "totp_issuer",
            "Acme\u{1b}]0;x",
            "--reason",
            "test",
        ],
        &["user", "list", "--search", "a\u{7}b"],
    ] {
        let out = fd.run(args, None);
        let err = out.refused(1);
        assert!(
            !err.contains('\u{1b}') && !err.contains('\u{202e}'),
            "{err}"
        );
    }
    assert_eq!(fd.audit_count(), audit);
}

#[test]
fn lengths_are_held_at_their_limits() {
    let fd = Fd::new();
    let m = "mo@example.com";
    fd.run(&["user", "add", m], None).ok();
    let at = "r".repeat(500);
    fd.run(&["user", "unlock", m, "--reason", &at], None).ok();
    for over in ["r".repeat(501), "r".repeat(100_000)] {
        let out = fd.run(&["user", "unlock", m, "--reason", &over], None);
        assert!(out.refused(1).contains("at most 500 characters"), "{out:?}");
        assert!(out.stderr.len() < 300, "the input is not echoed: {out:?}");
    }
    fd.run(&["--actor", &"a".repeat(64), "user", "show", m], None)
        .ok();
    let out = fd.run(&["--actor", &"a".repeat(65), "user", "show", m], None);
    assert!(out.refused(1).contains("at most 64"), "{out:?}");
    let out = fd.run(&["user", "list", "--limit", "10001"], None);
    out.refused(2);
    fd.run(&["user", "list", "--limit", "10000"], None).ok();
    let long = format!("{}@example.com", "a".repeat(100_000));
    let out = fd.run(&["user", "show", &long], None);
    assert!(out.stderr.len() < 300, "{out:?}");
    out.refused(1);

    // Passwords on stdin: 1 KiB, and not a byte more is taken.
    let pw = "p".repeat(1024);
    fd.run(
        &["user", "add", "pw@example.com", "--password-stdin"],
        Some(pw.as_bytes()),
    )
    .ok();
    let huge = vec![b'p'; 8 << 20];
    let out = fd.run(
        &["user", "add", "big@example.com", "--password-stdin"],
        Some(&huge),
    );
    assert!(out.refused(1).contains("longer than 1024 bytes"), "{out:?}");
}

#[test]
fn phones_must_be_real_numbers() {
    let fd = Fd::new();
    for bad in ["+44 1234567", "+999 12345678", "+1 011 555 0123"] {
        let out = fd.run(&["user", "add", "p@example.com", "--phone", bad], None);
        assert!(out.refused(1).contains("+14155550123"), "{bad}: {out:?}");
    }
    let u = fd.json(&[
        "user",
        "add",
        "p@example.com",
        "--phone",
        "+1 (212) 555-0199",
    ]);
    let shown = fd.json(&["user", "show", "p@example.com"]);
    assert_eq!(shown["profile"]["phone"], "+12125550199", "{u:#} {shown:#}");
}

#[test]
fn inci_round_trips_and_a_cyrillic_alice_is_refused() {
    let fd = Fd::new();
    fd.run(
        &["user", "add", "İnci@example.com", "--password-stdin"],
        Some(b"correct horse\n"),
    )
    .ok();
    for spelling in [
        "İnci@example.com",
        "İNCI@EXAMPLE.COM",
        "i\u{307}nci@example.com",
    ] {
        let u = fd.json(&["user", "show", spelling]);
        assert_eq!(u["profile"]["email"], "i\u{307}nci@example.com", "{u:#}");
    }
    let s = fd
        .run(
            &[
                "login",
                "start",
                "İnci@example.com",
                "--password-stdin",
                "--json",
            ],
            Some(b"correct horse\n"),
        )
        .ok()
        .json();
    assert_eq!(s["decision"], "allowed", "{s:#}");
    let list = fd.json(&["user", "list", "--search", "nci"]);
    assert_eq!(list.as_array().unwrap().len(), 1, "{list:#}");

    fd.run(&["user", "add", "alice@example.com"], None).ok();
    let out = fd.run(&["user", "add", "\u{430}lice@example.com"], None);
    let err = out.refused(1);
    assert!(
        err.contains("looks like the existing user alice@example.com"),
        "{err}"
    );
    // Plain ASCII addresses are told apart by their letters.
    fd.run(&["user", "add", "modern@example.com"], None).ok();
    fd.run(&["user", "add", "modem@example.com"], None).ok();
}

/// A key file for `fd` holding these 32 bytes, mode 0600.
fn write_key(path: &Path, byte: u8) {
    std::fs::write(path, format!("{}\n", format!("{byte:02x}").repeat(32))).unwrap();
    #[cfg(unix)]
    chmod(path, 0o600);
}

#[test]
fn a_wrong_key_leaves_an_older_database_untouched_and_the_right_one_upgrades_it() {
    let fd = Fd::empty();
    if fd.on_postgres() {
        return; // SQLite only: an older build's file, byte for byte
    }
    let db = fd.path("fd.db");
    {
        // A schema-3 database in rollback-journal mode, as older builds left.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "application_id", factordesk::store::APPLICATION_ID)
            .unwrap();
        for (i, step) in factordesk::store::steps().iter().take(3).enumerate() {
            conn.execute_batch(step).unwrap();
            conn.pragma_update(None, "user_version", i + 1).unwrap();
        }
        let key = factordesk::crypto::Key::from_bytes([0x11; 32]);
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('key_check', ?1)",
            [key.check_value()],
        )
        .unwrap();
        // Addresses as older builds stored them: lower-cased, not NFC.
        conn.execute_batch(
            "INSERT INTO users (email, role, status, created_at, grace_from)
                 VALUES ('i' || char(775) || 'nci@example.com', 'member', 'active', 0, 0),
                        (char(4352) || char(4449) || '@example.com', 'member', 'active', 0, 0),
                        ('alice@example.com', 'member', 'active', 0, 0);",
        )
        .unwrap();
    }
    write_key(&fd.path("fd.db.key"), 0x22);
    let before = std::fs::read(&db).unwrap();
    let out = fd.run(&["user", "list"], None);
    assert!(out.refused(1).contains("does not match"), "{out:?}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "byte for byte");
    assert_eq!(fd.names(), ["fd.db", "fd.db.key"], "no -wal or -shm");

    write_key(&fd.path("fd.db.key"), 0x11);
    let list = fd.json(&["user", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 3);
    let u = fd.json(&["user", "show", "\u{ac00}@example.com"]);
    assert_eq!(
        u["profile"]["email"], "\u{ac00}@example.com",
        "rewritten in NFC"
    );
    fd.json(&["user", "show", "İnci@example.com"]);
    let out = fd.run(&["user", "add", "\u{430}lice@example.com"], None);
    assert!(out.refused(1).contains("alice@example.com"), "{out:?}");
}

#[cfg(unix)]
#[test]
fn a_read_only_database_is_read_with_nothing_made_beside_it() {
    let fd = Fd::new();
    if fd.on_postgres() {
        return; // SQLite only: the file's mode and its directory's
    }
    fd.run(&["user", "add", "mo@example.com"], None).ok();
    let db = fd.path("fd.db");
    chmod(&db, 0o444);
    let before = std::fs::read(&db).unwrap();
    let list = fd.json(&["user", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    fd.run(&["render", "users"], None).ok();
    assert_eq!(fd.names(), ["fd.db", "fd.db.key"]);
    let out = fd.run(&["user", "add", "new@example.com"], None);
    assert!(out.refused(1).contains("cannot be written"), "{out:?}");
    assert_eq!(std::fs::read(&db).unwrap(), before);
    assert_eq!(fd.names(), ["fd.db", "fd.db.key"]);
    // Writable again, everything works.
    chmod(&db, 0o600);
    fd.run(&["user", "add", "new@example.com"], None).ok();
    // In a read-only directory (root may write anywhere: not for root).
    if !is_root() {
        chmod(fd.base.dir.path(), 0o555);
        let list = fd.json(&["user", "list"]);
        assert_eq!(list.as_array().unwrap().len(), 2);
        let out = fd.run(&["user", "add", "third@example.com"], None);
        assert!(out.refused(1).contains("cannot be written"), "{out:?}");
        chmod(fd.base.dir.path(), 0o755);
        assert_eq!(fd.names(), ["fd.db", "fd.db.key"]);
    }
}

#[cfg(unix)]
#[test]
fn fifos_and_exposed_key_files_are_refused_at_once() {
    let fd = Fd::new();
    let fifo = fd.path("pipe");
    rustix::fs::mkfifoat(
        rustix::fs::CWD,
        &fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
    )
    .unwrap();
    let out = fd.run(&["--db", "pipe", "user", "list"], None);
    assert!(out.refused(1).contains("FIFO"), "{out:?}");
    let out = fd.run(&["--key-file", "pipe", "user", "list"], None);
    assert!(out.refused(1).contains("FIFO"), "{out:?}");
    let out = fd.run(&["--db", "/dev/zero", "user", "list"], None);
    assert!(out.refused(1).contains("a device"), "{out:?}");

    chmod(&fd.path("fd.db.key"), 0o644);
    let out = fd.run(&["user", "list"], None);
    let key = fd.path("fd.db.key");
    assert!(
        out.refused(1).ends_with("run: chmod 600 fd.db.key"),
        "{out:?}"
    );
    chmod(&key, 0o600);
    fd.run(&["user", "list"], None).ok();
}

#[test]
fn a_stopped_init_leaves_nothing_the_next_one_refuses() {
    // Stopped after the key file was put in place, before the database.
    let fd = Fd::empty();
    write_key(&fd.path("fd.db.key"), 0x33);
    std::fs::write(fd.path(".fd.db.4242.0.tmp"), "half a database").unwrap();
    let out = fd.run(&["init"], None).ok();
    assert!(out.stdout.contains("which was already there"), "{out:?}");
    fd.run(&["user", "list"], None).ok();
    // Its own temporary files are gone; the stray one is not its to remove.
    assert_eq!(fd.names(), fd.with_own(&[".fd.db.4242.0.tmp"]));
    let out = fd.run(&["init"], None);
    // A file is there, or a database with factordesk's schema in it.
    let says = if fd.on_postgres() {
        "is already a factordesk database"
    } else {
        "already exists"
    };
    assert!(out.refused(1).contains(says), "{out:?}");
}

#[test]
fn a_device_token_can_come_from_stdin() {
    let fd = Fd::new();
    let m = "mo@example.com";
    fd.run(&["user", "add", m], None).ok();
    let secret = fd.totp(m);
    let s = fd.json(&[
        "login",
        "start",
        m,
        "--assume-password",
        "--ip",
        "198.51.100.4",
    ]);
    let c = s["challenge_id"].to_string();
    let later = t0() + chrono::TimeDelta::seconds(60);
    let now = later.to_rfc3339();
    let v = fd.json(&[
        "--now",
        &now,
        "login",
        "verify",
        &c,
        &totp::code_at(&secret, later),
        "--remember",
    ]);
    let token = v["device_token"].as_str().unwrap().to_owned();
    let args = [
        "--now",
        &now,
        "login",
        "start",
        m,
        "--assume-password",
        "--device",
        "-",
        "--ip",
        "198.51.100.4",
        "--json",
    ];
    let out = fd.run(&args, Some(format!("{token}\n").as_bytes())).ok();
    assert_eq!(out.json()["decision"], "allowed", "{out:?}");
    let out = fd.run(
        &["login", "start", m, "--password-stdin", "--device", "-"],
        Some(b"pw\n"),
    );
    assert!(out.refused(2).contains("both read stdin"), "{out:?}");
}
