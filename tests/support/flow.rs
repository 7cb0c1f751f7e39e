//! The desk's use cases step by step for the flow tests: users, factors
//! enrolled and confirmed, logins started, codes answered right and wrong.

use chrono::TimeDelta;
use factordesk::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use factordesk::desk::records::RecordQuery;
use factordesk::desk::users::NewUser;
use factordesk::desk::views::{DeviceState, LoginStart, VerifyOutcome, VerifyResult};
use factordesk::desk::{Desk, DeskError};
use factordesk::domain::Action;
use factordesk::domain::login::Outcome;

pub const ALICE: &str = "alice@example.com";
pub const BOB: &str = "bob@example.com";
pub const US_PHONE: &str = "+14155550123";
pub const UK_PHONE: &str = "+447400900123";
pub const HOME_IP: &str = "198.51.100.7";
pub const NEW_IP: &str = "203.0.113.9";

/// An empty desk on the fixed clock.
pub fn desk() -> Desk {
    super::empty_desk(42)
}

pub fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

pub fn mins(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

pub fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

pub fn add_user(desk: &mut Desk, email: &str) {
    desk.add_user(&NewUser {
        email: email.to_owned(),
        name: "Test User".to_owned(),
        ..NewUser::default()
    })
    .unwrap();
}

pub fn desk_with(email: &str) -> Desk {
    let mut d = desk();
    add_user(&mut d, email);
    d
}

pub fn login(email: &str) -> LoginRequest {
    LoginRequest {
        email: email.to_owned(),
        password: PasswordInput::Assume,
        device: None,
        ip: Some(HOME_IP.to_owned()),
        action: Action::Login,
        factor: None,
    }
}

pub fn login_with_token(email: &str, token: &str, ip: &str) -> LoginRequest {
    LoginRequest {
        device: Some(DeviceRef::Token(token.to_owned())),
        ip: Some(ip.to_owned()),
        ..login(email)
    }
}

pub fn start(desk: &mut Desk, req: &LoginRequest) -> LoginStart {
    desk.start_login(req).unwrap()
}

/// Start a login that must be challenged; the challenge id.
pub fn challenge(desk: &mut Desk, email: &str) -> i64 {
    let s = start(desk, &login(email));
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    s.challenge_id.unwrap()
}

pub fn verify(desk: &mut Desk, challenge_id: i64, code: &str) -> VerifyOutcome {
    desk.verify(challenge_id, code, None).unwrap()
}

/// The first run of exactly six digits in a message.
pub fn six_digits(text: &str) -> String {
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

pub fn outbox(desk: &Desk, email: &str) -> Vec<factordesk::desk::views::DeliveryView> {
    desk.outbox(&RecordQuery {
        user: Some(email.to_owned()),
        limit: 100,
        ..RecordQuery::default()
    })
    .unwrap()
}

/// The code in the newest message sent to `email`.
pub fn newest_code(desk: &Desk, email: &str) -> String {
    six_digits(&outbox(desk, email)[0].text)
}

/// A six-digit code that is certainly not `code`.
pub fn other_code(code: &str) -> String {
    format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000)
}

pub fn totp_now(desk: &Desk, email: &str, factor_id: i64) -> String {
    desk.authenticator_code(email, factor_id, TimeDelta::zero())
        .unwrap()
}

/// A code the authenticator shows at no step within ±1 of now.
pub fn wrong_totp(desk: &Desk, email: &str, factor_id: i64) -> String {
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
pub fn with_totp(desk: &mut Desk, email: &str) -> i64 {
    let e = desk.enrol_totp(email).unwrap();
    let code = totp_now(desk, email, e.factor_id);
    desk.confirm_factor(email, e.factor_id, &code).unwrap();
    desk.advance_clock(secs(30));
    e.factor_id
}

/// Add an SMS factor to `phone` and confirm it with the code sent.
pub fn with_sms_to(desk: &mut Desk, email: &str, phone: &str) -> i64 {
    let e = desk.add_sms(email, phone).unwrap();
    let code = newest_code(desk, email);
    desk.confirm_factor(email, e.factor_id, &code).unwrap();
    e.factor_id
}

pub fn with_sms(desk: &mut Desk, email: &str) -> i64 {
    with_sms_to(desk, email, US_PHONE)
}

/// A login challenge answered with a wrong TOTP code.
pub fn fail_totp(desk: &mut Desk, challenge_id: i64, factor_id: i64) -> VerifyOutcome {
    let wrong = wrong_totp(desk, ALICE, factor_id);
    verify(desk, challenge_id, &wrong)
}

/// Fail `n` times with wrong TOTP codes, five per challenge at most, 10 s apart.
pub fn fail_n(desk: &mut Desk, factor_id: i64, n: u32) -> VerifyOutcome {
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

pub fn has_reason(s: &LoginStart, needle: &str) -> bool {
    s.reasons.iter().any(|r| r.contains(needle))
}

/// A desk error as the CLI says it: the desk's facts, and the command that
/// fixes them (the error itself states only the facts).
pub fn said(err: &DeskError) -> String {
    factordesk::cli::error_text(err)
}

/// One sentence, a problem then its fix after a colon, and the fix names `fix`.
pub fn assert_says_what_to_do(err: &DeskError, fix: &str) {
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

/// Alice with an authenticator, signed in once from `HOME_IP` with
/// "remember this computer": the desk, the factor id and the device token.
pub fn remembered() -> (Desk, i64, String) {
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
