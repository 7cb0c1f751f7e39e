//! `App`: the desk, what is shown (a tab, screens over it, a popup), the note
//! and the worker; each action goes to what is on top, and its effect is applied.

use std::cell::Cell;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Widget;

use super::chrome;
use super::command::{self, Command, Outcome};
use super::keys::{self, Action, Mode, Tab};
use super::popups::codes::Codes;
use super::popups::form::Form;
use super::popups::help::Help;
use super::popups::qr::Qr;
use super::screens::audit::AuditScreen;
use super::screens::doctor::DoctorView;
use super::screens::outbox::OutboxScreen;
use super::screens::overview::OverviewScreen;
use super::screens::policy::PolicyScreen;
use super::screens::simulator::SimScreen;
use super::screens::user::UserScreen;
use super::screens::users::UsersScreen;
use super::strings;
use super::theme::{Theme, Tone};
use super::view::{Ctx, Effect, News, Popup, Screen, View};
use super::worker::{Done, Worker};
use crate::desk::overview::Stamp;
use crate::desk::{Desk, DeskError, Result};

/// A one-line message in the status bar until the next key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Note {
    text: String,
    tone: Tone,
}

/// The whole console.
pub struct App {
    desk: Desk,
    theme: Theme,
    worker: Worker,
    /// Each tab's screen, in tab order, kept while another tab shows.
    tabs: Vec<Box<dyn View>>,
    tab: Tab,
    /// Screens opened over the tab (a user, their doctor), the last on top.
    stack: Vec<Box<dyn View>>,
    /// Where the last move to another tab came from: Esc on a tab that
    /// goes back (the simulator) returns there.
    came_from: Option<(Tab, Vec<Box<dyn View>>)>,
    popup: Option<Box<dyn Popup>>,
    note: Option<Note>,
    /// The last frame was too small to show the console (set as it is drawn).
    too_small: Cell<bool>,
    /// Work left by keys waits for typing to pause (the live console).
    debounce: bool,
    /// The terminal is to be drawn afresh (Ctrl-L), by the live loop.
    redraw: bool,
    /// The desk's change marker when what shows was last read: another
    /// console or the CLI changing the data moves it (see [`App::follow`]).
    seen: Option<Stamp>,
    quit: bool,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("tab", &self.tab)
            .field("stack", &self.stack.len())
            .finish_non_exhaustive()
    }
}

/// A tab's screen, as it first shows.
fn tab_view(tab: Tab) -> Box<dyn View> {
    match tab {
        Tab::Overview => Box::<OverviewScreen>::default(),
        Tab::Users => Box::<UsersScreen>::default(),
        Tab::Simulator => Box::<SimScreen>::default(),
        Tab::Outbox => Box::<OutboxScreen>::default(),
        Tab::Audit => Box::<AuditScreen>::default(),
        Tab::Policy => Box::<PolicyScreen>::default(),
    }
}

/// What a view may read: the desk, the theme, how the worker runs, and
/// the simulated phone (from an owned copy, so the simulator's screen can
/// be borrowed to act meanwhile).
fn ctx<'a>(
    desk: &'a Desk,
    theme: Theme,
    worker: &Worker,
    phone: Option<&'a (String, i64)>,
) -> Ctx<'a> {
    Ctx {
        desk,
        theme,
        threaded: worker.threaded(),
        phone: phone.map(|(email, offset)| (email.as_str(), *offset)),
    }
}

impl App {
    pub fn new(desk: Desk, theme: Theme, worker: Worker) -> App {
        let mut app = App {
            desk,
            theme,
            worker,
            tabs: Tab::ALL.into_iter().map(tab_view).collect(),
            tab: Tab::Overview,
            stack: Vec::new(),
            came_from: None,
            popup: None,
            note: None,
            too_small: Cell::new(false),
            debounce: false,
            redraw: false,
            seen: None,
            quit: false,
        };
        app.refresh();
        if !app.worker.threaded() {
            app.poll_worker();
        }
        app
    }

    pub fn desk(&self) -> &Desk {
        &self.desk
    }

    /// The simulator's sandbox desk, once it is ready.
    pub fn sandbox(&self) -> Option<&Desk> {
        let sim: &dyn std::any::Any = self.tabs[Tab::Simulator.index()].as_ref();
        sim.downcast_ref::<SimScreen>()?.sandbox()
    }

    pub fn should_quit(&self) -> bool {
        self.quit
    }

    /// Whether the whole terminal is to be drawn afresh (Ctrl-L); asking
    /// clears it.
    pub fn take_redraw(&mut self) -> bool {
        std::mem::take(&mut self.redraw)
    }

    /// Work is out on the worker thread.
    pub fn busy(&self) -> bool {
        self.worker.busy()
    }

    /// The live console and the tests feed keys through here.
    pub fn handle_key(&mut self, key: KeyEvent) {
        if self.too_small.get() {
            // Nothing of the console shows: a key must not act unseen. Only
            // quitting works until the window is large enough again.
            if keys::quits_when_too_small(key) {
                self.quit = true;
            }
            return;
        }
        if let Some(action) = keys::map(self.mode(), key) {
            self.update(action);
        }
        if !self.debounce {
            self.settle();
        }
        if !self.worker.threaded() {
            self.poll_worker();
        }
    }

    /// Read keys in bursts: work a key leaves for later (reading the list
    /// for a search) waits until typing pauses. The live console does; tests
    /// and `render` act on each key at once.
    pub fn set_debounce(&mut self, on: bool) {
        self.debounce = on;
    }

    /// Whether work waits for typing to pause.
    pub fn unsettled(&self) -> bool {
        self.top().unsettled()
    }

    /// Do the work keys left for later: read the list for the search typed
    /// so far, or the rest of a screenful taller than what was read.
    pub fn settle(&mut self) {
        if self.unsettled()
            && let Err(e) = self.with_top(View::settle)
        {
            self.fail(&e);
        }
    }

    /// How keys are read: by the popup, a text field, or the screen on top.
    pub fn mode(&self) -> Mode {
        if let Some(p) = &self.popup {
            return if p.typing() {
                Mode::Typing(&[])
            } else {
                Mode::Popup(p.keys())
            };
        }
        let top = self.top();
        if top.typing() {
            Mode::Typing(top.keys())
        } else {
            Mode::Browse(top.keys())
        }
    }

    /// One step: apply an action.
    pub fn update(&mut self, action: Action) {
        self.note = None;
        match action {
            // Ctrl-C (a popup reads `q` as close): quit from anywhere.
            Action::Quit => {
                self.apply(Effect::Quit);
                return;
            }
            Action::Redraw => {
                self.redraw = true;
                return;
            }
            _ => {}
        }
        if self.popup.is_some() {
            self.popup_action(action);
            return;
        }
        match action {
            Action::Help => {
                let top = self.top();
                self.popup = Some(Box::new(Help::new(top.keys(), top.lists())));
            }
            Action::GoTo(tab) => self.go_to(tab),
            Action::NextTab => self.go_to(self.tab.step(1)),
            Action::PrevTab => self.go_to(self.tab.step(-1)),
            _ => {
                let effect = self.with_top(|view, cx| view.handle(action, cx));
                self.apply(effect);
            }
        }
    }

    /// Take finished background work and act on it.
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
        self.popup.as_ref().is_some_and(|p| p.ticking()) || self.top().ticking()
    }

    /// Open `email`'s screen (for `render`): an unknown user is an error.
    pub(crate) fn open_user(&mut self, email: &str) -> Result<()> {
        let view = UserScreen::load(&self.desk, email)?;
        self.stack.push(Box::new(view));
        Ok(())
    }

    /// Simulate `email`'s login on a fresh sandbox (for `render`).
    pub(crate) fn simulate(&mut self, email: &str) {
        self.apply(Effect::Tell(News::Simulate(email.to_owned())));
        self.refresh();
    }

    /// The users screen (for tests of the search's reads).
    #[cfg(test)]
    pub(crate) fn users(&self) -> &UsersScreen {
        let users: &dyn std::any::Any = self.tabs[Tab::Users.index()].as_ref();
        users.downcast_ref().expect("the users tab")
    }

    // ------------------------------------------------------------ what shows

    fn top(&self) -> &dyn View {
        match self.stack.last() {
            Some(view) => view.as_ref(),
            None => self.tabs[self.tab.index()].as_ref(),
        }
    }

    /// The simulated phone, which the doctor's resync reads.
    fn phone(&self) -> Option<(String, i64)> {
        self.tabs[Tab::Simulator.index()]
            .phone()
            .map(|(email, offset)| (email.to_owned(), offset))
    }

    /// Call `f` with the screen on top and what it may read.
    fn with_top<R>(&mut self, f: impl FnOnce(&mut dyn View, &Ctx) -> R) -> R {
        let phone = self.phone();
        let cx = ctx(&self.desk, self.theme, &self.worker, phone.as_ref());
        let view = match self.stack.last_mut() {
            Some(view) => view,
            None => &mut self.tabs[self.tab.index()],
        };
        f(view.as_mut(), &cx)
    }

    /// Offer news to the screens, from the top of the stack down, then to
    /// the tabs, until one takes it; unclaimed, it comes back.
    fn tell(&mut self, news: News) -> std::result::Result<Effect, News> {
        let phone = self.phone();
        let cx = ctx(&self.desk, self.theme, &self.worker, phone.as_ref());
        let mut news = news;
        for view in self.stack.iter_mut().rev().chain(self.tabs.iter_mut()) {
            match view.tell(news, &cx) {
                Ok(effect) => return Ok(effect),
                Err(back) => news = back,
            }
        }
        Err(news)
    }

    /// Show changes made elsewhere (another console, the CLI): when the
    /// desk's change marker (one row: the audit count, and the minute) has
    /// moved since what shows was read, read it again. Not while a popup
    /// or a text field has the keys: what they act on stays as it was
    /// until they close. Returns whether it read anything.
    pub fn follow(&mut self) -> bool {
        if self.popup.is_some() || self.top().typing() {
            return false;
        }
        match self.desk.stamp() {
            Ok(stamp) if self.seen != Some(stamp) => {
                self.refresh();
                true
            }
            _ => false,
        }
    }

    /// Reload what is on screen from the desk.
    fn refresh(&mut self) {
        self.seen = self.desk.stamp().ok();
        match self.with_top(View::reload) {
            Ok(effect) => self.apply(effect),
            Err(e) => self.fail(&e),
        }
    }

    fn go_to(&mut self, tab: Tab) {
        if tab != self.tab || !self.stack.is_empty() {
            self.came_from = Some((self.tab, std::mem::take(&mut self.stack)));
        }
        self.tab = tab;
        self.refresh();
    }

    /// Leave the screen on top: to the one under it, or from a tab to
    /// where it was reached from (else the Overview).
    fn back(&mut self) {
        if self.stack.pop().is_some() {
            return;
        }
        match self.came_from.take() {
            Some((tab, stack)) if tab != self.tab || !stack.is_empty() => {
                self.tab = tab;
                self.stack = stack;
                self.refresh();
            }
            _ => self.go_to(Tab::Overview),
        }
    }

    fn open(&mut self, screen: Screen) {
        let view: Result<Box<dyn View>> = match screen {
            Screen::User(email) => {
                UserScreen::load(&self.desk, &email).map(|v| Box::new(v) as Box<dyn View>)
            }
            Screen::Doctor {
                email,
                check,
                factor,
            } => DoctorView::load(&self.desk, &email, check, factor)
                .map(|v| Box::new(v) as Box<dyn View>),
        };
        match view {
            Ok(view) => self.stack.push(view),
            Err(e) => self.fail(&e),
        }
    }

    fn say(&mut self, tone: Tone, text: String) {
        self.note = Some(Note { text, tone });
    }

    /// Show a desk error, in the console's words.
    fn fail(&mut self, e: &DeskError) {
        self.say(Tone::Error, strings::desk_error(e));
    }

    fn apply(&mut self, effect: Effect) {
        match effect {
            Effect::None | Effect::Answer(_) => {}
            Effect::Say(tone, text) => self.say(tone, text),
            Effect::Open(screen) => self.open(screen),
            Effect::Back => self.back(),
            Effect::Return(news) => {
                self.stack.pop();
                self.refresh();
                self.apply(Effect::Tell(news));
            }
            Effect::GoTo(tab) => self.go_to(tab),
            Effect::Popup(popup) => self.popup = Some(popup),
            Effect::Run(command) => {
                let effect = match command::run(&mut self.desk, command) {
                    Ok(outcome) => self.outcome(outcome),
                    Err(e) => Effect::fail(&e),
                };
                self.apply(effect);
            }
            Effect::Job(job) => self.worker.submit(&self.desk, job),
            Effect::Tell(news) => {
                if let Ok(effect) = self.tell(news) {
                    self.apply(effect);
                }
            }
            Effect::Refresh => self.refresh(),
            Effect::Quit => self.quit = true,
            Effect::Many(effects) => {
                for effect in effects {
                    self.apply(effect);
                }
            }
        }
    }

    /// What a command's outcome shows.
    fn outcome(&self, outcome: Outcome) -> Effect {
        match outcome {
            Outcome::Said(tone, text) => Effect::Say(tone, text),
            Outcome::Failed(e) => Effect::fail(&e),
            Outcome::Codes { email, codes } => Effect::Popup(Box::new(Codes::new(email, codes))),
            Outcome::TempCode(issued) => {
                Effect::Popup(Box::new(crate::tui::popups::temp_code::Shown::new(issued)))
            }
            Outcome::Enrolling { email, enrolment } => {
                Effect::Popup(Box::new(Qr::new(&email, enrolment)))
            }
            // On to the form that takes the code just sent.
            Outcome::Confirm {
                email,
                factor_id,
                kind,
                label,
            } => Effect::Popup(Box::new(Form::confirm_factor(
                &self.desk, &email, factor_id, kind, &label,
            ))),
            Outcome::Checked(check) => Effect::Tell(News::Checked(check)),
            Outcome::Sandbox { ticket, desk } => Effect::Tell(News::Sandbox { ticket, desk }),
            Outcome::Many(outcomes) => {
                Effect::Many(outcomes.into_iter().map(|o| self.outcome(o)).collect())
            }
        }
    }

    /// The popup takes the action. It stays until it closes: by itself
    /// (cancelled), or once what it asked for is done. What it asked for
    /// may fail: the popup then says why, or closes and the status bar does.
    fn popup_action(&mut self, action: Action) {
        let Some(mut popup) = self.popup.take() else {
            return;
        };
        let phone = self.phone();
        let cx = ctx(&self.desk, self.theme, &self.worker, phone.as_ref());
        let failed = match popup.handle(action, &cx) {
            Effect::None => {
                self.popup = Some(popup);
                return;
            }
            Effect::Back => None,
            Effect::Run(command) => match command::run(&mut self.desk, command) {
                Ok(outcome) => {
                    let effect = self.outcome(outcome);
                    self.apply(effect);
                    None
                }
                Err(e) => Some(strings::desk_error(&e)),
            },
            Effect::Answer(value) => match self.with_top(|view, cx| view.answer(&value, cx)) {
                Ok(effect) => {
                    self.apply(effect);
                    None
                }
                Err(why) => Some(why),
            },
            other => {
                self.apply(other);
                None
            }
        };
        if let Some(why) = failed {
            if popup.failed(why.clone()) {
                self.popup = Some(popup);
                return;
            }
            self.say(Tone::Error, why);
        }
        // A popup that closed may have changed data even when cancelled (an
        // enrolment started, codes made): show the screen under it as it is.
        self.refresh();
    }

    fn worker_done(&mut self, done: Done) {
        // A page read for a report is drawn as it is; anything else may
        // have changed what shows.
        let read = matches!(done, Done::Read { .. });
        match self.tell(News::Done(Box::new(done))) {
            Ok(effect) => self.apply(effect),
            Err(News::Done(done)) => {
                // A password hashed for a screen that may have gone since.
                if let Done::Hashed { email, result } = *done {
                    let effect = match result {
                        Ok(hash) => Effect::Run(Command::SetPassword { email, hash }),
                        Err(e) => Effect::Say(Tone::Error, e),
                    };
                    self.apply(effect);
                }
            }
            Err(_) => {}
        }
        if !read {
            self.refresh();
        }
    }

    /// The note, or the keys that act now: a screen's bar leaves out the
    /// keys that would do nothing in its state (see [`View::offers`]).
    fn status_bar(&self, area: Rect, buf: &mut Buffer) {
        let note = self.note.as_ref().map(|n| (n.tone, n.text.as_str()));
        let mode = self.mode();
        let popup = self.popup.is_some();
        let top = self.top();
        let acting: Vec<keys::Binding> = mode
            .bindings()
            .iter()
            .filter(|b| popup || top.offers(b.action))
            .copied()
            .collect();
        chrome::status_bar(self.theme, note, mode, &acting, popup, area, buf);
    }
}

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let small = area.width < chrome::MIN_WIDTH || area.height < chrome::MIN_HEIGHT;
        self.too_small.set(small);
        if small {
            chrome::too_small(self.theme, area, buf);
            return;
        }
        let [tabs, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        let crumb = self.stack.last().and_then(|view| view.crumb());
        chrome::tab_row(self.theme, self.tab, crumb, &self.desk, tabs, buf);
        let phone = self.phone();
        let cx = ctx(&self.desk, self.theme, &self.worker, phone.as_ref());
        self.top().render(&cx, body, buf);
        self.status_bar(status, buf);
        if let Some(p) = &self.popup {
            p.render(&cx, area, buf);
            if p.status_after() {
                // The help learns whether it scrolls as it is drawn, and
                // stays off the status bar: say so there in the same frame.
                self.status_bar(status, buf);
            }
        }
        chrome::neutralise(area, buf);
    }
}
