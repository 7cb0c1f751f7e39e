//! The Outbox screen's `/` filter: the popup, the list it leaves with the
//! words marked in each row, nothing found, and clearing it; at 100×30 and
//! 80×24, driven through the real keys on the demo data, frozen clock.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::tui::App;
use factordesk::tui::render::buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Modifier;
use support::{demo_console, keys, press, screen};

fn snap(name: &str, app: &App) {
    crate::snap_sizes!(name, app);
}

/// The Outbox with `typed` after `/` (the popup still open).
fn outbox_filter(typed: &str) -> App {
    let mut app = demo_console();
    keys(&mut app, "4/");
    keys(&mut app, typed);
    app
}

/// The characters of row `y` at `w`×`h` drawn marked (underlined), as text.
fn marked_on_row(app: &App, w: u16, h: u16, y: u16) -> String {
    let buf = buffer(app, w, h);
    (0..w)
        .filter_map(|x| buf.cell((x, y)))
        .filter(|c| c.modifier.contains(Modifier::UNDERLINED))
        .map(ratatui::buffer::Cell::symbol)
        .collect()
}

#[test]
fn the_outbox_filter_popup_says_where_it_looks() {
    let app = outbox_filter("sign-in");
    let text = screen(&app, 80, 24);
    assert!(text.contains("Filter the outbox"), "{text}");
    snap("outbox_filter_popup", &app);
}

#[test]
fn the_outbox_filter_keeps_matches_and_marks_them() {
    let mut app = outbox_filter("Sign-In");
    press(&mut app, KeyCode::Enter);
    for (w, h) in [(100, 30), (80, 24)] {
        let text = screen(&app, w, h);
        assert!(text.contains("Outbox, \"Sign-In\""), "{text}");
        // The sign-in codes: heidi's email, carol's delivered SMS and her
        // two refused ones (their text holds it; the list shows why).
        let rows: Vec<&str> = text.lines().filter(|l| l.contains("│ 2026-")).collect();
        assert_eq!(rows.len(), 4, "{text}");
        assert!(!text.contains("to confirm"), "{text}");
        // Where the words show in a row, they are marked, in any case.
        let heidi = text.lines().position(|l| l.contains("heidi@")).unwrap();
        let row = u16::try_from(heidi).unwrap();
        // (At 80 columns the text is cut after "sig": the cut part and
        // its ellipsis are not marked.)
        let want = if w == 100 { "sign-in" } else { "sig" };
        assert_eq!(marked_on_row(&app, w, h, row), want, "{text}");
        // A refused message's row shows why, so nothing is marked there.
        assert_eq!(marked_on_row(&app, w, h, 3), "", "{text}");
    }
    snap("outbox_filtered", &app);
}

#[test]
fn words_found_in_the_failure_reason_are_marked_there() {
    let mut app = outbox_filter("not allowed\n");
    let text = screen(&app, 100, 30);
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("│ 2026-")).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(marked_on_row(&app, 100, 30, 3), "not allowed", "{text}");
    // `u` keeps the words and narrows to carol.
    keys(&mut app, "u");
    let text = screen(&app, 80, 24);
    assert!(
        text.contains("Outbox: carol@example.co.uk, \"not allowed\""),
        "{text}"
    );
}

#[test]
fn no_match_says_so_and_an_empty_filter_clears_it() {
    let mut app = outbox_filter("zzq\n");
    let text = screen(&app, 80, 24);
    assert!(text.contains("No message has those words."), "{text}");
    snap("outbox_filter_none", &app);
    // `/` again shows the words as typed, to edit; nothing clears them.
    keys(&mut app, "/");
    assert!(screen(&app, 80, 24).contains("zzq"));
    for _ in 0..3 {
        press(&mut app, KeyCode::Backspace);
    }
    press(&mut app, KeyCode::Enter);
    let text = screen(&app, 80, 24);
    assert!(text.contains("Outbox · 6 rows"), "{text}");
}
