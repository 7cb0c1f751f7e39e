//! What issue 10 asked of the console, each driven through `App::handle_key`
//! over the demo on a fixed clock: policy changes confirmed with a reason.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::desk::records::RecordQuery;
use factordesk::tui::App;
use ratatui::crossterm::event::KeyCode;

use support::{demo_console, keys, press, screen};

/// Snapshot `app` at 100×30 and at 80×24, as `NAME_100x30` and `NAME_80x24`.
fn snap(name: &str, app: &App) {
    for (w, h) in [(100, 30), (80, 24)] {
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(app, w, h));
    }
}

/// The newest audit events of `kind`.
fn events(app: &App, kind: &str) -> Vec<String> {
    app.desk()
        .audit(&RecordQuery {
            kind: Some(kind.to_owned()),
            limit: 10,
            ..RecordQuery::default()
        })
        .unwrap()
        .into_iter()
        .map(|e| e.detail)
        .collect()
}

// ------------------------------------------------------------ policy

#[test]
fn a_policy_change_asks_to_confirm_with_a_reason() {
    let mut app = demo_console();
    let before = events(&app, "policy.set");
    // The keys: Policy, the first setting, erase "all", "off", Enter.
    keys(&mut app, "6");
    press(&mut app, KeyCode::Home);
    keys(&mut app, "\n");
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "off\n");
    snap("policy_confirm_enforce_off", &app);
    assert_eq!(app.desk().policy().unwrap().enforce.to_string(), "all");
    // No reason, no change.
    keys(&mut app, "\n");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("Type a reason first"), "{shown}");
    assert_eq!(app.desk().policy().unwrap().enforce.to_string(), "all");
    // Esc leaves it as it was, and writes nothing.
    keys(&mut app, "\x1b");
    assert_eq!(app.desk().policy().unwrap().enforce.to_string(), "all");
    assert_eq!(events(&app, "policy.set"), before);
    // Again, with a reason: done, and audited with it.
    keys(&mut app, "\n");
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "off\npilot ended\n");
    assert_eq!(app.desk().policy().unwrap().enforce.to_string(), "off");
    snap("policy_changed_with_a_reason", &app);
    let audited = events(&app, "policy.set");
    assert_eq!(audited.len(), before.len() + 1);
    assert!(
        audited[0].starts_with("enforce: all -> off") && audited[0].ends_with(": pilot ended"),
        "{audited:?}"
    );
}

#[test]
fn a_policy_value_is_checked_before_the_reason_is_asked() {
    let mut app = demo_console();
    keys(&mut app, "6\n");
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    // The value it has: nothing to confirm.
    keys(&mut app, "all\n");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("enforce is already all"), "{shown}");
    assert!(!shown.contains("Change policy"), "{shown}");
    // A value the rules refuse: said in the form, which stays.
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    keys(&mut app, "sometimes\n");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("off|admins|all"), "{shown}");
    assert!(!shown.contains("Change policy"), "{shown}");
}
