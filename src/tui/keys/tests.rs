//! Keys to actions: modifiers matched, Ctrl-C and Ctrl-L from anywhere, a
//! shell's line-editing keys in text fields.

use super::*;
use crate::tui::screens::user::KEYS as USER;

fn key(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
    KeyEvent::new(code, mods)
}

fn plain(c: char) -> KeyEvent {
    key(KeyCode::Char(c), KeyModifiers::NONE)
}

fn ctrl_key(c: char) -> KeyEvent {
    key(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn alt_key(c: char) -> KeyEvent {
    key(KeyCode::Char(c), KeyModifiers::ALT)
}

#[test]
fn keys_name_themselves() {
    assert_eq!(
        ch('R', Action::RevokeAllDevices, "revoke all", false).key(),
        "R"
    );
    assert_eq!(ch(' ', Action::ToggleRemember, "x", false).key(), "Space");
    assert_eq!(
        named(KeyCode::F(5), None, Action::Advance(30), "x", false).key(),
        "F5"
    );
    assert_eq!(
        named(KeyCode::Up, Some("↑/k"), Action::Up, "x", false).key(),
        "↑/k"
    );
    assert_eq!(ctrl('d', Action::HalfPageDown, "x", false).key(), "C-d");
}

/// On the user screen `d` disables a factor and `u` unlocks 2FA; with Ctrl
/// they scroll half a page, and `C-l` draws the screen afresh.
#[test]
fn ctrl_is_not_the_plain_key() {
    let user = Mode::Browse(USER);
    assert_eq!(map(user, plain('d')), Some(Action::ToggleFactor));
    assert_eq!(map(user, plain('u')), Some(Action::Unlock));
    assert_eq!(map(user, ctrl_key('d')), Some(Action::HalfPageDown));
    assert_eq!(map(user, ctrl_key('u')), Some(Action::HalfPageUp));
    assert_eq!(map(user, ctrl_key('l')), Some(Action::Redraw));
    assert_eq!(map(user, plain('l')), Some(Action::Simulate));
    assert_eq!(map(user, ctrl_key('f')), Some(Action::PageDown));
    assert_eq!(map(user, ctrl_key('b')), Some(Action::PageUp));
    // Alt or Ctrl with a key nothing binds does nothing.
    assert_eq!(map(user, alt_key('d')), None);
    assert_eq!(map(user, ctrl_key('x')), None);
    assert_eq!(map(user, ctrl_key('q')), None);
    assert_eq!(map(user, key(KeyCode::Enter, KeyModifiers::CONTROL)), None);
}

#[test]
fn shift_is_in_the_character() {
    let user = Mode::Browse(USER);
    // Terminals send `R` with Shift, or without it: the same key.
    assert_eq!(
        map(user, key(KeyCode::Char('R'), KeyModifiers::SHIFT)),
        Some(Action::RevokeAllDevices)
    );
    assert_eq!(map(user, plain('R')), Some(Action::RevokeAllDevices));
    assert_eq!(map(user, plain('r')), Some(Action::RevokeDevice));
    assert_eq!(
        map(user, key(KeyCode::BackTab, KeyModifiers::SHIFT)),
        Some(Action::PrevTab)
    );
    assert_eq!(
        map(user, key(KeyCode::Char('?'), KeyModifiers::SHIFT)),
        Some(Action::Help)
    );
}

#[test]
fn g_and_shift_g_are_the_first_and_last_row() {
    for mode in [Mode::Browse(&[]), Mode::Browse(USER)] {
        assert_eq!(map(mode, plain('g')), Some(Action::Top));
        assert_eq!(map(mode, plain('G')), Some(Action::Bottom));
        assert_eq!(
            map(mode, key(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Some(Action::Bottom)
        );
        assert_eq!(
            map(mode, key(KeyCode::Home, KeyModifiers::NONE)),
            Some(Action::Top)
        );
    }
}

#[test]
fn ctrl_c_quits_in_every_mode_and_ctrl_l_redraws() {
    for mode in [Mode::Typing(&[]), Mode::Popup(&[]), Mode::Browse(USER)] {
        assert_eq!(map(mode, ctrl_key('c')), Some(Action::Quit), "{mode:?}");
        assert_eq!(map(mode, ctrl_key('l')), Some(Action::Redraw), "{mode:?}");
    }
    // `q` quits only where it is not text or a popup's close.
    assert_eq!(map(Mode::Typing(&[]), plain('q')), Some(Action::Type('q')));
    assert_eq!(map(Mode::Popup(&[]), plain('q')), Some(Action::Cancel));
    assert!(quits_when_too_small(ctrl_key('c')));
    assert!(quits_when_too_small(plain('q')));
    assert!(!quits_when_too_small(ctrl_key('q')));
    let mut release = ctrl_key('c');
    release.kind = KeyEventKind::Release;
    assert_eq!(map(Mode::Typing(&[]), release), None);
}

#[test]
fn text_fields_take_the_line_editing_keys() {
    let t = Mode::Typing(&[]);
    for (event, action) in [
        (plain('a'), Action::Type('a')),
        (
            key(KeyCode::Char('A'), KeyModifiers::SHIFT),
            Action::Type('A'),
        ),
        (ctrl_key('a'), Action::CursorHome),
        (ctrl_key('e'), Action::CursorEnd),
        (ctrl_key('b'), Action::CursorLeft),
        (ctrl_key('f'), Action::CursorRight),
        (ctrl_key('h'), Action::Erase),
        (ctrl_key('d'), Action::EraseForward),
        (ctrl_key('u'), Action::KillToStart),
        (ctrl_key('k'), Action::KillToEnd),
        (ctrl_key('w'), Action::KillBigWordBack),
        (alt_key('b'), Action::WordLeft),
        (alt_key('f'), Action::WordRight),
        (alt_key('d'), Action::KillWordForward),
        (key(KeyCode::Left, KeyModifiers::CONTROL), Action::WordLeft),
        (
            key(KeyCode::Right, KeyModifiers::CONTROL),
            Action::WordRight,
        ),
        (
            key(KeyCode::Backspace, KeyModifiers::ALT),
            Action::KillWordBack,
        ),
        (
            key(KeyCode::Backspace, KeyModifiers::CONTROL),
            Action::KillWordBack,
        ),
        (
            key(KeyCode::Delete, KeyModifiers::CONTROL),
            Action::KillWordForward,
        ),
        (key(KeyCode::Backspace, KeyModifiers::NONE), Action::Erase),
        (key(KeyCode::Home, KeyModifiers::NONE), Action::CursorHome),
        (key(KeyCode::Enter, KeyModifiers::NONE), Action::Submit),
        (key(KeyCode::Esc, KeyModifiers::NONE), Action::Cancel),
        // AltGr, as some systems send it, types its character.
        (
            key(
                KeyCode::Char('@'),
                KeyModifiers::CONTROL | KeyModifiers::ALT,
            ),
            Action::Type('@'),
        ),
    ] {
        assert_eq!(map(t, event), Some(action), "{event:?}");
    }
    // No letter is typed by a Ctrl or Alt key that edits nothing.
    for event in [
        ctrl_key('x'),
        ctrl_key('z'),
        alt_key('x'),
        key(KeyCode::Enter, KeyModifiers::ALT),
    ] {
        assert_eq!(map(t, event), None, "{event:?}");
    }
}

#[test]
fn the_doctor_s_edit_phone_is_m_on_the_user_screen() {
    use crate::domain::doctor::Act;
    assert_eq!(act_key(&Act::EditPhone), Some('M'));
    assert_eq!(act_action(&Act::EditPhone), Some(Action::ChangePhone));
}
