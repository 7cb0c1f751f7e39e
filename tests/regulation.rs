//! Regulation through the real use cases, at every boundary: wrong passwords
//! by user and by address, the ban doubling, the hard stop on failed codes,
//! the message limit and the doctor's code checks under a flood of refusals.

#![allow(clippy::unwrap_used)]

mod support;

use chrono::TimeDelta;
use factordesk::desk::Desk;
use factordesk::desk::login::{LoginRequest, PasswordInput};
use factordesk::desk::records::RecordQuery;
use factordesk::desk::users::NewUser;
use factordesk::desk::views::{LoginStart, VerifyResult};
use factordesk::domain::Action;
use factordesk::domain::login::Outcome;
use factordesk::domain::vocab::DeliveryStatus;

const PASSWORD: &str = "correct horse battery";
const HOME: &str = "198.51.100.7";

fn mins(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

/// A desk whose users all have `PASSWORD` (one hash, shared).
fn desk(users: &[&str]) -> Desk {
    let mut d = support::empty_desk(42);
    let hash = d.hash_password(PASSWORD).unwrap();
    for email in users {
        d.add_user(&NewUser {
            email: (*email).to_owned(),
            name: "Test User".to_owned(),
            password_hash: Some(hash.clone()),
            ..NewUser::default()
        })
        .unwrap();
    }
    d
}

fn start(d: &mut Desk, email: &str, password: &str, ip: &str) -> LoginStart {
    d.start_login(&LoginRequest {
        email: email.to_owned(),
        password: PasswordInput::Plain(password.to_owned()),
        device: None,
        ip: Some(ip.to_owned()),
        action: Action::Login,
        factor: None,
    })
    .unwrap()
}

fn wrong(d: &mut Desk, email: &str, ip: &str) -> LoginStart {
    start(d, email, "not the password", ip)
}

fn refused(s: &LoginStart) -> bool {
    s.decision == Outcome::Denied && s.reasons.iter().any(|r| r.contains("refused until"))
}

const ANA: &str = "ana@example.com";

#[test]
fn the_fifth_wrong_password_bans_password_checks_even_the_right_one() {
    let mut d = desk(&[ANA]);
    for n in 1..=4 {
        let s = wrong(&mut d, ANA, HOME);
        assert_eq!(s.decision, Outcome::Denied, "{n}");
        assert!(!refused(&s), "the {n}th is only wrong: {s:?}");
    }
    let fifth = wrong(&mut d, ANA, HOME);
    assert!(
        fifth
            .reasons
            .iter()
            .any(|r| r.contains("5 wrong passwords")),
        "{fifth:?}"
    );
    // Banned: the right password is not even checked.
    let right = start(&mut d, ANA, PASSWORD, HOME);
    assert!(refused(&right), "{right:?}");
    assert!(right.reasons[0].contains("try again"), "{right:?}");
    // From anywhere: the ban is the user's.
    assert!(refused(&start(&mut d, ANA, PASSWORD, "192.0.2.1")));
    // It ends exactly 15 minutes after the fifth.
    d.advance_clock(mins(15) - TimeDelta::seconds(1));
    assert!(refused(&start(&mut d, ANA, PASSWORD, HOME)));
    d.advance_clock(TimeDelta::seconds(1));
    let s = start(&mut d, ANA, PASSWORD, HOME);
    assert!(!refused(&s), "{s:?}");
    assert_ne!(s.decision, Outcome::Denied, "{s:?}");
    // Each refusal was audited.
    let events = d
        .audit(&RecordQuery {
            user: Some(ANA.to_owned()),
            kind: Some("login.denied".to_owned()),
            limit: 100,
            ..RecordQuery::default()
        })
        .unwrap();
    let refusals = events
        .iter()
        .filter(|e| e.detail.contains("password check refused"))
        .count();
    assert_eq!(refusals, 3, "{events:#?}");
}

#[test]
fn bans_in_a_row_double_and_a_right_password_ends_the_run() {
    let mut d = desk(&[ANA]);
    let ban = |d: &mut Desk| {
        for _ in 0..5 {
            wrong(d, ANA, HOME);
        }
    };
    ban(&mut d);
    d.advance_clock(mins(15));
    ban(&mut d);
    // The second ban lasts 30 minutes.
    d.advance_clock(mins(30) - TimeDelta::seconds(1));
    assert!(refused(&start(&mut d, ANA, PASSWORD, HOME)));
    d.advance_clock(TimeDelta::seconds(1));
    ban(&mut d);
    d.advance_clock(mins(60) - TimeDelta::seconds(1));
    assert!(
        refused(&start(&mut d, ANA, PASSWORD, HOME)),
        "the third, an hour"
    );
    d.advance_clock(TimeDelta::seconds(1));
    // The right password ends the run: the next ban is 15 minutes again.
    assert!(!refused(&start(&mut d, ANA, PASSWORD, HOME)));
    ban(&mut d);
    d.advance_clock(mins(15));
    assert!(!refused(&start(&mut d, ANA, PASSWORD, HOME)));
}

#[test]
fn four_wrong_then_right_resets_the_count() {
    let mut d = desk(&[ANA]);
    for _ in 0..4 {
        wrong(&mut d, ANA, HOME);
    }
    start(&mut d, ANA, PASSWORD, HOME);
    for _ in 0..4 {
        assert!(!refused(&wrong(&mut d, ANA, HOME)));
    }
    // Failures older than the window no longer count.
    d.advance_clock(mins(10));
    assert!(!refused(&wrong(&mut d, ANA, HOME)));
}

#[test]
fn twenty_wrong_passwords_from_one_address_ban_it_for_everyone() {
    let users: Vec<String> = (0..21).map(|i| format!("u{i:02}@example.com")).collect();
    let names: Vec<&str> = users.iter().map(String::as_str).collect();
    let mut d = desk(&names);
    let attacker = "203.0.113.66";
    for (n, u) in names.iter().take(19).enumerate() {
        assert!(!refused(&wrong(&mut d, u, attacker)), "{n}");
    }
    let twentieth = wrong(&mut d, names[19], attacker);
    assert!(
        twentieth
            .reasons
            .iter()
            .any(|r| r.contains("from 203.0.113.66")),
        "{twentieth:?}"
    );
    // Nobody's password is checked from there, even a user it never tried.
    let s = start(&mut d, names[20], PASSWORD, attacker);
    assert!(
        refused(&s) && s.reasons[0].contains("from 203.0.113.66"),
        "{s:?}"
    );
    // From elsewhere, the same user is fine.
    assert!(!refused(&start(&mut d, names[20], PASSWORD, HOME)));
    d.advance_clock(mins(15));
    assert!(!refused(&start(&mut d, names[20], PASSWORD, attacker)));
}

#[test]
fn turning_2fa_off_counts_wrong_passwords_like_a_login() {
    let mut d = desk(&[ANA]);
    d.set_policy("enforce", "off", "test").unwrap();
    d.enrol_totp(ANA).unwrap();
    for _ in 0..5 {
        let err = d.turn_off_2fa(ANA, "guess", None).unwrap_err();
        assert_eq!(err.exit_code(), 3);
    }
    let err = d.turn_off_2fa(ANA, PASSWORD, None).unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("refused until"), "{err}");
    assert_eq!(d.factors(ANA).unwrap().len(), 1, "nothing removed");
    // A login is refused too: the ban is the user's, whatever asked.
    assert!(refused(&start(&mut d, ANA, PASSWORD, HOME)));
    // An admin's unlock lifts it.
    d.unlock(ANA, "called in, ID checked").unwrap();
    assert!(d.turn_off_2fa(ANA, PASSWORD, None).is_ok());
}

/// An authenticator app for `email`, confirmed: its factor id and secret.
fn with_app(d: &mut Desk, email: &str) -> i64 {
    let e = d.enrol_totp(email).unwrap();
    let code = d
        .authenticator_code(email, e.factor_id, TimeDelta::zero())
        .unwrap();
    d.confirm_factor(email, e.factor_id, &code).unwrap();
    e.factor_id
}

#[test]
fn the_hundredth_failed_code_in_a_row_locks_until_an_admin_unlocks() {
    let mut d = desk(&[ANA]);
    with_app(&mut d, ANA);
    d.advance_clock(mins(1));
    // Nine wrong codes every 15 minutes stay under the 10-in-15 lock, but
    // nothing ever succeeds: the 100th in a row is the hard stop.
    let mut failures = 0;
    let mut last = None;
    while failures < 100 {
        let s = start(&mut d, ANA, PASSWORD, HOME);
        let c = s.challenge_id.unwrap();
        for _ in 0..4 {
            if failures == 100 {
                break;
            }
            last = Some(d.verify(c, "000000", None).unwrap());
            failures += 1;
            if failures % 9 == 0 {
                d.advance_clock(mins(16));
                break;
            }
        }
        d.advance_clock(TimeDelta::seconds(31));
    }
    let last = last.unwrap();
    assert_eq!(last.result, VerifyResult::Locked, "{last:?}");
    assert!(
        last.message.contains("until an admin unlocks it"),
        "{last:?}"
    );
    // Days later it is still locked, and says so.
    d.advance_clock(TimeDelta::days(3));
    let s = start(&mut d, ANA, PASSWORD, HOME);
    assert_eq!(s.decision, Outcome::Denied);
    assert!(
        s.reasons[0].contains("only an admin can unlock it"),
        "{s:?}"
    );
    let report = d.diagnose(ANA).unwrap();
    assert_eq!(report.findings[0].title, "2FA locked until unlocked");
    d.unlock(ANA, "verified by phone").unwrap();
    assert_eq!(
        start(&mut d, ANA, PASSWORD, HOME).decision,
        Outcome::Challenge
    );
}

#[test]
fn the_eleventh_code_by_message_in_an_hour_is_not_sent() {
    let mut d = desk(&[ANA]);
    let enrolment = d.add_email(ANA, None).unwrap();
    let newest = d
        .outbox(&RecordQuery {
            user: Some(ANA.to_owned()),
            limit: 1,
            ..RecordQuery::default()
        })
        .unwrap();
    let sent = newest[0]
        .text
        .split(|ch: char| !ch.is_ascii_digit())
        .find(|word| word.len() == 6)
        .unwrap()
        .to_owned();
    d.confirm_factor(ANA, enrolment.factor_id, &sent).unwrap();
    // The confirmation was the first; nine logins make ten.
    for n in 2..=10 {
        d.advance_clock(mins(5));
        let s = start(&mut d, ANA, PASSWORD, HOME);
        let delivery = s.delivery.unwrap();
        assert_ne!(delivery.status, DeliveryStatus::Failed, "message {n}");
    }
    d.advance_clock(mins(5));
    let eleventh = start(&mut d, ANA, PASSWORD, HOME);
    let delivery = eleventh.delivery.clone().unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Failed);
    let why = delivery.reason.unwrap();
    assert!(why.contains("not sent: 10 codes"), "{why}");
    assert!(
        eleventh.reasons.iter().any(|r| r.contains("not sent")),
        "{eleventh:?}"
    );
    // A resend is refused the same way.
    d.advance_clock(TimeDelta::seconds(31));
    let r = d.resend(eleventh.challenge_id.unwrap()).unwrap();
    assert_eq!(r.delivery.unwrap().status, DeliveryStatus::Failed);
    // An hour after the first, one more may go.
    d.advance_clock(mins(60) - mins(50) - TimeDelta::seconds(31));
    let s = start(&mut d, ANA, PASSWORD, HOME);
    assert_ne!(
        s.delivery.as_ref().unwrap().status,
        DeliveryStatus::Failed,
        "{s:?}"
    );
}

#[test]
fn code_checks_stop_at_five_and_a_flood_of_refusals_does_not_reset_them() {
    let mut d = desk(&[ANA]);
    let fid = with_app(&mut d, ANA);
    let code = d.authenticator_code(ANA, fid, TimeDelta::zero()).unwrap();
    for n in 1..=5 {
        assert!(d.check_code(ANA, &code).is_ok(), "check {n}");
    }
    let err = d.check_code(ANA, &code).unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("the next can be made at"), "{err}");
    // A flood of refused checks, a second apart.
    for _ in 0..200 {
        d.advance_clock(TimeDelta::seconds(1));
        assert!(d.check_code(ANA, &code).is_err());
    }
    // One second short of ten minutes after the five, still refused; at
    // exactly ten minutes they leave the window, and five more are allowed.
    d.advance_clock(mins(10) - TimeDelta::seconds(201));
    assert!(d.check_code(ANA, &code).is_err());
    d.advance_clock(TimeDelta::seconds(1));
    let code = d.authenticator_code(ANA, fid, TimeDelta::zero()).unwrap();
    for n in 1..=5 {
        assert!(
            d.check_code(ANA, &code).is_ok(),
            "check {n} of the next window"
        );
    }
    assert!(d.check_code(ANA, &code).is_err());
}
