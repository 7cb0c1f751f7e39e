//! Issue 10's defects on the user screen and in the doctor, each driven
//! through `App::handle_key` over the demo data, snapshotted where it shows.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::domain::{FactorKind, FactorStatus};
use factordesk::tui::App;
use ratatui::crossterm::event::KeyCode;

use support::doctor::{app_code, screen};
use support::{demo_console as app, keys, press};

/// Snapshot `app` at 100×30 and at 80×24, as `NAME_100x30` and `NAME_80x24`.
fn snap(name: &str, app: &App) {
    crate::snap_sizes!(name, app);
}

/// Users screen, search, open.
fn open(app: &mut App, email: &str) {
    keys(app, &format!("2\x1b/{email}\n\n"));
    assert!(
        screen(app).contains(&format!("› {email}")),
        "{}",
        screen(app)
    );
}

/// The status bar: the last row.
fn status(app: &App) -> String {
    screen(app)
        .lines()
        .last()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn the_compromise_response_from_mallory_s_doctor() {
    let mut app = app();
    let mallory = "mallory@example.com";
    open(&mut app, mallory);
    keys(&mut app, "o\n");
    assert!(
        screen(&app).contains("Treat as compromised"),
        "{}",
        screen(&app)
    );
    keys(&mut app, "code replayed from an address she does not know");
    snap("compromise_confirm_mallory", &app);
    keys(&mut app, "\n");
    // The new app is pending, and nothing else of hers is left.
    let detail = app.desk().user(mallory).unwrap();
    assert!(detail.profile.password_change);
    assert_eq!(detail.factors.len(), 1);
    assert_eq!(detail.factors[0].status, FactorStatus::Pending);
    assert_eq!(detail.codes.total, 0);
    assert!(screen(&app).contains("Enrol authenticator app"));
    let code = app_code(&app, mallory, FactorStatus::Pending, 0);
    keys(&mut app, &format!("{code}\n"));
    // Her first code from the new app brings new backup codes.
    assert!(screen(&app).contains("Backup codes"), "{}", screen(&app));
    keys(&mut app, "\x1b");
    snap("compromised_mallory", &app);
    let s = screen(&app);
    assert!(
        s.contains("a new one is required at their next login"),
        "{s}"
    );
    assert!(s.contains("New password required  [p]"), "{s}");
    // The doctor says who did it and why: the reason typed, from the
    // event's facts.
    keys(&mut app, "o");
    let s = screen(&app);
    assert!(s.contains("by admin: code replayed from an"), "{s}");
    // What came before it is history, said as what settled it.
    assert!(s.contains("before the compromise response at"), "{s}");
}

#[test]
fn dave_s_lost_phone_is_replaced_at_once() {
    let mut app = app();
    let dave = "dave@example.com";
    open(&mut app, dave);
    keys(&mut app, "o\n");
    snap("reenrol_confirm_dave", &app);
    keys(&mut app, "lost phone, identity checked\n");
    let code = app_code(&app, dave, FactorStatus::Pending, 0);
    keys(&mut app, &format!("{code}\n\x1b"));
    let detail = app.desk().user(dave).unwrap();
    assert!(!detail.profile.password_change);
    assert_eq!(detail.factors[0].status, FactorStatus::Active);
    assert_eq!((detail.codes.remaining, detail.codes.total), (10, 10));
}

#[test]
fn leaving_a_user_without_a_factor_is_said_first() {
    let mut app = app();
    open(&mut app, "alice@example.com");
    keys(&mut app, "d");
    snap("disable_last_factor_alice", &app);
    keys(&mut app, "\x1b");
    keys(&mut app, "x");
    let s = screen(&app);
    assert!(s.contains("This is their only active factor"), "{s}");
    keys(&mut app, "\x1b");
    // Frank has no factor: an SMS factor of his, pending, is no loss.
    let mut app = support::demo_console();
    open(&mut app, "frank@example.com");
    keys(&mut app, "m\n");
    keys(&mut app, "\x1b");
    keys(&mut app, "x");
    assert!(
        !screen(&app).contains("only active factor"),
        "{}",
        screen(&app)
    );
}

#[test]
fn factor_keys_act_only_on_a_highlighted_factor() {
    let mut app = app();
    open(&mut app, "alice@example.com");
    // The devices panel has the focus: her factor is not highlighted.
    press(&mut app, KeyCode::Right);
    for key in ["d", "x", "c"] {
        keys(&mut app, key);
        assert!(
            status(&app).contains("Highlight a factor first"),
            "{key}: {}",
            screen(&app)
        );
        assert!(!screen(&app).contains("Reason (for the audit trail)"));
    }
    snap("factor_key_on_devices_alice", &app);
    // r acts on the highlighted device only while the devices have the focus.
    press(&mut app, KeyCode::Left);
    keys(&mut app, "r");
    assert!(
        status(&app).contains("Highlight a device first"),
        "{}",
        screen(&app)
    );
}

#[test]
fn nothing_to_unlock_or_revoke_asks_no_reason() {
    let mut app = app();
    open(&mut app, "alice@example.com");
    keys(&mut app, "u");
    assert!(
        status(&app).contains("Nothing to unlock"),
        "{}",
        screen(&app)
    );
    snap("nothing_to_unlock_alice", &app);
    // Erin is locked, but has no remembered computer.
    open(&mut app, "erin@example.com");
    keys(&mut app, "R");
    assert!(
        status(&app).contains("Nothing to revoke"),
        "{}",
        screen(&app)
    );
    keys(&mut app, "u");
    assert!(screen(&app).contains("Unlock 2FA"), "{}", screen(&app));
}

#[test]
fn a_code_check_is_for_an_authenticator_app() {
    let mut app = app();
    open(&mut app, "heidi@example.com");
    keys(&mut app, "v");
    assert!(
        status(&app).contains("No authenticator app"),
        "{}",
        screen(&app)
    );
    assert!(!screen(&app).contains("Check a code"));
    keys(&mut app, "o");
    keys(&mut app, "v");
    assert!(
        status(&app).contains("No authenticator app"),
        "{}",
        screen(&app)
    );
}

#[test]
fn the_doctor_s_bracketed_keys_work_there_and_q_closes_it() {
    let mut app = app();
    open(&mut app, "erin@example.com");
    keys(&mut app, "o");
    assert!(screen(&app).contains("2FA locked  [u]"), "{}", screen(&app));
    keys(&mut app, "u");
    assert!(screen(&app).contains("Unlock 2FA"), "{}", screen(&app));
    keys(&mut app, "\x1b");
    // q leaves the doctor, as Esc does; the console stays.
    keys(&mut app, "o");
    assert!(screen(&app).contains("Doctor for erin@example.com"));
    keys(&mut app, "q");
    assert!(!app.should_quit());
    assert!(!screen(&app).contains("Doctor for erin@example.com"));
    assert!(screen(&app).contains("Factors (1)"), "{}", screen(&app));
    // A key its advice names ("press X") works there too.
    open(&mut app, "dave@example.com");
    keys(&mut app, "o");
    assert!(screen(&app).contains("press b"), "{}", screen(&app));
    keys(&mut app, "b");
    assert!(
        screen(&app).contains("New backup codes"),
        "{}",
        screen(&app)
    );
}

/// Two pending enrolments: the fix of the second one confirms that one,
/// not the first pending factor in the list.
#[test]
fn a_fix_acts_on_the_factor_its_finding_names() {
    let mut app = app();
    let grace = "grace@example.com";
    open(&mut app, grace);
    // An email factor too, pending: its code is in the outbox.
    keys(&mut app, "m\n\x1b");
    keys(&mut app, "o");
    let s = screen(&app);
    assert_eq!(s.matches("Enrolment never confirmed").count(), 2, "{s}");
    // The second finding is the email factor's.
    keys(&mut app, "j\n");
    let s = screen(&app);
    assert!(s.contains("Confirm Email to g***e@example.com"), "{s}");
    let code = support::newest_code(app.desk(), grace);
    keys(&mut app, &format!("{code}\n"));
    let factors = app.desk().factors(grace).unwrap();
    let email = factors
        .iter()
        .find(|f| f.kind == FactorKind::Email)
        .unwrap();
    let totp = factors.iter().find(|f| f.kind == FactorKind::Totp).unwrap();
    assert_eq!(
        (email.status, totp.status),
        (FactorStatus::Active, FactorStatus::Pending)
    );
}

/// Carol moved to an authenticator app: the doctor no longer offers one,
/// and the overview no longer lists her failed texts; Mallory's replay is
/// listed until her factor is replaced.
#[test]
fn carol_fixed_and_mallory_s_replay_on_the_overview() {
    let mut app = app();
    let carol = "carol@example.co.uk";
    keys(&mut app, "1");
    let s = screen(&app);
    assert!(s.contains("code reused   mallory@example.com"), "{s}");
    assert!(s.contains("not delivered carol@example.co.uk"), "{s}");
    open(&mut app, carol);
    keys(&mut app, "o\n");
    let code = app_code(&app, carol, FactorStatus::Pending, 0);
    keys(&mut app, &format!("{code}\n\x1b"));
    snap("carol_after_her_fix", &app);
    let s = screen(&app);
    assert!(s.contains("SMS country not allowed  [x]"), "{s}");
    assert!(!s.contains("[t]"), "{s}");
    // Her text factor is not her last active one now: no warning.
    keys(&mut app, "x");
    let s = screen(&app);
    assert!(s.contains("Remove SMS to +44"), "{s}");
    assert!(!s.contains("only active factor"), "{s}");
    keys(&mut app, "\x1b");
    keys(&mut app, "1");
    let s = screen(&app);
    assert!(!s.contains("carol@example.co.uk"), "{s}");
    // Mallory's factor replaced: her replay is settled (her new app, not
    // confirmed yet, is what the list shows of her now).
    open(&mut app, "mallory@example.com");
    keys(&mut app, "Cseen elsewhere\n\x1b");
    keys(&mut app, "1");
    let s = screen(&app);
    assert!(!s.contains("code reused"), "{s}");
    assert!(s.contains("pending       mallory@example.com"), "{s}");
}

#[test]
fn the_profile_counts_failures_and_masks_the_phone() {
    let mut app = app();
    // Her replayed code is a failure that counts; Bob's skewed codes are
    // older than the lockout window.
    open(&mut app, "mallory@example.com");
    let s = screen(&app);
    assert!(
        s.contains("not locked: 1 of 10 failures towards a lock"),
        "{s}"
    );
    open(&mut app, "carol@example.co.uk");
    let s = screen(&app);
    assert!(s.contains("phone +44 ******0123"), "{s}");
    assert!(!s.contains("+447400900123"), "{s}");
}

/// `c` on a pending authenticator does what confirming it from its QR code
/// does: her first app, and no backup codes yet, so a batch comes with it.
#[test]
fn confirming_a_pending_app_with_c_makes_backup_codes() {
    let mut app = app();
    let grace = "grace@example.com";
    open(&mut app, grace);
    let code = app_code(&app, grace, FactorStatus::Pending, 0);
    keys(&mut app, &format!("c{code}\n"));
    snap("confirmed_with_c_grace", &app);
    let s = screen(&app);
    assert!(s.contains("Backup codes"), "{s}");
    keys(&mut app, "\x1b");
    let detail = app.desk().user(grace).unwrap();
    assert_eq!(detail.factors[0].status, FactorStatus::Active);
    assert_eq!((detail.codes.remaining, detail.codes.total), (10, 10));
}

/// The doctor's `[u]` opens the unlock there, over the doctor's user.
#[test]
fn a_bracketed_key_in_the_doctor_opens_its_action() {
    let mut app = app();
    open(&mut app, "erin@example.com");
    keys(&mut app, "o");
    snap("doctor_erin_keys", &app);
    keys(&mut app, "u");
    snap("doctor_key_unlock_erin", &app);
    keys(&mut app, "verified by phone\n");
    assert!(!app.desk().user("erin@example.com").unwrap().lock.locked);
}

/// `v` for an email-only user says why there is nothing to check.
#[test]
fn a_code_check_for_an_email_only_user_is_explained() {
    let mut app = app();
    open(&mut app, "heidi@example.com");
    keys(&mut app, "v");
    snap("check_code_email_only_heidi", &app);
}

/// "last login" on the profile is the last one that got in; the doctor
/// speaks of the last login attempt, which may not have.
#[test]
fn last_login_and_last_login_attempt_are_two_words() {
    let mut app = app();
    open(&mut app, "ivan@example.com");
    keys(&mut app, "o");
    let s = screen(&app);
    let profile = s.lines().find(|l| l.contains("last login:")).unwrap();
    assert!(!profile.contains("attempt"), "{s}");
    assert!(s.contains("Last login attempt"), "{s}");
    assert!(
        !s.contains("Last login 2026") && !s.contains("Last login just"),
        "{s}"
    );
}

/// `?` in the doctor lists the keys it takes: its own, and those its
/// findings name, which act on the user's screen; `q` goes back there.
#[test]
fn the_doctor_s_help_lists_the_keys_it_names() {
    let mut app = app();
    open(&mut app, "erin@example.com");
    keys(&mut app, "o?");
    snap("help_doctor", &app);
}
