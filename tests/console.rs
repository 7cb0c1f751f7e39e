//! What issue 10 asked of the console, each driven through `App::handle_key`
//! over the demo on a fixed clock: policy changes confirmed with a reason.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::desk::records::RecordQuery;
use factordesk::tui::App;
use ratatui::crossterm::event::KeyCode;

use support::{console, demo_console, empty_desk, keys, press, screen};

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

// ------------------------------------------------------------ header and columns

/// Who is at the desk shows on the tab row; the profile's phone is masked
/// as everywhere else; at 80 columns an open user's email shows whole (the
/// tabs not showing keep only their number).
#[test]
fn the_header_names_the_actor_and_the_phone_is_masked() {
    let mut app = demo_console();
    keys(&mut app, "2/carol\n");
    press(&mut app, KeyCode::Enter);
    for (w, h) in [(100, 30), (80, 24)] {
        let shown = screen(&app, w, h);
        let top = shown.lines().next().unwrap();
        assert!(top.contains(" as admin"), "{top}");
        assert!(top.contains("› carol@example.co.uk"), "{top}");
        assert!(shown.contains("phone +44 ******0123"), "{shown}");
        assert!(!shown.contains("+447400900123"), "{shown}");
    }
    snap("carol_masked_phone", &app);
}

/// At 80 columns the Users list gives the email what it needs (the
/// factors column is as wide as its entries), and the Overview says when
/// erin's lock releases.
#[test]
fn at_80_columns_emails_and_release_times_show() {
    let mut app = demo_console();
    let overview = screen(&app, 80, 24);
    assert!(overview.contains("releases in 12 min"), "{overview}");
    keys(&mut app, "2");
    let users = screen(&app, 80, 24);
    assert!(users.contains(" dmitri.haddad@example.org "), "{users}");
    assert!(users.contains(" chloe.schmidt@example.org "), "{users}");
    snap("users_columns", &app);
}

/// Policy at 80×24 says more settings lie below, then above.
#[test]
fn policy_says_where_more_settings_are() {
    let mut app = demo_console();
    keys(&mut app, "6");
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("rows 1–14 of 32"), "{shown}");
    assert!(shown.contains("↓ more"), "{shown}");
    assert!(!shown.contains("↑ more"), "{shown}");
    keys(&mut app, "G");
    let shown = screen(&app, 80, 24);
    assert!(shown.contains("↑ more"), "{shown}");
    assert!(!shown.contains("↓ more"), "{shown}");
    snap("policy_scrolled_to_the_end", &app);
}

/// Audit and Outbox dates carry their year; the Outbox CODE column says
/// what became of each message's code.
#[test]
fn dates_have_a_year_and_the_code_column_says_something() {
    let mut app = demo_console();
    keys(&mut app, "5");
    let audit = screen(&app, 80, 24);
    let row = audit.lines().nth(3).unwrap();
    assert!(row.starts_with("│ 2026-11-"), "{audit}");
    keys(&mut app, "4");
    let outbox = screen(&app, 80, 24);
    let delivered = outbox.lines().find(|l| l.contains(" delivered ")).unwrap();
    assert!(delivered.contains(" used "), "{outbox}");
    assert!(delivered.contains("2026-"), "{outbox}");
}

// ------------------------------------------------------------ search

/// What a search found stands out in the rows, in the email and the name.
#[test]
fn users_search_highlights_what_it_found() {
    use ratatui::style::Modifier;
    let mut app = demo_console();
    keys(&mut app, "2/okaf\n");
    let buf = factordesk::tui::render::buffer(&app, 100, 30);
    let text = screen(&app, 100, 30);
    assert!(text.contains("bob@example.com"), "{text}");
    let marked: String = buf
        .content()
        .iter()
        .filter(|c| c.modifier.contains(Modifier::UNDERLINED))
        .map(ratatui::buffer::Cell::symbol)
        .collect();
    assert_eq!(marked, "Okaf", "the name's match, nothing else");
    snap("users_search_okaf", &app);
}

// ------------------------------------------------------------ changes elsewhere

/// Another process (a second desk on the same file, as the CLI would be)
/// sends heidi a code: the open Outbox shows it once the console looks for
/// changes, which the live loop does every second without a key; nothing
/// is read again while nothing changed, nor while a text field has the keys.
#[test]
fn the_open_screen_shows_changes_made_elsewhere() {
    use factordesk::clock::Clock;
    use factordesk::desk::Desk;
    use factordesk::desk::login::{LoginRequest, PasswordInput};
    use factordesk::domain::Action;
    use factordesk::rng::Rng;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let key = factordesk::keyfile::Source::File(dir.path().join("d.db.key"));
    let mut desk = Desk::create(
        &db,
        &key,
        Clock::fixed(support::now()),
        Rng::seeded(1),
        "demo",
    )
    .unwrap();
    factordesk::demo::build(&mut desk, &factordesk::demo::Scenario::embedded().unwrap()).unwrap();
    let mut app = support::console(desk);
    keys(&mut app, "4");
    assert!(!app.follow(), "nothing changed");
    let before = screen(&app, 100, 30);
    let mut cli = Desk::open(&db, &key, Clock::fixed(support::now()), Rng::seeded(2)).unwrap();
    cli.start_login(&LoginRequest {
        email: "heidi@example.com".to_owned(),
        password: PasswordInput::Assume,
        device: None,
        ip: Some("203.0.113.9".to_owned()),
        action: Action::Login,
        factor: None,
    })
    .unwrap();
    assert_eq!(screen(&app, 100, 30), before, "not read yet");
    assert!(app.follow(), "the change is seen");
    assert!(!app.follow(), "and read once");
    let shown = screen(&app, 100, 30);
    let first = shown.lines().nth(3).unwrap();
    assert!(
        first.contains("heidi@example.com") && first.contains("valid"),
        "{shown}"
    );
    snap("outbox_followed", &app);
    // While the Users search is typed, what it shows waits.
    keys(&mut app, "2/he");
    cli.start_login(&LoginRequest {
        email: "heidi@example.com".to_owned(),
        password: PasswordInput::Assume,
        device: None,
        ip: Some("203.0.113.9".to_owned()),
        action: Action::Login,
        factor: None,
    })
    .unwrap();
    assert!(!app.follow());
    keys(&mut app, "\n");
    assert!(app.follow());
}

// ------------------------------------------------------------ sort

/// `s` sorts the Users list by the next column, `S` the other way round,
/// paging along the column's index; a search or filter goes back to email
/// order, and `s` while one is on says why it does not sort.
#[test]
fn users_sort_by_a_column_either_way() {
    let mut app = demo_console();
    keys(&mut app, "2s");
    let by_name = screen(&app, 100, 30);
    assert!(by_name.contains("Sort name a–z"), "{by_name}");
    let names: Vec<&str> = by_name.lines().skip(4).take(3).collect();
    assert!(names[0].contains("Ada Dubois"), "{by_name}");
    snap("users_sorted_by_name", &app);
    keys(&mut app, "S");
    let reversed = screen(&app, 100, 30);
    assert!(reversed.contains("Sort name z–a"), "{reversed}");
    assert!(
        reversed.lines().nth(4).unwrap().contains("Zoe"),
        "{reversed}"
    );
    // The end of the list, and back to its top, in the sorted order.
    keys(&mut app, "G");
    assert!(screen(&app, 100, 30).contains("Ada Dubois"));
    keys(&mut app, "g");
    assert_eq!(screen(&app, 100, 30), reversed);
    keys(&mut app, "sS");
    let newest = screen(&app, 100, 30);
    assert!(newest.contains("Sort last login, newest first"), "{newest}");
    assert!(
        newest.lines().nth(4).unwrap().contains("2026-11-21"),
        "{newest}"
    );
    snap("users_sorted_by_last_login", &app);
    // A filter is read in email order.
    keys(&mut app, "f");
    let filtered = screen(&app, 100, 30);
    assert!(filtered.contains("Sort email a–z"), "{filtered}");
    keys(&mut app, "s");
    let refused = screen(&app, 100, 30);
    assert!(
        refused.contains("Sorting is for the whole list"),
        "{refused}"
    );
    assert!(refused.contains("Sort email a–z"), "{refused}");
}

/// The Overview's attention list gives a long address its whole width on
/// a wide terminal, and cuts it (with an ellipsis) only on a narrow one.
#[test]
fn the_attention_list_shows_whole_addresses_when_wide() {
    let email = "maximilian.vandenberghe-oosterhuis@example.org";
    let mut desk = support::demo_desk();
    desk.add_user(&factordesk::desk::users::NewUser {
        email: email.to_owned(),
        name: "Maximilian".to_owned(),
        role: None,
        phone: None,
        password_hash: None,
    })
    .unwrap();
    desk.advance_clock(chrono::TimeDelta::days(30));
    let app = support::console(desk);
    let wide = screen(&app, 200, 60);
    let row = wide.lines().find(|l| l.contains("maximilian")).unwrap();
    assert!(row.contains(email), "{row}");
    let narrow = screen(&app, 80, 24);
    if let Some(row) = narrow.lines().find(|l| l.contains("maximilian")) {
        assert!(!row.contains(email) && row.contains('…'), "{row}");
    }
}

/// A desk with nobody in it: the Overview counts nothing, divides by no
/// one, and says nothing needs attention (a failed message that has since
/// been answered is counted, not listed: "still failing").
#[test]
fn an_empty_desk_s_overview_says_nothing_needs_attention() {
    let mut app = console(empty_desk(1));
    keys(&mut app, "1");
    snap("overview_empty", &app);
}
