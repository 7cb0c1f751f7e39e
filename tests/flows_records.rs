//! Library-level flow tests for the `desk` use cases: one audit event per
//! use case, secrets at rest unreadable from the file alone, and keyset
//! pages in list order.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::clock::Clock;
use factordesk::desk::devices::Which;
use factordesk::desk::records::RecordQuery;
use factordesk::desk::users::Edit;
use factordesk::desk::views::{ResendResult, VerifyResult};
use factordesk::desk::{Desk, ORIGIN_INIT};
use factordesk::domain::login::Outcome;
use factordesk::domain::{UserStatus, totp};
use factordesk::keyfile;
use factordesk::rng::Rng;

use support::flow::{
    ALICE, HOME_IP, US_PHONE, add_user, challenge, desk, desk_with, fail_n, fail_totp, login,
    login_with_token, mins, newest_code, other_code, outbox, secs, six_digits, totp_now, verify,
    with_sms, with_totp,
};
use support::now as t0;

// ------------------------------------------------- 12. one audit event each

/// Run `f` and check it wrote exactly one audit event.
fn audited<T>(d: &mut Desk, what: &str, f: impl FnOnce(&mut Desk) -> T) -> T {
    let before = d.audit_count().unwrap();
    let out = f(d);
    let after = d.audit_count().unwrap();
    assert_eq!(
        after,
        before + 1,
        "{what} wrote {} audit events",
        after - before
    );
    out
}

#[test]
fn user_and_policy_use_cases_write_one_audit_event_each() {
    let mut d = desk();
    audited(&mut d, "add_user", |d| add_user(d, ALICE));
    audited(&mut d, "edit_user", |d| {
        d.edit_user(
            ALICE,
            &Edit {
                name: Some("Alice A.".to_owned()),
                ..Edit::default()
            },
        )
        .unwrap()
    });
    let hash = d.hash_password("a long enough password").unwrap();
    audited(&mut d, "set_password", |d| {
        d.set_password(ALICE, &hash).unwrap();
    });
    audited(&mut d, "set_policy", |d| {
        d.set_policy("backup_low", "2", "test").unwrap()
    });
    audited(&mut d, "set_policy (same value)", |d| {
        d.set_policy("backup_low", "2", "test").unwrap()
    });
    audited(&mut d, "set_user_status(disabled)", |d| {
        d.set_user_status(ALICE, UserStatus::Disabled, "test")
            .unwrap()
    });
    audited(&mut d, "set_user_status(active)", |d| {
        d.set_user_status(ALICE, UserStatus::Active, "test")
            .unwrap()
    });
    audited(&mut d, "unlock", |d| d.unlock(ALICE, "checked").unwrap());
    audited(&mut d, "generate_codes", |d| {
        d.generate_codes(ALICE).unwrap()
    });
    audited(&mut d, "reset_2fa", |d| d.reset_2fa(ALICE, "test").unwrap());
    let events = d
        .audit(&RecordQuery {
            user: Some(ALICE.to_owned()),
            kind: Some("user.".to_owned()),
            limit: 100,
            ..RecordQuery::default()
        })
        .unwrap();
    assert!(events.iter().all(|e| e.user.as_deref() == Some(ALICE)));
    assert!(events.iter().all(|e| e.actor == "admin"));
    assert_eq!(events[0].kind, "user.reset_2fa");
}

#[test]
fn factor_use_cases_write_one_audit_event_each() {
    let mut d = desk_with(ALICE);
    let e = audited(&mut d, "enrol_totp", |d| d.enrol_totp(ALICE).unwrap());
    let code = totp_now(&d, ALICE, e.factor_id);
    audited(&mut d, "confirm_factor (wrong code)", |d| {
        d.confirm_factor(ALICE, e.factor_id, &other_code(&code))
            .unwrap_err()
    });
    audited(&mut d, "confirm_factor", |d| {
        d.confirm_factor(ALICE, e.factor_id, &code).unwrap()
    });
    let sms = audited(&mut d, "add_sms", |d| d.add_sms(ALICE, US_PHONE).unwrap());
    let sms_code = newest_code(&d, ALICE);
    audited(&mut d, "confirm_factor (wrong sms code)", |d| {
        d.confirm_factor(ALICE, sms.factor_id, &other_code(&sms_code))
            .unwrap_err()
    });
    d.advance_clock(mins(5));
    audited(&mut d, "confirm_factor (expired sms code)", |d| {
        d.confirm_factor(ALICE, sms.factor_id, &sms_code)
            .unwrap_err()
    });
    audited(&mut d, "resend (enrolment)", |d| {
        d.resend(sms.challenge_id).unwrap()
    });
    let sms_code = newest_code(&d, ALICE);
    audited(&mut d, "confirm_factor (sms)", |d| {
        d.confirm_factor(ALICE, sms.factor_id, &sms_code).unwrap()
    });
    let email = audited(&mut d, "add_email", |d| d.add_email(ALICE, None).unwrap());
    audited(&mut d, "set_factor_enabled(false)", |d| {
        d.set_factor_enabled(ALICE, sms.factor_id, false, "lost phone")
            .unwrap()
    });
    audited(&mut d, "set_factor_enabled(true)", |d| {
        d.set_factor_enabled(ALICE, sms.factor_id, true, "found it")
            .unwrap()
    });
    audited(&mut d, "remove_factor", |d| {
        d.remove_factor(ALICE, email.factor_id, "replaced").unwrap()
    });
    let rejected = d
        .audit(&RecordQuery {
            kind: Some("factor.confirm".to_owned()),
            limit: 100,
            ..RecordQuery::default()
        })
        .unwrap();
    assert_eq!(rejected.len(), 5);
    assert_eq!(
        rejected
            .iter()
            .filter(|e| e.detail.contains("not confirmed"))
            .count(),
        3
    );
}

#[test]
fn login_use_cases_write_one_audit_event_each() {
    let mut d = desk_with(ALICE);
    let sms = with_sms(&mut d, ALICE);
    let s = audited(&mut d, "start_login (challenge)", |d| {
        d.start_login(&login(ALICE)).unwrap()
    });
    let id = s.challenge_id.unwrap();
    let code = newest_code(&d, ALICE);
    audited(&mut d, "verify (invalid)", |d| {
        verify(d, id, &other_code(&code))
    });
    audited(&mut d, "resend (cooldown)", |d| d.resend(id).unwrap());
    d.advance_clock(secs(30));
    audited(&mut d, "resend (sent)", |d| d.resend(id).unwrap());
    let code = newest_code(&d, ALICE);
    let out = audited(&mut d, "verify (accepted, remember)", |d| {
        d.verify(id, &code, Some("Safari on iOS")).unwrap()
    });
    let token = out.device_token.unwrap();
    audited(&mut d, "start_login (allowed)", |d| {
        d.start_login(&login_with_token(ALICE, &token, HOME_IP))
            .unwrap()
    });
    audited(&mut d, "revoke_devices", |d| {
        d.revoke_devices(ALICE, Which::All, "audit test").unwrap()
    });

    let id = challenge(&mut d, ALICE);
    d.advance_clock(mins(5));
    audited(&mut d, "verify (expired)", |d| verify(d, id, "000000"));

    let id = challenge(&mut d, ALICE);
    let wrong = other_code(&newest_code(&d, ALICE));
    for _ in 0..5 {
        verify(&mut d, id, &wrong);
    }
    audited(&mut d, "verify (closed)", |d| verify(d, id, &wrong));

    let id = challenge(&mut d, ALICE);
    for _ in 0..3 {
        d.advance_clock(secs(30));
        d.resend(id).unwrap();
    }
    d.advance_clock(secs(30));
    let out = audited(&mut d, "resend (limit)", |d| d.resend(id).unwrap());
    assert_eq!(out.result, ResendResult::Limit);
    let _ = sms;
}

#[test]
fn lockout_outcomes_write_one_audit_event_each() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    fail_n(&mut d, fid, 9);
    let id = challenge(&mut d, ALICE);
    let tenth = audited(&mut d, "verify (locking)", |d| fail_totp(d, id, fid));
    assert_eq!(tenth.result, VerifyResult::Locked);
    audited(&mut d, "verify (while locked)", |d| verify(d, id, "000000"));
    let s = audited(&mut d, "start_login (denied)", |d| {
        d.start_login(&login(ALICE)).unwrap()
    });
    assert_eq!(s.decision, Outcome::Denied);
    let last = &d
        .audit(&RecordQuery {
            limit: 1,
            ..RecordQuery::default()
        })
        .unwrap()[0];
    assert_eq!(last.kind, "login.denied");
    assert_eq!(last.ip.as_deref(), Some(HOME_IP));
}

// ------------------------------------------------------ 14. secrets at rest

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_database_file_alone_does_not_reveal_secrets_or_codes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("desk.db");
    let key_path = keyfile::default_path(&db);
    let mut d = Desk::create(
        &db,
        &keyfile::Source::File(key_path.clone()),
        Clock::fixed(t0()),
        Rng::seeded(7),
        ORIGIN_INIT,
    )
    .unwrap();
    add_user(&mut d, ALICE);
    let e = d.enrol_totp(ALICE).unwrap();
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &e.secret).unwrap();
    let confirm = totp_now(&d, ALICE, e.factor_id);
    d.confirm_factor(ALICE, e.factor_id, &confirm).unwrap();
    d.add_sms(ALICE, US_PHONE).unwrap();
    let sms = outbox(&d, ALICE)[0].text.clone();
    let sms_code = six_digits(&sms);
    let backup = d.generate_codes(ALICE).unwrap();
    d.advance_clock(secs(30));
    let id = challenge(&mut d, ALICE);
    let out = d
        .verify(id, &totp_now(&d, ALICE, e.factor_id), Some("Firefox"))
        .unwrap();
    let token = out.device_token.unwrap();
    drop(d);

    let mut bytes = std::fs::read(&db).unwrap();
    for suffix in ["-wal", "-journal"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        if let Ok(more) = std::fs::read(std::path::PathBuf::from(side)) {
            bytes.extend(more);
        }
    }
    // The file does hold the data (so the checks below are not vacuous).
    assert!(contains(&bytes, ALICE.as_bytes()));
    assert!(contains(&bytes, b"Authenticator app"));

    let key_hex = std::fs::read_to_string(&key_path).unwrap();
    assert!(!contains(&bytes, key_hex.trim().as_bytes()), "the key");
    assert!(!contains(&bytes, &secret), "the raw TOTP secret");
    assert!(!contains(&bytes, e.secret.as_bytes()), "the base32 secret");
    assert!(!contains(&bytes, e.secret.to_lowercase().as_bytes()));
    assert!(!contains(&bytes, e.uri.as_bytes()));
    assert!(!contains(&bytes, sms.as_bytes()), "the SMS text");
    assert!(
        !contains(&bytes, b"is your code to confirm"),
        "any SMS text"
    );
    assert!(!contains(&bytes, sms_code.as_bytes()), "the SMS code");
    assert!(!contains(&bytes, token.as_bytes()), "the device token");
    for code in &backup {
        assert!(!contains(&bytes, code.as_bytes()), "backup code {code}");
        let canonical = code.to_uppercase().replace('-', "");
        assert!(
            !contains(&bytes, canonical.as_bytes()),
            "backup code {code}"
        );
    }

    // With its key the database opens and the secret still works.
    let d = Desk::open(
        &db,
        &keyfile::Source::File(key_path),
        Clock::fixed(t0()),
        Rng::seeded(8),
    )
    .unwrap();
    assert_eq!(
        totp_now(&d, ALICE, e.factor_id),
        totp::code_at(&secret, t0())
    );
    assert_eq!(six_digits(&outbox(&d, ALICE)[0].text), sms_code);
}

// ---------------------------------------------------------------- keyset pages

#[test]
fn keyset_pages_read_from_either_end_in_list_order() {
    use factordesk::desk::Keyset;
    use factordesk::desk::users::ListQuery;
    let mut d = desk();
    for i in 0..30 {
        add_user(&mut d, &format!("u{i:03}@example.com"));
    }
    let q = ListQuery {
        limit: 5,
        ..ListQuery::default()
    };
    let emails = |at: Keyset<&str>| -> Vec<String> {
        d.users_page(&q, at)
            .unwrap()
            .into_iter()
            .map(|u| u.email.split('@').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        emails(Keyset::First),
        ["u000", "u001", "u002", "u003", "u004"]
    );
    assert_eq!(
        emails(Keyset::After("u004@example.com")),
        ["u005", "u006", "u007", "u008", "u009"]
    );
    assert_eq!(
        emails(Keyset::From("u004@example.com")),
        ["u004", "u005", "u006", "u007", "u008"]
    );
    // Backwards reads come back in list order, the nearest last.
    assert_eq!(
        emails(Keyset::Before("u010@example.com")),
        ["u005", "u006", "u007", "u008", "u009"]
    );
    assert_eq!(
        emails(Keyset::Last),
        ["u025", "u026", "u027", "u028", "u029"]
    );
    let all = ListQuery {
        limit: 1000,
        ..q.clone()
    };
    assert_eq!(d.list_users(&all).unwrap().len(), 30);
    let search = ListQuery {
        search: Some("u02".to_owned()),
        ..all
    };
    assert_eq!(d.list_users(&search).unwrap().len(), 10);

    // The audit trail is newest first: After is older, Before is newer.
    let q = RecordQuery {
        kind: Some("user.".to_owned()),
        limit: 3,
        ..RecordQuery::default()
    };
    let ids = |at: Keyset<i64>| -> Vec<i64> {
        d.audit_page(&q, at)
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect()
    };
    let newest = ids(Keyset::First);
    assert_eq!(newest.len(), 3);
    assert!(newest.windows(2).all(|w| w[0] > w[1]), "{newest:?}");
    let older = ids(Keyset::After(newest[2]));
    assert!(older[0] < newest[2]);
    assert_eq!(ids(Keyset::Before(older[0])), newest);
    assert_eq!(ids(Keyset::From(newest[1]))[..2], newest[1..]);
    let oldest = ids(Keyset::Last);
    assert!(oldest.windows(2).all(|w| w[0] > w[1]), "{oldest:?}");
    let everything = RecordQuery {
        limit: 1000,
        ..q.clone()
    };
    assert_eq!(d.audit(&everything).unwrap().len(), 30);
}
