//! For each demo scenario user, as an agent would in the console: open the
//! doctor, do the fix it suggests (Enter on the first finding, through the
//! same keys), then simulate their login: it must succeed.

// Test helpers unwrap like the tests do (`allow-unwrap-in-tests` covers only
// the test functions themselves).
#![allow(clippy::unwrap_used)]

mod support;

use chrono::TimeDelta;
use factordesk::domain::{FactorKind, FactorStatus};
use factordesk::tui::App;
use ratatui::crossterm::event::KeyCode;

use support::{demo_console as app, keys, press};

fn screen(app: &App) -> String {
    support::screen(app, 100, 30)
}

/// Users screen, search, open: as an agent finds someone.
fn open(app: &mut App, email: &str) {
    keys(app, &format!("2/{email}\n\n"));
    assert!(
        screen(app).contains(&format!("› {email}")),
        "{}",
        screen(app)
    );
}

fn app_code(app: &App, email: &str, status: FactorStatus, offset: i64) -> String {
    let f = app
        .desk()
        .factors(email)
        .unwrap()
        .into_iter()
        .find(|f| f.kind == FactorKind::Totp && f.status == status)
        .unwrap();
    app.desk()
        .authenticator_code(email, f.id, TimeDelta::seconds(offset))
        .unwrap()
}

/// Open the doctor, check its first finding's title, and do its fix.
fn doctor_fix(app: &mut App, email: &str, first: &str) {
    open(app, email);
    keys(app, "o");
    let s = screen(app);
    let line = s.lines().find(|l| l.contains('▶')).unwrap_or_default();
    assert!(line.contains(first), "{email}: first finding {line:?}\n{s}");
    keys(app, "\n");
}

/// Simulate the login (l, Enter) after `wait` 30-second steps (F5) with
/// the phone's clock `phone_offset` seconds off, answer any challenge, and
/// require success.
fn signs_in(app: &mut App, email: &str, phone_offset: i64, wait: usize) {
    open(app, email);
    keys(app, "l");
    for _ in 0..wait {
        press(app, KeyCode::F(5));
    }
    for _ in 0..(phone_offset.abs() / 30) {
        keys(app, if phone_offset < 0 { "<" } else { ">" });
    }
    keys(app, "\n");
    let s = screen(app);
    if s.contains("CHALLENGE") {
        let sent = s.contains("A code was sent");
        if sent {
            // The simulator sends its codes in its sandbox.
            let code = support::newest_code(app.sandbox().unwrap(), email);
            keys(app, &format!("c{code}\n"));
        } else {
            keys(app, "y");
        }
    }
    let s = screen(app);
    assert!(
        s.contains("ALLOWED") || s.contains("Code accepted"),
        "{email} did not get in:\n{s}"
    );
}

#[test]
fn erin_unlocked() {
    let mut app = app();
    doctor_fix(&mut app, "erin@example.com", "2FA locked");
    keys(&mut app, "caller verified by phone\n");
    signs_in(&mut app, "erin@example.com", 0, 0);
}

#[test]
fn frank_enrols_an_app() {
    let mut app = app();
    doctor_fix(
        &mut app,
        "frank@example.com",
        "No second factor, grace over",
    );
    let code = app_code(&app, "frank@example.com", FactorStatus::Pending, 0);
    keys(&mut app, &format!("{code}\n\x1b"));
    // The code confirmed the factor; the login needs the next one.
    signs_in(&mut app, "frank@example.com", 0, 1);
}

#[test]
fn grace_confirms_her_enrolment() {
    let mut app = app();
    doctor_fix(&mut app, "grace@example.com", "Enrolment never confirmed");
    let code = app_code(&app, "grace@example.com", FactorStatus::Pending, 0);
    keys(&mut app, &format!("{code}\n"));
    signs_in(&mut app, "grace@example.com", 0, 1);
}

#[test]
fn carol_moves_to_an_app() {
    let mut app = app();
    doctor_fix(&mut app, "carol@example.co.uk", "SMS country not allowed");
    let code = app_code(&app, "carol@example.co.uk", FactorStatus::Pending, 0);
    keys(&mut app, &format!("{code}\n\x1b"));
    signs_in(&mut app, "carol@example.co.uk", 0, 1);
}

#[test]
fn dave_is_reset_after_an_identity_check() {
    let mut app = app();
    doctor_fix(&mut app, "dave@example.com", "Backup codes used up");
    keys(&mut app, "lost phone, identity checked\n");
    signs_in(&mut app, "dave@example.com", 0, 0);
}

#[test]
fn oscar_enabled_again() {
    let mut app = app();
    doctor_fix(&mut app, "oscar@example.com", "Account disabled");
    keys(&mut app, "rehired\n");
    signs_in(&mut app, "oscar@example.com", 0, 0);
}

#[test]
fn judy_no_longer_asked_every_time() {
    let mut app = app();
    doctor_fix(&mut app, "judy@example.com", "Asked on every login");
    signs_in(&mut app, "judy@example.com", 0, 0);
}

#[test]
fn mallory_reset_after_a_replay_from_elsewhere() {
    let mut app = app();
    doctor_fix(&mut app, "mallory@example.com", "Code used twice");
    keys(&mut app, "code seen by someone else\n");
    signs_in(&mut app, "mallory@example.com", 0, 0);
}

#[test]
fn bob_resynced() {
    let mut app = app();
    doctor_fix(&mut app, "bob@example.com", "Phone clock off");
    // The resync popup: two codes in a row from his 90 s slow phone, the
    // one it showed just before and the one it shows now.
    let (a, b) = (
        app_code(&app, "bob@example.com", FactorStatus::Active, -120),
        app_code(&app, "bob@example.com", FactorStatus::Active, -90),
    );
    keys(&mut app, &format!("{a} {b}\n"));
    // The simulator's phone is his, 90 s slow; those two codes are spent,
    // so `y` types the next one it shows.
    signs_in(&mut app, "bob@example.com", 0, 0);
}

#[test]
fn ivan_heidi_and_alice_need_nothing_fixed() {
    let mut app = app();
    doctor_fix(&mut app, "ivan@example.com", "Remembered computer expired");
    signs_in(&mut app, "ivan@example.com", 0, 0);
    doctor_fix(&mut app, "heidi@example.com", "Codes are being delivered");
    signs_in(&mut app, "heidi@example.com", 0, 0);
    doctor_fix(&mut app, "alice@example.com", "Nothing wrong found");
    signs_in(&mut app, "alice@example.com", 0, 0);
}

#[test]
fn a_disabled_factor_is_enabled_again() {
    let mut app = app();
    let alice = "alice@example.com";
    // Her only factor, disabled from her user screen.
    open(&mut app, alice);
    keys(&mut app, "dphone at the repair shop\n\x1b");
    let f = &app.desk().factors(alice).unwrap()[0];
    assert_eq!(f.status, FactorStatus::Disabled);
    doctor_fix(&mut app, alice, "Factor disabled");
    keys(&mut app, "phone back\n");
    signs_in(&mut app, alice, 0, 0);
}
