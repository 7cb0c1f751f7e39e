//! End-to-end tests of the `factordesk` binary: whole support flows and bad
//! input, each in its own temporary directory with a fixed `--now` clock.
//!
//! Every run goes through [`exec`], which checks what must hold for any
//! command: no panic or backtrace in the output, an error is exactly one
//! `error: ...` line on stderr, and `--json` output parses as JSON.

// Test helpers unwrap like the tests do (`allow-unwrap-in-tests` covers only
// `#[test]` functions), and whole flows make long tests.
#![allow(clippy::unwrap_used, clippy::too_many_lines)]

mod support;

use std::path::Path;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use factordesk::domain::totp;
use serde_json::Value;

use support::cli::{Out, factordesk, run};
use support::{T0, now as t0};

const MINUTE: i64 = 60;
const DAY: i64 = 86_400;

/// `T0` plus `secs` seconds.
fn at(secs: i64) -> DateTime<Utc> {
    t0() + TimeDelta::seconds(secs)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn time_of(v: &Value) -> DateTime<Utc> {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("not a time string: {v}"));
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Run the binary with exactly `args` in `dir`, and check what must hold
/// for every command.
fn exec(dir: &Path, args: &[&str], stdin: Option<&str>) -> Out {
    let mut cmd = factordesk(dir);
    cmd.args(args);
    let out = run(cmd, stdin.map(str::as_bytes));
    match out.code {
        0 => assert!(out.stderr.is_empty(), "stderr on success: {args:?} {out:?}"),
        1 => assert!(
            !out.stderr.is_empty(),
            "an error without a message: {out:?}"
        ),
        2 => assert!(
            !out.stderr.is_empty(),
            "a usage error without a message: {out:?}"
        ),
        3 => {}
        other => panic!("unexpected exit code {other} for {args:?}: {out:?}"),
    }
    let json = args
        .iter()
        .take_while(|a| **a != "--")
        .any(|a| *a == "--json");
    if !out.stderr.is_empty() && json {
        // Under --json an error is one JSON object: error, kind, exit_code.
        let e: Value = serde_json::from_str(out.stderr.trim_end())
            .unwrap_or_else(|e| panic!("stderr is not one JSON object ({e}): {args:?} {out:?}"));
        assert!(e["error"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
        assert!(e["kind"].as_str().is_some_and(|k| !k.is_empty()), "{e}");
        assert_eq!(e["exit_code"], out.code, "{e}");
    } else if !out.stderr.is_empty() {
        assert!(
            out.stderr.starts_with("error: "),
            "stderr must start with `error: ` for {args:?}: {out:?}"
        );
    }
    if !out.stderr.is_empty() {
        assert_eq!(
            out.stderr.trim_end().lines().count(),
            1,
            "stderr must be one line for {args:?}: {out:?}"
        );
        assert!(out.stderr.ends_with('\n'), "{out:?}");
    }
    if args.contains(&"--json") && (out.code == 0 || !out.stdout.is_empty()) {
        out.json();
    }
    out
}

/// One test's database, in its own temporary directory: a file, or under
/// `FACTORDESK_TEST_ENGINE=postgres` a fresh `PostgreSQL` database whose key
/// file is in the directory. The shared `support::fd::Fd` underneath (its
/// directory, paths and `on_postgres`), run here at a `DateTime` and through
/// [`exec`]'s checks: these methods stand before its ones of the same name.
struct Fd {
    base: support::fd::Fd,
}

impl std::ops::Deref for Fd {
    type Target = support::fd::Fd;

    fn deref(&self) -> &support::fd::Fd {
        &self.base
    }
}

impl Fd {
    /// A fresh database made by `init` at `T0`.
    fn new() -> Fd {
        let fd = Fd::empty();
        let out = fd.run(t0(), &["init"]).ok();
        assert!(out.stdout.contains("mode 0600"), "{out:?}");
        fd
    }

    /// A directory with no database yet.
    fn empty() -> Fd {
        Fd {
            base: support::fd::Fd::empty(),
        }
    }

    /// `factordesk --db DB --now NOW ARGS...` (on `PostgreSQL`, `--db URL
    /// --key-file KEY`).
    fn run(&self, now: DateTime<Utc>, args: &[&str]) -> Out {
        self.exec(now, args, None)
    }

    /// The same, with `input` on stdin (passwords).
    fn run_stdin(&self, now: DateTime<Utc>, args: &[&str], input: &str) -> Out {
        self.exec(now, args, Some(input))
    }

    fn exec(&self, now: DateTime<Utc>, args: &[&str], input: Option<&str>) -> Out {
        let now = rfc3339(now);
        let db = self.db_args(args);
        let mut all: Vec<&str> = db.iter().map(String::as_str).collect();
        all.extend(["--now", &now]);
        all.extend_from_slice(args);
        exec(self.dir.path(), &all, input)
    }

    /// The same with `--json`: the exit code and the parsed output.
    fn json(&self, now: DateTime<Utc>, args: &[&str]) -> (i32, Value) {
        let mut all = args.to_vec();
        all.push("--json");
        let out = self.run(now, &all);
        assert!(
            out.code == 0 || out.code == 3,
            "expected a JSON answer: {args:?} {out:?}"
        );
        (out.code, out.json())
    }

    /// `--json`, expecting exit 0.
    fn ok(&self, now: DateTime<Utc>, args: &[&str]) -> Value {
        let (code, v) = self.json(now, args);
        assert_eq!(code, 0, "{args:?}: {v:#}");
        v
    }

    fn add_user(&self, now: DateTime<Utc>, email: &str, extra: &[&str]) -> Value {
        let mut args = vec!["user", "add", email];
        args.extend_from_slice(extra);
        self.ok(now, &args)
    }

    /// Enrol and confirm an authenticator app at `now` (the confirming code
    /// is from `now`'s step); returns the factor id and the secret.
    fn enrol_totp(&self, now: DateTime<Utc>, email: &str) -> (String, Vec<u8>) {
        let e = self.ok(now, &["factor", "add-totp", email]);
        let secret = base32::decode(
            base32::Alphabet::Rfc4648 { padding: false },
            e["secret"].as_str().unwrap(),
        )
        .expect("the secret is RFC 4648 base32 without padding");
        assert!(e["uri"].as_str().unwrap().starts_with("otpauth://totp/"));
        let id = e["factor_id"].as_i64().unwrap().to_string();
        let f = self.ok(
            now,
            &[
                "factor",
                "confirm",
                email,
                &id,
                &totp::code_at(&secret, now),
            ],
        );
        assert_eq!(f["status"], "active", "{f:#}");
        (id, secret)
    }

    /// `login start EMAIL --assume-password EXTRA...`
    fn start(&self, now: DateTime<Utc>, email: &str, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["login", "start", email, "--assume-password"];
        args.extend_from_slice(extra);
        self.json(now, &args)
    }

    /// A login start that must end in a challenge; returns its id.
    fn challenge(&self, now: DateTime<Utc>, email: &str) -> String {
        let (code, s) = self.start(now, email, &[]);
        assert_eq!(code, 0, "{s:#}");
        assert_eq!(s["decision"], "challenge", "{s:#}");
        s["challenge_id"].as_i64().unwrap().to_string()
    }

    fn verify(&self, now: DateTime<Utc>, challenge: &str, code: &str) -> (i32, Value) {
        self.json(now, &["login", "verify", challenge, code])
    }

    /// The newest message in a user's outbox.
    fn newest_message(&self, now: DateTime<Utc>, email: &str) -> Value {
        let list = self.ok(now, &["outbox", "--user", email, "--limit", "1"]);
        list[0].clone()
    }

    /// The 6-digit code in the newest message to `email`.
    fn outbox_code(&self, now: DateTime<Utc>, email: &str) -> String {
        let m = self.newest_message(now, email);
        six_digits(m["text"].as_str().unwrap())
    }

    fn audit_count(&self, now: DateTime<Utc>) -> usize {
        let list = self.ok(now, &["audit", "--limit", "10000"]);
        list.as_array().unwrap().len()
    }

    fn challenge_view(&self, now: DateTime<Utc>, challenge: &str) -> Value {
        self.ok(now, &["login", "show", challenge])
    }

    fn locked_emails(&self, now: DateTime<Utc>) -> Vec<String> {
        self.ok(now, &["user", "list", "--filter", "locked"])
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    }

    fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// The database file's bytes, to show nothing was written: on
    /// `PostgreSQL` there is no file (`None`), and the audit count shows it.
    fn db_bytes(&self) -> Option<Vec<u8>> {
        (!self.on_postgres()).then(|| self.bytes("fd.db"))
    }
}

fn six_digits(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap_or_else(|| panic!("no 6-digit code in {text:?}"))
        .to_owned()
}

/// A 6-digit code the authenticator shows at no step near `now`.
fn wrong_code(secret: &[u8], now: DateTime<Utc>) -> String {
    let near: Vec<String> = (-3..=3)
        .map(|k| totp::code_at(secret, now + TimeDelta::seconds(30 * k)))
        .collect();
    (0..1_000_000)
        .map(|n: u32| format!("{:06}", (n * 7_919 + 123_457) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

fn reasons(start: &Value) -> String {
    start["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------
// 1. Authenticator app: enrol, confirm, log in, and a replayed code.

#[test]
fn totp_enrol_confirm_login_and_replay_in_the_same_step() {
    let fd = Fd::new();
    let alice = "alice@example.com";
    fd.add_user(t0(), alice, &["--name", "Alice Example"]);
    let (factor, secret) = fd.enrol_totp(at(10), alice);

    // A login in a later 30 s step than the confirmation.
    let (code, s) = fd.start(at(60), alice, &[]);
    assert_eq!(code, 0);
    assert_eq!(s["decision"], "challenge", "{s:#}");
    assert_eq!(s["factor"]["kind"], "totp");
    assert_eq!(s["factor"]["id"].to_string(), factor);
    assert_eq!(s["attempts_left"], 5);
    let first = s["challenge_id"].as_i64().unwrap().to_string();
    let app_code = totp::code_at(&secret, at(65));
    let (code, v) = fd.verify(at(65), &first, &app_code);
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
    assert_eq!(v["used"], "totp");

    // A second login in the same step (60..89 s) with the same code.
    let second = fd.challenge(at(70), alice);
    assert_eq!(totp::code_at(&secret, at(80)), app_code, "same step");
    let (code, v) = fd.verify(at(80), &second, &app_code);
    assert_eq!((code, v["result"].as_str()), (3, Some("replayed")), "{v:#}");
    assert!(
        v["message"].as_str().unwrap().contains("already used"),
        "{v:#}"
    );
    let c = fd.challenge_view(at(81), &second);
    assert_eq!(c["attempts_left"], 4, "{c:#}");
    assert_eq!(c["state"], "open");

    // The next step's code completes the same challenge.
    let (code, v) = fd.verify(at(90), &second, &totp::code_at(&secret, at(90)));
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
    // A completed challenge cannot be used again.
    let out = fd.run(at(95), &["login", "verify", &second, "123456"]);
    assert!(out.error().contains("already completed"), "{out:?}");

    let factors = fd.ok(at(100), &["factor", "list", alice]);
    assert_eq!(factors[0]["last_used_at"], rfc3339(at(90)), "{factors:#}");
    let verifies = fd.ok(
        at(100),
        &["audit", "--kind", "login.verify", "--user", alice],
    );
    assert_eq!(verifies.as_array().unwrap().len(), 3, "{verifies:#}");
}

// ---------------------------------------------------------------------------
// 2. SMS: enrol with the outbox code, expiry, resend cooldown, replaced codes.

#[test]
fn sms_login_expiry_resend_cooldown_and_replaced_code() {
    let fd = Fd::new();
    let bob = "bob@example.com";
    fd.add_user(t0(), bob, &["--phone", "+14155550123"]);
    let profile = fd.ok(t0(), &["user", "show", bob]);
    assert_eq!(profile["profile"]["phone"], "+14155550123");
    assert_eq!(profile["profile"]["phone_verified"], false);

    let enrol = fd.ok(at(1), &["factor", "add-sms", bob, "+14155550123"]);
    assert_eq!(enrol["kind"], "sms");
    assert_eq!(enrol["delivery"]["status"], "delivered", "{enrol:#}");
    let factor = enrol["factor_id"].as_i64().unwrap().to_string();
    let code = fd.outbox_code(at(5), bob);
    let confirmed = fd.ok(at(20), &["factor", "confirm", bob, &factor, &code]);
    assert_eq!(confirmed["status"], "active");
    let profile = fd.ok(at(21), &["user", "show", bob]);
    assert_eq!(profile["profile"]["phone_verified"], true);

    // A code verified at exactly its expiry (5 minutes) is expired.
    let (code, s) = fd.start(at(100), bob, &[]);
    assert_eq!((code, s["decision"].as_str()), (0, Some("challenge")));
    assert_eq!(s["factor"]["kind"], "sms");
    assert_eq!(time_of(&s["expires_at"]), at(100 + 5 * MINUTE));
    let first = s["challenge_id"].as_i64().unwrap().to_string();
    let msg = fd.newest_message(at(100), bob);
    assert_eq!(msg["valid_now"], true, "{msg:#}");
    assert!(
        msg["text"].as_str().unwrap().contains("sign-in code"),
        "{msg:#}"
    );
    let code1 = six_digits(msg["text"].as_str().unwrap());
    let (code, v) = fd.verify(at(100 + 5 * MINUTE), &first, &code1);
    assert_eq!((code, v["result"].as_str()), (3, Some("expired")), "{v:#}");
    assert_eq!(fd.challenge_view(at(400), &first)["expired"], true);
    // After expiry, "Request another code" sends a fresh one that works.
    let (code, r) = fd.json(at(401), &["login", "resend", &first]);
    assert_eq!((code, r["result"].as_str()), (0, Some("sent")), "{r:#}");
    assert_eq!(time_of(&r["expires_at"]), at(401 + 5 * MINUTE));
    let fresh = fd.outbox_code(at(401), bob);
    let (code, v) = fd.verify(at(402), &first, &fresh);
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");

    // "Request another code" at once: 30 s cooldown, then a new code.
    let (code, s) = fd.start(at(1_000), bob, &[]);
    assert_eq!(code, 0);
    let second = s["challenge_id"].as_i64().unwrap().to_string();
    let code2 = fd.outbox_code(at(1_000), bob);
    let (code, r) = fd.json(at(1_000), &["login", "resend", &second]);
    assert_eq!((code, r["result"].as_str()), (3, Some("cooldown")), "{r:#}");
    assert_eq!(r["retry_after_s"], 30);
    let (code, r) = fd.json(at(1_029), &["login", "resend", &second]);
    assert_eq!((code, r["result"].as_str()), (3, Some("cooldown")), "{r:#}");
    assert_eq!(r["retry_after_s"], 1);
    let (code, r) = fd.json(at(1_030), &["login", "resend", &second]);
    assert_eq!((code, r["result"].as_str()), (0, Some("sent")), "{r:#}");
    assert_eq!(r["same_code"], false);
    assert_eq!(r["resends_left"], 2);
    let code3 = fd.outbox_code(at(1_030), bob);
    assert_ne!(code2, code3, "a new code replaces the old one");
    let outbox = fd.ok(at(1_030), &["outbox", "--user", bob, "--limit", "2"]);
    assert_eq!(outbox[0]["valid_now"], true, "{outbox:#}");
    assert_eq!(outbox[1]["valid_now"], false, "{outbox:#}");

    let (code, v) = fd.verify(at(1_031), &second, &code2);
    assert_eq!((code, v["result"].as_str()), (3, Some("invalid")), "{v:#}");
    assert!(v["message"].as_str().unwrap().contains("replaced"), "{v:#}");
    let (code, v) = fd.verify(at(1_032), &second, &code3);
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
    assert_eq!(v["used"], "sms");
}

// ---------------------------------------------------------------------------
// 3. Backup codes: each works once; the export never overwrites.

#[test]
fn backup_code_used_twice_is_replayed_and_status_says_when() {
    let fd = Fd::new();
    let carol = "carol@example.com";
    fd.add_user(t0(), carol, &[]);
    fd.enrol_totp(at(10), carol);
    let g = fd.ok(at(20), &["codes", "generate", carol]);
    let codes: Vec<String> = g["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);

    let c1 = fd.challenge(at(60), carol);
    let (code, v) = fd.verify(at(61), &c1, &codes[2]);
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
    assert_eq!(v["used"], "backup");
    assert_eq!(v["backup_codes_left"], 9);

    let c2 = fd.challenge(at(120), carol);
    let (code, v) = fd.verify(at(121), &c2, &codes[2]);
    assert_eq!((code, v["result"].as_str()), (3, Some("replayed")), "{v:#}");
    assert!(
        v["message"].as_str().unwrap().contains("already used"),
        "{v:#}"
    );

    let s = fd.ok(at(130), &["codes", "status", carol]);
    assert_eq!(s["remaining"], 9, "{s:#}");
    assert_eq!(s["total"], 10);
    for c in s["codes"].as_array().unwrap() {
        if c["position"] == 3 {
            assert_eq!(time_of(&c["used_at"]), at(61), "{s:#}");
        } else {
            assert!(c["used_at"].is_null(), "{s:#}");
        }
    }
}

#[test]
fn codes_export_is_private_and_never_overwrites() {
    let fd = Fd::new();
    let carol = "carol@example.com";
    fd.add_user(t0(), carol, &[]);
    fd.enrol_totp(at(10), carol);
    let old = fd.ok(at(20), &["codes", "generate", carol])["codes"].clone();

    let file = fd.path("codes.txt");
    let file_arg = file.display().to_string();
    let g = fd.ok(at(30), &["codes", "generate", carol, "--out", &file_arg]);
    let codes: Vec<String> = g["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let text = std::fs::read_to_string(&file).unwrap();
    for c in &codes {
        assert!(text.contains(c.as_str()), "{c} missing from {text}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The batch before is dead.
    let c = fd.challenge(at(60), carol);
    let (code, v) = fd.verify(at(61), &c, old[0].as_str().unwrap());
    assert_eq!((code, v["result"].as_str()), (3, Some("invalid")), "{v:#}");

    // Refused over an existing file: nothing changes, the codes still work.
    let before = std::fs::read(&file).unwrap();
    let audit = fd.audit_count(at(70));
    let out = fd.run(at(70), &["codes", "generate", carol, "--out", &file_arg]);
    assert!(out.error().contains("already exists"), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
    assert_eq!(fd.audit_count(at(71)), audit);
    assert_eq!(fd.ok(at(71), &["codes", "status", carol])["remaining"], 10);

    // Refused where the file cannot be made: the same.
    let nowhere = fd.path("no/such/dir/codes.txt").display().to_string();
    let out = fd.run(at(80), &["codes", "generate", carol, "--out", &nowhere]);
    assert!(out.error().contains("codes.txt"), "{out:?}");
    assert_eq!(fd.audit_count(at(81)), audit);
    assert_eq!(fd.ok(at(81), &["codes", "status", carol])["remaining"], 10);

    // Refused for an unknown user: no file is left behind.
    let fresh = fd.path("fresh.txt").display().to_string();
    let out = fd.run(
        at(90),
        &["codes", "generate", "ghost@example.com", "--out", &fresh],
    );
    assert!(out.error().contains("ghost@example.com"), "{out:?}");
    assert!(!fd.path("fresh.txt").exists());

    let c = fd.challenge(at(120), carol);
    let (code, v) = fd.verify(at(121), &c, &codes[0]);
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
    assert_eq!(v["backup_codes_left"], 9);
}

// ---------------------------------------------------------------------------
// 4. Remember this computer: 14 days from the same address.

#[test]
fn remembered_device_skips_the_code_until_trust_expires() {
    let fd = Fd::new();
    let dave = "dave@example.com";
    let ip = "203.0.113.9";
    fd.add_user(t0(), dave, &[]);
    let (_, secret) = fd.enrol_totp(at(10), dave);

    let (code, s) = fd.start(at(60), dave, &["--ip", ip]);
    assert_eq!((code, s["decision"].as_str()), (0, Some("challenge")));
    let c = s["challenge_id"].as_i64().unwrap().to_string();
    let app = totp::code_at(&secret, at(65));
    let (code, v) = fd.json(
        at(65),
        &[
            "login",
            "verify",
            &c,
            &app,
            "--remember",
            "--device-label",
            "Firefox on Linux",
        ],
    );
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
    let token = v["device_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("dev_"), "{token}");
    assert_eq!(time_of(&v["trusted_until"]), at(65 + 14 * DAY));
    let devices = fd.ok(at(66), &["device", "list", dave]);
    assert_eq!(devices[0]["label"], "Firefox on Linux", "{devices:#}");
    assert_eq!(devices[0]["state"], "trusted");

    // The same token from another address is challenged.
    let (code, s) = fd.start(at(DAY), dave, &["--device", &token, "--ip", "198.51.100.7"]);
    assert_eq!((code, s["decision"].as_str()), (0, Some("challenge")));
    assert!(reasons(&s).contains("new IP"), "{s:#}");

    // 13 days on, same address: in without a code.
    let (code, s) = fd.start(at(13 * DAY), dave, &["--device", &token, "--ip", ip]);
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("allowed")),
        "{s:#}"
    );
    assert!(s["challenge_id"].is_null(), "{s:#}");
    assert!(reasons(&s).contains("Trusted device"), "{s:#}");

    // 15 days on: trust has run out.
    let (code, s) = fd.start(at(15 * DAY), dave, &["--device", &token, "--ip", ip]);
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("challenge")),
        "{s:#}"
    );
    assert!(reasons(&s).contains("expired"), "{s:#}");
    assert!(!s["challenge_id"].is_null());

    // A revoked device says so.
    let r = fd.ok(
        at(15 * DAY + 1),
        &["device", "revoke", dave, "--all", "--reason", "laptop lost"],
    );
    assert_eq!(r["revoked"], 1, "{r:#}");
    let (_, s) = fd.start(at(15 * DAY + 2), dave, &["--device", &token, "--ip", ip]);
    assert_eq!(s["decision"], "challenge");
    assert!(reasons(&s).contains("revoked"), "{s:#}");
}

// ---------------------------------------------------------------------------
// 5. Lockout: ten wrong codes lock 2FA; it releases after 15 minutes or at
// an admin's unlock.

/// Ten wrong codes over two challenges of five, from `start` on; returns
/// when the tenth (the locking one) was entered.
fn lock_out(fd: &Fd, email: &str, secret: &[u8], start: i64) -> i64 {
    let mut t = start;
    for round in 0..2 {
        let c = fd.challenge(at(t), email);
        for i in 1..=5 {
            t += 1;
            let (code, v) = fd.verify(at(t), &c, &wrong_code(secret, at(t)));
            assert_eq!(code, 3, "{v:#}");
            assert_eq!(v["attempts_left"], 5 - i, "{v:#}");
            if round == 1 && i == 5 {
                assert_eq!(v["result"], "locked", "the 10th wrong code locks: {v:#}");
                assert_eq!(time_of(&v["locked_until"]), at(t + 15 * MINUTE));
            } else {
                assert_eq!(v["result"], "invalid", "round {round} try {i}: {v:#}");
                assert!(v["locked_until"].is_null());
            }
        }
        if round == 0 {
            let c = fd.challenge_view(at(t), &c);
            assert_eq!(c["state"], "failed", "{c:#}");
            assert!(fd.locked_emails(at(t)).is_empty());
        }
        t += 1;
    }
    t - 1
}

#[test]
fn ten_wrong_codes_lock_until_fifteen_minutes_pass_or_an_admin_unlocks() {
    let fd = Fd::new();
    let erin = "erin@example.com";
    fd.add_user(t0(), erin, &[]);
    fd.add_user(t0(), "frank@example.com", &[]);
    let (_, secret) = fd.enrol_totp(at(10), erin);

    let locked_at = lock_out(&fd, erin, &secret, 100);
    let (code, s) = fd.start(at(locked_at + 1), erin, &[]);
    assert_eq!((code, s["decision"].as_str()), (3, Some("denied")), "{s:#}");
    assert!(reasons(&s).contains("locked"), "{s:#}");
    assert!(s["challenge_id"].is_null());
    assert_eq!(fd.locked_emails(at(locked_at + 1)), vec![erin.to_owned()]);
    let u = fd.ok(at(locked_at + 1), &["user", "show", erin]);
    assert_eq!(u["lock"]["locked"], true, "{u:#}");

    // One second before the release: still locked.
    let release = locked_at + 15 * MINUTE;
    let (code, _) = fd.start(at(release - 1), erin, &[]);
    assert_eq!(code, 3);
    assert_eq!(fd.locked_emails(at(release - 1)).len(), 1);
    // At the release: challenged again, and not listed as locked.
    let (code, s) = fd.start(at(release), erin, &[]);
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("challenge")),
        "{s:#}"
    );
    assert!(fd.locked_emails(at(release)).is_empty());

    // Lock again; an admin's unlock clears it at once.
    let locked_at = lock_out(&fd, erin, &secret, release + 10 * MINUTE);
    assert_eq!(fd.locked_emails(at(locked_at + 1)).len(), 1);
    let u = fd.ok(
        at(locked_at + 2),
        &["user", "unlock", erin, "--reason", "verified by phone"],
    );
    assert!(u["locked_until"].is_null(), "{u:#}");
    assert!(fd.locked_emails(at(locked_at + 3)).is_empty());
    let c = fd.challenge(at(locked_at + 3), erin);
    let (code, v) = fd.verify(
        at(locked_at + 4),
        &c,
        &totp::code_at(&secret, at(locked_at + 4)),
    );
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
    let unlocks = fd.ok(at(locked_at + 5), &["audit", "--kind", "user.unlock"]);
    assert!(
        unlocks[0]["detail"]
            .as_str()
            .unwrap()
            .contains("verified by phone"),
        "{unlocks:#}"
    );
}

// ---------------------------------------------------------------------------
// 6. The demo database: deterministic, and never over someone's data.

#[test]
fn demo_is_deterministic_for_a_seed_and_now() {
    let fd = Fd::empty();
    let now = rfc3339(t0());
    let run = |db: &str, args: &[&str]| {
        let mut all = vec!["--db", db, "--now", now.as_str()];
        all.extend_from_slice(args);
        exec(fd.dir.path(), &all, None)
    };
    for db in ["a.db", "b.db"] {
        let out = run(db, &["demo", "--seed", "1", "--no-open"]).ok();
        assert!(out.stdout.contains("Demo database"), "{out:?}");
    }
    let users = |db: &str| {
        run(db, &["user", "list", "--limit", "1000", "--json"])
            .ok()
            .json()
    };
    let a = users("a.db");
    assert!(a.as_array().unwrap().len() > 10, "{a:#}");
    assert_eq!(a, users("b.db"));
    let texts = |db: &str| -> Vec<Value> {
        run(db, &["outbox", "--limit", "1000", "--json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].clone())
            .collect()
    };
    let a = texts("a.db");
    assert!(!a.is_empty());
    assert!(
        !a.iter()
            .any(|t| t.as_str().unwrap().contains("sealed with another key"))
    );
    assert_eq!(a, texts("b.db"));
    // The keys differ: a seed makes the data reproducible, never the key.
    assert_ne!(fd.bytes("a.db.key"), fd.bytes("b.db.key"));

    // A demo database can be made again in place.
    let out = run("a.db", &["demo", "--seed", "1", "--no-open", "--json"]).ok();
    assert_eq!(out.json()["users"], users("b.db").as_array().unwrap().len());
    assert_eq!(texts("a.db"), texts("b.db"));
}

#[test]
fn demo_users_generates_a_crowd_with_history_deterministically() {
    let fd = Fd::empty();
    let now = rfc3339(t0());
    let run = |db: &str, args: &[&str]| {
        let mut all = vec!["--db", db, "--now", now.as_str()];
        all.extend_from_slice(args);
        exec(fd.dir.path(), &all, None)
    };
    for db in ["a.db", "b.db"] {
        let out = run(db, &["demo", "--users", "150", "--seed", "7", "--no-open"]).ok();
        assert!(out.stdout.contains("162 users"), "{out:?}");
        // Not a terminal: no progress bar, nothing on stderr.
        assert!(out.stderr.is_empty(), "{out:?}");
    }
    let trail = |db: &str| -> Vec<Value> {
        let events = run(db, &["audit", "--limit", "10000", "--json"])
            .ok()
            .json();
        events
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let mut e = e.clone();
                // Device tokens and codes differ with the key, and when
                // each event was really written with the run; the times
                // the events claim, and what happened, do not.
                let e_obj = e.as_object_mut().unwrap();
                e_obj.remove("id");
                assert!(e_obj.remove("written_at").unwrap().is_string());
                e
            })
            .collect()
    };
    let a = trail("a.db");
    assert_eq!(a, trail("b.db"));
    the_kept_figures_match_a_recount(&fd.path("a.db"));
    // About ten events a person, over the last 90 days.
    assert!((1000..2500).contains(&a.len()), "{} events", a.len());
    let kinds = |k: &str| a.iter().filter(|e| e["kind"] == k).count();
    assert!(kinds("login.challenge") > 150, "logins");
    assert!(kinds("factor.confirm") > 100, "factors");
    assert!(kinds("codes.generate") > 80, "backup codes");
    let users = run("a.db", &["user", "list", "--limit", "1000", "--json"])
        .ok()
        .json();
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 162);
    let without = users
        .iter()
        .filter(|u| u["factor_kinds"].as_array().unwrap().is_empty())
        .count();
    assert!((5..50).contains(&without), "{without} without a factor");
    // A generated person can log in with the demo password.
    let person = users
        .iter()
        .find(|u| u["email"].as_str().unwrap().ends_with("@example.org"))
        .unwrap()["email"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = exec(
        fd.dir.path(),
        &[
            "--db",
            "a.db",
            "--now",
            &now,
            "login",
            "start",
            &person,
            "--password-stdin",
        ],
        Some("correct horse battery staple\n"),
    );
    assert!(matches!(out.code, 0 | 3), "{out:?}");
    assert!(!out.stdout.contains("wrong password"), "{out:?}");
}

/// What the schema keeps up to date as it goes (per-user code totals, the
/// overview's counters, the search index, the chain head) equals a count
/// from the rows themselves, after a generator run played every use case.
fn the_kept_figures_match_a_recount(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        one("SELECT count(*) FROM users u WHERE codes_total IS NOT
                 (SELECT count(*) FROM backup_codes WHERE user_id = u.id)
             OR codes_left IS NOT
                 (SELECT count(*) FROM backup_codes WHERE user_id = u.id AND used_at IS NULL)"),
        0,
        "users whose code totals are off"
    );
    assert!(one("SELECT count(*) FROM backup_codes WHERE used_at IS NOT NULL") > 0);
    let counter = |name: &str| -> i64 {
        conn.query_row(
            "SELECT coalesce(sum(value), 0) FROM counters WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(counter("users"), one("SELECT count(*) FROM users"));
    assert_eq!(
        counter("users_without_factor"),
        one("SELECT count(*) FROM users WHERE active_factors = 0")
    );
    for left in 0..=10 {
        assert_eq!(
            counter(&format!("codes_left_{left}")),
            one(&format!(
                "SELECT count(*) FROM users WHERE codes_total > 0 AND codes_left = {left}"
            )),
            "codes_left_{left}"
        );
    }
    let events = one("SELECT count(*) FROM audit");
    assert_eq!(one("SELECT events FROM audit_head"), events);
    // The search index holds every user (built once at the batch's end).
    conn.execute_batch(
        "INSERT INTO users_fts (users_fts, rank) VALUES ('integrity-check', 1);
         INSERT INTO users_words (users_words, rank) VALUES ('integrity-check', 1);",
    )
    .unwrap();
    assert_eq!(
        one("SELECT count(*) FROM users_words WHERE users_words MATCH 'example*'"),
        one("SELECT count(*) FROM users")
    );
    // So do the search keys: every user under "ex" (example.org, .com),
    // and each trigram's count is how many users have it.
    assert_eq!(
        one("SELECT count(*) FROM users_search_starts WHERE start = 'ex'"),
        one("SELECT count(*) FROM users")
    );
    assert_eq!(
        one(
            "SELECT count(*) FROM users_search_counts AS c WHERE users IS NOT
                 (SELECT count(*) FROM users_search_trigrams WHERE gram = c.gram)"
        ),
        0,
        "trigram counts that are off"
    );
    assert_eq!(
        one("SELECT count(DISTINCT gram) FROM users_search_trigrams"),
        one("SELECT count(*) FROM users_search_counts")
    );
}

#[test]
fn demo_users_must_be_a_sensible_number() {
    let fd = Fd::empty();
    for bad in ["-5", "0", "abc", "10000001", "1e5", ""] {
        let out = exec(
            fd.dir.path(),
            &["--db", "x.db", "demo", "--users", bad, "--no-open"],
            None,
        );
        assert_eq!(out.code, 2, "{bad}: {out:?}");
        assert!(out.stderr.contains("1 to 10000000"), "{bad}: {out:?}");
        assert_eq!(out.stderr.trim_end().lines().count(), 1, "{out:?}");
    }
    assert!(!fd.path("x.db").exists(), "nothing made");
}

#[test]
fn demo_refuses_a_database_that_is_not_a_demo() {
    let fd = Fd::new();
    fd.add_user(t0(), "keep@example.com", &[]);
    let audit = fd.audit_count(at(9));
    let db = fd.db_bytes();
    let key = fd.bytes("fd.db.key");
    let out = fd.run(at(10), &["demo", "--seed", "1", "--no-open"]);
    let err = out.error();
    assert!(err.contains("not a demo"), "{err}");
    assert!(err.contains("left untouched"), "{err}");
    assert_eq!(fd.db_bytes(), db);
    assert_eq!(fd.bytes("fd.db.key"), key);
    let users = fd.ok(at(11), &["user", "list"]);
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(fd.audit_count(at(12)), audit);

    // Nor over a file that is not a database at all.
    let junk = fd.path("junk.db");
    std::fs::write(&junk, "my notes, not a database\n".repeat(50)).unwrap();
    let before = fd.bytes("junk.db");
    let junk_arg = junk.display().to_string();
    let out = exec(
        fd.dir.path(),
        &["--db", &junk_arg, "--now", T0, "demo", "--no-open"],
        None,
    );
    assert!(out.error().contains("not a factordesk database"), "{out:?}");
    assert_eq!(fd.bytes("junk.db"), before);
}

// ---------------------------------------------------------------------------
// 7. Bad input: answered clearly, with nothing changed.

#[test]
fn unknown_user_says_how_to_find_users() {
    let fd = Fd::new();
    fd.add_user(t0(), "real@example.com", &[]);
    let audit = fd.audit_count(at(1));
    let db = fd.db_bytes();
    for args in [
        &["user", "show", "ghost@example.com"][..],
        &["user", "edit", "ghost@example.com", "--name", "Ghost"],
        &["user", "disable", "ghost@example.com", "--reason", "left"],
        &["factor", "add-totp", "ghost@example.com"],
        &["codes", "generate", "ghost@example.com"],
        &["login", "start", "ghost@example.com", "--assume-password"],
        &["outbox", "--user", "ghost@example.com"],
    ] {
        let out = fd.run(at(2), args);
        let err = out.error();
        assert!(err.contains("ghost@example.com"), "{args:?}: {err}");
        assert!(
            err.contains("factordesk user list --search"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(fd.audit_count(at(3)), audit);
    assert_eq!(fd.db_bytes(), db);
}

#[test]
fn duplicate_and_malformed_contacts_are_refused_with_the_accepted_form() {
    let fd = Fd::new();
    fd.add_user(t0(), "alice@example.com", &[]);
    let audit = fd.audit_count(at(1));

    for dup in [
        "alice@example.com",
        "ALICE@Example.COM",
        " Alice@example.com ",
    ] {
        let out = fd.run(at(2), &["user", "add", dup]);
        let err = out.error();
        assert!(err.contains("already exists"), "{dup}: {err}");
    }
    let out = fd.run(at(2), &["user", "add", "not-an-email"]);
    let err = out.error();
    assert!(err.contains("not-an-email"), "{err}");
    assert!(err.contains("name@example.com"), "{err}");
    for phone in ["555-0123", "+1415555012", "+1-415-555-0123x9", "phone"] {
        let out = fd.run(at(2), &["user", "add", "new@example.com", "--phone", phone]);
        let err = out.error();
        assert!(err.contains("E.164"), "{phone}: {err}");
        assert!(err.contains("+14155550123"), "{phone}: {err}");
        let out = fd.run(at(2), &["factor", "add-sms", "alice@example.com", phone]);
        assert!(out.error().contains("+14155550123"), "{phone}: {out:?}");
    }
    let out = fd.run(at(2), &["factor", "add-email", "alice@example.com", "a@b"]);
    assert!(out.error().contains("name@example.com"), "{out:?}");

    assert_eq!(fd.audit_count(at(3)), audit);
    let users = fd.ok(at(3), &["user", "list"]);
    assert_eq!(users.as_array().unwrap().len(), 1, "{users:#}");
    assert!(
        fd.ok(at(3), &["factor", "list", "alice@example.com"])
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn malformed_codes_and_unknown_challenges_cost_no_attempt() {
    let fd = Fd::new();
    let alice = "alice@example.com";
    fd.add_user(t0(), alice, &[]);
    let (factor, secret) = fd.enrol_totp(at(10), alice);
    let c = fd.challenge(at(60), alice);
    let audit = fd.audit_count(at(61));

    for bad in ["12345", "1234567", "12a456", "abcdef", ""] {
        let out = fd.run(at(62), &["login", "verify", &c, bad]);
        let err = out.error();
        assert!(err.contains("not a code"), "{bad:?}: {err}");
        assert!(err.contains("6 digits"), "{bad:?}: {err}");
        let v = fd.challenge_view(at(62), &c);
        assert_eq!(v["attempts_left"], 5, "{bad:?}: {v:#}");
    }
    let out = fd.run(at(62), &["factor", "confirm", alice, &factor, "12345"]);
    assert!(out.error().contains("6 digits"), "{out:?}");
    assert_eq!(
        fd.ok(at(62), &["user", "show", alice])["lock"]["failures"],
        0
    );

    for args in [
        &["login", "verify", "9999", "123456"][..],
        &["login", "resend", "9999"],
        &["login", "show", "9999"],
    ] {
        let out = fd.run(at(63), args);
        let err = out.error();
        assert!(err.contains("no challenge 9999"), "{args:?}: {err}");
        assert!(err.contains("login start"), "{args:?}: {err}");
    }
    assert_eq!(fd.audit_count(at(64)), audit);

    // The challenge still works with the right code.
    let (code, v) = fd.verify(at(65), &c, &totp::code_at(&secret, at(65)));
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
}

#[test]
fn foreign_and_newer_databases_are_refused_untouched() {
    let fd = Fd::empty();
    if fd.on_postgres() {
        return; // SQLite only: files that are not databases (PostgreSQL's: tests/engines/command_line.rs)
    }
    let garbage = fd.path("garbage.db");
    std::fs::write(&garbage, b"\x00\x01 not sqlite at all \xff".repeat(200)).unwrap();
    let before = fd.bytes("garbage.db");
    let g = garbage.display().to_string();
    for args in [&["user", "list"][..], &["init"], &["audit", "--json"]] {
        let mut all = vec!["--db", g.as_str(), "--now", T0];
        all.extend_from_slice(args);
        let out = exec(fd.dir.path(), &all, None);
        let err = out.error();
        if args == ["init"] {
            assert!(err.contains("already exists"), "{err}");
        } else {
            assert!(err.contains("is not a factordesk database"), "{err}");
            assert!(err.contains("untouched"), "{err}");
        }
        assert_eq!(fd.bytes("garbage.db"), before);
    }
    assert!(!fd.path("garbage.db-wal").exists());
    assert!(!fd.path("garbage.db.key").exists());

    // Another application's SQLite file.
    let other = fd.path("other.db");
    let conn = rusqlite::Connection::open(&other).unwrap();
    conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
        .unwrap();
    drop(conn);
    let before = fd.bytes("other.db");
    let o = other.display().to_string();
    let out = exec(
        fd.dir.path(),
        &["--db", &o, "--now", T0, "user", "list"],
        None,
    );
    assert!(
        out.error().contains("is not a factordesk database"),
        "{out:?}"
    );
    assert_eq!(fd.bytes("other.db"), before);

    // A factordesk database from a newer version.
    let fd = Fd::new();
    fd.add_user(t0(), "alice@example.com", &[]);
    let conn = rusqlite::Connection::open(fd.db()).unwrap();
    conn.pragma_update(None, "user_version", factordesk::store::latest() + 1)
        .unwrap();
    drop(conn);
    let before = fd.bytes("fd.db");
    for args in [
        &["user", "list"][..],
        &["user", "add", "bob@example.com"],
        &["demo", "--no-open"],
    ] {
        let out = fd.run(at(10), args);
        let err = out.error();
        assert!(err.contains("newer"), "{args:?}: {err}");
        assert!(err.contains("upgrade factordesk"), "{args:?}: {err}");
        assert_eq!(fd.bytes("fd.db"), before, "{args:?}");
        // Nothing beside it either: no -wal or -shm from a refused open.
        assert!(!fd.path("fd.db-wal").exists(), "{args:?}");
        assert!(!fd.path("fd.db-shm").exists(), "{args:?}");
    }

    // A damaged version marker: one sentence, not the whole schema.
    let conn = rusqlite::Connection::open(fd.db()).unwrap();
    conn.pragma_update(None, "user_version", 0).unwrap();
    drop(conn);
    let before = fd.bytes("fd.db");
    let out = fd.run(at(11), &["user", "list"]);
    let err = out.error();
    assert!(err.contains("restore it from a backup"), "{err}");
    assert!(!err.contains('\n'), "one line: {err}");
    assert_eq!(fd.bytes("fd.db"), before);

    // A directory where the database should be.
    let dir = fd.path("").display().to_string();
    let out = exec(
        fd.dir.path(),
        &["--db", &dir, "--now", T0, "user", "list"],
        None,
    );
    assert!(
        out.error()
            .contains("is a directory: pass --db with the database file"),
        "{out:?}"
    );
}

#[test]
fn missing_or_wrong_key_file_names_the_flag() {
    let fd = Fd::new();
    if fd.on_postgres() {
        return; // SQLite only: the key file beside the database
    }
    fd.add_user(t0(), "alice@example.com", &[]);
    let key = fd.key();
    let moved = fd.path("elsewhere.key");
    std::fs::rename(&key, &moved).unwrap();
    let db = fd.bytes("fd.db");
    let out = fd.run(at(1), &["user", "list"]);
    let err = out.error();
    assert!(err.contains("--key-file"), "{err}");
    assert!(err.contains("fd.db.key"), "{err}");
    assert_eq!(fd.bytes("fd.db"), db);
    assert!(!key.exists(), "no new key is made behind the user's back");
    assert!(!fd.path("fd.db-wal").exists() && !fd.path("fd.db-shm").exists());

    // --key-file pointing at it works.
    let m = moved.display().to_string();
    let users = fd.ok(at(2), &["--key-file", &m, "user", "list"]);
    assert_eq!(users.as_array().unwrap().len(), 1);

    // Another database's key is refused.
    let other = Fd::new();
    let other_key = other.key().display().to_string();
    let out = fd.run(at(3), &["--key-file", &other_key, "user", "list"]);
    assert!(out.error().contains("does not match"), "{out:?}");
    // A file that is not a key.
    std::fs::write(fd.path("bad.key"), "hello\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(fd.path("bad.key"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
    let bad = fd.path("bad.key").display().to_string();
    let out = fd.run(at(4), &["--key-file", &bad, "user", "list"]);
    assert!(out.error().contains("not a factordesk key file"), "{out:?}");
}

#[test]
fn init_where_nothing_can_be_made_leaves_nothing() {
    let fd = Fd::empty();
    if fd.on_postgres() {
        return; // SQLite only: folders and files
    }
    let missing = fd.path("no/such/dir/fd.db");
    let m = missing.display().to_string();
    let out = exec(fd.dir.path(), &["--db", &m, "--now", T0, "init"], None);
    let err = out.error();
    assert!(err.contains("choose a writable"), "{err}");
    assert!(!fd.path("no").exists());

    // A "directory" that is a file.
    std::fs::write(fd.path("plain"), "x").unwrap();
    let under_file = fd.path("plain/fd.db").display().to_string();
    let out = exec(
        fd.dir.path(),
        &["--db", &under_file, "--now", T0, "init"],
        None,
    );
    assert!(out.error().contains("choose a writable"), "{out:?}");

    // A directory without write permission (meaningless for root, who may
    // write anywhere: then only the cases above apply).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let ro = fd.path("ro");
        std::fs::create_dir(&ro).unwrap();
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
        if std::fs::write(ro.join("probe"), "x").is_err() {
            let db = ro.join("fd.db").display().to_string();
            let out = exec(fd.dir.path(), &["--db", &db, "--now", T0, "init"], None);
            assert!(out.error().contains("choose a writable"), "{out:?}");
            assert_eq!(std::fs::read_dir(&ro).unwrap().count(), 0);
        }
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::remove_dir_all(&ro).unwrap();
    }

    // The database could be made but the key file cannot: neither is left.
    let db = fd.path("fd.db").display().to_string();
    let key = fd.path("no/such/dir/fd.key").display().to_string();
    let out = exec(
        fd.dir.path(),
        &["--db", &db, "--key-file", &key, "--now", T0, "init"],
        None,
    );
    assert!(out.error().contains("choose a writable"), "{out:?}");
    assert!(!fd.path("fd.db").exists());
    assert!(!fd.path("fd.db-wal").exists());
    assert!(!fd.path("fd.db-shm").exists());

    let mut left: Vec<_> = std::fs::read_dir(fd.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, vec!["plain".to_owned()]);

    // init over an existing database is refused.
    let fd = Fd::new();
    let before = fd.bytes("fd.db");
    let out = fd.run(at(5), &["init"]);
    assert!(out.error().contains("already exists"), "{out:?}");
    assert_eq!(fd.bytes("fd.db"), before);
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let fd = Fd::new();
    if fd.on_postgres() {
        return; // SQLite only: the file's bytes
    }
    let db = fd.db().display().to_string();
    let before = fd.bytes("fd.db");
    for args in [
        &["--db", db.as_str(), "--now", "garbage", "user", "list"][..],
        &["--db", &db, "--now", "2026-13-45T99:00:00Z", "user", "list"],
        &["--db", &db, "--now", T0, "user", "add"],
        &["--db", &db, "--now", T0, "user", "disable", "a@example.com"],
        &[
            "--db",
            &db,
            "--now",
            T0,
            "factor",
            "confirm",
            "a@example.com",
            "x",
            "123456",
        ],
        &["--db", &db, "--now", T0, "login", "start", "a@example.com"],
        &[
            "--db", &db, "--now", T0, "user", "list", "--filter", "sleepy",
        ],
        &["--db", &db, "--now", T0, "user", "frobnicate"],
    ] {
        let out = exec(fd.dir.path(), args, None);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}: {out:?}");
    }
    let out = exec(
        fd.dir.path(),
        &["--db", &db, "--now", "garbage", "user", "list"],
        None,
    );
    assert!(out.stderr.contains("RFC 3339"), "{out:?}");
    let out = exec(fd.dir.path(), &["--db", &db, "user", "add"], None);
    assert!(out.stderr.contains("EMAIL"), "{out:?}");
    assert_eq!(fd.bytes("fd.db"), before);

    // Help and version are not errors.
    let out = exec(fd.dir.path(), &["--help"], None).ok();
    assert!(out.stdout.contains("Exit codes"), "{out:?}");
    exec(fd.dir.path(), &["--version"], None).ok();
}

#[test]
fn reasons_are_required_and_other_refusals_change_nothing() {
    let fd = Fd::new();
    let alice = "alice@example.com";
    fd.add_user(t0(), alice, &[]);
    let audit = fd.audit_count(at(1));
    for args in [
        &["user", "disable", alice, "--reason", "   "][..],
        &["user", "unlock", alice, "--reason", ""],
        &["user", "reset-2fa", alice, "--reason", " "],
        &["device", "revoke", alice, "--all", "--reason", ""],
        &["factor", "disable", alice, "1", "--reason", " "],
        &["factor", "remove", alice, "1", "--reason", ""],
    ] {
        let out = fd.run(at(2), args);
        assert!(
            out.error().contains("reason is required"),
            "{args:?}: {out:?}"
        );
    }
    let out = fd.run(at(2), &["user", "enable", alice, "--reason", "why not"]);
    assert!(out.error().contains("already active"), "{out:?}");
    let out = fd.run(at(2), &["user", "edit", alice]);
    assert!(out.error().contains("nothing to change"), "{out:?}");
    let out = fd.run(
        at(2),
        &["factor", "remove", alice, "42", "--reason", "gone"],
    );
    assert!(out.error().contains("factor list"), "{out:?}");
    let out = fd.run(
        at(2),
        &[
            "login",
            "start",
            alice,
            "--assume-password",
            "--ip",
            "nowhere",
        ],
    );
    assert!(out.error().contains("203.0.113.9"), "{out:?}");
    let out = fd.run(
        at(2),
        &["policy", "set", "colour", "blue", "--reason", "test"],
    );
    assert!(out.error().contains("policy show"), "{out:?}");
    let out = fd.run_stdin(at(2), &["login", "start", alice, "--password-stdin"], "x\n");
    assert_eq!(out.code, 3, "no password is set: {out:?}");
    assert_eq!(
        fd.audit_count(at(3)),
        audit + 1,
        "only the denied login is audited"
    );
}

// ---------------------------------------------------------------------------
// 8. Every command answers --json with JSON (checked in `exec` for each run).

#[test]
fn every_command_speaks_json() {
    let fd = Fd::empty();
    if fd.on_postgres() {
        return; // SQLite only: every command on the file (its JSON is the engine's own on PostgreSQL: tests/engines)
    }
    let db = fd.db().display().to_string();
    let init = exec(
        fd.dir.path(),
        &["--db", &db, "--now", T0, "--json", "init"],
        None,
    )
    .ok();
    assert!(
        init.json()["key_file"]
            .as_str()
            .unwrap()
            .ends_with("fd.db.key")
    );

    let amy = "amy@example.com";
    let added = fd.run_stdin(
        t0(),
        &[
            "--json",
            "user",
            "add",
            amy,
            "--name",
            "Amy",
            "--role",
            "admin",
            "--password-stdin",
        ],
        "s3cret pass\n",
    );
    assert_eq!(added.ok().json()["role"], "admin");
    fd.ok(t0(), &["user", "list", "--search", "amy", "--limit", "5"]);
    fd.ok(
        t0(),
        &["user", "list", "--filter", "no-2fa", "--after", "a"],
    );
    for filter in ["locked", "grace", "low-codes", "disabled"] {
        fd.ok(t0(), &["user", "list", "--filter", filter]);
    }
    let edited = fd.ok(
        t0(),
        &[
            "user",
            "edit",
            amy,
            "--every-login",
            "true",
            "--phone",
            "+14155550123",
        ],
    );
    assert_eq!(edited["email"], amy);
    let password = fd.run_stdin(
        t0(),
        &["--json", "user", "password", amy, "--password-stdin"],
        "new pass\n",
    );
    assert_eq!(password.ok().json()["password"], "set");

    let (totp_id, secret) = fd.enrol_totp(at(10), amy);
    let edited = fd.ok(at(20), &["factor", "add-email", amy]);
    let email_id = edited["factor_id"].as_i64().unwrap().to_string();
    let code = fd.outbox_code(at(21), amy);
    fd.ok(at(22), &["factor", "confirm", amy, &email_id, &code]);
    let s = fd.ok(at(23), &["factor", "add-sms", amy, "+14155550123"]);
    let sms_id = s["factor_id"].as_i64().unwrap().to_string();
    fd.ok(at(24), &["factor", "list", amy]);
    fd.ok(
        at(25),
        &["factor", "disable", amy, &email_id, "--reason", "lost"],
    );
    fd.ok(at(26), &["factor", "enable", amy, &email_id]);
    fd.ok(
        at(27),
        &["factor", "remove", amy, &sms_id, "--reason", "new phone"],
    );
    fd.ok(at(28), &["codes", "generate", amy]);
    fd.ok(at(29), &["codes", "status", amy]);

    // Real passwords: right and wrong.
    let out = fd.run_stdin(
        at(60),
        &["--json", "login", "start", amy, "--password-stdin"],
        "nope\n",
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert!(reasons(&out.json()).contains("password is incorrect"));
    let out = fd.run_stdin(
        at(61),
        &[
            "--json",
            "login",
            "start",
            amy,
            "--password-stdin",
            "--factor",
            &totp_id,
        ],
        "new pass\n",
    );
    let s = out.ok().json();
    assert_eq!(s["decision"], "challenge", "{s:#}");
    let c = s["challenge_id"].as_i64().unwrap().to_string();
    fd.ok(at(62), &["login", "show", &c]);
    let out = fd.run(at(63), &["--json", "login", "resend", &c]);
    assert!(out.error().contains("nothing to resend"), "{out:?}");
    let (code, v) = fd.json(
        at(64),
        &[
            "login",
            "verify",
            &c,
            &totp::code_at(&secret, at(64)),
            "--remember",
        ],
    );
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(
        fd.ok(at(65), &["device", "list", amy])[0]["label"],
        "Unnamed browser"
    );
    // An email login: resend, and the outbox.
    let (code, s) = fd.start(at(120), amy, &["--factor", &email_id]);
    assert_eq!(code, 0, "{s:#}");
    let c = s["challenge_id"].as_i64().unwrap().to_string();
    let (code, r) = fd.json(at(121), &["login", "resend", &c]);
    assert_eq!((code, r["result"].as_str()), (3, Some("cooldown")), "{r:#}");
    let (code, _) = fd.json(at(122), &["login", "verify", &c, "000000"]);
    assert_eq!(code, 3);
    fd.ok(at(123), &["outbox"]);
    fd.ok(
        at(123),
        &["outbox", "--user", amy, "--limit", "2", "--before", "1000"],
    );
    fd.ok(
        at(124),
        &["audit", "--user", amy, "--kind", "login.", "--limit", "3"],
    );
    fd.ok(at(125), &["device", "revoke", amy, "1", "--reason", "test"]);
    fd.ok(at(126), &["user", "unlock", amy, "--reason", "test"]);
    fd.ok(at(127), &["user", "disable", amy, "--reason", "test"]);
    fd.ok(at(128), &["user", "enable", amy, "--reason", "test"]);
    let r = fd.ok(
        at(129),
        &["user", "reset-2fa", amy, "--reason", "new phone"],
    );
    assert_eq!(r["factors_removed"], 2, "{r:#}");
    fd.ok(at(130), &["user", "show", amy]);
    fd.ok(at(131), &["policy", "show"]);
    fd.ok(
        at(132),
        &["policy", "set", "trust_days", "30", "--reason", "test"],
    );
    let demo = fd.path("demo.db").display().to_string();
    let demo_out = exec(
        fd.dir.path(),
        &["--db", &demo, "--now", T0, "--json", "demo", "--seed", "7"],
        None,
    );
    assert!(demo_out.ok().json()["users"].as_u64().unwrap() > 10);
}

// ---------------------------------------------------------------------------
// 9. Policy: keep mode resends the same code; bad values change nothing.

#[test]
fn policy_keep_mode_resends_the_same_code_and_bad_values_are_refused() {
    let fd = Fd::new();
    let bob = "bob@example.com";
    fd.add_user(t0(), bob, &[]);
    let e = fd.ok(at(1), &["factor", "add-sms", bob, "+1 (415) 555-0123"]);
    let factor = e["factor_id"].as_i64().unwrap().to_string();
    let code = fd.outbox_code(at(2), bob);
    fd.ok(at(3), &["factor", "confirm", bob, &factor, &code]);

    let item = fd.ok(
        at(10),
        &["policy", "set", "resend_mode", "keep", "--reason", "test"],
    );
    assert_eq!(item["value"], "keep", "{item:#}");
    let policy = fd.ok(at(11), &["policy", "show"]);
    let audit = fd.audit_count(at(11));

    for (key, value, form) in [
        ("sms_ttl", "5 parsecs", "duration 30s-1h, e.g. 5m"),
        ("resend_mode", "sometimes", "replace|keep"),
        ("code_attempts", "0", "1-20"),
    ] {
        let out = fd.run(at(12), &["policy", "set", key, value, "--reason", "test"]);
        let err = out.error();
        assert!(err.contains(value), "{err}");
        assert!(err.contains(form), "{err}");
    }
    assert_eq!(fd.ok(at(13), &["policy", "show"]), policy);
    assert_eq!(fd.audit_count(at(13)), audit);

    // A change needs a reason: without one it is a usage error, and an
    // empty one is refused; neither changes anything.
    let out = fd.run(at(14), &["policy", "set", "enforce", "off"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--reason"), "{out:?}");
    let out = fd.run(
        at(14),
        &["policy", "set", "enforce", "off", "--reason", " "],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.error().contains("a reason is required"), "{out:?}");
    assert_eq!(fd.ok(at(15), &["policy", "show"]), policy);
    assert_eq!(fd.audit_count(at(15)), audit);

    let c = fd.challenge(at(100), bob);
    let first = fd.outbox_code(at(100), bob);
    let (code, r) = fd.json(at(130), &["login", "resend", &c]);
    assert_eq!((code, r["result"].as_str()), (0, Some("sent")), "{r:#}");
    assert_eq!(r["same_code"], true, "{r:#}");
    assert_eq!(
        time_of(&r["expires_at"]),
        at(100 + 5 * MINUTE),
        "expiry does not move"
    );
    let again = fd.newest_message(at(130), bob);
    assert_eq!(six_digits(again["text"].as_str().unwrap()), first);
    assert_eq!(again["valid_now"], true, "{again:#}");
    let (code, v) = fd.verify(at(131), &c, &first);
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
}

#[test]
fn setting_enforce_to_its_current_value_does_not_reopen_grace() {
    let fd = Fd::new();
    let x = "xavier@example.com";
    fd.add_user(t0(), x, &[]);
    // In grace for 7 days without a factor, then refused.
    let (code, s) = fd.start(at(DAY), x, &[]);
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("allowed")),
        "{s:#}"
    );
    let (code, s) = fd.start(at(8 * DAY), x, &[]);
    assert_eq!((code, s["decision"].as_str()), (3, Some("denied")), "{s:#}");
    assert!(reasons(&s).contains("grace period ended"), "{s:#}");

    // Setting the value it already has is not an enforcement change.
    let item = fd.ok(
        at(8 * DAY + 1),
        &["policy", "set", "enforce", "all", "--reason", "test"],
    );
    assert_eq!(item["value"], "all");
    assert!(item["changed_at"].is_null(), "never changed: {item:#}");
    let (code, s) = fd.start(at(8 * DAY + 2), x, &[]);
    assert_eq!((code, s["decision"].as_str()), (3, Some("denied")), "{s:#}");
    assert!(
        fd.ok(at(8 * DAY + 2), &["user", "list", "--filter", "grace"])
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A real change restarts grace: admins only, then everyone again.
    fd.ok(
        at(8 * DAY + 3),
        &["policy", "set", "enforce", "admins", "--reason", "test"],
    );
    let (code, s) = fd.start(at(8 * DAY + 4), x, &[]);
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("allowed")),
        "{s:#}"
    );
    let item = fd.ok(
        at(8 * DAY + 5),
        &["policy", "set", "enforce", "all", "--reason", "test"],
    );
    assert_eq!(time_of(&item["changed_at"]), at(8 * DAY + 5));
    let (code, s) = fd.start(at(8 * DAY + 6), x, &[]);
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("allowed")),
        "{s:#}"
    );
    assert!(reasons(&s).contains("enrolment is required by"), "{s:#}");
    let again = fd.ok(
        at(9 * DAY),
        &["policy", "set", "enforce", "all", "--reason", "test"],
    );
    assert_eq!(again["changed_at"], item["changed_at"], "{again:#}");
    let (code, _) = fd.start(at(8 * DAY + 5 + 7 * DAY), x, &[]);
    assert_eq!(code, 3, "grace counts from the real change");
}

// ---------------------------------------------------------------------------
// More flows: passwords, step-up, every-login, clock skew, email codes,
// resend limit, disable and reset, paging, the audit actor.

#[test]
fn passwords_from_stdin_are_checked_and_can_be_changed() {
    let fd = Fd::new();
    let p = "pat@example.com";
    let out = fd.run_stdin(
        t0(),
        &["user", "add", p, "--password-stdin"],
        "correct horse\r\n",
    );
    assert!(out.ok().stdout.contains("Added pat@example.com"));
    let audit = fd.audit_count(at(1));
    let out = fd.run_stdin(
        at(1),
        &["user", "add", "short@example.com", "--password-stdin"],
        "2short\n",
    );
    assert!(out.error().contains("at least 8"), "{out:?}");
    assert_eq!(fd.audit_count(at(1)), audit);
    let start = |t: i64, pw: &str| {
        let out = fd.run_stdin(
            at(t),
            &["--json", "login", "start", p, "--password-stdin"],
            pw,
        );
        (out.code, out.json())
    };
    let (code, s) = start(10, "correct horse\n");
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("allowed")),
        "{s:#}"
    );
    assert!(reasons(&s).contains("Password correct"), "{s:#}");
    let (code, s) = start(11, "Correct horse\n");
    assert_eq!((code, s["decision"].as_str()), (3, Some("denied")), "{s:#}");
    assert!(reasons(&s).contains("password is incorrect"), "{s:#}");

    fd.run_stdin(
        at(20),
        &["user", "password", p, "--password-stdin"],
        "battery staple",
    )
    .ok();
    let (code, _) = start(21, "correct horse\n");
    assert_eq!(code, 3, "the old password no longer works");
    let (code, _) = start(22, "battery staple\n");
    assert_eq!(code, 0);
    let trail = fd.ok(at(23), &["audit", "--user", p]).to_string();
    assert!(!trail.contains("correct horse") && !trail.contains("battery"));
}

#[test]
fn step_up_and_every_login_challenge_even_on_a_trusted_device() {
    let fd = Fd::new();
    let g = "gina@example.com";
    let ip = "192.0.2.10";
    fd.add_user(t0(), g, &[]);
    let (_, secret) = fd.enrol_totp(at(10), g);
    let (_, s) = fd.start(at(60), g, &["--ip", ip]);
    let c = s["challenge_id"].as_i64().unwrap().to_string();
    let (code, v) = fd.json(
        at(61),
        &[
            "login",
            "verify",
            &c,
            &totp::code_at(&secret, at(61)),
            "--remember",
        ],
    );
    assert_eq!(code, 0, "{v:#}");
    let token = v["device_token"].as_str().unwrap().to_owned();

    let (code, s) = fd.start(at(DAY), g, &["--device", &token, "--ip", ip]);
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("allowed")),
        "{s:#}"
    );
    // An export needs a code even here; the code approves the export.
    let (code, s) = fd.start(
        at(DAY + 10),
        g,
        &["--device", &token, "--ip", ip, "--action", "export"],
    );
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("challenge")),
        "{s:#}"
    );
    assert!(reasons(&s).contains("export"), "{s:#}");
    let c = s["challenge_id"].as_i64().unwrap().to_string();
    let (code, v) = fd.verify(at(DAY + 11), &c, &totp::code_at(&secret, at(DAY + 11)));
    assert_eq!(code, 0, "{v:#}");
    assert!(
        v["message"].as_str().unwrap().contains("export approved"),
        "{v:#}"
    );

    // "Ask on every login" overrides the remembered device.
    fd.ok(at(DAY + 20), &["user", "edit", g, "--every-login", "true"]);
    let (code, s) = fd.start(at(DAY + 30), g, &["--device", &token, "--ip", ip]);
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("challenge")),
        "{s:#}"
    );
    assert!(reasons(&s).contains("every login"), "{s:#}");
    fd.ok(at(DAY + 40), &["user", "edit", g, "--every-login", "false"]);
    let (code, s) = fd.start(at(DAY + 50), g, &["--device", &token, "--ip", ip]);
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("allowed")),
        "{s:#}"
    );
}

#[test]
fn a_code_from_a_slow_phone_says_how_slow() {
    let fd = Fd::new();
    let h = "hana@example.com";
    fd.add_user(t0(), h, &[]);
    let (_, secret) = fd.enrol_totp(at(10), h);
    let c = fd.challenge(at(300), h);
    // Two steps (60 s) behind: outside the ±1 step window.
    let (code, v) = fd.verify(at(300), &c, &totp::code_at(&secret, at(240)));
    assert_eq!((code, v["result"].as_str()), (3, Some("invalid")), "{v:#}");
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("slow"), "{msg}");
    assert!(msg.contains("4 attempt(s) left"), "{msg}");
    // One step behind is still accepted.
    let (code, v) = fd.verify(at(301), &c, &totp::code_at(&secret, at(271)));
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
}

#[test]
fn email_codes_last_ten_minutes_and_resends_run_out() {
    let fd = Fd::new();
    let ivan = "ivan@example.com";
    fd.add_user(t0(), ivan, &[]);
    let enrol = fd.ok(at(1), &["factor", "add-email", ivan]);
    assert_eq!(enrol["delivery"]["status"], "sent", "{enrol:#}");
    assert_eq!(time_of(&enrol["expires_at"]), at(1 + 10 * MINUTE));
    let id = enrol["factor_id"].as_i64().unwrap().to_string();
    fd.ok(
        at(2),
        &["factor", "confirm", ivan, &id, &fd.outbox_code(at(2), ivan)],
    );

    let c = fd.challenge(at(100), ivan);
    let code1 = fd.outbox_code(at(100), ivan);
    let msg = fd.newest_message(at(100), ivan);
    assert!(
        msg["text"].as_str().unwrap().contains("10 minutes"),
        "{msg:#}"
    );
    for (n, t) in [(2, 130), (1, 160), (0, 190)] {
        let (code, r) = fd.json(at(t), &["login", "resend", &c]);
        assert_eq!((code, r["result"].as_str()), (0, Some("sent")), "{r:#}");
        assert_eq!(r["resends_left"], n);
    }
    let (code, r) = fd.json(at(220), &["login", "resend", &c]);
    assert_eq!((code, r["result"].as_str()), (3, Some("limit")), "{r:#}");
    let last = fd.outbox_code(at(220), ivan);
    let (code, _) = fd.verify(at(221), &c, &code1);
    assert_eq!(code, 3, "the first code was replaced");
    // Valid until 10 minutes after the last send, not after the first.
    let (code, v) = fd.verify(at(190 + 10 * MINUTE - 1), &c, &last);
    assert_eq!((code, v["result"].as_str()), (0, Some("accepted")), "{v:#}");
    assert_eq!(v["used"], "email");
}

#[test]
fn disable_cancels_open_challenges_and_reset_clears_every_factor() {
    let fd = Fd::new();
    let jo = "jo@example.com";
    fd.add_user(t0(), jo, &["--phone", "+14155550123"]);
    let (_, secret) = fd.enrol_totp(at(10), jo);
    fd.ok(at(20), &["codes", "generate", jo]);
    let (_, s) = fd.start(at(60), jo, &[]);
    let c = s["challenge_id"].as_i64().unwrap().to_string();
    let (_, v) = fd.json(
        at(61),
        &[
            "login",
            "verify",
            &c,
            &totp::code_at(&secret, at(61)),
            "--remember",
        ],
    );
    let token = v["device_token"].as_str().unwrap().to_owned();

    let open = fd.challenge(at(100), jo);
    let user = fd.ok(
        at(110),
        &["user", "disable", jo, "--reason", "left the company"],
    );
    assert_eq!(user["status"], "disabled");
    assert_eq!(fd.challenge_view(at(111), &open)["state"], "cancelled");
    let out = fd.run(
        at(112),
        &["login", "verify", &open, &totp::code_at(&secret, at(112))],
    );
    assert!(out.error().contains("cancelled"), "{out:?}");
    let (code, s) = fd.start(at(113), jo, &["--device", &token]);
    assert_eq!((code, s["decision"].as_str()), (3, Some("denied")), "{s:#}");
    assert!(reasons(&s).contains("disabled"), "{s:#}");
    let listed = fd.ok(at(114), &["user", "list", "--filter", "disabled"]);
    assert_eq!(listed[0]["email"], jo, "{listed:#}");

    fd.ok(at(120), &["user", "enable", jo, "--reason", "rehired"]);
    let report = fd.ok(
        at(130),
        &["user", "reset-2fa", jo, "--reason", "lost phone"],
    );
    assert_eq!(report["factors_removed"], 1, "{report:#}");
    assert_eq!(report["codes_removed"], 10);
    assert_eq!(report["devices_revoked"], 1);
    let user = fd.ok(at(131), &["user", "show", jo]);
    assert!(user["factors"].as_array().unwrap().is_empty(), "{user:#}");
    assert_eq!(user["codes"]["total"], 0);
    assert_eq!(user["devices"][0]["state"], "revoked");
    // Without a factor, the user is back in enrolment grace.
    let (code, s) = fd.start(at(140), jo, &["--device", &token]);
    assert_eq!(
        (code, s["decision"].as_str()),
        (0, Some("allowed")),
        "{s:#}"
    );
    assert!(reasons(&s).contains("No second factor yet"), "{s:#}");
}

#[test]
fn user_list_pages_by_email_and_searches() {
    let fd = Fd::new();
    for (e, n) in [
        ("dan@example.com", "Dan Brown"),
        ("amy@example.com", "Amy Pond"),
        ("cat@example.org", "Cat Grant"),
        ("bob@example.com", "Bob Ross"),
        ("eve@example.net", "Eve Moneypenny"),
    ] {
        fd.add_user(t0(), e, &["--name", n]);
    }
    let emails = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|u| u["email"].as_str().unwrap().to_owned())
            .collect()
    };
    let page1 = fd.ok(at(1), &["user", "list", "--limit", "2"]);
    assert_eq!(emails(&page1), ["amy@example.com", "bob@example.com"]);
    let page2 = fd.ok(
        at(1),
        &["user", "list", "--limit", "2", "--after", "bob@example.com"],
    );
    assert_eq!(emails(&page2), ["cat@example.org", "dan@example.com"]);
    let page3 = fd.ok(
        at(1),
        &["user", "list", "--limit", "2", "--after", "dan@example.com"],
    );
    assert_eq!(emails(&page3), ["eve@example.net"]);
    let found = fd.ok(at(1), &["user", "list", "--search", "moneyp"]);
    assert_eq!(emails(&found), ["eve@example.net"]);
    let found = fd.ok(at(1), &["user", "list", "--search", "example.com"]);
    assert_eq!(found.as_array().unwrap().len(), 3);
    let found = fd.ok(at(1), &["user", "list", "--search", "ca"]);
    assert_eq!(emails(&found), ["cat@example.org"]);
    // One or two characters: the start of any word, in the name too.
    let found = fd.ok(at(1), &["user", "list", "--search", "Po"]);
    assert_eq!(emails(&found), ["amy@example.com"]);
    let found = fd.ok(at(1), &["user", "list", "--search", "m"]);
    assert_eq!(emails(&found), ["eve@example.net"]);
    let found = fd.ok(at(1), &["user", "list", "--search", "on"]);
    assert!(found.as_array().unwrap().is_empty(), "not inside a word");
    for odd in ["\"", "..", "*", "@"] {
        fd.ok(at(1), &["user", "list", "--search", odd]);
    }
    let found = fd.ok(
        at(1),
        &["user", "list", "--search", "\"; DROP TABLE users; --"],
    );
    assert!(found.as_array().unwrap().is_empty());
    assert_eq!(fd.ok(at(2), &["user", "list"]).as_array().unwrap().len(), 5);
    let no2fa = fd.ok(at(2), &["user", "list", "--filter", "no-2fa"]);
    assert_eq!(no2fa.as_array().unwrap().len(), 5);
    let grace = fd.ok(at(2), &["user", "list", "--filter", "grace"]);
    assert_eq!(grace.as_array().unwrap().len(), 5);
    let grace = fd.ok(at(8 * DAY), &["user", "list", "--filter", "grace"]);
    assert!(grace.as_array().unwrap().is_empty());
}

#[test]
fn the_audit_trail_names_the_actor() {
    let fd = Fd::new();
    fd.ok(
        t0(),
        &["--actor", "helpdesk-kim", "user", "add", "k@example.com"],
    );
    let out = fd.run(
        at(1),
        &[
            "--actor",
            "helpdesk-kim",
            "user",
            "show",
            "nobody@example.com",
        ],
    );
    out.error();
    let trail = fd.ok(at(2), &["audit", "--user", "k@example.com"]);
    assert_eq!(trail.as_array().unwrap().len(), 1, "{trail:#}");
    assert_eq!(trail[0]["actor"], "helpdesk-kim");
    assert_eq!(trail[0]["kind"], "user.add");
    assert_eq!(time_of(&trail[0]["at"]), t0());
}

#[test]
fn names_are_checked_the_same_on_add_and_edit() {
    let fd = Fd::new();
    let k = "kim@example.com";
    fd.add_user(t0(), k, &["--name", "Kim"]);
    let audit = fd.audit_count(at(1));
    let long = "x".repeat(101);
    for args in [
        &["user", "add", "long@example.com", "--name", &long][..],
        &["user", "edit", k, "--name", &long],
    ] {
        let out = fd.run(at(2), args);
        assert!(out.error().contains("at most 100 characters"), "{out:?}");
    }
    // A line break would split the user table and the one-line audit entry.
    for args in [
        &["user", "add", "lines@example.com", "--name", "Kim\nAdmin"][..],
        &["user", "edit", k, "--name", "Kim\nAdmin"],
        &["user", "edit", k, "--name", "Kim\u{1b}[31m"],
    ] {
        let out = fd.run(at(3), args);
        assert!(out.error().contains("control character"), "{out:?}");
    }
    assert_eq!(fd.audit_count(at(4)), audit);
    assert_eq!(fd.ok(at(4), &["user", "show", k])["profile"]["name"], "Kim");
    let exactly = "y".repeat(100);
    let u = fd.ok(
        at(5),
        &["user", "edit", k, "--name", &format!("  {exactly} ")],
    );
    assert_eq!(u["name"], exactly.as_str());
    let out = fd.run(at(6), &["user", "list"]).ok();
    assert_eq!(out.stdout.lines().count(), 2, "{out:?}");
}

#[test]
fn actor_reason_and_device_label_cannot_smuggle_lines_into_the_records() {
    let fd = Fd::new();
    let m = "mo@example.com";
    fd.add_user(t0(), m, &[]);
    let (_, secret) = fd.enrol_totp(at(10), m);
    let audit = fd.audit_count(at(11));

    // A line break in --actor would forge a row of the audit table.
    let forged = "kim\n99  2026-11-21 09:00  admin";
    let out = fd.run(
        at(12),
        &["--actor", forged, "user", "edit", m, "--name", "Mo"],
    );
    assert!(out.error().contains("--actor"), "{out:?}");
    let out = fd.run(
        at(12),
        &["user", "disable", m, "--reason", "left\u{1b}[2Jthe company"],
    );
    assert!(out.error().contains("control character"), "{out:?}");
    assert_eq!(fd.audit_count(at(13)), audit);

    // A browser's label is shown to the help desk: one with a control
    // character is refused before the code is looked at (no attempt used).
    let c = fd.challenge(at(60), m);
    let code = totp::code_at(&secret, at(61));
    for label in [
        "Evil\n\u{1b}[31mBrowser",
        "Fire\u{202e}xof",
        &"x".repeat(81),
    ] {
        let out = fd.run(
            at(61),
            &[
                "login",
                "verify",
                &c,
                &code,
                "--remember",
                "--device-label",
                label,
            ],
        );
        let err = out.error();
        assert!(err.contains("the device label"), "{err}");
        assert!(
            !err.contains('\u{1b}') && !err.contains('\u{202e}'),
            "{err}"
        );
    }
    let (code, v) = fd.json(
        at(61),
        &[
            "login",
            "verify",
            &c,
            &code,
            "--remember",
            "--device-label",
            &"x".repeat(80),
        ],
    );
    assert_eq!(code, 0, "{v:#}");
    let devices = fd.ok(at(62), &["device", "list", m]);
    assert_eq!(devices[0]["label"], "x".repeat(80), "{devices:#}");
    let table = fd.run(at(63), &["device", "list", m]).ok();
    assert_eq!(table.stdout.lines().count(), 2, "{table:?}");
}

/// `n` wrong codes on fresh challenges (five at most per challenge) from `t`.
fn fail_n(fd: &Fd, email: &str, secret: &[u8], n: u32, mut t: i64) -> i64 {
    let mut left = n;
    while left > 0 {
        let c = fd.challenge(at(t), email);
        for _ in 0..left.min(5) {
            t += 1;
            let (code, v) = fd.verify(at(t), &c, &wrong_code(secret, at(t)));
            assert_eq!((code, v["result"].as_str()), (3, Some("invalid")), "{v:#}");
            left -= 1;
        }
        t += 1;
    }
    t
}

#[test]
fn failures_reset_on_success_and_when_the_window_passes() {
    let fd = Fd::new();
    let n = "nia@example.com";
    fd.add_user(t0(), n, &[]);
    let (_, secret) = fd.enrol_totp(at(10), n);

    // Nine failures, then the right code: the count starts again.
    let t = fail_n(&fd, n, &secret, 9, 100);
    let lock = &fd.ok(at(t), &["user", "show", n])["lock"];
    assert_eq!(
        (lock["failures"].as_u64(), lock["failures_left"].as_u64()),
        (Some(9), Some(1))
    );
    let c = fd.challenge(at(t + 30), n);
    let (code, _) = fd.verify(at(t + 31), &c, &totp::code_at(&secret, at(t + 31)));
    assert_eq!(code, 0);
    assert_eq!(
        fd.ok(at(t + 32), &["user", "show", n])["lock"]["failures"],
        0
    );
    let t = fail_n(&fd, n, &secret, 9, t + 60);
    assert!(fd.locked_emails(at(t)).is_empty());

    // Later, nine more (at start+1..+5 and +7..+10 s); the tenth comes at
    // start+15 min+2 s. The window slides: failures more than 15 minutes
    // before each attempt stop counting, so only those after start+2 s do.
    let start = t + 15 * MINUTE + 100;
    let t = fail_n(&fd, n, &secret, 9, start);
    assert!(t < start + 15 * MINUTE);
    let t = fail_n(&fd, n, &secret, 1, start + 15 * MINUTE + 1);
    assert!(fd.locked_emails(at(t)).is_empty());
    // At start+15 min+3 s: +4, +5, +7, +8, +9, +10 and the new one.
    assert_eq!(fd.ok(at(t), &["user", "show", n])["lock"]["failures"], 7);
    // Once all nine have aged out, only the last one counts.
    assert_eq!(
        fd.ok(at(start + 15 * MINUTE + 11), &["user", "show", n])["lock"]["failures"],
        1
    );
}

/// The 11th message in an hour is not sent: the login start that would have
/// sent it still opens its challenge, but exits 3 (a refusal, as a refused
/// resend is) so a script does not wait for a code that never comes.
#[test]
fn a_login_start_whose_code_the_message_limit_holds_exits_3() {
    let fd = Fd::new();
    let bob = "bob@example.com";
    fd.add_user(t0(), bob, &["--phone", "+14155550123"]);
    let enrol = fd.ok(at(1), &["factor", "add-sms", bob, "+14155550123"]);
    let factor = enrol["factor_id"].as_i64().unwrap().to_string();
    let code = fd.outbox_code(at(5), bob);
    fd.ok(at(20), &["factor", "confirm", bob, &factor, &code]);
    // Messages 2 to 10 of the hour go.
    for k in 1..=9 {
        fd.challenge(at(30 + k * 60), bob);
    }
    let (exit, s) = fd.start(at(700), bob, &[]);
    assert_eq!(exit, 3, "{s:#}");
    assert_eq!(s["decision"], "challenge", "{s:#}");
    assert!(s["challenge_id"].is_i64(), "{s:#}");
    assert_eq!(s["delivery"]["status"], "failed", "{s:#}");
    // An hour after the first, one goes again, and the start is a plain one.
    let (exit, s) = fd.start(at(3_700), bob, &[]);
    assert_eq!(exit, 0, "{s:#}");
    assert_ne!(s["delivery"]["status"], "failed", "{s:#}");
}
