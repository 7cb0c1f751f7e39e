//! Keys to actions, in one place. Each screen's bindings are a table that
//! also feeds its status bar and its `?` help, so they cannot disagree.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::{App, Mode, Tab};

/// Everything the console can be asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    Back,
    GoTo(Tab),
    NextTab,
    PrevTab,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    Open,
    // Text fields.
    Type(char),
    Erase,
    EraseForward,
    CursorLeft,
    CursorRight,
    CursorHome,
    CursorEnd,
    Submit,
    Cancel,
    // Users.
    Search,
    CycleFilter,
    // User.
    EnrolTotp,
    AddSms,
    AddEmail,
    ConfirmFactor,
    ToggleFactor,
    RemoveFactor,
    RevokeDevice,
    RevokeAllDevices,
    RegenerateCodes,
    Unlock,
    Reset2fa,
    ToggleAccount,
    ToggleEveryLogin,
    SetPassword,
    Simulate,
    Doctor,
    ShowActivity,
    CheckSkew,
    Resync,
    ClearDrift,
    // Simulator.
    PickUser,
    CycleDevice,
    EditIp,
    ToggleAction,
    CycleFactor,
    StartLogin,
    EnterCode,
    Resend,
    ToggleRemember,
    UseAppCode,
    Advance(i64),
    ResetClock,
    /// Move the simulated phone's own clock by this many seconds.
    PhoneClock(i64),
    // Outbox and audit.
    FilterUser,
    CycleKind,
    CheckTrail,
    // Policy.
    Edit,
    // Popups.
    SaveCodes,
    // Overview.
    Readiness,
    CycleSort,
    Export,
}

/// A key, what it does, and how it is described.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub code: KeyCode,
    pub action: Action,
    /// How help writes the key, when not just its name (`1-6`, `↑/k`).
    pub label: Option<&'static str>,
    pub help: &'static str,
    /// Shown in the status bar (the rest only in `?`).
    pub bar: bool,
}

impl Binding {
    /// `t`, `R`, `Enter`, `F5`, `Space`.
    pub fn key(&self) -> String {
        if let Some(label) = self.label {
            return label.to_owned();
        }
        match self.code {
            KeyCode::Char(' ') => "Space".to_owned(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::F(n) => format!("F{n}"),
            KeyCode::Enter => "Enter".to_owned(),
            KeyCode::Esc => "Esc".to_owned(),
            KeyCode::Tab => "Tab".to_owned(),
            KeyCode::BackTab => "S-Tab".to_owned(),
            KeyCode::Backspace => "Bksp".to_owned(),
            KeyCode::Delete => "Del".to_owned(),
            other => format!("{other:?}"),
        }
    }
}

/// A letter (or other character) key; `R` is Shift+r.
pub const fn ch(c: char, action: Action, help: &'static str, bar: bool) -> Binding {
    Binding {
        code: KeyCode::Char(c),
        action,
        label: None,
        help,
        bar,
    }
}

/// Any key, with an optional label for help.
pub const fn named(
    code: KeyCode,
    label: Option<&'static str>,
    action: Action,
    help: &'static str,
    bar: bool,
) -> Binding {
    Binding {
        code,
        action,
        label,
        help,
        bar,
    }
}

/// Keys that work on every screen (when no field is being typed in).
pub const GLOBAL: &[Binding] = &[
    named(
        KeyCode::Char('1'),
        Some("1-6"),
        Action::GoTo(Tab::Overview),
        "switch screen",
        false,
    ),
    named(
        KeyCode::Char('2'),
        Some("2"),
        Action::GoTo(Tab::Users),
        "",
        false,
    ),
    named(
        KeyCode::Char('3'),
        Some("3"),
        Action::GoTo(Tab::Simulator),
        "",
        false,
    ),
    named(
        KeyCode::Char('4'),
        Some("4"),
        Action::GoTo(Tab::Outbox),
        "",
        false,
    ),
    named(
        KeyCode::Char('5'),
        Some("5"),
        Action::GoTo(Tab::Audit),
        "",
        false,
    ),
    named(
        KeyCode::Char('6'),
        Some("6"),
        Action::GoTo(Tab::Policy),
        "",
        false,
    ),
    named(KeyCode::Tab, None, Action::NextTab, "next screen", false),
    named(
        KeyCode::BackTab,
        None,
        Action::PrevTab,
        "previous screen",
        false,
    ),
    named(KeyCode::Up, Some("↑/k"), Action::Up, "move up", false),
    ch('k', Action::Up, "", false),
    named(KeyCode::Down, Some("↓/j"), Action::Down, "move down", false),
    ch('j', Action::Down, "", false),
    named(
        KeyCode::PageUp,
        Some("PgUp"),
        Action::PageUp,
        "page up",
        false,
    ),
    named(
        KeyCode::PageDown,
        Some("PgDn"),
        Action::PageDown,
        "page down",
        false,
    ),
    named(KeyCode::Home, Some("Home"), Action::Top, "first row", false),
    named(KeyCode::End, Some("End"), Action::Bottom, "last row", false),
    named(KeyCode::Left, Some("←"), Action::Left, "left", false),
    named(KeyCode::Right, Some("→"), Action::Right, "right", false),
    named(KeyCode::Enter, None, Action::Open, "open", false),
    named(KeyCode::Esc, None, Action::Back, "back", false),
    ch('?', Action::Help, "help", true),
    ch('q', Action::Quit, "quit", true),
];

/// The action for a key press, given what the console is showing.
pub fn map(app: &App, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match app.mode() {
        Mode::Typing => typing(key),
        Mode::Popup(bindings) => find(bindings, key).or(match key.code {
            KeyCode::Esc | KeyCode::Char('q') => Some(Action::Cancel),
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Up => Some(Action::Up),
            KeyCode::Down => Some(Action::Down),
            _ => None,
        }),
        Mode::Browse(bindings) => find(bindings, key).or_else(|| find(GLOBAL, key)),
    }
}

/// While the terminal is too small, `q` and Ctrl-C quit and nothing else
/// does anything.
pub fn quits_when_too_small(key: KeyEvent) -> bool {
    key.kind != KeyEventKind::Release
        && (key.code == KeyCode::Char('q')
            || (key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c')))
}

fn find(bindings: &[Binding], key: KeyEvent) -> Option<Action> {
    bindings
        .iter()
        .find(|b| b.code == key.code)
        .map(|b| b.action)
}

/// Keys while a text field has the focus: everything printable is text.
fn typing(key: KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Char(c) => Action::Type(c),
        KeyCode::Backspace => Action::Erase,
        KeyCode::Delete => Action::EraseForward,
        KeyCode::Left => Action::CursorLeft,
        KeyCode::Right => Action::CursorRight,
        KeyCode::Home => Action::CursorHome,
        KeyCode::End => Action::CursorEnd,
        KeyCode::Enter => Action::Submit,
        KeyCode::Esc => Action::Cancel,
        KeyCode::Up => Action::Up,
        KeyCode::Down => Action::Down,
        KeyCode::Tab => Action::NextTab,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
