//! Each screen is a [`View`] and each popup a [`Popup`]: they read the desk and
//! answer an action with an [`Effect`]; what passes between them is [`News`].

use std::any::Any;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::command::Command;
use super::keys::{Action, Binding, Tab};
use super::theme::{Theme, Tone};
use super::worker::{Done, Job};
use crate::desk::{Desk, DeskError, Result};
use crate::domain::doctor::{Fix, SkewCheck};

/// What a view or popup may read. The desk is for reading only: what
/// changes it is a [`Command`], run by `command.rs`.
pub struct Ctx<'a> {
    pub desk: &'a Desk,
    pub theme: Theme,
    /// Jobs run on the worker thread (the live console), not at once
    /// (tests and `render`).
    pub threaded: bool,
    /// The simulator's phone: whose it is, and how far its clock is off (s).
    pub phone: Option<(&'a str, i64)>,
}

/// A screen that can be opened over the current tab. The app makes it:
/// screens never make one another.
#[derive(Debug)]
pub enum Screen {
    /// One user's screen.
    User(String),
    /// The doctor in full over a user's screen: the last code checked, and
    /// the authenticator factor selected there.
    Doctor {
        email: String,
        check: Option<SkewCheck>,
        factor: Option<i64>,
    },
}

/// What the app is asked to do after an action.
#[derive(Default)]
pub enum Effect {
    #[default]
    None,
    /// A note in the status bar until the next key.
    Say(Tone, String),
    /// A screen over the current one.
    Open(Screen),
    /// Leave this screen (or popup): back to the one under it, or, from a
    /// tab, to where it was reached from.
    Back,
    /// Leave this screen, and tell the one under it.
    Return(News),
    GoTo(Tab),
    Popup(Box<dyn Popup>),
    /// A popup's typed value, for the screen under it (which may refuse it:
    /// the popup then stays, saying why).
    Answer(String),
    /// Change the real desk.
    Run(Command),
    /// Work for the worker thread.
    Job(Job),
    /// Offer news to the screens until one takes it.
    Tell(News),
    /// Read the screen on top again.
    Refresh,
    Quit,
    /// Each in turn.
    Many(Vec<Effect>),
}

impl Effect {
    /// A desk error in the status bar, in the console's words.
    pub fn fail(e: &DeskError) -> Effect {
        Effect::Say(Tone::Error, super::strings::desk_error(e))
    }

    /// `effect`, or the error in the status bar.
    pub fn or_fail(result: Result<Effect>) -> Effect {
        result.unwrap_or_else(|e| Effect::fail(&e))
    }
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::None => f.write_str("None"),
            Effect::Say(tone, text) => write!(f, "Say({tone:?}, {text:?})"),
            Effect::Open(screen) => write!(f, "Open({screen:?})"),
            Effect::Back => f.write_str("Back"),
            Effect::Return(news) => write!(f, "Return({news:?})"),
            Effect::GoTo(tab) => write!(f, "GoTo({tab:?})"),
            Effect::Popup(_) => f.write_str("Popup(..)"),
            Effect::Answer(value) => write!(f, "Answer({value:?})"),
            Effect::Run(command) => write!(f, "Run({command:?})"),
            Effect::Job(job) => write!(f, "Job({job:?})"),
            Effect::Tell(news) => write!(f, "Tell({news:?})"),
            Effect::Refresh => f.write_str("Refresh"),
            Effect::Quit => f.write_str("Quit"),
            Effect::Many(effects) => f.debug_list().entries(effects).finish(),
        }
    }
}

/// What the doctor asks the user screen under it to do, on the factor a
/// finding names (its id, never "the first pending one").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Todo {
    /// Enter on a finding: its fix.
    Fix { fix: Fix, factor: Option<i64> },
    /// A key the doctor shows (`[u]`, "press X"): what it does there.
    Key { action: Action, factor: Option<i64> },
}

/// What happened, for the screen it concerns.
#[derive(Debug)]
pub enum News {
    /// A code the user read out was checked.
    Checked(SkewCheck),
    /// The doctor was left: the last code checked there, and what to do.
    Doctor {
        check: Option<SkewCheck>,
        todo: Option<Todo>,
    },
    /// Open the editor of this policy setting.
    EditSetting(&'static str),
    /// Simulate this user's login, on a fresh sandbox.
    Simulate(String),
    /// The sandbox asked for with `ticket`.
    Sandbox {
        ticket: u64,
        desk: Result<Box<Desk>>,
    },
    /// Work the worker finished.
    Done(Box<Done>),
}

/// A screen: its keys, how it reads the desk, answers actions and draws.
pub trait View: Any {
    /// Its keys (the status bar and `?` show them), while nothing is typed.
    fn keys(&self) -> &'static [Binding];

    /// A text field has the keys: printable keys are text.
    fn typing(&self) -> bool {
        false
    }

    /// Read what it shows from the desk again.
    fn reload(&mut self, cx: &Ctx) -> Result<Effect>;

    /// Whether `action` would act in the screen's state now (the status
    /// bar lists only the keys that do; `?` lists them all).
    fn offers(&self, _action: Action) -> bool {
        true
    }

    /// Answer an action.
    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect;

    /// What was typed into a popup it opened ([`Effect::Answer`]); an error
    /// keeps the popup open and says why there.
    fn answer(&mut self, value: &str, cx: &Ctx) -> std::result::Result<Effect, String> {
        let _ = (value, cx);
        Ok(Effect::None)
    }

    /// Take news that concerns it, or hand it back.
    fn tell(&mut self, news: News, cx: &Ctx) -> std::result::Result<Effect, News> {
        let _ = cx;
        Err(news)
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer);

    /// It shows something that changes with the clock.
    fn ticking(&self) -> bool {
        false
    }

    /// It has a list the arrows, PgUp/PgDn and Home/End move through.
    fn lists(&self) -> bool {
        true
    }

    /// Who it is about, for the tab row (`› alice@example.com`).
    fn crumb(&self) -> Option<&str> {
        None
    }

    /// Work that keys left waits for typing to pause.
    fn unsettled(&self) -> bool {
        false
    }

    /// Do the work keys left for later.
    fn settle(&mut self, cx: &Ctx) -> Result<()> {
        let _ = cx;
        Ok(())
    }

    /// The simulated phone it shows: whose, and its clock's offset (s).
    fn phone(&self) -> Option<(&str, i64)> {
        None
    }
}

/// A popup: it takes the keys before the screen under it.
pub trait Popup {
    /// Its keys while no text field has them.
    fn keys(&self) -> &'static [Binding];

    /// A text field has the keys.
    fn typing(&self) -> bool {
        true
    }

    /// Answer an action: [`Effect::None`] keeps it open, [`Effect::Back`]
    /// closes it, and any other effect closes it once done.
    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect;

    /// What it asked for failed: say why in it and stay open (`true`), or
    /// close and leave it to the status bar (`false`).
    fn failed(&mut self, why: String) -> bool {
        let _ = why;
        false
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer);

    /// It shows a countdown.
    fn ticking(&self) -> bool {
        false
    }

    /// The status bar is drawn again after it (its keys are learnt as it
    /// is drawn).
    fn status_after(&self) -> bool {
        false
    }
}
