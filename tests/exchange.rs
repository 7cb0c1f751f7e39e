//! Import, export, hardware tokens and factor labels through the real
//! binary: each import is all or nothing, with the line of its first bad
//! row; exports round-trip, and codes agree with RFC vectors and `oathtool`.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

const T0: &str = "2026-11-21T09:00:00Z";
/// RFC 4226's seed, "12345678901234567890", in base32 and hex.
const SEED_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SEED_HEX: &str = "3132333435363738393031323334353637383930";
/// RFC 4226 appendix D, counters 0 to 9.
const RFC4226: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        assert!(self.stderr.is_empty(), "{self:?}");
        self
    }

    /// Exit 1 and exactly one `error:` line; returns it.
    fn error(&self) -> String {
        assert_eq!(self.code, 1, "expected an error: {self:?}");
        assert!(self.stderr.starts_with("error: "), "{self:?}");
        assert_eq!(self.stderr.trim_end().lines().count(), 1, "{self:?}");
        assert!(!self.stderr.contains("panicked"), "{self:?}");
        self.stderr.trim_end().to_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:?}"))
    }
}

/// One database in its own directory.
struct Fd {
    dir: tempfile::TempDir,
    name: &'static str,
}

impl Fd {
    fn new() -> Fd {
        Fd::named("fd.db")
    }

    fn named(name: &'static str) -> Fd {
        let fd = Fd {
            dir: tempfile::tempdir().unwrap(),
            name,
        };
        fd.run(T0, &["init"]).ok();
        fd
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    fn write(&self, file: &str, text: &str) -> String {
        std::fs::write(self.path(file), text).unwrap();
        self.path(file).display().to_string()
    }

    fn run(&self, now: &str, args: &[&str]) -> Out {
        let db = self.path(self.name).display().to_string();
        let output = Command::new(env!("CARGO_BIN_EXE_factordesk"))
            .args(["--db", &db, "--now", now])
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("FACTORDESK_DB")
            .env_remove("FACTORDESK_KEY")
            .env_remove("FACTORDESK_KEY_FILE")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        Out {
            code: output.status.code().unwrap(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    fn ok(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        self.run(T0, &all).ok().json()
    }

    fn users(&self) -> Vec<String> {
        self.ok(&["user", "list"])
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    }

    fn factors(&self, email: &str) -> Vec<Value> {
        self.ok(&["factor", "list", email])
            .as_array()
            .unwrap()
            .clone()
    }

    /// Log in with `code` at `now`; the exit code.
    fn login(&self, now: &str, email: &str, code: &str) -> i32 {
        let s = self.run(
            now,
            &["login", "start", email, "--assume-password", "--json"],
        );
        let s = s.ok().json();
        assert_eq!(s["decision"], "challenge", "{s:#}");
        let c = s["challenge_id"].as_i64().unwrap().to_string();
        self.run(now, &["login", "verify", &c, code, "--json"]).code
    }
}

fn oathtool() -> bool {
    let here = Command::new("oathtool")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !here {
        println!("oathtool not installed: checked against RFC vectors only");
    }
    here
}

fn oath(args: &[&str]) -> String {
    let out = Command::new("oathtool").args(args).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The TOTP code at `at` (RFC 3339) for a hex seed, by our own library.
fn totp_at(
    hex: &str,
    algorithm: factordesk::domain::oath::Algorithm,
    digits: u8,
    period: u32,
    at: &str,
) -> String {
    let secret = factordesk::domain::exchange::hex_secret(hex).unwrap();
    let params = factordesk::domain::oath::Params {
        algorithm,
        digits,
        period,
    };
    let at = chrono::DateTime::parse_from_rfc3339(at).unwrap().to_utc();
    factordesk::domain::totp::code_with(&secret, &params, at)
}

fn two_users(fd: &Fd) {
    let file = fd.write(
        "users.csv",
        "email,name,role,phone\nann@example.com,Ann Lee,admin,+14155550123\nbo@example.com,\"Bo, Jr.\",,\n",
    );
    fd.run(T0, &["import", "users", &file]).ok();
}

#[test]
fn users_import_is_all_or_nothing_and_says_the_line() {
    let fd = Fd::new();
    let good = "email,name,role,phone\nann@example.com,Ann Lee,admin,+14155550123\n\nbo@example.com,\"Bo, Jr.\",,\n";
    let file = fd.write("users.csv", good);
    let dry = fd.run(T0, &["import", "users", &file, "--dry-run"]).ok();
    assert!(dry.stdout.contains("2 users would be imported"), "{dry:?}");
    assert!(fd.users().is_empty(), "a dry run changes nothing");

    for (text, says) in [
        (
            "email,name,role\na@example.com,A,admin\nb@example.com,B,boss\n",
            "line 3: `boss` is not a role",
        ),
        (
            "email,name\na@example.com,A\nA@example.com,B\n",
            "line 3: A@example.com is already on line 2",
        ),
        (
            "email,name\na@example.com,A\nb@example.com,\"B\n",
            "line 3: the CSV has a quote opened and never closed",
        ),
        ("email,name\na@example.com,A\nnot-an-address,B\n", "line 3:"),
        (
            "email,name\na@example.com,A,extra\n",
            "line 2: expected 2 columns, found 3",
        ),
        ("name,role\nA,admin\n", "line 1: the header must be"),
        (
            "email,name,role,phone\na@example.com,A,,+99 123\n",
            "line 2:",
        ),
        ("email\n", "there is nothing to import"),
    ] {
        let file = fd.write("bad.csv", text);
        let err = fd.run(T0, &["import", "users", &file]).error();
        assert!(err.contains(says), "{text:?}: {err}");
        assert!(err.contains("nothing was imported"), "{err}");
        assert!(fd.users().is_empty(), "{text:?} left users behind");
    }
    // Files that cannot be read.
    let err = fd.run(T0, &["import", "users", "no-such.csv"]).error();
    assert!(
        err.contains("cannot read no-such.csv: there is no such file"),
        "{err}"
    );
    let err = fd
        .run(
            T0,
            &["import", "users", &fd.dir.path().display().to_string()],
        )
        .error();
    assert!(err.contains("it is a directory"), "{err}");
    std::fs::write(
        fd.path("latin1.csv"),
        b"email,name\na@example.com,Ren\xe9\n",
    )
    .unwrap();
    let err = fd.run(T0, &["import", "users", "latin1.csv"]).error();
    assert!(err.contains("line 2: it is not UTF-8 text"), "{err}");

    let done = fd.run(T0, &["import", "users", &file_of(&fd, good)]).ok();
    assert!(done.stdout.contains("Imported 2 users."), "{done:?}");
    assert_eq!(fd.users(), ["ann@example.com", "bo@example.com"]);
    // Again: the first row now names an existing user.
    let err = fd
        .run(T0, &["import", "users", &file_of(&fd, good)])
        .error();
    assert!(
        err.contains("line 2: a user with email ann@example.com already exists"),
        "{err}"
    );
    let audit = fd.ok(&["audit", "--limit", "5"]);
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "import.users"),
        "{audit:#}"
    );
}

fn file_of(fd: &Fd, text: &str) -> String {
    fd.write("again.csv", text)
}

#[test]
fn users_export_round_trips_without_secrets() {
    let fd = Fd::new();
    two_users(&fd);
    let csv = fd
        .run(T0, &["export", "users", "--format", "csv"])
        .ok()
        .stdout;
    assert_eq!(
        csv,
        "email,name,role,phone\r\nann@example.com,Ann Lee,admin,'+14155550123\r\nbo@example.com,\"Bo, Jr.\",member,\r\n"
    );
    let json: Value = serde_json::from_str(
        &fd.run(T0, &["export", "users", "--format", "json"])
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(json[1]["name"], "Bo, Jr.");
    assert!(!json.to_string().contains("password"), "{json}");

    fd.run(T0, &["export", "users", "--out", "users-out.csv"])
        .ok();
    let err = fd
        .run(T0, &["export", "users", "--out", "users-out.csv"])
        .error();
    assert!(err.contains("already exists"), "{err}");
    let other = Fd::named("other.db");
    let path = fd.path("users-out.csv").display().to_string();
    other.run(T0, &["import", "users", &path]).ok();
    let back = other.ok(&["user", "show", "ann@example.com"]);
    assert_eq!(back["profile"]["phone"], "+14155550123", "{back:#}");
    assert_eq!(other.users(), fd.users());
}

#[test]
fn secrets_import_refuses_bad_rows_and_changes_nothing() {
    let fd = Fd::new();
    two_users(&fd);
    let uri =
        |q: &str| format!("otpauth://totp/ACME:ann@example.com?secret={SEED_B32}&issuer=ACME{q}");
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{}\nhttps://example.com/x\n", uri("")),
            "line 2: it is not an otpauth:// URI",
        ),
        (
            format!("{}\n{}\n", uri(""), uri("&digits=9")),
            "line 2: 9 digits is not supported",
        ),
        (
            format!("{}\n\n{}\n", uri(""), uri("&period=45")),
            "line 3: a period of 45 s is not supported",
        ),
        (
            format!("{}\n", uri("&algorithm=MD5")),
            "line 1: the algorithm `MD5` is not supported",
        ),
        (
            "otpauth://totp/ACME:ann@example.com?secret=not*base32\n".to_owned(),
            "line 1: the secret is not base32",
        ),
        (
            format!("{}\n{}\n", uri(""), uri("").replace("ann@", "nobody@")),
            "line 2: no user nobody@example.com",
        ),
        (
            format!("{}\n{}\n", uri(""), uri("")),
            "line 2: ann@example.com already has this secret",
        ),
        (
            "issuer,username,algorithm,digits,period,secret\nA,ann@example.com,SHA1,6,30\n"
                .to_owned(),
            "line 2: expected 6 columns, found 5",
        ),
        (
            "totp_configurations:\n    - username: [ann\n".to_owned(),
            "YAML cannot be read",
        ),
        (
            format!("# version: 2\nann@example.com,,,T1,{SEED_HEX},ocra,6\n"),
            "line 2: `ocra` tokens cannot be imported",
        ),
        (
            "hello, world\n".to_owned(),
            "not in a format factordesk reads",
        ),
    ];
    for (text, says) in &cases {
        let file = fd.write("secrets.txt", text);
        let err = fd.run(T0, &["import", "totp", &file]).error();
        assert!(err.contains(says), "{text:?}: {err}");
        assert!(
            fd.factors("ann@example.com").is_empty(),
            "{text:?} left a factor"
        );
    }
    // Authelia's bare user names need a domain.
    let file = fd.write(
        "a.csv",
        &format!(
            "issuer,username,algorithm,digits,period,secret\nAuthelia,ann,SHA1,6,30,{SEED_B32}\n"
        ),
    );
    let err = fd.run(T0, &["import", "totp", &file]).error();
    assert!(
        err.contains("line 2: `ann` is not an email address: pass --domain"),
        "{err}"
    );
    let dry = fd
        .run(
            T0,
            &[
                "import",
                "totp",
                &file,
                "--domain",
                "example.com",
                "--dry-run",
            ],
        )
        .ok();
    assert!(dry.stdout.contains("Dry run"), "{dry:?}");
    assert!(fd.factors("ann@example.com").is_empty());
    fd.run(T0, &["import", "totp", &file, "--domain", "example.com"])
        .ok();
    let f = fd.factors("ann@example.com");
    assert_eq!(
        (f.len(), &f[0]["status"], &f[0]["label"]),
        (
            1,
            &Value::from("active"),
            &Value::from("Authenticator app (Authelia)")
        )
    );
}

/// Each format out and back in, into a fresh database: the factors keep
/// their algorithm, digits and period, and log in with the same codes
/// (computed by `oathtool` where it is installed).
#[test]
fn exported_secrets_import_elsewhere_and_log_in_with_the_same_codes() {
    use factordesk::domain::oath::Algorithm;
    let fd = Fd::new();
    two_users(&fd);
    let uris = format!(
        "otpauth://totp/ACME:ann@example.com?secret={SEED_B32}&issuer=ACME&algorithm=SHA256&digits=8&period=60\notpauth://totp/ACME:bo@example.com?secret={SEED_B32}&issuer=ACME\n"
    );
    fd.run(T0, &["import", "totp", &fd.write("in.txt", &uris)])
        .ok();
    let with_tool = oathtool();
    let later = "2026-11-21T10:00:00Z";
    for format in ["uri", "authelia-csv", "authelia-yaml", "oath-csv"] {
        let out = format!("out-{format}");
        let err = fd
            .run(
                T0,
                &[
                    "export", "totp", "--format", format, "--out", &out, "--reason", " ",
                ],
            )
            .error();
        assert!(err.contains("a reason is required"), "{err}");
        let done = fd
            .run(
                T0,
                &[
                    "export",
                    "totp",
                    "--format",
                    format,
                    "--out",
                    &out,
                    "--reason",
                    "moving to the new server",
                ],
            )
            .ok();
        assert!(done.stdout.contains("audited"), "{done:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(fd.path(&out))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{format}");
        }
        let fresh = Fd::named("fresh.db");
        two_users(&fresh);
        fresh
            .run(
                T0,
                &["import", "totp", &fd.path(&out).display().to_string()],
            )
            .ok();
        // The OATH CSV cannot carry a SHA256 secret of 20 bytes (privacyIDEA
        // reads the algorithm from the seed's length): it is left out.
        let ann = fresh.factors("ann@example.com");
        if format == "oath-csv" {
            assert!(ann.is_empty(), "{ann:?}");
            assert!(done.stdout.contains("Left out factor"), "{done:?}");
        } else {
            assert_eq!(ann[0]["oath"]["algorithm"], "SHA256", "{format}");
            assert_eq!(ann[0]["oath"]["digits"], 8);
            assert_eq!(ann[0]["oath"]["period"], 60);
            let code = totp_at(SEED_HEX, Algorithm::Sha256, 8, 60, later);
            if with_tool {
                let tool = oath(&[
                    "--totp=sha256",
                    "--digits=8",
                    "--time-step-size=60s",
                    "--now",
                    "2026-11-21 10:00:00 UTC",
                    SEED_HEX,
                ]);
                assert_eq!(tool, code, "{format}");
            }
            // Six digits for an eight-digit factor cost no attempt.
            assert_eq!(
                fresh.login(later, "ann@example.com", &code[..6]),
                1,
                "{format}"
            );
            assert_eq!(fresh.login(later, "ann@example.com", &code), 0, "{format}");
        }
        let code = totp_at(SEED_HEX, Algorithm::Sha1, 6, 30, later);
        if with_tool {
            let tool = oath(&["--totp", "--now", "2026-11-21 10:00:00 UTC", SEED_HEX]);
            assert_eq!(tool, code, "{format}");
        }
        assert_eq!(fresh.login(later, "bo@example.com", &code), 0, "{format}");
        // A code from the wrong period is refused.
        let wrong = totp_at(SEED_HEX, Algorithm::Sha1, 6, 30, "2026-11-21T11:00:00Z");
        assert_eq!(fresh.login(later, "bo@example.com", &wrong), 3, "{format}");
    }
    let audit = fd.ok(&["audit", "--limit", "50"]);
    let kinds: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"export.totp") && kinds.contains(&"factor.export"),
        "{kinds:?}"
    );
    let err = fd
        .run(
            T0,
            &[
                "export", "totp", "--format", "uri", "--out", "out-uri", "--reason", "again",
            ],
        )
        .error();
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn hotp_tokens_enrol_log_in_within_the_window_and_resync() {
    let fd = Fd::new();
    two_users(&fd);
    // A token from privacyIDEA's seed file, at counter 0, with the RFC seed.
    let file = fd.write(
        "tokens.csv",
        &format!("# version: 2\nbo@example.com,,,OATH0001,{SEED_HEX},hotp,6,0\n"),
    );
    fd.run(T0, &["import", "totp", &file]).ok();
    let f = &fd.factors("bo@example.com")[0];
    assert_eq!(f["label"], "Hardware token OATH0001");
    assert_eq!(
        (f["oath"]["type"].as_str(), f["oath"]["counter"].as_u64()),
        (Some("hotp"), Some(0))
    );
    let id = f["id"].as_i64().unwrap().to_string();
    if oathtool() {
        for (counter, want) in RFC4226.iter().enumerate() {
            let tool = oath(&["--hotp", "--counter", &counter.to_string(), SEED_HEX]);
            assert_eq!(tool, *want, "counter {counter}");
        }
    }
    // Counter 0, then a press skipped (2 after 0): both within the window.
    assert_eq!(fd.login(T0, "bo@example.com", RFC4226[0]), 0);
    assert_eq!(fd.login(T0, "bo@example.com", RFC4226[2]), 0);
    // A spent code is a replay (exit 3), and so is one skipped over.
    assert_eq!(fd.login(T0, "bo@example.com", RFC4226[2]), 3);
    assert_eq!(fd.login(T0, "bo@example.com", RFC4226[1]), 3);
    // Eleven ahead of the expected counter (3) is outside the window of 10.
    let code = |c: u64| {
        let secret = factordesk::domain::exchange::hex_secret(SEED_HEX).unwrap();
        factordesk::domain::hotp::code_at(&secret, &factordesk::domain::oath::Params::DEFAULT, c)
    };
    assert_eq!(fd.login(T0, "bo@example.com", &code(14)), 3);
    // Resync from two codes in a row far ahead: the counter follows.
    let err = fd.run(
        T0,
        &[
            "factor",
            "resync",
            "bo@example.com",
            &id,
            &code(40),
            &code(42),
        ],
    );
    assert_eq!(err.code, 3, "{err:?}");
    let r = fd.ok(&[
        "factor",
        "resync",
        "bo@example.com",
        &id,
        &code(40),
        &code(41),
    ]);
    assert_eq!(r["oath"]["counter"], 42, "{r:#}");
    assert_eq!(
        fd.login(T0, "bo@example.com", &code(41)),
        3,
        "spent by the resync"
    );
    assert_eq!(fd.login(T0, "bo@example.com", &code(43)), 0);

    // A new token enrolled by the help desk, with a label and a counter.
    let e = fd.ok(&[
        "factor",
        "add-hotp",
        "ann@example.com",
        "--counter",
        "7",
        "--label",
        "YubiKey 5",
    ]);
    assert_eq!(
        (e["label"].as_str(), e["counter"].as_u64()),
        (Some("YubiKey 5"), Some(7))
    );
    let secret = base32::decode(
        base32::Alphabet::Rfc4648 { padding: false },
        e["secret"].as_str().unwrap(),
    )
    .unwrap();
    assert!(e["uri"].as_str().unwrap().starts_with("otpauth://hotp/"));
    let at = |c: u64| {
        factordesk::domain::hotp::code_at(&secret, &factordesk::domain::oath::Params::DEFAULT, c)
    };
    let fid = e["factor_id"].as_i64().unwrap().to_string();
    let f = fd.ok(&["factor", "confirm", "ann@example.com", &fid, &at(8)]);
    assert_eq!(
        (f["status"].as_str(), f["oath"]["counter"].as_u64()),
        (Some("active"), Some(9))
    );
    assert_eq!(fd.login(T0, "ann@example.com", &at(9)), 0);
}

#[test]
fn labels_are_chosen_on_every_add_and_shown() {
    let fd = Fd::new();
    two_users(&fd);
    let e = fd.ok(&[
        "factor",
        "add-totp",
        "ann@example.com",
        "--label",
        "  work   phone ",
    ]);
    assert_eq!(e["label"], "work phone");
    let e = fd.ok(&[
        "factor",
        "add-email",
        "ann@example.com",
        "--label",
        "personal mail",
    ]);
    assert_eq!(e["factor_id"], 2);
    fd.ok(&[
        "factor",
        "add-sms",
        "ann@example.com",
        "+14155550123",
        "--label",
        "desk phone",
    ]);
    let table = fd
        .run(T0, &["factor", "list", "ann@example.com"])
        .ok()
        .stdout;
    for label in ["work phone", "personal mail", "desk phone"] {
        assert!(table.contains(label), "{table}");
    }
    let show = fd.run(T0, &["user", "show", "ann@example.com"]).ok().stdout;
    assert!(show.contains("work phone"), "{show}");
    // The doctor names the pending factors by their labels.
    let doctor = fd.run(T0, &["doctor", "ann@example.com"]).stdout;
    assert!(doctor.contains("work phone"), "{doctor}");
    let long = "x".repeat(65);
    let err = fd
        .run(
            T0,
            &["factor", "add-totp", "bo@example.com", "--label", &long],
        )
        .error();
    assert!(err.contains("factor label"), "{err}");
    let err = fd
        .run(
            T0,
            &[
                "factor",
                "add-totp",
                "bo@example.com",
                "--label",
                "a\u{1b}[31m",
            ],
        )
        .error();
    assert!(err.contains("factor label"), "{err}");
    assert!(fd.factors("bo@example.com").is_empty());
}
