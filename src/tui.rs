//! The console: the live loop (draw, read a key, apply it) on a real
//! terminal, until `q` or a signal. What it shows and how keys act is `app`.

pub mod app;
pub mod chrome;
pub mod command;
pub mod input;
pub mod keys;
pub mod pages;
pub mod popups;
pub mod render;
pub mod screens;
pub mod strings;
pub mod terminal;
pub mod theme;
pub mod view;
pub mod widgets;
pub mod worker;

use std::time::Duration;

use ratatui::crossterm::event::Event;

pub use app::App;
pub use keys::Tab;
pub use theme::Tone;

use crate::desk::{Desk, DeskError};
use theme::Theme;
use worker::Worker;

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
/// How often the loop looks for changes made elsewhere (one row read): the
/// screen shows them within this and a [`POLL`].
const FOLLOW: Duration = Duration::from_secs(1);

/// The console's loop: draw when something changed, read a key, repeat,
/// until `q` or a signal. `next_event(wait)` is the terminal's input.
fn live<B: ratatui::backend::Backend>(
    terminal: &mut ratatui::Terminal<B>,
    app: &mut App,
    stop: &signals::Stop,
    mut next_event: impl FnMut(Duration) -> std::io::Result<Option<Event>>,
) -> std::io::Result<()> {
    let system_clock = !app.desk().clock().is_fixed();
    let mut dirty = true;
    let mut drawn = std::time::Instant::now();
    let mut typed = std::time::Instant::now();
    let mut followed = std::time::Instant::now();
    app.set_debounce(true);
    loop {
        if stop.received().is_some() {
            return Ok(());
        }
        if app.take_redraw() {
            terminal
                .clear()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            dirty = true;
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
        } else if app.busy() {
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
        // Changes made elsewhere (another console, the CLI), once a second.
        if followed.elapsed() >= FOLLOW {
            followed = std::time::Instant::now();
            dirty |= app.follow();
        }
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
    use crate::rng::Rng;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn desk() -> Desk {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc();
        Desk::for_tests(Clock::fixed(now), Rng::seeded(1))
    }

    fn app() -> App {
        App::new(desk(), Theme { color: false }, Worker::inline(0))
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
        let mut desk = desk();
        for i in 0..80 {
            desk.add_user(&crate::desk::users::NewUser {
                email: format!("user{i:02}@example.com"),
                name: format!("User {i}"),
                ..Default::default()
            })
            .unwrap();
        }
        let mut app = App::new(desk, Theme { color: false }, Worker::inline(0));
        app.update(keys::Action::GoTo(Tab::Users));
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
        let before = app.users().pages.reads;
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
            app.users().pages.reads - before,
            1,
            "one read for the whole burst"
        );
        assert_eq!(app.users().search.text(), "user1");
        assert_eq!(app.users().pages.rows.len(), 10, "user10…user19");
        // The loop waited for the pause, no longer than it must.
        assert!(waits[2..6].iter().all(|w| *w <= SETTLE), "{waits:?}");
    }

    /// Another process (here a second desk on the file, or on the same
    /// `PostgreSQL` database, as the CLI would be) adds a user: the open
    /// Users screen shows them within 2 s, with no key pressed, and nothing
    /// is read again while nothing changes.
    #[test]
    fn the_open_screen_follows_changes_made_elsewhere() {
        use crate::desk::users::NewUser;
        use crate::location::Location;
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let dir = tempfile::tempdir().unwrap();
        let db = match crate::store::testing::desk_database("screen") {
            Some(url) => Location::Postgres(Box::new(url)),
            None => Location::File(dir.path().join("d.db")),
        };
        let key = crate::keyfile::Source::File(dir.path().join("d.db.key"));
        let at = desk().now();
        let mut mine =
            Desk::create_at(&db, &key, Clock::fixed(at), Rng::seeded(1), "init").unwrap();
        let user = |email: &str| NewUser {
            email: email.to_owned(),
            name: "Someone".to_owned(),
            ..Default::default()
        };
        mine.add_user(&user("ana@example.com")).unwrap();
        let mut cli = Desk::open_at(&db, &key, Clock::fixed(at), Rng::seeded(2)).unwrap();
        let mut app = App::new(mine, Theme { color: false }, Worker::inline(0));
        app.update(keys::Action::GoTo(Tab::Users));
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        let stop = signals::Stop::default();
        let reads = app.users().pages.reads;
        // Idle 1.2 s (a look for changes finds none), then the CLI adds
        // zed, then 2 s more without a key, then `q`.
        let start = std::time::Instant::now();
        let mut changed: Option<std::time::Instant> = None;
        live(&mut terminal, &mut app, &stop, |wait| {
            std::thread::sleep(wait);
            match changed {
                None if start.elapsed() >= Duration::from_millis(1200) => {
                    cli.add_user(&user("zed@example.com")).unwrap();
                    changed = Some(std::time::Instant::now());
                    Ok(None)
                }
                Some(at) if at.elapsed() >= Duration::from_secs(2) => Ok(Some(Event::Key(
                    KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE),
                ))),
                _ => Ok(None),
            }
        })
        .unwrap();
        let shown: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(ratatui::buffer::Cell::symbol)
            .collect();
        assert!(shown.contains("zed@example.com"), "{shown}");
        assert_eq!(
            app.users().pages.reads - reads,
            1,
            "read once, for the change, not once a tick"
        );
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
