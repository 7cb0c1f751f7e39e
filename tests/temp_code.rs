//! Temporary access codes through the desk: issued with a bounded validity,
//! accepted once at a challenge until the instant they expire, replaced by
//! a newer one, counted as wrong codes, audited with typed facts.

#![allow(clippy::unwrap_used)]

mod support;

use chrono::TimeDelta;
use factordesk::desk::Desk;
use factordesk::desk::login::{LoginRequest, PasswordInput};
use factordesk::desk::records::RecordQuery;
use factordesk::desk::views::VerifyResult;
use factordesk::domain::Action;

const DAVE: &str = "dave@example.com";

fn challenge(desk: &mut Desk) -> i64 {
    desk.start_login(&LoginRequest {
        email: DAVE.to_owned(),
        password: PasswordInput::Assume,
        device: None,
        ip: Some("203.0.113.5".to_owned()),
        action: Action::Login,
        factor: None,
    })
    .unwrap()
    .challenge_id
    .unwrap()
}

fn issued(desk: &mut Desk, valid: TimeDelta) -> String {
    desk.issue_temp_code(DAVE, valid, "lost phone, ID checked")
        .unwrap()
        .code
}

#[test]
fn a_temp_code_works_once_as_a_second_factor() {
    let mut desk = support::demo_desk();
    let code = issued(&mut desk, TimeDelta::hours(24));
    let id = challenge(&mut desk);
    let out = desk.verify(id, &code.to_uppercase(), None).unwrap();
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
    assert_eq!(out.used.as_deref(), Some("temp"));
    let view = desk.temp_code(DAVE).unwrap().unwrap();
    assert!(!view.live && view.used_at.is_some());
    // The second use is refused, and says when it was used.
    let id = challenge(&mut desk);
    let again = desk.verify(id, &code, None).unwrap();
    assert_eq!(again.result, VerifyResult::Replayed, "{again:?}");
    assert!(again.message.contains("already used"), "{}", again.message);
}

#[test]
fn a_temp_code_dies_at_its_expiry_instant() {
    let mut desk = support::demo_desk();
    let code = issued(&mut desk, TimeDelta::hours(2));
    // One second before: still good.
    desk.advance_clock(TimeDelta::hours(2) - TimeDelta::seconds(1));
    let id = challenge(&mut desk);
    // Exactly at expiry: refused (and one second past too).
    desk.advance_clock(TimeDelta::seconds(1));
    let at = desk.verify(id, &code, None).unwrap();
    assert_eq!(at.result, VerifyResult::Invalid, "{at:?}");
    assert!(at.message.contains("expired"), "{}", at.message);
    desk.advance_clock(TimeDelta::seconds(1));
    let id = challenge(&mut desk);
    let past = desk.verify(id, &code, None).unwrap();
    assert_eq!(past.result, VerifyResult::Invalid, "{past:?}");
    assert!(past.message.contains("expired"), "{}", past.message);
    assert!(!desk.temp_code(DAVE).unwrap().unwrap().live);
}

#[test]
fn one_second_before_expiry_it_still_works() {
    let mut desk = support::demo_desk();
    let code = issued(&mut desk, TimeDelta::hours(2));
    desk.advance_clock(TimeDelta::hours(2) - TimeDelta::seconds(1));
    let id = challenge(&mut desk);
    let out = desk.verify(id, &code, None).unwrap();
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
}

#[test]
fn a_new_code_replaces_the_old_which_is_refused() {
    let mut desk = support::demo_desk();
    let old = issued(&mut desk, TimeDelta::hours(24));
    let new = desk
        .issue_temp_code(DAVE, TimeDelta::hours(1), "second call")
        .unwrap();
    assert!(new.replaced_live);
    assert_ne!(old, new.code);
    let id = challenge(&mut desk);
    let out = desk.verify(id, &old, None).unwrap();
    assert_eq!(out.result, VerifyResult::Invalid, "{out:?}");
    assert!(out.message.contains("newer one"), "{}", out.message);
    let out = desk.verify(id, &new.code, None).unwrap();
    assert_eq!(out.result, VerifyResult::Accepted, "{out:?}");
}

#[test]
fn validity_reason_and_audit() {
    let mut desk = support::demo_desk();
    for bad in [TimeDelta::minutes(4), TimeDelta::days(8)] {
        assert!(desk.issue_temp_code(DAVE, bad, "x").is_err());
    }
    assert!(
        desk.issue_temp_code(DAVE, TimeDelta::hours(1), " ")
            .is_err()
    );
    assert!(
        desk.temp_code(DAVE).unwrap().is_none(),
        "nothing half-written"
    );
    let code = issued(&mut desk, TimeDelta::days(7));
    let events = desk
        .audit(&RecordQuery {
            user: Some(DAVE.to_owned()),
            kind: Some("user.temp_code".to_owned()),
            limit: 5,
            ..RecordQuery::default()
        })
        .unwrap();
    assert_eq!(events.len(), 1);
    assert!(events[0].detail.contains("lost phone, ID checked"));
    // The code itself is in no event and no stored column.
    assert!(!events[0].detail.contains(&code));
}

#[test]
fn guessing_counts_towards_the_lock() {
    let mut desk = support::demo_desk();
    issued(&mut desk, TimeDelta::hours(24));
    let mut locked = false;
    for i in 0..12 {
        let id = challenge(&mut desk);
        let out = desk.verify(id, "aaaa-bbbb-cccc", None).unwrap();
        if out.result == VerifyResult::Locked || out.locked_until.is_some() {
            locked = true;
            break;
        }
        assert_eq!(out.result, VerifyResult::Invalid, "guess {i}: {out:?}");
    }
    assert!(locked, "wrong temporary codes never locked 2FA");
}

#[test]
fn a_reset_removes_the_code() {
    let mut desk = support::demo_desk();
    issued(&mut desk, TimeDelta::hours(24));
    desk.reset_2fa(DAVE, "start over").unwrap();
    assert!(desk.temp_code(DAVE).unwrap().is_none());
}
