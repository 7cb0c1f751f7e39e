//! The login simulator's defects from issue 10, each driven through the
//! console's own keys (`App::handle_key`) and snapshotted at 100×30 and
//! 80×24: the phone's code as the clock runs, `y` without a typing field.

#![allow(clippy::unwrap_used)]

mod support;

use chrono::TimeDelta;
use factordesk::desk::Desk;
use factordesk::domain::vocab::ChallengeState;
use factordesk::tui::App;
use factordesk::tui::keys::Mode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;

use support::{demo_console as app, demo_console_with_hand, keys, press, screen};

/// Snapshot `app` at 100×30 and at 80×24, as `NAME_100x30` and `NAME_80x24`.
fn snap(name: &str, app: &App) {
    for (w, h) in [(100, 30), (80, 24)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        terminal.draw(|f| f.render_widget(app, f.area())).unwrap();
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), terminal.backend());
    }
}

/// Users search for `email`, then open it.
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

fn sandbox(app: &App) -> &Desk {
    app.sandbox().expect("the simulator's sandbox")
}

/// `123 456`: a code as the authenticator panel shows it.
fn spaced(code: &str) -> String {
    format!("{} {}", &code[..3], &code[3..])
}

/// The code `email`'s first authenticator shows now in the sandbox, on a
/// phone `skew` seconds off.
fn phone_code(app: &App, email: &str, skew: i64) -> String {
    let desk = sandbox(app);
    let id = desk.factors(email).unwrap()[0].id;
    desk.authenticator_code(email, id, TimeDelta::seconds(skew))
        .unwrap()
}

/// The state of challenge `id` in the sandbox.
fn state(app: &App, id: i64) -> ChallengeState {
    sandbox(app).challenge(id).unwrap().state
}

// ------------------------------------------------ the phone's code, live

/// Issue 10, 1: the authenticator's code is the one the phone shows now,
/// however long nothing was pressed; the countdowns are redrawn each
/// second, and `y` types what the phone shows then.
#[test]
fn the_app_code_follows_the_clock_while_no_key_is_pressed() {
    let (mut app, hand) = demo_console_with_hand();
    let alice = "alice@example.com";
    open_user(&mut app, alice);
    // A new computer: she is asked for her app's code.
    keys(&mut app, "ld\n");
    assert!(app.ticking(), "the simulator's clock and countdowns tick");
    let first = phone_code(&app, alice, 0);
    assert!(screen(&app, 100, 30).contains(&spaced(&first)));
    // A second passes: the live loop draws again, and both countdowns moved.
    hand.advance(TimeDelta::seconds(1));
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("changes in 29 s"), "{shown}");
    assert!(shown.contains("expires in 4:59"), "{shown}");
    snap("sim_alice_a_second_later", &app);
    // A minute idle: the phone shows a code two steps on, and so does the
    // screen, with no key pressed to read it again.
    hand.advance(TimeDelta::seconds(60));
    let now = phone_code(&app, alice, 0);
    assert_ne!(now, first);
    let shown = screen(&app, 100, 30);
    assert!(shown.contains(&spaced(&now)), "{shown}");
    assert!(!shown.contains(&spaced(&first)), "{shown}");
    // `y` types that code, not the one shown a minute ago.
    keys(&mut app, "y");
    assert_eq!(state(&app, 68), ChallengeState::Accepted);
    let shown = screen(&app, 100, 30);
    assert!(!shown.contains("slow"), "{shown}");
    snap("sim_alice_idle_minute_then_y", &app);
}

/// A challenge whose time runs out while nothing is pressed says so as it
/// is drawn, and a sandbox-less simulator does not tick.
#[test]
fn a_challenge_expires_on_screen_as_the_clock_runs() {
    let (mut app, hand) = demo_console_with_hand();
    keys(&mut app, "3");
    assert!(!app.ticking(), "no user, no sandbox: nothing ticks");
    open_user(&mut app, "alice@example.com");
    keys(&mut app, "ld\n");
    hand.advance(TimeDelta::minutes(5));
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("EXPIRED just now"), "{shown}");
}

// ------------------------------------------------ `y` refused

/// Issue 10, 3: a refused `y` opens no typing field behind the trainer's
/// back: the simulator's keys, F5 among them, still work.
#[test]
fn a_refused_app_code_leaves_the_keys_working() {
    let mut app = app();
    let alice = "alice@example.com";
    open_user(&mut app, alice);
    // Her phone's clock two minutes slow: four steps, past the ±1 window.
    keys(&mut app, "ld\n<<<<y");
    assert_eq!(state(&app, 68), ChallengeState::Open);
    assert!(
        !matches!(app.mode(), Mode::Typing),
        "no typing field opened"
    );
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("press c to type it"), "{shown}");
    snap("sim_alice_slow_phone_y_refused", &app);
    press(&mut app, KeyCode::F(5));
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("(+30 s)"), "F5 moved the clock:\n{shown}");
    // `c` still opens the field, and a wrong code typed there keeps it open.
    keys(&mut app, "c000000\n");
    assert!(matches!(app.mode(), Mode::Typing));
}
