//! The simulator's sandbox: an in-memory copy of the database that only the
//! simulator writes to, on its own clock, so nothing it does reaches the real
//! data; and where Esc on the simulator leads back to.

use crate::desk::{Desk, DeskError, Result};
use crate::store::Store;
use crate::tui::screens::user::UserScreen;
use crate::tui::worker::Job;
use crate::tui::{App, Tab};

/// The simulator's own copy of the database, which it alone writes to, on
/// its own clock (the real now plus however far it was moved).
#[derive(Debug, Default)]
pub enum Sandbox {
    /// No user picked yet.
    #[default]
    None,
    /// The copy is being made on the worker thread.
    Preparing {
        ticket: u64,
    },
    Ready(Box<Desk>),
}

impl Sandbox {
    pub fn desk(&self) -> Option<&Desk> {
        match self {
            Sandbox::Ready(desk) => Some(desk),
            _ => None,
        }
    }

    pub(super) fn desk_mut(&mut self) -> Option<&mut Desk> {
        match self {
            Sandbox::Ready(desk) => Some(desk),
            _ => None,
        }
    }

    pub fn preparing(&self) -> bool {
        matches!(self, Sandbox::Preparing { .. })
    }
}

/// Where Esc on the simulator goes.
#[derive(Debug)]
pub enum Back {
    /// The user screen it was opened from, over the tab it was on.
    User {
        screen: Box<UserScreen>,
        tab: Tab,
    },
    Tab(Tab),
}

impl App {
    /// The simulator's sandbox desk, once it is ready.
    pub fn sandbox(&self) -> Option<&Desk> {
        self.sandbox.desk()
    }

    /// Simulate `email`'s login, on a fresh sandbox.
    pub(crate) fn simulate(&mut self, email: &str) {
        self.sim.choose_user(email);
        self.fresh_sandbox();
    }

    /// Throw the sandbox away and copy the simulated user's data again, the
    /// clock at the real now. From a database file the copy is made on the
    /// worker thread (a few ms, however many users there are); from an
    /// in-memory one, or with the inline worker (tests, `render`), here and now.
    pub(super) fn fresh_sandbox(&mut self) {
        self.sim.tickets += 1;
        let ticket = self.sim.tickets;
        self.sandbox = Sandbox::None;
        let Some(email) = self.sim.email.clone() else {
            return;
        };
        match self.desk.path() {
            Some(path) if self.worker.threaded() => {
                self.sandbox = Sandbox::Preparing { ticket };
                self.worker.submit(
                    &self.desk,
                    Job::CopyDatabase {
                        path,
                        email,
                        ticket,
                    },
                );
            }
            _ => match self.desk.sandbox(&email) {
                Ok(desk) => self.install_sandbox(desk),
                Err(e) => self.fail(&e),
            },
        }
    }

    /// A copy made on the worker thread: used if it is the one still wanted.
    pub(crate) fn sandbox_copied(&mut self, ticket: u64, copy: Result<Store, String>) {
        if !matches!(self.sandbox, Sandbox::Preparing { ticket: t } if t == ticket) {
            return;
        }
        self.sandbox = Sandbox::None;
        match copy
            .map_err(|e| DeskError::Refused(format!("cannot copy the data for the simulator: {e}")))
            .and_then(|store| self.desk.sandbox_on(store))
        {
            Ok(desk) => self.install_sandbox(desk),
            Err(e) => self.fail(&e),
        }
    }

    fn install_sandbox(&mut self, desk: Desk) {
        let result = self.sim.reload(Some(&desk));
        self.sandbox = Sandbox::Ready(Box::new(desk));
        if let Err(e) = result {
            self.fail(&e);
        }
    }

    /// Arriving at the simulator: Esc will lead back to where we were.
    pub(crate) fn entering_simulator(&mut self) {
        self.sim_back = Some(match self.user.take() {
            Some(screen) => Back::User {
                screen: Box::new(screen),
                tab: self.tab,
            },
            None => Back::Tab(self.tab),
        });
    }

    pub(super) fn sim_go_back(&mut self) {
        match self.sim_back.take() {
            Some(Back::User { screen, tab }) => {
                self.tab = tab;
                self.user = Some(*screen);
                self.refresh();
            }
            Some(Back::Tab(tab)) if tab != Tab::Simulator => self.go_to(tab),
            _ => self.go_to(Tab::Overview),
        }
    }
}
