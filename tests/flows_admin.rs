//! Library-level flow tests for the `desk` use cases: enforcement and
//! grace, resetting and disabling, and bad input refused with its fix;
//! each rule at its boundary, on a fixed clock and a seeded RNG.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::desk::DeskError;
use factordesk::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use factordesk::desk::records::RecordQuery;
use factordesk::desk::users::NewUser;
use factordesk::desk::views::{DeviceState, VerifyResult};
use factordesk::domain::login::Outcome;
use factordesk::domain::vocab::ChallengeState;
use factordesk::domain::{Role, UserStatus};

use support::flow::{
    ALICE, BOB, add_user, assert_says_what_to_do, challenge, days, desk, desk_with, has_reason,
    login, newest_code, remembered, secs, start, totp_now, verify, with_sms, with_totp,
};
use support::now as t0;

// ----------------------------------------------------------- 9. enforcement

#[test]
fn without_a_factor_login_is_allowed_during_grace_and_denied_after() {
    let mut d = desk_with(ALICE);
    d.advance_clock(days(6));
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
    assert_eq!(s.challenge_id, None);
    assert!(has_reason(&s, "enrolment is required by"), "{s:?}");
    assert_eq!(d.user(ALICE).unwrap().enrol_by, Some(t0() + days(7)));

    d.advance_clock(days(1) - secs(1));
    assert_eq!(start(&mut d, &login(ALICE)).decision, Outcome::Allowed);
    d.advance_clock(secs(1));
    assert_eq!(start(&mut d, &login(ALICE)).decision, Outcome::Denied);

    d.advance_clock(days(1));
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Denied, "{s:?}");
    assert!(has_reason(&s, "grace period"), "{s:?}");
    assert!(d.user(ALICE).unwrap().grace_over);
}

#[test]
fn with_enforcement_off_a_user_without_a_factor_may_log_in() {
    let mut d = desk_with(ALICE);
    d.advance_clock(days(8));
    d.set_policy("enforce", "off", "test").unwrap();
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
    assert!(has_reason(&s, "not enforced"), "{s:?}");
}

#[test]
fn enforcement_for_admins_only_spares_members() {
    let mut d = desk_with(ALICE);
    d.add_user(&NewUser {
        email: BOB.to_owned(),
        name: "Bob".to_owned(),
        role: Some(Role::Admin),
        ..NewUser::default()
    })
    .unwrap();
    d.set_policy("enforce", "admins", "test").unwrap();
    d.advance_clock(days(8));
    assert_eq!(start(&mut d, &login(ALICE)).decision, Outcome::Allowed);
    assert_eq!(start(&mut d, &login(BOB)).decision, Outcome::Denied);
}

#[test]
fn changing_enforcement_restarts_grace_but_setting_it_again_does_not() {
    let mut d = desk_with(ALICE);
    d.advance_clock(days(8));
    assert_eq!(start(&mut d, &login(ALICE)).decision, Outcome::Denied);

    // Setting the value it already has is not a change: no new grace.
    d.set_policy("enforce", "all", "test").unwrap();
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Denied, "{s:?}");

    // A real change (off, then all again) does restart it.
    d.set_policy("enforce", "off", "test").unwrap();
    d.set_policy("enforce", "all", "test").unwrap();
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
    assert_eq!(d.user(ALICE).unwrap().enrol_by, Some(d.now() + days(7)));
}

#[test]
fn a_policy_change_needs_a_reason_and_the_audit_trail_keeps_it() {
    let mut d = desk_with(ALICE);
    for why in ["", "   "] {
        let e = d.set_policy("enforce", "off", why).unwrap_err();
        assert!(matches!(e, DeskError::ReasonRequired(_)), "{e:?}");
    }
    assert_eq!(
        d.policy().unwrap().enforce.to_string(),
        "all",
        "nothing changed"
    );
    let e = d.set_policy("enforce", "off", "line\nbreak").unwrap_err();
    assert!(e.to_string().contains("line break"), "{e}");
    d.set_policy("enforce", "off", "  pilot   over ").unwrap();
    let event = d
        .audit(&RecordQuery {
            kind: Some("policy.set".to_owned()),
            limit: 1,
            ..RecordQuery::default()
        })
        .unwrap()
        .remove(0);
    assert_eq!(
        event.detail,
        "enforce: all -> off (users without a factor have 7 day(s) from now to enrol): pilot over"
    );
}

// ---------------------------------------------------- 10. reset and disable

#[test]
fn reset_2fa_removes_factors_and_codes_and_revokes_devices() {
    let (mut d, _, token) = remembered();
    with_sms(&mut d, ALICE);
    d.generate_codes(ALICE).unwrap();
    assert_eq!(d.factors(ALICE).unwrap().len(), 2);
    let audit = d.audit_count().unwrap();

    for blank in ["", "   \n\t"] {
        let err = d.reset_2fa(ALICE, blank).unwrap_err();
        assert!(matches!(err, DeskError::ReasonRequired(_)), "{err:?}");
        assert_says_what_to_do(&err, "--reason");
    }
    assert_eq!(
        d.audit_count().unwrap(),
        audit,
        "a refused reset writes nothing"
    );
    assert_eq!(d.factors(ALICE).unwrap().len(), 2);

    let report = d.reset_2fa(ALICE, "lost phone, identity checked").unwrap();
    assert_eq!(report.factors_removed, 2);
    assert_eq!(report.codes_removed, 10);
    assert_eq!(report.devices_revoked, 1);
    assert!(d.factors(ALICE).unwrap().is_empty());
    let status = d.code_status(ALICE).unwrap();
    assert_eq!((status.remaining, status.total), (0, 0));
    let devices = d.devices(ALICE).unwrap();
    assert!(devices.iter().all(|x| x.state == DeviceState::Revoked));
    assert!(
        devices[0]
            .revoked_reason
            .as_deref()
            .unwrap()
            .contains("lost phone")
    );
    let u = d.user(ALICE).unwrap();
    assert!(!u.profile.phone_verified);
    assert!(u.factors.is_empty());
    let last = &d
        .audit(&RecordQuery {
            limit: 1,
            ..RecordQuery::default()
        })
        .unwrap()[0];
    assert_eq!(last.kind, "user.reset_2fa");
    assert!(
        last.detail.contains("lost phone, identity checked"),
        "{}",
        last.detail
    );
    // The remembered computer no longer counts for anything.
    assert_eq!(d.user_summary(ALICE).unwrap().devices, 0);
    let _ = token;
}

#[test]
fn a_disabled_user_is_denied_and_their_open_challenges_are_cancelled() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    let id = challenge(&mut d, ALICE);
    let err = d
        .set_user_status(ALICE, UserStatus::Disabled, "")
        .unwrap_err();
    assert!(matches!(err, DeskError::ReasonRequired(_)), "{err:?}");
    let s = d
        .set_user_status(ALICE, UserStatus::Disabled, "left the company")
        .unwrap();
    assert_eq!(s.status, UserStatus::Disabled);
    assert_eq!(d.challenge(id).unwrap().state, ChallengeState::Cancelled);
    let code = totp_now(&d, ALICE, fid);
    let err = d.verify(id, &code, None).unwrap_err();
    assert!(matches!(err, DeskError::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("start a new login"), "{err}");

    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Denied, "{s:?}");
    assert!(has_reason(&s, "disabled"), "{s:?}");

    // Disabling twice is refused; enabling lets them in again.
    assert!(matches!(
        d.set_user_status(ALICE, UserStatus::Disabled, "again"),
        Err(DeskError::AlreadyStatus { .. })
    ));
    d.set_user_status(ALICE, UserStatus::Active, "came back")
        .unwrap();
    assert_eq!(start(&mut d, &login(ALICE)).decision, Outcome::Challenge);
}

#[test]
fn the_password_step_is_checked() {
    let mut d = desk();
    let hash = d.hash_password("correct horse battery staple").unwrap();
    d.add_user(&NewUser {
        email: ALICE.to_owned(),
        name: "Alice".to_owned(),
        password_hash: Some(hash),
        ..NewUser::default()
    })
    .unwrap();
    with_totp(&mut d, ALICE);
    let s = start(
        &mut d,
        &LoginRequest {
            password: PasswordInput::Plain("wrong".to_owned()),
            ..login(ALICE)
        },
    );
    assert_eq!(s.decision, Outcome::Denied, "{s:?}");
    assert!(has_reason(&s, "password is incorrect"), "{s:?}");
    let s = start(
        &mut d,
        &LoginRequest {
            password: PasswordInput::Plain("correct horse battery staple".to_owned()),
            ..login(ALICE)
        },
    );
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    // No password set at all is refused, not assumed.
    add_user(&mut d, BOB);
    let s = start(
        &mut d,
        &LoginRequest {
            password: PasswordInput::Plain("anything".to_owned()),
            ..login(BOB)
        },
    );
    assert_eq!(s.decision, Outcome::Denied, "{s:?}");
}

// ------------------------------------------------------------ 11. bad input

#[test]
fn an_unknown_user_is_named_with_the_fix() {
    let mut d = desk_with(ALICE);
    let err = d.user("nobody@example.com").unwrap_err();
    assert!(matches!(err, DeskError::UnknownUser(_)), "{err:?}");
    assert!(err.to_string().contains("nobody@example.com"));
    assert_says_what_to_do(&err, "factordesk user list");
    let err = d.start_login(&login("nobody@example.com")).unwrap_err();
    assert!(matches!(err, DeskError::UnknownUser(_)), "{err:?}");
    let err = d.enrol_totp("nobody@example.com").unwrap_err();
    assert!(matches!(err, DeskError::UnknownUser(_)), "{err:?}");
    // Lookups ignore case, like the uniqueness rule.
    assert_eq!(d.user("ALICE@Example.COM").unwrap().profile.email, ALICE);
}

#[test]
fn a_duplicate_email_is_refused_whatever_its_case() {
    let mut d = desk_with(ALICE);
    let audit = d.audit_count().unwrap();
    let err = d
        .add_user(&NewUser {
            email: "Alice@EXAMPLE.com".to_owned(),
            name: "Other Alice".to_owned(),
            ..NewUser::default()
        })
        .unwrap_err();
    assert!(matches!(err, DeskError::DuplicateEmail(_)), "{err:?}");
    assert_says_what_to_do(&err, "pick another address");
    assert_eq!(d.audit_count().unwrap(), audit);
    let all = d
        .list_users(&factordesk::desk::users::ListQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 1);

    // Beyond ASCII too: one address, whatever the case, found either way.
    let zoe = |email: &str| NewUser {
        email: email.to_owned(),
        name: "Zoë".to_owned(),
        ..NewUser::default()
    };
    d.add_user(&zoe("zoë@exämple.com")).unwrap();
    let err = d.add_user(&zoe("ZOË@EXÄMPLE.COM")).unwrap_err();
    assert!(matches!(err, DeskError::DuplicateEmail(_)), "{err:?}");
    assert_eq!(
        d.user("ZOË@EXÄMPLE.COM").unwrap().profile.email,
        "zoë@exämple.com"
    );
}

#[test]
fn malformed_emails_and_phones_are_refused() {
    let mut d = desk_with(ALICE);
    for bad in [
        "not-an-email",
        "a@b",
        "two@@example.com",
        "sp ace@example.com",
    ] {
        let err = d
            .add_user(&NewUser {
                email: bad.to_owned(),
                ..NewUser::default()
            })
            .unwrap_err();
        assert!(matches!(err, DeskError::Contact(_)), "{bad}: {err:?}");
        assert_says_what_to_do(&err, "name@example.com");
    }
    for bad in [
        "4155550123",
        "+1415555012",
        "+1 415 555 0123 4",
        "+44abc",
        "12345",
    ] {
        let err = d.add_sms(ALICE, bad).unwrap_err();
        assert!(matches!(err, DeskError::Contact(_)), "{bad}: {err:?}");
        assert_says_what_to_do(&err, "+14155550123");
        let err = d
            .add_user(&NewUser {
                email: "carol@example.com".to_owned(),
                phone: Some(bad.to_owned()),
                ..NewUser::default()
            })
            .unwrap_err();
        assert!(matches!(err, DeskError::Contact(_)), "{bad}: {err:?}");
    }
    let err = d.add_email(ALICE, Some("nope")).unwrap_err();
    assert!(matches!(err, DeskError::Contact(_)), "{err:?}");
    assert!(d.factors(ALICE).unwrap().is_empty());
    assert!(d.user("carol@example.com").is_err());
}

#[test]
fn a_code_that_is_not_a_code_changes_nothing() {
    let mut d = desk_with(ALICE);
    with_sms(&mut d, ALICE);
    let id = challenge(&mut d, ALICE);
    let audit = d.audit_count().unwrap();
    for bad in ["12345", "1234567", "12a456", "", "hello", "abcd-efgh"] {
        let err = d.verify(id, bad, None).unwrap_err();
        assert!(matches!(err, DeskError::Code(_)), "{bad:?}: {err:?}");
        assert_says_what_to_do(&err, "6 digits");
    }
    assert_eq!(d.challenge(id).unwrap().attempts_left, 5);
    assert_eq!(d.user(ALICE).unwrap().lock.failures, 0);
    assert_eq!(d.audit_count().unwrap(), audit);
    // The right code still works afterwards.
    let code = newest_code(&d, ALICE);
    assert_eq!(verify(&mut d, id, &code).result, VerifyResult::Accepted);

    // Confirming a factor takes only six digits, and also counts nothing.
    let e = d.enrol_totp(ALICE).unwrap();
    let err = d.confirm_factor(ALICE, e.factor_id, "12a456").unwrap_err();
    assert!(matches!(err, DeskError::Code(_)), "{err:?}");
}

#[test]
fn an_unknown_challenge_factor_or_device_is_named_with_the_fix() {
    let mut d = desk_with(ALICE);
    let err = d.verify(4242, "123456", None).unwrap_err();
    assert!(matches!(err, DeskError::UnknownChallenge(4242)), "{err:?}");
    assert_says_what_to_do(&err, "factordesk login start");
    assert!(matches!(
        d.resend(4242),
        Err(DeskError::UnknownChallenge(4242))
    ));
    assert!(matches!(
        d.challenge(4242),
        Err(DeskError::UnknownChallenge(4242))
    ));

    let err = d.confirm_factor(ALICE, 77, "123456").unwrap_err();
    assert!(matches!(err, DeskError::UnknownFactor { .. }), "{err:?}");
    assert_says_what_to_do(&err, "factordesk factor list");
    let err = d.remove_factor(ALICE, 77, "replaced").unwrap_err();
    assert!(matches!(err, DeskError::UnknownFactor { .. }), "{err:?}");

    // Another user's factor is not yours.
    add_user(&mut d, BOB);
    let bobs = d.enrol_totp(BOB).unwrap();
    let err = d
        .remove_factor(ALICE, bobs.factor_id, "replaced")
        .unwrap_err();
    assert!(matches!(err, DeskError::UnknownFactor { .. }), "{err:?}");
    assert_eq!(d.factors(BOB).unwrap().len(), 1);

    let err = d
        .start_login(&LoginRequest {
            device: Some(DeviceRef::Id(5)),
            ..login(ALICE)
        })
        .unwrap_err();
    assert!(matches!(err, DeskError::UnknownDevice { .. }), "{err:?}");
    assert_says_what_to_do(&err, "factordesk device list");

    let err = d
        .start_login(&LoginRequest {
            ip: Some("not-an-ip".to_owned()),
            ..login(ALICE)
        })
        .unwrap_err();
    assert!(matches!(err, DeskError::Refused(_)), "{err:?}");
    assert_says_what_to_do(&err, "203.0.113.9");
}

#[test]
fn choosing_a_factor_that_is_not_active_is_refused() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    let pending = d.add_email(ALICE, None).unwrap().factor_id;
    let err = d
        .start_login(&LoginRequest {
            factor: Some(pending),
            ..login(ALICE)
        })
        .unwrap_err();
    assert!(matches!(err, DeskError::Choice(_)), "{err:?}");
    assert_says_what_to_do(&err, "confirm or enable it");
    // The active one can be asked for by id.
    let s = start(
        &mut d,
        &LoginRequest {
            factor: Some(fid),
            ..login(ALICE)
        },
    );
    assert_eq!(s.factor.unwrap().id, fid);
}

#[test]
fn a_disabled_factor_cannot_complete_a_challenge() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    let id = challenge(&mut d, ALICE);
    d.set_factor_enabled(ALICE, fid, false, "lost phone")
        .unwrap();
    let code = totp_now(&d, ALICE, fid);
    let err = d.verify(id, &code, None).unwrap_err();
    assert!(matches!(err, DeskError::Refused(_)), "{err:?}");
    d.set_factor_enabled(ALICE, fid, true, "found it").unwrap();
    assert_eq!(verify(&mut d, id, &code).result, VerifyResult::Accepted);
}

// ------------------------------------------- reset grace and id stability

#[test]
fn a_reset_gives_a_fresh_enrolment_grace() {
    let mut d = desk_with(ALICE);
    with_totp(&mut d, ALICE);
    // Long past the account's own grace period.
    d.advance_clock(days(40));
    d.reset_2fa(ALICE, "lost phone, identity checked").unwrap();
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
    assert!(
        s.reasons
            .iter()
            .any(|r| r.contains("enrolment is required by")),
        "{s:?}"
    );
    // Seven days after the reset the grace is over.
    d.advance_clock(days(7));
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Denied, "{s:?}");
}

#[test]
fn a_removed_factor_id_is_never_reused() {
    let mut d = desk_with(ALICE);
    let first = d.enrol_totp(ALICE).unwrap().factor_id;
    d.remove_factor(ALICE, first, "replaced").unwrap();
    let second = d.enrol_totp(ALICE).unwrap().factor_id;
    assert!(second > first, "{second} after {first}");
}

#[test]
fn a_challenge_on_a_removed_factor_says_so() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    let id = challenge(&mut d, ALICE);
    d.remove_factor(ALICE, fid, "replaced").unwrap();
    let err = d.verify(id, "123456", None).unwrap_err();
    assert!(err.to_string().contains("cancelled"), "{err}");
}

#[test]
fn users_turn_their_own_2fa_off_only_as_policy_allows() {
    let mut d = desk_with(ALICE);
    let hash = d.hash_password("right password").unwrap();
    d.set_password(ALICE, &hash).unwrap();
    with_totp(&mut d, ALICE);
    // Required for everyone by default: it cannot be turned off.
    let err = d.turn_off_2fa(ALICE, "right password", None).unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("enforce=all"), "{err}");
    d.set_policy("enforce", "off", "test").unwrap();
    // The password decides.
    let err = d.turn_off_2fa(ALICE, "wrong password", None).unwrap_err();
    assert!(err.to_string().contains("password is incorrect"), "{err}");
    assert_eq!(d.factors(ALICE).unwrap().len(), 1);
    // An admin-only policy refuses even the right password.
    d.set_policy("self_disable", "admin", "test").unwrap();
    assert!(
        d.turn_off_2fa(ALICE, "right password", None)
            .unwrap_err()
            .to_string()
            .contains("only an admin")
    );
    d.set_policy("self_disable", "password", "test").unwrap();
    let r = d.turn_off_2fa(ALICE, "right password", None).unwrap();
    assert_eq!(r.factors_removed, 1);
    assert!(d.factors(ALICE).unwrap().is_empty());
    assert_eq!(start(&mut d, &login(ALICE)).decision, Outcome::Allowed);
}
