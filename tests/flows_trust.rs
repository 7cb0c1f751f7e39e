//! Library-level flow tests for the `desk` use cases: resending codes,
//! the lockout, remembered computers and step-up, and backup codes; each
//! rule at its boundary, on a fixed clock and a seeded RNG.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::desk::DeskError;
use factordesk::desk::devices::Which;
use factordesk::desk::login::LoginRequest;
use factordesk::desk::users::Edit;
use factordesk::desk::views::{DeviceState, ResendResult, VerifyResult};
use factordesk::domain::Action;
use factordesk::domain::login::Outcome;
use factordesk::domain::vocab::ChallengePurpose;

use support::flow::{
    ALICE, BOB, HOME_IP, NEW_IP, add_user, challenge, days, desk_with, fail_n, fail_totp,
    has_reason, login, login_with_token, mins, newest_code, outbox, remembered, secs, six_digits,
    start, totp_now, verify, with_sms, with_totp,
};

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
