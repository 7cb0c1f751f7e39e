//! Snapshots of the Audit screen's `/` filter (the popup, and the list it
//! leaves with its matches marked) and of the User screen's temporary access
//! code popup, at 100×30 and 80×24, driven through the real key handling on
//! the demo data with a frozen clock and a seeded RNG.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::tui::App;
use ratatui::crossterm::event::KeyCode;
use support::{demo_console, keys, press, screen};

fn snap(name: &str, app: &App) {
    crate::snap_sizes!(name, app);
}

/// The Audit screen, with `typed` given to its `/` filter (popup open).
fn audit_filter(typed: &str) -> App {
    let mut app = demo_console();
    keys(&mut app, "5/");
    keys(&mut app, typed);
    app
}

#[test]
fn the_audit_filter_popup_offers_words_and_terms() {
    let app = audit_filter("locked kind:login");
    snap("audit_filter_popup", &app);
}

#[test]
fn the_audit_filter_keeps_matches_and_says_so_in_the_title() {
    let mut app = audit_filter("locked kind:login");
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 100, 30);
    assert!(text.contains("\"locked\""), "{text}");
    assert!(text.contains("erin@example.com"), "{text}");
    snap("audit_filtered", &app);
    // `/` again shows the filter as typed, to edit; empty clears it.
    keys(&mut app, "/");
    assert!(screen(&app, 100, 30).contains("locked kind:login"));
    for _ in 0.."locked kind:login".len() {
        press(&mut app, KeyCode::Backspace);
    }
    press(&mut app, KeyCode::Enter);
    assert!(!screen(&app, 100, 30).contains("\"locked\""));
}

#[test]
fn a_bad_time_keeps_the_filter_open_saying_why() {
    let mut app = audit_filter("since:tomorrow");
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 100, 30);
    assert!(text.contains("is not a time"), "{text}");
    assert!(text.contains("Filter the audit trail"), "{text}");
}

/// The User screen of `email`.
fn open_user(app: &mut App, email: &str) {
    keys(app, "2/");
    keys(app, email);
    press(app, KeyCode::Enter);
    press(app, KeyCode::Enter);
}

#[test]
fn the_temp_code_popup_asks_then_shows_the_code_once() {
    let mut app = demo_console();
    open_user(&mut app, "dave@example.com");
    keys(&mut app, "T");
    keys(&mut app, "lost phone, ID checked");
    snap("temp_code_ask", &app);
    // A validity past the week is refused, the popup staying open.
    press(&mut app, KeyCode::Up);
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "8d");
    press(&mut app, KeyCode::Enter);
    assert!(screen(&app, 100, 30).contains("at most 7d"));
    press(&mut app, KeyCode::Backspace);
    press(&mut app, KeyCode::Backspace);
    keys(&mut app, "2h\n");
    let text = screen(&app, 100, 30);
    assert!(text.contains("Shown only now"), "{text}");
    snap("temp_code_shown", &app);
    press(&mut app, KeyCode::Esc);
    assert!(!screen(&app, 100, 30).contains("Shown only now"));
}

/// Seen in the tmux pass at 200×60: the Audit list cut generated users'
/// addresses (`ada.dubois@example.o…`) with half the row to spare.
#[test]
fn the_audit_list_shows_whole_addresses_when_wide() {
    let mut app = demo_console();
    keys(&mut app, "5");
    let wide = screen(&app, 200, 60);
    assert!(wide.contains("@example.org "), "{wide}");
    assert!(!wide.contains("@example.o…"), "{wide}");
}
