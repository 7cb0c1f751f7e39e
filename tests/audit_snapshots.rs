//! Snapshots of the Audit screen's chain check and of an event whose time
//! `--now` set, at 100×30 and 80×24, driven through `App::handle_key` over
//! the demo database on a frozen clock (its real time fixed too).

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use chrono::{DateTime, Utc};
use factordesk::clock::Clock;
use factordesk::demo;
use factordesk::desk::Desk;
use factordesk::keyfile::Source;
use factordesk::rng::Rng;
use factordesk::tui::App;
use factordesk::tui::render::{buffer, text};
use factordesk::tui::theme::Theme;
use factordesk::tui::worker::Worker;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn fixed_now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
        .unwrap()
        .to_utc()
}

/// The demo database in a file (so that it can be tampered with from
/// another connection), and the key to open it with.
fn demo_file(dir: &Path) -> (std::path::PathBuf, Source) {
    let db = dir.join("d.db");
    let key = Source::File(dir.join("d.db.key"));
    let mut desk = Desk::create(
        &db,
        &key,
        Clock::frozen(fixed_now()),
        Rng::seeded(1),
        "demo",
    )
    .unwrap();
    demo::build(&mut desk, &demo::Scenario::embedded().unwrap()).unwrap();
    (db, key)
}

fn open(db: &Path, key: &Source) -> Desk {
    Desk::open(db, key, Clock::frozen(fixed_now()), Rng::seeded(1)).unwrap()
}

fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

fn screen(app: &App, width: u16, height: u16) -> String {
    text(&buffer(app, width, height))
}

fn snap(name: &str, app: &App) {
    crate::snap_sizes!(name, app);
}

/// Change the trail behind factordesk's back, with the append-only triggers
/// dropped and put back.
fn tamper(db: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let create: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'audit_append_only_update'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    conn.execute_batch("DROP TRIGGER audit_append_only_update")
        .unwrap();
    conn.execute_batch(sql).unwrap();
    conn.execute_batch(&create).unwrap();
}

#[test]
fn the_audit_screen_warns_when_a_check_finds_the_chain_broken() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = demo_file(dir.path());
    let mut app = App::new(open(&db, &key), Theme { color: false }, Worker::inline(0));
    press(&mut app, KeyCode::Char('5'));
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("chain whole: 327 events checked"), "{shown}");
    assert!(!shown.contains("tampered"), "{shown}");
    // Someone with the file edits an event; `v` checks again.
    tamper(
        &db,
        "UPDATE audit SET detail = 'nothing to see' WHERE id = 73",
    );
    press(&mut app, KeyCode::Char('v'));
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("tampered with: event #73 was changed after it was written"),
        "{shown}"
    );
    assert!(shown.contains("chain BROKEN"), "{shown}");
    snap("audit_chain_broken", &app);
}

#[test]
fn the_audit_screen_shows_a_time_set_by_now_and_who_really_wrote_it() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = demo_file(dir.path());
    let mut desk = open(&db, &key);
    // `--now 2019-01-01T00:00:00Z --actor mallory`, run by judy.
    desk.set_actor("mallory");
    desk.set_os_user("judy");
    let back = DateTime::parse_from_rfc3339("2019-01-01T00:00:00Z")
        .unwrap()
        .to_utc()
        - fixed_now();
    desk.advance_clock(back);
    desk.unlock("erin@example.com", "as if in 2019").unwrap();
    desk.advance_clock(-back);
    let mut app = App::new(desk, Theme { color: false }, Worker::inline(0));
    press(&mut app, KeyCode::Char('5'));
    // The oldest event: the one dated 2019.
    press(&mut app, KeyCode::End);
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains(
            "#328 2019-01-01 00:00:00 UTC* by mallory (OS user judy) for erin@example.com"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("really written 2026-11-21 09:00:00 UTC"),
        "{shown}"
    );
    assert!(shown.contains("chain whole: 328 events checked"), "{shown}");
    snap("audit_time_set_by_now", &app);
}

#[test]
fn the_chain_is_checked_on_the_worker_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = demo_file(dir.path());
    let desk = open(&db, &key);
    let reader = desk.reader().unwrap();
    let mut app = App::new(desk, Theme { color: false }, Worker::spawn(reader));
    press(&mut app, KeyCode::Char('5'));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !screen(&app, 100, 30).contains("chain whole: 327 events checked") {
        assert!(std::time::Instant::now() < deadline, "no verdict");
        app.poll_worker();
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
