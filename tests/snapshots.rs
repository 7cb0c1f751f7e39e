//! Snapshots of the console: every screen, filter, popup and simulator step,
//! each drawn at the roomy 100×30 and the smallest supported 80×24. The app
//! is driven only through `App::handle_key`, the path the live console uses,
//! over the demo database on a fixed clock and a seeded RNG.

#![allow(clippy::unwrap_used)]

mod support;

use chrono::TimeDelta;
use factordesk::clock::Clock;
use factordesk::demo;
use factordesk::desk::Desk;
use factordesk::desk::login::{LoginRequest, PasswordInput};
use factordesk::desk::views::VerifyResult;
use factordesk::domain::Action;
use factordesk::domain::vocab::ChallengeState;
use factordesk::domain::{FactorKind, FactorStatus};
use factordesk::rng::Rng;
use factordesk::tui::App;
use factordesk::tui::render::{buffer, text};
use factordesk::tui::theme::Theme;
use factordesk::tui::worker::Worker;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Color;

use support::{console, demo_console as app, demo_desk, keys, newest_code, now, press, screen};

// ---------------------------------------------------------------- helpers

fn app_with(theme: Theme) -> App {
    App::new(demo_desk(), theme, Worker::inline(0))
}

/// A real (not simulated) login for `email` from `ip`: challenged, and for
/// an authenticator answered with the app's code, remembering the browser.
fn real_login(desk: &mut Desk, email: &str, ip: &str, remember: Option<&str>) {
    let start = desk
        .start_login(&LoginRequest {
            email: email.to_owned(),
            password: PasswordInput::Assume,
            device: None,
            ip: Some(ip.to_owned()),
            action: Action::Login,
            factor: None,
        })
        .unwrap();
    let factor = start.factor.expect("a challenge");
    if factor.kind == FactorKind::Totp {
        let code = desk
            .authenticator_code(email, factor.id, TimeDelta::zero())
            .unwrap();
        let v = desk
            .verify(start.challenge_id.unwrap(), &code, remember)
            .unwrap();
        assert_eq!(v.result, VerifyResult::Accepted, "{v:?}");
    }
}

fn press_n(app: &mut App, code: KeyCode, n: usize) {
    for _ in 0..n {
        press(app, code);
    }
}

/// Erase a prefilled text field (the cursor is at its end).
fn clear_field(app: &mut App) {
    press_n(app, KeyCode::Backspace, 60);
}

fn draw(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
    terminal
}

/// Snapshot `app` at 100×30 and at 80×24, as `NAME_100x30` and `NAME_80x24`.
fn snap(name: &str, app: &App) {
    for (w, h) in [(100, 30), (80, 24)] {
        let terminal = draw(app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

/// Users search for `email` (Esc first clears an earlier search), then open
/// the first match.
fn open_user(app: &mut App, email: &str) {
    keys(app, "2\x1b/");
    keys(app, email);
    keys(app, "\n\n");
    let shown = screen(app, 100, 30);
    assert!(
        shown.lines().next().unwrap().contains(email),
        "{email} is not open:\n{shown}"
    );
}

/// The id of the user's factor of `kind` in `status`.
fn factor_id(app: &App, email: &str, kind: FactorKind, status: FactorStatus) -> i64 {
    app.desk()
        .factors(email)
        .unwrap()
        .into_iter()
        .find(|f| f.kind == kind && f.status == status)
        .unwrap()
        .id
}

/// The newest message in the outbox for `email`, and its six-digit code.
fn latest_code(app: &App, email: &str) -> String {
    newest_code(app.desk(), email)
}

/// The same, in the simulator's sandbox (where its codes are sent).
fn sandbox_code(app: &App, email: &str) -> String {
    newest_code(app.sandbox().expect("the simulator's sandbox"), email)
}

const SCENARIO_USERS: [(&str, &str); 12] = [
    ("alice", "alice@example.com"),
    ("bob", "bob@example.com"),
    ("carol", "carol@example.co.uk"),
    ("dave", "dave@example.com"),
    ("erin", "erin@example.com"),
    ("frank", "frank@example.com"),
    ("grace", "grace@example.com"),
    ("heidi", "heidi@example.com"),
    ("ivan", "ivan@example.com"),
    ("judy", "judy@example.com"),
    ("mallory", "mallory@example.com"),
    ("oscar", "oscar@example.com"),
];

// ---------------------------------------------------------------- screens

#[test]
fn each_screen() {
    let mut app = app();
    snap("overview", &app);
    for (key, name) in [
        ('2', "users"),
        ('3', "simulator_no_user"),
        ('4', "outbox"),
        ('5', "audit"),
        ('6', "policy"),
    ] {
        press(&mut app, KeyCode::Char(key));
        snap(name, &app);
    }
}

#[test]
fn users_search_narrows_as_you_type() {
    let mut app = app();
    keys(&mut app, "2/");
    snap("users_search_empty_typing", &app);
    keys(&mut app, "er");
    snap("users_search_er_typing", &app);
    keys(&mut app, "in");
    snap("users_search_erin_typing", &app);
    keys(&mut app, "\n");
    snap("users_search_erin_done", &app);
    keys(&mut app, "\x1b");
    keys(&mut app, "/zzzz\n");
    snap("users_search_no_match", &app);
}

#[test]
fn outbox_says_why_a_message_failed_and_which_code_is_valid() {
    // carol's SMS to +44 failed; heidi's login sends an email whose code
    // works now.
    let mut desk = demo_desk();
    real_login(&mut desk, "heidi@example.com", "203.0.113.9", None);
    let mut app = console(desk);
    keys(&mut app, "4");
    for (w, h) in [(100, 30), (80, 24)] {
        let shown = screen(&app, w, h);
        let valid = shown.lines().find(|l| l.contains("heidi@")).unwrap();
        assert!(valid.contains(" valid "), "{shown}");
        let failed = shown.lines().find(|l| l.contains(" failed ")).unwrap();
        assert!(failed.contains("country calling code +44"), "{shown}");
        assert!(!shown.contains('◀'), "{shown}");
    }
    snap("outbox_failed_and_valid", &app);
}

#[test]
fn users_each_filter() {
    let mut app = app();
    keys(&mut app, "2");
    for name in ["locked", "no_2fa", "in_grace", "low_codes", "disabled"] {
        keys(&mut app, "f");
        snap(&format!("users_filter_{name}"), &app);
        if name == "in_grace" {
            // Nobody is in grace; there is no search to clear.
            let shown = screen(&app, 100, 30);
            assert!(shown.contains("No users match this filter"), "{shown}");
            assert!(!shown.contains("clears the search"), "{shown}");
        }
    }
}

#[test]
fn users_end_of_the_list() {
    let mut app = app();
    keys(&mut app, "2");
    press(&mut app, KeyCode::PageDown);
    press(&mut app, KeyCode::End);
    snap("users_end", &app);
}

/// The demo and 182 more users, 230 in all (the audit's big database).
fn app_with_230_users() -> App {
    let mut desk = demo_desk();
    for i in 1..=182 {
        desk.add_user(&factordesk::desk::users::NewUser {
            email: format!("u{i:03}@example.net"),
            name: format!("User {i:03}"),
            ..Default::default()
        })
        .unwrap();
    }
    console(desk)
}

/// The emails in the users table, top to bottom.
fn listed_emails(shown: &str) -> Vec<String> {
    shown
        .lines()
        .filter_map(|l| l.strip_prefix("│ "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.contains('@'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn users_page_through_230_a_screenful_at_a_time() {
    for (w, h) in [(100, 30), (80, 24)] {
        let mut app = app_with_230_users();
        keys(&mut app, "2");
        // PgDn moves by what the screen shows: draw it first, as the console does.
        let first = listed_emails(&screen(&app, w, h));
        let mut seen = first.clone();
        press(&mut app, KeyCode::PageDown);
        let shown = screen(&app, w, h);
        insta::assert_snapshot!(format!("users_230_page_down_{w}x{h}"), shown);
        // The second screenful starts right after the first.
        let second = listed_emails(&shown);
        assert_eq!(second.len(), first.len());
        assert!(
            second[0] > first[first.len() - 1],
            "{second:?} after {first:?}"
        );
        // On through every page: each screenful follows the last, to the end.
        loop {
            let rows = listed_emails(&screen(&app, w, h));
            if rows.last() == seen.last() {
                break;
            }
            seen.extend(rows);
            press(&mut app, KeyCode::PageDown);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 230, "every user shown once at {w}x{h}");
        // End and Home reach the true last and first rows.
        press(&mut app, KeyCode::Home);
        press(&mut app, KeyCode::End);
        let shown = screen(&app, w, h);
        insta::assert_snapshot!(format!("users_230_end_{w}x{h}"), shown);
        assert!(
            listed_emails(&shown)
                .last()
                .unwrap()
                .starts_with("zoe.dubois@")
        );
        press(&mut app, KeyCode::Home);
        assert_eq!(listed_emails(&screen(&app, w, h))[0], first[0]);
    }
}

#[test]
fn audit_end_reaches_the_first_event_at_once() {
    let mut app = app();
    keys(&mut app, "5");
    screen(&app, 100, 30);
    press(&mut app, KeyCode::End);
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("│#1 20"),
        "End shows the oldest event:\n{shown}"
    );
    insta::assert_snapshot!("audit_end_100x30", shown);
    press(&mut app, KeyCode::PageUp);
    insta::assert_snapshot!("audit_end_page_up_100x30", screen(&app, 100, 30));
}

#[test]
fn user_screen_of_every_scenario_user() {
    for (name, email) in SCENARIO_USERS {
        let mut app = app();
        open_user(&mut app, email);
        snap(&format!("user_{name}"), &app);
    }
}

#[test]
fn device_list_shows_address_last_seen_and_trust() {
    // alice logs in from a new address and is remembered there; then her
    // laptop is revoked. Every device shows its label, last address, when it
    // was last seen, and its trust, even at 80x24.
    let mut desk = demo_desk();
    real_login(
        &mut desk,
        "alice@example.com",
        "203.0.113.9",
        Some("Simulator browser"),
    );
    let mut app = console(desk);
    open_user(&mut app, "alice@example.com");
    press(&mut app, KeyCode::Right);
    press(&mut app, KeyCode::Down);
    keys(&mut app, "r");
    keys(&mut app, "laptop stolen\n");
    let shown = screen(&app, 80, 24);
    for word in [
        "Firefox on macOS",
        "198.51.100.7",
        "revoked 11-21",
        "203.0.113.9",
        "seen 11-21 09:00",
        "trusted until 12-05",
    ] {
        assert!(shown.contains(word), "{word} missing at 80x24:\n{shown}");
    }
    snap("user_alice_devices", &app);
}

#[test]
fn doctor_of_every_scenario_user() {
    for (name, email) in SCENARIO_USERS {
        let mut app = app();
        open_user(&mut app, email);
        keys(&mut app, "o");
        snap(&format!("doctor_{name}"), &app);
    }
}

#[test]
fn doctor_code_check_and_resync_for_bob() {
    let mut app = app();
    open_user(&mut app, "bob@example.com");
    let id = factor_id(
        &app,
        "bob@example.com",
        FactorKind::Totp,
        FactorStatus::Active,
    );
    let slow = |app: &App, s| {
        app.desk()
            .authenticator_code("bob@example.com", id, TimeDelta::seconds(s))
            .unwrap()
    };
    keys(&mut app, "ov");
    snap("doctor_bob_check_popup", &app);
    let code = slow(&app, -90);
    keys(&mut app, &format!("{code}\n"));
    snap("doctor_bob_checked", &app);
    keys(&mut app, "S");
    snap("doctor_bob_resync_popup", &app);
    let (a, b) = (slow(&app, -120), slow(&app, -90));
    keys(&mut app, &format!("{a} {b}\n"));
    snap("doctor_bob_resynced", &app);
}

#[test]
fn readiness_report_sorted_two_ways() {
    let mut app = app();
    keys(&mut app, "r");
    snap("readiness_by_risk", &app);
    keys(&mut app, "s");
    snap("readiness_by_email", &app);
}

// ---------------------------------------------------------------- popups

#[test]
fn help_popups() {
    let mut app = app();
    keys(&mut app, "?");
    snap("help_overview", &app);
    keys(&mut app, "\x1b");
    open_user(&mut app, "alice@example.com");
    keys(&mut app, "?");
    snap("help_user", &app);
    // At 80x24 the user screen's keys scroll: the last line comes into
    // view, and the status bar stays in sight.
    let top = screen(&app, 80, 24);
    assert!(top.contains("↓ more"), "{top}");
    assert!(top.lines().last().unwrap().contains("scroll"), "{top}");
    press(&mut app, KeyCode::End);
    let end = screen(&app, 80, 24);
    assert!(end.contains("quit from anywhere"), "{end}");
    assert!(end.contains("↑ more") && !end.contains("↓ more"), "{end}");
    insta::assert_snapshot!("help_user_scrolled_80x24", end);
    keys(&mut app, "\x1b3?");
    snap("help_simulator", &app);
    // Keys that do nothing on a screen are not offered there.
    assert!(!screen(&app, 100, 30).contains("PgDn"));
    keys(&mut app, "\x1b5?");
    let audit = screen(&app, 100, 30);
    assert!(audit.contains("PgDn") && !audit.contains('←'), "{audit}");
    snap("help_audit", &app);
}

#[test]
fn confirm_with_reason_unlock_erin() {
    let mut app = app();
    open_user(&mut app, "erin@example.com");
    keys(&mut app, "u");
    snap("confirm_unlock_erin_empty", &app);
    keys(&mut app, "\n");
    snap("confirm_unlock_erin_reason_needed", &app);
    keys(&mut app, "caller verified by video");
    snap("confirm_unlock_erin_reason_typed", &app);
    keys(&mut app, "\n");
    snap("confirm_unlock_erin_done", &app);
}

#[test]
fn add_sms_refuses_bad_numbers() {
    let mut app = app();
    open_user(&mut app, "frank@example.com");
    keys(&mut app, "s");
    snap("add_sms_frank_empty", &app);
    keys(&mut app, "555-0123\n");
    snap("add_sms_frank_bad_phone", &app);
    clear_field(&mut app);
    keys(&mut app, "+447400900123\n");
    snap("add_sms_frank_uk_refused", &app);
    clear_field(&mut app);
    keys(&mut app, "+14155550123\n");
    snap("add_sms_frank_confirm_factor", &app);
    // A wrong code: the hint points at the console's Outbox, not the CLI.
    keys(&mut app, "000000\n");
    let shown = words(&screen(&app, 100, 30));
    assert!(
        shown.contains("check the newest message in the Outbox (4)"),
        "{shown}"
    );
    assert!(!shown.contains("factordesk outbox"), "{shown}");
    snap("add_sms_frank_wrong_code", &app);
    clear_field(&mut app);
    let code = latest_code(&app, "frank@example.com");
    keys(&mut app, &code);
    keys(&mut app, "\n");
    snap("add_sms_frank_confirmed", &app);
}

#[test]
fn qr_enrolment_then_backup_codes() {
    let mut app = app();
    open_user(&mut app, "frank@example.com");
    keys(&mut app, "t");
    // 100×30 has room for the code beside the text; 80×24 shows the secret.
    snap("qr_enrol_frank", &app);
    keys(&mut app, "123\n");
    snap("qr_enrol_frank_wrong_code", &app);
    let id = factor_id(
        &app,
        "frank@example.com",
        FactorKind::Totp,
        FactorStatus::Pending,
    );
    let code = app
        .desk()
        .authenticator_code("frank@example.com", id, TimeDelta::zero())
        .unwrap();
    keys(&mut app, &code);
    keys(&mut app, "\n");
    snap("qr_enrol_frank_new_backup_codes", &app);
    keys(&mut app, "\x1b");
    snap("qr_enrol_frank_enrolled", &app);
}

#[test]
fn first_backup_codes_need_no_reason() {
    // carol has none: `b` makes them at once and shows them once.
    let mut app = app();
    open_user(&mut app, "carol@example.co.uk");
    keys(&mut app, "b");
    snap("new_backup_codes_carol", &app);
}

/// The screen's words in reading order, borders and wrapping gone.
fn words(shown: &str) -> String {
    shown
        .replace(['│', '╭', '╮', '╰', '╯', '─'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn saving_backup_codes_twice_offers_a_free_name() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("codes.txt").to_string_lossy().into_owned();
    let next = dir
        .path()
        .join("codes-2.txt")
        .to_string_lossy()
        .into_owned();
    let mut app = app();
    open_user(&mut app, "carol@example.co.uk");
    keys(&mut app, "bw");
    clear_field(&mut app);
    keys(&mut app, &format!("{file}\n"));
    let shown = words(&screen(&app, 100, 30));
    assert!(
        shown.contains(&format!("Saved to {file} (mode 0600).")),
        "{shown}"
    );
    // Again, to the same file: one message, which offers the next free name.
    keys(&mut app, "w");
    clear_field(&mut app);
    keys(&mut app, &format!("{file}\n"));
    let shown = words(&screen(&app, 100, 30));
    assert!(!shown.contains("Saved to"), "{shown}");
    assert!(!shown.contains("--out"), "{shown}");
    assert!(
        shown.contains(&format!("Enter saves to {next}, or type another name.")),
        "{shown}"
    );
    keys(&mut app, "\n");
    let shown = words(&screen(&app, 100, 30));
    assert!(
        shown.contains(&format!("Saved to {next} (mode 0600).")),
        "{shown}"
    );
    assert!(!shown.contains("already exists"), "{shown}");
    assert!(std::path::Path::new(&next).exists());
}

#[test]
fn a_cancelled_enrolment_shows_on_the_user_screen() {
    // carol's doctor offers an authenticator app; cancelling the QR popup
    // leaves the enrolment pending, and her screen says so.
    let mut app = app();
    open_user(&mut app, "carol@example.co.uk");
    assert!(screen(&app, 100, 30).contains("Factors (1)"));
    keys(&mut app, "o\n");
    assert!(screen(&app, 100, 30).contains("Enrol authenticator app"));
    keys(&mut app, "\x1b");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("Factors (2)"), "{shown}");
    snap("user_carol_enrolment_cancelled", &app);
}

#[test]
fn regenerate_codes_asks_when_some_are_left() {
    let mut app = app();
    open_user(&mut app, "alice@example.com");
    keys(&mut app, "b");
    snap("confirm_new_codes_alice", &app);
}

#[test]
fn simulator_user_picker() {
    let mut app = app();
    keys(&mut app, "3u");
    snap("sim_pick_user", &app);
    keys(&mut app, "he");
    snap("sim_pick_user_he", &app);
    keys(&mut app, "\n");
    snap("sim_picked_heidi", &app);
}

#[test]
fn policy_edit_with_a_bad_value() {
    let mut app = app();
    keys(&mut app, "6\n");
    snap("policy_edit", &app);
    clear_field(&mut app);
    keys(&mut app, "forever\n");
    snap("policy_edit_bad_value", &app);
}

// ---------------------------------------------------------------- simulator

#[test]
fn simulator_email_journey_to_a_lock_and_back() {
    let mut app = app();
    open_user(&mut app, "heidi@example.com");
    keys(&mut app, "l");
    snap("sim_heidi_ready", &app);
    keys(&mut app, "\n");
    snap("sim_heidi_challenge", &app);
    press(&mut app, KeyCode::F(5));
    snap("sim_heidi_after_30s", &app);
    keys(&mut app, "r");
    snap("sim_heidi_resend_sent", &app);
    keys(&mut app, "r");
    snap("sim_heidi_resend_cooldown", &app);
    press(&mut app, KeyCode::F(6));
    snap("sim_heidi_after_5min", &app);
    // Email codes live 10 minutes from the resend at +30 s: past that, the
    // code that was sent is refused as expired.
    press(&mut app, KeyCode::F(6));
    press(&mut app, KeyCode::F(5));
    let code = sandbox_code(&app, "heidi@example.com");
    keys(&mut app, "c");
    keys(&mut app, &code);
    keys(&mut app, "\n");
    snap("sim_heidi_expired", &app);
    // A fresh challenge, then wrong codes until its attempts run out.
    keys(&mut app, "\n");
    keys(&mut app, "c");
    keys(&mut app, "000000\n");
    snap("sim_heidi_wrong_code", &app);
    for _ in 0..4 {
        keys(&mut app, "000000\n");
    }
    snap("sim_heidi_attempts_used", &app);
    // Another challenge: five more failures make ten, and 2FA locks.
    keys(&mut app, "\nc");
    for _ in 0..5 {
        keys(&mut app, "000000\n");
    }
    snap("sim_heidi_locked_verify", &app);
    keys(&mut app, "\n");
    snap("sim_heidi_locked_decision", &app);
    for _ in 0..3 {
        press(&mut app, KeyCode::F(6));
    }
    snap("sim_heidi_lock_released", &app);
    keys(&mut app, "\n");
    snap("sim_heidi_challenge_again", &app);
}

#[test]
fn simulator_totp_on_a_trusted_laptop() {
    let mut app = app();
    open_user(&mut app, "alice@example.com");
    keys(&mut app, "l\n");
    snap("sim_alice_trusted_allowed", &app);
    keys(&mut app, "a\n");
    snap("sim_alice_export_challenged", &app);
    keys(&mut app, "y");
    snap("sim_alice_export_app_code", &app);
}

#[test]
fn simulator_expired_device_on_a_new_ip() {
    let mut app = app();
    open_user(&mut app, "ivan@example.com");
    keys(&mut app, "li");
    snap("sim_ivan_ip_popup", &app);
    clear_field(&mut app);
    keys(&mut app, "203.0.113.9\n\n");
    snap("sim_ivan_expired_new_ip", &app);
}

/// alice with SMS and email confirmed besides her authenticator app.
fn app_alice_three_factors() -> App {
    let mut desk = demo_desk();
    let alice = "alice@example.com";
    let sms = desk.add_sms(alice, "+14155550100").unwrap();
    let code = newest_code(&desk, alice);
    desk.confirm_factor(alice, sms.factor_id, &code).unwrap();
    let email = desk.add_email(alice, None).unwrap();
    let code = newest_code(&desk, alice);
    desk.confirm_factor(alice, email.factor_id, &code).unwrap();
    console(desk)
}

#[test]
fn simulator_chooses_the_factor() {
    let mut app = app_alice_three_factors();
    open_user(&mut app, "alice@example.com");
    // A new computer, so she is asked for a code; auto picks the factor
    // used or confirmed last (SMS and email were confirmed together).
    keys(&mut app, "ld\n");
    snap("sim_alice_factor_auto", &app);
    let auto = app.sandbox().unwrap().challenge(70).unwrap();
    assert_eq!(auto.factor.unwrap().kind, FactorKind::Sms);
    // f: her authenticator app instead.
    keys(&mut app, "f");
    snap("sim_alice_factor_app_chosen", &app);
    keys(&mut app, "\n");
    snap("sim_alice_factor_app_challenge", &app);
    let chosen = app.sandbox().unwrap().challenge(71).unwrap();
    assert_eq!(chosen.factor.unwrap().kind, FactorKind::Totp);
    // Then SMS, email, and past the last one, auto again.
    keys(&mut app, "f");
    assert!(screen(&app, 100, 30).contains("factor SMS to"));
    keys(&mut app, "f");
    assert!(screen(&app, 100, 30).contains("factor Email to"));
    keys(&mut app, "f");
    assert!(screen(&app, 100, 30).contains("factor auto"));
}

#[test]
fn simulator_marks_only_the_code_for_the_challenge_shown() {
    let mut app = app();
    open_user(&mut app, "heidi@example.com");
    // An export challenge, then a login one: both codes are live, but only
    // the login's works at the login.
    keys(&mut app, "la\na\n");
    snap("sim_heidi_login_after_export", &app);
    let shown = screen(&app, 100, 30);
    assert_eq!(shown.matches("◀ valid now").count(), 1, "{shown}");
}

#[test]
fn simulator_app_code_key_on_an_email_challenge_uses_no_attempt() {
    let mut app = app();
    open_user(&mut app, "heidi@example.com");
    keys(&mut app, "l\ny");
    snap("sim_heidi_y_does_not_apply", &app);
    let challenge = app.sandbox().unwrap().challenge(68).unwrap();
    assert_eq!(challenge.attempts_left, 5);
    assert!(screen(&app, 100, 30).contains("not an app challenge"));
}

#[test]
fn simulator_resend_refills_the_countdown_and_clears_the_old_result() {
    let mut app = app();
    open_user(&mut app, "heidi@example.com");
    keys(&mut app, "l\n");
    // Past the email code's 10 minutes, its code is refused as expired.
    press_n(&mut app, KeyCode::F(6), 2);
    press(&mut app, KeyCode::F(5));
    let code = sandbox_code(&app, "heidi@example.com");
    keys(&mut app, &format!("c{code}\n"));
    snap("sim_heidi_expired_then", &app);
    keys(&mut app, "r");
    snap("sim_heidi_resent_after_expiry", &app);
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("expires in 10:00 ████████████████████"),
        "{shown}"
    );
    assert!(!shown.contains("EXPIRED"), "{shown}");
}

#[test]
fn simulator_reset_with_an_open_challenge_starts_afresh() {
    let mut app = app();
    open_user(&mut app, "heidi@example.com");
    keys(&mut app, "l");
    press(&mut app, KeyCode::F(8));
    keys(&mut app, "\n");
    snap("sim_heidi_challenge_in_14_days", &app);
    keys(&mut app, "0");
    snap("sim_heidi_reset_afresh", &app);
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("(not moved)"), "{shown}");
    assert!(shown.contains("No challenge open."), "{shown}");
    assert!(
        app.sandbox().unwrap().challenge(68).is_err(),
        "a fresh copy"
    );
}

/// Timers on screen stay within the code's lifetime and the cooldown.
#[test]
fn simulator_timers_stay_sane() {
    let mut app = app();
    open_user(&mut app, "heidi@example.com");
    keys(&mut app, "l\n");
    for _ in 0..6 {
        press(&mut app, KeyCode::F(5));
        keys(&mut app, "r");
        let shown = screen(&app, 100, 30);
        for line in shown.lines() {
            if let Some(at) = line.find("│expires in ") {
                let t = &line[at + 14..];
                let mins: i64 = t[..t.find(':').unwrap()].parse().unwrap();
                assert!(mins <= 10, "{line}");
            }
            if let Some(at) = line.find("Request another code in ") {
                let t = &line[at + 24..];
                let secs: i64 = t[..t.find(' ').unwrap()].parse().unwrap();
                assert!((0..=30).contains(&secs), "{line}");
            }
        }
    }
}

#[test]
fn simulator_never_writes_to_the_real_data() {
    let mut app = app();
    let alice = "alice@example.com";
    let real_now = app.desk().now();
    let devices = app.desk().devices(alice).unwrap();
    let codes = app.desk().code_status(alice).unwrap();
    let trail = |app: &App| {
        app.desk()
            .audit(&factordesk::desk::records::RecordQuery {
                limit: 10_000,
                ..Default::default()
            })
            .unwrap()
    };
    let before = trail(&app);
    open_user(&mut app, alice);
    // Two weeks on, her laptop's trust has lapsed: she is asked for her
    // app's code, types it and has the computer remembered again.
    keys(&mut app, "l");
    press(&mut app, KeyCode::F(8));
    keys(&mut app, " \ny");
    let sandbox = app.sandbox().unwrap();
    assert_eq!(sandbox.now(), real_now + TimeDelta::days(14));
    let done = sandbox.challenge(68).unwrap();
    assert_eq!(done.state, ChallengeState::Accepted);
    assert_ne!(
        sandbox.devices(alice).unwrap(),
        devices,
        "the sandbox changed"
    );

    // The real data did not move, nor did the console's clock.
    assert_eq!(app.desk().now(), real_now);
    assert_eq!(app.desk().devices(alice).unwrap(), devices);
    assert_eq!(app.desk().code_status(alice).unwrap(), codes);
    // Not one audit event was added, so none is dated in the sandbox's
    // future. (The demo itself finishes one login 12 s past its `now`: that
    // event was there before the simulator ran, and is the only one later
    // than the real now.)
    let after = trail(&app);
    assert_eq!(after, before);
    let later: Vec<_> = after.iter().filter(|e| e.at > real_now).collect();
    assert!(
        later
            .iter()
            .all(|e| e.actor == "demo" && e.at <= real_now + TimeDelta::minutes(1)),
        "{later:#?}"
    );

    // What is done elsewhere meanwhile is stamped with the real time.
    open_user(&mut app, "erin@example.com");
    keys(&mut app, "u");
    keys(&mut app, "verified by phone\n");
    let newest = trail(&app).into_iter().max_by_key(|e| e.id).unwrap();
    assert_eq!(newest.kind, "user.unlock");
    assert_eq!(newest.at, real_now);
}

#[test]
fn simulator_keeps_its_sandbox_across_screens_and_esc_goes_back() {
    let mut app = app();
    open_user(&mut app, "heidi@example.com");
    keys(&mut app, "l\n");
    press(&mut app, KeyCode::F(5));
    // Esc: back to the user screen it was opened from.
    keys(&mut app, "\x1b");
    let shown = screen(&app, 100, 30);
    assert!(
        shown.lines().next().unwrap().contains("heidi@example.com"),
        "{shown}"
    );
    assert!(!shown.contains("Login simulator"), "{shown}");
    // Back again (3): the same sandbox, challenge and clock.
    keys(&mut app, "3");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("Challenge 68"), "{shown}");
    assert!(shown.contains("(+30 s)"), "{shown}");
    // Esc now goes to the screen it was reached from.
    keys(&mut app, "4\x1b3\x1b");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("╭ Outbox ·"), "{shown}");
}

/// A database file is copied on the worker thread: the simulator says it is
/// preparing, then carries on with the copy.
#[test]
fn simulator_prepares_its_sandbox_off_the_ui_thread() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let key = factordesk::keyfile::Source::File(dir.path().join("d.db.key"));
    let mut desk = Desk::create(&db, &key, Clock::fixed(now()), Rng::seeded(1), "demo").unwrap();
    demo::build(&mut desk, &demo::Scenario::embedded().unwrap()).unwrap();
    let reader = desk.reader().unwrap();
    let mut app = App::new(desk, Theme { color: false }, Worker::spawn(reader));
    open_user(&mut app, "heidi@example.com");
    keys(&mut app, "l");
    snap("sim_preparing", &app);
    keys(&mut app, "\n");
    assert!(app.sandbox().is_none());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.sandbox().is_none() {
        assert!(std::time::Instant::now() < deadline, "no sandbox");
        app.poll_worker();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    keys(&mut app, "\n");
    assert!(screen(&app, 100, 30).contains("Challenge 68"));
}

// ---------------------------------------------------------------- sizes

#[test]
fn too_small_then_recovers() {
    let mut app = app();
    keys(&mut app, "2");
    for (w, h) in [(79, 24), (80, 23), (60, 20)] {
        let terminal = draw(&app, w, h);
        insta::assert_snapshot!(format!("too_small_{w}x{h}"), terminal.backend());
    }
    // Keys do nothing unseen while it is too small: `2`, `4` and Enter
    // leave the console where it was.
    keys(&mut app, "4\n");
    assert!(screen(&app, 80, 24).contains("Search (press /)"));
    draw(&app, 79, 24);
    keys(&mut app, "4\n");
    // The same terminal, resized: the next draw is the whole console again.
    let mut terminal = draw(&app, 79, 24);
    terminal.backend_mut().resize(80, 24);
    terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
    insta::assert_snapshot!("too_small_recovered_80x24", terminal.backend());
    // Now keys work again; and `q` quits even while too small.
    keys(&mut app, "4");
    assert!(screen(&app, 80, 24).contains("Outbox ·"));
    draw(&app, 60, 20);
    keys(&mut app, "q");
    assert!(app.should_quit());
}

// ---------------------------------------------------------------- colour

fn coloured_cells(buf: &Buffer) -> usize {
    buf.content()
        .iter()
        .filter(|c| c.fg != Color::Reset || c.bg != Color::Reset)
        .count()
}

/// Screens and popups that use every style the theme has.
fn tour(theme: Theme) -> Vec<Buffer> {
    let mut app = app_with(theme);
    let mut out = vec![buffer(&app, 100, 30)];
    keys(&mut app, "2");
    out.push(buffer(&app, 100, 30));
    open_user(&mut app, "erin@example.com");
    out.push(buffer(&app, 100, 30));
    keys(&mut app, "u\n");
    out.push(buffer(&app, 100, 30));
    keys(&mut app, "\x1b\x1b");
    open_user(&mut app, "frank@example.com");
    keys(&mut app, "t");
    out.push(buffer(&app, 100, 30));
    out.push(buffer(&app, 80, 24));
    keys(&mut app, "\x1b\x1b");
    open_user(&mut app, "heidi@example.com");
    keys(&mut app, "l\n");
    out.push(buffer(&app, 100, 30));
    keys(&mut app, "4");
    out.push(buffer(&app, 100, 30));
    keys(&mut app, "5");
    out.push(buffer(&app, 100, 30));
    keys(&mut app, "6");
    out.push(buffer(&app, 100, 30));
    out.push(buffer(&app, 60, 20));
    out
}

#[test]
fn colour_theme_uses_colour() {
    let buffers = tour(Theme::colored());
    for (i, buf) in buffers.iter().enumerate() {
        assert!(coloured_cells(buf) > 0, "view {i} has no colour");
        // ANSI colour 8 is the background, or near it, on many dark themes:
        // the tabs, labels and borders drawn in it vanished there.
        let grey: Vec<_> = buf
            .content()
            .iter()
            .filter(|c| {
                [c.fg, c.bg]
                    .iter()
                    .any(|k| matches!(k, Color::DarkGray | Color::Indexed(8)))
            })
            .map(|c| c.symbol().to_owned())
            .take(5)
            .collect();
        assert!(grey.is_empty(), "view {i} draws in colour 8: {grey:?}");
    }
}

/// The cells drawn in the QR code's black on white.
fn qr_cells(buf: &Buffer) -> Vec<(u16, u16)> {
    let area = buf.area;
    (0..area.height)
        .flat_map(|y| (0..area.width).map(move |x| (x, y)))
        .filter(|&(x, y)| buf[(x, y)].fg == Color::Black && buf[(x, y)].bg == Color::White)
        .collect()
}

#[test]
fn no_color_uses_no_colour_but_the_qr_code() {
    let mut qr_views = 0;
    for (i, buf) in tour(Theme { color: false }).iter().enumerate() {
        // The QR code keeps its black on white (it has to scan), and it is a
        // rectangle twice as wide as it is tall, with nothing else coloured.
        let qr = qr_cells(buf);
        if let (Some(first), Some(last)) = (qr.first(), qr.last()) {
            qr_views += 1;
            let (w, h) = (last.0 - first.0 + 1, last.1 - first.1 + 1);
            assert_eq!(usize::from(w) * usize::from(h), qr.len(), "view {i}");
            assert_eq!(w.div_ceil(2), h, "view {i}: the QR code is {w}x{h}");
        }
        let coloured: Vec<_> = buf
            .content()
            .iter()
            .enumerate()
            .filter(|(_, c)| c.fg != Color::Reset || c.bg != Color::Reset)
            .filter(|(_, c)| !(c.fg == Color::Black && c.bg == Color::White))
            .map(|(n, c)| (n, c.symbol().to_owned(), c.fg, c.bg))
            .take(5)
            .collect();
        assert!(coloured.is_empty(), "view {i} has colour: {coloured:?}");
    }
    assert_eq!(qr_views, 1, "the tour shows the QR code once");
}

// ---------------------------------------------------------------- QR code

/// The secret as the popup prints it: `Secret  ABCD EFGH …`, its groups
/// going on in the text column of the lines below when they do not fit.
fn secret_shown(shown: &str) -> String {
    let lines: Vec<&str> = shown.lines().collect();
    let (row, column) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| l.find("Secret  ").map(|at| (i, l[..at].chars().count())))
        .unwrap_or_else(|| panic!("no secret shown:\n{shown}"));
    let text_column = |l: &str| -> String {
        l.chars()
            .skip(column)
            .take_while(|c| *c != '│')
            .collect::<String>()
    };
    let base32 = |t: &str| {
        !t.trim().is_empty()
            && t.split_whitespace().all(|g| {
                g.len() <= 4
                    && g.chars()
                        .all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c))
            })
    };
    let mut secret: String = text_column(lines[row])["Secret  ".len()..]
        .split_whitespace()
        .collect();
    for l in &lines[row + 1..] {
        let more = text_column(l);
        if !base32(&more) {
            break;
        }
        secret.extend(more.split_whitespace());
    }
    secret
}

/// The modules of the QR code drawn left of the popup's text (whose
/// countdown bar is drawn with `█` too): the cells with ink, then the
/// four-module quiet zone around them, each cell two modules high.
/// Returns (columns, rows, dark).
fn qr_modules(buf: &Buffer) -> (usize, usize, Vec<bool>) {
    let glyph = |x: u16, y: u16| buf[(x, y)].symbol().to_owned();
    let ink = |s: &str| matches!(s, "█" | "▀" | "▄");
    let text_x = (0..buf.area.height)
        .find_map(|y| {
            (0..buf.area.width.saturating_sub(6))
                .find(|x| (0..6).map(|i| glyph(x + i, y)).collect::<String>() == "Secret")
        })
        .unwrap();
    let (mut x0, mut y0, mut x1, mut y1) = (u16::MAX, u16::MAX, 0, 0);
    for y in 0..buf.area.height {
        for x in 0..text_x {
            if ink(&glyph(x, y)) {
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x);
                y1 = y1.max(y);
            }
        }
    }
    assert!(x0 < x1 && y0 < y1, "no QR code drawn");
    // Four modules: four columns each side, two rows above and below.
    let (x0, x1) = (x0 - 4, x1 + 4);
    let (y0, y1) = (y0 - 2, y1 + 2);
    let cols = usize::from(x1 - x0 + 1);
    let rows = usize::from(y1 - y0 + 1) * 2;
    let mut dark = vec![false; cols * rows];
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (top, bottom) = match glyph(x, y).as_str() {
                "█" => (true, true),
                "▀" => (true, false),
                "▄" => (false, true),
                // The quiet zone is blank: nothing else of the popup is in it.
                " " => (false, false),
                other => panic!("{other:?} at ({x}, {y}) inside the QR code"),
            };
            let (c, r) = (usize::from(x - x0), usize::from(y - y0) * 2);
            dark[r * cols + c] = top;
            dark[(r + 1) * cols + c] = bottom;
        }
    }
    (cols, rows, dark)
}

/// The QR code as a terminal shows it: each cell's upper and lower halves
/// take the colour its glyph gives them, and black is a dark module. This
/// reads the colours, not the glyphs, so it holds whatever the terminal's
/// own default colours are. Returns (columns, rows, dark).
fn qr_by_colour(buf: &Buffer) -> (usize, usize, Vec<bool>) {
    let cells = qr_cells(buf);
    let (first, last) = (cells[0], cells[cells.len() - 1]);
    let cols = usize::from(last.0 - first.0 + 1);
    let rows = usize::from(last.1 - first.1 + 1) * 2;
    let mut dark = vec![false; cols * rows];
    for (x, y) in cells {
        let cell = &buf[(x, y)];
        let (top, bottom) = match cell.symbol() {
            "█" => (cell.fg, cell.fg),
            "▀" => (cell.fg, cell.bg),
            "▄" => (cell.bg, cell.fg),
            " " => (cell.bg, cell.bg),
            other => panic!("{other:?} at ({x}, {y}) inside the QR code"),
        };
        let (c, r) = (usize::from(x - first.0), usize::from(y - first.1) * 2);
        dark[r * cols + c] = top == Color::Black;
        dark[(r + 1) * cols + c] = bottom == Color::Black;
    }
    (cols, rows, dark)
}

fn decode(cols: usize, rows: usize, dark: &[bool]) -> String {
    let scale = 4;
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(cols * scale, rows * scale, |x, y| {
            if dark[(y / scale) * cols + x / scale] {
                0
            } else {
                255
            }
        });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the popup");
    grids[0].decode().unwrap().1
}

/// The otpauth URI frank's enrolment popup should encode, from the secret
/// it prints.
fn expected_uri(buf: &Buffer) -> String {
    let secret = secret_shown(&text(buf));
    assert_eq!(secret.len(), 32, "a 160-bit secret in base32: {secret:?}");
    format!(
        "otpauth://totp/factordesk%20demo:frank@example.com?secret={secret}&issuer=factordesk%20demo&algorithm=SHA1&digits=6&period=30"
    )
}

/// The QR code drawn in the enrolment popup scans back to the otpauth URI.
#[test]
fn qr_popup_decodes_to_the_enrolment_uri() {
    let mut app = app();
    open_user(&mut app, "frank@example.com");
    keys(&mut app, "t");
    let buf = buffer(&app, 100, 30);
    let expected = expected_uri(&buf);
    let (cols, rows, dark) = qr_modules(&buf);
    assert_eq!(decode(cols, rows, &dark), expected);
}

/// Under `NO_COLOR` (the snapshot theme) and with colour, the code is black
/// on white: read by its colours, as a camera sees it, it still decodes.
#[test]
fn qr_scans_by_its_colours_with_and_without_no_color() {
    for theme in [Theme { color: false }, Theme::colored()] {
        let mut app = app_with(theme);
        open_user(&mut app, "frank@example.com");
        keys(&mut app, "t");
        let buf = buffer(&app, 100, 30);
        let expected = expected_uri(&buf);
        let (cols, rows, dark) = qr_by_colour(&buf);
        assert_eq!(decode(cols, rows, &dark), expected, "{theme:?}");
    }
}
