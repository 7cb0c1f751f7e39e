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
use ratatui::crossterm::event::KeyCode;

use support::{demo_console as app, demo_console_with_hand, keys, press, screen};

/// Snapshot `app` at 100×30 and at 80×24, as `NAME_100x30` and `NAME_80x24`.
fn snap(name: &str, app: &App) {
    crate::snap_sizes!(name, app);
}

/// Users search for `email`, then open it.
fn open_user(app: &mut App, email: &str) {
    keys(app, "2\x1b/");
    keys(app, email);
    keys(app, "\n\n");
    let shown = screen(app, 100, 30);
    assert!(
        shown.contains(&format!("╭ {email} · ")),
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
        !matches!(app.mode(), Mode::Typing(_)),
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
    assert!(matches!(app.mode(), Mode::Typing(_)));
}

// ------------------------------------------------ the demo's people

/// The six-digit codes in `text`, in order.
fn codes_in(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|w| w.len() == 6)
        .map(str::to_owned)
        .collect()
}

/// Issue 10, 2: bob's story end to end, as an agent does it. In the
/// simulator his phone is 90 s slow, as the demo's story says, and his
/// code is refused; the doctor's fix (Enter on its first finding) is the
/// resync, whose popup reads his slow phone; it learns -90 s, and then his
/// login from that phone is challenged (2FA is still required) and the
/// code `y` types is accepted.
#[test]
fn bob_resynced_from_the_doctor_signs_in_with_his_slow_phone() {
    let mut app = app();
    let bob = "bob@example.com";
    open_user(&mut app, bob);
    keys(&mut app, "l");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("(phone 90 s slow)"), "{shown}");
    assert!(
        shown.contains("As their story goes, their phone runs 90 s slow"),
        "{shown}"
    );
    keys(&mut app, "\ny");
    let refused = sandbox(&app).challenge(68).unwrap();
    assert_eq!(refused.state, ChallengeState::Open);
    assert_eq!(refused.attempts_left, 4);
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("INVALID"), "{shown}");
    snap("sim_bob_story_phone_refused", &app);

    // Back on his screen, the doctor; its first finding's fix is the resync.
    keys(&mut app, "\x1bo");
    let shown = screen(&app, 100, 30);
    let first = shown.lines().find(|l| l.contains('▶')).unwrap();
    assert!(first.contains("Phone clock off"), "{shown}");
    keys(&mut app, "\n");
    snap("doctor_bob_resync_fix_popup", &app);
    // The popup reads his phone as it is: 90 s slow.
    let shown = screen(&app, 100, 30);
    let hint = shown
        .lines()
        .skip_while(|l| !l.contains("The simulated phone"))
        .take(2)
        .collect::<String>();
    let read = codes_in(&hint);
    let id = app.desk().factors(bob).unwrap()[0].id;
    let slow = |s: i64| {
        app.desk()
            .authenticator_code(bob, id, TimeDelta::seconds(s))
            .unwrap()
    };
    assert_eq!(read, vec![slow(-120), slow(-90)], "{shown}");
    keys(&mut app, &format!("{} {}\n", read[0], read[1]));
    let factor = &app.desk().factors(bob).unwrap()[0];
    assert_eq!(factor.drift_steps, -3, "it learned -90 s");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("its clock runs -90 s"), "{shown}");

    // His login from that phone: still challenged (2FA is still required).
    // The resync spent the first code he read out: typed again, it is
    // refused, and says why.
    keys(&mut app, "l\n");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("CHALLENGE  login for bob"), "{shown}");
    assert!(!shown.contains("spent by the resync"), "{shown}");
    assert!(shown.contains("y types it"), "{shown}");
    keys(&mut app, &format!("c{}\n\x1b", read[0]));
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("spent by the help desk's") && shown.contains("resync"),
        "{shown}"
    );
    // The one his phone still shows was left for this login: y is accepted
    // at once, with no wait.
    keys(&mut app, "y");
    let done = sandbox(&app).challenge(68).unwrap();
    assert_eq!(done.state, ChallengeState::Accepted);
    assert_eq!(
        done.attempts_left, 4,
        "only the replayed code cost an attempt"
    );
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("(not moved)"), "nobody waited:\n{shown}");
    assert!(shown.contains("ALLOWED  login for bob"), "{shown}");
    snap("sim_bob_resynced_signs_in", &app);
}

/// Issue 10, 2: ivan's story has him arriving from a new address with his
/// expired laptop, and the simulator starts him there: the decision names
/// both.
#[test]
fn ivan_starts_from_his_new_address() {
    let mut app = app();
    open_user(&mut app, "ivan@example.com");
    keys(&mut app, "l");
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("from \"Chrome on Windows\" (expired) at IP 203.0.113.9"),
        "{shown}"
    );
    assert!(
        shown.contains("Authenticator app "),
        "a phone on time: {shown}"
    );
    assert!(!shown.contains("slow"), "{shown}");
    keys(&mut app, "\n");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("it is on new IP"), "{shown}");
    snap("sim_ivan_story_new_address", &app);
}

/// A user no story tells of has a phone on time, at the address they
/// were last seen from.
#[test]
fn a_real_user_is_on_time_where_last_seen() {
    let mut app = app();
    let email = "ada.dubois@example.org";
    let persona = app.desk().persona(email).unwrap();
    assert!(!persona.from_story);
    assert!(persona.phone_skew.is_zero());
    assert_eq!(persona.ip.as_deref(), Some("198.51.100.100"));
    open_user(&mut app, email);
    keys(&mut app, "l");
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("from a new computer at IP 198.51.100.100"),
        "{shown}"
    );
    assert!(!shown.contains("story"), "{shown}");
    assert!(!shown.contains("slow"), "{shown}");
}

// ------------------------------------------------ the decision, the log

/// Issue 10, minor: the decision panel follows its challenge (ALLOWED once
/// the code is accepted, not CHALLENGE) and its title says when the clock
/// has moved on from the time it was made; the log names the day of what
/// happened.
#[test]
fn the_decision_follows_its_challenge_and_the_clock() {
    let mut app = app();
    let alice = "alice@example.com";
    open_user(&mut app, alice);
    keys(&mut app, "ld\ny");
    assert_eq!(state(&app, 68), ChallengeState::Accepted);
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("ALLOWED  login for alice"), "{shown}");
    assert!(!shown.contains("CHALLENGE  login"), "{shown}");
    assert!(shown.contains("Code accepted: signed in."), "{shown}");
    assert!(shown.contains("What happened · 2026-11-21"), "{shown}");
    snap("sim_alice_accepted_decision", &app);
    // Fourteen days on: the reasons speak of then, and the log's new day
    // has its own row.
    press(&mut app, KeyCode::F(8));
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("Decision, 14 days ago: Enter decides again"),
        "{shown}"
    );
    assert!(shown.contains("2026-12-05"), "{shown}");
    snap("sim_alice_decision_14_days_on", &app);
    // Enter decides again, on the sandbox's clock.
    keys(&mut app, "\n");
    let shown = screen(&app, 100, 30);
    assert!(!shown.contains("Decision, "), "{shown}");
}

// ------------------------------------------------ resends, the lock

/// Issue 10, minor: with no resends left, nothing offers another code: the
/// challenge panel says none are left, and the expired code's refusal
/// says to start a new login.
#[test]
fn no_other_code_is_offered_when_none_are_left() {
    let mut app = app();
    let heidi = "heidi@example.com";
    open_user(&mut app, heidi);
    keys(&mut app, "l\n");
    for _ in 0..3 {
        press(&mut app, KeyCode::F(5));
        keys(&mut app, "r");
    }
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("r Request another code: none left"),
        "{shown}"
    );
    press(&mut app, KeyCode::F(6));
    press(&mut app, KeyCode::F(6));
    let code = support::newest_code(sandbox(&app), heidi);
    keys(&mut app, &format!("c{code}\n"));
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("EXPIRED"), "{shown}");
    assert!(shown.contains("start a new login"), "{shown}");
    assert!(!shown.contains("expired 1 min ago: request"), "{shown}");
    snap("sim_heidi_no_resends_left_expired", &app);
}

/// Issue 10, minor: the challenge panel counts the failures towards the
/// 2FA lock, says the lock when it is in force, and, once a lock has
/// released, how far the failures in a row are from the hard stop.
#[test]
fn failures_are_counted_towards_the_lock() {
    let mut app = app();
    let alice = "alice@example.com";
    open_user(&mut app, alice);
    keys(&mut app, "ld\nc000000\n\x1b");
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("1 of 10 failures before a 15 min lock"),
        "{shown}"
    );
    snap("sim_alice_one_failure_counted", &app);

    // Erin's 2FA is locked after ten failures; the simulator says so.
    let erin = "erin@example.com";
    open_user(&mut app, erin);
    keys(&mut app, "l\n");
    let shown = screen(&app, 100, 30);
    assert!(shown.contains("2FA LOCKED: releases in"), "{shown}");
    snap("sim_erin_locked_counted", &app);
    // Released: none count towards the next lock, but ten in a row do
    // towards the hard stop.
    for _ in 0..3 {
        press(&mut app, KeyCode::F(6));
    }
    keys(&mut app, "\n");
    let shown = screen(&app, 100, 30);
    assert!(
        shown.contains("0 of 10 failures before a 15 min lock; 10 of 100 in a"),
        "{shown}"
    );
    assert!(shown.contains("before an admin must unlock"), "{shown}");
    snap("sim_erin_released_hard_stop_counted", &app);
}
