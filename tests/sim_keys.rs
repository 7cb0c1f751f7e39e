//! The simulator's key bar and clock keys (issue 10's leftovers): the bar
//! lists only the keys that act in the state shown, F5–F8 move the clock
//! while a code is typed, and `y` never types a code already spent for its
//! step. Driven through the console's own keys; 100×30 and 80×24.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::domain::vocab::ChallengeState;
use factordesk::tui::App;
use factordesk::tui::keys::Mode;
use ratatui::crossterm::event::KeyCode;

use support::{demo_console as app, keys, press, screen};

fn snap(name: &str, app: &App) {
    crate::snap_sizes!(name, app);
}

/// Users search for `email`, then open it, then simulate (`l`).
fn simulate(app: &mut App, email: &str) {
    keys(app, "2\x1b/");
    keys(app, email);
    keys(app, "\n\nl");
}

/// The key bar (the last row) at 200×60, where every key listed fits.
fn bar(app: &App) -> String {
    screen(app, 200, 60).lines().last().unwrap().to_owned()
}

fn state(app: &App, id: i64) -> ChallengeState {
    app.sandbox().unwrap().challenge(id).unwrap().state
}

#[test]
fn the_bar_lists_only_the_keys_that_act() {
    let mut app = app();
    // No one picked: picking someone, or going back.
    keys(&mut app, "3");
    let b = bar(&app);
    assert!(b.contains("u pick user") && b.contains("Esc back"), "{b}");
    for idle in ["d computer", "Enter start", "c type", "r request"] {
        assert!(!b.contains(idle), "{idle}: {b}");
    }
    // Alice, before a login: no code to type or ask for.
    simulate(&mut app, "alice@example.com");
    let b = bar(&app);
    assert!(b.contains("Enter start login"), "{b}");
    assert!(!b.contains("c type") && !b.contains("r request"), "{b}");
    // Her app's challenge: a code to type, none to ask for (app codes are
    // not sent).
    keys(&mut app, "d\n");
    let b = bar(&app);
    assert!(
        b.contains("c type a code") && !b.contains("r request"),
        "{b}"
    );
    // Accepted: nothing to type into any more.
    keys(&mut app, "y");
    assert_eq!(state(&app, 68), ChallengeState::Accepted);
    assert!(!bar(&app).contains("c type"), "{}", bar(&app));
}

#[test]
fn another_code_is_offered_only_when_one_can_be_sent() {
    let mut app = app();
    simulate(&mut app, "heidi@example.com");
    keys(&mut app, "\n");
    // Just sent: the cooldown runs, so `r` would only say to wait.
    let b = bar(&app);
    assert!(
        b.contains("c type a code") && !b.contains("r request"),
        "{b}"
    );
    snap("sim_heidi_bar_in_cooldown", &app);
    press(&mut app, KeyCode::F(5));
    assert!(
        bar(&app).contains("r request another code"),
        "{}",
        bar(&app)
    );
    // Three resends, each after its cooldown: none left, and `r` goes.
    keys(&mut app, "r");
    for _ in 0..2 {
        press(&mut app, KeyCode::F(5));
        keys(&mut app, "r");
    }
    press(&mut app, KeyCode::F(5));
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("r Request another code: none left"),
        "{shown}"
    );
    assert!(!bar(&app).contains("r request"), "{}", bar(&app));
    snap("sim_heidi_bar_none_left", &app);
}

#[test]
fn the_clock_keys_work_while_a_code_is_typed() {
    let mut app = app();
    simulate(&mut app, "heidi@example.com");
    keys(&mut app, "\nc12");
    assert!(matches!(app.mode(), Mode::Typing(_)));
    // The bar says the clock keys still work here.
    assert!(bar(&app).contains("F5-F8 move the clock"), "{}", bar(&app));
    press(&mut app, KeyCode::F(5));
    press(&mut app, KeyCode::F(6));
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("Clock moved +30 s"), "{shown}");
    assert!(shown.contains("Clock moved +5 min"), "{shown}");
    assert!(shown.contains("(+5 min 30 s)"), "{shown}");
    // Still typing, with what was typed kept.
    assert!(matches!(app.mode(), Mode::Typing(_)));
    assert!(shown.contains("code: 12"), "{shown}");
    snap("sim_heidi_clock_while_typing", &app);
    // F7 and F8 too; then the code typed on goes to the challenge.
    press(&mut app, KeyCode::F(7));
    press(&mut app, KeyCode::F(8));
    assert!(screen(&app, 100, 30).contains("Clock moved +14 days"));
    keys(&mut app, "3456\n");
    assert!(screen(&app, 100, 30).contains("EXPIRED"));
}

#[test]
fn the_clock_keys_work_after_a_failed_app_code() {
    let mut app = app();
    simulate(&mut app, "alice@example.com");
    // Her phone two minutes slow: `y` fails, and opens no field.
    keys(&mut app, "d\n<<<<y");
    assert!(!matches!(app.mode(), Mode::Typing(_)));
    for (key, said) in [
        (5, "Clock moved +30 s"),
        (6, "Clock moved +5 min"),
        (7, "Clock moved +1 day"),
        (8, "Clock moved +14 days"),
    ] {
        press(&mut app, KeyCode::F(key));
        assert!(screen(&app, 100, 30).contains(said), "F{key}");
    }
}

#[test]
fn y_waits_for_the_next_code_when_this_one_was_used_to_sign_in() {
    let mut app = app();
    simulate(&mut app, "alice@example.com");
    keys(&mut app, "d\ny");
    assert_eq!(state(&app, 68), ChallengeState::Accepted);
    // Another login in the same 30 s: the phone still shows the code just
    // used. `y` does not type it (a replay): it waits for the next one.
    keys(&mut app, "\ny");
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("Waited 30 s for the app's next code"),
        "{shown}"
    );
    assert_eq!(state(&app, 69), ChallengeState::Accepted, "{shown}");
    assert!(!shown.contains("replayed"), "{shown}");
    snap("sim_alice_y_waits_for_the_next_code", &app);
}
