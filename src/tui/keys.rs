//! Keys to actions, in one place: each screen's bindings are a table that feeds
//! its status bar and `?` help too; the tabs keys go to; the doctor's fix keys.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::domain::doctor::{Act, Fix};

/// The top-level screens, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Users,
    Simulator,
    Outbox,
    Audit,
    Policy,
}

impl Tab {
    pub const ALL: [Tab; 6] = [
        Tab::Overview,
        Tab::Users,
        Tab::Simulator,
        Tab::Outbox,
        Tab::Audit,
        Tab::Policy,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Users => "Users",
            Tab::Simulator => "Simulator",
            Tab::Outbox => "Outbox",
            Tab::Audit => "Audit",
            Tab::Policy => "Policy",
        }
    }

    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    #[must_use]
    pub fn step(self, by: isize) -> Tab {
        let n = Tab::ALL.len().cast_signed();
        Tab::ALL[(self.index().cast_signed() + by)
            .rem_euclid(n)
            .cast_unsigned()]
    }
}

/// How keys are read right now.
#[derive(Debug, Clone, Copy)]
pub enum Mode {
    /// A text field has the focus: printable keys are text.
    Typing,
    /// A popup without a text field: its keys, then Esc/Enter.
    Popup(&'static [Binding]),
    /// A screen: its keys, then the global ones.
    Browse(&'static [Binding]),
}

impl Mode {
    /// The bindings shown in the status bar (none while typing).
    pub fn bindings(self) -> &'static [Binding] {
        match self {
            Mode::Popup(b) | Mode::Browse(b) => b,
            Mode::Typing => &[],
        }
    }
}

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
    Reenrol,
    TreatAsCompromised,
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

/// The action for a key press, given how keys are read now.
pub fn map(mode: Mode, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match mode {
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

/// The action on the user screen that does a doctor's fix, if a key does.
pub fn fix_action(fix: Fix) -> Option<Action> {
    Some(match fix {
        Fix::EnableAccount => Action::ToggleAccount,
        Fix::Unlock => Action::Unlock,
        Fix::ConfirmPending => Action::ConfirmFactor,
        Fix::EnableFactor => Action::ToggleFactor,
        Fix::RemoveFactor => Action::RemoveFactor,
        Fix::EnrolApp | Fix::AddAnotherFactor => Action::EnrolTotp,
        Fix::FixPhoneClock | Fix::Resync => Action::Resync,
        Fix::NewCodes => Action::RegenerateCodes,
        Fix::Reset2fa => Action::Reset2fa,
        Fix::Reenrol => Action::Reenrol,
        Fix::TreatAsCompromised => Action::TreatAsCompromised,
        Fix::SetPassword => Action::SetPassword,
        Fix::RevokeDevices => Action::RevokeAllDevices,
        Fix::TurnOffEveryLogin => Action::ToggleEveryLogin,
        Fix::Simulate => Action::Simulate,
        Fix::CheckCode => Action::CheckSkew,
        Fix::AllowCountry | Fix::Wait | Fix::Nothing => return None,
    })
}

/// The action on the user screen that does what a doctor's advice names.
pub fn act_action(act: &Act) -> Option<Action> {
    Some(match act {
        Act::EnableAccount => Action::ToggleAccount,
        Act::Unlock => Action::Unlock,
        Act::ConfirmFactor { .. } => Action::ConfirmFactor,
        Act::EnableFactor { .. } => Action::ToggleFactor,
        Act::RemoveFactor { .. } => Action::RemoveFactor,
        Act::AddTotp => Action::EnrolTotp,
        Act::LoginStart => Action::Simulate,
        Act::CheckCode => Action::CheckSkew,
        Act::Resync { .. } => Action::Resync,
        Act::ClearDrift { .. } => Action::ClearDrift,
        Act::Reset2fa => Action::Reset2fa,
        Act::Reenrol => Action::Reenrol,
        Act::TreatAsCompromised => Action::TreatAsCompromised,
        Act::SetPassword => Action::SetPassword,
        Act::RevokeDevices => Action::RevokeAllDevices,
        Act::GenerateCodes => Action::RegenerateCodes,
        Act::EveryLoginOff => Action::ToggleEveryLogin,
        Act::ResendCode { .. } | Act::AllowCountries { .. } | Act::EditPhone | Act::Outbox => {
            return None;
        }
    })
}

/// The user screen's key for `action` (see `screens::user::KEYS`; a test
/// there keeps the two the same).
pub fn user_key(action: Action) -> Option<char> {
    Some(match action {
        Action::ToggleAccount => 'D',
        Action::Unlock => 'u',
        Action::ConfirmFactor => 'c',
        Action::ToggleFactor => 'd',
        Action::RemoveFactor => 'x',
        Action::EnrolTotp => 't',
        Action::Resync => 'S',
        Action::ClearDrift => 'Z',
        Action::CheckSkew => 'v',
        Action::RegenerateCodes => 'g',
        Action::Reset2fa => 'X',
        Action::Reenrol => 'N',
        Action::TreatAsCompromised => 'C',
        Action::SetPassword => 'p',
        Action::RevokeAllDevices => 'R',
        Action::ToggleEveryLogin => 'e',
        Action::Simulate => 'l',
        _ => return None,
    })
}

/// The key that does a doctor's fix on the user screen.
pub fn fix_key(fix: Fix) -> Option<char> {
    fix_action(fix).and_then(user_key)
}

/// The key for an action a doctor's advice names, where one does it.
pub fn act_key(act: &Act) -> Option<char> {
    act_action(act).and_then(user_key)
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
