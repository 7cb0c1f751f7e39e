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
    /// A text field has the focus: printable keys are text; of the
    /// screen's keys, only the function keys still act (the simulator's
    /// clock moves while a code is typed).
    Typing(&'static [Binding]),
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
            Mode::Typing(_) => &[],
        }
    }
}

/// Everything the console can be asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Help,
    /// Draw the whole screen afresh (Ctrl-L).
    Redraw,
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
    /// Half a screenful (Ctrl-U / Ctrl-D, as in vim and less).
    HalfPageUp,
    HalfPageDown,
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
    /// A word left or right (Alt-B / Alt-F, Ctrl-← / Ctrl-→).
    WordLeft,
    WordRight,
    /// Erase to the start (Ctrl-U) or the end (Ctrl-K) of the field.
    KillToStart,
    KillToEnd,
    /// Erase back to the space before the cursor (Ctrl-W, as in a shell).
    KillBigWordBack,
    /// Erase a word back or forward (Alt-Backspace, Alt-D).
    KillWordBack,
    KillWordForward,
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
    /// A new mobile number, confirmed by an SMS to it (seed 001).
    ChangePhone,
    /// 2FA off with the user's own password (seed 003).
    TurnOff2fa,
    Simulate,
    Doctor,
    ShowActivity,
    CheckSkew,
    Resync,
    ClearDrift,
    TempCode,
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
    /// The sort the other way round.
    ReverseSort,
    Export,
}

impl Action {
    /// It moves a selection through a list (or scrolls).
    pub fn moves(self) -> bool {
        matches!(
            self,
            Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::HalfPageUp
                | Action::HalfPageDown
                | Action::Top
                | Action::Bottom
        )
    }
}

/// A key, what it does, and how it is described.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub code: KeyCode,
    /// Ctrl or Alt held with it (Shift is in the character: `R` is Shift+r).
    pub mods: KeyModifiers,
    pub action: Action,
    /// How help writes the key, when not just its name (`1-6`, `↑/k`).
    pub label: Option<&'static str>,
    pub help: &'static str,
    /// Shown in the status bar (the rest only in `?`).
    pub bar: bool,
}

impl Binding {
    /// `t`, `R`, `Enter`, `F5`, `Space`, `C-d`.
    pub fn key(&self) -> String {
        if let Some(label) = self.label {
            return label.to_owned();
        }
        let name = match self.code {
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
        };
        let mut prefix = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            prefix.push_str("C-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            prefix.push_str("M-");
        }
        prefix + &name
    }

    /// Whether `key` is this binding's key, with the same modifiers.
    fn fits(&self, key: KeyEvent) -> bool {
        self.code == key.code && self.mods == held(key)
    }
}

/// The modifiers that change what a key does: Ctrl, Alt and the rest, but
/// not Shift, which a character carries itself (`R`, `?`, `<`) and which
/// terminals report for some of them and not others.
fn held(key: KeyEvent) -> KeyModifiers {
    key.modifiers - KeyModifiers::SHIFT
}

/// A letter (or other character) key; `R` is Shift+r.
pub const fn ch(c: char, action: Action, help: &'static str, bar: bool) -> Binding {
    named(KeyCode::Char(c), None, action, help, bar)
}

/// A letter with Ctrl held (`C-d`).
pub const fn ctrl(c: char, action: Action, help: &'static str, bar: bool) -> Binding {
    Binding {
        mods: KeyModifiers::CONTROL,
        ..ch(c, action, help, bar)
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
        mods: KeyModifiers::NONE,
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
        Some("PgUp/C-b"),
        Action::PageUp,
        "page up",
        false,
    ),
    ctrl('b', Action::PageUp, "", false),
    named(
        KeyCode::PageDown,
        Some("PgDn/C-f"),
        Action::PageDown,
        "page down",
        false,
    ),
    ctrl('f', Action::PageDown, "", false),
    ctrl('u', Action::HalfPageUp, "half a page up", false),
    ctrl('d', Action::HalfPageDown, "half a page down", false),
    named(
        KeyCode::Home,
        Some("Home/g"),
        Action::Top,
        "first row",
        false,
    ),
    ch('g', Action::Top, "", false),
    named(
        KeyCode::End,
        Some("End/G"),
        Action::Bottom,
        "last row",
        false,
    ),
    ch('G', Action::Bottom, "", false),
    named(KeyCode::Left, Some("←"), Action::Left, "left", false),
    named(KeyCode::Right, Some("→"), Action::Right, "right", false),
    named(KeyCode::Enter, None, Action::Open, "open", false),
    named(KeyCode::Esc, None, Action::Back, "back", false),
    ctrl('l', Action::Redraw, "redraw the screen", false),
    ch('?', Action::Help, "help", true),
    ch('q', Action::Quit, "quit", true),
];

/// The action for a key press, given how keys are read now. A key matches
/// a binding only with the same Ctrl and Alt: `C-d` is not `d`.
pub fn map(mode: Mode, key: KeyEvent) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    if is_ctrl_c(key) {
        return Some(Action::Quit);
    }
    if held(key) == KeyModifiers::CONTROL && key.code == KeyCode::Char('l') {
        return Some(Action::Redraw);
    }
    match mode {
        Mode::Typing(bindings) => typing(key).or_else(|| {
            let function_keys = bindings.iter().filter(|b| matches!(b.code, KeyCode::F(_)));
            function_keys
                .copied()
                .find(|b| b.fits(key))
                .map(|b| b.action)
        }),
        Mode::Popup(bindings) => find(bindings, key).or_else(|| {
            if held(key).is_empty() {
                match key.code {
                    KeyCode::Esc | KeyCode::Char('q') => Some(Action::Cancel),
                    KeyCode::Enter => Some(Action::Submit),
                    KeyCode::Up => Some(Action::Up),
                    KeyCode::Down => Some(Action::Down),
                    _ => None,
                }
            } else {
                None
            }
        }),
        Mode::Browse(bindings) => find(bindings, key).or_else(|| find(GLOBAL, key)),
    }
}

fn is_ctrl_c(key: KeyEvent) -> bool {
    key.modifiers.contains(KeyModifiers::CONTROL) && matches!(key.code, KeyCode::Char('c' | 'C'))
}

/// While the terminal is too small, `q` and Ctrl-C quit and nothing else
/// does anything.
pub fn quits_when_too_small(key: KeyEvent) -> bool {
    key.kind != KeyEventKind::Release
        && ((key.code == KeyCode::Char('q') && held(key).is_empty()) || is_ctrl_c(key))
}

fn find(bindings: &[Binding], key: KeyEvent) -> Option<Action> {
    bindings.iter().find(|b| b.fits(key)).map(|b| b.action)
}

/// Keys while a text field has the focus: everything printable is text,
/// and the line-editing keys of a shell (readline's) edit it.
fn typing(key: KeyEvent) -> Option<Action> {
    let mods = held(key);
    let ctrl = mods == KeyModifiers::CONTROL;
    let alt = mods == KeyModifiers::ALT;
    Some(match key.code {
        // AltGr arrives as Ctrl+Alt on some systems: it types a character.
        KeyCode::Char(c)
            if mods.is_empty() || mods == KeyModifiers::CONTROL | KeyModifiers::ALT =>
        {
            Action::Type(c)
        }
        KeyCode::Char(c) if ctrl => match c.to_ascii_lowercase() {
            'a' => Action::CursorHome,
            'e' => Action::CursorEnd,
            'b' => Action::CursorLeft,
            'f' => Action::CursorRight,
            'h' => Action::Erase,
            'd' => Action::EraseForward,
            'u' => Action::KillToStart,
            'k' => Action::KillToEnd,
            'w' => Action::KillBigWordBack,
            _ => return None,
        },
        KeyCode::Char(c) if alt => match c.to_ascii_lowercase() {
            'b' => Action::WordLeft,
            'f' => Action::WordRight,
            'd' => Action::KillWordForward,
            _ => return None,
        },
        KeyCode::Backspace if ctrl || alt => Action::KillWordBack,
        KeyCode::Delete if ctrl || alt => Action::KillWordForward,
        KeyCode::Left if ctrl || alt => Action::WordLeft,
        KeyCode::Right if ctrl || alt => Action::WordRight,
        _ if !mods.is_empty() => return None,
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
        Fix::TempCode => Action::TempCode,
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
        Act::IssueTempCode => Action::TempCode,
        Act::EditPhone => Action::ChangePhone,
        Act::ResendCode { .. } | Act::AllowCountries { .. } | Act::Outbox => {
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
        Action::RegenerateCodes => 'b',
        Action::Reset2fa => 'X',
        Action::Reenrol => 'N',
        Action::TreatAsCompromised => 'C',
        Action::SetPassword => 'p',
        Action::RevokeAllDevices => 'R',
        Action::ToggleEveryLogin => 'e',
        Action::Simulate => 'l',
        Action::TempCode => 'T',
        Action::ChangePhone => 'M',
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
mod tests;
