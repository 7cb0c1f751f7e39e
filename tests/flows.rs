//! Library-level flow tests for the `desk` use cases: every rule of the
//! design at its boundary, driven through the real use cases over an
//! in-memory (or temp-file) database, with a fixed clock and a seeded RNG.

#![allow(clippy::unwrap_used)]

mod support;

use chrono::TimeDelta;
use factordesk::clock::Clock;
use factordesk::desk::devices::Which;
use factordesk::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use factordesk::desk::records::RecordQuery;
use factordesk::desk::users::{Edit, NewUser};
use factordesk::desk::views::{DeviceState, LoginStart, ResendResult, VerifyOutcome, VerifyResult};
use factordesk::desk::{Desk, DeskError, ORIGIN_INIT};
use factordesk::domain::login::Outcome;
use factordesk::domain::vocab::{ChallengePurpose, ChallengeState, DeliveryStatus};
use factordesk::domain::{Action, FactorKind, FactorStatus, Role, UserStatus, totp};
use factordesk::keyfile;
use factordesk::rng::Rng;

const ALICE: &str = "alice@example.com";
const BOB: &str = "bob@example.com";
const US_PHONE: &str = "+14155550123";
const UK_PHONE: &str = "+447400900123";
const HOME_IP: &str = "198.51.100.7";
const NEW_IP: &str = "203.0.113.9";

use support::now as t0;

/// An empty desk on the fixed clock.
fn desk() -> Desk {
    support::empty_desk(42)
}

// ---------------------------------------------------------------- helpers

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn mins(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

fn add_user(desk: &mut Desk, email: &str) {
    desk.add_user(&NewUser {
        email: email.to_owned(),
        name: "Test User".to_owned(),
        ..NewUser::default()
    })
    .unwrap();
}

fn desk_with(email: &str) -> Desk {
    let mut d = desk();
    add_user(&mut d, email);
    d
}

fn login(email: &str) -> LoginRequest {
    LoginRequest {
        email: email.to_owned(),
        password: PasswordInput::Assume,
        device: None,
        ip: Some(HOME_IP.to_owned()),
        action: Action::Login,
        factor: None,
    }
}

fn login_with_token(email: &str, token: &str, ip: &str) -> LoginRequest {
    LoginRequest {
        device: Some(DeviceRef::Token(token.to_owned())),
        ip: Some(ip.to_owned()),
        ..login(email)
    }
}

fn start(desk: &mut Desk, req: &LoginRequest) -> LoginStart {
    desk.start_login(req).unwrap()
}

/// Start a login that must be challenged; the challenge id.
fn challenge(desk: &mut Desk, email: &str) -> i64 {
    let s = start(desk, &login(email));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    s.challenge_id.unwrap()
}

fn verify(desk: &mut Desk, challenge_id: i64, code: &str) -> VerifyOutcome {
    desk.verify(challenge_id, code, None).unwrap()
}

/// The first run of exactly six digits in a message.
fn six_digits(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 6 {
                return text[start..i].to_owned();
            }
        } else {
            i += 1;
        }
    }
    panic!("no 6-digit code in {text:?}");
}

fn outbox(desk: &Desk, email: &str) -> Vec<factordesk::desk::views::DeliveryView> {
    desk.outbox(&RecordQuery {
        user: Some(email.to_owned()),
        limit: 100,
        ..RecordQuery::default()
    })
    .unwrap()
}

/// The code in the newest message sent to `email`.
fn newest_code(desk: &Desk, email: &str) -> String {
    six_digits(&outbox(desk, email)[0].text)
}

/// A six-digit code that is certainly not `code`.
fn other_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

fn totp_now(desk: &Desk, email: &str, factor_id: i64) -> String {
    desk.authenticator_code(email, factor_id, TimeDelta::zero())
        .unwrap()
}

/// A code the authenticator shows at no step within ±1 of now.
fn wrong_totp(desk: &Desk, email: &str, factor_id: i64) -> String {
    let near: Vec<String> = (-1..=1)
        .map(|s| {
            desk.authenticator_code(email, factor_id, secs(30 * s))
                .unwrap()
        })
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// Enrol and confirm an authenticator app, then move to the next 30 s step
/// so the app shows a code that has not been used yet.
fn with_totp(desk: &mut Desk, email: &str) -> i64 {
    let e = desk.enrol_totp(email).unwrap();
    let code = totp_now(desk, email, e.factor_id);
    desk.confirm_factor(email, e.factor_id, &code).unwrap();
    desk.advance_clock(secs(30));
    e.factor_id
}

/// Add an SMS factor to `phone` and confirm it with the code sent.
fn with_sms_to(desk: &mut Desk, email: &str, phone: &str) -> i64 {
    let e = desk.add_sms(email, phone).unwrap();
    let code = newest_code(desk, email);
    desk.confirm_factor(email, e.factor_id, &code).unwrap();
    e.factor_id
}

fn with_sms(desk: &mut Desk, email: &str) -> i64 {
    with_sms_to(desk, email, US_PHONE)
}

/// A login challenge answered with a wrong TOTP code.
fn fail_totp(desk: &mut Desk, challenge_id: i64, factor_id: i64) -> VerifyOutcome {
    let wrong = wrong_totp(desk, ALICE, factor_id);
    verify(desk, challenge_id, &wrong)
}

/// Fail `n` times with wrong TOTP codes, five per challenge at most, 10 s apart.
fn fail_n(desk: &mut Desk, factor_id: i64, n: u32) -> VerifyOutcome {
    let mut last = None;
    let mut id = challenge(desk, ALICE);
    let mut on_this = 0;
    for i in 0..n {
        if i > 0 {
            desk.advance_clock(secs(10));
        }
        if on_this == 5 {
            id = challenge(desk, ALICE);
            on_this = 0;
        }
        last = Some(fail_totp(desk, id, factor_id));
        on_this += 1;
    }
    last.unwrap()
}

fn has_reason(s: &LoginStart, needle: &str) -> bool {
    s.reasons.iter().any(|r| r.contains(needle))
}

/// A desk error as the CLI says it: the desk's facts, and the command that
/// fixes them (the error itself states only the facts).
fn said(err: &DeskError) -> String {
    factordesk::cli::error_text(err)
}

/// One sentence, a problem then its fix after a colon, and the fix names `fix`.
fn assert_says_what_to_do(err: &DeskError, fix: &str) {
    let msg = said(err);
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(!msg.contains(". "), "one sentence: {msg}");
    let (problem, remedy) = msg
        .split_once(": ")
        .unwrap_or_else(|| panic!("no fix after a colon: {msg}"));
    assert!(
        !problem.trim().is_empty() && !remedy.trim().is_empty(),
        "{msg}"
    );
    assert!(
        remedy.contains(fix),
        "the fix should mention {fix:?}: {msg}"
    );
    assert_eq!(err.exit_code(), 1, "{msg}");
}

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

// ---------------------------------------------------------------- 5. resend

#[test]
fn resend_cooldown_replace_mode_and_limit() {
    let mut d = desk_with(ALICE);
    with_sms(&mut d, ALICE);
    let id = challenge(&mut d, ALICE);
    let first = newest_code(&d, ALICE);

    let out = d.resend(id).unwrap();
    assert_eq!(out.result, ResendResult::Cooldown);
    assert_eq!(out.retry_after_s, Some(30));
    assert_eq!(out.resends_left, 3);
    d.advance_clock(secs(29));
    let out = d.resend(id).unwrap();
    assert_eq!(out.result, ResendResult::Cooldown);
    assert_eq!(out.retry_after_s, Some(1));
    assert_eq!(
        newest_code(&d, ALICE),
        first,
        "nothing sent in the cooldown"
    );

    d.advance_clock(secs(1));
    let out = d.resend(id).unwrap();
    assert_eq!(out.result, ResendResult::Sent, "{out:?}");
    assert!(!out.same_code);
    assert_eq!(out.resends_left, 2);
    assert_eq!(out.expires_at, d.now() + mins(5));
    let second = newest_code(&d, ALICE);
    assert_ne!(second, first);
    // The cooldown runs from the last send.
    assert_eq!(d.resend(id).unwrap().retry_after_s, Some(30));

    // Replace mode: the old code is dead.
    let out = verify(&mut d, id, &first);
    assert_eq!(out.result, VerifyResult::Invalid, "{out:?}");
    assert!(out.message.contains("replaced"), "{}", out.message);
    assert_eq!(out.attempts_left, 4);

    d.advance_clock(secs(30));
    assert_eq!(d.resend(id).unwrap().resends_left, 1);
    d.advance_clock(secs(30));
    let out = d.resend(id).unwrap();
    assert_eq!(out.result, ResendResult::Sent);
    assert_eq!(out.resends_left, 0);
    let last = newest_code(&d, ALICE);
    d.advance_clock(secs(30));
    let out = d.resend(id).unwrap();
    assert_eq!(out.result, ResendResult::Limit, "{out:?}");
    assert_eq!(out.resends_left, 0);
    assert!(out.message.contains("start a new login"), "{}", out.message);
    assert_eq!(newest_code(&d, ALICE), last, "nothing sent at the limit");

    let out = verify(&mut d, id, &last);
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
}

#[test]
fn resend_in_keep_mode_sends_the_same_code_until_it_expires() {
    let mut d = desk_with(ALICE);
    with_sms(&mut d, ALICE);
    d.set_policy("resend_mode", "keep", "test").unwrap();
    let s = start(&mut d, &login(ALICE));
    let id = s.challenge_id.unwrap();
    let expires = s.expires_at.unwrap();
    let code = newest_code(&d, ALICE);

    d.advance_clock(secs(30));
    let out = d.resend(id).unwrap();
    assert_eq!(out.result, ResendResult::Sent, "{out:?}");
    assert!(out.same_code);
    assert_eq!(out.expires_at, expires, "expiry unchanged");
    assert_eq!(out.resends_left, 2);
    assert_eq!(d.challenge(id).unwrap().expires_at, expires);
    let msgs = outbox(&d, ALICE);
    assert_eq!(six_digits(&msgs[0].text), code);
    assert_eq!(msgs[0].challenge_id, Some(id));

    // Once the code has expired, keep mode has to send a new one.
    d.advance_clock(expires - d.now());
    assert_eq!(verify(&mut d, id, &code).result, VerifyResult::Expired);
    let out = d.resend(id).unwrap();
    assert_eq!(out.result, ResendResult::Sent, "{out:?}");
    assert!(!out.same_code);
    assert_eq!(out.expires_at, d.now() + mins(5));
    let fresh = newest_code(&d, ALICE);
    assert_ne!(fresh, code);
    assert_eq!(verify(&mut d, id, &code).result, VerifyResult::Invalid);
    assert_eq!(verify(&mut d, id, &fresh).result, VerifyResult::Accepted);
}

#[test]
fn there_is_nothing_to_resend_for_an_authenticator() {
    let mut d = desk_with(ALICE);
    with_totp(&mut d, ALICE);
    let id = challenge(&mut d, ALICE);
    let err = d.resend(id).unwrap_err();
    assert!(matches!(err, DeskError::Refused(_)), "{err:?}");
}

#[test]
fn nothing_is_resent_through_a_disabled_factor() {
    let mut d = desk_with(ALICE);
    let sms = with_sms(&mut d, ALICE);
    with_totp(&mut d, ALICE);
    let id = start(
        &mut d,
        &LoginRequest {
            factor: Some(sms),
            ..login(ALICE)
        },
    )
    .challenge_id
    .unwrap();
    d.set_factor_enabled(ALICE, sms, false, "lost phone")
        .unwrap();
    d.advance_clock(secs(30));
    let sent = outbox(&d, ALICE).len();
    let err = d.resend(id).unwrap_err();
    assert!(matches!(err, DeskError::Refused(_)), "{err:?}");
    assert!(err.to_string().contains("start a new login"), "{err}");
    assert_eq!(outbox(&d, ALICE).len(), sent, "no message sent");
    // Enabled again, the challenge can be resent and completed.
    d.set_factor_enabled(ALICE, sms, true, "found it").unwrap();
    assert_eq!(d.resend(id).unwrap().result, ResendResult::Sent);
    let code = newest_code(&d, ALICE);
    assert_eq!(verify(&mut d, id, &code).result, VerifyResult::Accepted);
}

// --------------------------------------------------------------- 6. lockout

#[test]
fn the_tenth_failure_in_a_row_locks_for_fifteen_minutes() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    let nine = fail_n(&mut d, fid, 9);
    assert_eq!(nine.result, VerifyResult::Invalid, "{nine:?}");
    assert_eq!(nine.locked_until, None);
    let lock = d.user(ALICE).unwrap().lock;
    assert!(!lock.locked);
    assert_eq!((lock.failures, lock.failures_left), (9, 1));

    // The tenth lands on the second challenge (the first closed after five).
    d.advance_clock(secs(10));
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Challenge, "nine failures do not lock");
    let id = s.challenge_id.unwrap();
    let tenth = fail_totp(&mut d, id, fid);
    assert_eq!(tenth.result, VerifyResult::Locked, "{tenth:?}");
    let until = d.now() + mins(15);
    assert_eq!(tenth.locked_until, Some(until));
    assert!(tenth.message.contains("locked"), "{}", tenth.message);
    let u = d.user(ALICE).unwrap();
    assert!(u.lock.locked);
    assert_eq!(u.lock.locked_until, Some(until));
    assert_eq!(d.user_summary(ALICE).unwrap().locked_until, Some(until));

    // While locked: a new login is denied, and even the right code is refused.
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Denied, "{s:?}");
    assert_eq!(s.challenge_id, None);
    assert!(has_reason(&s, "locked"), "{s:?}");
    let right = totp_now(&d, ALICE, fid);
    let out = verify(&mut d, id, &right);
    assert_eq!(out.result, VerifyResult::Locked, "{out:?}");
    assert_eq!(out.locked_until, Some(until));

    d.advance_clock(until - d.now() - secs(1));
    assert_eq!(start(&mut d, &login(ALICE)).decision, Outcome::Denied);
    // It releases by itself at exactly fifteen minutes.
    d.advance_clock(secs(1));
    assert!(!d.user(ALICE).unwrap().lock.locked);
    let id = challenge(&mut d, ALICE);
    let right = totp_now(&d, ALICE, fid);
    assert_eq!(verify(&mut d, id, &right).result, VerifyResult::Accepted);
}

#[test]
fn unlock_clears_the_lock_at_once() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    assert_eq!(fail_n(&mut d, fid, 10).result, VerifyResult::Locked);
    assert_eq!(start(&mut d, &login(ALICE)).decision, Outcome::Denied);

    let err = d.unlock(ALICE, "  ").unwrap_err();
    assert!(matches!(err, DeskError::ReasonRequired(_)), "{err:?}");
    assert!(
        d.user(ALICE).unwrap().lock.locked,
        "a refused unlock changes nothing"
    );

    let summary = d.unlock(ALICE, "caller verified by phone").unwrap();
    assert_eq!(summary.locked_until, None);
    let lock = d.user(ALICE).unwrap().lock;
    assert!(!lock.locked);
    assert_eq!((lock.failures, lock.failures_left), (0, 10));
    let id = challenge(&mut d, ALICE);
    let right = totp_now(&d, ALICE, fid);
    assert_eq!(verify(&mut d, id, &right).result, VerifyResult::Accepted);
}

#[test]
fn a_success_resets_the_failure_count() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    fail_n(&mut d, fid, 9);
    assert_eq!(d.user(ALICE).unwrap().lock.failures, 9);
    d.advance_clock(secs(30));
    let id = challenge(&mut d, ALICE);
    let right = totp_now(&d, ALICE, fid);
    assert_eq!(verify(&mut d, id, &right).result, VerifyResult::Accepted);
    assert_eq!(d.user(ALICE).unwrap().lock.failures, 0);

    // Nine more do not lock; the count starts again from the success.
    let nine = fail_n(&mut d, fid, 9);
    assert_eq!(nine.result, VerifyResult::Invalid, "{nine:?}");
    assert_eq!(d.user(ALICE).unwrap().lock.failures, 9);
    assert!(!d.user(ALICE).unwrap().lock.locked);
}

#[test]
fn failures_spread_beyond_the_window_do_not_lock() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    let first_failure = d.now();
    fail_n(&mut d, fid, 9);
    // The tenth, exactly when the fifteen minutes since the first run out.
    d.advance_clock(first_failure + mins(15) - d.now());
    let id = challenge(&mut d, ALICE);
    let tenth = fail_totp(&mut d, id, fid);
    assert_eq!(tenth.result, VerifyResult::Invalid, "{tenth:?}");
    let lock = d.user(ALICE).unwrap().lock;
    assert!(!lock.locked);
    // The window slides: only the first failure has aged out.
    assert_eq!(lock.failures, 9, "the eight later ones and this one");
    // So one more, while those eight are still within fifteen minutes, locks.
    let eleventh = fail_totp(&mut d, id, fid);
    assert_eq!(eleventh.result, VerifyResult::Locked, "{eleventh:?}");
}

#[test]
fn the_tenth_failure_one_second_inside_the_window_locks() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    let first_failure = d.now();
    fail_n(&mut d, fid, 9);
    d.advance_clock(first_failure + mins(15) - secs(1) - d.now());
    let id = challenge(&mut d, ALICE);
    let tenth = fail_totp(&mut d, id, fid);
    assert_eq!(tenth.result, VerifyResult::Locked, "{tenth:?}");
}

#[test]
fn the_lock_view_counts_only_failures_in_the_current_window() {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    fail_n(&mut d, fid, 10);
    let lock = d.user(ALICE).unwrap().lock;
    assert!(lock.locked);
    assert_eq!((lock.failures, lock.failures_left), (10, 0));
    // Released: nothing counts against the user any more.
    d.advance_clock(mins(15));
    let lock = d.user(ALICE).unwrap().lock;
    assert!(!lock.locked);
    assert_eq!((lock.failures, lock.failures_left), (0, 10), "{lock:?}");

    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    let first = d.now();
    fail_n(&mut d, fid, 4);
    d.advance_clock(first + mins(15) - secs(1) - d.now());
    let lock = d.user(ALICE).unwrap().lock;
    assert_eq!((lock.failures, lock.failures_left), (4, 6), "{lock:?}");
    // The window slides: the first (at 0 s) ages out now, the rest one by
    // one (they were 10 s apart).
    d.advance_clock(secs(1));
    let lock = d.user(ALICE).unwrap().lock;
    assert_eq!((lock.failures, lock.failures_left), (3, 7), "{lock:?}");
    d.advance_clock(secs(30));
    let lock = d.user(ALICE).unwrap().lock;
    assert_eq!((lock.failures, lock.failures_left), (0, 10), "{lock:?}");
}

// -------------------------------------------------------- 7. trusted devices

/// Alice with an authenticator, signed in once from `HOME_IP` with
/// "remember this computer": the desk, the factor id and the device token.
fn remembered() -> (Desk, i64, String) {
    let mut d = desk_with(ALICE);
    let fid = with_totp(&mut d, ALICE);
    let id = challenge(&mut d, ALICE);
    let code = totp_now(&d, ALICE, fid);
    let out = d.verify(id, &code, Some("Firefox on macOS")).unwrap();
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
    assert_eq!(out.trusted_until, Some(d.now() + days(14)));
    assert!(out.message.contains("remembered until"), "{}", out.message);
    let token = out.device_token.unwrap();
    assert!(token.starts_with("dev_"), "{token}");
    let devices = d.devices(ALICE).unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].label, "Firefox on macOS");
    assert_eq!(devices[0].last_ip, HOME_IP);
    assert_eq!(devices[0].state, DeviceState::Trusted);
    (d, fid, token)
}

#[test]
fn a_remembered_computer_skips_the_challenge_for_fourteen_days() {
    let (mut d, _, token) = remembered();
    d.advance_clock(days(13));
    let s = start(&mut d, &login_with_token(ALICE, &token, HOME_IP));
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
    assert_eq!(s.challenge_id, None);
    assert_eq!(s.delivery, None);
    assert!(
        has_reason(&s, "Trusted device \"Firefox on macOS\""),
        "{s:?}"
    );
    assert_eq!(d.user(ALICE).unwrap().profile.last_login_at, Some(d.now()));
    assert_eq!(d.devices(ALICE).unwrap()[0].last_seen_at, d.now());

    d.advance_clock(days(2));
    let s = start(&mut d, &login_with_token(ALICE, &token, HOME_IP));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    assert!(s.challenge_id.is_some());
    assert!(has_reason(&s, "expired"), "{s:?}");
    assert_eq!(d.devices(ALICE).unwrap()[0].state, DeviceState::Expired);
}

#[test]
fn trust_ends_at_exactly_fourteen_days() {
    let (mut d, _, token) = remembered();
    let until = d.devices(ALICE).unwrap()[0].trusted_until;
    d.advance_clock(until - d.now() - secs(1));
    let s = start(&mut d, &login_with_token(ALICE, &token, HOME_IP));
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
    d.advance_clock(secs(1));
    let s = start(&mut d, &login_with_token(ALICE, &token, HOME_IP));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    assert!(has_reason(&s, "expired"), "{s:?}");
}

#[test]
fn remembering_a_known_computer_again_rotates_its_token() {
    let (mut d, fid, token) = remembered();
    d.advance_clock(days(1));
    let s = start(&mut d, &login_with_token(ALICE, &token, NEW_IP));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    let code = totp_now(&d, ALICE, fid);
    let out = d
        .verify(s.challenge_id.unwrap(), &code, Some("Firefox on macOS"))
        .unwrap();
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
    let fresh = out.device_token.unwrap();
    assert_ne!(fresh, token);
    let devices = d.devices(ALICE).unwrap();
    assert_eq!(devices.len(), 1, "the same computer, not a second one");
    assert_eq!(devices[0].last_ip, NEW_IP);
    assert_eq!(devices[0].trusted_until, d.now() + days(14));
    // The old token is dead; the new one is trusted from the new address.
    let s = start(&mut d, &login_with_token(ALICE, &token, NEW_IP));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    let s = start(&mut d, &login_with_token(ALICE, &fresh, NEW_IP));
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
}

#[test]
fn a_remembered_computer_on_a_new_ip_is_challenged() {
    let (mut d, _, token) = remembered();
    d.advance_clock(days(1));
    let s = start(&mut d, &login_with_token(ALICE, &token, NEW_IP));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    assert!(has_reason(&s, NEW_IP), "{s:?}");
    assert!(
        has_reason(&s, HOME_IP),
        "the last IP is evidence too: {s:?}"
    );
    // The old address still works.
    let s = start(&mut d, &login_with_token(ALICE, &token, HOME_IP));
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
}

#[test]
fn an_unknown_token_or_none_is_challenged() {
    let (mut d, _, _) = remembered();
    let s = start(
        &mut d,
        &login_with_token(ALICE, "dev_notarealtoken", HOME_IP),
    );
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    let s = start(&mut d, &login(ALICE));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    assert!(has_reason(&s, "not remembered"), "{s:?}");
}

#[test]
fn someone_elses_token_is_not_trusted() {
    let (mut d, _, token) = remembered();
    add_user(&mut d, BOB);
    with_totp(&mut d, BOB);
    let s = start(&mut d, &login_with_token(BOB, &token, HOME_IP));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
}

#[test]
fn a_revoked_computer_is_challenged() {
    let (mut d, _, token) = remembered();
    let id = d.devices(ALICE).unwrap()[0].id;
    let err = d.revoke_devices(ALICE, Which::One(id), "").unwrap_err();
    assert!(matches!(err, DeskError::ReasonRequired(_)), "{err:?}");
    assert_eq!(
        d.revoke_devices(ALICE, Which::One(id), "laptop stolen")
            .unwrap(),
        1
    );
    let dev = &d.devices(ALICE).unwrap()[0];
    assert_eq!(dev.state, DeviceState::Revoked);
    assert_eq!(dev.revoked_reason.as_deref(), Some("laptop stolen"));
    let s = start(&mut d, &login_with_token(ALICE, &token, HOME_IP));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    assert!(has_reason(&s, "revoked"), "{s:?}");
    // Revoking it again is refused.
    assert!(matches!(
        d.revoke_devices(ALICE, Which::One(id), "again"),
        Err(DeskError::Refused(_))
    ));
    assert!(matches!(
        d.revoke_devices(ALICE, Which::One(999), "typo"),
        Err(DeskError::UnknownDevice { .. })
    ));
}

#[test]
fn every_login_users_are_always_challenged() {
    let (mut d, _, token) = remembered();
    d.edit_user(
        ALICE,
        &Edit {
            every_login: Some(true),
            ..Edit::default()
        },
    )
    .unwrap();
    d.advance_clock(days(1));
    let s = start(&mut d, &login_with_token(ALICE, &token, HOME_IP));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    assert!(has_reason(&s, "every login"), "{s:?}");
}

#[test]
fn an_export_needs_a_code_even_on_a_trusted_computer() {
    let (mut d, fid, token) = remembered();
    d.advance_clock(mins(1));
    let s = start(
        &mut d,
        &LoginRequest {
            action: Action::Export,
            ..login_with_token(ALICE, &token, HOME_IP)
        },
    );
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    assert!(has_reason(&s, "export"), "{s:?}");
    let id = s.challenge_id.unwrap();
    assert_eq!(d.challenge(id).unwrap().purpose, ChallengePurpose::Export);
    let code = totp_now(&d, ALICE, fid);
    let out = verify(&mut d, id, &code);
    assert_eq!(out.result, VerifyResult::Accepted);
    assert!(out.message.contains("export approved"), "{}", out.message);
    // A plain login from that computer is still allowed.
    let s = start(&mut d, &login_with_token(ALICE, &token, HOME_IP));
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
}

// ---------------------------------------------------------- 8. backup codes

#[test]
fn backup_codes_work_once_each() {
    let mut d = desk_with(ALICE);
    with_totp(&mut d, ALICE);
    let codes = d.generate_codes(ALICE).unwrap();
    assert_eq!(codes.len(), 10);
    for code in &codes {
        let groups: Vec<&str> = code.split('-').collect();
        assert_eq!(groups.len(), 4, "{code}");
        assert!(
            groups.iter().all(|g| g.len() == 4
                && g.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())),
            "{code}"
        );
    }
    let status = d.code_status(ALICE).unwrap();
    assert_eq!(
        (status.remaining, status.total, status.low),
        (10, 10, false)
    );

    let id = challenge(&mut d, ALICE);
    let out = verify(&mut d, id, &codes[0]);
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
    assert_eq!(out.used.as_deref(), Some("backup"));
    assert_eq!(out.backup_codes_left, Some(9));

    // Upper case, no dashes.
    let id = challenge(&mut d, ALICE);
    let shouted = codes[1].to_uppercase().replace('-', "");
    let out = verify(&mut d, id, &shouted);
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
    assert_eq!(out.backup_codes_left, Some(8));

    // The same code again is a replay, with when and where it was used.
    let id = challenge(&mut d, ALICE);
    let out = verify(&mut d, id, &codes[0]);
    assert_eq!(out.result, VerifyResult::Replayed, "{out:?}");
    assert!(out.message.contains("already used"), "{}", out.message);
    assert!(out.message.contains(HOME_IP), "{}", out.message);
    let status = d.code_status(ALICE).unwrap();
    assert_eq!(status.remaining, 8);
    assert_eq!(status.codes[0].used_ip.as_deref(), Some(HOME_IP));
}

#[test]
fn regenerating_backup_codes_kills_the_old_batch_and_the_last_leaves_none() {
    let mut d = desk_with(ALICE);
    with_totp(&mut d, ALICE);
    let old = d.generate_codes(ALICE).unwrap();
    let new = d.generate_codes(ALICE).unwrap();
    assert!(old.iter().all(|c| !new.contains(c)));
    let status = d.code_status(ALICE).unwrap();
    assert_eq!((status.remaining, status.total), (10, 10));

    let id = challenge(&mut d, ALICE);
    let out = verify(&mut d, id, &old[2]);
    assert_eq!(out.result, VerifyResult::Invalid, "{out:?}");
    for (i, code) in new.iter().enumerate() {
        let id = challenge(&mut d, ALICE);
        let out = verify(&mut d, id, code);
        assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
        let left = u32::try_from(9 - i).unwrap();
        assert_eq!(out.backup_codes_left, Some(left));
        if left <= 3 {
            assert!(
                out.message.contains("generate a new set"),
                "{}",
                out.message
            );
        }
    }
    let status = d.code_status(ALICE).unwrap();
    assert_eq!((status.remaining, status.total, status.low), (0, 10, true));
    assert!(status.codes.iter().all(|c| c.used_at.is_some()));
}

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
