//! The console: app state, the update step, and the live loop. Screens are an
//! enum with one file each; popups take keys before the screen under them.

pub mod input;
pub mod keys;
pub mod popup;
pub mod render;
pub mod screens;
pub mod strings;
pub mod theme;
pub mod widgets;
pub mod worker;

use std::time::Duration;

use ratatui::DefaultTerminal;
use ratatui::crossterm::event::{self, Event, KeyEvent};

use crate::desk::{Desk, DeskError};
use keys::{Action, Binding};
use popup::Popup;
use screens::{
    audit::AuditScreen,
    outbox::OutboxScreen,
    overview::OverviewScreen,
    policy::PolicyScreen,
    simulator::{Back, Sandbox, SimScreen},
    user::UserScreen,
    users::UsersScreen,
};
use theme::Theme;
use worker::Worker;

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

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }

    fn step(self, by: isize) -> Tab {
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

/// A one-line message in the status bar until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub tone: Tone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Ok,
    Error,
}

/// The whole console state.
pub struct App {
    pub(crate) desk: Desk,
    pub(crate) tab: Tab,
    pub(crate) user: Option<UserScreen>,
    pub(crate) overview: OverviewScreen,
    pub(crate) users: UsersScreen,
    pub(crate) sim: SimScreen,
    /// The simulator's own copy of the database and its clock.
    pub(crate) sandbox: Sandbox,
    /// Where Esc on the simulator leads.
    pub(crate) sim_back: Option<Back>,
    pub(crate) outbox: OutboxScreen,
    pub(crate) audit: AuditScreen,
    pub(crate) policy: PolicyScreen,
    pub(crate) popup: Option<Popup>,
    pub(crate) note: Option<Note>,
    pub(crate) theme: Theme,
    pub(crate) worker: Worker,
    quit: bool,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("tab", &self.tab)
            .finish_non_exhaustive()
    }
}

impl App {
    pub fn new(desk: Desk, theme: Theme, worker: Worker) -> App {
        let mut app = App {
            desk,
            tab: Tab::Overview,
            user: None,
            overview: OverviewScreen::default(),
            users: UsersScreen::default(),
            sim: SimScreen::default(),
            sandbox: Sandbox::default(),
            sim_back: None,
            outbox: OutboxScreen::default(),
            audit: AuditScreen::default(),
            policy: PolicyScreen::default(),
            popup: None,
            note: None,
            theme,
            worker,
            quit: false,
        };
        app.refresh();
        app
    }

    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// The live console and the tests feed keys through here.
    pub fn handle_key(&mut self, key: KeyEvent) {
        if let Some(action) = keys::map(self, key) {
            self.update(action);
        }
    }

    pub fn mode(&self) -> Mode {
        if let Some(p) = &self.popup {
            return if p.typing() {
                Mode::Typing
            } else {
                Mode::Popup(p.bindings())
            };
        }
        if let Some(u) = &self.user {
            return Mode::Browse(if u.full_doctor {
                screens::doctor::KEYS
            } else {
                screens::user::KEYS
            });
        }
        match self.tab {
            Tab::Overview if self.overview.readiness.is_some() => {
                Mode::Browse(screens::overview::READINESS_KEYS)
            }
            Tab::Overview => Mode::Browse(screens::overview::KEYS),
            Tab::Users if self.users.typing() => Mode::Typing,
            Tab::Users => Mode::Browse(screens::users::KEYS),
            Tab::Simulator if self.sim.typing() => Mode::Typing,
            Tab::Simulator => Mode::Browse(screens::simulator::KEYS),
            Tab::Outbox => Mode::Browse(screens::outbox::KEYS),
            Tab::Audit => Mode::Browse(screens::audit::KEYS),
            Tab::Policy => Mode::Browse(screens::policy::KEYS),
        }
    }

    /// The bindings of what is on screen, for the status bar and `?`.
    pub fn bindings(&self) -> &'static [Binding] {
        match self.mode() {
            Mode::Popup(b) | Mode::Browse(b) => b,
            Mode::Typing => &[],
        }
    }

    /// One step: apply an action.
    pub fn update(&mut self, action: Action) {
        self.note = None;
        if self.popup.is_some() {
            self.popup_action(action);
            return;
        }
        match action {
            Action::Quit => {
                self.quit = true;
                return;
            }
            Action::Help => {
                self.popup = Some(Popup::Help);
                return;
            }
            Action::GoTo(tab) => return self.go_to(tab),
            Action::NextTab => return self.go_to(self.tab.step(1)),
            Action::PrevTab => return self.go_to(self.tab.step(-1)),
            _ => {}
        }
        if self.user.is_some() {
            self.user_action(action);
            return;
        }
        match self.tab {
            Tab::Overview => self.overview_action(action),
            Tab::Users => self.users_action(action),
            Tab::Simulator => self.sim_action(action),
            Tab::Outbox => self.outbox_action(action),
            Tab::Audit => self.audit_action(action),
            Tab::Policy => self.policy_action(action),
        }
    }

    pub(crate) fn go_to(&mut self, tab: Tab) {
        if tab == Tab::Simulator && (self.tab != Tab::Simulator || self.user.is_some()) {
            self.entering_simulator();
        }
        self.user = None;
        self.tab = tab;
        self.refresh();
    }

    /// Open one user's screen over the current tab.
    pub(crate) fn open_user(&mut self, email: &str) {
        match UserScreen::load(&self.desk, email) {
            Ok(screen) => self.user = Some(screen),
            Err(e) => self.fail(&e),
        }
    }

    /// Reload what is on screen from the desk.
    pub(crate) fn refresh(&mut self) {
        let result = if let Some(u) = &mut self.user {
            u.reload(&self.desk)
        } else {
            match self.tab {
                Tab::Overview => self.overview.reload(&self.desk),
                Tab::Users => self.users.reload(&self.desk),
                Tab::Simulator => self.sim.reload(self.sandbox.desk()),
                Tab::Outbox => self.outbox.reload(&self.desk),
                Tab::Audit => self.audit.reload(&self.desk),
                Tab::Policy => self.policy.reload(&self.desk),
            }
        };
        if let Err(e) = result {
            self.fail(&e);
        }
    }

    pub(crate) fn say(&mut self, tone: Tone, text: impl Into<String>) {
        self.note = Some(Note {
            text: text.into(),
            tone,
        });
    }

    pub(crate) fn fail(&mut self, e: &DeskError) {
        self.say(Tone::Error, e.to_string());
    }

    /// Take finished background work (password hashes) and act on it.
    pub fn poll_worker(&mut self) -> bool {
        let mut any = false;
        while let Some(done) = self.worker.try_recv() {
            any = true;
            self.worker_done(done);
        }
        any
    }

    /// Whether the screen shows something that changes with the clock.
    pub fn ticking(&self) -> bool {
        self.popup.as_ref().is_some_and(Popup::ticking)
            || (self.user.is_none() && self.tab == Tab::Simulator)
            || self.user.as_ref().is_some_and(|u| u.detail.lock.locked)
    }
}

/// `factordesk` with no command: the console on `--db`.
pub fn run(desk: Desk) -> Result<(), DeskError> {
    let mut terminal = ratatui::try_init()
        .map_err(|e| DeskError::Refused(format!("cannot start the console: {e}")))?;
    let app = App::new(desk, Theme::from_env(), Worker::spawn());
    let result = live(&mut terminal, app);
    ratatui::restore();
    result.map_err(|e| DeskError::Refused(format!("the console stopped: {e}")))
}

fn live(terminal: &mut DefaultTerminal, mut app: App) -> std::io::Result<()> {
    let system_clock = !app.desk.clock().is_fixed();
    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|frame| frame.render_widget(&app, frame.area()))?;
            dirty = false;
        }
        if app.should_quit() {
            return Ok(());
        }
        let wait = if app.worker.busy() {
            Duration::from_millis(50)
        } else {
            Duration::from_secs(1)
        };
        if event::poll(wait)? {
            match event::read()? {
                Event::Key(key) => {
                    app.handle_key(key);
                    dirty = true;
                }
                Event::Resize(..) => dirty = true,
                _ => {}
            }
        } else if system_clock && app.ticking() {
            // A countdown is on screen: redraw once a second.
            dirty = true;
        }
        dirty |= app.poll_worker();
    }
}
