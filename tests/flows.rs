//! Library-level flow tests for the `desk` use cases: enrolling an
//! authenticator or a phone, codes sent and their lifetimes, attempts per
//! challenge, and the outbox's code that works now; each rule at its
//! boundary over an in-memory database, a fixed clock and a seeded RNG.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::desk::users::Edit;
use factordesk::desk::views::{ResendResult, VerifyResult};
use factordesk::desk::{Desk, DeskError};
use factordesk::domain::login::Outcome;
use factordesk::domain::vocab::{ChallengeState, DeliveryStatus};
use factordesk::domain::{Action, FactorKind, FactorStatus, totp};

use support::flow::{
    ALICE, BOB, HOME_IP, UK_PHONE, US_PHONE, add_user, assert_says_what_to_do, challenge,
    desk_with, has_reason, login, mins, newest_code, other_code, outbox, said, secs, six_digits,
    start, totp_now, verify, with_sms, with_sms_to, with_totp,
};
use support::now as t0;

// ------------------------------------------------------- 1. TOTP enrolment

#[test]
fn totp_enrolment_is_pending_until_the_current_code_confirms_it() {
    let mut d = desk_with(ALICE);
    let e = d.enrol_totp(ALICE).unwrap();
    assert_eq!(e.secret.len(), 32, "160 bits in base32");
    assert!(
        e.uri.starts_with(&format!(
            "otpauth://totp/factordesk:{ALICE}?secret={}&issuer=factordesk",
            e.secret
        )),
        "{}",
        e.uri
    );
    let f = &d.factors(ALICE).unwrap()[0];
    assert_eq!(
        (f.id, f.kind, f.status),
        (e.factor_id, FactorKind::Totp, FactorStatus::Pending)
    );

    // What the app shows is RFC 6238 over the enrolment secret.
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, &e.secret).unwrap();
    assert_eq!(secret.len(), 20);
    let code = totp::code_at(&secret, d.now());
    assert_eq!(code, totp_now(&d, ALICE, e.factor_id));

    // A wrong code is denied (exit 3) and leaves it pending.
    let err = d
        .confirm_factor(ALICE, e.factor_id, &other_code(&code))
        .unwrap_err();
    assert!(matches!(err, DeskError::Denied(_)), "{err:?}");
    assert_eq!(err.exit_code(), 3);
    assert_eq!(d.factors(ALICE).unwrap()[0].status, FactorStatus::Pending);
    assert!(d.user_summary(ALICE).unwrap().factor_kinds.is_empty());

    // The current code confirms it.
    let f = d.confirm_factor(ALICE, e.factor_id, &code).unwrap();
    assert_eq!(f.status, FactorStatus::Active);
    assert_eq!(f.confirmed_at, Some(t0()));
    assert_eq!(
        d.user_summary(ALICE).unwrap().factor_kinds,
        vec![FactorKind::Totp]
    );
    // Confirming again is refused: it is no longer pending.
    let err = d.confirm_factor(ALICE, e.factor_id, &code).unwrap_err();
    assert!(matches!(err, DeskError::NotPending { .. }), "{err:?}");
}

#[test]
fn a_totp_code_signs_in_once_and_is_replayed_after() {
    let mut d = desk_with(ALICE);
    let e = d.enrol_totp(ALICE).unwrap();
    let confirming = totp_now(&d, ALICE, e.factor_id);
    d.confirm_factor(ALICE, e.factor_id, &confirming).unwrap();

    // The code that confirmed the factor cannot also sign in.
    let id = challenge(&mut d, ALICE);
    let out = verify(&mut d, id, &confirming);
    assert_eq!(out.result, VerifyResult::Replayed, "{out:?}");

    d.advance_clock(secs(30));
    let code = totp_now(&d, ALICE, e.factor_id);
    let id = challenge(&mut d, ALICE);
    let out = verify(&mut d, id, &code);
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
    assert_eq!(out.used.as_deref(), Some("totp"));
    assert_eq!(d.challenge(id).unwrap().state, ChallengeState::Accepted);
    let f = &d.factors(ALICE).unwrap()[0];
    assert_eq!(f.last_used_at, Some(d.now()));
    assert_eq!(f.last_used_ip.as_deref(), Some(HOME_IP));
    assert_eq!(d.user(ALICE).unwrap().profile.last_login_at, Some(d.now()));

    // A new login in the same 30 s step with the same code is a replay.
    d.advance_clock(secs(10));
    let id = challenge(&mut d, ALICE);
    let out = verify(&mut d, id, &code);
    assert_eq!(out.result, VerifyResult::Replayed, "{out:?}");
    assert!(out.message.contains("already used"), "{}", out.message);
    assert_eq!(out.attempts_left, 4);
    // The next step's code still works on that challenge.
    d.advance_clock(secs(20));
    let next = totp_now(&d, ALICE, e.factor_id);
    assert_ne!(next, code);
    assert_eq!(verify(&mut d, id, &next).result, VerifyResult::Accepted);

    // A code from a step before the last one used is refused as older
    // (whether or not it was used itself), and said so.
    let id = challenge(&mut d, ALICE);
    let out = verify(&mut d, id, &code);
    assert_eq!(out.result, VerifyResult::Replayed, "{out:?}");
    assert!(
        out.message
            .starts_with("That code is older than the last one used"),
        "{}",
        out.message
    );
}

#[test]
fn a_new_enrolment_replaces_a_pending_one() {
    let mut d = desk_with(ALICE);
    let first = d.enrol_totp(ALICE).unwrap();
    let second = d.enrol_totp(ALICE).unwrap();
    assert_ne!(first.secret, second.secret);
    let factors = d.factors(ALICE).unwrap();
    assert_eq!(factors.len(), 1);
    assert_eq!(factors[0].id, second.factor_id);
}

// ------------------------------------------------------------------ 2. SMS

#[test]
fn sms_enrolment_confirms_the_factor_and_the_phone() {
    let mut d = desk_with(ALICE);
    let e = d.add_sms(ALICE, "+1 (415) 555-0123").unwrap();
    assert_eq!(e.kind, FactorKind::Sms);
    assert_eq!(e.delivery.status, DeliveryStatus::Delivered);
    assert_eq!(e.destination, "+1 ******0123");
    assert_eq!(e.expires_at, t0() + mins(5));
    let profile = d.user(ALICE).unwrap().profile;
    assert_eq!(profile.phone.as_deref(), Some(US_PHONE));
    assert!(!profile.phone_verified);
    assert_eq!(d.factors(ALICE).unwrap()[0].status, FactorStatus::Pending);

    let msg = &outbox(&d, ALICE)[0];
    assert_eq!(msg.challenge_id, Some(e.challenge_id));
    assert!(
        msg.text.contains("to confirm this phone number"),
        "{}",
        msg.text
    );
    let code = six_digits(&msg.text);

    // A wrong code is denied and counts against the enrolment challenge.
    let err = d
        .confirm_factor(ALICE, e.factor_id, &other_code(&code))
        .unwrap_err();
    assert!(
        matches!(err, DeskError::WrongConfirmation { left: 4, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("4 attempt(s) left"), "{err}");
    assert_eq!(d.challenge(e.challenge_id).unwrap().attempts_left, 4);

    let f = d.confirm_factor(ALICE, e.factor_id, &code).unwrap();
    assert_eq!(f.status, FactorStatus::Active);
    let profile = d.user(ALICE).unwrap().profile;
    assert_eq!(profile.phone.as_deref(), Some(US_PHONE));
    assert!(profile.phone_verified);
    assert_eq!(
        d.challenge(e.challenge_id).unwrap().state,
        ChallengeState::Accepted
    );
}

#[test]
fn five_wrong_confirmation_codes_say_to_add_the_factor_again_which_works() {
    let mut d = desk_with(ALICE);
    let e = d.add_sms(ALICE, US_PHONE).unwrap();
    let wrong = other_code(&newest_code(&d, ALICE));
    for left in (1..5).rev() {
        let err = d.confirm_factor(ALICE, e.factor_id, &wrong).unwrap_err();
        assert!(
            err.to_string().contains(&format!("{left} attempt(s) left")),
            "{err}"
        );
    }
    let err = d.confirm_factor(ALICE, e.factor_id, &wrong).unwrap_err();
    assert!(
        matches!(err, DeskError::ConfirmationsUsedUp { max: 5, .. }),
        "{err:?}"
    );
    assert!(
        said(&err)
            .ends_with("add the factor again to send a new code (`factordesk factor add-sms alice@example.com +14155550123`)"),
        "{err}"
    );
    // Adding it again replaces the unconfirmed factor and sends a new code.
    let again = d.add_sms(ALICE, US_PHONE).unwrap();
    assert_ne!(again.factor_id, e.factor_id);
    assert_eq!(d.factors(ALICE).unwrap().len(), 1);
    let code = newest_code(&d, ALICE);
    let f = d.confirm_factor(ALICE, again.factor_id, &code).unwrap();
    assert_eq!(f.status, FactorStatus::Active);
    // A confirmed factor is not replaced by adding another.
    assert!(d.add_sms(ALICE, US_PHONE).is_err());
}

#[test]
fn sms_only_goes_to_allowed_country_codes() {
    let mut d = desk_with(ALICE);
    add_user(&mut d, BOB);
    let err = d.add_sms(BOB, UK_PHONE).unwrap_err();
    assert!(
        matches!(err, DeskError::CountryNotAllowed { code: 44, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("+44"), "{err}");
    assert!(said(&err).contains("sms_countries"), "{err}");
    assert!(d.factors(BOB).unwrap().is_empty());
    assert!(outbox(&d, BOB).is_empty());

    d.set_policy("sms_countries", "1,44", "test").unwrap();
    with_sms_to(&mut d, BOB, UK_PHONE);
    assert!(d.user(BOB).unwrap().profile.phone_verified);

    d.set_policy("sms_countries", "1", "test").unwrap();
    let s = start(&mut d, &login(BOB));
    assert_eq!(s.decision, Outcome::Challenge);
    let delivery = s.delivery.clone().unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    let reason = delivery.reason.unwrap();
    assert!(reason.contains("+44"), "{reason}");
    assert!(has_reason(&s, "No code reached them"), "{s:?}");
    assert!(!has_reason(&s, "A code was sent"), "{s:?}");
    let msg = &outbox(&d, BOB)[0];
    assert_eq!(msg.status, DeliveryStatus::Failed);
    assert!(msg.reason.as_deref().unwrap().contains("+44"));
    assert!(!msg.valid_now);
    // The code in a message that never left does not work: the outbox and
    // the check agree.
    let undelivered = six_digits(&msg.text);
    let id = s.challenge_id.unwrap();
    let v = verify(&mut d, id, &undelivered);
    assert_eq!(v.result, VerifyResult::Invalid, "{v:?}");
    assert!(v.message.contains("never delivered"), "{v:?}");
    // Once the country is allowed, keep mode re-sends that same code, which
    // now arrives and works.
    d.set_policy("sms_countries", "1,44", "test").unwrap();
    d.set_policy("resend_mode", "keep", "test").unwrap();
    d.advance_clock(secs(30));
    assert_eq!(d.resend(id).unwrap().result, ResendResult::Sent);
    assert!(outbox(&d, BOB)[0].valid_now);
    assert_eq!(
        verify(&mut d, id, &undelivered).result,
        VerifyResult::Accepted
    );
    d.set_policy("sms_countries", "1", "test").unwrap();

    // A +1 number is unaffected.
    with_sms(&mut d, ALICE);
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.delivery.unwrap().status, DeliveryStatus::Delivered);
}

#[test]
fn a_new_phone_number_must_be_confirmed_again() {
    let mut d = desk_with(ALICE);
    let fid = with_sms(&mut d, ALICE);
    let before = outbox(&d, ALICE).len();
    // Not to a country SMS cannot reach: refused, nothing changed.
    let err = d
        .edit_user(
            ALICE,
            &Edit {
                phone: Some(UK_PHONE.to_owned()),
                ..Edit::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("+44"), "{err}");
    let u = d.user(ALICE).unwrap();
    assert_eq!(u.profile.phone.as_deref(), Some(US_PHONE));
    assert!(u.profile.phone_verified);
    assert_eq!(u.factors[0].status, FactorStatus::Active);

    let new_phone = "+12125550199";
    d.edit_user(
        ALICE,
        &Edit {
            phone: Some(new_phone.to_owned()),
            ..Edit::default()
        },
    )
    .unwrap();
    let u = d.user(ALICE).unwrap();
    assert_eq!(u.profile.phone.as_deref(), Some(new_phone));
    assert!(!u.profile.phone_verified);
    assert_eq!(u.factors[0].status, FactorStatus::Pending);
    assert_eq!(u.factors[0].destination.as_deref(), Some("+1 ******0199"));
    let msgs = outbox(&d, ALICE);
    assert_eq!(msgs.len(), before + 1);
    assert_eq!(msgs[0].destination, "+1 ******0199");
    assert!(msgs[0].text.contains("to confirm this phone number"));
    let code = six_digits(&msgs[0].text);
    d.confirm_factor(ALICE, fid, &code).unwrap();
    let u = d.user(ALICE).unwrap();
    assert!(u.profile.phone_verified);
    assert_eq!(u.factors[0].status, FactorStatus::Active);
}

#[test]
fn a_new_login_closes_the_one_before_so_only_the_newest_code_works() {
    let mut d = desk_with(ALICE);
    let e = d.add_sms(ALICE, US_PHONE).unwrap();
    d.confirm_factor(ALICE, e.factor_id, &newest_code(&d, ALICE))
        .unwrap();
    let first = challenge(&mut d, ALICE);
    let first_code = newest_code(&d, ALICE);
    d.advance_clock(secs(40));
    let second = challenge(&mut d, ALICE);
    let second_code = newest_code(&d, ALICE);
    let err = d.verify(first, &first_code, None).unwrap_err();
    assert_says_what_to_do(&err, "start a new login");
    // The refused attempt at the closed challenge counted nothing.
    assert_eq!(
        verify(&mut d, second, &second_code).result,
        VerifyResult::Accepted
    );
    assert!(
        !outbox(&d, ALICE)[1].valid_now,
        "the first message is marked dead"
    );

    // An export step-up and a login are separate: one does not close the other.
    let mut req = login(ALICE);
    req.action = Action::Export;
    let export = start(&mut d, &req).challenge_id.unwrap();
    let export_code = newest_code(&d, ALICE);
    let _login = challenge(&mut d, ALICE);
    assert_eq!(
        verify(&mut d, export, &export_code).result,
        VerifyResult::Accepted
    );
}

#[test]
fn a_code_only_works_at_its_own_challenge_and_for_its_own_user() {
    let mut d = desk_with(ALICE);
    let e = d.add_sms(ALICE, US_PHONE).unwrap();
    let enrol_code = newest_code(&d, ALICE);
    d.confirm_factor(ALICE, e.factor_id, &enrol_code).unwrap();
    let a = challenge(&mut d, ALICE);
    let code_a = newest_code(&d, ALICE);
    let b_start = start(&mut d, &login(ALICE));
    assert!(
        has_reason(&b_start, "earlier login challenge was closed"),
        "{b_start:?}"
    );
    let b = b_start.challenge_id.unwrap();
    let code_b = newest_code(&d, ALICE);
    assert_ne!(code_a, code_b);
    for wrong in [&enrol_code, &code_a] {
        if wrong != &code_b {
            assert_eq!(verify(&mut d, b, wrong).result, VerifyResult::Invalid);
        }
    }
    assert_eq!(verify(&mut d, b, &code_b).result, VerifyResult::Accepted);
    assert!(
        d.verify(a, &code_a, None).is_err(),
        "the newer login closed it"
    );

    // Bob's backup codes are not Alice's.
    add_user(&mut d, BOB);
    let bobs = d.generate_codes(BOB).unwrap();
    let id = challenge(&mut d, ALICE);
    assert_eq!(verify(&mut d, id, &bobs[0]).result, VerifyResult::Invalid);
    assert_eq!(d.code_status(BOB).unwrap().remaining, 10);
}

#[test]
fn an_undeliverable_email_address_fails_with_a_reason() {
    let mut d = desk_with(ALICE);
    let e = d
        .add_email(ALICE, Some("alice@mail.example.invalid"))
        .unwrap();
    assert_eq!(e.delivery.status, DeliveryStatus::Failed);
    assert!(
        e.delivery
            .reason
            .as_deref()
            .unwrap()
            .contains("mail.example.invalid")
    );
    assert!(!outbox(&d, ALICE)[0].valid_now);
}

// ------------------------------------------------------ 3. code lifetimes

#[test]
fn an_sms_code_works_until_one_second_before_five_minutes() {
    let mut d = desk_with(ALICE);
    with_sms(&mut d, ALICE);
    let s = start(&mut d, &login(ALICE));
    let id = s.challenge_id.unwrap();
    assert_eq!(s.expires_at, Some(d.now() + mins(5)));
    assert_eq!(s.attempts_left, Some(5));
    let text = &outbox(&d, ALICE)[0].text;
    assert!(text.contains("sign-in code"), "{text}");
    assert!(text.contains("expires in 5 minutes"), "{text}");
    let code = six_digits(text);
    d.advance_clock(mins(5) - secs(1));
    let out = verify(&mut d, id, &code);
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
    assert_eq!(out.used.as_deref(), Some("sms"));
}

#[test]
fn an_sms_code_is_expired_at_exactly_five_minutes() {
    let mut d = desk_with(ALICE);
    with_sms(&mut d, ALICE);
    let id = challenge(&mut d, ALICE);
    let code = newest_code(&d, ALICE);
    d.advance_clock(mins(5));
    assert!(d.challenge(id).unwrap().expired);
    let out = verify(&mut d, id, &code);
    assert_eq!(out.result, VerifyResult::Expired, "{out:?}");
    assert!(
        out.message.contains("request another code"),
        "{}",
        out.message
    );
    // An expired code is not a failure: attempts and the lock are untouched.
    assert_eq!(out.attempts_left, 5);
    assert_eq!(d.user(ALICE).unwrap().lock.failures, 0);
}

#[test]
fn an_email_code_lives_ten_minutes() {
    let mut d = desk_with(ALICE);
    let e = d.add_email(ALICE, None).unwrap();
    assert_eq!(e.delivery.status, DeliveryStatus::Sent);
    assert_eq!(e.expires_at, t0() + mins(10));
    let code = newest_code(&d, ALICE);
    d.confirm_factor(ALICE, e.factor_id, &code).unwrap();

    let s = start(&mut d, &login(ALICE));
    let id = s.challenge_id.unwrap();
    assert_eq!(s.expires_at, Some(d.now() + mins(10)));
    let text = &outbox(&d, ALICE)[0].text;
    assert!(text.contains("expires in 10 minutes"), "{text}");
    let code = six_digits(text);
    d.advance_clock(mins(10) - secs(1));
    let out = verify(&mut d, id, &code);
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
    assert_eq!(out.used.as_deref(), Some("email"));

    let id = challenge(&mut d, ALICE);
    let code = newest_code(&d, ALICE);
    d.advance_clock(mins(10));
    assert_eq!(verify(&mut d, id, &code).result, VerifyResult::Expired);
}

#[test]
fn a_totp_challenge_stays_open_five_minutes() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    let id = challenge(&mut d, ALICE);
    d.advance_clock(mins(5));
    let code = totp_now(&d, ALICE, fid);
    let out = verify(&mut d, id, &code);
    assert_eq!(out.result, VerifyResult::Expired, "{out:?}");
    assert!(out.message.contains("start a new login"), "{}", out.message);
}

// ------------------------------------------------- 4. attempts per challenge

#[test]
fn five_wrong_codes_close_the_challenge() {
    let mut d = desk_with(ALICE);
    with_sms(&mut d, ALICE);
    let id = challenge(&mut d, ALICE);
    let code = newest_code(&d, ALICE);
    let wrong = other_code(&code);
    for left in (0..5).rev() {
        let out = verify(&mut d, id, &wrong);
        assert_eq!(out.result, VerifyResult::Invalid, "{out:?}");
        assert_eq!(out.attempts_left, left, "{out:?}");
    }
    let c = d.challenge(id).unwrap();
    assert_eq!(c.state, ChallengeState::Failed);
    assert_eq!(c.attempts_left, 0);
    // Closed: even the right code is refused now.
    let out = verify(&mut d, id, &code);
    assert_eq!(out.result, VerifyResult::Invalid, "{out:?}");
    assert_eq!(out.attempts_left, 0);
    assert!(out.message.contains("start a new login"), "{}", out.message);
    // And nothing more can be sent for it.
    assert!(matches!(d.resend(id), Err(DeskError::Refused(_))));
}

// ---------------------------------------------------- 13. outbox valid_now

fn valid_ids(d: &Desk) -> Vec<i64> {
    outbox(d, ALICE)
        .iter()
        .filter(|m| m.valid_now)
        .map(|m| m.id)
        .collect()
}

#[test]
fn the_outbox_marks_only_the_message_with_the_code_that_works_now() {
    let mut d = desk_with(ALICE);
    let e = d.add_sms(ALICE, US_PHONE).unwrap();
    assert_eq!(valid_ids(&d), vec![e.delivery.delivery_id]);
    let code = newest_code(&d, ALICE);
    d.confirm_factor(ALICE, e.factor_id, &code).unwrap();
    assert!(
        valid_ids(&d).is_empty(),
        "a used enrolment code is not valid"
    );

    let s = start(&mut d, &login(ALICE));
    let id = s.challenge_id.unwrap();
    let first = s.delivery.unwrap().delivery_id;
    assert_eq!(valid_ids(&d), vec![first]);

    d.advance_clock(secs(30));
    let second = d.resend(id).unwrap().delivery.unwrap().delivery_id;
    assert_eq!(valid_ids(&d), vec![second], "the replaced code is dead");

    let code = newest_code(&d, ALICE);
    assert_eq!(verify(&mut d, id, &code).result, VerifyResult::Accepted);
    assert!(valid_ids(&d).is_empty(), "a used code is not valid");

    let s = start(&mut d, &login(ALICE));
    let third = s.delivery.unwrap().delivery_id;
    assert_eq!(valid_ids(&d), vec![third]);
    d.advance_clock(mins(5) - secs(1));
    assert_eq!(valid_ids(&d), vec![third]);
    d.advance_clock(secs(1));
    assert!(valid_ids(&d).is_empty(), "an expired code is not valid");

    // A message that was not delivered holds no usable code.
    d.set_policy("sms_countries", "44", "test").unwrap();
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.delivery.unwrap().status, DeliveryStatus::Failed);
    assert!(valid_ids(&d).is_empty());

    // A challenge closed by wrong codes leaves no valid message.
    d.set_policy("sms_countries", "1", "test").unwrap();
    let s = start(&mut d, &login(ALICE));
    let id = s.challenge_id.unwrap();
    assert_eq!(valid_ids(&d), vec![s.delivery.unwrap().delivery_id]);
    let wrong = other_code(&newest_code(&d, ALICE));
    for _ in 0..5 {
        verify(&mut d, id, &wrong);
    }
    assert!(valid_ids(&d).is_empty());
}
