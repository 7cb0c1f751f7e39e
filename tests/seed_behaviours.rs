//! Three behaviours of the seed articles, through the desk: a remembered
//! computer knows every address it completed a code from (001), a phone in
//! the wrong time zone is named as such (004), and users and messages are
//! found by phone number in any spelling (004).

#![allow(clippy::unwrap_used)]

mod support;

use chrono::TimeDelta;
use factordesk::desk::Desk;
use factordesk::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use factordesk::desk::users::NewUser;
use factordesk::desk::views::{LoginStart, VerifyResult};
use factordesk::domain::Action;
use factordesk::domain::login::Outcome;

const ALICE: &str = "alice@example.com";
const OFFICE: &str = "198.51.100.7";
const HOME: &str = "192.0.2.44";
const CAFE: &str = "203.0.113.9";

fn desk_with_app() -> (Desk, i64) {
    let mut d = support::empty_desk(42);
    d.add_user(&NewUser {
        email: ALICE.to_owned(),
        name: "Alice Ng".to_owned(),
        ..NewUser::default()
    })
    .unwrap();
    let e = d.enrol_totp(ALICE).unwrap();
    let code = app_code(&d, e.factor_id, 0);
    d.confirm_factor(ALICE, e.factor_id, &code).unwrap();
    d.advance_clock(TimeDelta::seconds(30));
    (d, e.factor_id)
}

/// What the app shows `steps` steps from now.
fn app_code(d: &Desk, factor: i64, steps: i64) -> String {
    d.authenticator_code(ALICE, factor, TimeDelta::seconds(30 * steps))
        .unwrap()
}

fn start(d: &mut Desk, token: Option<&str>, ip: &str) -> LoginStart {
    d.start_login(&LoginRequest {
        email: ALICE.to_owned(),
        password: PasswordInput::Assume,
        device: token.map(|t| DeviceRef::Token(t.to_owned())),
        ip: Some(ip.to_owned()),
        action: Action::Login,
        factor: None,
    })
    .unwrap()
}

/// Log in from `ip` with a code, ticking "remember" when `remember`; the
/// new device token, if any.
fn complete(
    d: &mut Desk,
    factor: i64,
    token: Option<&str>,
    ip: &str,
    remember: bool,
) -> Option<String> {
    let s = start(d, token, ip);
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    let code = app_code(d, factor, 0);
    let out = d
        .verify(
            s.challenge_id.unwrap(),
            &code,
            remember.then_some("Firefox on macOS"),
        )
        .unwrap();
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
    // The next code is a new one.
    d.advance_clock(TimeDelta::seconds(30));
    out.device_token
}

#[test]
fn every_address_completed_from_while_trusted_stays_known() {
    let (mut d, app) = desk_with_app();
    let token = complete(&mut d, app, None, OFFICE, true).unwrap();
    d.advance_clock(TimeDelta::days(1));
    // From home: a new address, challenged; the reason names what is known.
    let s = start(&mut d, Some(&token), HOME);
    assert_eq!(s.decision, Outcome::Challenge);
    let reasons = s.reasons.join(" ");
    assert!(
        reasons.contains(&format!(
            "new IP {HOME} (it has completed a code only from {OFFICE})"
        )),
        "{reasons}"
    );
    // A code completed from home, without ticking "remember" again.
    complete(&mut d, app, Some(&token), HOME, false);
    d.advance_clock(TimeDelta::days(1));
    // Back at the office (not the last address seen): not new.
    let s = start(&mut d, Some(&token), OFFICE);
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
    // And home again, after the office: not new either.
    let s = start(&mut d, Some(&token), HOME);
    assert_eq!(s.decision, Outcome::Allowed, "{s:?}");
    let devices = d.devices(ALICE).unwrap();
    assert_eq!(devices[0].addresses, [HOME, OFFICE], "newest first");
    // A café is new, and the reason names both addresses truthfully.
    let s = start(&mut d, Some(&token), CAFE);
    assert_eq!(s.decision, Outcome::Challenge);
    let reasons = s.reasons.join(" ");
    assert!(
        reasons.contains(&format!(
            "new IP {CAFE} (it has completed a code only from {HOME} and {OFFICE})"
        )),
        "{reasons}"
    );
    // A login started from the café and abandoned teaches nothing.
    let s = start(&mut d, Some(&token), CAFE);
    assert_eq!(s.decision, Outcome::Challenge, "{s:?}");
    // The doctor sees the stuck login from a new address, with the evidence.
    let report = d.diagnose(ALICE).unwrap();
    let f = report
        .findings
        .iter()
        .find(|f| f.title == "New IP address")
        .unwrap();
    assert!(
        f.evidence.iter().any(|e| e.contains(&format!(
            "This time from {CAFE}; it has completed a code only from {HOME} and {OFFICE}"
        ))),
        "{f:?}"
    );
}

#[test]
fn a_new_trust_period_starts_its_addresses_afresh() {
    let (mut d, app) = desk_with_app();
    let token = complete(&mut d, app, None, OFFICE, true).unwrap();
    d.advance_clock(TimeDelta::days(1));
    complete(&mut d, app, Some(&token), HOME, false);
    // Trust lapses; remembered again from home.
    d.advance_clock(TimeDelta::days(14));
    let s = start(&mut d, Some(&token), OFFICE);
    assert_eq!(s.decision, Outcome::Challenge);
    assert!(!s.reasons.join(" ").contains("new IP"), "{s:?}");
    let token = complete(&mut d, app, Some(&token), HOME, true).unwrap();
    // The office belonged to the last trust period: new again.
    let s = start(&mut d, Some(&token), OFFICE);
    assert_eq!(s.decision, Outcome::Challenge);
    assert!(
        s.reasons.join(" ").contains(&format!(
            "new IP {OFFICE} (it has completed a code only from {HOME})"
        )),
        "{s:?}"
    );
    // An expired device completing a code without "remember" learns nothing.
    let (mut d, app) = desk_with_app();
    let token = complete(&mut d, app, None, OFFICE, true).unwrap();
    d.advance_clock(TimeDelta::days(15));
    complete(&mut d, app, Some(&token), CAFE, false);
    let devices = d.devices(ALICE).unwrap();
    assert_eq!(devices[0].last_ip, CAFE, "last seen there");
}

#[test]
fn a_phone_an_hour_ahead_is_told_to_check_its_time_zone() {
    let (mut d, app) = desk_with_app();
    let ahead = app_code(&d, app, 120);
    let check = d.check_code(ALICE, &ahead).unwrap();
    assert_eq!(check.offset_steps, Some(120));
    assert_eq!(
        check.message,
        "This code becomes valid in 1 h: the phone's clock is set one hour ahead: check its time zone."
    );
    // Wrong codes at login from that phone: the finding says the same.
    let s = start(&mut d, None, OFFICE);
    let id = s.challenge_id.unwrap();
    for _ in 0..2 {
        let code = app_code(&d, app, 120);
        let out = d.verify(id, &code, None).unwrap();
        assert_eq!(out.result, VerifyResult::Invalid, "{out:?}");
        d.advance_clock(TimeDelta::seconds(30));
    }
    let report = d.diagnose(ALICE).unwrap();
    let f = &report.findings[0];
    assert_eq!(f.title, "Phone set to another time zone", "{f:?}");
    assert!(
        f.explanation
            .contains("the phone's clock is set one hour ahead: check its time zone"),
        "{f:?}"
    );
    // Five and a half hours behind, give or take a step.
    let behind = app_code(&d, app, -661);
    let check = d.check_code(ALICE, &behind).unwrap();
    assert!(
        check.message.ends_with(
            "the phone's clock is set five and a half hours behind: check its time zone."
        ),
        "{check:?}"
    );
}
