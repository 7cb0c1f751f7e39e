//! What the test crates share: the fixed clock, a desk on it (empty, or the
//! demo), a console over it without colour, and keys pressed into it.

// Each test crate uses some of these, not all; helpers unwrap like tests do.
#![allow(dead_code, clippy::unwrap_used)]

pub mod cli;
pub mod doctor;
pub mod fd;
pub mod flow;

/// Snapshot a console at 100×30 and at 80×24, as `NAME_100x30` and
/// `NAME_80x24`, drawn on ratatui's test backend. A macro, so that insta
/// names each snapshot after the test crate that takes it.
#[macro_export]
macro_rules! snap_sizes {
    ($name:expr, $app:expr) => {
        for (w, h) in [(100u16, 30u16), (80, 24)] {
            let mut terminal =
                ::ratatui::Terminal::new(::ratatui::backend::TestBackend::new(w, h)).unwrap();
            terminal.draw(|f| f.render_widget($app, f.area())).unwrap();
            ::insta::assert_snapshot!(format!("{}_{w}x{h}", $name), terminal.backend());
        }
    };
}

use chrono::{DateTime, Utc};
use factordesk::clock::{Clock, Hand};
use factordesk::crypto::Key;
use factordesk::demo;
use factordesk::desk::Desk;
use factordesk::desk::records::RecordQuery;
use factordesk::rng::Rng;
use factordesk::tui::App;
use factordesk::tui::render::{buffer, text};
use factordesk::tui::theme::Theme;
use factordesk::tui::worker::Worker;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

pub mod pg;

/// The `PostgreSQL` test cluster's URL, or `None` (said once): see [`pg`].
pub fn pg_url() -> Option<String> {
    pg::pg_url()
}

/// The time every test runs at, as `--now` takes it.
pub const T0: &str = "2026-11-21T09:00:00Z";

/// [`T0`] as a time.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(T0).unwrap().to_utc()
}

/// An empty desk on the fixed clock, with an RNG seeded `seed`: in memory,
/// or on a fresh `PostgreSQL` database under `FACTORDESK_TEST_ENGINE=postgres`
/// (see [`pg::on_postgres`]).
pub fn empty_desk(seed: u64) -> Desk {
    // Frozen: the real time events are written at is fixed too.
    desk_on(Clock::frozen(now()), Rng::seeded(seed))
}

/// An empty desk on `clock` and `rng`, on the engine the run asks for.
pub fn desk_on(clock: Clock, rng: Rng) -> Desk {
    match pg::on_postgres() {
        Some(url) => Desk::create_postgres(
            &url,
            &factordesk::keyfile::Source::Env("07".repeat(32)),
            clock,
            rng,
            factordesk::desk::ORIGIN_INIT,
        )
        .unwrap(),
        None => Desk::in_memory(Key::from_bytes([7; 32]), clock, rng).unwrap(),
    }
}

/// The demo data in memory, on the frozen clock and a seeded RNG.
pub fn demo_desk() -> Desk {
    demo_desk_on(Clock::frozen(now()))
}

/// The demo data in memory on `clock` (starting at [`T0`]) and a seeded RNG.
pub fn demo_desk_on(clock: Clock) -> Desk {
    let mut desk = desk_on(clock, Rng::seeded(1));
    demo::build(&mut desk, &demo::Scenario::embedded().unwrap()).unwrap();
    desk
}

/// The console on the demo data, on a clock that stands at [`T0`] until
/// the hand returned moves it: time passing while no key is pressed.
pub fn demo_console_with_hand() -> (App, Hand) {
    let (clock, hand) = Clock::manual(now());
    (console(demo_desk_on(clock)), hand)
}

/// A console on `desk`, without colour, its work done at once.
pub fn console(desk: Desk) -> App {
    App::new(desk, Theme { color: false }, Worker::inline(0))
}

/// The console on the demo data.
pub fn demo_console() -> App {
    console(demo_desk())
}

pub fn press(app: &mut App, code: KeyCode) {
    app.handle_key(KeyEvent::new(code, KeyModifiers::NONE));
}

/// A key with modifiers held (`KeyModifiers::CONTROL`, `ALT`).
pub fn press_with(app: &mut App, code: KeyCode, modifiers: KeyModifiers) {
    app.handle_key(KeyEvent::new(code, modifiers));
}

/// Ctrl and a letter (`ctrl(app, 'd')` is C-d).
pub fn ctrl(app: &mut App, c: char) {
    press_with(app, KeyCode::Char(c), KeyModifiers::CONTROL);
}

/// Alt and a letter (`alt(app, 'b')` is M-b).
pub fn alt(app: &mut App, c: char) {
    press_with(app, KeyCode::Char(c), KeyModifiers::ALT);
}

/// Each character is one key press; `\n` is Enter and `\x1b` is Esc.
pub fn keys(app: &mut App, typed: &str) {
    for c in typed.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        press(app, code);
    }
}

/// What `app` shows at `width`×`height`, as text.
pub fn screen(app: &App, width: u16, height: u16) -> String {
    text(&buffer(app, width, height))
}

/// The six-digit code in the newest message to `email`.
pub fn newest_code(desk: &Desk, email: &str) -> String {
    let m = desk
        .outbox(&RecordQuery {
            user: Some(email.to_owned()),
            limit: 1,
            ..RecordQuery::default()
        })
        .unwrap()
        .remove(0);
    m.text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap_or_else(|| panic!("no code in {:?}", m.text))
        .to_owned()
}
