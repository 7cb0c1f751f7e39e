//! Secrets in and out, and hardware tokens, through the real binary: a
//! secrets import is all or nothing; exported secrets log in elsewhere with
//! the same codes, which agree with RFC vectors and `oathtool`.

#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod support;

use std::process::{Command, Stdio};

use serde_json::Value;

use support::T0;
use support::fd::Fd;

/// RFC 4226's seed, "12345678901234567890", in base32 and hex.
const SEED_B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
const SEED_HEX: &str = "3132333435363738393031323334353637383930";
/// RFC 4226 appendix D, counters 0 to 9.
const RFC4226: [&str; 10] = [
    "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
    "520489",
];

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

#[test]
fn secrets_import_refuses_bad_rows_and_changes_nothing() {
    let fd = Fd::new();
    fd.two_users();
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
        let err = fd.run(T0, &["import", "totp", &file]).error_line();
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
    let err = fd.run(T0, &["import", "totp", &file]).error_line();
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
        .quiet();
    assert!(dry.stdout.contains("Dry run"), "{dry:?}");
    assert!(fd.factors("ann@example.com").is_empty());
    fd.run(T0, &["import", "totp", &file, "--domain", "example.com"])
        .quiet();
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
    fd.two_users();
    let uris = format!(
        "otpauth://totp/ACME:ann@example.com?secret={SEED_B32}&issuer=ACME&algorithm=SHA256&digits=8&period=60\notpauth://totp/ACME:bo@example.com?secret={SEED_B32}&issuer=ACME\n"
    );
    fd.run(T0, &["import", "totp", &fd.write("in.txt", &uris)])
        .quiet();
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
            .error_line();
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
            .quiet();
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
        fresh.two_users();
        fresh
            .run(
                T0,
                &["import", "totp", &fd.path(&out).display().to_string()],
            )
            .quiet();
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
        .error_line();
    assert!(err.contains("already exists"), "{err}");
}

#[test]
fn hotp_tokens_enrol_log_in_within_the_window_and_resync() {
    let fd = Fd::new();
    fd.two_users();
    // A token from privacyIDEA's seed file, at counter 0, with the RFC seed.
    let file = fd.write(
        "tokens.csv",
        &format!("# version: 2\nbo@example.com,,,OATH0001,{SEED_HEX},hotp,6,0\n"),
    );
    fd.run(T0, &["import", "totp", &file]).quiet();
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
