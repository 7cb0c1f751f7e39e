//! The two seed behaviours issue 10 found only in the CLI, now in the
//! console: a new mobile number in one step, confirmed by an SMS to it
//! (article 001), and a user turning 2FA off with their own password
//! (article 003). Driven through the user screen's keys on the demo data,
//! frozen clock, seeded RNG; snapshots at 100×30 and 80×24.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::domain::{FactorKind, FactorStatus};
use factordesk::tui::App;
use ratatui::crossterm::event::KeyCode;
use support::{console, demo_console, demo_desk, keys, newest_code, press, screen};

fn snap(name: &str, app: &App) {
    crate::snap_sizes!(name, app);
}

/// The User screen of `email`.
fn open_user(app: &mut App, email: &str) {
    keys(app, "2/");
    keys(app, email);
    press(app, KeyCode::Enter);
    press(app, KeyCode::Enter);
}

/// `email`'s SMS factor: its status and where it sends.
fn sms(app: &App, email: &str) -> (FactorStatus, Option<String>) {
    let f = app
        .desk()
        .factors(email)
        .unwrap()
        .into_iter()
        .find(|f| f.kind == FactorKind::Sms)
        .unwrap();
    (f.status, f.destination)
}

const CAROL: &str = "carol@example.co.uk";

#[test]
fn a_new_mobile_number_is_confirmed_by_an_sms_to_it() {
    // Carol's SMS goes to +44, no longer allowed: her texts fail. Her new
    // US number, in one step: the factor moves there, a code is sent, and
    // the popup asks for it.
    let mut app = demo_console();
    open_user(&mut app, CAROL);
    keys(&mut app, "M");
    let text = screen(&app, 80, 24);
    assert!(text.contains("Change mobile number"), "{text}");
    keys(&mut app, "+1 415 555 0199");
    snap("change_phone_asked", &app);
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 100, 30);
    assert!(text.contains("Confirm SMS to"), "{text}");
    assert_eq!(sms(&app, CAROL).0, FactorStatus::Pending);
    snap("change_phone_confirm", &app);
    // The code sent to the new number confirms it.
    let code = newest_code(app.desk(), CAROL);
    keys(&mut app, &code);
    press(&mut app, KeyCode::Enter);
    let (status, to) = sms(&app, CAROL);
    assert_eq!(status, FactorStatus::Active);
    assert_eq!(to.as_deref(), Some("+1 ******0199"));
    let text = screen(&app, 100, 30);
    assert!(text.contains("confirmed for carol@example.co.uk"), "{text}");
    snap("change_phone_confirmed", &app);
}

#[test]
fn a_number_sms_cannot_reach_is_refused_with_nothing_changed() {
    let mut app = demo_console();
    open_user(&mut app, CAROL);
    let before = sms(&app, CAROL);
    keys(&mut app, "M+44 7400 900999\n");
    let text = screen(&app, 100, 30);
    assert!(
        text.contains("Change mobile number"),
        "the popup stays:\n{text}"
    );
    assert!(text.contains("+44"), "{text}");
    assert!(text.contains("SMS cannot be sent to +44 numbers"), "{text}");
    assert_eq!(sms(&app, CAROL), before);
    snap("change_phone_refused", &app);
    // Esc leaves it as it was.
    press(&mut app, KeyCode::Esc);
    assert!(!screen(&app, 100, 30).contains("Change mobile number"));
    assert_eq!(sms(&app, CAROL), before);
}

#[test]
fn a_first_mobile_number_adds_the_sms_factor_and_confirms_it() {
    let mut app = demo_console();
    open_user(&mut app, "alice@example.com");
    keys(&mut app, "M+1 415 555 0123\n");
    assert!(screen(&app, 100, 30).contains("Confirm SMS to"));
    assert_eq!(sms(&app, "alice@example.com").0, FactorStatus::Pending);
    let code = newest_code(app.desk(), "alice@example.com");
    keys(&mut app, &format!("{code}\n"));
    assert_eq!(sms(&app, "alice@example.com").0, FactorStatus::Active);
}

const PASSWORD: &str = "correct horse battery staple";

#[test]
fn turning_2fa_off_takes_their_password_and_the_policy_s_word() {
    // Required for everyone (the demo's policy): refused, whatever the
    // password, and the popup says why.
    let mut app = demo_console();
    open_user(&mut app, "alice@example.com");
    keys(&mut app, "O");
    keys(&mut app, PASSWORD);
    snap("turn_off_asked", &app);
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 100, 30);
    assert!(text.contains("enforce=all"), "{text}");
    assert!(!text.contains(PASSWORD), "the password is masked:\n{text}");
    assert_eq!(app.desk().factors("alice@example.com").unwrap().len(), 1);
    snap("turn_off_required", &app);
}

#[test]
fn with_2fa_optional_the_right_password_turns_it_off() {
    let mut desk = demo_desk();
    desk.set_policy("enforce", "off", "test").unwrap();
    let mut app = console(desk);
    open_user(&mut app, "alice@example.com");
    keys(&mut app, "Onot my password\n");
    let text = screen(&app, 100, 30);
    assert!(text.contains("password is incorrect"), "{text}");
    assert_eq!(app.desk().factors("alice@example.com").unwrap().len(), 1);
    // The field is for another try: the wrong one erased first.
    for _ in 0.."not my password".len() {
        press(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, PASSWORD);
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 100, 30);
    assert!(text.contains("2FA is off for alice@example.com"), "{text}");
    assert!(app.desk().factors("alice@example.com").unwrap().is_empty());
    snap("turned_off", &app);
}

#[test]
fn the_doctor_s_m_changes_the_number_from_the_doctor_view() {
    // The doctor names "change the number" as press M where a number
    // cannot be reached; from the doctor view, M leaves for the user's
    // screen and asks for the new number there.
    let mut app = demo_console();
    open_user(&mut app, CAROL);
    keys(&mut app, "oM");
    let text = screen(&app, 100, 30);
    assert!(text.contains("Change mobile number"), "{text}");
    assert!(text.contains("(now +44 ******0123)"), "{text}");
}
