//! The console: app state, the update step, and the live loop. Screens are an
//! enum with one file each; popups take keys before the screen under them.

pub mod input;
pub mod keys;
pub mod popup;
pub mod render;
pub mod screens;
pub mod strings;
pub mod terminal;
pub mod theme;
pub mod widgets;
pub mod worker;

use std::cell::Cell;
use std::time::Duration;

use ratatui::crossterm::event::{Event, KeyEvent};

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
    /// Numbers the reads asked of the worker: only the last asked is kept.
    pub(crate) tickets: u64,
    /// The last frame was too small to show the console (set as it is drawn).
    pub(crate) too_small: Cell<bool>,
    /// Work left by keys waits for typing to pause (the live console).
    debounce: bool,
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
            tickets: 0,
            too_small: Cell::new(false),
            debounce: false,
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

    pub fn should_quit(&self) -> bool {
        self.quit
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
        if let Some(action) = keys::map(self, key) {
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
        (self.users.stale || self.users.pages.short())
            && self.user.is_none()
            && self.tab == Tab::Users
    }

    /// Do the work keys left for later: read the list for the search typed
    /// so far, or the rest of a screenful taller than what was read.
    pub fn settle(&mut self) {
        if self.unsettled()
            && let Err(e) = self.users.catch_up(&self.desk)
        {
            self.fail(&e);
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
                Mode::Browse(screens::readiness::KEYS)
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
                self.popup = Some(Popup::help());
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
        if tab == Tab::Audit && !self.audit.checked_once() {
            self.check_trail();
        }
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
                Tab::Overview if self.overview.readiness.is_some() => {
                    self.reload_readiness();
                    Ok(())
                }
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

    /// Show a desk error, its CLI hints put in console terms.
    pub(crate) fn fail(&mut self, e: &DeskError) {
        self.say(Tone::Error, strings::for_console(&e.to_string()));
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

/// `factordesk` with no command: the console on `--db`. Returns the exit
/// code: 0, or 128 + the signal that ended it (SIGTERM, SIGHUP from a closed
/// terminal window, SIGINT, SIGQUIT), always with the terminal restored.
pub fn run(desk: Desk) -> Result<i32, DeskError> {
    let stop = signals::Stop::install()
        .map_err(|e| DeskError::Refused(format!("cannot start the console: {e}")))?;
    // crossterm drops every colour under NO_COLOR, the QR code's black on
    // white too, and a code in the terminal's own colours does not scan on
    // a dark theme. The theme keeps to NO_COLOR itself (only the QR code is
    // coloured), so crossterm is told to send the colours it is given.
    ratatui::crossterm::style::force_color_output(true);
    let mut terminal = ratatui::try_init()
        .map_err(|e| DeskError::Refused(format!("cannot start the console: {e}")))?;
    let reader = desk.reader()?;
    let mut app = App::new(desk, Theme::from_env(), Worker::spawn(reader));
    let result = live(&mut terminal, &mut app, &stop, terminal::next_event);
    let signal = stop.received();
    let hung_up = result.as_ref().is_err_and(terminal::is_gone) || terminal::is_hung_up();
    // A terminal that is gone has nothing to restore, and writing to it
    // only fails: ratatui's drop would say so with `eprintln!`, which panics
    // on a terminal that is gone, and the panic would abort the process.
    if hung_up {
        std::mem::forget(terminal);
    } else {
        let _ = ratatui::try_restore();
        drop(terminal);
    }
    drop(app);
    drop(stop);
    match (result, signal) {
        // The terminal may be gone with the signal (a closed window): the
        // signal, not the failed write, is why the console stopped.
        (_, Some(signal)) => Ok(128 + signal),
        // Gone without a signal (the pane was killed): as if hung up.
        _ if hung_up => Ok(128 + HANGUP),
        (Ok(()), None) => Ok(0),
        (Err(e), None) => Err(DeskError::Refused(format!("the console stopped: {e}"))),
    }
}

/// The number of SIGHUP, the exit code's part when the terminal is gone.
const HANGUP: i32 = 1;

/// The longest the loop waits for a key before it looks for a signal again.
const POLL: Duration = Duration::from_millis(200);
/// How long typing must pause before the work it left is done.
const SETTLE: Duration = Duration::from_millis(60);

/// The console's loop: draw when something changed, read a key, repeat,
/// until `q` or a signal. `next_event(wait)` is the terminal's input.
fn live<B: ratatui::backend::Backend>(
    terminal: &mut ratatui::Terminal<B>,
    app: &mut App,
    stop: &signals::Stop,
    mut next_event: impl FnMut(Duration) -> std::io::Result<Option<Event>>,
) -> std::io::Result<()> {
    let system_clock = !app.desk.clock().is_fixed();
    let mut dirty = true;
    let mut drawn = std::time::Instant::now();
    let mut typed = std::time::Instant::now();
    app.set_debounce(true);
    loop {
        if stop.received().is_some() {
            return Ok(());
        }
        if dirty {
            terminal
                .draw(|frame| frame.render_widget(&*app, frame.area()))
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            dirty = false;
            drawn = std::time::Instant::now();
        }
        if app.should_quit() {
            return Ok(());
        }
        let wait = if app.unsettled() {
            SETTLE.saturating_sub(typed.elapsed())
        } else if app.worker.busy() {
            Duration::from_millis(50)
        } else {
            POLL
        };
        match next_event(wait)? {
            Some(Event::Key(key)) => {
                app.handle_key(key);
                typed = std::time::Instant::now();
                dirty = true;
            }
            Some(Event::Resize(..)) => dirty = true,
            _ => {}
        }
        if app.unsettled() && typed.elapsed() >= SETTLE {
            app.settle();
            dirty = true;
        }
        // A countdown is on screen: redraw once a second.
        if system_clock && app.ticking() && drawn.elapsed() >= Duration::from_secs(1) {
            dirty = true;
        }
        dirty |= app.poll_worker();
    }
}

/// The signals that end the console: noted by a handler, acted on by the loop.
mod signals {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[cfg(unix)]
    const SIGNALS: [i32; 4] = [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGQUIT,
    ];

    /// The last signal received (0: none), until dropped, when the
    /// default handling comes back.
    #[derive(Debug, Default)]
    pub struct Stop {
        signal: Arc<AtomicUsize>,
        #[cfg(unix)]
        ids: Vec<signal_hook::SigId>,
    }

    impl Stop {
        #[cfg(unix)]
        pub fn install() -> std::io::Result<Stop> {
            let mut stop = Stop::default();
            for sig in SIGNALS {
                let value = usize::try_from(sig).unwrap_or(0);
                let id = signal_hook::flag::register_usize(sig, Arc::clone(&stop.signal), value)?;
                stop.ids.push(id);
            }
            Ok(stop)
        }

        #[cfg(not(unix))]
        pub fn install() -> std::io::Result<Stop> {
            Ok(Stop::default())
        }

        pub fn received(&self) -> Option<i32> {
            match self.signal.load(Ordering::SeqCst) {
                0 => None,
                n => i32::try_from(n).ok(),
            }
        }

        /// As if `signal` had arrived (for tests).
        #[cfg(test)]
        pub fn raise(&self, signal: i32) {
            self.signal
                .store(usize::try_from(signal).unwrap_or(0), Ordering::SeqCst);
        }
    }

    impl Drop for Stop {
        fn drop(&mut self) {
            #[cfg(unix)]
            for id in self.ids.drain(..) {
                signal_hook::low_level::unregister(id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::crypto::Key;
    use crate::rng::Rng;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn app() -> App {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc();
        let desk =
            Desk::in_memory(Key::from_bytes([7; 32]), Clock::fixed(now), Rng::seeded(1)).unwrap();
        App::new(desk, Theme { color: false }, Worker::inline(0))
    }

    #[test]
    fn a_signal_ends_the_loop() {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let stop = signals::Stop::default();
        let mut waits = 0;
        let result = live(&mut terminal, &mut app(), &stop, |wait| {
            // The loop never blocks longer than it takes to notice a signal.
            assert!(wait <= POLL);
            waits += 1;
            if waits == 3 {
                stop.raise(15);
            }
            Ok(None)
        });
        assert!(result.is_ok());
        assert_eq!(waits, 3);
        assert_eq!(stop.received(), Some(15));
    }

    #[test]
    fn a_burst_of_typing_reads_the_list_once() {
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let mut app = app();
        for i in 0..80 {
            app.desk
                .add_user(&crate::desk::users::NewUser {
                    email: format!("user{i:02}@example.com"),
                    name: format!("User {i}"),
                    ..Default::default()
                })
                .unwrap();
        }
        app.go_to(Tab::Users);
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let stop = signals::Stop::default();
        let key = |c| Some(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
        let ch = |c| key(KeyCode::Char(c));
        // `/`, then "user1" as fast as keys come, a pause, Enter, quit.
        let mut script = vec![
            ch('/'),
            ch('u'),
            ch('s'),
            ch('e'),
            ch('r'),
            ch('1'),
            None,
            key(KeyCode::Enter),
            ch('q'),
        ]
        .into_iter();
        let before = app.users.pages.reads;
        let mut waits = Vec::new();
        live(&mut terminal, &mut app, &stop, |wait| {
            waits.push(wait);
            let next = script
                .next()
                .ok_or_else(|| std::io::Error::other("the script ran out"))?;
            if next.is_none() {
                // No key: the terminal's poll waits this long.
                std::thread::sleep(wait);
            }
            Ok(next)
        })
        .unwrap();
        assert_eq!(
            app.users.pages.reads - before,
            1,
            "one read for the whole burst"
        );
        assert_eq!(app.users.search.text(), "user1");
        assert_eq!(app.users.pages.rows.len(), 10, "user10…user19");
        // The loop waited for the pause, no longer than it must.
        assert!(waits[2..6].iter().all(|w| *w <= SETTLE), "{waits:?}");
    }

    #[test]
    fn q_ends_the_loop_without_a_signal() {
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let stop = signals::Stop::default();
        let result = live(&mut terminal, &mut app(), &stop, |_| {
            Ok(Some(Event::Key(KeyEvent::new(
                KeyCode::Char('q'),
                KeyModifiers::NONE,
            ))))
        });
        assert!(result.is_ok());
        assert_eq!(stop.received(), None);
    }
}
