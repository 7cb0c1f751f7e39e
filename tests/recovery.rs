//! The compromise response and the lost-phone re-enrolment at their edges:
//! what they remove and keep, the login before and after the new factor is
//! confirmed, the new password, the refusals; then the same through the CLI.

#![allow(clippy::unwrap_used)]

mod support;

use chrono::TimeDelta;
use factordesk::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use factordesk::desk::records::RecordQuery;
use factordesk::desk::users::NewUser;
use factordesk::desk::views::VerifyResult;
use factordesk::desk::{Desk, DeskError};
use factordesk::domain::login::{Outcome, SECURED, SECURED_NOT_ENROLLED};
use factordesk::domain::{Action, FactorKind, FactorStatus};

use support::cli::{factordesk, run};
use support::{T0, demo_desk, empty_desk};

const PASSWORD: &str = "correct horse battery staple";

fn login(email: &str, password: PasswordInput, device: Option<DeviceRef>) -> LoginRequest {
    LoginRequest {
        email: email.to_owned(),
        password,
        device,
        ip: Some("198.51.100.7".to_owned()),
        action: Action::Login,
        factor: None,
    }
}

/// Ana, with a confirmed authenticator, ten backup codes and a laptop she
/// asked to remember: the remembered laptop's token.
fn ana(desk: &mut Desk) -> String {
    let hash = desk.hash_password(PASSWORD).unwrap();
    desk.add_user(&NewUser {
        email: "ana@example.com".to_owned(),
        name: "Ana".to_owned(),
        password_hash: Some(hash),
        ..NewUser::default()
    })
    .unwrap();
    let e = desk.enrol_totp("ana@example.com").unwrap();
    let code = app_code(desk, e.factor_id);
    desk.confirm_enrolment("ana@example.com", e.factor_id, &code)
        .unwrap();
    desk.advance_clock(TimeDelta::seconds(30));
    let start = desk
        .start_login(&login("ana@example.com", PasswordInput::Assume, None))
        .unwrap();
    let code = app_code(desk, e.factor_id);
    let v = desk
        .verify(start.challenge_id.unwrap(), &code, Some("Laptop"))
        .unwrap();
    assert_eq!(v.result, VerifyResult::Accepted, "{v:?}");
    v.device_token.unwrap()
}

fn app_code(desk: &Desk, factor: i64) -> String {
    desk.authenticator_code("ana@example.com", factor, TimeDelta::zero())
        .unwrap()
}

fn plain(password: &str) -> PasswordInput {
    PasswordInput::Plain(password.to_owned())
}

#[test]
fn a_compromise_response_leaves_no_way_in_but_the_new_factor() {
    let mut desk = empty_desk(3);
    let token = ana(&mut desk);
    let email = "ana@example.com";
    let old = desk.factors(email).unwrap()[0].id;
    let old_code = app_code(&desk, old);
    // A login waiting for its code: cancelled by the response.
    let open = desk
        .start_login(&login(email, PasswordInput::Assume, None))
        .unwrap();
    let r = desk
        .treat_as_compromised(email, "code replayed from elsewhere")
        .unwrap();
    assert_eq!(
        (
            r.factors_removed,
            r.codes_removed,
            r.devices_revoked,
            r.challenges_cancelled
        ),
        (1, 10, 1, 1)
    );
    assert!(r.new_password_required);
    // The open login's code no longer works.
    assert!(
        desk.verify(open.challenge_id.unwrap(), &old_code, None)
            .is_err()
    );
    let detail = desk.user(email).unwrap();
    assert!(detail.profile.password_change);
    assert_eq!(detail.codes.total, 0);
    assert_eq!(detail.factors.len(), 1);
    assert_eq!(detail.factors[0].status, FactorStatus::Pending);
    assert_eq!(detail.factors[0].id, r.enrolment.factor_id);
    // Before the new app is confirmed: nothing gets in on the password,
    // not even from the laptop once remembered.
    for device in [None, Some(DeviceRef::Token(token.clone()))] {
        let s = desk
            .start_login(&login(email, plain(PASSWORD), device))
            .unwrap();
        assert_eq!(s.decision, Outcome::Denied, "{s:?}");
        assert_eq!(s.reasons.last().unwrap(), SECURED_NOT_ENROLLED);
    }
    // Even where enforcement would let a user without a factor in.
    desk.set_policy("enforce", "off", "test setup").unwrap();
    let s = desk
        .start_login(&login(email, plain(PASSWORD), None))
        .unwrap();
    assert_eq!(s.decision, Outcome::Denied, "{s:?}");
    desk.set_policy("enforce", "all", "test setup").unwrap();
    // Nor can the old password turn 2FA off, where policy would allow it.
    desk.set_policy("enforce", "admins", "test setup").unwrap();
    let off = desk.turn_off_2fa(email, PASSWORD, None).unwrap_err();
    assert!(
        matches!(&off, DeskError::Denied(why) if why.contains("until a new password is set")),
        "{off:?}"
    );
    assert_eq!(desk.factors(email).unwrap().len(), 1);
    desk.set_policy("enforce", "all", "test setup").unwrap();
    // The new app confirmed with them: backup codes come with it.
    let code = app_code(&desk, r.enrolment.factor_id);
    let c = desk
        .confirm_enrolment(email, r.enrolment.factor_id, &code)
        .unwrap();
    assert_eq!(c.backup_codes.unwrap().len(), 10);
    desk.advance_clock(TimeDelta::seconds(30));
    // The old password still gets as far as the code (only the new app
    // has it), and the login that gets in must set a new password.
    let s = desk
        .start_login(&login(email, plain(PASSWORD), None))
        .unwrap();
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    assert!(s.reasons.iter().any(|x| x == SECURED), "{s:?}");
    let v = desk
        .verify(
            s.challenge_id.unwrap(),
            &app_code(&desk, r.enrolment.factor_id),
            None,
        )
        .unwrap();
    assert_eq!(v.result, VerifyResult::Accepted, "{v:?}");
    assert!(v.message.contains("must set a new password now"), "{v:?}");
    // Still required until one is set; the help desk sets it.
    assert!(desk.user(email).unwrap().profile.password_change);
    let hash = desk.hash_password("a brand new passphrase").unwrap();
    desk.set_password(email, &hash).unwrap();
    assert!(!desk.user(email).unwrap().profile.password_change);
    let s = desk
        .start_login(&login(email, plain(PASSWORD), None))
        .unwrap();
    assert_eq!(s.decision, Outcome::Denied, "the old password: {s:?}");
    // One audit event says what the response did, and why.
    let events = desk
        .audit(&RecordQuery {
            user: Some(email.to_owned()),
            kind: Some("user.compromised".to_owned()),
            limit: 5,
            ..RecordQuery::default()
        })
        .unwrap();
    assert_eq!(events.len(), 1);
    assert!(
        events[0]
            .detail
            .starts_with("code replayed from elsewhere (1 factor(s) removed"),
        "{events:?}"
    );
}

#[test]
fn a_compromise_response_needs_a_reason_and_an_allowed_app_or_changes_nothing() {
    let mut desk = empty_desk(4);
    ana(&mut desk);
    let email = "ana@example.com";
    let before = desk.user(email).unwrap();
    let err = desk.treat_as_compromised(email, "  ").unwrap_err();
    assert!(matches!(err, DeskError::ReasonRequired(_)), "{err:?}");
    desk.set_policy("factors", "sms,email", "test setup")
        .unwrap();
    let err = desk
        .treat_as_compromised(email, "seen elsewhere")
        .unwrap_err();
    assert!(matches!(err, DeskError::KindNotAllowed { .. }), "{err:?}");
    // One transaction: nothing was revoked or removed on the way.
    let after = desk.user(email).unwrap();
    assert_eq!(after.factors, before.factors);
    assert_eq!(after.devices, before.devices);
    assert_eq!(after.codes.total, 10);
    assert!(!after.profile.password_change);
    let err = desk
        .treat_as_compromised("nobody@example.com", "x")
        .unwrap_err();
    assert!(matches!(err, DeskError::UnknownUser(_)), "{err:?}");
}

#[test]
fn a_lost_phone_is_replaced_without_a_new_grace_period() {
    let mut desk = demo_desk();
    let dave = "dave@example.com";
    let r = desk.reenrol(dave, "lost phone, identity checked").unwrap();
    assert!(!r.new_password_required);
    assert_eq!((r.factors_removed, r.codes_removed), (1, 10));
    let detail = desk.user(dave).unwrap();
    assert!(!detail.profile.password_change);
    // His grace ended long ago: no login on the password meanwhile.
    assert!(detail.grace_over, "{}", detail.standing);
    let s = desk
        .start_login(&LoginRequest {
            email: dave.to_owned(),
            password: PasswordInput::Assume,
            device: None,
            ip: None,
            action: Action::Login,
            factor: None,
        })
        .unwrap();
    assert_eq!(s.decision, Outcome::Denied, "{s:?}");
    let err = desk.reenrol(dave, "").unwrap_err();
    assert!(matches!(err, DeskError::ReasonRequired(_)), "{err:?}");
}

#[test]
fn only_a_first_authenticator_without_codes_brings_backup_codes() {
    let mut desk = demo_desk();
    let frank = "frank@example.com";
    // An email factor is not an authenticator: no codes with it.
    let e = desk.add_email(frank, None).unwrap();
    let code = support::newest_code(&desk, frank);
    let c = desk.confirm_enrolment(frank, e.factor_id, &code).unwrap();
    assert_eq!((c.factor.kind, c.backup_codes), (FactorKind::Email, None));
    // His first app, and no codes yet: a batch comes with it.
    let e = desk.enrol_totp(frank).unwrap();
    let code = desk
        .authenticator_code(frank, e.factor_id, TimeDelta::zero())
        .unwrap();
    let c = desk.confirm_enrolment(frank, e.factor_id, &code).unwrap();
    assert_eq!(c.factor.status, FactorStatus::Active);
    assert_eq!(c.backup_codes.map(|c| c.len()), Some(10));
    // Alice has codes: a second app brings none, and hers stay.
    let e = desk.enrol_totp("alice@example.com").unwrap();
    let code = desk
        .authenticator_code("alice@example.com", e.factor_id, TimeDelta::zero())
        .unwrap();
    let c = desk
        .confirm_enrolment("alice@example.com", e.factor_id, &code)
        .unwrap();
    assert_eq!(c.backup_codes, None);
    assert_eq!(desk.code_status("alice@example.com").unwrap().remaining, 10);
}

// ------------------------------------------------------------------- CLI

fn cli(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let mut cmd = factordesk(dir);
    cmd.args(["--db", "fd.db", "--now", T0]).args(args);
    let out = run(cmd, None);
    (out.code, out.stdout, out.stderr)
}

#[test]
fn the_cli_treats_an_account_as_compromised_and_confirms_with_codes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = cli(dir.path(), &["demo", "--no-open"]);
    assert_eq!(code, 0, "{err}");
    let mallory = "mallory@example.com";
    // The doctor names the command.
    let (_, out, _) = cli(dir.path(), &["doctor", mallory]);
    assert!(
        out.contains("factordesk user compromised mallory@example.com --reason"),
        "{out}"
    );
    let (code, _, err) = cli(dir.path(), &["user", "compromised", mallory]);
    assert_eq!(code, 2, "{err}");
    let (code, out, err) = cli(
        dir.path(),
        &["user", "compromised", mallory, "--reason", "replayed code"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("Treated as compromised: 1 factor(s)"),
        "{out}"
    );
    assert!(out.contains("must set a new password"), "{out}");
    let (_, json, _) = cli(dir.path(), &["factor", "list", mallory, "--json"]);
    let factors: serde_json::Value = serde_json::from_str(&json).unwrap();
    let id = factors[0]["id"].as_i64().unwrap();
    assert_eq!(factors[0]["status"], "pending");
    // The code its app shows, as the console's QR popup reads it.
    let desk = Desk::open(
        &dir.path().join("fd.db"),
        &factordesk::keyfile::Source::File(dir.path().join("fd.db.key")),
        factordesk::clock::Clock::fixed(support::now()),
        factordesk::rng::Rng::seeded(1),
    )
    .unwrap();
    let code = desk
        .authenticator_code(mallory, id, TimeDelta::zero())
        .unwrap();
    drop(desk);
    let (status, out, err) = cli(
        dir.path(),
        &["factor", "confirm", mallory, &id.to_string(), &code],
    );
    assert_eq!(status, 0, "{err}");
    assert!(out.contains("is active"), "{out}");
    assert!(
        out.contains("Backup codes for mallory@example.com"),
        "{out}"
    );
    assert_eq!(out.matches(". ").count(), 10, "{out}");
}
