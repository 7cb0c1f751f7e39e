//! The console's keys with their modifiers, driven through `App::handle_key`:
//! Ctrl is not the plain key, Ctrl-C quits from anywhere, text fields edit
//! as a shell's line does, and every list goes to its ends with `g`/`G`.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::desk::records::RecordQuery;
use factordesk::tui::App;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

use support::{alt, console, ctrl, demo_console, demo_desk, keys, press, press_with, screen};

/// Users, a search for `email`, and its screen.
fn open_user(app: &mut App, email: &str) {
    keys(app, "2\x1b/");
    keys(app, email);
    keys(app, "\n\n");
    assert!(screen(app, 100, 30).lines().next().unwrap().contains(email));
}

#[test]
fn ctrl_d_and_ctrl_u_scroll_and_open_nothing() {
    let mut app = demo_console();
    open_user(&mut app, "erin@example.com");
    let before = screen(&app, 100, 30);
    ctrl(&mut app, 'd');
    ctrl(&mut app, 'u');
    let after = screen(&app, 100, 30);
    assert!(!after.contains("Disable factor"), "{after}");
    assert!(!after.contains("Unlock 2FA"), "{after}");
    assert_eq!(before, after, "nothing to scroll in one factor");
    // The plain keys still do what they say.
    keys(&mut app, "d");
    assert!(screen(&app, 100, 30).contains("Disable factor"));
    keys(&mut app, "\x1b");
    keys(&mut app, "u");
    assert!(screen(&app, 100, 30).contains("Unlock 2FA"));
}

#[test]
fn ctrl_l_draws_afresh_and_changes_nothing() {
    let mut app = demo_console();
    open_user(&mut app, "heidi@example.com");
    keys(&mut app, "l\n");
    let before = screen(&app, 100, 30);
    assert!(before.contains("challenge"), "{before}");
    assert!(!app.take_redraw());
    ctrl(&mut app, 'l');
    assert!(app.take_redraw(), "the live loop clears the terminal");
    assert_eq!(screen(&app, 100, 30), before, "the simulator is as it was");
}

#[test]
fn ctrl_c_quits_from_a_popup_and_a_text_field() {
    let mut app = demo_console();
    keys(&mut app, "?");
    assert!(screen(&app, 100, 30).contains("Keys"));
    ctrl(&mut app, 'c');
    assert!(app.should_quit(), "from the help");

    let mut app = demo_console();
    open_user(&mut app, "erin@example.com");
    keys(&mut app, "u");
    keys(&mut app, "because");
    ctrl(&mut app, 'c');
    assert!(app.should_quit(), "from a reason being typed");
    let unlocks = app
        .desk()
        .audit(&RecordQuery {
            kind: Some("user.unlock".to_owned()),
            limit: 5,
            ..RecordQuery::default()
        })
        .unwrap();
    assert!(unlocks.is_empty(), "nothing was done");

    let mut app = demo_console();
    keys(&mut app, "2/er");
    ctrl(&mut app, 'c');
    assert!(app.should_quit(), "from the search");
}

/// The reason typed in the confirm popup, as the screen shows it.
fn reason_line(app: &App) -> String {
    let shown = screen(app, 100, 30);
    let lines: Vec<Vec<char>> = shown.lines().map(|l| l.chars().collect()).collect();
    let prompt: Vec<char> = "Reason (for the audit trail):".chars().collect();
    let (row, col) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| {
            l.windows(prompt.len())
                .position(|w| w == prompt)
                .map(|c| (i, c))
        })
        .unwrap();
    lines[row + 1][col..]
        .iter()
        .take_while(|c| **c != '│')
        .collect::<String>()
        .trim_end()
        .to_owned()
}

#[test]
fn a_reason_is_edited_with_a_shell_s_keys() {
    let mut app = demo_console();
    open_user(&mut app, "erin@example.com");
    keys(&mut app, "u");
    keys(&mut app, "verified by phone");
    ctrl(&mut app, 'w');
    assert_eq!(reason_line(&app), "verified by");
    keys(&mut app, "email");
    ctrl(&mut app, 'a');
    keys(&mut app, "ID ");
    assert_eq!(reason_line(&app), "ID verified by email");
    ctrl(&mut app, 'e');
    alt(&mut app, 'b');
    ctrl(&mut app, 'k');
    assert_eq!(reason_line(&app), "ID verified by");
    press_with(&mut app, KeyCode::Left, KeyModifiers::CONTROL);
    ctrl(&mut app, 'u');
    assert_eq!(reason_line(&app), "by");
    alt(&mut app, 'f');
    keys(&mut app, " phone, ID checked");
    assert_eq!(reason_line(&app), "by phone, ID checked");
    press_with(&mut app, KeyCode::Backspace, KeyModifiers::ALT);
    keys(&mut app, "seen\n");
    let unlock = app
        .desk()
        .audit(&RecordQuery {
            kind: Some("user.unlock".to_owned()),
            limit: 1,
            ..RecordQuery::default()
        })
        .unwrap()
        .remove(0);
    assert!(
        unlock.detail.ends_with(": by phone, ID seen"),
        "{}",
        unlock.detail
    );
}

/// The line of the screen holding the selected row's detail: the Event,
/// Message or Setting panel's first line, or the selected user.
fn detail(app: &App, title: &str) -> String {
    let shown = screen(app, 100, 30);
    let mut lines = shown.lines();
    lines.find(|l| l.contains(&format!("╭ {title} ")));
    lines.next().unwrap().to_owned()
}

#[test]
fn g_and_shift_g_go_to_the_first_and_last_row_of_every_list() {
    let mut desk = demo_desk();
    for i in 1..=182 {
        desk.add_user(&factordesk::desk::users::NewUser {
            email: format!("u{i:03}@example.net"),
            name: format!("User {i:03}"),
            ..Default::default()
        })
        .unwrap();
    }
    let mut app = console(desk);
    // Users: End and `G` show the same last row, Home and `g` the first.
    keys(&mut app, "2");
    press(&mut app, KeyCode::End);
    let end = screen(&app, 100, 30);
    keys(&mut app, "g");
    let top = screen(&app, 100, 30);
    assert_ne!(end, top);
    keys(&mut app, "G");
    assert_eq!(screen(&app, 100, 30), end);
    assert!(end.contains("zoe.dubois@"), "{end}");
    keys(&mut app, "g");
    assert_eq!(screen(&app, 100, 30), top);
    // Audit: the oldest event, then the newest.
    keys(&mut app, "5");
    let newest = detail(&app, "Event");
    keys(&mut app, "G");
    assert!(
        detail(&app, "Event").contains("#1 "),
        "{}",
        detail(&app, "Event")
    );
    keys(&mut app, "g");
    assert_eq!(detail(&app, "Event"), newest);
    // Outbox: the oldest message, then the newest.
    keys(&mut app, "4");
    let newest = detail(&app, "Message");
    keys(&mut app, "G");
    assert!(
        detail(&app, "Message").contains("2026-08-13"),
        "{}",
        detail(&app, "Message")
    );
    keys(&mut app, "g");
    assert_eq!(detail(&app, "Message"), newest);
    // Policy: the last setting, then the first.
    keys(&mut app, "6G");
    assert!(!detail(&app, "Setting").contains("enforce ="));
    keys(&mut app, "g");
    assert!(detail(&app, "Setting").contains("enforce ="));
}

#[test]
fn ctrl_d_moves_half_a_screen_through_a_list() {
    let mut app = demo_console();
    keys(&mut app, "5");
    // The Event panel names the selected event; 20 rows show at 100×30.
    screen(&app, 100, 30);
    let first = detail(&app, "Event");
    ctrl(&mut app, 'd');
    let half = detail(&app, "Event");
    assert_ne!(first, half);
    ctrl(&mut app, 'd');
    ctrl(&mut app, 'u');
    assert_eq!(detail(&app, "Event"), half);
    ctrl(&mut app, 'u');
    assert_eq!(detail(&app, "Event"), first);
}
